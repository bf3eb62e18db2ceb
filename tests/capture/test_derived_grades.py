"""Forms a study takes from the bundled definitions (``standard: astct_crs``), whose grade capture derives from
the recorded signs (ASTCT consensus, Lee 2019): the grade is stored typed beside the signs, never taken typed
in; bad signs get a problem naming form, field, value and rule, and nothing is written; a correction of a
sign re-derives the grade. The study: the bundled cart-boin (CAR-T cells/kg, BOIN)."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from capture_helpers import counts, open_level, rules
from earlyphase.capture import initialise
from earlyphase.errors import CheckFailed, StudyFileError
from earlyphase.protocol import load_study, parse_study
from earlyphase.records import read_session
from earlyphase.records.tables import FormValue

ELIGIBLE = {"I1": True, "I2": True, "I3": True, "I4": True, "I5": True, "E1": False, "E2": False, "E3": False}
GRADE_2 = dict(assessment_date="2024-03-12", temperature_c=39.1, fever_masked="no", hypotension="yes",
               vasopressors=0, oxygen="low_flow_nasal_cannula", oxygen_flow_l_min=2)


@pytest.fixture
def cart(engine):
    from datetime import date

    trial = initialise(engine, "cart-boin", "tester", today=date(2024, 6, 1))
    trial.enrol_patient("C01", "MAN", "F", 1970, 1, "2024-02-01", eligibility=ELIGIBLE)
    open_level(trial, "D2", "2024-02-02")  # BOIN study: level 2 opens by a sealed decision
    trial.allocate_patient("C01", "D2", "2024-02-02")
    trial.record_administration("C01", 1, "2024-03-10", 3.0e5, weight_kg=70)
    return trial


def _grade(engine, record_id: int, field: str) -> int | None:
    with read_session(engine) as s:
        row = s.execute(select(FormValue).where(FormValue.record_id == record_id, FormValue.field == field)).scalar_one_or_none()
    return None if row is None else row.value_int


def test_the_grade_is_derived_from_the_signs_and_stored(cart):
    record = cart.record_form("C01", "crs", GRADE_2)
    assert _grade(cart.engine, record.id, "crs_grade") == 2  # hypotension without vasopressors; low-flow oxygen
    worse = cart.record_form("C01", "crs", {**GRADE_2, "assessment_date": "2024-03-13", "vasopressors": 1,
                                           "oxygen": "bipap", "oxygen_flow_l_min": None})
    assert _grade(cart.engine, worse.id, "crs_grade") == 4  # positive pressure
    calm = cart.record_form("C01", "icans", dict(assessment_date="2024-03-14", ice_score=8,
                                                 consciousness="awakens_spontaneously", seizure="none",
                                                 motor_weakness="no"))
    assert _grade(cart.engine, calm.id, "icans_grade") == 1
    # the grade given equal to the derived one is accepted (a re-import of an export carries it)
    again = cart.record_form("C01", "crs", {**GRADE_2, "assessment_date": "2024-03-15", "crs_grade": 2})
    assert _grade(cart.engine, again.id, "crs_grade") == 2


@pytest.mark.parametrize("change, field, value, rule", [
    ({"crs_grade": 1}, "crs.crs_grade", 1, "derived"),
    ({"temperature_c": None}, "crs.temperature_c", None, "temperature-required"),
    ({"temperature_c": 50}, "crs.temperature_c", 50, "range"),
    ({"hypotension": "no"}, "crs.vasopressors", 0, "hidden-field"),
    ({"oxygen": "nasal_cannula", "oxygen_flow_l_min": None}, "crs.oxygen_flow_l_min", None, "flow-for-nasal-cannula"),
    ({"oxygen": "tent"}, "crs.oxygen", "tent", "code"),
    ({"fever_masked": None}, "crs.fever_masked", None, "required"),
])
def test_bad_signs_are_named_and_nothing_is_written(cart, change, field, value, rule):
    before = counts(cart.engine)
    with pytest.raises(CheckFailed) as info:
        cart.record_form("C01", "crs", {**GRADE_2, **change})
    found = [(p.field, p.value, p.rule) for p in info.value.problems]
    assert (field, value, rule) in found, found
    assert "crs" in str(info.value)
    assert counts(cart.engine) == before


def test_a_correction_of_a_sign_re_derives_the_grade(cart):
    record = cart.record_form("C01", "crs", GRADE_2)
    cart.correct_record("form_records", record.id, {"vasopressors": 2}, reason="late entry: second vasopressor charted late")
    assert _grade(cart.engine, record.id, "crs_grade") == 4
    with pytest.raises(CheckFailed) as info:
        cart.correct_record("form_records", record.id, {"crs_grade": 1}, reason="data-entry error: grade typed by hand")
    assert "derived" in rules(info.value)
    assert _grade(cart.engine, record.id, "crs_grade") == 4


def test_standard_forms_in_a_study_file():
    study = load_study("cart-boin")
    crs = study.form("crs")
    assert crs.standard == "astct_crs" and crs.repeating and crs.date_field == "assessment_date"
    assert crs.field("vasopressors").show_if == "hypotension = 'yes'"
    assert study.form("icans").field("raised_icp").type == "multiple_choice"
    data = yaml.safe_load(study.model_dump_json())
    # a study may add its own fields after the bundled ones
    data["forms"] = [{"standard": "astct_crs", "fields": [{"name": "tocilizumab", "label": "Tocilizumab given",
                                                           "type": "yesno"}]}]
    data["visits"] = [v for v in data["visits"] if "crs" not in v["forms"]]
    for key in ("core_forms",):
        data.pop(key)
    data["visits"] = [v for v in data["visits"] if set(v["forms"]) <= {"enrolment", "eligibility", "administration",
                                                                       "tumour_assessment"}]
    extended = parse_study(yaml.safe_dump(data))
    assert extended.form("astct_crs").field_names[-1] == "tocilizumab"
    assert extended.form("astct_crs").field("crs_grade").derived_from == "astct_crs"


@pytest.mark.parametrize("form, words", [
    ({"standard": "astct_ards"}, "unknown standard form 'astct_ards'"),
    ({"name": "sym", "label": "Symptoms", "fields": [
        {"name": "grade", "label": "Grade", "type": "integer", "derived_from": "astct_crs"}]}, "reads fields the form lacks"),
    ({"name": "sym", "label": "Symptoms", "fields": [
        {"name": "grade", "label": "Grade", "type": "text", "derived_from": "astct_crs"}]}, "is an integer field"),
    ({"name": "sym", "label": "Symptoms", "fields": [
        {"name": "grade", "label": "Grade", "type": "integer", "derived_from": "guesswork"}]}, "not a known grading"),
])
def test_bad_standard_forms_are_refused_with_the_reason(form, words):
    base = dict(study_id="s", title="S", sponsor="S", dlt_window_days=28, sites=[{"code": "S1", "name": "S"}],
                product={"name": "P", "dose_unit": "mg"},
                groups=[{"code": "A", "label": "A", "regimen": {"dose": 1, "schedule": {"administrations": 1}}}],
                forms=[form])
    with pytest.raises(StudyFileError) as info:
        parse_study(yaml.safe_dump(base))
    assert words in str(info.value)
