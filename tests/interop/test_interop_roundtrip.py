"""CSV/Excel export and import: de-identification, round trip, all-or-nothing, error messages."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from earlyphase.errors import InputError

USER = "coordinator1"


def _new_trial(url) -> None:
    from earlyphase.capture import initialise

    initialise(url, "nk-hcc-ltx", USER).close()


def _engine(url):
    from earlyphase.records import make_engine

    return make_engine(url)


def _dump(url) -> dict[str, list[tuple]]:
    """Every row of every table (data and audit log), in id order: the database's full content."""
    from sqlalchemy import select

    from earlyphase.records import read_session
    from earlyphase.records.tables import Base

    engine = _engine(url)
    try:
        with read_session(engine) as session:
            out = {}
            for table in Base.metadata.sorted_tables:
                rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
                out[table.name] = [tuple(r) for r in rows]
    finally:
        engine.dispose()
    return out


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def source_db(tmp_path_factory):
    """A SQLite trial holding the twin (loaded through capture)."""
    from earlyphase.twin import load_twin

    path = tmp_path_factory.mktemp("source") / "trial.db"
    url = f"sqlite:///{path}"
    _new_trial(url)
    load_twin(url, username=USER)
    return url


@pytest.fixture(scope="module")
def identified_dir(source_db, tmp_path_factory):
    from earlyphase.interop import export_trial

    out = tmp_path_factory.mktemp("export") / "identified"
    engine = _engine(source_db)
    try:
        export_trial(engine, out, identified=True)
    finally:
        engine.dispose()
    return out


def _csv_files(directory: Path) -> dict[str, bytes]:
    # protocol_versions.csv records when each database took each version: it differs by design
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.csv")) if p.name != "protocol_versions.csv"}


def test_identified_export_imports_back_to_the_same_content(identified_dir, db_url, tmp_path):
    """export --identified -> init a new database -> import -> export again: identical CSV files."""
    from earlyphase.interop import export_trial, import_trial

    _new_trial(db_url)
    result = import_trial(db_url, identified_dir, username=USER)
    assert result.written["patients"] == 18 and result.written["lesions"] > 0
    engine = _engine(db_url)
    try:
        export_trial(engine, tmp_path / "again", identified=True)
    finally:
        engine.dispose()
    first, second = _csv_files(identified_dir), _csv_files(tmp_path / "again")
    assert set(first) == set(second) and len(first) == 18  # 17 tables (protocol_versions aside; dose_decisions since issue 12) and 1 study form
    assert "baseline_disease.csv" in first and "administrations.csv" in first
    for name in first:
        assert first[name] == second[name], name


def test_deidentified_export_drops_identifying_columns_and_uses_study_days(source_db, tmp_path):
    from earlyphase.interop import export_trial, study_day
    from earlyphase.interop.formats import EXPORT_TABLES as DATA_TABLES

    engine = _engine(source_db)
    try:
        result = export_trial(engine, tmp_path / "deid")
    finally:
        engine.dispose()
    manifest = json.loads((tmp_path / "deid" / "manifest.json").read_text())
    assert manifest["mode"] == "de-identified" and manifest["synthetic"] is True
    assert "audit_log" in manifest["not_exported"]
    identified_rows = {p.name: _csv_rows(p) for p in (tmp_path / "deid").glob("*.csv")}
    for cls in DATA_TABLES:
        header = list(identified_rows[f"{cls.__tablename__}.csv"][0]) if identified_rows[f"{cls.__tablename__}.csv"] \
            else manifest["tables"][cls.__tablename__]["columns"]
        for col in cls.__table__.columns:
            if col.info.get("identifying"):
                assert col.name not in header, (cls.__tablename__, col.name)
                entry = manifest["tables"][cls.__tablename__]
                assert col.name in entry["removed_columns"] or col.name in entry["replaced_columns"]
    # no calendar date of a patient survives anywhere in the de-identified files (study.csv holds the
    # protocol text, whose dates are the study's, not a patient's)
    text = "".join(p.read_text() for p in (tmp_path / "deid").glob("*.csv") if p.name != "study.csv")
    import re

    assert not re.search(r"\b(19|20)\d\d-\d\d-\d\d\b", text)
    assert "SYN-H" not in text  # hospital numbers gone
    # the rule: study day 1 = first dose, the day before = -1
    patients = identified_rows["patients.csv"]
    doses = identified_rows["administrations.csv"]
    assert {r["actual_date_study_day"] for r in doses if r["number"] == "1"} == {"1"}
    # the study's identifying date fields become study days too; the rest of its form stays
    disease = identified_rows["baseline_disease.csv"]
    assert {"transplant_date_study_day", "recurrence_date_study_day", "child_pugh_class", "afp"} <= set(disease[0])
    assert "transplant_date" not in disease[0] and all(int(r["transplant_date_study_day"]) < 0 for r in disease)
    assert manifest["tables"]["baseline_disease"]["replaced_columns"]["visit_date"] == ["visit_date_study_day"]
    assert all(int(r["consent_date_study_day"]) < 0 for r in patients)
    from datetime import date

    assert study_day(date(2015, 1, 1), date(2015, 1, 1)) == 1
    assert study_day(date(2014, 12, 31), date(2015, 1, 1)) == -1
    assert study_day(date(2015, 1, 15), date(2015, 1, 1)) == 15
    fever = next(r for r in identified_rows["adverse_events.csv"] if r["term"] == "Fever")
    assert fever["onset_time"] and int(fever["onset_study_day"]) >= 1
    assert result.identified is False


