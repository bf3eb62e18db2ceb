"""Checks several actions share: a known patient, dates in order, nothing after death, nothing in the future."""

from __future__ import annotations

from datetime import date

from earlyphase.capture.checks import Checks, PartialDate
from earlyphase.capture.context import CaptureContext, death_of, find_patient
from earlyphase.records.audit import write_audit
from earlyphase.records.tables import Base, Patient

SUBJECT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}"


def known_patient(ctx: CaptureContext, checks: Checks, subject_id: object) -> Patient | None:
    """The patient with this study subject id, or None after recording a problem."""
    text = checks.text("subject_id", subject_id, max_length=40)
    if text is None:
        return None
    patient = find_patient(ctx, text)
    if patient is None:
        checks.fail("subject_id", text, "patient-known",
                    f"there is no patient {text} in this study; enrol the patient first or check the subject id")
    return patient


def not_future(ctx: CaptureContext, checks: Checks, field: str, value: date | PartialDate | None) -> None:
    earliest = value.earliest if isinstance(value, PartialDate) else value
    if earliest is not None and earliest > ctx.today:
        checks.fail(field, value, "not-in-future", f"{field} {_text(value)} is in the future (today is {ctx.today})")


def not_before_consent(checks: Checks, patient: Patient | None, field: str, value: date | PartialDate | None,
                       what: str = "") -> None:
    if patient is None or value is None or patient.consent_date is None:
        return
    latest = value.latest if isinstance(value, PartialDate) else value
    if latest < patient.consent_date:
        checks.fail(field, value, "after-consent",
                    f"{what or field} {_text(value)} is before the patient's consent on {patient.consent_date}; "
                    "nothing is recorded for a patient before consent")


def not_after_death(ctx: CaptureContext, checks: Checks, patient: Patient | None, field: str,
                    value: date | PartialDate | None, what: str = "") -> None:
    if patient is None or value is None:
        return
    death = death_of(ctx, patient)
    if death is None:
        return
    earliest = value.earliest if isinstance(value, PartialDate) else value
    if earliest > death.death_date:
        checks.fail(field, value, "not-after-death",
                    f"{what or field} {_text(value)} is after the patient's death on {death.death_date}; "
                    "nothing but the death itself is dated after it")


def _text(value: object) -> str:
    if isinstance(value, PartialDate):
        return value.text
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def insert(ctx: CaptureContext, record: Base, subject_id: str | None, reason: str | None = None) -> Base:
    """Add a record and audit the insert (the caller has passed every check).

    A patient record is stamped with the protocol version in force; the audit reason is ``reason``,
    else the context's (an import's file and SHA-256).
    """
    from earlyphase.capture.locks import refuse_if_locked  # locks reads patients through this module

    patient = record if isinstance(record, Patient) else find_patient(ctx, subject_id) if subject_id else None
    refuse_if_locked(ctx, record, patient)
    if hasattr(record, "protocol_version") and getattr(record, "protocol_version", None) is None:
        record.protocol_version = ctx.protocol_version
    ctx.session.add(record)
    ctx.session.flush()
    write_audit(ctx.session, "insert", record, username=ctx.username, reason=reason or ctx.reason,
                subject_id=subject_id)
    return record


def enrolment_values(ctx: CaptureContext, patient: Patient | None, override: dict | None = None) -> dict:
    """The patient's core enrolment values as conditions of the study's forms read them (plus ``age``)."""
    values: dict = {}
    if patient is not None:
        from earlyphase.records.tables import SiteRecord

        site = ctx.session.get(SiteRecord, patient.site_id)
        values = {"subject_id": patient.subject_id, "site": site.code if site else None, "sex": patient.sex,
                  "birth_year": patient.birth_year, "ecog": patient.ecog, "consent_date": patient.consent_date,
                  "enrolment_date": patient.enrolment_date}
    if override:
        values.update({k: v for k, v in override.items() if k in values or patient is None})
    consent, born = values.get("consent_date"), values.get("birth_year")
    values["age"] = (consent.year - born) if consent is not None and isinstance(born, int) else None
    return values
