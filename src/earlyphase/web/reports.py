"""The report page: build the trial's report in the background and download it, within the visitor's rights.

What each person may build (asked of ``earlyphase.access``; the report covers every site, so only a grant
at every site builds one: a user limited to some sites is refused, never shown a whole-trial count):

- ``aggregates``: the de-identified report document (HTML, PDF), small counts suppressed; no
  patient-level file (no ADaM datasets, no tables). ``view_aggregates`` (the sponsor, among others).
- ``de-identified``: the document and the pseudonymised ADaM datasets. ``view_deidentified`` (statistician).
- ``identified``: everything as entered, only when ticked explicitly with a reason; ``report_identified``
  (the data manager). The request and its reason are audited before the build starts.

A build runs in a thread of the worker that took the request; its folder and ``build.json`` (state,
step, who, mode) live under the database's folder (``trial.db.reports/``; for PostgreSQL beside the audit
anchors in the configuration folder; or ``EARLYPHASE_REPORTS_DIR``), so every worker on the machine shows
its progress. Each request, build and download is an audit event.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import shutil
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from earlyphase.access import EVERY_SITE, sites_for
from earlyphase.records.audit import write_event
from earlyphase.records.database import transaction
from earlyphase.web.kit import Kit, Refused

REPORTS_DIR_ENV = "EARLYPHASE_REPORTS_DIR"
MODES = {
    # mode -> (the permission it needs at every site, what it holds, whether it keeps patient-level files)
    "aggregates": ("view_aggregates", "the report document, de-identified, small counts suppressed", False),
    "de-identified": ("view_deidentified", "the report and the ADaM datasets, pseudonymised", True),
    "identified": ("report_identified", "the report and the ADaM datasets as entered (names, dates)", True),
}
# The report's steps in order (``report_from_database``'s progress names), with what the page says.
STEPS = [("started", "starting"), ("datasets", "deriving the analysis datasets"),
         ("statistics", "running the analyses"), ("tables", "writing the tables"), ("figures", "drawing the figures"),
         ("html", "writing the document"), ("pdf", "printing the PDF"), ("audited", "auditing the build")]
STALE_SECONDS = 3600  # a build whose worker died stays "running" in its file: after an hour it is called failed
_BUILD_ID = re.compile(r"[0-9a-f]{16}")


def modes_for(grants) -> list[str]:
    """The modes these grants may build: each needs its permission at every site."""
    return [mode for mode, (action, _, _) in MODES.items() if sites_for(grants, action) is EVERY_SITE]


def reports_root(engine: Engine) -> Path:
    from earlyphase.records.audit_key import default_path

    given = os.environ.get(REPORTS_DIR_ENV, "").strip()
    if given:
        return Path(given).expanduser()
    found = default_path(engine, ".reports")
    if found is None:
        from earlyphase.errors import ConfigurationError

        raise ConfigurationError(f"an in-memory database keeps no report builds: set {REPORTS_DIR_ENV}")
    return found


def _write_status(folder: Path, status: dict[str, Any]) -> None:
    tmp = folder / "build.json.tmp"
    tmp.write_text(json.dumps(status, indent=1), encoding="utf-8")
    os.replace(tmp, folder / "build.json")  # a reader never sees half a file


def read_build(engine: Engine, build_id: str) -> dict[str, Any] | None:
    if not _BUILD_ID.fullmatch(build_id or ""):
        return None
    path = reports_root(engine) / build_id / "build.json"
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    status["started_text"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime(status.get("started", 0)))
    if status.get("state") == "running" and time.time() - status.get("started", 0) > STALE_SECONDS:
        status.update(state="failed", error="the build stopped without finishing (its server process ended)")
    return status


def builds_of(engine: Engine, username: str) -> list[dict[str, Any]]:
    """This user's builds, newest first."""
    root = reports_root(engine)
    found = []
    if root.is_dir():
        for folder in root.iterdir():
            status = read_build(engine, folder.name)
            if status is not None and status.get("user") == username:
                found.append(status)
    return sorted(found, key=lambda s: s.get("started", 0), reverse=True)


def start_build(engine: Engine, username: str, mode: str, *, pdf: bool, reason: str | None,
                run_in_thread: bool = True) -> str:
    """Audit the request, make the build's folder and start the build; returns the build's id."""
    build_id = secrets.token_hex(8)
    root = reports_root(engine)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root / build_id
    folder.mkdir(mode=0o700)
    with transaction(engine) as session:
        write_event(session, "report_request", username,
                    {"build": build_id, "mode": mode, "pdf": pdf, "reason": reason})
    status = {"id": build_id, "user": username, "mode": mode, "pdf": pdf, "state": "running", "step": "started",
              "started": time.time(), "finished": None, "error": None, "files": {}}
    _write_status(folder, status)
    if run_in_thread:
        threading.Thread(target=_build, args=(engine, folder, status), daemon=True,
                         name=f"report-{build_id}").start()
    else:
        _build(engine, folder, status)
    return build_id