def _corrupt_last_row(directory: Path, file: str, column: str, value: str) -> int:
    """Set ``column`` of the last row of ``file`` to ``value``; return that row's line number."""
    rows = _csv_rows(directory / file)
    rows[-1][column] = value
    _write_csv(directory / file, rows)
    return len(rows) + 1  # header is line 1


def test_a_bad_last_row_leaves_the_database_unchanged(identified_dir, tmp_path, db_url):
    from earlyphase.interop import import_trial

    bad = tmp_path / "bad"
    shutil.copytree(identified_dir, bad)
    line = _corrupt_last_row(bad, "deaths.csv", "death_date", "2030-01-01")  # in the future
    url = db_url
    _new_trial(url)
    before = _dump(url)
    db_bytes_tables = sorted(before)
    with pytest.raises(InputError) as caught:
        import_trial(url, bad, username=USER)
    after = _dump(url)
    assert sorted(after) == db_bytes_tables
    assert after == before  # every table, the audit log included
    problems = caught.value.problems
    assert any(p.file == "deaths.csv" and p.row == line and p.field == "death_date" and p.value == "2030-01-01"
               and p.rule == "not-in-future" for p in problems), [str(p) for p in problems]
    assert "nothing was written" in str(caught.value)


def test_errors_name_file_row_column_value_and_rule(identified_dir, tmp_path):
    from earlyphase.interop import import_trial

    bad = tmp_path / "bad"
    shutil.copytree(identified_dir, bad)
    rows = _csv_rows(bad / "adverse_events.csv")
    rows[2]["grade"] = "two"  # not a number: line 4
    rows[5]["grade"] = "4"  # Fever grade 4 exists but a grade-4 event is fine; use a term/grade that does not exist
    rows[5]["term"] = "Alopecia"
    rows[5]["grade"] = "3"  # CTCAE v5.0 alopecia has grades 1-2 only: line 7
    _write_csv(bad / "adverse_events.csv", rows)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    with pytest.raises(InputError) as caught:
        import_trial(url, bad, username=USER)
    problems = caught.value.problems
    typed = next(p for p in problems if p.row == 4)
    assert (typed.file, typed.field, typed.value, typed.rule) == ("adverse_events.csv", "grade", "two", "type-int")
    grade = [p for p in problems if p.row == 7]
    assert grade and all(p.file == "adverse_events.csv" for p in grade)
    assert any(p.field == "grade" and str(p.value) == "3" for p in grade), [str(p) for p in grade]
    message = str(caught.value)
    assert "adverse_events.csv, row 4, grade = 'two'" in message and "[type-int]" in message


