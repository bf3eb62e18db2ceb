"""Export a trial database: one CSV per table and per study form, plus ``manifest.json``, de-identified by default.

Core tables are written as they are stored, with the fields a study adds to a core form as extra columns
of that table; each study form becomes one CSV named after it (``subject_id``, ``id``, ``visit``,
``instance``, ``visit_date``, ``protocol_version``, ``confirm_warnings``, then one column per field; a
multiple-choice field holds its codes joined by ``|``). Identifying study fields follow the rule below.

De-identification rule (what ``export_trial(..., identified=False)`` does):

1. Every column marked identifying in the schema (SQLAlchemy column ``info={"identifying": True}``)
   that is not a date is removed (patient initials, hospital number), as is every study field marked
   ``identifying`` that is not a date.
2. Every identifying date (and every identifying date field of a study form) is replaced by its **study
   day** relative to the patient's reference date, in a column named ``<column>_study_day``. The
   reference date is the patient's first dose (``administrations.actual_date``), or the enrolment date
   when no dose was given.
   Study days follow CDISC (--DY): the reference date is day 1, the day before is day -1 (there is
   no day 0). AE onset/resolution (ISO text, possibly partial) become ``onset_study_day`` /
   ``resolution_study_day`` when the day is known (empty for a partial date) and keep the clock
   time, if one was recorded, in ``onset_time`` / ``resolution_time``. A dated row that belongs to
   no patient (a site-level protocol deviation) gets an empty study day.
3. Calendar dates written inside free text (``YYYY-MM-DD``, e.g. in a deviation's description) are
   replaced by ``study day N`` for a patient's row, or ``[date removed]`` otherwise.
4. The audit log is never exported (its old and new values hold every identifying field).
5. Study subject ids (pseudonymous codes), birth year and all clinical values are kept.

``manifest.json`` lists every file with its row count and columns, and for a de-identified export
every column removed or replaced and the rule above. ``identified=True`` writes every column
unchanged (and adds nothing but ``subject_id`` beside ``patient_id``); that output imports back
with :func:`earlyphase.interop.import_trial` into an empty database to the same content.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from earlyphase.interop.formats import CORE_FORM_OF_TABLE, EXPORT_TABLES, column_kind, form_records, format_cell, study_values
from earlyphase.records import tables as t

MANIFEST_NAME = "manifest.json"
DEIDENTIFICATION_RULE = (
    "Columns marked identifying in the schema are removed; identifying dates are replaced by the study day "
    "relative to the patient's first dose (enrolment date if never dosed), CDISC convention: the "
    "reference date is day 1, the day before is day -1. AE onset/resolution keep only the study day and the "
    "clock time. Dates inside free text become 'study day N' ('[date removed]' without a patient). "
    "The audit log is not exported."
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_FREE_TEXT_EXEMPT = {("study", "protocol_yaml")}  # the protocol's own dates are not a patient's


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the directory, whether it is de-identified, rows per file, the manifest."""

    out_dir: Path
    identified: bool
    files: dict[str, int]
    manifest: dict[str, Any]

    def summary(self) -> str:
        kind = "identified (every column)" if self.identified else "de-identified"
        lines = []
        if self.manifest.get("synthetic"):
            lines.append("SYNTHETIC DATA (the study is marked synthetic; so is manifest.json).")
        lines.append(f"Exported {sum(self.files.values())} rows in {len(self.files)} CSV files to {self.out_dir} ({kind}).")
        for name, rows in self.files.items():
            lines.append(f"  {name:<24} {rows:>6} rows")
        if not self.identified:
            removed = sum(len(v.get("removed_columns", [])) + len(v.get("replaced_columns", {}))
                          for v in self.manifest["tables"].values())
            lines.append(f"{removed} identifying columns removed or replaced by study days; see {MANIFEST_NAME}.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "identified": self.identified, "files": dict(self.files),
                "manifest": self.manifest}


def study_day(value: date | None, reference: date | None) -> int | None:
    """CDISC study day of ``value`` relative to ``reference`` (reference = day 1; no day 0)."""
    if value is None or reference is None:
        return None
    delta = (value - reference).days
    return delta + 1 if delta >= 0 else delta


