"""REDCap's own test projects (REDCapR, ../shared/data/redcap): every dictionary converts to a study-file draft
that loads; every data set imports through capture, or is refused naming record, field, value and rule."""

from __future__ import annotations

import csv

import pytest
import yaml

from earlyphase.errors import InputError
from redcap_files import PROJECTS, db_content, redcap_dir, write_patients

USER = "coordinator1"


@pytest.mark.parametrize("name", PROJECTS)
def test_every_dictionary_converts_to_a_draft_that_loads(name, tmp_path):
    from earlyphase.interop.redcap import import_redcap, read_dictionary
    from earlyphase.protocol.loader import load_study

    folder = redcap_dir() / name
    out = tmp_path / "draft.yaml"
    result = import_redcap(folder / "dictionary.csv", project=folder / "project.xml", out=out)
    study = load_study(out)
    fields = read_dictionary(folder / "dictionary.csv")
    kept = [f for f in fields[1:] if f.type != "descriptive"]
    assert sum(len(f.fields) for f in study.forms) == len(kept) == result.fields
    assert study.assumptions and all(a.startswith("TODO (REDCap import)") for a in study.assumptions)
    assert "TODO" in study.sponsor and study.groups[0].regimen.dose_source == "assumed"
    names = {f.name for form in study.forms for f in form.fields}
    for f in kept:  # every REDCap field is a field here (renamed only when it takes an enrolment value's name)
        assert f.name in names or f"rc_{f.name}" in names


def test_field_types_validations_and_ranges_map_as_documented(tmp_path):
    from earlyphase.interop.redcap import import_redcap
    from earlyphase.protocol.loader import load_study

    folder = redcap_dir() / "validation-types-1"
    import_redcap(folder / "dictionary.csv", out=tmp_path / "d.yaml")
    form = load_study(tmp_path / "d.yaml").forms[0]
    kinds = {f.name: f.type for f in form.fields}
    assert kinds["v_integer"] == "integer" and kinds["v_number_2dp"] == "decimal"
    assert kinds["v_date_dmy"] == kinds["v_date_ymd"] == "date"
    assert kinds["f_checkbox"] == "multiple_choice" and kinds["f_radio"] == kinds["f_dropdown"] == "choice"
    assert kinds["f_yes_no"] == "yesno" and kinds["f_true_false"] == "choice" and kinds["f_calculated"] == "decimal"
    assert kinds["v_email"] == kinds["v_datetime_ymd"] == kinds["f_file_upload"] == "text"
    assert "f_descriptive" not in kinds  # descriptive text holds no value
    slider = form.field("f_slider")
    assert slider.type == "integer" and slider.range.min == -1 and slider.range.max == 101
    assert [c.code for c in form.field("f_radio").codes] == ["0", "1", "2"]
    ct = redcap_dir() / "clinical-trial-1"
    import_redcap(ct / "dictionary.csv", out=tmp_path / "ct.yaml")
    demo = load_study(tmp_path / "ct.yaml").form("demographics")
    assert demo.field("dob").identifying and demo.field("name_last").identifying
    assert demo.field("weight").soft_range.max == 300 and str(demo.field("dob").soft_range.min) == "1900-01-01"
    assert demo.field("weight").range is None  # REDCap's min/max only warns


def test_longitudinal_events_become_visits_and_branching_becomes_show_if(tmp_path):
    from earlyphase.interop.redcap import import_redcap
    from earlyphase.protocol.loader import load_study

    folder = redcap_dir() / "longitudinal"
    import_redcap(folder / "dictionary.csv", project=folder / "project.xml", out=tmp_path / "d.yaml")
    study = load_study(tmp_path / "d.yaml")
    assert len(study.visits) == 12 and [g.label for g in study.groups] == ["Drug A", "Drug B"]
    visit = study.visit("visit_1_A1")
    assert visit.offset_days == 3 and visit.forms == ["visit_lab_data", "patient_morale_questionnaire",
                                                      "visit_blood_workup", "visit_observed_behavior"]
    demo = study.form("demographics")
    # [sex] = "0" and [given_birth] = "1": sex is renamed (an enrolment value's name), yes/no reads true
    assert demo.field("num_children").show_if == '[rc_sex] = "0" and [given_birth] = true'
    from earlyphase.protocol.expressions import parse_expression

    show = parse_expression(demo.field("num_children").show_if)
    assert show.evaluate({"rc_sex": "0", "given_birth": True}) is True
    assert show.evaluate({"rc_sex": "1", "given_birth": True}) is False
    assert demo.field("meds").type == "multiple_choice" and demo.field("bmi").type == "decimal"