def test_lesion_problems_point_at_the_lesion_row(identified_dir, tmp_path):
    from earlyphase.interop import import_trial

    bad = tmp_path / "bad"
    shutil.copytree(identified_dir, bad)
    rows = _csv_rows(bad / "lesions.csv")
    target = next(i for i, r in enumerate(rows) if r["kind"] == "target")
    rows[target]["viable_diameter_mm"] = "-5"
    _write_csv(bad / "lesions.csv", rows)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    with pytest.raises(InputError) as caught:
        import_trial(url, bad, username=USER)
    (problem,) = [p for p in caught.value.problems if p.field == "viable_diameter_mm"]
    assert problem.file == "lesions.csv" and problem.row == target + 2 and problem.value in (-5, -5.0, "-5")


def test_unknown_column_and_misnamed_file_are_refused(identified_dir, tmp_path):
    from earlyphase.interop import import_trial

    one = tmp_path / "patients.csv"
    rows = _csv_rows(identified_dir / "patients.csv")
    for r in rows:
        r["favourite_colour"] = "blue"
    _write_csv(one, rows)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    with pytest.raises(InputError) as caught:
        import_trial(url, one, username=USER)
    p = caught.value.problems[0]
    assert (p.file, p.row, p.field, p.value, p.rule) == ("patients.csv", 2, "favourite_colour", "blue", "known-column")
    other = tmp_path / "people.csv"
    shutil.copy(identified_dir / "patients.csv", other)
    with pytest.raises(InputError, match="not a table or a form of this study"):
        import_trial(url, other, username=USER)


def test_a_single_table_csv_imports(identified_dir, tmp_path):
    from earlyphase.interop import import_trial

    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    # the patients with their eligibility answers: two files, one transaction
    result = import_trial(url, [identified_dir / "patients.csv", identified_dir / "eligibility_answers.csv"],
                          username=USER)
    assert result.written == {"patients": 18} and result.checked == {"eligibility_answers": 54}
    assert set(result.files) == {"patients.csv", "eligibility_answers.csv"}
    content = _dump(url)
    assert len(content["patients"]) == 18 and len(content["eligibility_answers"]) == 54


def test_deidentified_export_cannot_be_imported(source_db, tmp_path):
    from earlyphase.interop import export_trial, import_trial

    engine = _engine(source_db)
    try:
        export_trial(engine, tmp_path / "deid")
    finally:
        engine.dispose()
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    with pytest.raises(InputError, match="--identified"):
        import_trial(url, tmp_path / "deid", username=USER)


def test_excel_workbook_one_sheet_per_table_imports_to_the_same_content(identified_dir, tmp_path):
    from openpyxl import Workbook

    from earlyphase.interop import export_trial, import_trial

    workbook = Workbook()
    workbook.remove(workbook.active)
    for path in sorted(identified_dir.glob("*.csv")):
        sheet = workbook.create_sheet(path.stem)
        with path.open(newline="", encoding="utf-8") as handle:
            for i, row in enumerate(csv.reader(handle)):
                # a spreadsheet holds numbers as numbers: write what looks numeric as a number
                sheet.append([_excel_value(v) if i else v for v in row])
    xlsx = tmp_path / "trial.xlsx"
    workbook.save(xlsx)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    import_trial(url, xlsx, username=USER)
    engine = _engine(url)
    try:
        export_trial(engine, tmp_path / "again", identified=True)
    finally:
        engine.dispose()
    assert _csv_files(identified_dir) == _csv_files(tmp_path / "again")