def _split_iso(text: str | None) -> tuple[date | None, str | None]:
    """(full date or None, 'HH:MM' or None) of a possibly partial ISO 8601 text."""
    if not text:
        return None, None
    day_part, _, time_part = text.replace(" ", "T").partition("T")
    try:
        day = date.fromisoformat(day_part) if len(day_part) == 10 else None
    except ValueError:
        day = None
    return day, (time_part[:5] if time_part else None)


def _reference_dates(session) -> dict[int, date]:
    """Patient id -> reference date (first dose, else enrolment)."""
    refs: dict[int, date] = {}
    for pid, enrolled in session.execute(select(t.Patient.id, t.Patient.enrolment_date)):
        refs[pid] = enrolled
    firsts: dict[int, date] = {}
    for pid, actual in session.execute(select(t.Administration.patient_id, t.Administration.actual_date)):
        if actual is not None and (pid not in firsts or actual < firsts[pid]):
            firsts[pid] = actual
    refs.update(firsts)
    return refs


def _plan_fields(fields, identified: bool, header: list[str], removed: list[str],
                 replaced: dict[str, list[str]]) -> None:
    """Columns of study fields (a form's, or those added to a core form), identifying ones handled by the rule."""
    for f in fields:
        if identified or not f.identifying:
            header.append(f.name)
        elif f.type == "date":
            header.append(f"{f.name}_study_day")
            replaced[f.name] = [f"{f.name}_study_day"]
        else:
            removed.append(f.name)


def _plan_columns(cls: type[t.Base], identified: bool, added=()) -> tuple[list[str], dict[str, Any]]:
    """Output header and what happened to each identifying column (for the manifest)."""
    table = cls.__table__
    header: list[str] = []
    removed: list[str] = []
    replaced: dict[str, list[str]] = {}
    for col in table.columns:
        if col.name == "patient_id" or (col.name == "subject_id" and cls is not t.Patient and cls is not t.AuditEntry):
            header.append(col.name)
            if col.name == "patient_id":
                header.append("subject_id")
            continue
        if identified or not col.info.get("identifying"):
            header.append(col.name)
            continue
        kind = column_kind(table, col.name)
        patient_dated = cls is t.Patient or "patient_id" in table.columns
        if kind == "date" and patient_dated:
            header.append(f"{col.name}_study_day")
            replaced[col.name] = [f"{col.name}_study_day"]
        elif cls is t.AdverseEvent and col.name in ("onset", "resolution"):
            header += [f"{col.name}_study_day", f"{col.name}_time"]
            replaced[col.name] = [f"{col.name}_study_day", f"{col.name}_time"]
        else:
            removed.append(col.name)
    _plan_fields(added, identified, header, removed, replaced)
    return header, {"removed_columns": removed, "replaced_columns": replaced}


