"""Revision 0002 (AE "Other, specify" term, lesion node flag and short axis) upgrades a database with data in it:
nothing is lost, the audit trail still verifies, and a change behind the system's back is still found."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from sqlalchemy import inspect, text

from earlyphase.records import make_engine, migrate, verify_audit
from earlyphase.records.audit import GENESIS_HASH, canonical_json, entry_hash
from earlyphase.records.audit_verify import CHANGED


def _study_at_0001() -> dict:
    """The study row release 0.1.0 wrote for the seed trial (from the committed 0.1.0 dump): later revisions
    convert its protocol and move the seed's disease fields into the study's own form."""
    dump = json.loads(gzip.decompress((Path(__file__).parent / "upgrade" / "v010_twin.json.gz").read_bytes()))
    return dump["study"][0]


def _write_at_0001(conn) -> None:
    """The study, one site, patient, AE, assessment and lesion, with their audit entries, as release 0.1.0 wrote
    them."""
    rows = [
        ("study", _study_at_0001()),
        ("sites", {"id": 1, "code": "S1", "name": "Site 1", "country": "GB"}),
        ("patients", {"id": 1, "subject_id": "P-1", "site_id": 1, "initials": None, "hospital_number": None,
                      "sex": "F", "birth_year": 1960, "ecog": 0, "child_pugh": "A", "child_pugh_score": None,
                      "afp_ng_ml": None, "weight_kg": None, "transplant_date": "2012-01-01",
                      "recurrence_date": "2014-01-01", "consent_date": "2015-01-01", "enrolment_date": "2015-01-02",
                      "status": "enrolled", "withdrawal_date": None, "withdrawal_reason": None}),
        ("adverse_events", {"id": 1, "patient_id": 1, "term": "Fever", "soc": "General disorders and administration "
                            "site conditions", "ctcae_version": "5.0", "grade": 1, "serious": False,
                            "attribution": "possible", "onset": "2015-02-01", "resolution": "2015-02-02",
                            "outcome": "recovered", "action": "none", "dlt": False}),
        ("tumour_assessments", {"id": 1, "patient_id": 1, "assessment_date": "2015-01-20", "modality": "CT",
                                "baseline": True, "investigator_response": None}),
        ("lesions", {"id": 1, "assessment_id": 1, "lesion_label": "T1", "kind": "target", "location": "liver",
                     "viable_diameter_mm": 31.0, "status": None}),
    ]
    prev = GENESIS_HASH
    for i, (table, values) in enumerate(rows, start=1):
        columns = ", ".join(values)
        conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values)
        fields = {"at_utc": f"2015-03-01T00:00:{i:02d}.000000+00:00", "username": "coordinator", "action": "insert",
                  "table_name": table, "record_id": values["id"], "subject_id": "P-1", "old_values": None,
                  "new_values": canonical_json(values), "reason": None, "software_version": "0.1.0"}
        row_hash = entry_hash(prev, fields)
        conn.execute(text(
            "INSERT INTO audit_log (at_utc, username, action, table_name, record_id, subject_id, old_values, "
            "new_values, reason, software_version, prev_hash, row_hash) VALUES (:at_utc, :username, :action, "
            ":table_name, :record_id, :subject_id, :old_values, :new_values, :reason, :software_version, "
            ":prev_hash, :row_hash)"), {**fields, "prev_hash": prev, "row_hash": row_hash})
        prev = row_hash


def test_upgrade_keeps_data_and_audit_trail(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine, "0001")
        with engine.begin() as conn:
            _write_at_0001(conn)
        migrate(engine)
        with engine.connect() as conn:
            ae = conn.execute(text("SELECT term, term_specify, grade FROM adverse_events")).one()
            lesion = conn.execute(text("SELECT viable_diameter_mm, node, short_axis_mm FROM lesions")).one()
        assert tuple(ae) == ("Fever", None, 1)
        assert (lesion[0], bool(lesion[1]), lesion[2]) == (31.0, False, None)
        report = verify_audit(engine)
        assert report.ok, report.summary()
        # a value put into a new column behind the system's back is still found
        with engine.begin() as conn:
            conn.execute(text("UPDATE lesions SET short_axis_mm = 12.0"))
        findings = verify_audit(engine).replay_findings
        assert [f.kind for f in findings] == [CHANGED] and findings[0].table == "lesions"
        assert "short_axis_mm" in json.dumps(findings[0].to_dict())
    finally:
        engine.dispose()


def test_downgrade_to_0001_drops_the_new_columns_only(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        from alembic import command

        from earlyphase.records.migrate import alembic_config

        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
        insp = inspect(engine)
        assert "term_specify" not in {c["name"] for c in insp.get_columns("adverse_events")}
        assert {"node", "short_axis_mm"}.isdisjoint(c["name"] for c in insp.get_columns("lesions"))
        assert "viable_diameter_mm" in {c["name"] for c in insp.get_columns("lesions")}
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
            assert "AUTOINCREMENT" in sql["lesions"] and "AUTOINCREMENT" in sql["adverse_events"]
        migrate(engine)
    finally:
        engine.dispose()
