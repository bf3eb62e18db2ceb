"""Browser sessions kept in the database, so any number of server processes can serve one database.

The cookie holds a random token; the database holds only its SHA-256 (a copy of the table cannot be used
to log in). A session ends after ``IDLE_SECONDS`` without a request, at logout, or when the user is
disabled. Login always starts a new session (rotation), so a token planted before login is worthless.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select

from earlyphase.access.accounts import Grant, grants_of
from earlyphase.records.access_tables import WebSession
from earlyphase.records.audit import write_event
from earlyphase.records.database import transaction
from earlyphase.records.tables import UserRecord

IDLE_SECONDS = 30 * 60


@dataclass(frozen=True)
class Visitor:
    """The logged-in user behind a request."""

    session_id: int
    user_id: int
    username: str
    grants: tuple[Grant, ...]
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(engine: Engine, user_id: int, *, previous_token: str | None = None,
                  now: float | None = None, idle_seconds: float = IDLE_SECONDS) -> str:
    """A new session for ``user_id`` (ending the one ``previous_token`` named, and every idle one); returns
    the new token."""
    moment = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    expire_idle_sessions(engine, now=moment, idle_seconds=idle_seconds)
    with transaction(engine) as session:
        if previous_token:
            _end(session, previous_token)
        session.add(WebSession(token_sha256=_digest(token), user_id=user_id, csrf_token=secrets.token_urlsafe(32),
                               created_at=moment, last_seen_at=moment, ended=False))
    return token


def _end(session, token: str) -> WebSession | None:
    found = session.execute(select(WebSession).where(WebSession.token_sha256 == _digest(token))).scalar_one_or_none()
    if found is not None:
        found.ended = True
    return found


def end_session(engine: Engine, token: str) -> None:
    with transaction(engine) as session:
        _end(session, token)


def visitor_of(engine: Engine, token: str | None, *, now: float | None = None,
               idle_seconds: float = IDLE_SECONDS) -> Visitor | None:
    """The visitor a session token belongs to, or None (no such session, ended, idle too long, user disabled)."""
    if not token or len(token) > 200:
        return None
    moment = time.time() if now is None else now
    expired = None
    with transaction(engine) as session:
        found = session.execute(select(WebSession).where(WebSession.token_sha256 == _digest(token),
                                                         WebSession.ended.is_(False))).scalar_one_or_none()
        if found is None:
            return None
        user = session.get(UserRecord, found.user_id)
        if moment - found.last_seen_at > idle_seconds or user is None or not user.active:
            found.ended = True
            if user is not None and user.active:
                expired = user.username
                write_event(session, "session_expired", user.username, "web session ended after idle time")
        else:
            found.last_seen_at = moment
            return Visitor(found.id, user.id, user.username, grants_of(session, user.id), found.csrf_token)
    if expired is not None:
        anchor_session_close(engine)
    return None


def expire_idle_sessions(engine: Engine, *, now: float | None = None, idle_seconds: float = IDLE_SECONDS) -> int:
    """End every session idle longer than ``idle_seconds`` (each audited), anchoring the log once if any ended.

    A session whose person never comes back would otherwise stay open in the table; the sweep runs at
    each login, so closes happen without a timer process. Returns how many ended.
    """
    moment = time.time() if now is None else now
    with transaction(engine) as session:
        idle = session.execute(select(WebSession, UserRecord.username)
                               .join(UserRecord, UserRecord.id == WebSession.user_id)
                               .where(WebSession.ended.is_(False),
                                      WebSession.last_seen_at < moment - idle_seconds)).all()
        for web, username in idle:
            web.ended = True
            write_event(session, "session_expired", username, "web session ended after idle time")
    if idle:
        anchor_session_close(engine)
    return len(idle)


def anchor_session_close(engine: Engine) -> str | None:
    """Anchor the audit chain's head outside the database as a web session closes (``audit verify`` checks
    it). A missing anchor place must not keep anyone logged in: it is logged and the close goes on."""
    from earlyphase.errors import EarlyPhaseError
    from earlyphase.records.audit_anchor import anchor_head

    try:
        return anchor_head(engine, "session_close")
    except EarlyPhaseError as exc:
        logging.getLogger("earlyphase.web").warning("audit head not anchored at session close: %s", exc)
        return None
