"""Cleaning and sign-off in capture: queries closed by a second person, reopen, lists by status/site/age;
source-data verification cleared by a change; locks refusing every write; e-signatures voided by a change,
also by one made in SQL behind capture's back."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from capture_helpers import PATIENT, counts, rules
from earlyphase.access import AccessDenied, add_user, authenticate, reauthenticate
from earlyphase.access.totp import totp_now
from earlyphase.capture import MEANINGS, Trial, query_list, signatures_of, verifications_of
from earlyphase.errors import CheckFailed
from earlyphase.records import read_session, transaction, verify_audit

PASSWORD = "correct horse battery"
AE = dict(term="Fever", grade=1, onset="2015-01-15T14:30", attribution="possible", outcome="recovered",
          resolution="2015-01-16")
SITE = PATIENT["site"]


def as_user(trial, name, role=None):
    """A Trial acting as ``name``, a known user holding ``role`` (default coordinator) at the patient's site."""
    secret = add_user(trial.engine, name, PASSWORD, roles=[f"{role or 'coordinator'}@{SITE}"],
                      actor="tester").totp_secret
    other = Trial(trial.engine, trial.study, name, today=trial.today)
    other.secret = secret
    return other


def test_answerer_cannot_close_and_a_closed_query_reopens(treated):
    monitor, site = as_user(treated, "mona"), as_user(treated, "cora")
    q = monitor.raise_query("administrations", 1, "Dose as in the pharmacy log?", field="dose")
    site.answer_query(q.id, "checked, it is")
    with pytest.raises(CheckFailed) as info:
        site.close_query(q.id)
    assert rules(info.value) == ["closer-not-answerer"] and "answered by cora" in str(info.value)
    assert monitor.close_query(q.id).status == "closed"
    with pytest.raises(CheckFailed) as info:
        monitor.reopen_query(q.id, "")
    assert rules(info.value) == ["required"]
    assert monitor.reopen_query(q.id, "the log says otherwise").status == "open"
    with read_session(treated.engine) as s:
        from earlyphase.capture.queries import query_history

        steps = [(h["step"], h["by"]) for h in query_history(s, q.id)]
    assert steps == [("raised", "mona"), ("answered", "cora"), ("closed", "mona"), ("reopened", "mona")]


def test_query_lists_by_status_site_and_age(treated):
    old = as_user(treated, "mona", "monitor")
    q1 = old.raise_query("administrations", 1, "first")
    q2 = old.raise_query("patients", 1, "second", field="ecog")
    as_user(treated, "cora").answer_query(q2.id, "fine, as recorded")
    with read_session(treated.engine) as s:
        every = query_list(s, {SITE}, treated.today)
        assert [q.id for q in every] == [q1.id, q2.id] and {q.subject_id for q in every} == {"P01"}
        assert [q.id for q in query_list(s, {SITE}, treated.today, status="open")] == [q1.id]
        assert [q.id for q in query_list(s, {SITE}, treated.today, status="answered")] == [q2.id]
        assert query_list(s, {"OTHER"}, treated.today) == []  # a site the user may not see: nothing
        assert query_list(s, {SITE}, treated.today, site="OTHER") == []
        raised = every[0].raised_at[:10]
        later = date.fromisoformat(raised) + timedelta(days=9)
        aged = query_list(s, {SITE}, later, min_age=9)
        assert [q.age_days for q in aged] == [9, 9]
        assert query_list(s, {SITE}, later, min_age=10) == []


def test_source_verification_is_cleared_by_a_change(treated):
    ae = treated.record_adverse_event("P01", **AE)
    monitor = as_user(treated, "mona", "monitor")
    with pytest.raises(CheckFailed) as info:  # only a monitor verifies
        treated.verify_source("P01", "adverse_event")
    assert rules(info.value) == ["role"]
    monitor.verify_source("P01", "adverse_event")
    monitor.verify_source("P01", "adverse_event", field="grade")
    monitor.verify_source("P01", "administration")
    with read_session(treated.engine) as s:
        assert [v.status for v in verifications_of(s, "P01")] == ["verified"] * 3
    treated.correct_record("adverse_events", ae.id, {"outcome": "recovering", "resolution": None},
                           "data-entry error: outcome misread")
    with read_session(treated.engine) as s:
        flags = verifications_of(s, "P01")
    # the form flag is cleared, the grade's holds (the grade did not change), another form's holds
    assert [v.status for v in flags] == ["cleared", "verified", "verified"]
    assert "outcome 'recovered' → 'recovering'" in flags[0].cleared_by and "tester" in flags[0].cleared_by


def test_subject_lock_refuses_every_write_until_unlocked(treated):
    ae = treated.record_adverse_event("P01", **AE)
    manager = as_user(treated, "dana", "data_manager")
    with pytest.raises(CheckFailed) as info:
        treated.lock_data("subject", "casebook complete", subject_id="P01")  # a coordinator does not lock
    assert rules(info.value) == ["role"]
    lock = manager.lock_data("subject", "casebook complete", subject_id="P01")
    before = counts(treated.engine)
    attempts = [
        lambda: treated.correct_record("adverse_events", ae.id, {"grade": 2}, "data-entry error: grade misread"),
        lambda: treated.record_adverse_event("P01", **{**AE, "term": "Nausea"}),
        lambda: treated.delete_record("adverse_events", ae.id, "data-entry error: wrong patient"),
        lambda: treated.withdraw_patient("P01", "2015-02-01", "consent withdrawn"),
        lambda: treated.record_administration("P01", 2, "2015-01-29", 5e9),
    ]
    for attempt in attempts:
        with pytest.raises(CheckFailed) as info:
            attempt()
        assert rules(info.value) == ["locked"]
        assert f"subject P01 is locked (lock {lock.id}, by dana" in str(info.value)
    assert counts(treated.engine) == before
    with pytest.raises(CheckFailed) as info:
        manager.unlock_data(lock.id, "  ")
    assert rules(info.value) == ["required"]
    manager.unlock_data(lock.id, "query 4 needs a correction")
    treated.correct_record("adverse_events", ae.id, {"grade": 2}, "data-entry error: grade misread")
    assert verify_audit(treated.engine).ok


