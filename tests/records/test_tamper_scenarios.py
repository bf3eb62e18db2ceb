"""The tampering table: what someone with full access to the DATABASE (but not to the audit key, nor to the
anchor file beside it) can do, each on SQLite and PostgreSQL, and the finding ``audit verify`` names.

Every scenario starts from the audited sample trial, verified once (as a data manager does routinely,
which anchors the head outside the database), and a careful attacker who puts the append-only triggers
back after editing (but for the scenarios about the triggers themselves). docs/audit.md lists the table.
"""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import inspect, select, text

from earlyphase.records import make_engine, migrate, read_session, transaction, verify_audit
from earlyphase.records.audit import GENESIS_HASH, HASHED_FIELDS, entry_hash, write_event
from earlyphase.records.audit_anchor import anchor_path
from earlyphase.records.audit_guard import create_triggers, drop_triggers
from earlyphase.records.audit_key import AuditKey
from earlyphase.records.audit_verify import (
    ANCHOR_BROKEN, ANCHOR_FORGED, CHAIN_BROKEN, CLOCK_SKEW, KEY_MISMATCH, TIME_BACKWARDS, TRIGGERS,
)
from earlyphase.records.tables import AuditEntry, Base, Patient

from records_helpers import add_audited, write_sample_trial

GUARDED = ("audit_log", "audit_keys")


def _log(engine) -> list[AuditEntry]:
    with read_session(engine) as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        s.expunge_all()
    return entries


def _sql(engine, *statements: str, unguarded: bool = False, **params) -> None:
    """Run statements as a SQL client would; with ``unguarded`` the triggers are dropped first and put back."""
    with engine.begin() as conn:
        if unguarded:
            drop_triggers(conn, GUARDED)
        for statement in statements:
            conn.execute(text(statement), params)
        if unguarded:
            create_triggers(conn, GUARDED)


def _more_work(engine) -> None:
    """Proper, audited work after the first verification: a new patient and an event."""
    with transaction(engine) as session:
        site_id = session.scalar(select(Patient.site_id).limit(1))
        add_audited(session, Patient(subject_id="NK-003", site_id=site_id, sex="F", birth_year=1970, ecog=0,
                                     consent_date=_date("2015-03-01"), enrolment_date=_date("2015-03-02"),
                                     protocol_version=1), subject_id="NK-003")
        write_event(session, "report_build", "alice", "report for the safety review")


def _date(value):
    from datetime import date

    return date.fromisoformat(value)


# -- the scenarios: each tampers and returns the finding kind that must be named ------------------------
def data_change_with_forged_entry(engine, monkeypatch, tmp_path):
    """Change a grade with SQL, then append a correctly hashed (plain SHA-256) update entry saying so."""
    log = _log(engine)
    ae = next(e for e in log if e.table_name == "adverse_events" and e.action == "insert")
    old = json.loads(ae.new_values)
    new = old | {"grade": 4}
    _sql(engine, "UPDATE adverse_events SET grade = 4 WHERE id = :id", id=ae.record_id)
    last = log[-1]
    fields = {"at_utc": last.at_utc, "writer_at_utc": last.writer_at_utc, "username": "coordinator",
              "action": "update", "table_name": "adverse_events", "record_id": ae.record_id,
              "subject_id": ae.subject_id, "old_values": ae.new_values,
              "new_values": json.dumps(new, sort_keys=True, separators=(",", ":")),
              "reason": "data-entry error: grade was mistyped", "software_version": last.software_version}
    forged = fields | {"row_hash": entry_hash(last.row_hash, fields), "prev_hash": last.row_hash}
    with engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert().values(**forged))
    return CHAIN_BROKEN


def dropped_triggers(engine, monkeypatch, tmp_path):
    with engine.begin() as conn:
        drop_triggers(conn, ("audit_log",))
    return TRIGGERS


