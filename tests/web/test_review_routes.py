"""Review routes: queries across two users, the answerer refused closing, lists by status/site/age,
source-data verification, locks, e-signatures with password and TOTP voided by a change, stored XSS."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from web_helpers import PASSWORD, SUBJECTS, TODAY, csrf_of, log_in

from earlyphase.access import add_user
from earlyphase.access.totp import totp_now
from earlyphase.capture import Trial
from earlyphase.errors import CheckFailed
from earlyphase.records import read_session
from earlyphase.records.tables import AuditEntry, Patient

OWN = SUBJECTS["S01"][0]
XSS = "<script>alert('x')</script>"


def _patient_id(engine, subject):
    with read_session(engine) as s:
        return s.execute(select(Patient.id).where(Patient.subject_id == subject)).scalar_one()


def _post(client, path, page, **data):
    return client.post(path, data={"csrf_token": csrf_of(page), **data}, follow_redirects=False)


def _as(client, user, code=None):
    client.cookies.clear()
    assert log_in(client, user, code=code).status_code == 303


def test_query_raised_answered_closed_by_two_users_and_the_answerer_refused(client, world):
    engine, _ = world
    add_user(engine, "dual", PASSWORD, roles=["coordinator@S01", "data_manager@S01"], actor="admin1")
    pid = _patient_id(engine, OWN)
    record = f"/subjects/{OWN}/records/patients/{pid}/queries"
    _as(client, "monitor1")
    page = client.get(record)
    assert page.status_code == 200 and "Raise a query" in page.text and "Answer" not in page.text
    r = _post(client, record, page.text, field="ecog", text="ECOG 0 per the clinic letter? " + XSS)
    assert r.status_code == 303
    page = client.get(record).text
    assert XSS not in page and "&lt;script&gt;" in page and "#1 open" in page
    _as(client, "dual")
    page = client.get(record).text
    r = _post(client, "/queries/1/answer", page, answer="Yes, confirmed " + XSS)
    assert r.status_code == 303
    page = client.get(record).text
    r = _post(client, "/queries/1/close", page)
    assert r.status_code == 400 and "answered by dual" in r.text
    _as(client, "coordinator1")
    r = _post(client, "/queries/1/close", client.get(record).text)
    assert r.status_code == 403  # a coordinator does not close queries
    _as(client, "datamanager1")
    page = client.get(record).text
    assert XSS not in page
    assert _post(client, "/queries/1/close", page).status_code == 303
    page = client.get(record).text
    assert "#1 closed" in page and "Reopen" in page
    assert _post(client, "/queries/1/reopen", page, reason="letter says ECOG 1").status_code == 303
    assert "#1 open" in client.get(record).text
    with read_session(engine) as s:
        users = [e.username for e in s.execute(select(AuditEntry).where(AuditEntry.table_name == "queries")
                                                .order_by(AuditEntry.id)).scalars()]
    assert users == ["monitor1", "dual", "datamanager1", "datamanager1"]


def test_query_list_filters_and_hides_other_sites(client, world):
    engine, _ = world
    mona = Trial.open(engine, "roaming", today=TODAY)
    for subject in (SUBJECTS["S01"][0], SUBJECTS["S02"][0]):
        mona.raise_query("patients", _patient_id(engine, subject), f"check {subject}")
    _as(client, "monitor1")
    page = client.get("/queries").text
    assert SUBJECTS["S01"][0] in page and not any(s in page for s in SUBJECTS["S02"])
    assert "check" in client.get("/queries?status=open").text
    assert "No query matches" in client.get("/queries?status=closed").text
    assert "No query matches" in client.get("/queries?min_age=99999").text
    assert "No query matches" in client.get("/queries?site=S02").text
    assert client.get("/queries?min_age=abc&status=%27%20or%201=1").status_code == 200
    _as(client, "roaming")
    page = client.get("/queries?site=S02").text
    assert SUBJECTS["S02"][0] in page and SUBJECTS["S01"][0] not in page


def test_verify_lock_and_unlock_from_the_review_page(client, world):
    engine, _ = world
    base = f"/subjects/{OWN}"
    review = base + "/review"
    _as(client, "monitor1")
    page = client.get(review).text
    r = _post(client, base + "/verify", page, form="enrolment")
    assert r.status_code == 200 and "verified" in r.text
    _as(client, "datamanager1")
    page = client.get(review).text
    r = _post(client, base + "/lock", page, reason="casebook complete " + XSS)
    assert r.status_code == 200 and f"subject {OWN} is locked" in r.text and XSS not in r.text
    coordinator = Trial.open(engine, "coordinator1", today=TODAY)
    with pytest.raises(CheckFailed) as info:
        coordinator.correct_record("patients", _patient_id(engine, OWN), {"ecog": 1}, "data-entry error: ecog misread")
    assert f"subject {OWN} is locked" in str(info.value)
    page = r.text
    r = _post(client, base + "/unlock", page, lock_id="1", reason="query on ECOG")
    assert r.status_code == 200 and "Lock 1 ended" in r.text
    r = _post(client, base + "/unlock", r.text, lock_id="1", reason="again")
    assert r.status_code == 400
    coordinator.correct_record("patients", _patient_id(engine, OWN), {"ecog": 1}, "data-entry error: ecog misread")
    _as(client, "monitor1")
    assert "cleared by a change" in client.get(review).text
    r = _post(client, base + "/lock", client.get(review).text, reason="x")
    assert r.status_code == 403  # a monitor does not lock


def test_sign_with_password_and_code_then_a_correction_voids_it(client, world):
    engine, secrets = world
    secret = secrets["investigator1"]
    base = f"/subjects/{OWN}"
    review = base + "/review"
    _as(client, "investigator1", code=totp_now(secret))
    page = client.get(review).text
    assert "Not signed" in page
    next_code = totp_now(secret, at=time.time() + 30)  # the login used this step's code
    r = _post(client, base + "/sign", page, meaning="I approve", password="wrong password!!", code=next_code)
    assert r.status_code == 400 and "not right" in r.text and "Not signed" in r.text
    r = _post(client, base + "/sign", page, meaning="I approve", password=PASSWORD, code=next_code)
    assert r.status_code == 200 and "Signed (casebook: I approve)" in r.text
    assert "signed</span>" in r.text and "VOID" not in r.text
    Trial.open(engine, "coordinator1", today=TODAY).correct_record(
        "patients", _patient_id(engine, OWN), {"ecog": 2}, "data-entry error: ecog misread")
    page = client.get(review).text
    assert "VOID" in page and "ecog 0 → 2" in page and "coordinator1" in page
    _as(client, "coordinator1")
    r = _post(client, base + "/sign", client.get(review).text, meaning="I approve", password=PASSWORD, code="123456")
    assert r.status_code == 403  # only the investigator signs
    with read_session(engine) as s:
        kinds = [e.table_name for e in s.execute(select(AuditEntry).where(AuditEntry.action == "event")).scalars()]
    assert "reauth_failed" in kinds and "reauthenticated" in kinds and "signature" in kinds


def test_state_changes_need_the_csrf_token(client, world):
    _as(client, "datamanager1")
    r = client.post(f"/subjects/{OWN}/lock", data={"reason": "x", "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/queries/1/close", data={}, follow_redirects=False)
    assert r.status_code == 403


def test_database_lock_needs_a_data_manager_at_every_site(client, world):
    engine, _ = world
    _as(client, "coordinator1")
    assert client.get("/locks").status_code == 403
    _as(client, "datamanager1")  # data manager at S01 only
    page = client.get("/locks")
    assert page.status_code == 200 and "No lock is in force" in page.text and "Lock the whole database" not in page.text
    r = _post(client, "/locks", page.text, reason="final analysis")
    assert r.status_code == 400 and "at every site" in r.text
    add_user(engine, "dmall", PASSWORD, roles=["data_manager@ALL"], actor="admin1")
    _as(client, "dmall")
    r = _post(client, "/locks", client.get("/locks").text, reason="final analysis " + XSS)
    assert r.status_code == 200 and "The database is locked" in r.text and XSS not in r.text
    with pytest.raises(CheckFailed) as info:
        Trial.open(engine, "coordinator1", today=TODAY).enrol_patient(
            subject_id="A-103", site="S01", sex="F", birth_year=1961, ecog=0, consent_date="2015-01-10",
            eligibility={"I1": True, "I2": True, "E1": False})
    assert "the whole database is locked" in str(info.value)
    _as(client, "datamanager1")
    page = client.get("/locks").text
    assert "the whole database is locked" in page and 'name="lock_id"' not in page  # only dmall may end it
    _as(client, "dmall")
    r = _post(client, "/locks", client.get("/locks").text, lock_id="1", reason="late data from a site")
    assert r.status_code == 200 and "Lock 1 ended" in r.text and "No lock is in force" in r.text
