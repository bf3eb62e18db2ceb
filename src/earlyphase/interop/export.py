"""Export a trial database: one CSV per table and per study form, plus ``manifest.json``, de-identified by default.

Core tables are written as they are stored, with the fields a study adds to a core form as extra columns
of that table; each study form becomes one CSV named after it (``subject_id``, ``id``, ``visit``,
``instance``, ``visit_date``, ``protocol_version``, ``confirm_warnings``, then one column per field; a
multiple-choice field holds its codes joined by ``|``). Identifying study fields follow the rule below.

De-identification rule (what ``export_trial(..., identified=False)`` does; the column treatments are in
:mod:`earlyphase.interop.deidentify`, the building blocks in :mod:`earlyphase.privacy`):

1. Patients are named by keyed pseudonyms (``P-...``), never the site's subject ids; the database's own
   patient ids are removed and patients.csv is sorted by pseudonym. Users are named by pseudonyms
   (``U-...``) everywhere (users.csv, queries, protocol versions); their full names are removed.
2. Birth year becomes the age band at enrolment (10-year bands by default, 90+ as one band).
3. Every identifying date (and every identifying date field of a study form) is replaced by its **study
   day** relative to the patient's reference date, in a column named ``<column>_study_day``. The
   reference date is the patient's first dose (``administrations.actual_date``), or the enrolment date
   when no dose was given.
   Study days follow CDISC (--DY): the reference date is day 1, the day before is day -1 (there is
   no day 0). AE onset/resolution (ISO text, possibly partial) become ``onset_study_day`` /
   ``resolution_study_day`` when the day is known (empty for a partial date) and keep the clock
   time, if one was recorded, in ``onset_time`` / ``resolution_time``. A dated row that belongs to
   no patient (a site-level protocol deviation) gets an empty study day. Query timestamps become the
   study day of the patient the query is about; a protocol version's timestamp is removed.
4. Other identifying columns and study fields are removed (initials, hospital number, product lot).
5. Free text (schema columns marked ``FREE_TEXT``, study fields of type text) goes through the named
   scrubber (:mod:`earlyphase.privacy.scrub`), or is removed with ``free_text="drop"``.
6. The audit log is never exported (its old and new values hold every identifying field).
7. The manifest states the share of patients unique on sex, age band, site and group.

``manifest.json`` lists every file with its row count and columns, and for a de-identified export
every column removed, replaced, pseudonymised or scrubbed (with the scrubber's replacements by kind),
the rule above, the pseudonym key's fingerprint and the re-identification measure. ``identified=True`` writes every column
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

from earlyphase.interop.deidentify import study_day, timestamp_date
from earlyphase.interop.formats import CORE_FORM_OF_TABLE, EXPORT_TABLES, column_kind, form_records, format_cell, study_values
from earlyphase.records import tables as t

MANIFEST_NAME = "manifest.json"
DEIDENTIFICATION_RULE = [
    "Patients are named by pseudonyms (P-..., keyed HMAC of the site's subject id); the database's own patient "
    "ids are removed. Users are named by pseudonyms (U-...) with their role; full names are removed.",
    "Birth year becomes the age band at enrolment ({width}-year bands, 90+ as one band).",
    "Identifying dates become study days relative to the patient's first dose (enrolment date if never dosed), "
    "CDISC convention: the reference date is day 1, the day before is day -1. AE onset/resolution keep only the "
    "study day and the clock time. Query timestamps become the study day of the patient the query is about; "
    "timestamps of no patient are removed.",
    "Other columns marked identifying in the schema or the study file are removed (initials, hospital number, "
    "product lot).",
    "Free text is {free_text_rule}.",
    "The audit log is not exported.",
]
_FREE_TEXT_RULES = {
    "scrub": "passed through the scrubber {scrubber}: known ids, e-mails, dates (to study days where "
             "unambiguous), record and phone numbers and names it recognises are replaced",
    "drop": "removed",
}
_FREE_TEXT_EXEMPT = {("study", "protocol_yaml")}  # the protocol's own dates are not a patient's
# what an outsider may know of a patient: the share of patients unique on these is stated in the manifest
QUASI_IDENTIFIERS = ("sex", "age_band", "site", "group")
DEFAULT_K_ANONYMITY = 2  # no patient unique on the quasi-identifiers
WIDER_AGE_BANDS = (20, 30)
K_ANONYMITY_RULE = (
    "k-anonymity target k = {k} on sex, age band, site and group: age bands are widened (the requested width, "
    "then 20, then 30 years) and then the site is withheld, stopping at the first step where every patient "
    "shares these values with at least k-1 others; if none does, the last step is kept and the age band and sex "
    "of the patients still exposed are withheld (written empty, which matches any value), with as many more "
    "patients of the same group as leave at least k withheld rows there. Group is never withheld. The manifest "
    "states the smallest number of patients any patient is hidden among and the share still unique.")


def _anonymity_plan(session, deid, groups: dict[int, Any], width: int, k: int) -> dict[str, Any]:
    """The generalisation step and the rows to withhold that meet ``K_ANONYMITY_RULE``."""
    from earlyphase.privacy import age_band, age_from_birth_year
    from earlyphase.privacy.risk import k_anonymise, matches

    patients = session.execute(select(t.Patient.id, t.Patient.sex, t.Patient.birth_year, t.Patient.site_id)
                               .order_by(t.Patient.id)).all()
    steps = [(w, False) for w in (width, *WIDER_AGE_BANDS) if w >= width]
    steps = list(dict.fromkeys(steps)) + [(max(width, WIDER_AGE_BANDS[-1]), True)]
    tried = []
    for w, no_site in steps:
        rows = [{"sex": sex, "site": None if no_site else site, "group": groups.get(pid),
                 "age_band": age_band(age_from_birth_year(born, deid.enrolment_year.get(pid)), w)}
                for pid, sex, born, site in patients]
        smallest = min(matches(rows, rows, QUASI_IDENTIFIERS), default=0)
        tried.append({"age_band_years": w, "site_withheld": no_site, "smallest_group_k": smallest})
        if smallest >= k:
            break
    published, result = k_anonymise(rows, QUASI_IDENTIFIERS, k, ("age_band", "sex"))
    deid.age_band_width = w
    return {"width": w, "site_withheld": no_site, "steps": tried, "result": result,
            "rows": {pid: {"site_id": not no_site, "sex": p["sex"] is not None, "age_band": p["age_band"] is not None}
                     for (pid, *_), p in zip(patients, published)}}


def _withhold(values: list[Any], columns: list[str], keep: dict[str, bool]) -> list[Any]:
    """A patient row with the columns ``keep`` marks False written empty."""
    return [None if keep.get(c, True) is False else v for c, v in zip(columns, values)]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the directory, whether it is de-identified, rows per file, the manifest."""

    out_dir: Path
    identified: bool
    files: dict[str, int]
    manifest: dict[str, Any]

    def summary(self) -> str:
        kind = "IDENTIFIED (every column, site ids and dates)" if self.identified else "de-identified"
        lines = []
        if self.manifest.get("synthetic"):
            lines.append("SYNTHETIC DATA (the study is marked synthetic; so is manifest.json).")
        lines.append(f"Exported {sum(self.files.values())} rows in {len(self.files)} CSV files to {self.out_dir} ({kind}).")
        for name, rows in self.files.items():
            lines.append(f"  {name:<24} {rows:>6} rows")
        if not self.identified:
            removed = sum(len(v.get("removed_columns", [])) + len(v.get("replaced_columns", {}))
                          for v in self.manifest["tables"].values())
            lines.append(f"{removed} identifying columns removed or replaced; see {MANIFEST_NAME}.")
            risk = self.manifest["deidentification"]["reidentification"]
            lines.append(f"Patients unique on {', '.join(risk['quasi_identifiers'])}: {risk['unique_subjects']} of "
                         f"{risk['subjects']} (smallest group k = {risk['smallest_group_k']}).")
        else:
            lines.append("This export identifies patients: keep it as you keep the trial database.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "identified": self.identified, "files": dict(self.files),
                "manifest": self.manifest}


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


