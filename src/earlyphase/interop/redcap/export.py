"""A trial database as a REDCap project: data dictionary, flat records, events and their instruments.

The records are those of the CSV export (:func:`earlyphase.interop.export_trial`), so the same
de-identification rule applies (pseudonyms, study days, identifying fields removed, free text scrubbed)
unless ``identified=True``, which is audited. Each patient is one REDCap record (record id = subject id,
or its pseudonym). Each study form is an instrument with its own fields; each core table holding patient
rows (patients, allocations, administrations, adverse events, ...) is an instrument too, its columns
prefixed by the table's short name (``ae_grade``), with the fields the study adds to that core form. Every
field's Field Annotation names where it came from (``earlyphase: adverse_events.grade``), which is how
:func:`earlyphase.interop.redcap.import_redcap` puts an export of ours back into the same tables.

Events: one per visit of the schedule (``<code>_arm_1``; day offset and window from the visit) and
``record_arm_1`` for what belongs to no visit (the core instruments, forms entered without a visit).
A repeating form is a repeating instrument; the n-th occurrence of a repeating visit is instance n of a
repeating event. Not exported (they are not patient records): the study, sites, users, protocol versions,
data queries, dose-escalation decisions, protocol deviations of no patient, and the audit log.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from earlyphase.errors import InputError
from earlyphase.interop.formats import TABLES_BY_NAME, column_kind
from earlyphase.interop.redcap.branching import to_redcap
from earlyphase.interop.redcap.dictionary import (CODE_PATTERN, DictionaryField, checkbox_column,
                                                  write_dictionary)

DICTIONARY_FILE = "data_dictionary.csv"
RECORDS_FILE = "records.csv"
EVENTS_FILE = "events.csv"
ARMS_FILE = "arms.csv"
MAPPING_FILE = "instrument_event_mapping.csv"
MANIFEST_FILE = "manifest.json"
RECORD_EVENT = "record_arm_1"
# core tables holding patient rows -> the prefix of their REDCap variables
CORE_PREFIX = {"patients": "pt", "eligibility_answers": "el", "allocations": "al", "administrations": "ad",
               "adverse_events": "ae", "tumour_assessments": "ta", "lesions": "le", "other_therapies": "ot",
               "follow_ups": "fu", "deaths": "dth", "protocol_deviations": "pd", "forms_not_done": "fnd"}
NOT_EXPORTED = ("study", "protocol_versions", "sites", "users", "queries", "dose_decisions")
DEIDENTIFIED_MARK = "earlyphase: de-identified export"


@dataclass(frozen=True)
class RedcapExport:
    out_dir: Path
    identified: bool
    records: int
    rows: int
    fields: int
    instruments: int
    events: int
    skipped_rows: dict[str, int]

    def summary(self) -> str:
        kind = "IDENTIFIED" if self.identified else "de-identified"
        lines = [f"REDCap project written to {self.out_dir} ({kind}): {self.fields} fields in {self.instruments} "
                 f"instruments, {self.events} events, {self.records} records in {self.rows} rows.",
                 f"  {DICTIONARY_FILE}, {RECORDS_FILE}, {EVENTS_FILE}, {ARMS_FILE}, {MAPPING_FILE}, {MANIFEST_FILE}"]
        for table, n in self.skipped_rows.items():
            lines.append(f"  not exported: {n} row(s) of {table} (no patient)")
        if self.identified:
            lines.append("This export identifies patients: keep it as you keep the trial database.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "identified": self.identified, "records": self.records,
                "rows": self.rows, "fields": self.fields, "instruments": self.instruments, "events": self.events,
                "skipped_rows": dict(self.skipped_rows)}


def event_name(visit_code: str) -> str:
    """REDCap's unique event name of a visit (``SCAN`` -> ``scan_arm_1``)."""
    return re.sub(r"[^a-z0-9_]", "_", visit_code.lower()) + "_arm_1"


def _redcap_value(value: str, kind: str) -> str:
    if kind == "bool" and value:
        return "1" if value == "true" else "0"
    return value


def _cells(columns: list[tuple[str, str, str]], row: dict[str, str], field_by_var) -> dict[str, str]:
    """A CSV export row's cells as REDCap columns (a checkbox: one 0/1 column per code)."""
    values: dict[str, str] = {}
    for column, var, kind in columns:
        value = row.get(column, "")
        if field_by_var[var].type == "checkbox":
            ticked = set(value.split("|")) if value else set()
            for code, _ in field_by_var[var].choices:
                values[checkbox_column(var, code)] = "1" if code in ticked else "0"
        else:
            values[var] = _redcap_value(value, kind)
    return values


