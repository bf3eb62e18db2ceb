"""Shared fixtures: the databases every area's tests run on.

- ``db_url``: a URL to a fresh, EMPTY database, once per backend:
  ``sqlite`` (a file in tmp_path, always) and ``postgresql`` (a private schema in the test
  database, so tests never see each other's rows). Pass it to ``make_engine`` or to the CLI's ``--db``.
- ``engine``: an engine on ``db_url`` already migrated to the newest schema (``migrate``), disposed after.
- ``pg_url``: the PostgreSQL server URL in use, or a skip (for tests that only make sense there).

PostgreSQL comes from ``EARLYPHASE_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it is unreachable the postgresql
cases skip with the reason, unless ``EARLYPHASE_REQUIRE_PG=1`` (CI): then they fail.
Tests that run on PostgreSQL carry the ``postgres`` marker (``-m "not postgres"`` leaves them out).
"""

from __future__ import annotations

import os
import shutil
import uuid
from functools import lru_cache
from urllib.parse import quote

import pytest
from sqlalchemy import event

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# One audit key for every database the tests make (the schema templates below are copied between
# databases, fingerprint included), and a private config folder for the audit anchors of PostgreSQL
# databases: set before anything runs, so CLI subprocesses inherit them. Tests of the default key
# places remove EARLYPHASE_AUDIT_KEY themselves.
os.environ.setdefault("EARLYPHASE_AUDIT_KEY", __import__("secrets").token_hex(32))
os.environ["XDG_CONFIG_HOME"] = __import__("tempfile").mkdtemp(prefix="earlyphase-test-config-")


def _pg_server_url() -> str:
    return os.environ.get("EARLYPHASE_TEST_PG_URL") or DEFAULT_PG_URL


def _pg_required() -> bool:
    return os.environ.get("EARLYPHASE_REQUIRE_PG", "").strip().lower() in ("1", "true", "yes")


@lru_cache(maxsize=1)
def _pg_unreachable_reason() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per session)."""
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(_pg_server_url(), connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any failure means: no usable server
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {_pg_server_url()} ({first_line})"
    return None


def _with_search_path(url: str, schema: str) -> str:
    # libpq "options" sets the schema for every connection made from this URL (also in subprocesses).
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL server URL (skips, or fails in CI, when there is none)."""
    reason = _pg_unreachable_reason()
    if reason:
        if _pg_required():
            pytest.fail(f"{reason}, and EARLYPHASE_REQUIRE_PG=1 asks for it")
        pytest.skip(reason + "; point EARLYPHASE_TEST_PG_URL at a reachable server to run these")
    return _pg_server_url()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A fresh, empty database, once on SQLite and once on PostgreSQL (see the module docstring)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'trial.db'}"
        return
    server = request.getfixturevalue("pg_url")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _with_search_path(server, schema)
        with admin.connect() as conn:
            # Never wait forever on a connection a test left open; a leftover schema is harmless.
            conn.execute(text("SET lock_timeout = '5s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


class _SchemaTemplates:
    """Gives fresh databases the migrated schema fast: ``migrate`` runs once per backend per session.

    SQLite: the first migrated file is copied. PostgreSQL: the statements the first migration sent
    (everything but its introspection SELECTs) are recorded and replayed, exactly as sent, into
    each new schema. The result is the schema ``migrate`` makes (tests/records checks both paths).
    """

    def __init__(self, directory):
        self.directory = directory
        self.sqlite_file = None
        self.pg_statements = None

    def migrated_engine(self, db_url: str):
        from earlyphase.records import make_engine, migrate

        if db_url.startswith("sqlite"):
            path = db_url.split(":///", 1)[1]
            if self.sqlite_file is None:
                template = self.directory / "template.db"
                eng = make_engine(template)
                migrate(eng)
                eng.dispose()  # the last connection closing folds the WAL back into the file
                self.sqlite_file = template
            shutil.copyfile(self.sqlite_file, path)
            return make_engine(db_url)
        eng = make_engine(db_url)
        if self.pg_statements is None:
            recorded = []

            def record(conn, cursor, statement, parameters, context, executemany):
                if not statement.lstrip().upper().startswith("SELECT"):
                    recorded.append((statement, parameters, executemany))

            event.listen(eng, "before_cursor_execute", record)
            migrate(eng)
            event.remove(eng, "before_cursor_execute", record)
            self.pg_statements = recorded
            return eng
        raw = eng.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters, executemany in self.pg_statements:
                if executemany:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
            raw.commit()
        finally:
            raw.close()
        return eng


@pytest.fixture(scope="session")
def _schema_templates(tmp_path_factory) -> _SchemaTemplates:
    return _SchemaTemplates(tmp_path_factory.mktemp("schema-template"))


@pytest.fixture
def engine(db_url, _schema_templates):
    """An engine on ``db_url`` with the schema migrated to head (as ``migrate`` makes it)."""
    eng = _schema_templates.migrated_engine(db_url)
    yield eng
    eng.dispose()
