"""The web application: routes parse the request, ask ``access``, call one read or write function, render.

``create_app(engine)`` builds it for one database; ``app_from_environment`` is the factory ``earlyphase
serve`` hands to uvicorn, so every worker process builds its own from ``EARLYPHASE_DB``. No state lives in
the process: sessions are rows of the database (``sessions.py``).
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from earlyphase.access import AccessDenied, authenticate, may, sites_for
from earlyphase.access.accounts import list_users
from earlyphase.access.scope import EVERY_SITE
from earlyphase.derive.ledger import ledger_from_database
from earlyphase.derive.roster import casebook_visits, subject_roster, subject_site
from earlyphase.records.audit import write_event
from earlyphase.records.database import transaction
from earlyphase.web import dashboards, entry, escalation, reports, review
from earlyphase.web.kit import LOGIN_CSRF_COOKIE, SESSION_COOKIE, Kit, Refused
from earlyphase.web.security import SECURITY_HEADERS, same_token
from earlyphase.web.sessions import (
    IDLE_SECONDS,
    anchor_session_close,
    end_session,
    start_session,
    visitor_of,
)

HERE = Path(__file__).parent


# Each area of the application is a module with ``register(app, kit)``; adding an area is one line here.
AREAS: list = [entry.register, escalation.register, dashboards.register, reports.register, review.register]


def create_app(engine: Engine, *, idle_seconds: float = IDLE_SECONDS, secure_cookies: bool = False,
               today: date | None = None) -> FastAPI:
    """The app for one database; ``today`` fixes the date overdue forms are judged on (default: the real today)."""
    app = FastAPI(title="earlyphase", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescapes .html
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    kit = Kit(engine=engine, templates=templates, idle_seconds=idle_seconds, secure_cookies=secure_cookies,
              today=today)
    page, cookie, visitor, checked_form = kit.page, kit.cookie, kit.visitor, kit.checked_form

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        if exc.status == 401:
            return RedirectResponse("/login", status_code=303)
        return page(request, "error.html", exc.status, message=exc.message, visitor=exc.visitor)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = {404: "There is no such page.", 405: "This page does not take that kind of request."}.get(
            exc.status_code, "The request could not be served.")
        return page(request, "error.html", exc.status_code, message=message, visitor=None)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        fields = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        return page(request, "error.html", 400, message=f"Please fill in: {', '.join(fields)}.", visitor=None)

    @app.get("/")
    def home(request: Request):
        found = visitor_of(engine, request.cookies.get(SESSION_COOKIE), idle_seconds=idle_seconds)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        # Each person starts where their roles let them work: an admin, who sees no patient, at the users.
        admin_only = not may(found.grants, "view_subjects") and may(found.grants, "manage_users")
        return RedirectResponse("/admin/users" if admin_only else "/subjects", status_code=303)

    @app.get("/login")
    def login_form(request: Request):
        token = secrets.token_urlsafe(32)
        response = page(request, "login.html", csrf_token=token, error=None, visitor=None)
        cookie(response, LOGIN_CSRF_COOKIE, token)
        return response

    @app.post("/login")
    async def login(request: Request):
        form = dict(await request.form())
        if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
            raise Refused(403, "This form has expired or did not come from this site: reload the page and try again.")
        try:
            who = authenticate(engine, form.get("username"), form.get("password"), form.get("code") or None)
        except AccessDenied as denied:
            token = secrets.token_urlsafe(32)
            response = page(request, "login.html", 401, csrf_token=token, error=denied.problems[0].message,
                            visitor=None, username=str(form.get("username") or "")[:80])
            cookie(response, LOGIN_CSRF_COOKIE, token)
            return response
        # Rotation: the session cookie sent with the login request (if any) is ended, a new one issued.
        token = start_session(engine, who.user_id, previous_token=request.cookies.get(SESSION_COOKIE),
                              idle_seconds=idle_seconds)
        response = RedirectResponse("/", status_code=303)
        cookie(response, SESSION_COOKIE, token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @app.post("/logout")
    async def logout(request: Request):
        found = visitor(request)
        await checked_form(request, found)
        end_session(engine, request.cookies[SESSION_COOKIE])
        with transaction(engine) as session:
            write_event(session, "logout", found.username, "web session ended")
        anchor_session_close(engine)  # the head at close, kept outside the database for 'audit verify'
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/subjects")
    def subjects(request: Request):
        found = visitor(request)
        sites = sites_for(found.grants, "view_subjects")
        if sites is not EVERY_SITE and not sites:
            raise Refused(403, "Your roles do not include seeing subjects at any site.", found)
        rows = subject_roster(engine, sites)
        by_site: dict[str, list] = {}
        for row in rows:
            by_site.setdefault(row.site, []).append(row)
        shown = "every site" if sites is EVERY_SITE else ", ".join(sorted(sites))
        return page(request, "subjects.html", visitor=found, by_site=by_site, shown=shown, total=len(rows))

    @app.get("/subjects/{subject_id}")
    def subject(request: Request, subject_id: str):
        found = visitor(request)
        site = subject_site(engine, subject_id) if len(subject_id) <= 40 else None
        # Another site's subject answers exactly as a subject that does not exist: its existence is not told.
        if site is None or site not in sites_for(found.grants, "view_subjects"):
            raise Refused(404, "There is no such subject among the sites you may see.", found)
        row = next(r for r in subject_roster(engine, {site}) if r.subject_id == subject_id)
        as_of = today or date.today()
        visits = casebook_visits(ledger_from_database(engine, as_of, subject_id), subject_id)
        return page(request, "subject.html", visitor=found, subject=row, visits=visits, as_of=as_of)

    for register in AREAS:
        register(app, kit)

    @app.get("/admin/users")
    def users(request: Request):
        found = visitor(request)
        if not may(found.grants, "manage_users"):
            raise Refused(403, "Only an admin sees the list of users.", found)
        return page(request, "users.html", visitor=found, accounts=list_users(engine))

    return app


def app_from_environment() -> FastAPI:
    """The app for ``EARLYPHASE_DB`` (what ``earlyphase serve`` starts in each worker)."""
    from earlyphase.records import make_engine

    engine = make_engine(os.environ["EARLYPHASE_DB"], must_exist=True)
    return create_app(engine, secure_cookies=os.environ.get("EARLYPHASE_SECURE_COOKIES") == "1")
