"""Engines and transactions: a SQLite file by default, PostgreSQL by URL, one schema for both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from earlyphase.errors import ConfigurationError

DEFAULT_SQLITE_FILE = "trial.db"


def database_url(target: str | Path | None) -> str:
    """Turn a URL or a plain file path into a SQLAlchemy URL (a path means a SQLite file)."""
    if target is None:
        target = DEFAULT_SQLITE_FILE
    text = str(target)
    if "://" in text:
        if text.startswith("postgresql://") or text.startswith("postgres://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            text = "postgresql+psycopg://" + text.split("://", 1)[1]
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def make_engine(target: str | Path | None = None) -> Engine:
    """Create an engine. SQLite gets WAL, foreign keys on and synchronous=FULL (no lost commit on power loss)."""
    url = database_url(target)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling starts transactions late; we issue BEGIN IMMEDIATE
        # ourselves so a writer holds the lock for the whole unit of work (the audit chain needs it).
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if url.startswith("postgresql"):
        try:
            return create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                "PostgreSQL needs the psycopg driver: pip install 'earlyphase[postgres]'"
            ) from exc
    raise ConfigurationError(f"unsupported database URL {url!r}: use a SQLite file path or postgresql+psycopg://...")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN; the driver must not start its own transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back everything on any error."""
    session = session_factory(engine)()
    try:
        with session.begin():
            yield session
    finally:
        session.close()
