"""REDCap's flat records export read as the import's rows: one row per record, event and repeat instance.

Columns: the record id first, then ``redcap_event_name`` (longitudinal projects),
``redcap_repeat_instrument`` / ``redcap_repeat_instance`` (repeating instruments and events),
``redcap_data_access_group`` (the site), each field (a checkbox as one ``field___code`` column per code,
1 = ticked, 0 = not), and ``<form>_complete`` (0 incomplete, 1 unverified, 2 complete). Each row's values
are split by instrument; an instrument with no value in a row is no record. A row becomes rows of the
import (``earlyphase.interop.importer``) named ``data.csv[record R, event E]`` with the line number, so
every problem names the file, the record, the event, the line, the field, the value and the rule.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from earlyphase.errors import InputError, Problem
from earlyphase.interop.redcap.dictionary import checkbox_column
from earlyphase.interop.redcap.draft import Conversion
from earlyphase.interop.sources import SourceRow, _check_regular_file, _read_csv

SPECIAL = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "redcap_data_access_group",
           "redcap_survey_identifier")
MAX_PROBLEMS = 50


@dataclass
class RawRecords:
    """The records file as read (before it is matched to a study)."""

    name: str
    sha256: str
    header: list[str]
    rows: list[SourceRow]

    def events(self, form_of_column: dict[str, str]) -> dict[str, list[str]]:
        """Event -> instruments holding a value there (in first-seen order)."""
        out: dict[str, list[str]] = {}
        for row in self.rows:
            event = (row.cells.get("redcap_event_name") or "").strip()
            if not event:
                continue
            forms = out.setdefault(event, [])
            for column, raw in row.cells.items():
                form = form_of_column.get(column)
                if form and str(raw).strip() and not column.endswith("_complete") and form not in forms:
                    if "___" in column and str(raw).strip() == "0":
                        continue
                    forms.append(form)
        return out

    def repeating(self) -> set[str]:
        return {(r.cells.get("redcap_repeat_instrument") or "").strip() for r in self.rows} - {""}

    def dags(self) -> list[str]:
        return list(dict.fromkeys((r.cells.get("redcap_data_access_group") or "").strip() for r in self.rows
                                  if (r.cells.get("redcap_data_access_group") or "").strip()))


def read_records(path: str | Path, encoding: str | None = None) -> RawRecords:
    """The records CSV (bounds, encoding, duplicate columns and NUL checked as for every import)."""
    from earlyphase.textfile import decode_text

    p = Path(path)
    if not p.exists():
        raise InputError.single("records", str(p), "exists", "no such file (give the REDCap records CSV)")
    _check_regular_file(p)
    data = p.read_bytes()
    text = decode_text(data, p.name, encoding, hint="give --encoding")
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise InputError.single("file", p.name, "csv", f"the file is not readable CSV: {exc}", file=p.name) from None
    header = [h.strip() for h in header]
    if not any(header):
        raise InputError.single("header", "", "header", "the records file is empty: its first row must name the "
                                "columns, the record id first", file=p.name, row=1)
    rows = _read_csv(p, data, encoding)
    return RawRecords(p.name, hashlib.sha256(data).hexdigest(), header, rows)


@dataclass
class Converted:
    """The import's rows by table or form name, and counts for the summary."""

    tables: dict[str, list[SourceRow]] = field(default_factory=dict)
    records: int = 0
    form_rows: int = 0
    ignored_status: int = 0


def _columns(conv: Conversion) -> dict[str, tuple[str, str | None]]:
    """Data column -> (variable, checkbox code or None)."""
    out: dict[str, tuple[str, str | None]] = {}
    for var, f in conv.fields.items():
        if f.type == "checkbox":
            for code, _ in f.choices:
                out[checkbox_column(var, code)] = (var, code)
        elif f.type != "descriptive":
            out[var] = (var, None)
    return out


def form_of_columns(conv: Conversion) -> dict[str, str]:
    forms = {f.form for f in conv.fields.values()}
    out = {column: conv.fields[var].form for column, (var, _) in _columns(conv).items()}
    out.update({f"{form}_complete": form for form in forms})
    return out


