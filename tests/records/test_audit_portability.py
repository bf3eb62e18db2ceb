"""The same writes give the same audit hashes on SQLite and PostgreSQL (canonical JSON, fixed field order),
given the same audit key and the same clocks (on PostgreSQL the timestamp is the server's: fixed here too)."""

from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from earlyphase.records import make_engine, migrate, read_session, verify_audit
from earlyphase.records.tables import AuditEntry

from records_helpers import write_sample_trial


def audited_sample(url, monkeypatch):
    """Write the sample trial into a new database at ``url`` with a clock that starts at the same tick."""
    ticks = itertools.count()
    last = []

    def writer_clock():
        last.append(f"2026-01-01T00:00:{next(ticks):02d}.000000+00:00")
        return last[-1]

    monkeypatch.setattr("earlyphase.records.audit.utc_now", writer_clock)
    monkeypatch.setattr("earlyphase.records.audit.server_now", lambda bind: last[-1])
    engine = make_engine(url)
    try:
        migrate(engine)
        write_sample_trial(engine)
        assert verify_audit(engine).ok
        with read_session(engine) as s:
            return [(e.id, e.table_name, e.new_values, e.prev_hash, e.row_hash)
                    for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_hashes_identical_on_sqlite_and_postgresql(tmp_path, pg_url, monkeypatch):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        on_sqlite = audited_sample(f"sqlite:///{tmp_path / 'a.db'}", monkeypatch)
        on_postgresql = audited_sample(f"{pg_url}?options=-csearch_path%3D{schema}", monkeypatch)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    assert len(on_sqlite) == 9
    assert on_sqlite == on_postgresql


def test_hashes_are_reproducible(tmp_path, monkeypatch):
    """Same data and clock in two databases: the same chain (nothing random or local is hashed)."""
    first = audited_sample(tmp_path / "one.db", monkeypatch)
    second = audited_sample(tmp_path / "two.db", monkeypatch)
    assert first == second
    assert len({row[-1] for row in first}) == len(first)  # every entry's hash is distinct
