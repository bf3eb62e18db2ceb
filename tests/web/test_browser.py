"""A real browser (Playwright driving Debian's chromium; never a downloaded browser) against `earlyphase serve`.

An investigator logs in with password and authenticator code and sees the subjects of their site only.
The pages are saved as PNG beside the test's temporary files (and, with EARLYPHASE_SCREENSHOTS=DIR, there).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from web_helpers import ELIGIBLE, PASSWORD, SUBJECTS, TODAY, two_site_study

from earlyphase.access import add_user
from earlyphase.access.totp import totp_now
from earlyphase.capture import initialise

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(db_url, tmp_path):
    """`earlyphase serve` in its own process, on SQLite and on PostgreSQL (the shared ``db_url`` fixture)."""
    db = db_url
    trial = initialise(db, two_site_study(tmp_path), "founder", today=TODAY)
    for site, subjects in SUBJECTS.items():
        for subject in subjects:
            trial.enrol_patient(subject_id=subject, site=site, sex="F", birth_year=1961, ecog=0,
                                consent_date="2015-01-10", eligibility=ELIGIBLE)
    trial.close()
    from earlyphase.records import make_engine

    engine = make_engine(db, must_exist=True)
    secret = add_user(engine, "ivan", PASSWORD, roles=["investigator@S01"], full_name="Dr Ivan Ivanov",
                      actor="founder").totp_secret
    add_user(engine, "ana", PASSWORD, roles=["admin@ALL"], actor="founder")
    engine.dispose()
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", "from earlyphase.cli import main; main()", "serve", "--db", db, "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded: 60 s at most (a loaded shared machine starts slowly)
            try:
                urllib.request.urlopen(url + "/login", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("the server stopped: " + process.stdout.read().decode(errors="replace"))
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer within 60 s")
        yield url, secret
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_investigator_logs_in_with_totp_and_sees_own_site(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, secret = server
    shots = Path(os.environ.get("EARLYPHASE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1024, "height": 700})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url + "/")
        assert page.url.endswith("/login")
        page.fill("input[name=username]", "ivan")
        page.fill("input[name=password]", PASSWORD)
        page.screenshot(path=str(shots / "login.png"))
        page.fill("input[name=code]", "000000" if totp_now(secret) != "000000" else "111111")
        page.click("button[type=submit]")
        assert "not right" in page.inner_text("main")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=code]", totp_now(secret))
        page.click("button[type=submit]")
        page.wait_for_url(url + "/subjects")
        text = page.inner_text("body")
        assert all(s in text for s in SUBJECTS["S01"]) and not any(s in text for s in SUBJECTS["S02"])
        assert "investigator@S01" in text
        page.screenshot(path=str(shots / "subjects.png"), full_page=True)
        page.click(f"text={SUBJECTS['S01'][0]}")
        assert f"Subject {SUBJECTS['S01'][0]}" in page.inner_text("h1")
        assert "Visit schedule" in page.inner_text("main")
        page.screenshot(path=str(shots / "casebook.png"), full_page=True)
        page.click("text=Log out")
        page.wait_for_url(url + "/login")
        # Nothing failed to load and the CSP blocked nothing (the refused login's own 401 aside).
        assert [e for e in errors if "401 (Unauthorized)" not in e] == []
        browser.close()


def test_admin_sees_the_users_page(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, _ = server
    shots = Path(os.environ.get("EARLYPHASE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1024, "height": 500})
        page.goto(url + "/login")
        page.fill("input[name=username]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/admin/users")
        text = page.inner_text("main")
        assert "investigator@S01" in text and "TOTP" in text
        page.screenshot(path=str(shots / "users.png"), full_page=True)
        page.goto(url + "/subjects")
        assert "do not include seeing subjects" in page.inner_text("main")  # an admin sees no patient
        assert "ana" in page.inner_text("header")
        browser.close()
