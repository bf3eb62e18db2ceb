"""Import CSV files or Excel workbooks into a trial database, through capture, all-or-nothing, incrementally.

Input: CSV files named after their table (``patients.csv``, ``adverse_events.csv``, ...) or after a study
form (``labs.csv``), directories of such files (an ``earlyphase export --identified`` directory imports as
is), or Excel workbooks with one sheet per table or form; several at once. The first row holds the
column names (those of ``earlyphase.records.tables``; a form's: its field names, with ``subject_id``,
``visit``, ``instance``, ``visit_date`` and ``confirm_warnings``). ``subject_id`` names the patient
(``patient_id`` is accepted when ``patients`` is imported in the same run); a patient's site may be given
by its code (``site``); the fields a study adds to a core form are columns of that table's file;
eligibility answers are rows of ``eligibility_answers`` (subject_id, criterion, answer), read when the
patient is enrolled. ``id`` columns are read only to link rows in the same import (lesions to their
assessment); a file typed by hand may instead tie each lesion to its scan with ``subject_id`` and
``assessment_date``. A withdrawn patient (``status`` withdrawn, with ``withdrawal_date`` and
``withdrawal_reason``) is withdrawn after all other rows are in.

**Re-importing** (a site keeps one spreadsheet and imports it every week): each row is matched to the
record it describes by its key, and only new and changed rows are written. New rows go through the
capture action a coordinator would use (so every edit check runs); a changed row becomes an audited
correction of the stored record (every check again), with the reason given (``reason``, the CLI's
``--reason``); unchanged rows are left alone. Keys: patients by subject id; allocations and deaths by
patient; administrations by number (or cycle and day); adverse events by term (and verbatim term) and onset; tumour
assessments by date (lesions by label); other therapies by kind and start date; follow-up contacts by
date; hand-written protocol deviations by all their values; a form by visit and instance (a repeating
form's rows need the instance or the form's date field). A row whose key changed is a new record;
records missing from the file are not deleted.

All rows of all files run in ONE transaction: one bad row and nothing is written. The error names the
file, the row (the line or sheet row number, header = row 1), the column, the value and the rule
broken, for every problem found (up to ``MAX_PROBLEMS``). Every record written carries, in its audit
entry, the file it came from and that file's SHA-256.

Tables that the study and capture fill themselves are checked, not written: ``study``, ``protocol_versions``
and ``sites`` must match the database's study; ``users`` are registered as themselves; protocol deviations
that capture writes automatically (``source_table`` set) come back with their source record.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import Engine, func, select

from earlyphase.errors import CheckFailed, InputError, Problem
from earlyphase.interop.formats import TABLES_BY_NAME, CellError, column_kind, parse_cell
from earlyphase.interop.sources import SourceFile, SourceRow, read_files
from earlyphase.records import tables as t
from earlyphase.vocab import PATIENT_STATUSES

MAX_PROBLEMS = 50
CORE_ORDER = [cls.__tablename__ for cls in t.DATA_TABLES if cls not in (t.FormRecord, t.FormValue)]
# Columns a file may carry besides the table's own (the patient's subject id everywhere, a patient's
# site code, a lesion's assessment named by subject and date) and columns read only to link rows.
_EXTRA_COLUMNS = {name: {"subject_id"} for name in CORE_ORDER
                  if name not in ("study", "protocol_versions", "sites", "users", "queries", "dose_decisions",
                                 "meeting_packs")}
_EXTRA_COLUMNS["patients"] = {"site"}
_EXTRA_COLUMNS["lesions"] = {"subject_id", "assessment_date"}
_NOT_COMPARED = {"id", "patient_id", "protocol_version", "subject_id", "reduction", "dose_unit", "assessment_id",
                 "source_table", "source_id"}
FORM_COLUMNS = ("subject_id", "patient_id", "id", "visit", "instance", "visit_date", "protocol_version",
                "confirm_warnings")
# Capture's argument names that differ from the column names, per table (problems name the column).
_COLUMN_OF_ARGUMENT = {
    "patients": {"site": "site_id"},
    "allocations": {"group": "group_code"},
    "lesions": {"label": "lesion_label"},
}
_CORE_FORM_OF_TABLE = {"patients": "enrolment", "allocations": "allocation", "administrations": "administration",
                       "adverse_events": "adverse_event", "tumour_assessments": "tumour_assessment",
                       "other_therapies": "other_therapy", "follow_ups": "follow_up", "deaths": "death"}


@dataclass(frozen=True)
class ImportResult:
    """Rows written (new records) and corrected (changed records) per table or form; rows left unchanged
    (already stored, or checked against the database) under ``checked``."""

    source: str
    written: dict[str, int]
    checked: dict[str, int]
    corrected: dict[str, int]
    files: dict[str, str]  # file name -> SHA-256

    def summary(self) -> str:
        total, changed = sum(self.written.values()), sum(self.corrected.values())
        lines = [f"Imported {self.source}: {total} new rows, {changed} corrected, in one transaction "
                 "(every row through capture, audited)."]
        names = list(dict.fromkeys([*self.written, *self.corrected, *self.checked]))
        for name in names:
            lines.append(f"  {name:<26} {self.written.get(name, 0):>6} new {self.corrected.get(name, 0):>5} corrected "
                         f"{self.checked.get(name, 0):>6} unchanged")
        for name, sha in self.files.items():
            lines.append(f"  file {name}: sha256 {sha}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "written": dict(self.written), "corrected": dict(self.corrected),
                "checked": dict(self.checked), "files": dict(self.files)}


def read_sources(path: str | Path | Iterable[str | Path]) -> dict[str, list[SourceRow]]:
    """Table or form name -> rows, from CSV files, directories of them or Excel workbooks."""
    out: dict[str, list[SourceRow]] = {}
    for source in read_files(path):
        for name, rows in source.tables.items():
            out.setdefault(name, []).extend(rows)
    return out


def _field_kind(field) -> str:
    return {"integer": "int", "decimal": "float", "date": "date", "yesno": "bool"}.get(field.type, "text")


def _same(stored: Any, new: Any) -> bool:
    if stored is None or (isinstance(stored, str) and not stored.strip()):
        return new is None or (isinstance(new, str) and not new.strip())
    if new is None:
        return False
    if isinstance(stored, bool) or isinstance(new, bool):
        flags = [v if isinstance(v, bool) else (bool(v) if v in (0, 1) else None) for v in (stored, new)]
        return None not in flags and flags[0] == flags[1]
    if isinstance(stored, (int, float)) and isinstance(new, (int, float)):
        return math.isclose(float(stored), float(new), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(stored, tuple) or isinstance(new, tuple):
        left = stored if isinstance(stored, tuple) else tuple(str(stored).split("|"))
        right = new if isinstance(new, tuple) else tuple(x.strip() for x in str(new).split("|"))
        return sorted(x.casefold() for x in left) == sorted(x.casefold() for x in right)
    if isinstance(stored, date) or isinstance(new, date):
        return str(stored)[:10] == str(new)[:10]
    return " ".join(str(stored).split()).casefold() == " ".join(str(new).split()).casefold()


class _Importer:
    def __init__(self, batch, files: list[SourceFile], reason: str | None):
        self.batch = batch
        self.ctx = batch.context
        self.study = self.ctx.study
        self.reason = reason
        self.sources: dict[str, list[SourceRow]] = {}
        self.sha: dict[str, str] = {}
        for f in files:
            self.sha[f.path.name] = f.sha256
            for name, rows in f.tables.items():
                self.sources.setdefault(name, []).extend(rows)
        self.problems: list[Problem] = []
        self.written: dict[str, int] = defaultdict(int)
        self.corrected: dict[str, int] = defaultdict(int)
        self.checked: dict[str, int] = defaultdict(int)
        self.subject_of_patient_id: dict[int, str] = {}
        self.withdrawals: list[tuple[SourceRow, dict[str, Any]]] = []
        self.seen: dict[str, dict[tuple, SourceRow]] = defaultdict(dict)
        self.derived_deviations: list[tuple[SourceRow, dict[str, Any]]] = []

    # problems ------------------------------------------------------------------------------------
    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def fail(self, row: SourceRow, field: str, value: Any, rule: str, message: str) -> None:
        self.add(Problem(field=field, value=value, rule=rule, message=message, file=row.file, row=row.row))

    def file_of(self, row: SourceRow) -> tuple[str, str]:
        name = row.file.split("[", 1)[0]
        return name, self.sha.get(name, "")

    def insert_reason(self, row: SourceRow) -> str:
        name, sha = self.file_of(row)
        return f"import of {name} (sha256 {sha})"

    # reading cells ---------------------------------------------------------------------------------
    def extension_fields(self, table: str) -> dict[str, Any]:
        core = _CORE_FORM_OF_TABLE.get(table)
        extension = self.study.extension(core) if core else None
        return {f.name: f for f in extension.fields} if extension is not None else {}

    def typed(self, table: str, row: SourceRow) -> dict[str, Any] | None:
        """The row's cells parsed to the column types; None (after recording problems) if any fails."""
        cls = TABLES_BY_NAME[table]
        columns = cls.__table__.columns
        added = self.extension_fields(table)
        values: dict[str, Any] = {}
        ok = True
        for name, raw in row.cells.items():
            if name in columns:
                kind = column_kind(cls.__table__, name)
            elif name in _EXTRA_COLUMNS.get(table, ()):
                kind = "text"
            elif name in added:
                kind = _field_kind(added[name])
            else:
                known = list(columns.keys()) + sorted(_EXTRA_COLUMNS.get(table, ())) + list(added)
                self.fail(row, name, raw, "known-column", f"{table} has no column {name!r} (columns: {', '.join(known)})")
                ok = False
                continue
            try:
                values[name] = parse_cell(raw, kind)
            except CellError as exc:
                self.fail(row, name, raw, f"type-{kind}", f"{name} must be {exc}")
                ok = False
                continue
            length = getattr(columns[name].type, "length", None) if name in columns else None
            if length and isinstance(values[name], str) and len(values[name]) > length:
                self.fail(row, name, raw, "max-length",
                          f"{name} may hold at most {length} characters ({len(values[name])} given)")
                ok = False
        return values if ok else None

    def split_extra(self, table: str, values: dict[str, Any]) -> dict[str, Any] | None:
        added = self.extension_fields(table)
        extra = {k: values[k] for k in added if k in values}
        return extra or None

    # running capture -------------------------------------------------------------------------------
    def capture(self, row: SourceRow, table: str, fn: Callable, /, *args,
                lesion_rows: list[SourceRow] | None = None, **kwargs):
        """Run one capture action; its problems are re-labelled with the file, row and column."""
        self.ctx.reason = self.insert_reason(row)
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            self.relabel(exc, row, table, lesion_rows)
            return None
        finally:
            self.ctx.reason = None

    def relabel(self, exc: InputError, row: SourceRow, table: str, lesion_rows=None) -> None:
        for p in exc.problems:
            where, field, in_table = row, p.field, table
            if lesion_rows is not None and field.startswith("lesions[") and "]." in field:
                index = int(field[len("lesions["): field.index("]")])
                if index < len(lesion_rows):
                    where, field, in_table = lesion_rows[index], field[field.index("].") + 2:], "lesions"
            if in_table in self.study.form_names and field.startswith(in_table + "."):
                field = field[len(in_table) + 1:]
            column = _COLUMN_OF_ARGUMENT.get(in_table, {}).get(field)
            if column is not None and field not in where.cells and column in where.cells:
                field = column
            self.add(Problem(field=field, value=p.value, rule=p.rule, message=p.message, file=where.file,
                             row=where.row))

    def correct(self, row: SourceRow, table: str, record, changes: dict[str, Any], label: str,
                confirm: bool = False, lesion_rows=None) -> bool:
        """Apply the changes a re-imported row makes to a stored record (audited, with the reason)."""
        if not changes:
            return False
        if not self.reason:
            shown = "; ".join(f"{k} -> {v!r}" for k, v in changes.items())
            self.fail(row, next(iter(changes)), next(iter(changes.values())), "reason-for-change",
                      f"this row changes the stored {label} ({shown}); give the reason for the changes "
                      "(--reason) to import it as a correction")
            return False
        name, sha = self.file_of(row)
        reason = f"{self.reason} (import of {name}, sha256 {sha})"
        self.ctx.reason = f"import of {name} (sha256 {sha})"
        try:
            self.batch.correct_record(table, record.id, changes, reason, confirm_warnings=confirm)
        except CheckFailed as exc:
            if {p.rule for p in exc.problems} <= {"no-change"}:
                return False  # the differences were spelling only (capture keeps one spelling)
            self.relabel(exc, row, table, lesion_rows)
            return False
        finally:
            self.ctx.reason = None
        self.corrected[table] += 1
        return True

    def subject(self, table: str, row: SourceRow, values: dict[str, Any]) -> str | None:
        subject = values.get("subject_id")
        if subject:
            return subject
        pid = values.get("patient_id")
        if pid is not None and pid in self.subject_of_patient_id:
            return self.subject_of_patient_id[pid]
        self.fail(row, "subject_id", pid, "patient-reference",
                  f"each {table} row needs subject_id (or a patient_id of a row in patients)")
        return None

    def patient(self, subject: str | None) -> t.Patient | None:
        if subject is None:
            return None
        return self.batch.session.execute(select(t.Patient).where(t.Patient.subject_id == subject)).scalars().first()

    def once(self, table: str, key: tuple, row: SourceRow) -> bool:
        """False (after a problem) when another row of this import has the same key."""
        first = self.seen[table].get(key)
        if first is not None:
            self.fail(row, "(row)", ", ".join(str(k) for k in key), "duplicate-row",
                      f"this row describes the same {table} record as {first.file} row {first.row}")
            return False
        self.seen[table][key] = row
        return True

    def changes(self, table: str, record, values: dict[str, Any], aliases: dict[str, str] | None = None) -> dict:
        """Capture name -> new value for every given column whose value differs from the stored one."""
        from earlyphase.capture.corrections import CORRECTABLE, _inputs
        from earlyphase.capture.forms import extension_values

        aliases = aliases or {}
        stored = _inputs(self.ctx, table, record)
        added = self.extension_fields(table)
        stored_added = extension_values(self.ctx, _CORE_FORM_OF_TABLE[table], record) if added else {}
        allowed = set(CORRECTABLE[table].fields)
        out: dict[str, Any] = {}
        for column, value in values.items():
            if column in _NOT_COMPARED or (column in _EXTRA_COLUMNS.get(table, ()) and column != "site"):
                continue
            name = aliases.get(column, CORRECTABLE[table].aliases.get(column, column))
            if column in added:
                if not _same(stored_added.get(column), value):
                    out[column] = value
                continue
            if name not in allowed:
                continue
            if not _same(stored.get(name), value):
                out[name] = value
        return out

    def unique_ids(self) -> None:
        """An ``id`` read to link rows (a patient's, an assessment's) must name one row only: a repeated id
        would attach child rows to whichever row came last."""
        for name, rows in self.sources.items():
            first: dict[str, SourceRow] = {}
            for row in rows:
                raw = row.cells.get("id")
                key = str(raw).strip() if raw is not None else ""
                if key.endswith(".0"):  # Excel's 1.0 is the 1 of a CSV file
                    key = key[:-2]
                if not key:
                    continue
                if key in first:
                    self.fail(row, "id", raw, "unique-id",
                              f"id {key} is also the id of {first[key].file} row {first[key].row}; each row of "
                              f"{name} needs its own id (rows of other files refer to it)")
                else:
                    first[key] = row

    # tables ------------------------------------------------------------------------------------
    def run(self) -> None:
        forms = set(self.study.form_names)
        for name, rows in self.sources.items():
            if name not in TABLES_BY_NAME and name not in forms:
                row = rows[0] if rows else SourceRow(name, 1, {})
                self.fail(row, "file", name, "table-name",
                          f"{name} is not a table or a form of this study; tables: {', '.join(CORE_ORDER)}; "
                          f"forms: {', '.join(sorted(forms)) or 'none'}")
        if self.problems:
            return
        self.unique_ids()
        if self.problems:
            return
        order = []
        for table in CORE_ORDER:
            if table == "protocol_deviations":
                order.extend(f"form:{f}" for f in self.study.form_names)
            order.append(table)
        for step in order:
            if self.full():
                return
            if step.startswith("form:"):
                if step[5:] in self.sources:
                    self.form(step[5:])
                continue
            if step in ("lesions", "eligibility_answers") or step not in self.sources:
                continue
            if step == "tumour_assessments":
                self.assessments()
                continue
            handler = getattr(self, f"table_{step}")
            for row in self.sources[step]:
                if self.full():
                    return
                values = self.typed(step, row)
                if values is not None:
                    handler(row, values)
        if "lesions" in self.sources and "tumour_assessments" not in self.sources:
            for row in self.sources["lesions"][:1]:
                self.fail(row, "assessment_id", row.cells.get("assessment_id"), "assessment-in-import",
                          "lesions are imported with their tumour assessments (tumour_assessments in the same import)")
        self.eligibility_of_stored_patients()
        self.check_derived_deviations()
        for row, values in self.withdrawals:
            if self.capture(row, "patients", self.batch.withdraw_patient, values["subject_id"],
                            values.get("withdrawal_date"), values.get("withdrawal_reason")) is not None:
                self.written["patients (withdrawals)"] += 1

    def table_study(self, row: SourceRow, values: dict[str, Any]) -> None:
        stored = self.batch.session.execute(select(t.StudyRecord)).scalars().first()
        for name in ("study_id", "protocol_sha256"):
            if name in values and values[name] != getattr(stored, name):
                self.fail(row, name, values[name], "same-study",
                          f"the database holds study {stored.study_id} ({name} {getattr(stored, name)!s:.16}); "
                          "initialise a database with this study first")
                return
        if values.get("synthetic") and not stored.synthetic:
            self.batch.mark_study_synthetic("the imported study is marked synthetic: its patients are synthetic")
        self.checked["study"] += 1

    def table_protocol_versions(self, row: SourceRow, values: dict[str, Any]) -> None:
        # The version history belongs to each database (an amendment is made with 'study amend');
        # the version in force was checked with the study row.
        self.checked["protocol_versions"] += 1

    def table_sites(self, row: SourceRow, values: dict[str, Any]) -> None:
        code = values.get("code")
        site = self.batch.session.execute(select(t.SiteRecord).where(t.SiteRecord.code == code)).scalars().first()
        if site is None:
            self.fail(row, "code", code, "site-in-study",
                      "sites come from the study file; this site is not in the database's study")
            return
        self.checked["sites"] += 1

    def table_users(self, row: SourceRow, values: dict[str, Any]) -> None:
        from earlyphase.access.accounts import register_account, require_admin

        username = values.get("username")
        if not username:
            self.fail(row, "username", username, "required", "a user needs a username")
            return
        found = self.batch.session.execute(select(t.UserRecord).where(t.UserRecord.username == username)).scalars().first()
        if found is None:
            # A new name becomes an account (no password nor role: it attributes the imported rows and
            # cannot log in), so only someone who may add users imports one.
            try:
                require_admin(self.ctx.session, self.ctx.username)
                register_account(self.ctx.session, username, actor=self.ctx.username, reason=self.insert_reason(row))
            except InputError as exc:
                self.fail(row, "username", username, exc.problems[0].rule, exc.problems[0].message)
                return
            self.written["users"] += 1
        else:
            self.checked["users"] += 1

    def eligibility_rows(self, subject: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for row in self.sources.get("eligibility_answers", []):
            values = self.typed("eligibility_answers", row)
            if values is None:
                continue
            who = values.get("subject_id") or self.subject_of_patient_id.get(values.get("patient_id"))
            if who == subject and values.get("criterion"):
                out[str(values["criterion"])] = values.get("answer")
        return out

    def table_patients(self, row: SourceRow, values: dict[str, Any]) -> None:
        site_code = values.get("site")
        if site_code is None and values.get("site_id") is not None:  # an export names the site by id
            site = self.batch.session.get(t.SiteRecord, values["site_id"])
            site_code = site.code if site is not None else f"(site id {values['site_id']})"
        subject = values.get("subject_id")
        status = values.get("status")
        if status is not None and status not in PATIENT_STATUSES:
            self.fail(row, "status", status, "enumeration",
                      f"status must be one of: {', '.join(PATIENT_STATUSES)} (a withdrawal also needs withdrawal_date "
                      "and withdrawal_reason)")
            return
        if status == "enrolled" and values.get("withdrawal_date") is not None:
            self.fail(row, "withdrawal_date", values.get("withdrawal_date"), "status-consistent",
                      "the row says status enrolled but gives a withdrawal date; set status to withdrawn or clear "
                      "the date")
            return
        # subject ids differ in more than letter case: P-01 and p-01 are one patient typed twice
        if not self.once("patients", (subject.casefold() if isinstance(subject, str) else subject,), row):
            return
        existing = self.patient(subject)
        if values.get("id") is not None and subject:
            self.subject_of_patient_id[values["id"]] = subject
        withdrawn = values.get("status") == "withdrawn" or values.get("withdrawal_date") is not None
        if existing is None:
            result = self.capture(
                row, "patients", self.batch.enrol_patient, subject, site_code, values.get("sex"),
                values.get("birth_year"), values.get("ecog"), values.get("consent_date"),
                enrolment_date=values.get("enrolment_date"), initials=values.get("initials"),
                hospital_number=values.get("hospital_number"), eligibility=self.eligibility_rows(subject) or None,
                extra=self.split_extra("patients", values),
            )
            if result is None:
                return
            self.written["patients"] += 1
            if withdrawn:
                self.withdrawals.append((row, values))
            return
        given = {k: v for k, v in values.items() if k not in ("site_id", "status", "withdrawal_date", "withdrawal_reason")}
        if site_code is not None:
            given["site"] = site_code
        if existing.status == "withdrawn":
            given.update({k: values[k] for k in ("withdrawal_date", "withdrawal_reason") if k in values})
        changes = self.changes("patients", existing, given, aliases={"site": "site"})
        if not self.correct(row, "patients", existing, changes, f"patient {subject}"):
            self.checked["patients"] += 1
        if withdrawn and existing.status != "withdrawn":
            self.withdrawals.append((row, values))

    def eligibility_of_stored_patients(self) -> None:
        """Answers re-imported for patients already enrolled before this import: corrected when changed."""
        for row in self.sources.get("eligibility_answers", []):
            values = self.typed("eligibility_answers", row)
            if values is None:
                continue
            subject = values.get("subject_id") or self.subject_of_patient_id.get(values.get("patient_id"))
            patient = self.patient(subject)
            if patient is None:
                key = (subject.casefold() if isinstance(subject, str) else subject,)
                if key not in self.seen["patients"]:  # else the patient's own row has the problem
                    self.fail(row, "subject_id", subject, "patient-known",
                              "eligibility answers belong to a patient of patients.csv or of the database")
                continue
            answer = self.batch.session.execute(select(t.EligibilityAnswer).where(
                t.EligibilityAnswer.patient_id == patient.id,
                t.EligibilityAnswer.criterion == values.get("criterion"))).scalars().first()
            if answer is None:
                self.fail(row, "criterion", values.get("criterion"), "criterion-known",
                          f"patient {subject} has no answer to criterion {values.get('criterion')} (answers are "
                          "given at enrolment)")
                continue
            changes = {} if _same(answer.answer, values.get("answer")) else {"answer": values.get("answer")}
            if not self.correct(row, "eligibility_answers", answer, changes, f"answer of patient {subject}"):
                self.checked["eligibility_answers"] += 1

    def table_allocations(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("allocations", row, values)
        if not s or not self.once("allocations", (s,), row):
            return
        patient = self.patient(s)
        existing = self.batch.session.execute(select(t.Allocation).where(
            t.Allocation.patient_id == patient.id)).scalars().first() if patient is not None else None
        if existing is None:
            if self.capture(row, "allocations", self.batch.allocate_patient, s, values.get("group_code"),
                            values.get("allocation_date"), extra=self.split_extra("allocations", values)) is not None:
                self.written["allocations"] += 1
            return
        if not self.correct(row, "allocations", existing, self.changes("allocations", existing, values),
                            f"allocation of patient {s}"):
            self.checked["allocations"] += 1

    def table_administrations(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("administrations", row, values)
        if not s:
            return
        number, cycle, day = values.get("number"), values.get("cycle"), values.get("cycle_day")
        key = (s, "n", number) if number is not None else (s, "c", cycle, day)
        if not self.once("administrations", key, row):
            return
        patient = self.patient(s)
        existing = None
        if patient is not None:
            query = select(t.Administration).where(t.Administration.patient_id == patient.id)
            query = query.where(t.Administration.number == number) if number is not None else query.where(
                t.Administration.cycle == cycle, t.Administration.cycle_day == day)
            existing = self.batch.session.execute(query).scalars().first()
        if existing is None:
            args = {k: values.get(k) for k in ("cycle", "cycle_day", "planned_date", "dose_unit", "route", "weight_kg",
                                               "height_cm", "bsa_m2", "amount", "amount_unit", "modification_reason",
                                               "lot", "deviation")}
            if self.capture(row, "administrations", self.batch.record_administration, s, number,
                            values.get("actual_date"), values.get("dose"), **args,
                            extra=self.split_extra("administrations", values)) is not None:
                self.written["administrations"] += 1
            return
        if not self.correct(row, "administrations", existing, self.changes("administrations", existing, values),
                            f"{self.study.product.noun} {existing.number} of patient {s}"):
            self.checked["administrations"] += 1

    def table_adverse_events(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("adverse_events", row, values)
        if not s:
            return
        term, onset = str(values.get("term") or "").strip(), values.get("onset")
        verbatim = str(values.get("term_specify") or "").strip()  # an "Other, specify" event's own words
        if not self.once("adverse_events", (s, term.casefold(), onset, verbatim.casefold()), row):
            return
        patient = self.patient(s)
        existing = None
        if patient is not None and term and onset:
            for ae in self.batch.session.execute(select(t.AdverseEvent).where(
                    t.AdverseEvent.patient_id == patient.id, t.AdverseEvent.onset == str(onset),
                    func.lower(t.AdverseEvent.term) == term.lower())).scalars():
                if _same(ae.term_specify, verbatim or None):
                    existing = ae
                    break
        if existing is None:
            if self.capture(row, "adverse_events", self.batch.record_adverse_event, s, values.get("term"),
                            values.get("grade"), values.get("onset"), values.get("attribution"), values.get("outcome"),
                            resolution=values.get("resolution"), serious=bool(values.get("serious")),
                            action=values.get("action") or "none", dlt=bool(values.get("dlt")),
                            term_specify=values.get("term_specify"),
                            extra=self.split_extra("adverse_events", values)) is not None:
                self.written["adverse_events"] += 1
            return
        given = {k: v for k, v in values.items() if k not in ("term", "term_specify", "onset", "soc", "ctcae_version")}
        if not self.correct(row, "adverse_events", existing, self.changes("adverse_events", existing, given),
                            f"adverse event {existing.term} ({existing.onset}) of patient {s}"):
            self.checked["adverse_events"] += 1

    def assessments(self) -> None:
        lesions_by_assessment: dict[Any, list[tuple[SourceRow, dict[str, Any]]]] = defaultdict(list)
        for row in self.sources.get("lesions", []):
            values = self.typed("lesions", row)
            if values is None:
                continue
            key = values.get("assessment_id")
            if key is None and values.get("subject_id") is not None:
                key = (values.get("subject_id"), str(values.get("assessment_date", "")))
            lesions_by_assessment[key].append((row, values))
        used: set[Any] = set()
        for row in self.sources["tumour_assessments"]:
            if self.full():
                return
            values = self.typed("tumour_assessments", row)
            if values is None:
                continue
            s = self.subject("tumour_assessments", row, values)
            if not s or not self.once("tumour_assessments", (s, str(values.get("assessment_date"))), row):
                continue
            key = values.get("id")
            if key is None or key not in lesions_by_assessment:
                key = (s, str(values.get("assessment_date") or ""))
            found = lesions_by_assessment.get(key, [])
            used.add(key)
            patient = self.patient(s)
            existing = self.batch.session.execute(select(t.TumourAssessment).where(
                t.TumourAssessment.patient_id == patient.id,
                t.TumourAssessment.assessment_date == values.get("assessment_date"))).scalars().first() \
                if patient is not None and isinstance(values.get("assessment_date"), date) else None
            if existing is None:
                lesion_inputs = [{"label": v.get("lesion_label"), "kind": v.get("kind"),
                                  "viable_diameter_mm": v.get("viable_diameter_mm"), "location": v.get("location"),
                                  "status": v.get("status"), "node": v.get("node"),
                                  "short_axis_mm": v.get("short_axis_mm")} for _, v in found]
                result = self.capture(row, "tumour_assessments", self.batch.record_tumour_assessment, s,
                                      values.get("assessment_date"), values.get("modality"), lesion_inputs,
                                      baseline=bool(values.get("baseline")),
                                      investigator_response=values.get("investigator_response"),
                                      extra=self.split_extra("tumour_assessments", values),
                                      lesion_rows=[r for r, _ in found])
                if result is not None:
                    self.written["tumour_assessments"] += 1
                    self.written["lesions"] += len(found)
                continue
            given = {k: v for k, v in values.items() if k != "assessment_date"}
            if not self.correct(row, "tumour_assessments", existing, self.changes("tumour_assessments", existing, given),
                                f"tumour assessment of patient {s} on {existing.assessment_date}"):
                self.checked["tumour_assessments"] += 1
            self.lesions_of_stored(existing, found)
        for key, items in lesions_by_assessment.items():
            if key not in used:
                row, values = items[0]
                self.fail(row, "assessment_id", values.get("assessment_id"), "assessment-in-import",
                          "this lesion's tumour assessment is not in the import")

    def lesions_of_stored(self, assessment: t.TumourAssessment, found) -> None:
        stored = {les.lesion_label: les for les in self.batch.session.execute(select(t.Lesion).where(
            t.Lesion.assessment_id == assessment.id)).scalars()}
        for row, values in found:
            label = values.get("lesion_label")
            lesion = stored.get(label)
            if lesion is None:
                self.fail(row, "lesion_label", label, "lesion-added",
                          f"lesion {label} is not in the stored assessment of {assessment.assessment_date}; a lesion "
                          "cannot be added to a stored assessment: correct the assessment by hand")
                continue
            given = {k: v for k, v in values.items() if k in ("lesion_label", "kind", "viable_diameter_mm", "location",
                                                              "status", "node", "short_axis_mm")}
            if not self.correct(row, "lesions", lesion, self.changes("lesions", lesion, given),
                                f"lesion {label} of {assessment.assessment_date}"):
                self.checked["lesions"] += 1

    def table_other_therapies(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("other_therapies", row, values)
        if not s:
            return
        therapy = str(values.get("therapy") or "").strip()
        if not self.once("other_therapies", (s, therapy.casefold(), values.get("start_date")), row):
            return
        patient = self.patient(s)
        existing = None
        if patient is not None and isinstance(values.get("start_date"), date):
            existing = self.batch.session.execute(select(t.OtherTherapy).where(
                t.OtherTherapy.patient_id == patient.id, t.OtherTherapy.start_date == values["start_date"],
                func.lower(t.OtherTherapy.therapy) == therapy.lower())).scalars().first()
        if existing is None:
            new = values.get("new_anticancer")
            if self.capture(row, "other_therapies", self.batch.record_other_therapy, s, values.get("therapy"),
                            values.get("start_date"), end_date=values.get("end_date"),
                            new_anticancer=True if new is None else new,
                            extra=self.split_extra("other_therapies", values)) is not None:
                self.written["other_therapies"] += 1
            return
        given = {k: v for k, v in values.items() if k not in ("therapy", "start_date")}
        if not self.correct(row, "other_therapies", existing, self.changes("other_therapies", existing, given),
                            f"{existing.therapy} of patient {s}"):
            self.checked["other_therapies"] += 1

    def table_follow_ups(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("follow_ups", row, values)
        if not s or not self.once("follow_ups", (s, values.get("contact_date")), row):
            return
        patient = self.patient(s)
        existing = None
        if patient is not None and isinstance(values.get("contact_date"), date):
            existing = self.batch.session.execute(select(t.FollowUp).where(
                t.FollowUp.patient_id == patient.id, t.FollowUp.contact_date == values["contact_date"])).scalars().first()
        if existing is None:
            if self.capture(row, "follow_ups", self.batch.record_follow_up, s, values.get("contact_date"),
                            values.get("status"), extra=self.split_extra("follow_ups", values)) is not None:
                self.written["follow_ups"] += 1
            return
        given = {k: v for k, v in values.items() if k != "contact_date"}
        changes = self.changes("follow_ups", existing, given)
        if not self.correct(row, "follow_ups", existing, changes, f"contact of patient {s} on {existing.contact_date}"):
            self.checked["follow_ups"] += 1

    def table_deaths(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("deaths", row, values)
        if not s or not self.once("deaths", (s,), row):
            return
        patient = self.patient(s)
        existing = self.batch.session.execute(select(t.Death).where(t.Death.patient_id == patient.id)).scalars().first() \
            if patient is not None else None
        if existing is None:
            if self.capture(row, "deaths", self.batch.record_death, s, values.get("death_date"), values.get("cause"),
                            extra=self.split_extra("deaths", values)) is not None:
                self.written["deaths"] += 1
            return
        if not self.correct(row, "deaths", existing, self.changes("deaths", existing, values), f"death of patient {s}"):
            self.checked["deaths"] += 1

    def table_protocol_deviations(self, row: SourceRow, values: dict[str, Any]) -> None:
        if values.get("source_table"):
            # written by capture beside its source record (a dose off schedule, a visit out of window):
            # checked once every record is in, against what capture wrote
            self.derived_deviations.append((row, values))
            return
        s = self.subject("protocol_deviations", row, values)
        if not s:
            return
        key = (s, values.get("deviation_date"), str(values.get("category") or "").casefold(),
               " ".join(str(values.get("description") or "").split()))
        if not self.once("protocol_deviations", key, row):
            return
        patient = self.patient(s)
        if patient is not None:
            for d in self.batch.session.execute(select(t.ProtocolDeviation).where(
                    t.ProtocolDeviation.patient_id == patient.id,
                    t.ProtocolDeviation.deviation_date == values.get("deviation_date"))).scalars():
                if _same(d.category, values.get("category")) and _same(d.description, values.get("description")):
                    self.checked["protocol_deviations"] += 1
                    return
        if self.capture(row, "protocol_deviations", self.batch.record_protocol_deviation, s,
                        values.get("deviation_date"), values.get("category"), values.get("description")) is not None:
            self.written["protocol_deviations"] += 1

    def check_derived_deviations(self) -> None:
        """Each deviation row that names its source record must match one capture wrote for that patient."""
        if not self.derived_deviations:
            return
        self.batch.session.flush()
        for row, values in self.derived_deviations:
            s = self.subject("protocol_deviations", row, values)
            if not s:
                continue
            patient = self.patient(s)
            source = str(values["source_table"])
            if source not in TABLES_BY_NAME:
                self.fail(row, "source_table", source, "known-table",
                          f"source_table must name a table ({', '.join(CORE_ORDER)}), or be empty for a deviation "
                          "recorded by hand")
                continue
            found = [] if patient is None else list(self.batch.session.execute(select(t.ProtocolDeviation).where(
                t.ProtocolDeviation.patient_id == patient.id, t.ProtocolDeviation.source_table == source,
                t.ProtocolDeviation.deviation_date == values.get("deviation_date"))).scalars())
            if any(_same(d.category, values.get("category")) for d in found):
                self.checked["protocol_deviations"] += 1
                continue
            self.fail(row, "source_table", source, "derived-deviation",
                      f"this deviation says it was written beside a {source} record of patient {s} on "
                      f"{values.get('deviation_date')}, but the records imported and stored give no such deviation; "
                      "clear source_table and source_id to record it by hand, or correct the row")

    def table_forms_not_done(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("forms_not_done", row, values)
        if not s or not self.once("forms_not_done", (s, values.get("visit"), values.get("form")), row):
            return
        patient = self.patient(s)
        existing = self.batch.session.execute(select(t.FormNotDone).where(
            t.FormNotDone.patient_id == patient.id, t.FormNotDone.visit == values.get("visit"),
            t.FormNotDone.form == values.get("form"))).scalars().first() if patient is not None else None
        if existing is None:
            if self.capture(row, "forms_not_done", self.batch.record_form_not_done, s, values.get("visit"),
                            values.get("form"), values.get("reason")) is not None:
                self.written["forms_not_done"] += 1
            return
        changes = {} if _same(existing.reason, values.get("reason")) else {"reason": values.get("reason")}
        if not self.correct(row, "forms_not_done", existing, changes, f"form {existing.form} not done"):
            self.checked["forms_not_done"] += 1

    def table_queries(self, row: SourceRow, values: dict[str, Any]) -> None:
        self.fail(row, "(table)", "queries", "not-importable",
                  "data queries belong to the database they were raised in and are not imported; remove queries.csv")

    def table_dose_decisions(self, row: SourceRow, values: dict[str, Any]) -> None:
        self.fail(row, "(table)", "dose_decisions", "not-importable",
                  "dose-escalation decisions are recorded and sealed by the investigator in the trial's own database "
                  "(earlyphase design decide / seal) and are not imported; remove dose_decisions.csv")

    def table_meeting_packs(self, row: SourceRow, values: dict[str, Any]) -> None:
        self.fail(row, "(table)", "meeting_packs", "not-importable",
                  "meeting packs are frozen in the trial's own database (the dose-escalation page) and are not "
                  "imported; remove meeting_packs.csv")

    # the study's own forms ---------------------------------------------------------------------------
    def form_row(self, name: str, row: SourceRow) -> dict[str, Any] | None:
        form = self.study.form(name)
        kinds = {f.name: _field_kind(f) for f in form.fields}
        kinds.update({"subject_id": "text", "patient_id": "int", "id": "int", "visit": "text", "instance": "int",
                      "visit_date": "date", "protocol_version": "int", "confirm_warnings": "bool"})
        values: dict[str, Any] = {}
        ok = True
        for column, raw in row.cells.items():
            if column not in kinds:
                self.fail(row, column, raw, "known-column",
                          f"form {name} has no field {column!r} (fields: {', '.join(form.field_names)}; and "
                          f"{', '.join(FORM_COLUMNS)})")
                ok = False
                continue
            try:
                values[column] = parse_cell(raw, kinds[column])
            except CellError as exc:
                self.fail(row, column, raw, f"type-{kinds[column]}", f"{column} must be {exc}")
                ok = False
        return values if ok else None

    def form(self, name: str) -> None:
        from earlyphase.capture.forms import default_visit, stored_values

        form = self.study.form(name)
        for row in self.sources[name]:
            if self.full():
                return
            values = self.form_row(name, row)
            if values is None:
                continue
            s = self.subject(name, row, values)
            if not s:
                continue
            fields = {k: v for k, v in values.items() if k in form.field_names}
            visit = values.get("visit") or default_visit(self.ctx, form)
            instance = values.get("instance")
            when = values.get(form.date_field) if form.date_field else None
            if form.repeating and instance is None and when is None:
                self.fail(row, "instance", None, "instance-needed",
                          f"form {name} repeats: give each row its instance (1, 2, ...)"
                          + (f" or its {form.date_field}" if form.date_field else "")
                          + " so that a re-import finds the record it describes")
                continue
            key = (s, visit, instance if instance is not None else (when if form.repeating else 1))
            if not self.once(name, key, row):
                continue
            patient = self.patient(s)
            existing = self._stored_form(patient, form, visit, instance, when) if patient is not None else None
            confirm = bool(values.get("confirm_warnings"))
            if existing is None:
                if self.capture(row, name, self.batch.record_form, s, name, fields, visit=visit, instance=instance,
                                visit_date=values.get("visit_date"), confirm_warnings=confirm) is not None:
                    self.written[name] += 1
                continue
            stored, _ = stored_values(self.ctx, existing, form.fields)
            changes = {k: v for k, v in fields.items() if not _same(stored.get(k), v)}
            if values.get("visit_date") is not None and not _same(existing.visit_date, values["visit_date"]):
                changes["visit_date"] = values["visit_date"]
            if not self.correct(row, "form_records", existing, changes, f"form {name} of patient {s}", confirm=confirm):
                self.checked[name] += 1

    def _stored_form(self, patient, form, visit, instance, when):
        from earlyphase.capture.forms import stored_values

        query = select(t.FormRecord).where(t.FormRecord.patient_id == patient.id, t.FormRecord.form == form.name,
                                           t.FormRecord.core_table.is_(None))
        query = query.where(t.FormRecord.visit.is_(None) if visit is None else t.FormRecord.visit == visit)
        records = list(self.batch.session.execute(query.order_by(t.FormRecord.id)).scalars())
        if not form.repeating:
            return records[0] if records else None
        if instance is not None:
            return next((r for r in records if r.instance == instance), None)
        for record in records:  # matched by the form's date field
            if _same(stored_values(self.ctx, record, form.fields)[0].get(form.date_field), when):
                return record
        return None


def import_trial(target: str | Path | Engine, source: str | Path | Iterable[str | Path], *,
                 username: str = "importer", reason: str | None = None,
                 encoding: str | None = None) -> ImportResult:
    """Import ``source`` (CSV files, directories of them, .xlsx workbooks; one or several) into ``target``.

    New rows go through capture; rows that change stored records become corrections with ``reason``
    (required when any row changes something); unchanged rows are left alone. All in one transaction:
    on any problem nothing is written and an ``InputError`` lists every problem with file, row, column,
    value and rule. Every record written names its file and the file's SHA-256 in its audit entry.
    CSV files are UTF-8 (with or without a byte-order mark) unless ``encoding`` names another.
    """
    files = read_files(source, encoding=encoding)
    return import_files(target, files, username=username, reason=reason)


def import_files(target: str | Path | Engine, files: list[SourceFile], *, username: str = "importer",
                 reason: str | None = None) -> ImportResult:
    """Import files already read (:func:`earlyphase.interop.sources.read_files`, or rows another format
    made, e.g. a REDCap export) into ``target``: the rules of :func:`import_trial`."""
    from earlyphase.capture import Trial

    from earlyphase.access.accounts import known_account
    from earlyphase.capture.checks import Checks
    from earlyphase.capture.reasons import reason_for_change
    from earlyphase.records.audit import write_event

    names = ", ".join(f.path.name for f in files)
    if reason is not None and (not isinstance(reason, str) or reason.strip()):
        # The person's reason must say something by itself (the file's name and SHA-256 are added to it).
        checks = Checks(f"import {names}")
        reason = reason_for_change(checks, reason)
        checks.raise_if_failed()
    else:
        reason = None
    trial = Trial.open(target, username)
    try:
        with trial.batch() as batch:
            known_account(batch.session, username)  # the importer is a known user, before any row is read
            importer = _Importer(batch, files, reason)
            importer.run()
            if importer.problems:
                n = len(importer.problems)
                more = f" (first {MAX_PROBLEMS} shown)" if n >= MAX_PROBLEMS else ""
                raise InputError(importer.problems,
                                 summary=f"import of {names} failed: {n} problem{'s' if n != 1 else ''}"
                                         f"{more}; nothing was written")
            # The import as a whole, in the same transaction: its files, their SHA-256, the reason and counts.
            write_event(batch.context.session, "import", username, {
                "files": {f.path.name: f.sha256 for f in files}, "reason": reason,
                "written": dict(importer.written), "corrected": dict(importer.corrected),
            })
    finally:
        if not isinstance(target, Engine):
            trial.close()
    return ImportResult(names, dict(importer.written), dict(importer.checked), dict(importer.corrected),
                        {f.path.name: f.sha256 for f in files})
