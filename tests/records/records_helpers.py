"""Helpers for the records tests: a small audited trial written the way capture writes, and tampering tools."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from earlyphase.records import row_values, transaction, write_audit
from earlyphase.records.tables import AdverseEvent, Lesion, Patient, SiteRecord, TumourAssessment


def add_audited(session, record, *, username="alice", subject_id=None):
    session.add(record)
    session.flush()
    write_audit(session, "insert", record, username=username, subject_id=subject_id)
    return record


def write_sample_trial(engine) -> dict[str, int]:
    """Two patients with AEs, an assessment with lesions, one corrected AE and one deleted AE.

    Every write goes through ``transaction`` + ``write_audit``, one unit of work per CRF action.
    Returns the ids the tests tamper with.
    """
    ids: dict[str, int] = {}
    with transaction(engine) as s:
        site = add_audited(s, SiteRecord(code="LDN", name="King's College Hospital", country="GB"))
        ids["site"] = site.id
    for n, subject in enumerate(["NK-001", "NK-002"], start=1):
        with transaction(engine) as s:
            p = add_audited(s, Patient(
                subject_id=subject, site_id=ids["site"], sex="M", birth_year=1960 + n, ecog=0,
                consent_date=date(2015, 1, n), enrolment_date=date(2015, 1, n + 1), protocol_version=1,
            ), subject_id=subject)
            ids[subject] = p.id
        with transaction(engine) as s:
            ae = add_audited(s, AdverseEvent(
                patient_id=ids[subject], term="Fever", soc="General disorders and administration site conditions",
                ctcae_version="4.03", grade=1, attribution="probable", onset="2015-02-01T14:30",
                resolution="2015-02-02", outcome="recovered", protocol_version=1,
            ), subject_id=subject)
            ids[f"{subject}/ae"] = ae.id
    with transaction(engine) as s:
        ta = add_audited(s, TumourAssessment(patient_id=ids["NK-001"], assessment_date=date(2015, 3, 1),
                                             modality="CT", baseline=True, protocol_version=1), subject_id="NK-001")
        lesion = add_audited(s, Lesion(assessment_id=ta.id, lesion_label="T1", kind="target",
                                       location="liver seg 7", viable_diameter_mm=23.5), subject_id="NK-001")
        ids["assessment"], ids["lesion"] = ta.id, lesion.id
    with transaction(engine) as s:  # a correction, with its reason
        ae = s.get(AdverseEvent, ids["NK-001/ae"])
        before = row_values(ae)
        ae.grade = 2
        write_audit(s, "update", ae, username="bob", reason="source document says grade 2",
                    old_values=before, subject_id="NK-001")
    with transaction(engine) as s:  # a deletion, with its reason
        ae = s.get(AdverseEvent, ids["NK-002/ae"])
        s.delete(ae)
        write_audit(s, "delete", ae, username="bob", reason="entered for the wrong patient", subject_id="NK-002")
    return ids


def allow_tampering(engine) -> None:
    """Drop the append-only triggers, as someone with owner rights and a SQL client could."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update_delete ON audit_log"))


def raw_sql(engine, statement: str, **params) -> None:
    """Run one statement outside earlyphase (no audit), like a SQL client would."""
    with engine.begin() as conn:
        conn.execute(text(statement), params)