def replaced_or_disabled_trigger(engine, monkeypatch, tmp_path):
    if engine.dialect.name == "sqlite":
        _sql(engine, "DROP TRIGGER audit_log_no_delete",
             "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT 1; END")
    else:
        _sql(engine, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
    return TRIGGERS


def restore_old_copy(engine, monkeypatch, tmp_path):
    """Back up, keep working (and verifying), then put the old copy back."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        engine.dispose()
        shutil.copyfile(path, tmp_path / "backup.db")
        _more_work(engine)
        verify_audit(engine)
        engine.dispose()
        shutil.copyfile(tmp_path / "backup.db", path)
        return ANCHOR_BROKEN
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        for name in tables:
            conn.execute(text(f"CREATE TABLE backup_{name} AS SELECT * FROM {name}"))
    _more_work(engine)
    verify_audit(engine)
    with engine.begin() as conn:
        drop_triggers(conn, GUARDED)
        for name in reversed(tables):
            conn.execute(text(f"DELETE FROM {name}"))
        for name in tables:
            conn.execute(text(f"INSERT INTO {name} SELECT * FROM backup_{name}"))
            conn.execute(text(f"DROP TABLE backup_{name}"))
        create_triggers(conn, GUARDED)
    return ANCHOR_BROKEN


def roll_back_tail_with_its_data(engine, monkeypatch, tmp_path):
    """Delete the last entries (a new patient and an event) and the patient: data and log agree again."""
    _more_work(engine)
    verify_audit(engine)
    log = _log(engine)
    patient = next(e for e in log if e.table_name == "patients" and e.subject_id == "NK-003")
    _sql(engine, "DELETE FROM audit_log WHERE id >= :id", "DELETE FROM patients WHERE subject_id = 'NK-003'",
         unguarded=True, id=patient.id)
    return ANCHOR_BROKEN


def wipe_everything(engine, monkeypatch, tmp_path):
    """Drop every table (and on PostgreSQL the trigger function)."""
    with engine.begin() as conn:
        drop_triggers(conn, GUARDED)
        for name in [t.name for t in reversed(Base.metadata.sorted_tables)] + ["alembic_version"]:
            conn.execute(text(f"DROP TABLE {name}"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP FUNCTION audit_log_append_only()"))
    assert not inspect(engine).has_table("audit_log")
    return ANCHOR_BROKEN


def wipe_and_start_again(engine, monkeypatch, tmp_path):
    """Wipe, then make a fresh empty database in its place (same key, found where it was)."""
    wipe_everything(engine, monkeypatch, tmp_path)
    migrate(engine)
    return ANCHOR_BROKEN


def writer_clock_in_2015(engine, monkeypatch, tmp_path):
    """A writer whose clock says 2015 appends after entries of 2026 (through earlyphase itself)."""
    monkeypatch.setattr("earlyphase.records.audit.utc_now", lambda: "2015-06-01T12:00:00.000000+00:00")
    with transaction(engine) as session:
        write_event(session, "login", "mallory", "from a computer set back to 2015")
    return TIME_BACKWARDS if engine.dialect.name == "sqlite" else CLOCK_SKEW


def edit_an_old_entry(engine, monkeypatch, tmp_path):
    _sql(engine, "UPDATE audit_log SET username = 'someone else', reason = 'tidied' WHERE id = 2", unguarded=True)
    return CHAIN_BROKEN


def delete_a_middle_entry(engine, monkeypatch, tmp_path):
    _sql(engine, "DELETE FROM audit_log WHERE id = 5", unguarded=True)
    return CHAIN_BROKEN


def rechain_everything_under_own_key(engine, monkeypatch, tmp_path):
    """Edit data and an entry, then re-chain the whole log with a key of one's own and swap the fingerprint."""
    own = AuditKey(bytes(range(32)), "mallory's key")
    log = _log(engine)
    with engine.begin() as conn:
        drop_triggers(conn, GUARDED)
        conn.execute(text("UPDATE patients SET ecog = 3"))
        prev = GENESIS_HASH
        for e in log:
            fields = {k: getattr(e, k) for k in HASHED_FIELDS}
            if e.table_name == "patients":
                values = json.loads(e.new_values or "null")
                if values:
                    fields["new_values"] = json.dumps(values | {"ecog": 3}, sort_keys=True, separators=(",", ":"))
            row_hash = entry_hash(prev, fields, own)
            conn.execute(AuditEntry.__table__.update().where(AuditEntry.id == e.id)
                         .values(new_values=fields["new_values"], prev_hash=prev, row_hash=row_hash))
            prev = row_hash
        conn.execute(text("DELETE FROM audit_keys"))
        conn.execute(text("INSERT INTO audit_keys (fingerprint, created_at_utc, entries_at_creation) "
                          "VALUES (:f, '2026-01-01T00:00:00+00:00', 0)"), {"f": own.fingerprint})
        create_triggers(conn, GUARDED)
    return KEY_MISMATCH


def forge_an_anchor(engine, monkeypatch, tmp_path):
    """Cut the log back and add an anchor line for the shorter head, without the key."""
    path = anchor_path(engine)
    log = _log(engine)
    _sql(engine, "DELETE FROM audit_log WHERE id = :id", unguarded=True, id=log[-1].id)
    line = {"at_utc": "2026-12-31T00:00:00+00:00", "event": "verify", "entries": len(log) - 1,
            "last_hash": log[-2].row_hash, "key": "0" * 16, "mac": "0" * 64}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    return ANCHOR_FORGED


SCENARIOS = [data_change_with_forged_entry, dropped_triggers, replaced_or_disabled_trigger, restore_old_copy,
             roll_back_tail_with_its_data, wipe_everything, wipe_and_start_again, writer_clock_in_2015,
             edit_an_old_entry, delete_a_middle_entry, rechain_everything_under_own_key, forge_an_anchor]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_every_tampering_is_detected(engine, scenario, monkeypatch, tmp_path):
    write_sample_trial(engine)
    first = verify_audit(engine)
    assert first.ok and first.anchored_to, first.summary()
    expected = scenario(engine, monkeypatch, tmp_path)
    monkeypatch.undo()  # the clock back, the same key
    report = verify_audit(engine)
    kinds = [f.kind for f in report.findings]
    assert not report.ok and expected in kinds, report.summary()
    assert "OK: no finding" not in report.summary()


def test_the_table_counts_every_scenario_in_the_docs():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")
    for scenario in SCENARIOS:
        assert f"`{scenario.__name__}`" in docs, scenario.__name__
    assert f"{len(SCENARIOS)} scenarios" in docs

