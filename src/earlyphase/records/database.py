"""Engines and transactions: a SQLite file by default, PostgreSQL by URL, one schema for both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from earlyphase.errors import ConfigurationError, NotFound

DEFAULT_SQLITE_FILE = "trial.db"

# How long a writer waits for another one to finish before giving up, on both backends.
WRITER_WAIT_SECONDS = 30

# PostgreSQL advisory-lock key every writing transaction holds (any fixed 64-bit number; "EPWRITE1").
WRITER_LOCK_KEY = int.from_bytes(b"EPWRITE1", "big")

# Execution option marking a connection whose transactions only read (see ``read_session``).
READ_ONLY_OPTION = "earlyphase_read_only"


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


def make_engine(target: str | Path | None = None, *, must_exist: bool = False) -> Engine:
    """Create an engine. SQLite gets WAL, foreign keys on and synchronous=FULL (no lost commit on power loss).

    ``must_exist=True`` refuses a SQLite path that is not an existing file (instead of silently
    creating an empty database), for commands that read a trial rather than create one.
    """
    url = database_url(target)
    if url.startswith("sqlite"):
        if must_exist:
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if not path or path == ":memory:" or not Path(path).is_file():
                raise NotFound.single(
                    "db", str(target), "database exists",
                    "there is no database file here; create one with 'earlyphase init' or check the path",
                )
        engine = create_engine(url, connect_args={"timeout": WRITER_WAIT_SECONDS})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "handle_error", _explain_connect_error)
        return engine
    if url.startswith("postgresql"):
        try:
            engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                "PostgreSQL needs the psycopg driver: pip install 'earlyphase[postgres]'"
            ) from exc
        event.listen(engine, "handle_error", _explain_connect_error)
        return engine
    raise ConfigurationError(f"unsupported database URL {url!r}: use a SQLite file path or postgresql+psycopg://...")


def _explain_connect_error(context) -> None:
    """A database that cannot be opened is a setup problem the person can fix: say which and why."""
    if context.connection is not None or context.is_pre_ping:
        return  # an error in a statement: the caller's to handle
    reason = str(context.original_exception).strip().splitlines()
    where = context.engine.url.render_as_string(hide_password=True) if context.engine is not None else "database"
    raise ConfigurationError(
        f"cannot open {where}: {reason[0] if reason else type(context.original_exception).__name__}"
    ) from context.original_exception


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN; the driver must not start its own transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin(conn) -> None:
    # pysqlite's own transaction handling starts transactions late; we issue BEGIN IMMEDIATE
    # ourselves so a writer holds the lock for the whole unit of work (the audit chain needs it).
    # A reader (read_session) begins a deferred transaction instead: in WAL mode it reads one
    # consistent snapshot and never takes the write lock, so reports do not block data entry.
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    from earlyphase.records.bounds import check_pending

    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    # lengths, integer range and NUL held the same on SQLite and PostgreSQL (see records/bounds.py)
    event.listen(factory, "before_flush", check_pending)
    return factory


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back everything on any error.

    Writers take turns on both backends: SQLite by BEGIN IMMEDIATE, PostgreSQL by a
    transaction-scoped advisory lock taken first. One order of locks for every writer means no
    deadlock between two captures (say, a duplicate enrolment racing the audit-log lock).
    For reading only, use ``read_session``: it takes neither lock.
    """
    session = session_factory(engine)()
    try:
        with session.begin():
            if engine.dialect.name == "postgresql":
                # Wait for another writer at most as long as SQLite does (its busy timeout), then fail.
                session.execute(text(f"SET LOCAL lock_timeout = '{WRITER_WAIT_SECONDS}s'"))
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})
            yield session
    finally:
        session.close()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work: one consistent snapshot of the database, never a write lock.

    SQLite: a deferred transaction with ``PRAGMA query_only`` (a write raises); in WAL mode it does
    not block writers nor wait for them. PostgreSQL: ``REPEATABLE READ READ ONLY``, so every query in
    the block sees the same committed state. Always rolled back at the end.
    """
    connection = engine.connect()
    sqlite = engine.dialect.name == "sqlite"
    try:
        if sqlite:
            connection.execution_options(**{READ_ONLY_OPTION: True})
        else:
            connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        connection.begin()
        if sqlite:
            connection.exec_driver_sql("PRAGMA query_only = ON")
        session = Session(bind=connection, autoflush=False)
        try:
            yield session
        finally:
            session.close()
            if connection.in_transaction():
                connection.rollback()
    finally:
        if sqlite:
            # The connection returns to the pool: it must write again for the next user.
            connection.exec_driver_sql("PRAGMA query_only = OFF")
        connection.close()