_ANY_DIGIT_DASH = re.compile(r"\d[-/.]\d|\d\s+[A-Za-z]{3}|[A-Za-z]{3}\.?\s+\d")  # cheap test before the date patterns

# A column plan: (output column, treatment, source column). Treatments: keep, subject, user, age_band,
# study_day, time, timestamp, scrub (see interop.deidentify).
Plan = list[tuple[str, str, str]]


def _plan_fields(fields, identified: bool, free_text: str, plan: Plan, removed: list[str],
                 replaced: dict[str, list[str]], scrubbed: list[str]) -> None:
    """Columns of study fields (a form's, or those added to a core form), identifying ones handled by the rule."""
    for f in fields:
        if identified:
            plan.append((f.name, "keep", f.name))
        elif f.identifying and f.type == "date":
            plan.append((f"{f.name}_study_day", "study_day", f.name))
            replaced[f.name] = [f"{f.name}_study_day"]
        elif f.identifying or (f.type == "text" and free_text == "drop"):
            removed.append(f.name)
        elif f.type == "text":
            plan.append((f.name, "scrub", f.name))
            scrubbed.append(f.name)
        else:
            plan.append((f.name, "keep", f.name))


def _plan_columns(cls: type[t.Base], identified: bool, free_text: str = "scrub", added=()) -> tuple[Plan, dict[str, Any]]:
    """Output plan and what happened to each identifying column (for the manifest)."""
    table = cls.__table__
    plan: Plan = []
    removed: list[str] = []
    replaced: dict[str, list[str]] = {}
    pseudonymised: list[str] = []
    scrubbed: list[str] = []
    patient_dated = cls is t.Patient or "patient_id" in table.columns
    for col in table.columns:
        name, info = col.name, col.info
        if identified:
            plan.append((name, "keep", name))
            if name == "patient_id":
                plan.append(("subject_id", "subject", "patient_id"))
        elif name == "patient_id" or (cls is t.Patient and name == "id"):
            removed.append(name)
            if name == "patient_id":
                plan.append(("subject_id", "subject", "patient_id"))
        elif cls is t.Patient and name == "subject_id":
            plan.append(("subject_id", "subject", "id"))
            pseudonymised.append(name)
        elif cls is t.Patient and name == "birth_year":
            plan.append(("age_band", "age_band", name))
            replaced[name] = ["age_band"]
        elif info.get("user"):
            plan.append((name, "user", name))
            pseudonymised.append(name)
        elif info.get("timestamp"):
            if cls is t.DataQuery:
                plan.append((f"{name}_study_day", "timestamp", name))
                replaced[name] = [f"{name}_study_day"]
            else:
                removed.append(name)
        elif info.get("identifying"):
            kind = column_kind(table, name)
            if kind == "date" and patient_dated:
                plan.append((f"{name}_study_day", "study_day", name))
                replaced[name] = [f"{name}_study_day"]
            elif cls is t.AdverseEvent and name in ("onset", "resolution"):
                plan += [(f"{name}_study_day", "study_day", name), (f"{name}_time", "time", name)]
                replaced[name] = [f"{name}_study_day", f"{name}_time"]
            else:
                removed.append(name)
        elif info.get("file_path"):
            plan.append((name, "file_name", name))
            replaced[name] = [name]
        elif info.get("free_text") and (table.name, name) not in _FREE_TEXT_EXEMPT:
            if free_text == "drop":
                removed.append(name)
            else:
                plan.append((name, "scrub", name))
                scrubbed.append(name)
        else:
            plan.append((name, "keep", name))
    _plan_fields(added, identified, free_text, plan, removed, replaced, scrubbed)
    changes = {"removed_columns": removed, "replaced_columns": replaced, "pseudonymised_columns": pseudonymised,
               "scrubbed_columns": scrubbed}
    return plan, changes


