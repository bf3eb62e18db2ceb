"""The README's screenshots of the web application: a subject's casebook and the dose-escalation page.

Builds the demo of a two-site bundled study in a temporary folder, gives two of its accounts a password made up
here (never written down), serves it on loopback and photographs the pages with Playwright driving Debian's
chromium (never a downloaded browser) at a tablet's width.

    python scripts/web_screenshots.py [--study oral-3plus3] [--out docs/img]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", default="oral-3plus3")
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--also", metavar="DIR", help="also photograph the reports page (as the statistician) here")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from earlyphase.access import reset_password
    from earlyphase.access.totp import totp_now
    from earlyphase.records import make_engine
    from earlyphase.twin.demo import DEMO_USER, run_demo

    work = Path(tempfile.mkdtemp(prefix="earlyphase-shots-"))
    result = run_demo(work / "demo", study=args.study, pdf=False)
    engine = make_engine(str(result.database), must_exist=True)
    password = secrets.token_urlsafe(16)
    investigator = next(a.split(" ")[0] for a in result.extra["accounts"] if a.startswith("pi-"))
    secret = reset_password(engine, investigator, password, actor=DEMO_USER).totp_secret
    if args.also:
        reset_password(engine, "stat", password, actor=DEMO_USER)
    engine.dispose()

    port = _port()
    env = {**os.environ}
    server = subprocess.Popen([sys.executable, "-c", "from earlyphase.cli import main; main()", "serve", "--db",
                               str(result.database), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/login", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(base + "/login")
            page.fill("input[name=username]", investigator)
            page.fill("input[name=password]", password)
            page.fill("input[name=code]", totp_now(secret))
            page.click("button[type=submit]")
            page.wait_for_url(base + "/subjects")
            first = page.locator("td a").first
            first.click()
            page.wait_for_load_state()
            page.screenshot(path=str(out / "web-casebook.png"), full_page=False)
            page.goto(base + "/escalation")
            page.screenshot(path=str(out / "web-escalation.png"), full_page=False)
            if args.also:
                page.context.clear_cookies()
                page.goto(base + "/login")
                page.fill("input[name=username]", "stat")
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                page.wait_for_load_state()
                page.goto(base + "/reports")
                page.check("input[value=de-identified]")
                page.click("form.report-form button[type=submit]")
                page.wait_for_load_state()
                page.screenshot(path=str(Path(args.also) / "web-reports-running.png"), full_page=True)
                for _ in range(300):
                    if "ready" in page.content() or "failed" in page.content():
                        break
                    time.sleep(1)
                    page.goto(base + "/reports")
                page.screenshot(path=str(Path(args.also) / "web-reports.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
    print(f"wrote {out / 'web-casebook.png'} and {out / 'web-escalation.png'} (as {investigator}, study {args.study})")


if __name__ == "__main__":
    main()