def _build(engine: Engine, folder: Path, status: dict[str, Any]) -> None:
    from earlyphase.errors import EarlyPhaseError
    from earlyphase.records.audit_anchor import anchor_head
    from earlyphase.report import report_from_database

    def progress(step: str) -> None:
        status["step"] = step
        _write_status(folder, status)

    mode = status["mode"]
    out = folder / "report"
    try:
        result = report_from_database(engine, out, pdf=status["pdf"], identified=mode == "identified",
                                      username=status["user"], progress=progress)
        if not MODES[mode][2]:
            # aggregates only: the patient-level files the build wrote are not kept
            for sub in ("adam", "tables"):
                shutil.rmtree(out / sub, ignore_errors=True)
        files = {"html": result.html.name}
        if result.pdf:
            files["pdf"] = result.pdf.name
        if MODES[mode][2]:
            files["adam"] = "adam"
        try:
            anchor_head(engine, "report")
        except EarlyPhaseError:
            pass  # the build is audited in the log; a missing anchor place is reported by 'audit verify'
        status.update(state="done", files=files)
    except EarlyPhaseError as exc:
        status.update(state="failed", error=str(exc).splitlines()[-1].strip(" -"))
    except Exception as exc:  # the thread must leave a sentence, never a silent "running"
        status.update(state="failed", error=f"the build failed: {type(exc).__name__}")
    status["finished"] = time.time()
    _write_status(folder, status)


def adam_zip(folder: Path) -> bytes:
    """The ADaM datasets of a build (CSV, their README and the report's manifest) as one zip."""
    buffer = io.BytesIO()
    out = folder / "report"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((out / "adam").glob("*")):
            if path.is_file():
                archive.write(path, f"adam/{path.name}")
        if (out / "manifest.json").is_file():
            archive.write(out / "manifest.json", "manifest.json")
    return buffer.getvalue()


def register(app, kit: Kit) -> None:
    engine = kit.engine

    def allowed(request: Request):
        found = kit.visitor(request)
        modes = modes_for(found.grants)
        if not modes:
            raise Refused(403, "Reports cover every site: building one needs a role held at every site "
                               "(statistician, sponsor, data manager...). Ask the data manager.", found)
        return found, modes

    def own_build(found, build_id: str) -> dict[str, Any]:
        status = read_build(engine, build_id)
        # someone else's build answers as one that does not exist; rights are asked again at each download
        if status is None or status.get("user") != found.username or status["mode"] not in modes_for(found.grants):
            raise Refused(404, "There is no such report build.", found)
        return status

    @app.get("/reports")
    def reports(request: Request):
        found, modes = allowed(request)
        builds = builds_of(engine, found.username)
        labels = dict(STEPS)
        return kit.page(request, "reports_page.html", visitor=found, modes=modes, describe=MODES, builds=builds,
                        labels=labels, steps=[s for s, _ in STEPS], running=any(b["state"] == "running" for b in builds),
                        error=None)

    @app.post("/reports")
    async def build(request: Request):
        found, modes = allowed(request)
        form = await kit.checked_form(request, found)
        mode = str(form.get("mode") or "")
        reason = str(form.get("reason") or "").strip()
        problem = None
        if mode not in modes:
            problem = "Choose one of the kinds of report your roles allow."
        elif mode == "identified":
            if form.get("confirm_identified") != "yes":
                problem = "An identified report holds names and dates: tick the box that says you need it."
            elif not 10 <= len(reason) <= 500 or any(ord(c) < 32 for c in reason):
                problem = "Say why an identified report is needed (10 to 500 characters on one line)."
        if problem:
            builds = builds_of(engine, found.username)
            return kit.page(request, "reports_page.html", 400, visitor=found, modes=modes, describe=MODES,
                            builds=builds, labels=dict(STEPS), steps=[s for s, _ in STEPS],
                            running=any(b["state"] == "running" for b in builds), error=problem)
        start_build(engine, found.username, mode, pdf=form.get("pdf") == "yes",
                    reason=reason if mode == "identified" else None, run_in_thread=kit_runs_in_thread(app))
        return RedirectResponse("/reports", status_code=303)

    @app.get("/reports/{build_id}/{name}")
    def download(request: Request, build_id: str, name: str):
        found, _ = allowed(request)
        status = own_build(found, build_id)
        folder = reports_root(engine) / status["id"]
        if status["state"] != "done" or name not in ("report.html", "report.pdf", "adam.zip"):
            raise Refused(404, "There is no such file in this build.", found)
        kind = {"report.html": "html", "report.pdf": "pdf", "adam.zip": "adam"}[name]
        if kind not in status["files"]:
            raise Refused(404, "There is no such file in this build.", found)
        if kind == "adam":
            body, media = adam_zip(folder), "application/zip"
        else:
            body = (folder / "report" / status["files"][kind]).read_bytes()
            media = "text/html; charset=utf-8" if kind == "html" else "application/pdf"
        with transaction(engine) as session:
            write_event(session, "report_download", found.username, {
                "build": status["id"], "mode": status["mode"], "file": name,
                "sha256": hashlib.sha256(body).hexdigest()})
        stem = f"report-{status['mode']}-{status['id'][:6]}"
        filename = f"{stem}.zip" if kind == "adam" else f"{stem}.{kind}"
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def kit_runs_in_thread(app) -> bool:
    """Builds run in a background thread, except when the app says otherwise (tests build at once)."""
    return not getattr(app.state, "reports_inline", False)
