"""Every route x every role x own site / other site: allowed, or 403/404, and never another site's subject.

Users hold one role at S01; the subjects of S02 must not appear in any response they get.
"""

from __future__ import annotations

import pytest
from web_helpers import SUBJECTS, csrf_of, log_in

from earlyphase.access import ROLES, role_may
from earlyphase.access.totp import totp_now

OWN, OTHER = SUBJECTS["S01"][0], SUBJECTS["S02"][0]
# route -> the action it needs; {own} / {other} are a subject of the user's site / of the other site.
ROUTES = {
    "/subjects": "view_subjects",
    f"/subjects/{OWN}": "view_subjects",
    f"/subjects/{OTHER}": None,  # nobody at S01 only may see it
    "/subjects/NO-SUCH": None,
    "/subjects/' OR '1'='1": None,
    "/subjects/%3Cscript%3E": None,
    "/admin/users": "manage_users",
    # data entry (web/entry.py); records 1 and 2 are adverse events of {own} and {other} (made below)
    "/enrol": "enter_data",
    f"/subjects/{OWN}/forms/baseline_disease": "enter_data",
    f"/subjects/{OTHER}/forms/baseline_disease": None,
    f"/subjects/{OWN}/ae": "enter_data",
    f"/subjects/{OWN}/ae?q=alop": "enter_data",
    f"/subjects/{OWN}/ae/terms?q=alop": "enter_data",
    f"/subjects/{OTHER}/ae": None,
    f"/subjects/{OTHER}/ae/terms?q=alop": None,
    f"/subjects/{OWN}/core/administration": "enter_data",
    f"/subjects/{OTHER}/core/administration": None,
    f"/subjects/{OWN}/records/adverse_events/1": "view_subjects",
    f"/subjects/{OWN}/records/adverse_events/2": None,  # the other site's record under this subject
    f"/subjects/{OTHER}/records/adverse_events/2": None,
    "/escalation": "review_escalation",
    # a meeting pack names every site's patients: nobody limited to S01 opens one
    "/escalation/packs/1.html": "every site",
    "/escalation/packs/1.pdf": "every site",
    "/dashboards": ("view_subjects", "view_aggregates"),
    "/reports": "every site",  # reports cover every site: no grant at S01 alone builds or reads one
    "/reports/0123456789abcdef/report.html": "every site",
    "/queries": "view_queries",
    "/locks": "lock",
    f"/subjects/{OWN}/review": "view_subjects",
    f"/subjects/{OTHER}/review": None,
    f"/subjects/{OWN}/records/patients/1/queries": "view_subjects",
    f"/subjects/{OTHER}/records/patients/3/queries": None,  # B-201's own record
    f"/subjects/{OWN}/records/patients/3/queries": None,  # another subject's record under this subject
}


def _expected(role: str, action: str | tuple | None, path: str) -> int:
    if action is None:
        return 404
    if action == "every site":
        return 403
    if any(role_may(role, a) for a in ((action,) if isinstance(action, str) else action)):
        return 200
    # A subject the role may not see at all is not found; one it sees but may not act on is forbidden.
    return 404 if path.startswith("/subjects/") and not role_may(role, "view_subjects") else 403


@pytest.mark.parametrize("role", ROLES)
def test_route_role_site_matrix(client, world, role):
    engine, secrets = world
    _adverse_events(engine)
    username = f"{role.replace('_', '')}1"
    secret = secrets[username]
    assert log_in(client, username, code=totp_now(secret) if secret else None).status_code == 303
    for path, action in ROUTES.items():
        response = client.get(path, follow_redirects=False)
        assert response.status_code == _expected(role, action, path), (role, path)
        for hidden in SUBJECTS["S02"]:
            assert hidden not in response.text, (role, path, hidden)


def _adverse_events(engine):
    from earlyphase.capture import Trial

    with Trial.open(engine, "founder") as trial:
        for subject in (OWN, OTHER):
            trial.record_adverse_event(subject, "Alopecia", 1, "2015-02", "possible", "recovering")


def test_a_user_granted_every_site_sees_both(client):
    log_in(client, "roaming")
    page = client.get("/subjects").text
    assert all(s in page for subjects in SUBJECTS.values() for s in subjects)
    assert client.get(f"/subjects/{OTHER}").status_code == 200


def test_admin_sees_users_and_roles_but_no_subject(client):
    log_in(client, "admin1")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert "coordinator1" in page.text and "coordinator@S01" in page.text and "monitor@ALL" in page.text
    assert "$argon2" not in page.text
    assert client.get("/subjects").status_code == 403
    assert client.get("/", follow_redirects=False).headers["location"] == "/admin/users"


