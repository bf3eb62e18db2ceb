"""Enrolment and allocation: accepted values, every rejected value with its rule, nothing written on failure."""

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
    # the acting user was registered by initialise: one audit row, for the patient
    assert after["audit_log"] == before["audit_log"] + 1


@pytest.mark.parametrize("change, field, rule", [
    ({"sex": "X"}, "sex", "enumeration"),
    ({"ecog": 5}, "ecog", "ecog-0-4"),
    ({"ecog": -1}, "ecog", "ecog-0-4"),
    ({"ecog": "one"}, "ecog", "integer"),
    ({"child_pugh": "D"}, "child_pugh", "enumeration"),
    ({"child_pugh_score": 16}, "child_pugh_score", "child-pugh-score-5-15"),
    ({"child_pugh_score": 4}, "child_pugh_score", "child-pugh-score-5-15"),
    ({"child_pugh_score": 8}, "child_pugh_score", "child-pugh-consistent"),
    ({"afp_ng_ml": -1}, "afp_ng_ml", "afp-not-negative"),
    ({"weight_kg": 19.9}, "weight_kg", "weight-20-300-kg"),
    ({"weight_kg": 301}, "weight_kg", "weight-20-300-kg"),
    ({"birth_year": 1850}, "birth_year", "plausible-birth-year"),
    ({"birth_year": 2016}, "birth_year", "plausible-birth-year"),
    ({"consent_date": "2025-01-01"}, "consent_date", "not-in-future"),
    ({"consent_date": "10/01/2015"}, "consent_date", "date"),
    ({"consent_date": "2015-02-30"}, "consent_date", "date"),
    ({"consent_date": "2014-11-01"}, "consent_date", "consent-after-recurrence"),
    ({"recurrence_date": "2011-01-01"}, "recurrence_date", "recurrence-after-transplant"),
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
    {"child_pugh": "B", "child_pugh_score": 7}, {"child_pugh": "C", "child_pugh_score": 15},
    {"sex": "f"}, {"afp_ng_ml": 0}, {"weight_kg": 20}, {"weight_kg": 300}, {"ecog": 0}, {"ecog": 4},
    {"enrolment_date": "2015-01-11"}, {"child_pugh_score": None, "afp_ng_ml": None, "weight_kg": None},
])
def test_enrol_accepts(trial, change):
    patient = trial.enrol_patient(**{**PATIENT, **change})
    assert patient.id is not None


def test_enrol_lists_every_problem_at_once(trial):
    bad = {**PATIENT, "sex": "X", "ecog": 7, "child_pugh": "Z", "weight_kg": 5, "consent_date": "2030-01-01"}
    with pytest.raises(CheckFailed) as info:
        trial.enrol_patient(**bad)
    found = {p.field for p in info.value.problems}
    assert {"sex", "ecog", "child_pugh", "weight_kg", "consent_date"} <= found
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
