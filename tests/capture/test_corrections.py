"""Corrections (reason required, same checks, audited with old and new values) and deletions."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from capture_helpers import counts, rules
from earlyphase.errors import CheckFailed
from earlyphase.records import transaction
from earlyphase.records.tables import AuditEntry, ProtocolDeviation

FEVER = dict(term="Fever", grade=1, onset="2015-01-15", attribution="possible", outcome="recovered",
             resolution="2015-01-16")


def last_audit(engine) -> AuditEntry:
    with transaction(engine) as s:
        return s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()


def test_correction_audited_with_old_and_new_values(treated):
    ae = treated.record_adverse_event("P01", **FEVER)
    before = counts(treated.engine)
    fixed = treated.correct_record("adverse_events", ae.id, {"grade": 2, "term": "chills"}, "source document updated: grade 2 chills")
    assert (fixed.grade, fixed.term) == (2, "Chills")
    entry = last_audit(treated.engine)
    assert entry.action == "update" and entry.table_name == "adverse_events" and entry.record_id == ae.id
    assert entry.reason == "source document updated: grade 2 chills" and entry.username == "tester"
    assert entry.subject_id == "P01"
    old, new = json.loads(entry.old_values), json.loads(entry.new_values)
    assert (old["grade"], old["term"]) == (1, "Fever") and (new["grade"], new["term"]) == (2, "Chills")
    after = counts(treated.engine)
    assert after["audit_log"] == before["audit_log"] + 1
    assert after["adverse_events"] == before["adverse_events"]


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_correction_needs_reason(treated, reason):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.correct_record("patients", 1, {"ecog": 2}, reason)
    assert rules(info.value) == ["required"] and info.value.problems[0].field == "reason"
    assert counts(treated.engine) == before


@pytest.mark.parametrize("table, record_id, changes, rule", [
    ("patients", 1, {"ecog": 9}, "ecog-0-4"),
    ("patients", 1, {"consent_date": "2015-01-16"}, "consent-before-dose"),
    ("patients", 1, {"shoe_size": 42}, "correctable-field"),
    ("patients", 1, {"ecog": 1}, "no-change"),
    ("patients", 1, {}, "no-change"),
    ("patients", 99, {"ecog": 1}, "record-known"),
    ("audit_log", 1, {"reason": "x"}, "table-known"),
    ("administrations", 1, {"dose": 1e9}, "dose-within-schedule"),
    ("allocations", 1, {"group": "Z"}, "group-known"),
    ("allocations", 1, {"allocation_date": "2015-01-16"}, "allocation-before-dose"),
])
def test_correction_reruns_checks(treated, table, record_id, changes, rule):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.correct_record(table, record_id, changes, "data-entry error: typo on the form")
    assert rule in rules(info.value)
    assert counts(treated.engine) == before


def test_correct_ae_grade_that_does_not_exist(treated):
    ae = treated.record_adverse_event("P01", **{**FEVER, "term": "Nausea"})
    with pytest.raises(CheckFailed) as info:
        treated.correct_record("adverse_events", ae.id, {"grade": 4}, "data-entry error: typo on the form")
    assert rules(info.value) == ["grade-exists"]


def test_correct_patient_site_and_subject(treated):
    p = treated.correct_record("patients", 1, {"subject_id": "P001", "ecog": 0}, "data-entry error: transcription error")
    assert p.subject_id == "P001" and p.ecog == 0
    treated.record_administration("P001", 2, "2015-01-29", 5e9)


def test_administration_correction_with_deviation_writes_deviation(treated):
    before = counts(treated.engine)
    treated.correct_record("administrations", 1, {"dose": 2e9, "deviation": "bag partly lost"}, "source document updated: pharmacy record")
    after = counts(treated.engine)
    assert after["protocol_deviations"] == before["protocol_deviations"] + 1
    with transaction(treated.engine) as s:
        dev = s.execute(select(ProtocolDeviation)).scalar_one()
        assert dev.category == "dose" and "bag partly lost" in dev.description


def test_correct_lesion(treated):
    treated.record_tumour_assessment("P01", "2015-01-08", "CT", [{"label": "T1", "kind": "target",
                                                                  "viable_diameter_mm": 20}], baseline=True)
    lesion = treated.correct_record("lesions", 1, {"viable_diameter_mm": 22.5}, "source document updated: lesion remeasured")
    assert lesion.viable_diameter_mm == 22.5
    with pytest.raises(CheckFailed) as info:
        treated.correct_record("lesions", 1, {"viable_diameter_mm": 999}, "source document updated: lesion remeasured")
    assert rules(info.value) == ["diameter-0-400-mm"]


def test_delete_with_reason_and_dependents(treated):
    ae = treated.record_adverse_event("P01", **FEVER)
    with pytest.raises(CheckFailed) as info:
        treated.delete_record("adverse_events", ae.id, "")
    assert rules(info.value) == ["required"]
    before = counts(treated.engine)
    treated.delete_record("adverse_events", ae.id, "data-entry error: entered for the wrong patient")
    after = counts(treated.engine)
    assert after["adverse_events"] == before["adverse_events"] - 1
    assert after["audit_log"] == before["audit_log"] + 1
    entry = last_audit(treated.engine)
    assert entry.action == "delete" and entry.new_values is None and json.loads(entry.old_values)["term"] == "Fever"
    with pytest.raises(CheckFailed) as info:
        treated.delete_record("patients", 1, "data-entry error: wrong patient")
    assert "no-dependents" in rules(info.value)
    with pytest.raises(CheckFailed) as info:
        treated.delete_record("allocations", 1, "data-entry error: wrong group")
    assert rules(info.value) == ["no-dependents"]
    from earlyphase.records import verify_audit

    report = verify_audit(treated.engine)
    assert report.ok, report.summary()


def test_delete_assessment_takes_lesions(treated):
    a = treated.record_tumour_assessment("P01", "2015-01-08", "CT", [{"label": "T1", "kind": "target",
                                                                      "viable_diameter_mm": 20}], baseline=True)
    before = counts(treated.engine)
    treated.delete_record("tumour_assessments", a.id, "data-entry error: scan belongs to another patient")
    after = counts(treated.engine)
    assert after["lesions"] == before["lesions"] - 1 and after["tumour_assessments"] == before["tumour_assessments"] - 1
    assert after["audit_log"] == before["audit_log"] + 2