def _core_field(table: str, column: str, variable: str, kind: str, identifying: bool) -> DictionaryField:
    validation = {"date": "date_ymd", "int": "integer", "float": "number"}.get(kind, "")
    return DictionaryField(row=0, name=variable, form=table, type="yesno" if kind == "bool" else "text",
                           label=f"{table}.{column}", validation=validation, identifier=identifying,
                           annotation=f"earlyphase: {table}.{column}")


def _study_field(study, form_name: str, f, variable: str, variable_of: dict[str, str], table: str | None = None):
    """The REDCap field of one of our fields (``table``: a core table the study adds the field to)."""
    codes = study.codes_of(f) if f.type in ("choice", "multiple_choice") else []
    for code, _ in codes:
        if not CODE_PATTERN.match(code):
            raise InputError.single(f"{form_name}.{f.name}", code, "redcap-code",
                                    "a REDCap choice code holds only letters, digits, '_', '.' and a leading '-'; "
                                    "this code cannot be written as one")
    kind = {"choice": "radio", "multiple_choice": "checkbox", "yesno": "yesno"}.get(f.type, "text")
    validation = {"integer": "integer", "decimal": "number", "date": "date_ymd"}.get(f.type, "")
    bounds = f.range or f.soft_range
    low = high = ""
    if bounds is not None and validation:
        low = "" if bounds.min is None else _bound(bounds.min)
        high = "" if bounds.max is None else _bound(bounds.max)
    note_parts = []
    if f.unit:
        note_parts.append(f"Unit: {f.unit}.")
    if f.type == "partial_date":
        note_parts.append("A date, possibly partial: YYYY, YYYY-MM or YYYY-MM-DD.")
    if f.help:
        note_parts.append(f.help)
    branching, annotation = "", f"earlyphase: {table or form_name}.{f.name}"
    if f.show_if:
        try:
            branching = to_redcap(f.show_if, variable_of)
        except ValueError as exc:
            annotation += f" (show-if not translated: {f.show_if}; {exc})"
    return DictionaryField(row=0, name=variable, form=table or form_name, type=kind, label=f.label,
                           choices=list(codes), note=" ".join(note_parts), validation=validation, minimum=low,
                           maximum=high, identifier=f.identifying, branching=branching, required=f.required,
                           annotation=annotation)


