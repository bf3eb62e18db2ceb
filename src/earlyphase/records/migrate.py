"""Schema migrations: bring a database to the current schema with Alembic, no alembic.ini needed.

The revisions live inside the package (``earlyphase/records/migrations``), so an installed
earlyphase can create or upgrade any database it is pointed at.

Changing the schema (developers): edit ``tables.py``, then write the next revision, drafted by
Alembic against a database at head, and review it by hand (never edit ``0001_initial.py``)::

    from alembic import command
    from earlyphase.records import make_engine, migrate
    from earlyphase.records.migrate import alembic_config

    engine = make_engine("/tmp/draft.db"); migrate(engine)
    with engine.begin() as conn:
        command.revision(alembic_config(conn), message="what changes", autogenerate=True, rev_id="0002")

``tests/records/test_migrations.py`` then proves the migrated schema equals the models on both backends.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection=None):
    """An Alembic ``Config`` built in code; ``connection`` (optional) is the one migrations run on."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade the database behind ``engine`` to ``revision`` (default: the newest) and return it.

    Safe to call on a new, empty database (creates every table) and on one already at head (no-op).
    The upgrade runs in one transaction: on SQLite and PostgreSQL DDL is transactional, so a failed
    migration leaves the schema as it was.
    """
    from alembic import command

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # SQLite rebuilds a table to change it (Alembic's batch mode); with foreign keys enforced,
            # dropping the old copy of a table other tables point to would fail. The pragma only takes
            # effect outside a transaction, so it is set on the driver connection before BEGIN; the
            # foreign keys are checked as a whole before the commit instead.
            _sqlite_pragma(connection, "foreign_keys = OFF")
        try:
            with connection.begin():
                command.upgrade(alembic_config(connection), revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the upgrade would leave rows that point at nothing: {broken[:5]}")
        finally:
            if sqlite:
                _sqlite_pragma(connection, "foreign_keys = ON")
    return current_revision(engine)


def _sqlite_pragma(connection, pragma: str) -> None:
    driver = connection.connection.driver_connection  # autocommit: runs now, outside any transaction
    driver.execute(f"PRAGMA {pragma}")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        connection.rollback()
    return revision


def head_revision() -> str | None:
    """The newest revision shipped with this version of earlyphase."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
