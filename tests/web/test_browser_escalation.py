"""The dose-escalation meeting in a real browser (Playwright driving Debian's chromium) against `earlyphase serve`,
on SQLite and PostgreSQL: the committee freezes a meeting pack and records its decision, the investigator seals it
with password and authenticator code, and enrolling at the level above is refused with the decision named.

The escalation page is saved as PNG (with EARLYPHASE_SCREENSHOTS=DIR, there: docs/img/web-escalation.png comes
from this test).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from escalation_helpers import build_meeting, fresh_code
from test_browser import CHROMIUM, _free_port
from web_helpers import PASSWORD


@pytest.fixture
def meeting_server(db_url, tmp_path):
    from earlyphase.records import make_engine

    engine = make_engine(db_url)
    secrets = build_meeting(engine, tmp_path, enrolment_end=f"{date.today().year + 1}-12-31")
    engine.dispose()
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", "from earlyphase.cli import main; main()", "serve", "--db", db_url,
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):  # bounded: 2 minutes at most (a loaded machine starts slowly)
            try:
                urllib.request.urlopen(url + "/login", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("the server stopped: " + process.stdout.read().decode(errors="replace"))
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer within 2 minutes")
        yield url, secrets
    finally:
        process.terminate()
        process.wait(timeout=10)


def log_in(page, url, name, secret):
    page.goto(url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=code]", fresh_code(secret))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(subjects|admin/users)$"))


def choose(page, name, value):
    """A choice is radio buttons when it has few codes, a list otherwise."""
    radio = page.locator(f"input[name={name}][value='{value}']")
    if radio.count():
        radio.check()
    else:
        page.select_option(f"select[name={name}]", value)


def test_committee_decides_investigator_seals_and_the_level_above_is_refused(meeting_server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, secrets = meeting_server
    shots = Path(os.environ.get("EARLYPHASE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    today = date.today().isoformat()  # the server judges on the real date: every DLT window is complete
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 800, "height": 900})  # a tablet
        page.set_default_timeout(180_000)  # a loaded 2-core machine answers slowly; nothing here waits on time
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        log_in(page, url, "committee", secrets["committee"])
        page.click("text=Dose escalation")
        page.wait_for_url(url + "/escalation")
        main = page.inner_text("main")
        assert "3+3" in main and "escalate" in main and "level 2 is not open yet" in main
        page.click("text=Freeze a meeting pack of this page")
        page.wait_for_url(re.compile(r".*/escalation(#pack-1)?$"), timeout=120_000)
        pack = page.request.get(url + "/escalation/packs/1.pdf")
        assert pack.status == 200 and pack.body().startswith(b"%PDF")
        page.select_option("select[name=decision]", "escalate")
        page.select_option("select[name=level]", "B")
        page.fill("textarea[name=rationale]", "0/5 DLT at level 1 with every window complete")
        page.select_option("select[name=investigator]", "pi")
        page.click("text=Record decision")
        page.wait_for_url(re.compile(r".*/escalation#decision-1$"))
        assert "awaits pi" in page.inner_text("#decisions")
        page.click("text=Log out")

        log_in(page, url, "pi", secrets["pi"])
        page.goto(url + "/escalation")
        page.fill("form.sign input[name=password]", PASSWORD)
        page.fill("form.sign input[name=code]", fresh_code(secrets["pi"]))
        page.click("text=Sign and seal")
        page.wait_for_url(re.compile(r".*/escalation#decision-1$"))
        decisions = page.inner_text("#decisions")
        assert "sealed" in decisions and "by pi at" in decisions and "meeting pack 1" in decisions
        assert "decision 1 of" in page.inner_text("main") and "leaves levels 1 to 2 open" in page.inner_text("main")
        page.screenshot(path=str(shots / "web-escalation.png"), full_page=True)
        page.click("text=Log out")

        log_in(page, url, "coordinator1", secrets["coordinator1"])
        page.goto(url + "/enrol")
        page.fill("input[name=subject_id]", "A-160")
        for name, value in (("site", "S01"), ("sex", "M"), ("ecog", "1"), ("eligibility_i1", "yes"),
                            ("eligibility_i2", "yes"), ("eligibility_e1", "no"), ("group", "C")):
            choose(page, name, value)
        page.fill("input[name=birth_year]", "1970")
        page.fill("input[name=consent_date]", today)
        page.fill("input[name=allocation_date]", today)
        page.click("button[type=submit]:has-text('Enrol')")
        page.wait_for_load_state()
        problems = " | ".join(page.locator(".problem").all_inner_texts())
        assert f"decision 1 of {today} (escalate) leaves levels 1 to 2 open" in problems, problems
        page.screenshot(path=str(shots / "web-escalation-refused.png"), full_page=True)
        page.goto(url + "/dashboards")  # the coordinator's dashboards: their site only, plots as images
        text = page.inner_text("main")
        assert "S01, as of" in text and "S02" not in text
        assert page.locator("img.plot").count() >= 1
        page.screenshot(path=str(shots / "web-dashboards.png"), full_page=True)
        assert [e for e in errors if "400 (Bad Request)" not in e] == []
        browser.close()
