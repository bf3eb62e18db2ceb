"""Known users for tests: every write's actor must be an account of the trial database.

``add_users(target, "dm", "dr.li")`` makes each name an account (no password nor role: it acts from
the API and the CLI, it cannot log in), added by the founder unless ``actor`` is given.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from earlyphase.access import add_account
from earlyphase.records import make_engine, read_session
from earlyphase.records.tables import UserRecord


def add_users(target, *names: str, actor: str | None = None) -> None:
    """``target``: a Trial, an Engine, a database URL or a SQLite path."""
    engine = getattr(target, "engine", target)
    own = not isinstance(engine, Engine)
    if own:
        engine = make_engine(str(engine), must_exist=True)
    try:
        if actor is None:
            with read_session(engine) as session:  # the founder: the first account
                actor = session.execute(select(UserRecord.username).order_by(UserRecord.id).limit(1)).scalar_one()
        for name in names:
            add_account(engine, name, actor=actor, reason="test user")
    finally:
        if own:
            engine.dispose()
