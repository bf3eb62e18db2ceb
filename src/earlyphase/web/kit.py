"""What every route module shares: the database, the templates, and the three steps of a request.

A route module (``earlyphase.web.<area>``) has ``register(app, kit)`` and uses ``kit.visitor`` (who is asking,
or a redirect to the login page), ``kit.checked_form`` (the posted form, refused without the session's CSRF
token) and ``kit.page`` (render a template). ``Refused`` ends a request with an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from earlyphase.web.security import same_token
from earlyphase.web.sessions import Visitor, visitor_of

SESSION_COOKIE = "ep_session"
LOGIN_CSRF_COOKIE = "ep_login_csrf"  # login has no session yet: a double-submit token guards its form


class Refused(Exception):
    """Ends a request with an error page: ``status`` and a sentence for the person."""

    def __init__(self, status: int, message: str, visitor: Visitor | None = None):
        self.status, self.message, self.visitor = status, message, visitor


@dataclass(frozen=True)
class Kit:
    engine: Engine
    templates: Jinja2Templates
    idle_seconds: float
    secure_cookies: bool
    today: date | None  # fixes the date overdue forms are judged on (tests); None: the real today

    def as_of(self) -> date:
        return self.today or date.today()

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def cookie(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(name, value, httponly=True, samesite="strict", secure=self.secure_cookies, path="/")

    def visitor(self, request: Request) -> Visitor:
        found = visitor_of(self.engine, request.cookies.get(SESSION_COOKIE), idle_seconds=self.idle_seconds)
        if found is None:
            raise Refused(401, "Please log in.")
        return found

    async def checked_form(self, request: Request, found: Visitor) -> dict[str, Any]:
        form = dict(await request.form())
        if not same_token(found.csrf_token, form.get("csrf_token")):
            raise Refused(403, "This form has expired or did not come from this site: reload the page and try again.")
        return form
