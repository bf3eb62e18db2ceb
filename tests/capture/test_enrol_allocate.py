"""Enrolment (with eligibility) and allocation: accepted values, every rejected value with its rule, nothing
written on failure. The seed study's disease fields are its own form: tests/capture/test_study_forms.py."""

from __future__ import annotations

import pytest

from earlyphase.capture import CheckDuplicate, CheckNotFound
from earlyphase.errors import CheckFailed, Duplicate, NotFound

from capture_helpers import PATIENT, counts, rules


def test_enrol_writes_patient_and_audits(trial):
    before = counts(trial.engine)
    patient = trial.enrol_patient(**PATIENT)
    after = counts(trial.engine)
    assert patient.subject_id == "P01" and patient.status == "enrolled"
    assert patient.enrolment_date.isoformat() == "2015-01-10"  # defaults to consent
    assert after["patients"] == before["patients"] + 1
    assert after["eligibility_answers"] == before["eligibility_answers"] + 3
    # the acting user was registered by initialise: audit rows for the patient and its three answers
    assert after["audit_log"] == before["audit_log"] + 4


@pytest.mark.parametrize("change, field, rule", [
    ({"sex": "X"}, "sex", "enumeration"),
    ({"ecog": 5}, "ecog", "ecog-0-4"),
    ({"ecog": -1}, "ecog", "ecog-0-4"),
    ({"ecog": "one"}, "ecog", "integer"),
    ({"birth_year": 1850}, "birth_year", "plausible-birth-year"),
    ({"birth_year": 2016}, "birth_year", "plausible-birth-year"),
    ({"consent_date": "2025-01-01"}, "consent_date", "not-in-future"),
    ({"consent_date": "10/01/2015"}, "consent_date", "date"),
    ({"consent_date": "2015-02-30"}, "consent_date", "date"),
    ({"eligibility": {"I1": False, "I2": True, "E1": False}}, "eligibility.I1", "eligibility-inclusion"),
    ({"eligibility": {"I1": True, "I2": True, "E1": True}}, "eligibility.E1", "eligibility-exclusion"),
    ({"eligibility": {"I1": True, "E1": False}}, "eligibility.I2", "required"),
    ({"eligibility": None}, "eligibility.I1", "required"),
    ({"eligibility": {"I1": True, "I2": True, "E1": "maybe"}}, "eligibility.E1", "boolean"),
    ({"eligibility": {"I1": True, "I2": True, "E1": False, "X9": True}}, "eligibility.X9", "criterion-known"),
    ({"enrolment_date": "2015-01-09"}, "enrolment_date", "enrolment-after-consent"),
    ({"consent_date": "2017-06-01", "enrolment_date": "2017-06-01"}, "enrolment_date", "enrolment-period"),
    ({"subject_id": "P 01"}, "subject_id", "format"),
    ({"subject_id": ""}, "subject_id", "required"),
    ({"sex": None}, "sex", "required"),
])
def test_enrol_rejects(trial, change, field, rule):
    before = counts(trial.engine)
    with pytest.raises(CheckFailed) as info:
        trial.enrol_patient(**{**PATIENT, **change})
    assert (field, rule) in [(p.field, p.rule) for p in info.value.problems]
    assert counts(trial.engine) == before


@pytest.mark.parametrize("change", [
    {"sex": "f"}, {"ecog": 0}, {"ecog": 4}, {"enrolment_date": "2015-01-11"},
    {"eligibility": {"I1": "yes", "I2": "Y", "E1": "no"}}, {"initials": "AB", "hospital_number": "H-1"},
])
def test_enrol_accepts(trial, change):
    patient = trial.enrol_patient(**{**PATIENT, **change})
    assert patient.id is not None


def test_enrol_lists_every_problem_at_once(trial):
    bad = {**PATIENT, "sex": "X", "ecog": 7, "consent_date": "2030-01-01",
           "eligibility": {"I1": False, "I2": True, "E1": True}}
    with pytest.raises(CheckFailed) as info:
        trial.enrol_patient(**bad)
    found = {p.field for p in info.value.problems}
    assert {"sex", "ecog", "consent_date", "eligibility.I1", "eligibility.E1"} <= found
    for p in info.value.problems:
        assert p.message and p.rule  # a sentence and a rule for each
    assert "nothing was written" in str(info.value)