DATA = ["checkboxes-1", "clinical-trial-1", "dag", "longitudinal", "repeating-instruments", "validation-types-1"]


def _instrument_rows(folder) -> int:
    """Rows x instruments holding a value (what the import must write), counted from the files directly."""
    from earlyphase.interop.redcap import read_dictionary

    fields = read_dictionary(folder / "dictionary.csv")
    form_of = {}
    for f in fields[1:]:
        for column in f.columns():
            form_of[column] = f.form
    total = 0
    with (folder / "data.csv").open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            forms = {form_of[c] for c, v in row.items() if c in form_of and v.strip() and
                     not ("___" in c and v.strip() == "0")}
            total += len(forms)
    return total


@pytest.mark.parametrize("name", DATA)
def test_every_data_set_imports_through_capture(name, tmp_path):
    from earlyphase.interop.redcap import import_redcap

    folder = redcap_dir() / name
    ids = write_patients(folder / "data.csv", tmp_path / "patients.csv")
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = import_redcap(folder / "dictionary.csv", folder / "data.csv", project=folder / "project.xml",
                           db=url, patients=tmp_path / "patients.csv", out=tmp_path / "d.yaml", username=USER)
    assert result.written["patients"] == len(ids) == result.records
    assert sum(v for k, v in result.written.items() if k != "patients") == _instrument_rows(folder) == result.rows
    content = db_content(url)
    assert len(content["form_records"]) == result.rows
    assert any(row for row in content["audit_log"])


def test_checkbox_and_repeating_values_are_stored_as_given(tmp_path):
    from sqlalchemy import select

    from earlyphase.interop.redcap import import_redcap
    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import FormRecord, FormValue, Patient

    folder = redcap_dir() / "checkboxes-1"
    write_patients(folder / "data.csv", tmp_path / "p.csv")
    url = f"sqlite:///{tmp_path / 'c.db'}"
    import_redcap(folder / "dictionary.csv", folder / "data.csv", db=url, patients=tmp_path / "p.csv", username=USER)
    engine = make_engine(url)
    with read_session(engine) as s:
        rows = s.execute(select(Patient.subject_id, FormValue.field, FormValue.value_text)
                         .join(FormRecord, FormRecord.id == FormValue.record_id)
                         .join(Patient, Patient.id == FormRecord.patient_id)
                         .where(FormValue.field.in_(["check_one", "check_two"]))
                         .order_by(Patient.subject_id, FormValue.field, FormValue.position)).all()
    engine.dispose()
    got = {}
    for subject, field, code in rows:
        got.setdefault((subject, field), []).append(code)
    assert got == {("1", "check_one"): ["1"], ("1", "check_two"): ["a", "c"], ("2", "check_two"): ["b", "d"],
                   ("3", "check_one"): ["1", "2", "3", "4"]}
    folder = redcap_dir() / "repeating-instruments"
    write_patients(folder / "data.csv", tmp_path / "r.csv")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    import_redcap(folder / "dictionary.csv", folder / "data.csv", db=url, patients=tmp_path / "r.csv", username=USER)
    engine = make_engine(url)
    with read_session(engine) as s:
        bp = s.execute(select(Patient.subject_id, FormRecord.instance, FormValue.value_int)
                       .join(FormRecord, FormRecord.id == FormValue.record_id)
                       .join(Patient, Patient.id == FormRecord.patient_id)
                       .where(FormValue.field == "bp_systolic").order_by(Patient.subject_id, FormRecord.instance)).all()
    engine.dispose()
    assert [tuple(r) for r in bp] == [("1", 1, 110), ("1", 2, 111), ("1", 3, 112), ("2", 1, 114)]