def test_logged_out_visitors_are_sent_to_log_in(client):
    for path in ROUTES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


# Data-entry writes: posted empty (with a valid CSRF token) an allowed role gets the form back with its problems
# (400, nothing written); any other gets 403, or 404 for a subject it may not see.
WRITES = {
    "/enrol": "enter_data",
    f"/subjects/{OWN}/forms/baseline_disease": "enter_data",
    f"/subjects/{OTHER}/forms/baseline_disease": None,
    f"/subjects/{OWN}/ae": "enter_data",
    f"/subjects/{OTHER}/ae": None,
    f"/subjects/{OWN}/core/administration": "enter_data",
    f"/subjects/{OTHER}/core/administration": None,
    f"/subjects/{OWN}/records/adverse_events/1": "correct_data",
    f"/subjects/{OTHER}/records/adverse_events/2": None,
}
# The other site's record under this site's subject: not found by those who may correct here, forbidden to
# those who only see the subject (asked before any record is looked up), not found by the rest.
ABSENT = f"/subjects/{OWN}/records/adverse_events/2"


@pytest.mark.parametrize("role", ROLES)
def test_write_route_role_site_matrix(client, world, role):
    from sqlalchemy import func, select

    from earlyphase.records.database import read_session
    from earlyphase.records.tables import AuditEntry

    engine, secrets = world
    _adverse_events(engine)
    username = f"{role.replace('_', '')}1"
    secret = secrets[username]
    assert log_in(client, username, code=totp_now(secret) if secret else None).status_code == 303
    token = csrf_of(client.get("/enrol").text)  # every page, an error page too, carries the session's token
    with read_session(engine) as s:
        before = s.execute(select(func.count()).select_from(AuditEntry)).scalar()
    for path, action in {**WRITES, ABSENT: "correct_data"}.items():
        response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        expected = 400 if action is not None and role_may(role, action) else _expected(role, action, path)
        if path == ABSENT and expected == 400:
            expected = 404
        assert response.status_code == expected, (role, path, response.status_code)
        for hidden in SUBJECTS["S02"]:
            assert hidden not in response.text, (role, path, hidden)
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar() == before


# Review writes (web/review.py), posted empty with a valid token: an allowed role gets the page back with
# capture's problems (400, nothing written); others 403, or 404 for a subject or query they may not see.
REVIEW_WRITES = {
    f"/subjects/{OWN}/records/patients/1/queries": "raise_query",
    f"/subjects/{OTHER}/records/patients/3/queries": None,
    f"/subjects/{OWN}/verify": "verify_source",
    f"/subjects/{OTHER}/verify": None,
    f"/subjects/{OWN}/lock": "lock",
    f"/subjects/{OTHER}/lock": None,
    f"/subjects/{OWN}/unlock": "lock",
    f"/subjects/{OWN}/sign": "sign",
    f"/subjects/{OTHER}/sign": None,
    "/queries/1/answer": None,  # query 1 is on the other site's subject: not found by anyone here
    "/queries/1/close": None,
    "/queries/1/reopen": None,
}


@pytest.mark.parametrize("role", ROLES)
def test_review_write_route_role_site_matrix(client, world, role):
    from sqlalchemy import select

    from earlyphase.capture import Trial
    from earlyphase.records.database import read_session
    from earlyphase.records.tables import AuditEntry

    engine, secrets = world
    with Trial.open(engine, "roaming") as trial:
        trial.raise_query("patients", 3, "other site's question")
    username = f"{role.replace('_', '')}1"
    secret = secrets[username]
    assert log_in(client, username, code=totp_now(secret) if secret else None).status_code == 303
    token = csrf_of(client.get("/subjects").text)
    with read_session(engine) as s:
        before = s.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc())).scalars().first()
    for path, action in REVIEW_WRITES.items():
        response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        allowed = action is not None and role_may(role, action)
        expected = 400 if allowed else _expected(role, action, path)
        assert response.status_code == expected, (role, path, response.status_code)
        for hidden in SUBJECTS["S02"]:
            assert hidden not in response.text, (role, path, hidden)
    with read_session(engine) as s:
        written = [e.table_name for e in s.execute(select(AuditEntry).where(AuditEntry.id > before)).scalars()]
    # nothing but the investigator's refused re-authentication (counted toward the lockout) is written
    assert written == (["reauth_failed"] if role == "investigator" else [])
