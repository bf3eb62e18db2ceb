"""Tables of ``earlyphase.access``: credentials, role grants per site, web sessions.

They sit beside the data tables (``tables.py``) but are not data: they are not exported, and their
changes are audited as events (``write_event``: who changed what for whom, never a secret), not
replayed by ``audit verify``. Timestamps are UTC ISO 8601 text, like the audit log's.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from earlyphase.records.tables import Base

_AUTOINCREMENT = {"sqlite_autoincrement": True}  # an id names one row forever, as in tables.py


class UserCredential(Base):
    """How a user proves who they are: an argon2id password hash and, for signers, a TOTP secret."""

    __tablename__ = "user_credentials"
    __table_args__ = (_AUTOINCREMENT,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # Needed in clear to check a code (RFC 6238 is symmetric); readable only with database access.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code is accepted once
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[float | None] = mapped_column(Float)  # Unix time
    password_set_at: Mapped[str] = mapped_column(String(32))


class RoleGrant(Base):
    """One role of one user at one site (``site_id`` NULL: at every site of the study)."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", "site_id"), _AUTOINCREMENT)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(40))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    granted_by: Mapped[str] = mapped_column(String(80))
    granted_at: Mapped[str] = mapped_column(String(32))


class WebSession(Base):
    """A logged-in browser: only the SHA-256 of its token is stored, so a database read cannot log in."""

    __tablename__ = "web_sessions"
    __table_args__ = (_AUTOINCREMENT,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)  # Unix time
    last_seen_at: Mapped[float] = mapped_column(Float)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)


ACCESS_TABLES = (UserCredential, RoleGrant, WebSession)
