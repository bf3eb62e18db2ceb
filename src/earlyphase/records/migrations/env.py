"""Alembic environment for the earlyphase trial database.

Run programmatically by ``earlyphase.records.migrate``: the caller hands over an open
connection in ``config.attributes["connection"]``, so no alembic.ini or URL is needed.
Run from the command line (``alembic -x db=URL ...`` with a config pointing here), it builds
an engine from ``-x db=...`` the same way the rest of earlyphase does.
"""

from __future__ import annotations

from alembic import context

from earlyphase.records.tables import Base

target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from earlyphase.records.database import make_engine

    target = context.get_x_argument(as_dictionary=True).get("db")
    engine = make_engine(target)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover - we never emit SQL scripts
    raise SystemExit("earlyphase migrations run online only: use earlyphase.records.migrate(engine)")
run_migrations_online()
