"""A coordinator's visit in a real browser (Playwright on Debian's chromium) against `earlyphase serve`,
on SQLite and PostgreSQL: log in with TOTP, enrol, fill a visit form (a show-if field appearing and hiding,
confirming one soft-range warning),
record an adverse event found by the type-ahead term search, correct a value with a reason and see its history.

Pages are saved as PNG at an 800-pixel (tablet) width beside the test's files (or in EARLYPHASE_SCREENSHOTS).
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
from entry_helpers import entry_study
from web_helpers import ELIGIBLE, PASSWORD, TODAY

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
    trial = initialise(db_url, entry_study(tmp_path), "founder", today=TODAY)
    trial.enrol_patient(subject_id="B-201", site="S02", sex="F", birth_year=1961, ecog=0,
                        consent_date="2015-01-10", eligibility=ELIGIBLE)
    trial.close()
    from earlyphase.records import make_engine

    engine = make_engine(db_url, must_exist=True)
    secret = add_user(engine, "cora", PASSWORD, roles=["coordinator@S01"], with_totp=True, actor="founder").totp_secret
    engine.dispose()
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", "from earlyphase.cli import main; main()", "serve", "--db",
                                db_url, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded: a minute at most (a loaded machine starts slowly)
            try:
                urllib.request.urlopen(url + "/login", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("the server stopped: " + process.stdout.read().decode(errors="replace"))
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer within a minute")
        yield url, secret
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_coordinator_enrols_enters_a_visit_an_adverse_event_and_a_correction(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, secret = server
    shots = Path(os.environ.get("EARLYPHASE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 800, "height": 900})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(20000)

        # Log in with password and authenticator code.
        page.goto(url + "/login")
        page.fill("input[name=username]", "cora")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=code]", totp_now(secret))
        page.click("button[type=submit]")
        page.wait_for_url(url + "/subjects")
        assert "B-201" not in page.inner_text("body")

        # Enrol.
        page.click("nav >> text=Enrol")
        page.wait_for_url(url + "/enrol")
        page.fill("#in-subject_id", "A-150")
        page.check("input[name=site][value=S01]")
        page.check("input[name=sex][value=M]")
        page.fill("#in-birth_year", "1970")
        page.check("input[name=ecog][value='1']")
        page.fill("#in-consent_date", "2015-02-01")
        for criterion, answer in (("i1", "yes"), ("i2", "yes"), ("e1", "no")):
            page.check(f"input[name=eligibility_{criterion}][value={answer}]")
        page.screenshot(path=str(shots / "entry-enrol.png"), full_page=True)
        page.click("button:has-text('Enrol')")
        page.wait_for_url(url + "/subjects/A-150")
        assert "Subject A-150" in page.inner_text("h1")

        # A visit form from the dictionary, with one soft-range warning confirmed.
        page.click("table.casebook >> text=vitals")
        page.wait_for_url("**/forms/vitals?visit=SCR")
        page.fill("#in-taken_on", "2015-02-01")
        page.fill("#in-temperature", "39.2")
        page.fill("#in-pulse", "72")
        page.check("input[name=position][value=sitting]")
        page.check("input[name=symptoms][value=chills]")
        # A show-if field: hidden until its condition holds (htmx asks the server on each change).
        expect(page.locator("#field-abnormal_text")).to_be_hidden()
        page.check("input[name=abnormal][value=yes]")
        expect(page.locator("#field-abnormal_text")).to_be_visible()
        page.check("input[name=abnormal][value=no]")
        expect(page.locator("#field-abnormal_text")).to_be_hidden()
        page.click("button:has-text('Save')")
        expect(page.locator("#field-temperature .problem")).to_contain_text("outside the expected range")
        page.screenshot(path=str(shots / "entry-warning.png"), full_page=True)
        page.click("button:has-text('Confirm and save')")
        page.wait_for_url("**/records/form_records/*?saved=1")
        record_url = page.url.split("?")[0]
        assert "Saved." in page.inner_text("main")

        # An adverse event: the type-ahead finds the term, only its grades are offered.
        page.goto(url + "/subjects/A-150")
        page.click("text=Record an adverse event")
        page.fill("#in-q", "alop")
        page.wait_for_selector("#term-results a:has-text('Alopecia')")
        page.screenshot(path=str(shots / "entry-term-search.png"), full_page=True)
        page.click("#term-results a:has-text('Alopecia')")
        page.wait_for_url("**/ae?term=Alopecia")
        grades = page.locator("input[name=grade]").evaluate_all("els => els.map(e => e.value)")
        assert grades == ["1", "2"]
        page.check("input[name=grade][value='2']")
        page.fill("#in-onset", "2015-02")
        page.check("input[name=attribution][value=possible]")
        page.check("input[name=outcome][value=recovering]")
        page.screenshot(path=str(shots / "entry-ae.png"), full_page=True)
        page.click("button:has-text('Save adverse event')")
        page.wait_for_url("**/records/adverse_events/*?saved=1")

        # A correction with a reason, then the field's history.
        page.goto(record_url)
        page.fill("#in-pulse", "80")
        page.select_option("#in-reason_category", "data-entry error")
        page.fill("#in-reason_detail", "pulse typed from the wrong sheet")
        page.click("button:has-text('Save correction')")
        page.wait_for_url("**?saved=1")
        page.click("text=History of pulse")
        history = page.inner_text("#field-pulse + details")
        assert "72 → 80" in history and "cora" in history and "data-entry error: pulse typed" in history
        page.screenshot(path=str(shots / "entry-history.png"), full_page=True)

        casebook = page.goto(url + "/subjects/A-150")
        assert casebook.status == 200
        text = page.inner_text("main")
        assert "adverse event: Alopecia, grade 2" in text and "vitals at SCR" in text
        page.screenshot(path=str(shots / "entry-casebook.png"), full_page=True)
        # Nothing failed to load, the CSP blocked nothing, no script error; the one 400 is the warned save.
        assert [e for e in errors if "400 (Bad Request)" not in e] == []
        assert len(errors) == 1
        browser.close()