def convert_records(raw: RawRecords, conv: Conversion, event_forms: dict[str, list[str]] | None) -> Converted:
    """The records as the import's rows (``InputError`` naming record, event, field and value)."""
    problems: list[Problem] = []
    columns = _columns(conv)
    forms = list(dict.fromkeys(f.form for f in conv.fields.values()))
    status_columns = {f"{form}_complete": form for form in forms}

    def fail(row: int, where: str, field_name: str, value: Any, rule: str, message: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(field=field_name, value=value, rule=rule, message=message, file=where, row=row))

    if raw.header[0] != conv.record_id:
        fail(1, raw.name, raw.header[0], raw.header[0], "record-id-first",
             f"the first column of a REDCap records export is the record id, {conv.record_id}")
    for column in raw.header[1:]:
        if column not in columns and column not in SPECIAL and column not in status_columns \
                and not column.endswith("_timestamp"):
            fail(1, raw.name, column, column, "known-column",
                 f"column {column} is not a field of the data dictionary (nor a REDCap column such as "
                 "redcap_event_name or <form>_complete)")
    longitudinal = "redcap_event_name" in raw.header
    if problems:
        raise InputError(problems, summary=f"records {raw.name} refused: {len(problems)} problem(s); nothing "
                                           "was written")
    out = Converted()
    records: set[str] = set()
    for row in raw.rows:
        cells = row.cells
        rid = (cells.get(conv.record_id) or "").strip()
        event = (cells.get("redcap_event_name") or "").strip()
        where = f"{raw.name}[record {rid or '?'}" + (f", event {event}]" if event else "]")
        if not rid:
            fail(row.row, where, conv.record_id, "", "record-id", "every row names its record (the record id)")
            continue
        records.add(rid)
        if longitudinal and not event:
            fail(row.row, where, "redcap_event_name", "", "event", "a longitudinal project's row names its event")
            continue
        if event and conv.visit_of_event and event not in conv.visit_of_event:
            fail(row.row, where, "redcap_event_name", event, "event-known",
                 f"event {event} is not an event of the project ({', '.join(conv.visit_of_event)})")
            continue
        repeat_form = (cells.get("redcap_repeat_instrument") or "").strip()
        repeat_text = (cells.get("redcap_repeat_instance") or "").strip()
        instance = None
        if repeat_text:
            if not repeat_text.isdigit() or int(repeat_text) < 1:
                fail(row.row, where, "redcap_repeat_instance", repeat_text, "repeat-instance",
                     "a repeat instance is a whole number from 1")
                continue
            instance = int(repeat_text)
        if repeat_form and repeat_form not in forms:
            fail(row.row, where, "redcap_repeat_instrument", repeat_form, "form-known",
                 f"{repeat_form} is not an instrument of the data dictionary")
            continue
        if repeat_form and instance is None:
            fail(row.row, where, "redcap_repeat_instance", "", "repeat-instance",
                 f"a row of repeating instrument {repeat_form} names its instance")
            continue
        values: dict[str, dict[str, Any]] = {}
        for column, text in cells.items():
            text = (text or "").strip()
            if column in status_columns:
                if text not in ("", "0", "1", "2"):
                    fail(row.row, where, column, text, "form-status",
                         "a form's status is 0 (incomplete), 1 (unverified) or 2 (complete)")
                continue
            if column not in columns or column == conv.record_id or not text:
                continue
            var, code = columns[column]
            form = conv.fields[var].form
            if code is not None:
                if text not in ("0", "1"):
                    fail(row.row, where, column, text, "checkbox-0-1", "a checkbox column holds 1 (ticked) or 0")
                    continue
                if text == "0":
                    continue
            if repeat_form and form != repeat_form:
                fail(row.row, where, var, text, "repeat-row",
                     f"this row holds repeating instrument {repeat_form}; {var} belongs to form {form}")
                continue
            if event and event_forms and form not in event_forms.get(event, ()):
                fail(row.row, where, var, text, "instrument-event",
                     f"form {form} is not designated for event {event} (its forms: "
                     f"{', '.join(event_forms.get(event, ())) or 'none'})")
                continue
            bucket = values.setdefault(form, {})
            if code is not None:
                bucket.setdefault(var, []).append(code)
            else:
                f = conv.fields[var]
                if "comma_decimal" in f.validation:
                    text = text.replace(",", ".")
                bucket[var] = text
        for form, items in values.items():
            if conv.own_export and form not in conv.forms:
                table_rows = _core_row(conv, form, items, rid)
                for table, cells_out in table_rows:
                    out.tables.setdefault(table, []).append(SourceRow(where, row.row, cells_out))
                continue
            if form not in conv.forms:
                continue  # the record id's own instrument: the subject id only
            cells_out: dict[str, Any] = {"subject_id": rid}
            visit = conv.visit_of_event.get(event) if event else None
            if visit and repeat_text and not repeat_form:
                visit = f"{visit}-{instance}"  # a repeating event: the visit's occurrence
            if visit:
                cells_out["visit"] = visit
            if repeat_form:
                cells_out["instance"] = instance
            for var, value in items.items():
                target_form, name = conv.field_of.get(var, (form, None))
                if name is None:
                    meta = conv.meta.get(var)
                    if meta is not None:
                        cells_out[meta] = value
                    continue
                cells_out[name] = "|".join(value) if isinstance(value, list) else value
            out.tables.setdefault(form, []).append(SourceRow(where, row.row, cells_out))
            out.form_rows += 1
    out.records = len(records)
    if problems:
        raise InputError(problems, summary=f"records {raw.name} refused: {len(problems)} problem(s); nothing "
                                           "was written")
    return out


def _core_row(conv: Conversion, form: str, items: dict[str, Any], rid: str) -> list[tuple[str, dict[str, Any]]]:
    """A row of one of our core tables (our own export), with the study's added fields."""
    table = None
    cells: dict[str, Any] = {}
    for var, value in items.items():
        if var in conv.core:
            table, column = conv.core[var]
            cells[column] = "|".join(value) if isinstance(value, list) else value
    if table is None:
        return []
    cells["subject_id"] = rid  # patients: the record id is the subject id; other tables name their patient
    return [(table, cells)]