def _excel_value(text: str):
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def test_excel_errors_name_the_sheet_and_row_and_write_nothing(identified_dir, tmp_path):
    from openpyxl import Workbook

    from earlyphase.interop import import_trial

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name in ("patients", "eligibility_answers", "allocations"):
        sheet = workbook.create_sheet(name)
        with (identified_dir / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            for i, row in enumerate(csv.reader(handle)):
                sheet.append([_excel_value(v) if i else v for v in row])
    sheet = workbook["allocations"]
    group_column = [c.value for c in sheet[1]].index("group_code") + 1
    sheet.cell(row=sheet.max_row, column=group_column, value="Z")  # no such group, in the LAST row
    xlsx = tmp_path / "trial.xlsx"
    workbook.save(xlsx)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    before = _dump(url)
    with pytest.raises(InputError) as caught:
        import_trial(url, xlsx, username=USER)
    assert _dump(url) == before
    (problem,) = caught.value.problems
    assert problem.file == "trial.xlsx[allocations]" and problem.row == 19 and problem.value == "Z"
    assert problem.field in ("group", "group_code")


def _write(path: Path, text: str) -> None:
    path.write_text(text.strip() + "\n", encoding="utf-8")


def test_files_typed_by_hand_import_with_site_codes_and_lesions_by_date(tmp_path):
    """A coordinator's files: no ids, the site by code, lesions tied to their scan by subject and date."""
    from earlyphase.interop import import_trial

    d = tmp_path / "crf"
    d.mkdir()
    _write(d / "patients.csv", """
subject_id,site,sex,birth_year,ecog,consent_date,enrolment_date,status,withdrawal_date,withdrawal_reason
P-01,SYSU,M,1960,0,2016-01-05,2016-01-06,enrolled,,
P-02,SYSU,F,1958,1,2016-02-01,2016-02-02,withdrawn,2016-03-01,patient decision
""")
    _write(d / "eligibility_answers.csv", """
subject_id,criterion,answer
P-01,I1,yes
P-01,I2,yes
P-01,E1,no
P-02,I1,yes
P-02,I2,yes
P-02,E1,no
""")
    _write(d / "baseline_disease.csv", """
subject_id,transplant_date,recurrence_date,child_pugh_class,child_pugh_score,afp,weight
P-01,2012-03-01,2015-12-01,A,5,12.5,70
P-02,2011-05-01,2016-01-10,A,,,
""")
    _write(d / "allocations.csv", "subject_id,group_code,allocation_date\nP-01,A,2016-01-06\nP-02,B,2016-02-02")
    _write(d / "administrations.csv", "subject_id,number,actual_date,dose\nP-01,1,2016-01-10,2.5e9")
    _write(d / "tumour_assessments.csv", """
subject_id,assessment_date,modality,baseline,investigator_response
P-01,2016-01-07,CT,true,
P-01,2016-03-05,CT,false,SD
""")
    _write(d / "lesions.csv", """
subject_id,assessment_date,lesion_label,kind,location,viable_diameter_mm,status
P-01,2016-01-07,T1,target,lung,30,
P-01,2016-03-05,T1,target,lung,33,
""")
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    result = import_trial(url, d, username=USER)
    assert result.written == {"patients": 2, "allocations": 2, "administrations": 1, "tumour_assessments": 2,
                              "lesions": 2, "baseline_disease": 2, "patients (withdrawals)": 1}
    content = _dump(url)
    assert len(content["lesions"]) == 2
    statuses = {r[1]: r for r in content["patients"]}
    assert "withdrawn" in statuses["P-02"]

    # the same files with a wrong group: the problem names the CSV column, not capture's argument name
    _write(d / "allocations.csv", "subject_id,group_code,allocation_date\nP-01,A,2016-01-06\nP-02,Q,2016-02-02")
    url2 = f"sqlite:///{tmp_path / 'target2.db'}"
    _new_trial(url2)
    with pytest.raises(InputError) as caught:
        import_trial(url2, d, username=USER)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.field, problem.value) == ("allocations.csv", 3, "group_code", "Q")


