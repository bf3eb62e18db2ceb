"""audit verify and audit log on a database written by earlyphase.capture (the real path)."""

from __future__ import annotations

from datetime import date

from earlyphase.capture.setup import initialise
from earlyphase.records import patient_history, verify_audit
from earlyphase.records.audit_verify import CHANGED, MISSING

from records_helpers import raw_sql

TODAY = date(2017, 12, 31)


def captured_trial(engine):
    trial = initialise(engine, "nk-hcc-ltx", "coordinator", today=TODAY)
    site = trial.study.sites[0].code
    trial.enrol_patient("P-01", site, "M", 1961, 0, "2015-01-05", eligibility={"I1": True, "I2": True, "E1": False})
    trial.record_form("P-01", "baseline_disease", {"transplant_date": "2010-03-01", "recurrence_date": "2014-11-20",
                                                   "child_pugh_class": "A", "afp": 12.5})
    trial.allocate_patient("P-01", "B", "2015-01-06")
    fever = trial.record_adverse_event("P-01", "Fever", 1, "2015-01-20", "probable", "recovered",
                                       resolution="2015-01-21")
    chills = trial.record_adverse_event("P-01", "Chills", 1, "2015-01-20", "possible", "recovered",
                                        resolution="2015-01-20")
    visit = trial.record_tumour_assessment("P-01", "2015-01-04", "CT", [
        {"label": "T1", "kind": "target", "viable_diameter_mm": 31.0},
    ], baseline=True)
    trial.correct_record("adverse_events", fever.id, {"grade": 2}, "source document updated: says grade 2")
    trial.delete_record("adverse_events", chills.id, "data-entry error: entered twice")
    return trial, {"fever": fever.id, "chills": chills.id, "visit": visit.id}


def test_capture_writes_verify_clean_and_tampering_is_named(engine):
    _, ids = captured_trial(engine)
    assert verify_audit(engine).ok
    raw_sql(engine, "UPDATE adverse_events SET grade = 1 WHERE id = :id", id=ids["fever"])
    raw_sql(engine, "DELETE FROM lesions")
    report = verify_audit(engine)
    assert [f.kind for f in report.findings] == [CHANGED, MISSING]
    assert report.findings[0].differences == {"grade": {"audited": 2, "current": 1}}
    assert report.findings[1].table == "lesions"


def test_history_of_a_captured_patient(engine):
    _, ids = captured_trial(engine)
    history = patient_history(engine, "P-01")
    steps = [(e.action, e.table) for e in history.entries]
    assert steps == [
        ("insert", "patients"), *[("insert", "eligibility_answers")] * 3, ("insert", "form_records"),
        *[("insert", "form_values")] * 4, ("insert", "allocations"), ("insert", "adverse_events"),
        ("insert", "adverse_events"), ("insert", "tumour_assessments"), ("insert", "lesions"),
        ("update", "adverse_events"), ("delete", "adverse_events"),
    ]
    assert history.entries[-2].changes == {"grade": {"old": 1, "new": 2}}
    assert history.entries[-1].reason == "data-entry error: entered twice"
    assert {e.username for e in history.entries} == {"coordinator"}


def test_a_capture_correction_does_not_launder_a_sql_edit(engine):
    trial, ids = captured_trial(engine)
    raw_sql(engine, "UPDATE adverse_events SET attribution = 'unrelated' WHERE id = :id", id=ids["fever"])
    trial.correct_record("adverse_events", ids["fever"], {"outcome": "recovered", "action": "none",
                                                          "resolution": "2015-01-22"}, "source document updated: resolution date checked")
    report = verify_audit(engine)
    assert [f.kind for f in report.findings] == [CHANGED]
    assert report.findings[0].differences == {"attribution": {"audited": "probable", "current": "unrelated"}}
