"""Engines: URL handling, SQLite's durability settings, foreign keys, one unit of work per transaction."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from earlyphase.errors import NotFound
from earlyphase.records import database_url, make_engine, migrate, read_session, transaction, verify_audit
from earlyphase.records.tables import AdverseEvent, AuditEntry, SiteRecord

from records_helpers import add_audited


def test_database_url_turns_paths_into_sqlite_and_names_the_driver(tmp_path):
    assert database_url(tmp_path / "t.db") == f"sqlite:///{(tmp_path / 't.db').resolve()}"
    assert database_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert database_url("postgresql+psycopg://u@h/d?x=1") == "postgresql+psycopg://u@h/d?x=1"


def test_must_exist_refuses_a_missing_file_without_creating_it(tmp_path):
    missing = tmp_path / "none.db"
    with pytest.raises(NotFound, match="no database file"):
        make_engine(missing, must_exist=True)
    assert not missing.exists()


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(tmp_path / "t.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(IntegrityError):
        with transaction(engine) as s:
            s.add(AdverseEvent(patient_id=999, term="Fever", soc="x", ctcae_version="5.0", grade=1,
                               attribution="unrelated", onset="2015-01-01", outcome="recovered", protocol_version=1))
            s.flush()


@pytest.mark.parametrize("grade, accepted", [(5, True), (6, False), (0, False)])
def test_grade_outside_1_to_5_is_refused_by_the_database(sample_trial, grade, accepted):
    engine, ids = sample_trial
    insert = text("INSERT INTO adverse_events (patient_id, term, soc, ctcae_version, grade, serious, attribution, "
                  "onset, outcome, action, dlt, protocol_version) VALUES (:p, 'Fever', 'x', '5.0', :g, :f, "
                  "'unrelated', '2015-01-01', 'recovered', 'none', :f, 1)")
    params = {"p": ids["NK-001"], "g": grade, "f": False}
    if accepted:
        with transaction(engine) as s:
            s.execute(insert, params)
    else:
        with pytest.raises(IntegrityError, match="(?i)check"):
            with transaction(engine) as s:
                s.execute(insert, params)


def test_a_failed_unit_of_work_leaves_nothing(engine):
    with pytest.raises(RuntimeError):
        with transaction(engine) as s:
            add_audited(s, SiteRecord(code="A", name="Site A"))
            raise RuntimeError("a check failed after the first write")
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(SiteRecord)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert verify_audit(engine).ok


def test_write_audit_records_what_the_database_holds(engine):
    """An int given for a boolean or float column is audited as the database returns it."""
    import json

    with transaction(engine) as s:
        site = add_audited(s, SiteRecord(code="A", name="Site A"))
    with transaction(engine) as s:
        from earlyphase.records.tables import Patient

        p = add_audited(s, Patient(subject_id="S1", site_id=site.id, sex="F", birth_year=1960, ecog=0,
                                   consent_date=date(2015, 1, 1), enrolment_date=date(2015, 1, 1),
                                   protocol_version=1), subject_id="S1")
        from earlyphase.records.tables import Administration

        add_audited(s, Administration(patient_id=p.id, number=1, planned_date=date(2015, 1, 2),
                                      actual_date=date(2015, 1, 2), dose=5000000000, dose_unit="cells", route="IV",
                                      weight_kg=70, amount=3.25, amount_unit="cells/kg", protocol_version=1),
                    subject_id="S1")
    with read_session(engine) as s:
        values = json.loads(s.scalars(select(AuditEntry.new_values).where(AuditEntry.table_name == "patients")).one())
        dose = json.loads(s.scalars(select(AuditEntry.new_values).where(
            AuditEntry.table_name == "administrations")).one())
    assert values["status"] == "enrolled" and dose["reduction"] == 0
    assert dose["weight_kg"] == 70 and dose["amount"] == 3.25 and dose["dose"] == 5e9
    assert values["consent_date"] == "2015-01-01" and values["id"] == p.id
    assert verify_audit(engine).ok