def export_trial(engine: Engine, out_dir: str | Path, *, identified: bool = False, key_file: str | Path | None = None,
                 free_text: str = "scrub", age_band_width: int = 10, username: str | None = None,
                 k_anonymity: int = DEFAULT_K_ANONYMITY) -> ExportResult:
    """Write one CSV per table of the trial database into ``out_dir`` and a ``manifest.json``.

    De-identified unless ``identified=True`` (see the module docstring for the rule). ``key_file`` holds the
    pseudonym key (see :func:`earlyphase.privacy.pseudonymiser_from`); ``free_text`` is ``scrub`` or ``drop``.
    Files and folders written are private to the user (0600 / 0700). ``username``: who exports (an
    identified export is an audited event). ``k_anonymity``: every patient of a de-identified export is hidden
    among at least this many on sex, age band, site and group (``K_ANONYMITY_RULE``; the manifest says what
    was achieved).
    """
    from earlyphase.capture import stored_study
    from earlyphase.errors import InputError
    from earlyphase.interop.deidentify import FREE_TEXT_POLICIES, Deidentifier
    from earlyphase.privacy import SCRUBBER, SCRUBBER_LIMITS, pseudonymiser_from
    from earlyphase.privacy.files import private_output
    from earlyphase.records import read_session
    from earlyphase.records.audit import software_version

    if free_text not in FREE_TEXT_POLICIES:
        raise InputError.single("free_text", free_text, "choice",
                                f"free text is handled by one of: {', '.join(FREE_TEXT_POLICIES)}")
    if isinstance(age_band_width, bool) or not isinstance(age_band_width, int) or not 1 <= age_band_width <= 50:
        raise InputError.single("age_band_width", age_band_width, "range", "an age band is 1 to 50 years wide")
    if isinstance(k_anonymity, bool) or not isinstance(k_anonymity, int) or not 1 <= k_anonymity <= 10:
        raise InputError.single("k_anonymity", k_anonymity, "range", "the k-anonymity target is 1 to 10 patients")
    study, _ = stored_study(engine)  # a clear error for a database that was never initialised
    pseudonyms = None if identified else pseudonymiser_from(key_file)
    out = Path(out_dir)
    files: dict[str, int] = {}
    manifest_tables: dict[str, Any] = {}
    synthetic = False
    with private_output(out), read_session(engine) as session:
        out.mkdir(parents=True, exist_ok=True)
        refs = _reference_dates(session)
        subjects = dict(session.execute(select(t.Patient.id, t.Patient.subject_id)).all())
        deid = None if identified else Deidentifier.from_session(session, pseudonyms, refs, free_text, age_band_width)
        study_row = session.execute(select(t.StudyRecord)).scalars().first()
        synthetic = bool(study_row.synthetic) if study_row is not None else False
        groups = dict(session.execute(select(t.Allocation.patient_id, t.Allocation.group_code)).all())
        anonymity = None if identified else _anonymity_plan(session, deid, groups, age_band_width, k_anonymity)
        for cls in EXPORT_TABLES:
            table = cls.__table__
            core_form = CORE_FORM_OF_TABLE.get(table.name)
            extension = study.extension(core_form) if core_form else None
            added = extension.fields if extension is not None else []
            plan, changes = _plan_columns(cls, identified, free_text, added)
            rows = session.execute(select(table).order_by(table.c.id)).mappings().all()
            extra = study_values(session, study, core_form, table.name) if added else {}
            name = table.name
            path = out / f"{name}.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow([c for c, _, _ in plan])
                out_rows = []
                for row in rows:
                    merged = {**row, **extra.get(row["id"], {f.name: None for f in added})}
                    values = _output_row(cls, merged, plan, refs, subjects, deid, path.name)
                    if cls is t.Patient and anonymity is not None:
                        values = _withhold(values, [c for c, _, _ in plan], anonymity["rows"][row["id"]])
                    out_rows.append(values)
                if not identified and cls is t.Patient:  # the row order would give the enrolment order away
                    out_rows.sort(key=lambda v: v[0] or "")
                for values in out_rows:
                    writer.writerow([format_cell(v) for v in values])
            files[path.name] = len(rows)
            entry: dict[str, Any] = {"file": path.name, "rows": len(rows), "columns": [c for c, _, _ in plan]}
            if not identified:
                entry.update({k: v for k, v in changes.items() if v or k in ("removed_columns", "replaced_columns")})
            manifest_tables[name] = entry
        for form in study.forms:
            path = out / f"{form.name}.csv"
            entry = _write_form(session, study, form, path, identified, refs, subjects, deid, free_text)
            files[path.name] = entry["rows"]
            manifest_tables[form.name] = entry
        manifest = {
            "format": "earlyphase CSV export",
            "mode": "identified" if identified else "de-identified",
            "label": ("IDENTIFIED: site subject ids, dates and identifying fields as stored; keep it as you keep "
                      "the trial database") if identified else "DE-IDENTIFIED (see deidentification)",
            "synthetic": synthetic,
            "software_version": software_version(),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rule": None,
            "not_exported": ["audit_log"],
            "cells": "empty = no value; dates YYYY-MM-DD; booleans true/false",
            "tables": manifest_tables,
        }
        if not identified:
            free_rule = _FREE_TEXT_RULES[free_text].format(scrubber=SCRUBBER)
            manifest["rule"] = [r.format(width=anonymity["width"], free_text_rule=free_rule) for r in DEIDENTIFICATION_RULE]
            manifest["rule"].append(K_ANONYMITY_RULE.format(k=k_anonymity))
            risk = anonymity["result"]
            manifest["deidentification"] = {
                "pseudonyms": {"subjects": "P- + 10 characters of HMAC-SHA256(key, subject id)",
                               "users": "U- + 10 characters of HMAC-SHA256(key, username)",
                               "key": pseudonyms.source},
                "age_band_years": anonymity["width"],
                "k_anonymity": {"target_k": k_anonymity, "rule": K_ANONYMITY_RULE.format(k=k_anonymity),
                                "steps": anonymity["steps"], "site_withheld": anonymity["site_withheld"]},
                "free_text": {"policy": free_text, "scrubber": SCRUBBER if free_text == "scrub" else None,
                              "limits": SCRUBBER_LIMITS if free_text == "scrub" else None,
                              "replaced": deid.scrub_report()},
                "reidentification": {**risk.to_dict(),
                                     "note": "share of patients whose combination of quasi-identifiers no other "
                                             "patient in this export has"},
                "small_cells": {"tables": 0, "note": "this export holds patient-level rows and no aggregate "
                                "table; the small-cell rule applies to the report's tables"},
            }
        (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if identified:
        _audit_identified_export(engine, out, files, username)
    return ExportResult(out, identified, files, manifest)


def login_name() -> str:
    """Who runs this process (the default person an output is attributed to)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "system"


def _audit_identified_export(engine: Engine, out: Path, files: dict[str, int], username: str | None) -> None:
    """An identified export is an audited event; when it cannot be audited, the export is taken back."""
    import hashlib

    from earlyphase.records import transaction
    from earlyphase.records.audit import write_event

    written = [out / name for name in files] + [out / MANIFEST_NAME]
    manifest_sha = hashlib.sha256((out / MANIFEST_NAME).read_bytes()).hexdigest()
    try:
        with transaction(engine) as session:
            write_event(session, "identified_export", username or login_name(), {
                "out_dir": str(out.resolve()), "files": len(files), "rows": sum(files.values()),
                "manifest_sha256": manifest_sha})
    except BaseException as exc:
        for path in written:  # identified data that left no trace in the audit log must not stay behind
            path.unlink(missing_ok=True)
        _explain_audit_failure(exc, "export")
        raise


def _explain_audit_failure(exc: BaseException, what: str) -> None:
    """A database error while auditing (an old schema without the audit tables...) as one clear message."""
    from sqlalchemy.exc import DBAPIError

    from earlyphase.errors import ConfigurationError

    if isinstance(exc, DBAPIError):
        first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise ConfigurationError(
            f"the identified {what} was not kept: its audit event could not be written ({first}). Is the database "
            "at the newest schema with its audit key? Nothing identified was left behind") from None


def _write_form(session, study, form, path: Path, identified: bool, refs: dict[int, date],
                subjects: dict[int, str], deid, free_text: str) -> dict[str, Any]:
    """One study form as one CSV (one row per record); returns its manifest entry."""
    plan: Plan = [("subject_id", "subject", "patient_id"), ("id", "keep", "id"), ("visit", "keep", "visit"),
                  ("instance", "keep", "instance")]
    removed: list[str] = []
    replaced: dict[str, list[str]] = {}
    scrubbed: list[str] = []
    if identified:
        plan.append(("visit_date", "keep", "visit_date"))
    else:
        plan.append(("visit_date_study_day", "study_day", "visit_date"))
        replaced["visit_date"] = ["visit_date_study_day"]
    plan += [("protocol_version", "keep", "protocol_version"), ("confirm_warnings", "keep", "confirm_warnings")]
    _plan_fields(form.fields, identified, free_text, plan, removed, replaced, scrubbed)
    records = form_records(session, study, form)
    out_rows = []
    for record, values, confirmed in records:
        row = {"id": record.id, "visit": record.visit, "instance": record.instance, "visit_date": record.visit_date,
               "protocol_version": record.protocol_version, "confirm_warnings": bool(confirmed),
               "patient_id": record.patient_id, **values}
        out_rows.append(_output_row(t.FormRecord, row, plan, refs, subjects, deid, path.name))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([c for c, _, _ in plan])
        for values in out_rows:
            writer.writerow([format_cell(v) for v in values])
    entry: dict[str, Any] = {"file": path.name, "rows": len(records), "columns": [c for c, _, _ in plan],
                             "form": form.name}
    if not identified:
        entry.update({"removed_columns": removed, "replaced_columns": replaced,
                      **({"scrubbed_columns": scrubbed} if scrubbed else {})})
    return entry


def _output_row(cls: type[t.Base], row: Any, plan: Plan, refs: dict[int, date], subjects: dict[int, str],
                deid, file: str) -> list[Any]:
    patient_id = row["id"] if cls is t.Patient else row.get("patient_id")
    if cls is t.DataQuery and deid is not None:  # a query is about the patient of the record it points at
        patient_id = deid.query_patient(row)
    reference = refs.get(patient_id) if patient_id is not None else None
    values = []
    for _, treatment, source in plan:
        value = row.get(source)
        if treatment == "keep":
            if (deid is not None and isinstance(value, str) and (cls.__tablename__, source) not in _FREE_TEXT_EXEMPT
                    and _ANY_DIGIT_DASH.search(value)):
                value = deid.scrub_dates(file, source, value, patient_id)  # a date in a text column of codes
            values.append(value)
        elif treatment == "subject":
            pid = row.get(source)
            values.append(deid.subject(pid) if deid is not None else subjects.get(pid))
        elif treatment == "user":
            values.append(deid.user(value))
        elif treatment == "age_band":
            values.append(deid.age_band(patient_id, value))
        elif treatment == "study_day":
            if isinstance(value, str) or (value is None and cls is t.AdverseEvent):
                value = _split_iso(value)[0]
            values.append(study_day(value, reference))
        elif treatment == "time":
            values.append(_split_iso(value)[1])
        elif treatment == "timestamp":
            values.append(study_day(timestamp_date(value), reference))
        elif treatment == "file_name":  # '/home/alice/trial.yaml' -> 'trial.yaml'; 'bundled:x' stays
            values.append(re.split(r"[\\/]", value)[-1] if isinstance(value, str) else value)
        elif treatment == "scrub":
            values.append(deid.scrub(file, source, value, patient_id))
        else:  # pragma: no cover - every treatment comes from _plan_columns
            raise KeyError(treatment)
    return values
