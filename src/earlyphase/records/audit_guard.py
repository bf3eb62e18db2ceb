"""The triggers that make the audit tables append-only, and the check that they are still in place.

A slip in application code cannot rewrite history while they stand (UPDATE and DELETE raise, and on
PostgreSQL TRUNCATE too). Someone with owner rights can drop, replace or disable them; ``audit verify``
compares what the database holds with these definitions and names any difference.

The ``audit_log`` definitions are those revision 0001 created (written there as a frozen copy);
revision 0004 adds the same protection to ``audit_keys``.
"""

from __future__ import annotations

import re

from sqlalchemy import text

GUARDED_TABLES = ("audit_log", "audit_keys")
PG_FUNCTION = "audit_log_append_only"
PG_FUNCTION_BODY = " BEGIN RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP; END "


def sqlite_trigger_sql(table: str, verb: str) -> str:
    return (f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} is not allowed'); END")


def pg_trigger_sql(table: str) -> list[tuple[str, str]]:
    """(trigger name, CREATE statement) for one table on PostgreSQL."""
    return [
        (f"{table}_no_update_delete",
         f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
         f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"),
        (f"{table}_no_truncate",
         f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
         f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"),
    ]


def expected_triggers(dialect: str, tables: tuple[str, ...] = GUARDED_TABLES) -> dict[str, str]:
    """Trigger name -> its CREATE statement, for the tables given."""
    if dialect == "sqlite":
        return {f"{t}_no_{verb.lower()}": sqlite_trigger_sql(t, verb) for t in tables for verb in ("UPDATE", "DELETE")}
    return {name: sql for t in tables for name, sql in pg_trigger_sql(t)}


def create_triggers(bind, tables: tuple[str, ...]) -> None:
    """Create the append-only triggers of ``tables`` (the PostgreSQL function must exist: revision 0001)."""
    for sql in expected_triggers(bind.dialect.name, tables).values():
        bind.execute(text(sql))


def drop_triggers(bind, tables: tuple[str, ...]) -> None:
    postgresql = bind.dialect.name == "postgresql"
    for name in expected_triggers(bind.dialect.name, tables):
        table = next(t for t in tables if name.startswith(t + "_no_"))
        bind.execute(text(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else "")))


def _squash(sql: str | None) -> str:
    return re.sub(r"\s+", " ", (sql or "").strip()).rstrip(";").lower()


def trigger_problems(bind) -> list[str]:
    """Sentences naming every append-only trigger that is missing, altered or disabled (empty: all in place)."""
    dialect = bind.dialect.name
    expected = expected_triggers(dialect)
    problems: list[str] = []
    if dialect == "sqlite":
        found = dict(bind.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_log', 'audit_keys')"
        )).all())
        for name, sql in expected.items():
            if name not in found:
                problems.append(f"the append-only trigger {name} is missing: the table can be rewritten")
            elif _squash(found[name]) != _squash(sql):
                problems.append(f"the append-only trigger {name} was replaced by another definition: {found[name]}")
        return problems
    rows = bind.execute(text(
        "SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid), c.relname FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.oid IN (to_regclass('audit_log'), to_regclass('audit_keys'))"
    )).all()
    found = {name: (enabled, definition) for name, enabled, definition, _ in rows}
    for name, sql in expected.items():
        if name not in found:
            problems.append(f"the append-only trigger {name} is missing: the table can be rewritten")
            continue
        enabled, definition = found[name]
        if enabled in ("D", b"D"):
            problems.append(f"the append-only trigger {name} is disabled")
        if not _same_pg_trigger(definition, sql):
            problems.append(f"the append-only trigger {name} was replaced by another definition: {definition}")
    body = bind.execute(text(
        "SELECT p.prosrc FROM pg_proc p WHERE p.oid = to_regproc(:name)"), {"name": PG_FUNCTION}).scalar()
    if body is None:
        problems.append(f"the function {PG_FUNCTION}() behind the append-only triggers is missing")
    elif _squash(body) != _squash(PG_FUNCTION_BODY):
        problems.append(f"the function {PG_FUNCTION}() behind the append-only triggers was changed: {body.strip()}")
    return problems


def _same_pg_trigger(definition: str, expected: str) -> bool:
    # pg_get_triggerdef qualifies the table with its schema and lists the events in its own order
    # (DELETE OR UPDATE); compare without the schema and in that order.
    found = _squash(re.sub(r"\bON \w+\.", "ON ", definition))
    return found == _squash(expected).replace("update or delete", "delete or update")