def export_trial(engine: Engine, out_dir: str | Path, *, identified: bool = False) -> ExportResult:
    """Write one CSV per table of the trial database into ``out_dir`` and a ``manifest.json``.

    De-identified unless ``identified=True`` (see the module docstring for the rule).
    """
    from earlyphase.capture import stored_study
    from earlyphase.records import read_session
    from earlyphase.records.audit import software_version

    study, _ = stored_study(engine)  # a clear error for a database that was never initialised
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, int] = {}
    manifest_tables: dict[str, Any] = {}
    synthetic = False
    with read_session(engine) as session:
        refs = _reference_dates(session)
        subjects = dict(session.execute(select(t.Patient.id, t.Patient.subject_id)).all())
        study_row = session.execute(select(t.StudyRecord)).scalars().first()
        synthetic = bool(study_row.synthetic) if study_row is not None else False
        for cls in EXPORT_TABLES:
            table = cls.__table__
            core_form = CORE_FORM_OF_TABLE.get(table.name)
            extension = study.extension(core_form) if core_form else None
            added = extension.fields if extension is not None else []
            header, changes = _plan_columns(cls, identified, added)
            rows = session.execute(select(table).order_by(table.c.id)).mappings().all()
            extra = study_values(session, study, core_form, table.name) if added else {}
            name = table.name
            path = out / f"{name}.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(header)
                for row in rows:
                    merged = {**row, **extra.get(row["id"], {f.name: None for f in added})}
                    writer.writerow([format_cell(v) for v in _output_row(cls, merged, header, identified, refs,
                                                                         subjects, added)])
            files[path.name] = len(rows)
            entry: dict[str, Any] = {"file": path.name, "rows": len(rows), "columns": header}
            if not identified:
                entry.update(changes)
            manifest_tables[name] = entry
        for form in study.forms:
            path = out / f"{form.name}.csv"
            entry = _write_form(session, study, form, path, identified, refs, subjects)
            files[path.name] = entry["rows"]
            manifest_tables[form.name] = entry
    manifest = {
        "format": "earlyphase CSV export",
        "mode": "identified" if identified else "de-identified",
        "synthetic": synthetic,
        "software_version": software_version(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rule": None if identified else DEIDENTIFICATION_RULE,
        "not_exported": ["audit_log"],
        "cells": "empty = no value; dates YYYY-MM-DD; booleans true/false",
        "tables": manifest_tables,
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return ExportResult(out, identified, files, manifest)


def _write_form(session, study, form, path: Path, identified: bool, refs: dict[int, date],
                subjects: dict[int, str]) -> dict[str, Any]:
    """One study form as one CSV (one row per record); returns its manifest entry."""
    header = ["subject_id", "id", "visit", "instance"]
    removed: list[str] = []
    replaced: dict[str, list[str]] = {}
    if identified:
        header.append("visit_date")
    else:
        header.append("visit_date_study_day")
        replaced["visit_date"] = ["visit_date_study_day"]
    header += ["protocol_version", "confirm_warnings"]
    _plan_fields(form.fields, identified, header, removed, replaced)
    records = form_records(session, study, form)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for record, values, confirmed in records:
            row = {"subject_id": subjects.get(record.patient_id), "id": record.id, "visit": record.visit,
                   "instance": record.instance, "visit_date": record.visit_date,
                   "protocol_version": record.protocol_version, "confirm_warnings": bool(confirmed),
                   "patient_id": record.patient_id, **values}
            writer.writerow([format_cell(v) for v in _output_row(t.FormRecord, row, header, identified, refs,
                                                                 subjects, form.fields)])
    entry: dict[str, Any] = {"file": path.name, "rows": len(records), "columns": header, "form": form.name}
    if not identified:
        entry.update({"removed_columns": removed, "replaced_columns": replaced})
    return entry


def _output_row(cls: type[t.Base], row: Any, header: list[str], identified: bool, refs: dict[int, date],
                subjects: dict[int, str], added=()) -> list[Any]:
    patient_id = row["id"] if cls is t.Patient else row.get("patient_id")
    reference = refs.get(patient_id) if patient_id is not None else None
    values = []
    for name in header:
        if name in row:
            value = row[name]
            if (not identified and isinstance(value, str) and (cls.__tablename__, name) not in _FREE_TEXT_EXEMPT
                    and _ISO_DATE.search(value)):
                value = _scrub_dates(value, reference)
            values.append(value)
        elif name == "subject_id":
            values.append(subjects.get(row.get("patient_id")))
        elif name.endswith("_study_day"):
            source = name[: -len("_study_day")]
            value = row[source]
            if isinstance(value, str) or (value is None and cls is t.AdverseEvent):
                value = _split_iso(value)[0]
            values.append(study_day(value, reference))
        elif name.endswith("_time"):
            values.append(_split_iso(row[name[: -len("_time")]])[1])
        else:  # pragma: no cover - every header name comes from _plan_columns
            raise KeyError(name)
    return values


def _scrub_dates(text: str, reference: date | None) -> str:
    """Replace every ISO date inside free text by its study day (or a placeholder without a patient)."""

    def replace(match: re.Match) -> str:
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return "[date removed]"
        n = study_day(day, reference)
        return "[date removed]" if n is None else f"study day {n}"

    return _ISO_DATE.sub(replace, text)
