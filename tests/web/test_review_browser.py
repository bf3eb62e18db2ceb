"""Cleaning and sign-off in a real browser (Playwright on Debian's chromium) against `earlyphase serve`, on
SQLite and PostgreSQL: a query raised, answered and closed across users (the answerer refused closing it);
a casebook signed with password and TOTP, then voided by a correction; a subject locked and an edit refused."""

from __future__ import annotations

import os
import time
from pathlib import Path

from test_browser import CHROMIUM, server  # noqa: F401  (the fixture that starts the server)
from web_helpers import PASSWORD, SUBJECTS

from earlyphase.access import add_user
from earlyphase.access.totp import totp_now
from earlyphase.capture import Trial
from earlyphase.records import make_engine

OWN = SUBJECTS["S01"][0]
FEVER = dict(term="Fever", grade=1, onset="2015-01-15T14:30", attribution="unlikely", outcome="recovered",
             resolution="2015-01-16")


class Codes:
    """Authenticator codes as a person would type them: each step's code is accepted once, so a second
    code within the same 30 s takes the next step's (the one drift step allowed), or waits for it."""

    def __init__(self, secret):
        self.secret, self.used = secret, None

    def next(self) -> str:
        step = int(time.time() // 30)
        if self.used is not None and self.used >= step + 1:
            time.sleep((self.used - step) * 30 - time.time() % 30 + 0.5)
            step = int(time.time() // 30)
        chosen = step if self.used is None or self.used < step else step + 1
        self.used = chosen
        return totp_now(self.secret, at=chosen * 30)


def _log_in(page, url, user, code=None):
    page.context.clear_cookies()
    page.goto(url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    if code:
        page.fill("input[name=code]", code)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/subjects")


def test_query_signature_and_lock_flows(server, db_url, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    url, ivan_secret = server
    codes = Codes(ivan_secret)
    engine = make_engine(db_url, must_exist=True)
    for name, roles in [("mona", ["monitor@S01"]), ("dual", ["coordinator@S01", "data_manager@S01"]),
                        ("dana", ["data_manager@S01"]), ("cora", ["coordinator@S01"])]:
        add_user(engine, name, PASSWORD, roles=roles, actor="ana")
    ae = Trial.open(engine, "cora").record_adverse_event(OWN, **FEVER)
    engine.dispose()
    shots = Path(os.environ.get("EARLYPHASE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    queries = f"{url}/subjects/{OWN}/records/adverse_events/{ae.id}/queries"
    review = f"{url}/subjects/{OWN}/review"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 800, "height": 900})  # a tablet
        # 1. the monitor raises a query on the grade
        _log_in(page, url, "mona")
        page.goto(review)
        page.click(f"text=adverse_events #{ae.id}")
        page.wait_for_url(queries)
        page.select_option("select[name=field]", "grade")
        page.fill("textarea[name=text]", "Grade 1 in the notes? The chart says 2.")
        page.click("text=Raise query")
        assert "open" in page.inner_text(".query-thread h2")
        # 2. a coordinator who is also a data manager answers, and is refused closing their own answer
        _log_in(page, url, "dual")
        page.goto(queries)
        page.fill("textarea[name=answer]", "Checked: grade 1 per the nurse's note.")
        page.click("button:has-text('Answer')")
        assert "answered" in page.inner_text(".query-thread h2")
        page.click("button:has-text('Close query')")
        assert "answered by dual" in page.inner_text("[role=alert]")
        page.screenshot(path=str(shots / "review_query_refused.png"), full_page=True)
        # 3. another data manager closes it; the open-query list no longer shows it
        _log_in(page, url, "dana")
        page.goto(url + "/queries")
        assert "Grade 1 in the notes" in page.inner_text("main")
        page.goto(queries)
        page.click("button:has-text('Close query')")
        assert "closed" in page.inner_text(".query-thread h2")
        page.goto(url + "/queries?status=open")
        assert "No query matches" in page.inner_text("main")
        # 4. the investigator signs the casebook with password and a fresh code
        _log_in(page, url, "ivan", codes.next())
        page.goto(review)
        page.select_option("select[name=meaning]", "I approve")
        page.fill("form.sign input[name=password]", PASSWORD)
        page.fill("form.sign input[name=code]", codes.next())
        page.click("form.sign button[type=submit]")
        assert "Signed (casebook: I approve)" in page.inner_text("main")
        assert "Dr Ivan Ivanov" in page.inner_text(".signatures") and "VOID" not in page.inner_text(".signatures")
        page.screenshot(path=str(shots / "review_signed.png"), full_page=True)
        # 5. a coordinator corrects the grade on the record's page: the signature is void, with the change
        _log_in(page, url, "cora")
        page.goto(f"{url}/subjects/{OWN}/records/adverse_events/{ae.id}")
        page.check("input[name=grade][value='2']")
        page.select_option("select[name=reason_category]", index=1)
        page.fill("input[name=reason_detail]", "chart says grade 2")
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state()
        _log_in(page, url, "ivan", codes.next())
        page.goto(review)
        signatures = page.inner_text(".signatures")
        assert "VOID" in signatures and "grade 1 → 2" in signatures and "cora" in signatures
        page.screenshot(path=str(shots / "review_void.png"), full_page=True)
        # 6. the data manager locks the subject; the coordinator's next edit is refused, naming the lock
        _log_in(page, url, "dana")
        page.goto(review)
        page.locator("form[action$='/lock'] >> input[name=reason]").last.fill("casebook complete")
        page.click("button:has-text('Lock subject')")
        assert f"subject {OWN} is locked" in page.inner_text("main")
        page.screenshot(path=str(shots / "review_locked.png"), full_page=True)
        _log_in(page, url, "cora")
        page.goto(f"{url}/subjects/{OWN}/records/adverse_events/{ae.id}")
        page.check("input[name=grade][value='3']")
        page.select_option("select[name=reason_category]", index=1)
        page.fill("input[name=reason_detail]", "chart says grade 3")
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state()
        assert f"subject {OWN} is locked" in page.inner_text("main")
        page.screenshot(path=str(shots / "review_edit_refused.png"), full_page=True)
        browser.close()
