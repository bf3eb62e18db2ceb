"""Logging in through the web: password and TOTP, CSRF, session rotation and idle end, lockout, headers, escaping."""

from __future__ import annotations

import pytest
from web_helpers import PASSWORD, SUBJECTS, csrf_of, log_in

from earlyphase.access.login import MAX_FAILURES
from earlyphase.access.totp import totp_now
from earlyphase.web.app import SESSION_COOKIE


def test_coordinator_logs_in_and_sees_own_site_subjects(client):
    response = log_in(client, "coordinator1")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.get("/", follow_redirects=False).headers["location"] == "/subjects"
    page = client.get("/subjects")
    assert page.status_code == 200
    for subject in SUBJECTS["S01"]:
        assert subject in page.text
    for subject in SUBJECTS["S02"]:
        assert subject not in page.text
    assert "2 subject(s) at S01" in page.text


def test_investigator_needs_the_totp_code(client, world):
    _, secrets = world
    assert log_in(client, "investigator1").status_code == 401
    response = log_in(client, "investigator1", code=totp_now(secrets["investigator1"]))
    assert response.status_code == 303
    assert client.get("/subjects").status_code == 200


def test_wrong_password_says_nothing_more_and_stays_logged_out(client):
    response = log_in(client, "coordinator1", "not the password at all")
    assert response.status_code == 401 and "not right" in response.text
    assert client.get("/subjects", follow_redirects=False).headers["location"] == "/login"


def test_brute_force_locks_the_account(client):
    for _ in range(MAX_FAILURES):
        assert log_in(client, "coordinator1", "guess guess guess").status_code == 401
    assert log_in(client, "coordinator1").status_code == 401  # the right password, but locked


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_the_right_csrf_token_is_refused(client, token):
    client.get("/login")
    data = {"username": "coordinator1", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403 and SESSION_COOKIE not in response.cookies


def test_logout_needs_the_session_csrf_token(client):
    log_in(client, "coordinator1")
    assert client.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False).status_code == 403
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/subjects").status_code == 200  # still logged in
    token = csrf_of(client.get("/subjects").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/subjects", follow_redirects=False).status_code == 303


def test_login_rotates_the_session_so_a_planted_token_is_worthless(client):
    log_in(client, "coordinator1")
    planted = client.cookies.get(SESSION_COOKIE)
    log_in(client, "coordinator1")  # the old cookie travels with this login
    fresh = client.cookies.get(SESSION_COOKIE)
    assert fresh and fresh != planted
    client.cookies.set(SESSION_COOKIE, planted)
    assert client.get("/subjects", follow_redirects=False).status_code == 303
    client.cookies.set(SESSION_COOKIE, "made-up-token")
    assert client.get("/subjects", follow_redirects=False).status_code == 303


def test_an_idle_session_ends(world):
    from earlyphase.web.sessions import start_session, visitor_of

    engine, _ = world
    token = start_session(engine, 2, now=1000.0)
    assert visitor_of(engine, token, now=1000.0 + 60, idle_seconds=600) is not None
    assert visitor_of(engine, token, now=1000.0 + 60 + 601, idle_seconds=600) is None
    assert visitor_of(engine, token, now=1000.0 + 62, idle_seconds=600) is None  # ended for good


def test_a_disabled_user_is_logged_out_at_once(client, world):
    from earlyphase.access import disable_user

    engine, _ = world
    log_in(client, "coordinator1")
    disable_user(engine, "coordinator1", actor="admin1")
    assert client.get("/subjects", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/login", "/subjects", "/no/such/page", "/static/app.css"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path, follow_redirects=False)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_session_cookie_is_http_only_and_same_site_strict(client):
    response = log_in(client, "coordinator1")
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header


def test_what_a_visitor_types_comes_back_escaped(client):
    response = log_in(client, "<script>alert(1)</script>")
    assert response.status_code == 401
    assert "<script>alert(1)</script>" not in response.text and "&lt;script&gt;" in response.text


@pytest.mark.parametrize("data", [{}, {"username": "x"}, {"csrf_token": "x", "username": ["a", "b"]}])
def test_malformed_login_posts_get_a_page_not_a_traceback(client, data):
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code in (400, 403) and "Traceback" not in response.text
    assert "<html" in response.text