def test_problematic_values_are_refused_naming_record_field_value_and_rule(tmp_path):
    """potentially-problematic-values: text typed into fields before their date/integer validation was added;
    REDCap kept it, capture refuses it (every problem listed, no database left behind)."""
    from earlyphase.interop.redcap import import_redcap

    folder = redcap_dir() / "potentially-problematic-values"
    write_patients(folder / "data.csv", tmp_path / "p.csv")
    db = tmp_path / "new.db"
    with pytest.raises(InputError) as err:
        import_redcap(folder / "dictionary.csv", folder / "data.csv", db=f"sqlite:///{db}", patients=tmp_path / "p.csv",
                      out=tmp_path / "d.yaml", username=USER)
    problems = {(p.file, p.field, p.value, p.rule) for p in err.value.problems}
    assert ("data.csv[record 1]", "date_before_validation", "before validation 1", "type-date") in problems
    assert ("data.csv[record 2]", "integer_before_validation", "before validation 1", "type-int") in problems
    assert len(problems) == 4 and not db.exists() and not (tmp_path / "d.yaml").exists()


def test_problematic_dictionary_converts_and_its_empty_data_file_is_refused(tmp_path):
    """potentially-problematic-dictionary: a byte-order mark, curly quotes, a long dash and U+FFFD in labels
    convert as they are; its data file is empty (no header row) and is refused."""
    from earlyphase.interop.redcap import import_redcap
    from earlyphase.protocol.loader import load_study

    folder = redcap_dir() / "potentially-problematic-dictionary"
    import_redcap(folder / "dictionary.csv", out=tmp_path / "d.yaml")
    form = load_study(tmp_path / "d.yaml").forms[0]
    assert "\ufffd" in form.field("v1").label and "−" in form.field("long_dash").label
    with pytest.raises(InputError) as err:
        import_redcap(folder / "dictionary.csv", folder / "data.csv", out=tmp_path / "e.yaml")
    assert err.value.problems[0].rule == "header" and not (tmp_path / "e.yaml").exists()


def test_draft_is_accepted_by_study_show_with_its_todo_items(tmp_path, capsys):
    from earlyphase.cli import app
    from earlyphase.cli.common import run_app

    folder = redcap_dir() / "dag"
    out = tmp_path / "d.yaml"
    assert run_app(app, ["interop", "redcap", "import", "--dictionary", str(folder / "dictionary.csv"),
                         "--records", str(folder / "data.csv"), "--out", str(out), "--format", "json"]) == 0
    draft = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [s["code"] for s in draft["sites"]] == ["daga", "dagb"]  # data access groups are the sites
    capsys.readouterr()
    assert run_app(app, ["study", "show", "--study", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "assumed values" in shown and shown.count("TODO (REDCap import)") >= len(draft["assumptions"])


def test_import_and_refusal_on_sqlite_and_postgresql(db_url, tmp_path):
    """A fresh empty database (SQLite and PostgreSQL) is initialised from the draft and takes the records; a
    second import with one bad value changes nothing (every row and the audit log's head)."""
    from earlyphase.interop.redcap import import_redcap

    folder = redcap_dir() / "repeating-instruments"
    write_patients(folder / "data.csv", tmp_path / "p.csv")
    result = import_redcap(folder / "dictionary.csv", folder / "data.csv", project=folder / "project.xml", db=db_url,
                           patients=tmp_path / "p.csv", username=USER)
    assert result.written == {"patients": 2, "demographics": 2, "bp": 4}
    before = db_content(db_url)
    text = (folder / "data.csv").read_text(encoding="utf-8").replace("bp,3,,,,,,,,,2019-10-14,112",
                                                                     "bp,4,,,,,,,,,2019-10-14,high")
    (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_redcap(folder / "dictionary.csv", tmp_path / "bad.csv", project=folder / "project.xml", db=db_url,
                      username=USER)
    first = err.value.problems[0]
    assert (first.file, first.field, first.value, first.rule) == ("bad.csv[record 1]", "bp_systolic", "high", "type-int")
    assert db_content(db_url) == before