def test_form_and_database_locks(treated):
    ae = treated.record_adverse_event("P01", **AE)
    add_user(treated.engine, "dana", PASSWORD, roles=["data_manager@ALL"], actor="tester")
    manager = Trial(treated.engine, treated.study, "dana", today=treated.today)
    manager.lock_data("form", "reviewed", subject_id="P01", form="adverse_event")
    with pytest.raises(CheckFailed) as info:
        treated.correct_record("adverse_events", ae.id, {"grade": 2}, "data-entry error: grade misread")
    assert "form adverse_event of P01 is locked" in str(info.value)
    treated.record_administration("P01", 2, "2015-01-29", 5e9)  # another form is not locked
    database = manager.lock_data("database", "database lock for the final analysis")
    with pytest.raises(CheckFailed) as info:
        treated.enrol_patient(**{**PATIENT, "subject_id": "P02"})
    assert "the whole database is locked" in str(info.value)
    with pytest.raises(CheckFailed) as info:  # the lock is already there
        manager.lock_data("database", "again")
    assert rules(info.value) == ["not-locked"]
    manager.unlock_data(database.id, "reopened by the sponsor's request")
    treated.enrol_patient(**{**PATIENT, "subject_id": "P02"})


def test_signature_needs_reauthentication_and_the_investigator_role(treated):
    treated.record_adverse_event("P01", **AE)
    ivan = as_user(treated, "ivan", "investigator")
    cora = as_user(treated, "cora", "coordinator")
    with pytest.raises(CheckFailed) as info:  # no re-authentication
        ivan.sign_records(None, "P01", "I approve")
    assert rules(info.value) == ["reauthenticated"]
    with pytest.raises(AccessDenied):
        reauthenticate(treated.engine, "ivan", "wrong password!!", totp_now(ivan.secret))
    login_of_cora = authenticate(treated.engine, "cora", PASSWORD, None)
    with pytest.raises(CheckFailed) as info:  # a login is not a re-authentication, and a coordinator does not sign
        cora.sign_records(login_of_cora, "P01", "I approve")
    assert set(rules(info.value)) == {"reauthenticated", "role"}
    proof = reauthenticate(treated.engine, "ivan", PASSWORD, totp_now(ivan.secret))
    with pytest.raises(CheckFailed) as info:  # someone else's proof
        cora.sign_records(proof, "P01", "I approve")
    assert "reauthenticated" in rules(info.value)
    with pytest.raises(CheckFailed) as info:
        ivan.sign_records(proof, "P01", "Looks fine")
    assert rules(info.value) == ["enumeration"]
    sig = ivan.sign_records(proof, "P01", MEANINGS[0])
    assert sig.scope == "casebook" and sig.signer == "ivan" and len(sig.content_hash) == 64 and sig.records > 3


def test_a_correction_voids_the_signature_visibly(treated):
    ae = treated.record_adverse_event("P01", **AE)
    ivan = as_user(treated, "ivan", "investigator")
    proof = reauthenticate(treated.engine, "ivan", PASSWORD, totp_now(ivan.secret))
    ivan.sign_records(proof, "P01", "I approve")
    with pytest.raises(CheckFailed) as info:  # a re-authentication is spent on one signature
        ivan.sign_records(proof, "P01", "Reviewed", form="administration")
    assert rules(info.value) == ["reauthentication-once"]
    again = reauthenticate(treated.engine, "ivan", PASSWORD, totp_now(ivan.secret, at=time.time() + 30))
    ivan.sign_records(again, "P01", "Reviewed", form="administration")
    with read_session(treated.engine) as s:
        assert [v.status for v in signatures_of(s, "P01")] == ["valid", "valid"]
    treated.correct_record("adverse_events", ae.id, {"grade": 2}, "data-entry error: grade misread")
    with read_session(treated.engine) as s:
        views = signatures_of(s, "P01")
    assert [v.status for v in views] == ["void", "valid"]  # the administration form did not change
    assert "update of adverse_events" in views[0].voided_by and "grade 1 → 2" in views[0].voided_by
    assert "data-entry error" in views[0].voided_by


def test_a_change_in_sql_behind_capture_voids_the_signature(treated):
    ae = treated.record_adverse_event("P01", **AE)
    ivan = as_user(treated, "ivan", "investigator")
    proof = reauthenticate(treated.engine, "ivan", PASSWORD, totp_now(ivan.secret))
    ivan.sign_records(proof, "P01", "I approve", form="adverse_event")
    with transaction(treated.engine) as s:
        s.execute(text("UPDATE adverse_events SET grade = 3 WHERE id = :i"), {"i": ae.id})
    with read_session(treated.engine) as s:
        (view,) = signatures_of(s, "P01")
    assert view.status == "void" and "no audited change explains it" in view.voided_by
    # putting the value back makes the records match what was signed again
    with transaction(treated.engine) as s:
        s.execute(text("UPDATE adverse_events SET grade = 1 WHERE id = :i"), {"i": ae.id})
        s.execute(text("UPDATE signatures SET meaning = 'Reviewed'"))
    with read_session(treated.engine) as s:
        (view,) = signatures_of(s, "P01")
    assert view.status == "void" and view.voided_by == "the signature row itself was altered"
