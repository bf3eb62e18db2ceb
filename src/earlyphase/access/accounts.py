"""Managing accounts: add a user, grant or revoke a role at a site, disable, reset a password.

Each function is one transaction and leaves one or more audit entries attributed to ``actor``:
a new user is a data row (``users``, audited as an insert); credentials and role grants are
audited as events that say what changed, never the password or the TOTP secret.

Who may manage accounts: an active user holding ``admin``. A database with no admin yet accepts
its first accounts from whoever runs the command (someone with the database in hand already
holds everything); once an admin exists the door checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from earlyphase.access import totp
from earlyphase.access.passwords import hash_password, password_problem
from earlyphase.access.roles import ROLES, SIGNING_ROLES
from earlyphase.errors import Duplicate, InputError, NotFound, Problem
from earlyphase.records.access_tables import RoleGrant, UserCredential
from earlyphase.records.audit import row_values, write_audit, write_event
from earlyphase.records.database import transaction
from earlyphase.records.tables import SiteRecord, UserRecord

ALL_SITES = "ALL"
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{1,39}")


class AccessDenied(InputError):
    """The acting user may not do this."""


@dataclass(frozen=True)
class Grant:
    role: str
    site: str  # a site code, or ALL_SITES

    def __str__(self) -> str:
        return f"{self.role}@{self.site}"


@dataclass(frozen=True)
class Account:
    """What the account commands return: the user, their grants, and a new TOTP secret when one was made."""

    username: str
    active: bool
    grants: tuple[Grant, ...]
    has_password: bool
    has_totp: bool
    totp_secret: str | None = None  # shown once, when created
    totp_uri: str | None = None
    changed: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "active": self.active, "grants": [str(g) for g in self.grants],
                "has_password": self.has_password, "has_totp": self.has_totp,
                "totp_secret": self.totp_secret, "totp_uri": self.totp_uri, "changed": list(self.changed)}

    def summary(self) -> str:
        lines = [f"user {self.username}: {'active' if self.active else 'disabled'}; "
                 f"roles: {', '.join(map(str, self.grants)) or 'none'}; "
                 f"password: {'set' if self.has_password else 'none'}; second factor: "
                 f"{'TOTP' if self.has_totp else 'none'}"]
        lines += [f"  {c}" for c in self.changed]
        if self.totp_secret:
            lines.append(f"TOTP secret (shown once; enter it in an authenticator app): {self.totp_secret}")
            lines.append(f"  {self.totp_uri}")
        return "\n".join(lines)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_username(username: object) -> str:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise InputError.single("username", username, "username",
                                "a user name is 2 to 40 letters, digits, '.', '_' or '-', starting with a letter")
    return username


def check_password(password: object) -> str:
    problem = password_problem(password)
    if problem:
        # The value is never echoed: it is a secret even when it is a bad one.
        raise InputError.single("password", "(hidden)", "password", problem)
    return password  # type: ignore[return-value]


def parse_grant(text: object) -> tuple[str, str]:
    """``ROLE@SITE`` (or ``ROLE@ALL``) as (role, site)."""
    if not isinstance(text, str) or text.count("@") != 1:
        raise InputError.single("role", text, "role-at-site",
                                f"give a role as ROLE@SITE (a site code, or {ALL_SITES} for every site), "
                                f"e.g. coordinator@S01")
    role, site = (part.strip() for part in text.split("@"))
    if role not in ROLES:
        raise InputError.single("role", role, "role", f"unknown role; the roles are: {', '.join(ROLES)}")
    if not site:
        raise InputError.single("site", site, "site", f"give a site code, or {ALL_SITES}")
    return role, site


def _user(session: Session, username: str) -> UserRecord:
    found = session.execute(select(UserRecord).where(UserRecord.username == username)).scalar_one_or_none()
    if found is None:
        raise NotFound.single("username", username, "known-user", "no such user ('earlyphase user add' first)")
    return found


def known_account(session: Session, username: str) -> UserRecord:
    """The enabled account ``username`` (every write's actor must be one), else a refusal naming the fix."""
    found = session.execute(select(UserRecord).where(UserRecord.username == username)).scalar_one_or_none()
    if found is None:
        raise NotFound.single("username", username, "known-user",
                              f"{username!r} is not a user of this trial database and every change is attributed to "
                              f"a known user: give --user with your user name, or ask an admin to run "
                              f"'earlyphase user add {username} --role ROLE@SITE'")
    if not found.active:
        raise AccessDenied.single("username", username, "enabled-user",
                                  f"user {username!r} is disabled and can no longer change data; ask an admin "
                                  f"for an account ('earlyphase user add')")
    return found


def register_account(session: Session, username: str, *, actor: str, reason: str) -> UserRecord:
    """An account with no password nor role (inside the caller's transaction), audited as an insert.

    It attributes what it writes from the CLI or the API (the founder of a trial, a data generator)
    and can never log in to the web until ``user add`` or ``user reset-password`` gives it a password.
    An existing account is returned as it is.
    """
    check_username(username)
    found = session.execute(select(UserRecord).where(UserRecord.username == username)).scalar_one_or_none()
    if found is not None:
        return found
    # roles are grants (role_grants); the users.role column predates them and says nothing here
    user = UserRecord(username=username, role="none", active=True)
    session.add(user)
    session.flush()
    write_audit(session, "insert", user, username=actor, reason=reason)
    return user


def add_account(engine: Engine, username: str, *, actor: str, reason: str = "account added",
                roles: tuple[str, ...] | list[str] = ()) -> Account:
    """An account without a password (see ``register_account``), with ``roles`` (``ROLE@SITE``) if given, added
    by an admin (or, before any admin exists, by a known user such as the founder): for scripts and data
    loads that write through the API under their own name, and for accounts a person later gets a
    password for with ``earlyphase user reset-password`` (so no password is ever written down)."""
    parsed = [parse_grant(r) for r in roles]
    with transaction(engine) as session:
        require_admin(session, actor)
        existed = session.execute(select(UserRecord.id).where(UserRecord.username == username)).first()
        user = register_account(session, username, actor=actor, reason=reason)
        changed = ["already known" if existed else "created"]
        changed += [_grant(session, user, role, site, actor) for role, site in parsed]
        return _account(session, user, changed)


def _site_id(session: Session, site: str) -> int | None:
    if site == ALL_SITES:
        return None
    found = session.execute(select(SiteRecord.id).where(SiteRecord.code == site)).scalar_one_or_none()
    if found is None:
        codes = list(session.execute(select(SiteRecord.code).order_by(SiteRecord.code)).scalars())
        raise NotFound.single("site", site, "known-site",
                              f"no such site; the sites are: {', '.join(codes) or '(none yet)'} or {ALL_SITES}")
    return found


def _credential(session: Session, user: UserRecord) -> UserCredential | None:
    return session.execute(select(UserCredential).where(UserCredential.user_id == user.id)).scalar_one_or_none()


def grants_of(session: Session, user_id: int) -> tuple[Grant, ...]:
    rows = session.execute(
        select(RoleGrant.role, SiteRecord.code).outerjoin(SiteRecord, SiteRecord.id == RoleGrant.site_id)
        .where(RoleGrant.user_id == user_id).order_by(RoleGrant.role, SiteRecord.code)
    ).all()
    return tuple(Grant(role, code or ALL_SITES) for role, code in rows)


def require_admin(session: Session, actor: str) -> None:
    """Refuse ``actor`` unless they may manage accounts: an active admin, or before any admin a known user."""
    admins = session.execute(
        select(UserRecord.username).join(RoleGrant, RoleGrant.user_id == UserRecord.id)
        .where(RoleGrant.role == "admin", UserRecord.active.is_(True))
    ).scalars().all()
    if admins and actor not in admins:
        raise AccessDenied.single("user", actor, "admin-only",
                                  "only an active admin manages users: give --user with an admin's name")
    if not admins:
        known_account(session, actor)  # before the first admin: the founder (or another known user) starts


_require_admin = require_admin


def _account(session: Session, user: UserRecord, changed: list[str], secret: str | None = None) -> Account:
    cred = _credential(session, user)
    return Account(username=user.username, active=bool(user.active), grants=grants_of(session, user.id),
                   has_password=cred is not None, has_totp=bool(cred and cred.totp_secret),
                   totp_secret=secret, totp_uri=totp.provisioning_uri(secret, user.username) if secret else None,
                   changed=tuple(changed))


def _grant(session: Session, user: UserRecord, role: str, site: str, actor: str) -> str:
    site_id = _site_id(session, site)
    exists = session.execute(select(RoleGrant.id).where(
        RoleGrant.user_id == user.id, RoleGrant.role == role,
        RoleGrant.site_id.is_(None) if site_id is None else RoleGrant.site_id == site_id)).first()
    if exists:
        return f"already {role}@{site}"
    session.add(RoleGrant(user_id=user.id, role=role, site_id=site_id, granted_by=actor, granted_at=_now()))
    session.flush()
    write_event(session, "role_granted", actor, {"user": user.username, "role": role, "site": site})
    return f"granted {role}@{site}"


def _needs_totp(session: Session, user: UserRecord) -> bool:
    return any(g.role in SIGNING_ROLES for g in grants_of(session, user.id))


def add_user(engine: Engine, username: str, password: str, *, roles: list[str], actor: str,
             full_name: str | None = None, with_totp: bool = False) -> Account:
    """Create a user with a password and at least one ``ROLE@SITE``; a TOTP secret when asked or when a role signs.

    A user already known by name (registered when they first wrote data) gets credentials here.
    """
    check_username(username)
    check_password(password)
    parsed = [parse_grant(r) for r in roles]
    if not parsed:
        raise InputError.single("role", None, "role-required",
                                "give at least one --role ROLE@SITE (denied by default: a user without a role sees nothing)")
    if full_name is not None and (len(full_name) > 200 or any(ord(c) < 32 for c in full_name)):
        raise InputError.single("full_name", full_name[:40], "full-name", "a full name is one line of at most 200 characters")
    with transaction(engine) as session:
        _require_admin(session, actor)
        changed = []
        user = session.execute(select(UserRecord).where(UserRecord.username == username)).scalar_one_or_none()
        if user is None:
            user = UserRecord(username=username, full_name=full_name, role=parsed[0][0], active=True)
            session.add(user)
            session.flush()
            write_audit(session, "insert", user, username=actor, reason="user add")
            changed.append("created")
        elif _credential(session, user) is not None:
            raise Duplicate.single("username", username, "unique-user",
                                   "this user already exists; use 'user set-role' or 'user reset-password'")
        for role, site in parsed:
            changed.append(_grant(session, user, role, site, actor))
        secret = totp.new_secret() if with_totp or _needs_totp(session, user) else None
        session.add(UserCredential(user_id=user.id, password_hash=hash_password(password), totp_secret=secret,
                                   failed_logins=0, password_set_at=_now()))
        write_event(session, "credentials_set", actor, {"user": username, "totp": secret is not None})
        changed.append("password set" + (", TOTP secret made" if secret else ""))
        return _account(session, user, changed, secret)


def set_role(engine: Engine, username: str, grant: str, *, actor: str, revoke: bool = False) -> Account:
    """Grant (or with ``revoke`` take away) ``ROLE@SITE``. Granting a signing role makes a TOTP secret if missing."""
    role, site = parse_grant(grant)
    with transaction(engine) as session:
        _require_admin(session, actor)
        user = _user(session, username)
        changed, secret = [], None
        if revoke:
            site_id = _site_id(session, site)
            found = session.execute(select(RoleGrant).where(
                RoleGrant.user_id == user.id, RoleGrant.role == role,
                RoleGrant.site_id.is_(None) if site_id is None else RoleGrant.site_id == site_id)).scalar_one_or_none()
            if found is None:
                raise NotFound.single("role", grant, "held-role", f"{username} does not hold {role}@{site}")
            session.delete(found)
            session.flush()
            write_event(session, "role_revoked", actor, {"user": username, "role": role, "site": site})
            changed.append(f"revoked {role}@{site}")
        else:
            changed.append(_grant(session, user, role, site, actor))
            cred = _credential(session, user)
            if role in SIGNING_ROLES and cred is not None and not cred.totp_secret:
                secret = cred.totp_secret = totp.new_secret()
                write_event(session, "credentials_set", actor, {"user": username, "totp": True})
                changed.append("TOTP secret made (signers need a second factor)")
        return _account(session, user, changed, secret)


def disable_user(engine: Engine, username: str, *, actor: str) -> Account:
    """Disable a user: no more logins, their web sessions end; their name stays on what they wrote."""
    from earlyphase.records.access_tables import WebSession

    with transaction(engine) as session:
        _require_admin(session, actor)
        user = _user(session, username)
        if not user.active:
            return _account(session, user, ["already disabled"])
        before = row_values(user)
        user.active = False
        session.flush()
        write_audit(session, "update", user, username=actor, old_values=before, reason="user disable")
        for web in session.execute(select(WebSession).where(WebSession.user_id == user.id,
                                                            WebSession.ended.is_(False))).scalars():
            web.ended = True
        return _account(session, user, ["disabled"])


def reset_password(engine: Engine, username: str, password: str, *, actor: str, new_totp: bool = False) -> Account:
    """Set a new password (and with ``new_totp`` a new TOTP secret); clears a lockout."""
    check_password(password)
    with transaction(engine) as session:
        _require_admin(session, actor)
        user = _user(session, username)
        cred = _credential(session, user)
        secret = None
        if new_totp or (cred is None and _needs_totp(session, user)) or (
                cred is not None and not cred.totp_secret and _needs_totp(session, user)):
            secret = totp.new_secret()
        if cred is None:
            cred = UserCredential(user_id=user.id, failed_logins=0)
            session.add(cred)
        cred.password_hash = hash_password(password)
        cred.password_set_at = _now()
        cred.failed_logins = 0
        cred.locked_until = None
        if secret:
            cred.totp_secret, cred.totp_last_step = secret, None
        session.flush()
        write_event(session, "credentials_set", actor, {"user": username, "totp": secret is not None,
                                                        "reset": True})
        return _account(session, user, ["password reset" + (", new TOTP secret" if secret else "")], secret)


def show_user(engine: Engine, username: str) -> Account:
    from earlyphase.records.database import read_session

    with read_session(engine) as session:
        return _account(session, _user(session, username), [])


def list_users(engine: Engine) -> list[Account]:
    """Every user with their grants and whether they have a password and a second factor (never a secret)."""
    from earlyphase.records.database import read_session

    with read_session(engine) as session:
        users = session.execute(select(UserRecord).order_by(UserRecord.username)).scalars().all()
        return [_account(session, user, []) for user in users]
