"""The shipped Alembic migrations create exactly the schema in earlyphase.records.tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from earlyphase.records import current_revision, head_revision, make_engine, migrate
from earlyphase.records.tables import ACCESS_TABLES, REVIEW_TABLES, Base, DATA_TABLES


def test_migrated_schema_equals_the_models(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        assert_schema_equals_models(engine)
    finally:
        engine.dispose()


def test_engine_fixture_schema_equals_the_models(engine):
    """The shared ``engine`` fixture copies/replays one migration: it must give the same schema."""
    assert_schema_equals_models(engine)
    assert current_revision(engine) == head_revision()


def assert_schema_equals_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []
    tables = set(inspect(engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    access = {m.__tablename__ for m in ACCESS_TABLES + REVIEW_TABLES}
    assert {m.__tablename__ for m in DATA_TABLES} | {"audit_log", "audit_keys"} | access == set(Base.metadata.tables)


def test_constraint_names_match_the_models(engine):
    # compare_metadata does not compare constraint names; later revisions rely on them.
    insp = inspect(engine)
    for table in Base.metadata.sorted_tables:
        expected_uq = {c.name for c in table.constraints if c.__class__.__name__ == "UniqueConstraint"}
        assert {u["name"] for u in insp.get_unique_constraints(table.name)} == expected_uq, table.name
        expected_fk = {c.name for c in table.foreign_key_constraints}
        assert {f["name"] for f in insp.get_foreign_keys(table.name)} == expected_fk, table.name
        # PostgreSQL also lists the index behind each unique constraint.
        indexes = {i["name"] for i in insp.get_indexes(table.name)} - expected_uq
        assert indexes == {i.name for i in table.indexes}, table.name


def test_sqlite_tables_never_reuse_ids(tmp_path):
    eng = make_engine(tmp_path / "t.db")
    migrate(eng)
    with eng.connect() as conn:
        sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
    eng.dispose()
    for table in Base.metadata.tables:
        assert "AUTOINCREMENT" in sql[table], table


def test_migrate_is_idempotent_and_reports_revision(db_url):
    eng = make_engine(db_url)
    try:
        assert current_revision(eng) is None
        head = head_revision()
        assert migrate(eng) == head
        assert migrate(eng) == head
        assert current_revision(eng) == head
    finally:
        eng.dispose()


def test_downgrade_to_base_and_back(db_url):
    from alembic import command

    from earlyphase.records.migrate import alembic_config

    eng = make_engine(db_url)
    try:
        migrate(eng)
        with eng.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
        assert migrate(eng) == head_revision()
    finally:
        eng.dispose()
