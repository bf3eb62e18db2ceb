"""Import CSV files or an Excel workbook into a trial database, through capture, all-or-nothing.

Input: a CSV file named after its table (``patients.csv``, ``adverse_events.csv``, ...), a directory
of such files (an ``earlyphase export --identified`` directory imports as is), or an Excel workbook
with one sheet per table (sheet named after the table). The first row holds the column names of
the table (those of ``earlyphase.records.tables``); ``subject_id`` names the patient (``patient_id``
is accepted when ``patients`` is imported in the same run); a patient's site may be given by its
code (``site``) instead of ``site_id``. ``id`` columns are read only to link rows in the same import
(lesions to their assessment); a file typed by hand may instead tie each lesion to its scan with
``subject_id`` and ``assessment_date``. A withdrawn patient (``status`` withdrawn, with
``withdrawal_date`` and ``withdrawal_reason``) is withdrawn after all other rows are in.

Known limit: ids are given by the receiving database in file order, so a round trip reproduces the
same ids (and so byte-identical CSV files) only when the source had no deleted records.

Every row becomes the capture action a coordinator would use (enrol, allocate, record infusion ...),
so every edit check runs and every write is audited, and all rows of all files run in ONE
transaction: one bad row and nothing is written. The error names the file, the row (the line or
sheet row number, header = row 1), the column, the value and the rule broken, for every problem
found (up to ``MAX_PROBLEMS``).

Tables that the study and capture fill themselves are checked, not written: ``study`` and ``sites``
must match the database's study; ``users`` are registered as themselves; protocol deviations that
capture writes automatically beside an infusion (``source_table`` set) are re-created by importing the
infusion, so those rows are skipped.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from earlyphase.errors import InputError, Problem
from earlyphase.interop.formats import TABLES_BY_NAME, CellError, column_kind, parse_cell
from earlyphase.records import tables as t

MAX_PROBLEMS = 50
IMPORT_ORDER = [cls.__tablename__ for cls in t.DATA_TABLES]
# Columns a file may carry besides the table's own: the patient's subject id everywhere, the site's
# code for a patient, and (for files typed by hand) a lesion's assessment named by subject and date.
_EXTRA_COLUMNS = {name: {"subject_id"} for name in IMPORT_ORDER if name not in ("study", "sites", "users", "queries")}
_EXTRA_COLUMNS["patients"] = {"site"}
_EXTRA_COLUMNS["lesions"] = {"subject_id", "assessment_date"}
_TABLE_OF_ACTION = {
    "enrol_patient": "patients", "withdraw_patient": "patients", "allocate_patient": "allocations",
    "record_infusion": "infusions", "record_adverse_event": "adverse_events",
    "record_tumour_assessment": "tumour_assessments", "record_other_therapy": "other_therapies",
    "record_follow_up": "follow_ups", "record_death": "deaths", "record_protocol_deviation": "protocol_deviations",
}
# Capture's argument names that differ from the column names, per table (problems name the column).
_COLUMN_OF_ARGUMENT = {
    "patients": {"site": "site_id"},
    "allocations": {"group": "group_code"},
    "lesions": {"label": "lesion_label"},
}


@dataclass(frozen=True)
class SourceRow:
    """One row of input: where it came from and its cells (column name -> raw cell)."""

    file: str
    row: int
    cells: dict[str, Any]


@dataclass(frozen=True)
class ImportResult:
    """Rows written per table (rows checked but not written are counted under ``checked``)."""

    source: str
    written: dict[str, int]
    checked: dict[str, int]

    def summary(self) -> str:
        total = sum(self.written.values())
        lines = [f"Imported {total} rows from {self.source} in one transaction (every row through capture, audited)."]
        for name in IMPORT_ORDER:
            if name in self.written or name in self.checked:
                extra = f" ({self.checked[name]} checked against the database)" if self.checked.get(name) else ""
                lines.append(f"  {name:<22} {self.written.get(name, 0):>6} written{extra}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "written": dict(self.written), "checked": dict(self.checked)}


# -- reading ---------------------------------------------------------------------------------------
def read_sources(path: str | Path) -> dict[str, list[SourceRow]]:
    """Table name -> rows, from a CSV file, a directory of CSV files or an Excel workbook."""
    p = Path(path)
    if p.is_dir():
        _refuse_deidentified(p)
        files = sorted(f for f in p.iterdir() if f.suffix.lower() == ".csv")
        if not files:
            raise InputError.single("path", str(p), "has-csv-files", "the directory holds no .csv files to import")
        out: dict[str, list[SourceRow]] = {}
        for f in files:
            out[_table_name(f.stem, f.name)] = _read_csv(f)
        return out
    if not p.is_file():
        raise InputError.single("path", str(p), "exists", "no such file or directory")
    if p.suffix.lower() == ".csv":
        return {_table_name(p.stem, p.name): _read_csv(p)}
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_excel(p)
    raise InputError.single("path", p.name, "csv-or-xlsx",
                            "import reads a .csv file named after its table, a directory of them, or an .xlsx workbook")


def _refuse_deidentified(directory: Path) -> None:
    manifest = directory / "manifest.json"
    if manifest.is_file():
        try:
            mode = json.loads(manifest.read_text(encoding="utf-8")).get("mode")
        except (ValueError, AttributeError):
            return
        if mode == "de-identified":
            raise InputError.single(
                "manifest.json", mode, "identified-export",
                "this is a de-identified export (dates replaced by study days); it cannot be imported. "
                "Export with --identified to move a trial between databases")


def _table_name(stem: str, file: str) -> str:
    name = stem.strip().lower()
    if name not in TABLES_BY_NAME:
        raise InputError.single("file", file, "table-name",
                                f"{file} is not named after a table; use one of: {', '.join(IMPORT_ORDER)}", file=file)
    return name


def _read_csv(path: Path) -> list[SourceRow]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return []
        header = [h.strip() for h in header]
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise InputError.single("(row)", f"{len(cells)} cells", "row-length",
                                        f"the header has {len(header)} columns but this row has {len(cells)}",
                                        file=path.name, row=number)
            rows.append(SourceRow(path.name, number, dict(zip(header, cells))))
    return rows


def _read_excel(path: Path) -> dict[str, list[SourceRow]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    out: dict[str, list[SourceRow]] = {}
    try:
        for sheet in workbook.worksheets:
            where = f"{path.name}[{sheet.title}]"
            name = _table_name(sheet.title, where)
            rows_iter = sheet.iter_rows(values_only=True)
            header_cells = next(rows_iter, None)
            if header_cells is None:
                out[name] = []
                continue
            header = [str(h).strip() if h is not None else "" for h in header_cells]
            while header and header[-1] == "":
                header.pop()
            rows = []
            for number, cells in enumerate(rows_iter, start=2):
                cells = list(cells[: len(header)]) + [None] * max(0, len(header) - len(cells))
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue
                rows.append(SourceRow(where, number, dict(zip(header, cells))))
            out[name] = rows
    finally:
        workbook.close()
    return out


# -- writing -----------------------------------------------------------------------------------------
class _Importer:
    def __init__(self, batch, sources: dict[str, list[SourceRow]]):
        self.batch = batch
        self.sources = sources
        self.problems: list[Problem] = []
        self.written: dict[str, int] = defaultdict(int)
        self.checked: dict[str, int] = defaultdict(int)
        self.subject_of_patient_id: dict[int, str] = {}
        self.assessment_ids: dict[int, int] = {}
        self.withdrawals: list[tuple[SourceRow, dict[str, Any]]] = []

    # problems ------------------------------------------------------------------------------------
    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def typed(self, table: str, row: SourceRow) -> dict[str, Any] | None:
        """The row's cells parsed to the column types; None (after recording problems) if any fails."""
        cls = TABLES_BY_NAME[table]
        columns = cls.__table__.columns
        values: dict[str, Any] = {}
        ok = True
        for name, raw in row.cells.items():
            if name in columns:
                kind = column_kind(cls.__table__, name)
            elif name in _EXTRA_COLUMNS.get(table, ()):
                kind = "text"
            else:
                self.add(Problem(field=name, value=raw, rule="known-column",
                                 message=f"{table} has no column {name!r} (columns: {', '.join(columns.keys())})",
                                 file=row.file, row=row.row))
                ok = False
                continue
            try:
                values[name] = parse_cell(raw, kind)
            except CellError as exc:
                self.add(Problem(field=name, value=raw, rule=f"type-{kind}",
                                 message=f"{name} must be {exc}", file=row.file, row=row.row))
                ok = False
        return values if ok else None

    def capture(self, row: SourceRow, fn, /, *args, lesion_rows: list[SourceRow] | None = None, **kwargs):
        """Run one capture action; its problems are re-labelled with the file, row and column."""
        table = _TABLE_OF_ACTION.get(getattr(fn, "__name__", ""), "")
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            for p in exc.problems:
                where, field, in_table = row, p.field, table
                if lesion_rows is not None and field.startswith("lesions[") and "]." in field:
                    index = int(field[len("lesions["): field.index("]")])
                    if index < len(lesion_rows):
                        where, field, in_table = lesion_rows[index], field[field.index("].") + 2:], "lesions"
                column = _COLUMN_OF_ARGUMENT.get(in_table, {}).get(field)
                if column is not None and field not in where.cells and column in where.cells:
                    field = column
                self.add(Problem(field=field, value=p.value, rule=p.rule, message=p.message, file=where.file,
                                 row=where.row))
            return None

    def subject(self, table: str, row: SourceRow, values: dict[str, Any]) -> str | None:
        subject = values.get("subject_id")
        if subject:
            return subject
        pid = values.get("patient_id")
        if pid is not None and pid in self.subject_of_patient_id:
            return self.subject_of_patient_id[pid]
        self.add(Problem(field="subject_id", value=pid, rule="patient-reference",
                         message=f"each {table} row needs subject_id (or a patient_id of a row in patients)",
                         file=row.file, row=row.row))
        return None

    # tables ------------------------------------------------------------------------------------
    def run(self) -> None:
        for table in IMPORT_ORDER:
            if table == "lesions" or table not in self.sources:
                continue
            if table == "tumour_assessments":
                self.assessments()
                continue
            handler = getattr(self, f"table_{table}")
            for row in self.sources[table]:
                if self.full():
                    return
                values = self.typed(table, row)
                if values is None:
                    continue
                handler(row, values)
        if "lesions" in self.sources and "tumour_assessments" not in self.sources:
            for row in self.sources["lesions"][:1]:
                self.add(Problem(field="assessment_id", value=row.cells.get("assessment_id"), rule="assessment-in-import",
                                 message="lesions are imported with their tumour assessments (tumour_assessments in "
                                         "the same import)", file=row.file, row=row.row))
        for row, values in self.withdrawals:
            if self.capture(row, self.batch.withdraw_patient, values["subject_id"], values.get("withdrawal_date"),
                            values.get("withdrawal_reason")) is not None:
                self.written["patients (withdrawals)"] += 1

    def table_study(self, row: SourceRow, values: dict[str, Any]) -> None:
        stored = self.batch.session.execute(select(t.StudyRecord)).scalars().first()
        for name in ("study_id", "protocol_sha256"):
            if name in values and values[name] != getattr(stored, name):
                self.add(Problem(field=name, value=values[name], rule="same-study",
                                 message=f"the database holds study {stored.study_id} ({name} "
                                         f"{getattr(stored, name)!s:.16}); initialise a database with this study first",
                                 file=row.file, row=row.row))
                return
        if values.get("synthetic") and not stored.synthetic:
            from earlyphase.twin.load import mark_synthetic

            mark_synthetic(self.batch.context)
        self.checked["study"] += 1

    def table_sites(self, row: SourceRow, values: dict[str, Any]) -> None:
        code = values.get("code")
        site = self.batch.session.execute(select(t.SiteRecord).where(t.SiteRecord.code == code)).scalars().first()
        if site is None:
            self.add(Problem(field="code", value=code, rule="site-in-study",
                             message="sites come from the study file; this site is not in the database's study",
                             file=row.file, row=row.row))
            return
        self.checked["sites"] += 1

    def table_users(self, row: SourceRow, values: dict[str, Any]) -> None:
        from earlyphase.capture.context import CaptureContext, ensure_user

        username = values.get("username")
        if not username:
            self.add(Problem(field="username", value=username, rule="required", message="a user needs a username",
                             file=row.file, row=row.row))
            return
        found = self.batch.session.execute(select(t.UserRecord).where(t.UserRecord.username == username)).scalars().first()
        if found is None:
            ctx = self.batch.context
            ensure_user(CaptureContext(session=ctx.session, study=ctx.study, username=username, today=ctx.today,
                                       ctcae=ctx.ctcae))
            self.written["users"] += 1
        else:
            self.checked["users"] += 1

    def table_patients(self, row: SourceRow, values: dict[str, Any]) -> None:
        site_code = values.get("site")
        if site_code is None and values.get("site_id") is not None:  # an export names the site by id
            site = self.batch.session.get(t.SiteRecord, values["site_id"])
            site_code = site.code if site is not None else f"(site id {values['site_id']})"
        result = self.capture(
            row, self.batch.enrol_patient, values.get("subject_id"), site_code, values.get("sex"),
            values.get("birth_year"), values.get("ecog"), values.get("child_pugh"), values.get("consent_date"),
            values.get("transplant_date"), values.get("recurrence_date"), enrolment_date=values.get("enrolment_date"),
            child_pugh_score=values.get("child_pugh_score"), afp_ng_ml=values.get("afp_ng_ml"),
            weight_kg=values.get("weight_kg"), initials=values.get("initials"),
            hospital_number=values.get("hospital_number"),
        )
        if result is None:
            return
        self.written["patients"] += 1
        if values.get("id") is not None:
            self.subject_of_patient_id[values["id"]] = values["subject_id"]
        if values.get("status") == "withdrawn" or values.get("withdrawal_date") is not None:
            self.withdrawals.append((row, values))

    def table_allocations(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("allocations", row, values)
        if s and self.capture(row, self.batch.allocate_patient, s, values.get("group_code"),
                              values.get("allocation_date")) is not None:
            self.written["allocations"] += 1

    def table_infusions(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("infusions", row, values)
        if s and self.capture(row, self.batch.record_infusion, s, values.get("number"), values.get("actual_date"),
                              values.get("dose_cells"), planned_date=values.get("planned_date"),
                              dose_cells_per_kg=values.get("dose_cells_per_kg"), lot=values.get("lot"),
                              deviation=values.get("deviation")) is not None:
            self.written["infusions"] += 1

    def table_adverse_events(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("adverse_events", row, values)
        if s and self.capture(row, self.batch.record_adverse_event, s, values.get("term"), values.get("grade"),
                              values.get("onset"), values.get("attribution"), values.get("outcome"),
                              resolution=values.get("resolution"), serious=bool(values.get("serious")),
                              action=values.get("action") or "none", dlt=bool(values.get("dlt")),
                              term_specify=values.get("term_specify")) is not None:
            self.written["adverse_events"] += 1

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
            if not s:
                continue
            key = values.get("id")
            if key is None or key not in lesions_by_assessment:
                key = (s, str(values.get("assessment_date") or ""))
            found = lesions_by_assessment.get(key, [])
            used.add(key)
            lesion_inputs = [{"label": v.get("lesion_label"), "kind": v.get("kind"),
                              "viable_diameter_mm": v.get("viable_diameter_mm"), "location": v.get("location"),
                              "status": v.get("status"), "node": v.get("node"),
                              "short_axis_mm": v.get("short_axis_mm")} for _, v in found]
            result = self.capture(row, self.batch.record_tumour_assessment, s, values.get("assessment_date"),
                                  values.get("modality"), lesion_inputs, baseline=bool(values.get("baseline")),
                                  investigator_response=values.get("investigator_response"),
                                  lesion_rows=[r for r, _ in found])
            if result is not None:
                self.written["tumour_assessments"] += 1
                self.written["lesions"] += len(found)
        for key, items in lesions_by_assessment.items():
            if key not in used:
                row, values = items[0]
                self.add(Problem(field="assessment_id", value=values.get("assessment_id"), rule="assessment-in-import",
                                 message="this lesion's tumour assessment is not in the import",
                                 file=row.file, row=row.row))

    def table_other_therapies(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("other_therapies", row, values)
        new = values.get("new_anticancer")
        if s and self.capture(row, self.batch.record_other_therapy, s, values.get("therapy"), values.get("start_date"),
                              end_date=values.get("end_date"), new_anticancer=True if new is None else new) is not None:
            self.written["other_therapies"] += 1

    def table_follow_ups(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("follow_ups", row, values)
        if s and self.capture(row, self.batch.record_follow_up, s, values.get("contact_date"),
                              values.get("status")) is not None:
            self.written["follow_ups"] += 1

    def table_deaths(self, row: SourceRow, values: dict[str, Any]) -> None:
        s = self.subject("deaths", row, values)
        if s and self.capture(row, self.batch.record_death, s, values.get("death_date"), values.get("cause")) is not None:
            self.written["deaths"] += 1

    def table_protocol_deviations(self, row: SourceRow, values: dict[str, Any]) -> None:
        if values.get("source_table"):
            # written by capture beside its source record (an infusion off schedule), re-created with it
            self.checked["protocol_deviations"] += 1
            return
        s = self.subject("protocol_deviations", row, values)
        if s and self.capture(row, self.batch.record_protocol_deviation, s, values.get("deviation_date"),
                              values.get("category"), values.get("description")) is not None:
            self.written["protocol_deviations"] += 1

    def table_queries(self, row: SourceRow, values: dict[str, Any]) -> None:
        self.add(Problem(field="(table)", value="queries", rule="not-importable",
                         message="data queries belong to the database they were raised in and are not imported; "
                                 "remove queries.csv", file=row.file, row=row.row))


def import_trial(target: str | Path | Engine, source: str | Path, *, username: str = "importer") -> ImportResult:
    """Import ``source`` (CSV file, directory of CSV files or .xlsx workbook) into the trial database ``target``.

    All rows go through capture in one transaction; on any problem nothing is written and an
    ``InputError`` lists every problem with file, row, column, value and rule.
    """
    from earlyphase.capture import Trial

    sources = read_sources(source)
    trial = Trial.open(target, username)
    try:
        with trial.batch() as batch:
            importer = _Importer(batch, sources)
            importer.run()
            if importer.problems:
                n = len(importer.problems)
                more = f" (first {MAX_PROBLEMS} shown)" if n >= MAX_PROBLEMS else ""
                raise InputError(importer.problems,
                                 summary=f"import of {Path(source).name} failed: {n} problem{'s' if n != 1 else ''}"
                                         f"{more}; nothing was written")
    finally:
        if not isinstance(target, Engine):
            trial.close()
    return ImportResult(str(source), dict(importer.written), dict(importer.checked))