def test_unknown_site_is_not_found(trial):
    with pytest.raises(CheckNotFound) as info:
        trial.enrol_patient(**{**PATIENT, "site": "XYZ"})
    assert isinstance(info.value, NotFound) and isinstance(info.value, CheckFailed)
    assert rules(info.value) == ["site-known"]


def test_duplicate_subject(enrolled):
    before = counts(enrolled.engine)
    with pytest.raises(CheckDuplicate) as info:
        enrolled.enrol_patient(**PATIENT)
    assert isinstance(info.value, Duplicate)
    assert rules(info.value) == ["unique-subject"]
    assert counts(enrolled.engine) == before


def test_allocate_accepts(enrolled):
    allocation = enrolled.allocate_patient("P01", "b", "2015-01-12")
    assert allocation.group_code == "B"


@pytest.mark.parametrize("subject, group, when, rule", [
    ("P99", "B", "2015-01-12", "patient-known"),
    ("P01", "E", "2015-01-12", "group-known"),
    ("P01", "B", "2015-01-09", "after-consent"),
    ("P01", "B", "2024-06-02", "not-in-future"),
    ("P01", "B", "2015-1-12", "date"),
])
def test_allocate_rejects(enrolled, subject, group, when, rule):
    before = counts(enrolled.engine)
    with pytest.raises(CheckFailed) as info:
        enrolled.allocate_patient(subject, group, when)
    assert rule in rules(info.value)
    assert counts(enrolled.engine) == before


def test_second_allocation_is_duplicate(allocated):
    with pytest.raises(CheckDuplicate) as info:
        allocated.allocate_patient("P01", "C", "2015-01-13")
    assert rules(info.value) == ["unique-allocation"]


def test_withdrawn_patient_cannot_be_allocated(enrolled):
    enrolled.withdraw_patient("P01", "2015-01-11", "consent withdrawn")
    with pytest.raises(CheckFailed) as info:
        enrolled.allocate_patient("P01", "B", "2015-01-12")
    assert "not-withdrawn" in rules(info.value)


def test_allocation_after_death_rejected(enrolled):
    enrolled.record_death("P01", "2015-01-11", "disease progression")
    with pytest.raises(CheckFailed) as info:
        enrolled.allocate_patient("P01", "B", "2015-01-12")
    assert "not-after-death" in rules(info.value)


def test_an_ineligible_patient_is_refused_naming_the_criterion(trial):
    with pytest.raises(CheckFailed) as info:
        trial.enrol_patient(**{**PATIENT, "eligibility": {"I1": True, "I2": True, "E1": True}})
    (problem,) = info.value.problems
    assert problem.field == "eligibility.E1" and "E1" in problem.message and "Child-Pugh class C" in problem.message
    assert counts(trial.engine)["patients"] == 0


def test_the_answers_are_recorded(enrolled):
    from sqlalchemy import select

    from earlyphase.records import read_session
    from earlyphase.records.tables import EligibilityAnswer

    with read_session(enrolled.engine) as s:
        answers = {(a.criterion, a.kind, a.answer) for a in s.execute(select(EligibilityAnswer)).scalars()}
    assert answers == {("I1", "inclusion", True), ("I2", "inclusion", True), ("E1", "exclusion", False)}


def test_a_corrected_answer_that_fails_writes_an_eligibility_deviation(enrolled):
    from sqlalchemy import select

    from earlyphase.records import read_session
    from earlyphase.records.tables import EligibilityAnswer, ProtocolDeviation

    with read_session(enrolled.engine) as s:
        e1 = s.execute(select(EligibilityAnswer).where(EligibilityAnswer.criterion == "E1")).scalar_one()
    enrolled.correct_record("eligibility_answers", e1.id, {"answer": True}, "source document updated: class C at screening")
    with read_session(enrolled.engine) as s:
        (dev,) = s.execute(select(ProtocolDeviation)).scalars()
    assert dev.category == "eligibility" and "E1" in dev.description and dev.source_table == "eligibility_answers"
