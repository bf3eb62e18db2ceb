"""Logging in (password, then TOTP for those who have it) and lockout after repeated failures.

Every attempt is audited as an event (``login``, ``login_failed``, ``login_locked``) attributed to the
name given. The error shown to the person never says which of name, password or code was wrong, so
the door does not tell an attacker which user names exist.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select

from earlyphase.access import totp
from earlyphase.access.accounts import AccessDenied, Grant, grants_of
from earlyphase.access.passwords import check_password, hash_password
from earlyphase.access.roles import SIGNING_ROLES
from earlyphase.records.access_tables import UserCredential
from earlyphase.records.audit import write_event
from earlyphase.records.database import transaction
from earlyphase.records.tables import UserRecord

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
# Checked against when the name is unknown, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = hash_password("not-a-password-anyone-has")
REFUSED = "the user name, password or code is not right, or the account is locked or disabled"
REAUTH_REFUSED = ("the password or the code from your authenticator is not right (both are needed to sign), "
                  "or the account is locked")


@dataclass(frozen=True)
class LoggedIn:
    user_id: int
    username: str
    grants: tuple[Grant, ...]
    # the audit entry that records this login or re-authentication: a signature names it (capture.signing
    # checks it in the database, so this object alone proves nothing)
    event_id: int | None = None


def _loggable(username: object) -> bool:
    # A name that write_event would refuse is not looked up nor logged (it cannot be a user's).
    return (isinstance(username, str) and username.strip() != "" and len(username) <= 80
            and not any(c in username for c in "\r\n\t\0"))


def authenticate(engine: Engine, username: str, password: str, code: str | None, *,
                 now: float | None = None) -> LoggedIn:
    """Check name, password and (when the user has one, which every signer must) the TOTP code.

    Raises ``AccessDenied`` with one message for every kind of failure. After ``MAX_FAILURES`` wrong
    attempts in a row the account is locked for ``LOCK_SECONDS``; a locked account refuses even the
    right password. Each TOTP code is accepted once (a code seen on the wire cannot be replayed).
    """
    return _attempt(engine, username, password, code, now, need_code=False, events=("login", "login_failed"),
                    refusal=REFUSED)


def reauthenticate(engine: Engine, username: str, password: str, code: str | None, *,
                   now: float | None = None) -> LoggedIn:
    """Ask a logged-in person again for password AND TOTP code before an act that binds (a signature).

    21 CFR 11.200(a)(1): each signing is done with both components. A user without a second factor is
    refused (so no signature rests on a password alone). Failures count toward the same lockout as logins
    (a stolen session cannot guess the password here) and are audited as ``reauth_failed``; success as
    ``reauthenticated``. Raises ``AccessDenied`` with one message whatever was wrong.
    """
    return _attempt(engine, username, password, code, now, need_code=True,
                    events=("reauthenticated", "reauth_failed"), refusal=REAUTH_REFUSED)


def _attempt(engine: Engine, username: str, password: str, code: str | None, now: float | None, *,
             need_code: bool, events: tuple[str, str], refusal: str) -> LoggedIn:
    moment = time.time() if now is None else now
    name = username if _loggable(username) else None
    failure: str | None = None
    with transaction(engine) as session:
        user = cred = None
        if name is not None:
            user = session.execute(select(UserRecord).where(UserRecord.username == name)).scalar_one_or_none()
        if user is not None:
            cred = session.execute(select(UserCredential).where(UserCredential.user_id == user.id)).scalar_one_or_none()
        if cred is None:
            check_password(_DUMMY_HASH, password if isinstance(password, str) else "")
            failure = "unknown user or no credentials"
        elif cred.locked_until is not None and cred.locked_until > moment:
            failure = "locked"
        elif not isinstance(password, str) or not check_password(cred.password_hash, password):
            failure = "wrong password"
        elif not user.active:
            failure = "disabled"
        else:
            grants = grants_of(session, user.id)
            signer = any(g.role in SIGNING_ROLES for g in grants)
            if (signer or need_code) and not cred.totp_secret:
                failure = "no second factor"
            elif cred.totp_secret:
                step = _accepted_step(cred.totp_secret, code, moment)
                if step is None or (cred.totp_last_step is not None and step <= cred.totp_last_step):
                    failure = "wrong or reused code"
                else:
                    cred.totp_last_step = step
        if failure is None:
            cred.failed_logins = 0
            cred.locked_until = None
            event = write_event(session, events[0], user.username, {"second_factor": bool(cred.totp_secret)})
            return LoggedIn(user.id, user.username, grants, event.id)
        if cred is not None and failure != "locked":
            cred.failed_logins += 1
            if cred.failed_logins >= MAX_FAILURES:
                cred.locked_until = moment + LOCK_SECONDS
                cred.failed_logins = 0
                failure = "locked after repeated failures"
        if name is not None:
            write_event(session, events[1], name, {"why": failure})
    # The failed attempt is committed (counted and audited) before the refusal is raised.
    raise AccessDenied.single(events[0], "(hidden)", events[0], refusal)


def _accepted_step(secret: str, code: str | None, moment: float) -> int | None:
    """The time step whose code ``code`` is (within the allowed drift), or None."""
    if not isinstance(code, str):
        return None
    code = code.strip().replace(" ", "")
    step = int(moment // totp.STEP_SECONDS)
    for candidate in range(step - totp.DRIFT_STEPS, step + totp.DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.totp_now(secret, at=candidate * totp.STEP_SECONDS), code):
            return candidate
    return None
