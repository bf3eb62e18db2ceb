"""Source-data verification: a monitor flags a form (or one field of it) as checked against the source.

The flag keeps a SHA-256 of what was verified (``capture.review``); when those records change later the
flag reads as ``cleared``, with the change that cleared it. Flags are audited as ``source_verified`` events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.capture.checks import Checks
from earlyphase.capture.context import CaptureContext
from earlyphase.capture.locks import require_role, site_of
from earlyphase.capture.review import Scope, field_known, scope_digest, scope_records
from earlyphase.capture.signatures import change_since, check_scope
from earlyphase.records.audit import utc_now, write_event
from earlyphase.records.review_tables import SourceVerification
from earlyphase.records.tables import Patient


def verify_source(ctx: CaptureContext, subject_id: str, form: str, *, visit: str | None = None,
                  field: str | None = None) -> SourceVerification:
    """Flag ``form`` (at ``visit``; only ``field`` when given) of a subject as verified against the source."""
    checks = Checks(f"verify {form} of {subject_id}")
    checks.text("form", form, max_length=40)
    patient, scope = check_scope(ctx, checks, subject_id, form, visit)
    name = checks.text("field", field, required=False, max_length=40)
    if patient is not None:
        require_role(ctx, checks, "verify_source", site_of(ctx, patient), "source-data verification")
    records = scope_records(ctx.session, patient, scope) if scope is not None and scope.form else []
    if scope is not None and scope.form and not records:
        checks.fail("form", form, "something-to-verify", f"nothing is recorded in {scope.describe()} to verify")
    elif name is not None and records and not field_known(records, name):
        checks.fail("field", name, "field-known", f"{scope.describe()} has no value of field {name}")
    checks.raise_if_failed()
    flag = SourceVerification(patient_id=patient.id, form=scope.form, visit=scope.visit, field=name,
                              content_hash=scope_digest(records, name), verified_by=ctx.username,
                              verified_at=utc_now())
    ctx.session.add(flag)
    ctx.session.flush()
    write_event(ctx.session, "source_verified", ctx.username,
                {"flag": flag.id, "form": scope.form, "visit": scope.visit, "field": name},
                subject_id=patient.subject_id)
    return flag


@dataclass(frozen=True)
class VerificationView:
    id: int
    form: str
    visit: str | None
    field: str | None
    verified_by: str
    verified_at: str
    status: str  # verified / cleared
    cleared_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def verifications_of(session: Session, subject_id: str) -> list[VerificationView]:
    """Every source-verification flag of a subject, with whether it still holds."""
    patient = session.execute(select(Patient).where(Patient.subject_id == subject_id)).scalar_one_or_none()
    if patient is None:
        return []
    out = []
    for flag in session.execute(select(SourceVerification).where(SourceVerification.patient_id == patient.id)
                                .order_by(SourceVerification.id)).scalars():
        records = scope_records(session, patient, Scope(subject_id, flag.form, flag.visit))
        holds = scope_digest(records, flag.field) == flag.content_hash
        cleared = None if holds else (change_since(session, subject_id, records, flag.verified_at)
                                      or "changed outside the application")
        out.append(VerificationView(flag.id, flag.form, flag.visit, flag.field, flag.verified_by, flag.verified_at,
                                    "verified" if holds else "cleared", cleared))
    return out