def test_weekly_reimport_applies_only_new_and_changed_rows_as_audited_corrections(tmp_path):
    """A site's spreadsheet imported again: unchanged rows left alone, changed ones corrected with the reason
    (and only with one), new ones entered; every record written names the file and its SHA-256."""
    import hashlib
    import json as json_module

    from sqlalchemy import select

    from earlyphase.interop import import_trial
    from earlyphase.records import read_session
    from earlyphase.records.tables import AuditEntry

    d = tmp_path / "site"
    d.mkdir()
    _write(d / "patients.csv", "subject_id,site,sex,birth_year,ecog,consent_date\nP-01,SYSU,M,1960,0,2016-01-05")
    _write(d / "eligibility_answers.csv", "subject_id,criterion,answer\nP-01,I1,yes\nP-01,I2,yes\nP-01,E1,no")
    _write(d / "baseline_disease.csv", "subject_id,transplant_date,recurrence_date,child_pugh_class,child_pugh_score\n"
                                       "P-01,2012-03-01,2015-12-01,A,5")
    _write(d / "allocations.csv", "subject_id,group_code,allocation_date\nP-01,B,2016-01-06")
    _write(d / "administrations.csv", "subject_id,number,actual_date,dose,lot\nP-01,1,2016-01-10,5e9,L1")
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    first = import_trial(url, d, username=USER)
    assert first.written == {"patients": 1, "baseline_disease": 1, "allocations": 1, "administrations": 1}
    sha = hashlib.sha256((d / "administrations.csv").read_bytes()).hexdigest()
    with read_session(_engine(url)) as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.table_name == "administrations")).scalar_one()
    assert entry.reason == f"import of administrations.csv (sha256 {sha})"

    # week 2, the same spreadsheet: nothing to do
    again = import_trial(url, d, username=USER)
    assert again.written == {} and again.corrected == {}
    assert again.checked["patients"] == 1 and again.checked["administrations"] == 1
    before = _dump(url)

    # week 3: a new dose, a corrected lot and ECOG, a corrected disease score; no reason given -> refused, nothing written
    _write(d / "administrations.csv", "subject_id,number,actual_date,dose,lot\n"
                                      "P-01,1,2016-01-10,5e9,L1-A\nP-01,2,2016-01-24,5e9,L2")
    _write(d / "patients.csv", "subject_id,site,sex,birth_year,ecog,consent_date\nP-01,SYSU,M,1960,1,2016-01-05")
    _write(d / "baseline_disease.csv", "subject_id,transplant_date,recurrence_date,child_pugh_class,child_pugh_score\n"
                                       "P-01,2012-03-01,2015-12-01,A,6")
    with pytest.raises(InputError) as caught:
        import_trial(url, d, username=USER)
    assert {p.rule for p in caught.value.problems} == {"reason-for-change"}
    assert {p.file for p in caught.value.problems} == {"administrations.csv", "patients.csv", "baseline_disease.csv"}
    assert _dump(url) == before

    week3 = import_trial(url, d, username=USER, reason="source document updated: site spreadsheet week 3, source documents checked")
    assert week3.written == {"administrations": 1}
    assert week3.corrected == {"patients": 1, "form_records": 1, "administrations": 1}
    sha = hashlib.sha256((d / "administrations.csv").read_bytes()).hexdigest()
    with read_session(_engine(url)) as s:
        updates = list(s.execute(select(AuditEntry).where(AuditEntry.action == "update")).scalars())
        inserted = s.execute(select(AuditEntry).where(AuditEntry.table_name == "administrations",
                                                      AuditEntry.action == "insert").order_by(AuditEntry.id)).scalars()
        second_dose = list(inserted)[-1]
    fixed_lot = next(u for u in updates if u.table_name == "administrations")
    assert json_module.loads(fixed_lot.old_values)["lot"] == "L1" and json_module.loads(fixed_lot.new_values)["lot"] == "L1-A"
    assert fixed_lot.reason == (f"source document updated: site spreadsheet week 3, source documents checked "
                                f"(import of administrations.csv, sha256 {sha})")
    assert second_dose.reason == f"import of administrations.csv (sha256 {sha})"
    assert {u.table_name for u in updates} == {"patients", "form_values", "administrations"}
    # a row whose change breaks a check is refused like any correction
    _write(d / "administrations.csv", "subject_id,number,actual_date,dose,lot\n"
                                      "P-01,1,2016-01-10,5e9,L1-A\nP-01,2,2016-01-24,7e9,L2")
    with pytest.raises(InputError) as caught:
        import_trial(url, d, username=USER, reason="source document updated: week 4 spreadsheet")
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.field, problem.rule) == ("administrations.csv", 3, "dose",
                                                                        "dose-within-schedule")


def test_a_row_twice_in_one_import_is_refused(tmp_path):
    from earlyphase.interop import import_trial

    d = tmp_path / "site"
    d.mkdir()
    _write(d / "patients.csv", "subject_id,site,sex,birth_year,ecog,consent_date\n"
                               "P-01,SYSU,M,1960,0,2016-01-05\nP-01,SYSU,M,1960,1,2016-01-05")
    _write(d / "eligibility_answers.csv", "subject_id,criterion,answer\nP-01,I1,yes\nP-01,I2,yes\nP-01,E1,no")
    url = f"sqlite:///{tmp_path / 'target.db'}"
    _new_trial(url)
    with pytest.raises(InputError) as caught:
        import_trial(url, d, username=USER)
    (problem,) = caught.value.problems
    assert (problem.row, problem.rule) == (3, "duplicate-row") and "row 2" in problem.message