def _bound(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def export_redcap(engine: Engine, out_dir: str | Path, *, identified: bool = False, key_file: str | Path | None = None,
                  free_text: str = "scrub", username: str | None = None) -> RedcapExport:
    """Write the trial in ``engine`` as a REDCap project into ``out_dir`` (see the module docstring)."""
    from earlyphase.capture import stored_study
    from earlyphase.interop.export import export_trial
    from earlyphase.privacy.files import private_output

    study, _ = stored_study(engine)
    with tempfile.TemporaryDirectory(prefix="earlyphase-redcap-") as tmp:
        result = export_trial(engine, Path(tmp) / "tables", identified=identified, key_file=key_file,
                              free_text=free_text, username=username)
        tables = {name: (entry, _read_csv(Path(tmp) / "tables" / entry["file"]))
                  for name, entry in result.manifest["tables"].items()}
    out = Path(out_dir)
    with private_output(out):
        out.mkdir(parents=True, exist_ok=True)
        return _write_project(study, tables, out, identified, bool(result.manifest.get("synthetic")))


def _write_project(study, tables: dict[str, tuple[dict, list[dict[str, str]]]], out: Path,
                   identified: bool, synthetic: bool) -> RedcapExport:
    # the record id's annotation names the study (an import checks it) and says what the data are
    marks = [f"study {study.study_id}"] + (["synthetic data"] if synthetic else []) + \
        ([] if identified else [DEIDENTIFIED_MARK])
    fields: list[DictionaryField] = [DictionaryField(
        row=0, name="record_id", form="patients", type="text", label="Subject id" if identified else "Pseudonym",
        identifier=identified, annotation="earlyphase: patients.subject_id; " + "; ".join(marks))]
    taken = {"record_id"}
    columns_of: dict[str, list[tuple[str, str, str]]] = {}  # instrument -> (column in the CSV, variable, kind)
    skipped: dict[str, int] = {}

    def variable(wanted: str) -> str:
        name, n = wanted, 2
        while name in taken or "___" in name:
            name, n = f"{wanted.replace('___', '_')}_{n}", n + 1
        taken.add(name)
        return name

    # variable names of the values a show-if may read: the form's own fields, and the enrolment values
    enrolment_vars = {c: f"[{RECORD_EVENT}][pt_{c}]" if study.visits else f"pt_{c}"
                      for c in ("sex", "birth_year", "ecog", "consent_date", "enrolment_date", "site")}
    for table, prefix in CORE_PREFIX.items():
        if table not in tables:
            continue
        entry, rows = tables[table]
        cls = TABLES_BY_NAME[table]
        core_form = {"patients": "enrolment", "allocations": "allocation", "administrations": "administration",
                     "adverse_events": "adverse_event", "tumour_assessments": "tumour_assessment",
                     "other_therapies": "other_therapy", "follow_ups": "follow_up", "deaths": "death"}.get(table)
        extension = study.extension(core_form) if core_form else None
        added = {f.name: f for f in extension.fields} if extension else {}
        cols = []
        for column in entry["columns"]:
            if column == "subject_id":
                continue
            if column in added:
                var = variable(f"{prefix}_{column}")
                own = {n: n for n in added} | {"subject_id": "record_id"}
                fields.append(_study_field(study, core_form, added[column], var, own, table=table))
                kind = {"integer": "int", "decimal": "float", "date": "date", "yesno": "bool"}.get(
                    added[column].type, "text")
            else:
                kind = column_kind(cls.__table__, column) if column in cls.__table__.columns else (
                    "int" if column.endswith("_study_day") else "text")
                identifying = column in cls.__table__.columns and bool(cls.__table__.columns[column].info.get(
                    "identifying"))
                var = variable(f"{prefix}_{column}")
                fields.append(_core_field(table, column, var, kind, identifying))
            cols.append((column, var, kind))
        columns_of[table] = cols
    for form in study.forms:
        if form.name in taken:
            raise InputError.single("form", form.name, "redcap-names", "a study form and a REDCap variable share "
                                    "this name; rename the form")
        entry, rows = tables[form.name]
        variable_of = dict(enrolment_vars)
        planned: list[tuple[str, str, str]] = []
        for f in form.fields:
            if f.name not in entry["columns"] and f"{f.name}_study_day" not in entry["columns"]:
                continue  # removed by the de-identification rule
            var = variable(f.name if f.name not in taken else f"{form.name}_{f.name}")
            variable_of[f.name] = var
        for f in form.fields:
            if f.name in variable_of and f.name in entry["columns"]:
                fields.append(_study_field(study, form.name, f, variable_of[f.name], variable_of))
                kind = {"integer": "int", "decimal": "float", "date": "date", "yesno": "bool"}.get(f.type, "text")
                planned.append((f.name, variable_of[f.name], kind))
            elif f"{f.name}_study_day" in entry["columns"]:
                var = variable_of[f.name]
                fields.append(DictionaryField(row=0, name=var, form=form.name, type="text",
                                              label=f"{f.label} (study day)", validation="integer",
                                              annotation=f"earlyphase: {form.name}.{f.name}_study_day"))
                planned.append((f"{f.name}_study_day", var, "int"))
        # a repeating form at a repeating visit: REDCap cannot nest the two, so the visit occurrence and the
        # form's instance travel in fields of their own (the row is an instance of the repeating instrument)
        nested = form.repeating and any(v.repeats and form.name in v.forms for v in study.visits)
        extra = (("visit", "text", ""), ("instance", "int", "integer")) if nested else ()
        for meta, kind, validation in extra + (("visit_date", "date", "date_ymd"),
                                               ("visit_date_study_day", "int", "integer"),
                                               ("confirm_warnings", "bool", "")):
            if meta not in entry["columns"]:
                continue
            var = variable(f"{form.name}_{meta}"[:60])
            fields.append(DictionaryField(row=0, name=var, form=form.name, type="yesno" if kind == "bool" else "text",
                                          label=f"{form.label}: {meta.replace('_', ' ')}", validation=validation,
                                          annotation=f"earlyphase: {form.name}.{meta}"))
            planned.append((meta, var, kind))
        columns_of[form.name] = planned
    write_dictionary(out / "data_dictionary.csv", fields)
    field_by_var = {f.name: f for f in fields}

    # events: one per visit, and one for what belongs to no visit
    longitudinal = bool(study.visits)
    events: list[tuple[str, str, int, int, int]] = []  # unique name, label, offset, min, max
    if longitudinal:
        events.append((RECORD_EVENT, "Patient record", 0, 0, 0))
        events += [(event_name(v.code), v.label, v.offset_days, v.window.before, v.window.after) for v in study.visits]
    mapping: dict[str, list[str]] = {e[0]: [] for e in events}

    def designate(event: str, form: str) -> None:
        if longitudinal and form not in mapping[event]:
            mapping[event].append(form)

    # rows: record -> list of (event, repeat instrument, instance, {variable: value}, instruments)
    order = [r["subject_id"] for r in tables["patients"][1]]
    rows_of: dict[str, list[tuple[str, str, int | None, dict[str, str], set[str]]]] = {s: [] for s in order}
    # a lesion names its tumour assessment, which names the patient
    subject_of_assessment = {r.get("id"): r.get("subject_id") for r in tables.get("tumour_assessments", ({}, []))[1]}
    for table in CORE_PREFIX:
        if table not in tables:
            continue
        counter: dict[str, int] = {}
        for row in tables[table][1]:
            subject = row.get("subject_id") or (subject_of_assessment.get(row.get("assessment_id")) if
                                                table == "lesions" else "") or ""
            if subject not in rows_of:
                skipped[table] = skipped.get(table, 0) + 1
                continue
            values = _cells(columns_of[table], row, field_by_var)
            designate(RECORD_EVENT, table)
            if table == "patients":
                rows_of[subject].append((RECORD_EVENT, "", None, values, {table}))
            else:
                counter[subject] = counter.get(subject, 0) + 1
                rows_of[subject].append((RECORD_EVENT, table, counter[subject], values, {table}))
    repeating_events: set[str] = set()
    nested_count: dict[tuple[str, str, str], int] = {}
    for form in study.forms:
        for row in tables[form.name][1]:
            subject = row.get("subject_id") or ""
            if subject not in rows_of:
                skipped[form.name] = skipped.get(form.name, 0) + 1
                continue
            visit = row.get("visit") or ""
            code, _, occurrence = visit.partition("-")
            event = event_name(code) if visit and longitudinal else (RECORD_EVENT if longitudinal else "")
            values = _cells(columns_of[form.name], row, field_by_var)
            designate(event or RECORD_EVENT, form.name) if longitudinal else None
            if occurrence and form.repeating:  # visit and instance are in the row's own fields
                counter_key = (subject, event, form.name)
                nested_count[counter_key] = nested_count.get(counter_key, 0) + 1
                rows_of[subject].append((event, form.name, nested_count[counter_key], values, {form.name}))
            elif occurrence:
                repeating_events.add(event)
                rows_of[subject].append((event, "", int(occurrence), values, {form.name}))
            elif form.repeating:
                rows_of[subject].append((event, form.name, int(row.get("instance") or 1), values, {form.name}))
            else:
                merged = next((r for r in rows_of[subject] if r[0] == event and not r[1] and r[2] is None
                               and form.name not in r[4] and "patients" not in r[4]), None)
                if merged is None:
                    rows_of[subject].append((event, "", None, values, {form.name}))
                else:
                    merged[3].update(values)
                    merged[4].add(form.name)
    instruments = list(dict.fromkeys(f.form for f in fields))
    header = ["record_id"] + (["redcap_event_name"] if longitudinal else []) + ["redcap_repeat_instrument",
                                                                               "redcap_repeat_instance"]
    for instrument in instruments:
        for f in fields:
            if f.form == instrument and f.name != "record_id":
                header += f.columns()
        header.append(f"{instrument}_complete")
    event_order = {e[0]: i for i, e in enumerate(events)}
    n_rows = 0
    with (out / RECORDS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for subject in order:
            items = sorted(rows_of[subject], key=lambda r: (event_order.get(r[0], 0), r[1], r[2] or 0))
            for event, repeat, instance, values, present in items:
                cells = {"record_id": subject, "redcap_event_name": event, "redcap_repeat_instrument": repeat,
                         "redcap_repeat_instance": "" if instance is None else str(instance), **values}
                for instrument in present:
                    cells[f"{instrument}_complete"] = "2"
                writer.writerow([cells.get(c, "") for c in header])
                n_rows += 1
    with (out / EVENTS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["event_name", "arm_num", "day_offset", "offset_min", "offset_max", "unique_event_name",
                         "custom_event_label"])
        for unique, label, offset, before, after in events:
            writer.writerow([label, 1, offset, before, after, unique, ""])
    with (out / ARMS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["arm_num", "name"])
        if longitudinal:
            writer.writerow([1, "Arm 1"])
    with (out / MAPPING_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["arm_num", "unique_event_name", "form"])
        for unique, forms in mapping.items():
            for form in forms:
                writer.writerow([1, unique, form])
    manifest = {"format": "REDCap project (data dictionary, flat records, events, instrument-event mapping)",
                "study_id": study.study_id, "mode": "identified" if identified else "de-identified",
                "repeating_instruments": sorted({r[1] for rows in rows_of.values() for r in rows if r[1]}),
                "repeating_events": sorted(repeating_events),
                "not_exported": list(NOT_EXPORTED) + ["audit_log"], "rows_without_patient": skipped}
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return RedcapExport(out, identified, len(order), n_rows, len(fields), len(instruments), len(events), skipped)
