"""Electronic signatures (21 CFR 11.50, 11.70): an investigator signs a form, a visit or a whole casebook.

``sign_records(ctx, proof, subject_id, meaning, form=..., visit=...)`` needs ``proof``: what
``earlyphase.access.reauthenticate`` returned for the acting user moments ago (password AND TOTP given
again), checked against its audit event by ``capture.signing`` (recent, this user's, used once). The signature row keeps the signer's printed name, the UTC time, the meaning (one of
``MEANINGS``) and the SHA-256 of exactly what was signed (``capture.review.scope_digest``), bound with
them into ``signature_hash``. ``signatures_of`` reads them back with their status: a signature whose
records have changed since (through capture, or behind its back in SQL) reads as ``void``, with the
audited change that voided it when there is one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.capture.checks import Checks
from earlyphase.capture.common import known_patient
from earlyphase.capture.context import CaptureContext
from earlyphase.capture.locks import require_role, site_of
from earlyphase.capture.signing import check_reauthentication, spent_reason
from earlyphase.capture.review import CORE_FORM_TABLES, Scope, scope_digest, scope_records
from earlyphase.records.audit import utc_now, write_event
from earlyphase.records.review_tables import Signature
from earlyphase.records.tables import AuditEntry, Patient, UserRecord

MEANINGS = ("I approve", "Reviewed", "I am responsible for these data")


def signature_hash(values: dict[str, Any]) -> str:
    """SHA-256 binding the content hash to who signed, their printed name, the meaning, the time and the scope."""
    parts = [values.get(k) for k in ("content_hash", "signer", "printed_name", "meaning", "signed_at", "scope",
                                     "patient_id", "form", "visit", "records")]
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode("utf-8")).hexdigest()


def check_scope(ctx: CaptureContext, checks: Checks, subject_id: Any, form: Any, visit: Any) -> tuple[Patient | None, Scope | None]:
    patient = known_patient(ctx, checks, subject_id)
    form_name = checks.text("form", form, required=False, max_length=40)
    visit_key = checks.text("visit", visit, required=False, max_length=40)
    if form_name is not None and form_name not in CORE_FORM_TABLES and form_name not in ctx.study.form_names:
        checks.fail("form", form_name, "form-known", f"the study has no form {form_name}")
    if patient is None or checks:
        return patient, None
    return patient, Scope(patient.subject_id, form_name, visit_key)


def sign_records(ctx: CaptureContext, proof: Any, subject_id: str, meaning: str, *, form: str | None = None,
                 visit: str | None = None) -> Signature:
    """Sign a subject's casebook (no form, no visit), one visit, or one form (at a visit) with ``meaning``."""
    checks = Checks(f"sign for {subject_id}")
    # the re-authentication is checked in the database (its audit event: this user's, recent, used once)
    event_id = check_reauthentication(ctx, checks, proof, "sign", "signature")
    word = checks.choice("meaning", meaning, MEANINGS)
    patient, scope = check_scope(ctx, checks, subject_id, form, visit)
    if patient is not None:
        require_role(ctx, checks, "sign", site_of(ctx, patient), "signing")
    records = scope_records(ctx.session, patient, scope) if scope is not None else []
    if scope is not None and not records:
        checks.fail("form", form, "something-to-sign", f"nothing is recorded in {scope.describe()} to sign")
    checks.raise_if_failed()
    user = ctx.session.execute(select(UserRecord).where(UserRecord.username == ctx.username)).scalar_one()
    values = dict(scope=scope.kind, patient_id=patient.id, form=scope.form, visit=scope.visit, meaning=word,
                  signer=ctx.username, printed_name=user.full_name or ctx.username, signed_at=utc_now(),
                  records=len(records), content_hash=scope_digest(records))
    signature = Signature(**values, signature_hash=signature_hash(values))
    ctx.session.add(signature)
    ctx.session.flush()
    write_event(ctx.session, "signature", ctx.username,
                {"signature": signature.id, "scope": scope.kind, "form": scope.form, "visit": scope.visit,
                 "meaning": word, "records": len(records), "content_hash": values["content_hash"]},
                subject_id=patient.subject_id, reason=spent_reason(event_id) if event_id is not None else None)
    return signature


@dataclass(frozen=True)
class SignatureView:
    """A signature as the doors show it: ``status`` is valid or void; ``voided_by`` says what changed."""

    id: int
    subject_id: str
    scope: str
    form: str | None
    visit: str | None
    meaning: str
    signer: str
    printed_name: str
    signed_at: str
    records: int
    content_hash: str
    status: str
    voided_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def describe(self) -> str:
        return Scope(self.subject_id, self.form, self.visit).describe()


def signatures_of(session: Session, subject_id: str) -> list[SignatureView]:
    """Every signature on a subject's records, oldest first, each checked against the records now."""
    patient = session.execute(select(Patient).where(Patient.subject_id == subject_id)).scalar_one_or_none()
    if patient is None:
        return []
    out = []
    for sig in session.execute(select(Signature).where(Signature.patient_id == patient.id)
                               .order_by(Signature.id)).scalars():
        scope = Scope(subject_id, sig.form, sig.visit)
        records = scope_records(session, patient, scope)
        intact = signature_hash({c: getattr(sig, c) for c in sig.__table__.columns.keys()}) == sig.signature_hash
        matches = intact and scope_digest(records) == sig.content_hash
        voided = None
        if not matches:
            voided = ("the signature row itself was altered" if not intact
                      else change_since(session, subject_id, records, sig.signed_at)
                      or "the signed records differ from what was signed, and no audited change explains it "
                         "(changed outside the application)")
        out.append(SignatureView(sig.id, subject_id, sig.scope, sig.form, sig.visit, sig.meaning, sig.signer,
                                 sig.printed_name, sig.signed_at, sig.records, sig.content_hash,
                                 "valid" if matches else "void", voided))
    return out


def change_since(session: Session, subject_id: str, records: list, since: str) -> str | None:
    """The first audited change after ``since`` to one of ``records`` (or a deletion of the subject's data)."""
    keys = {(r.__tablename__, r.id) for r in records}
    tables = {t for t, _ in keys}
    entries = session.execute(
        select(AuditEntry).where(AuditEntry.subject_id == subject_id, AuditEntry.action.in_(("insert", "update", "delete")),
                                 AuditEntry.writer_at_utc > since).order_by(AuditEntry.id)).scalars()
    for e in entries:
        if (e.table_name, e.record_id) in keys or (e.action == "delete" and e.table_name in tables) or (
                e.action == "insert" and e.table_name in tables):
            return describe_change(e)
    return None


def describe_change(entry: AuditEntry) -> str:
    old = json.loads(entry.old_values) if entry.old_values else {}
    new = json.loads(entry.new_values) if entry.new_values else {}
    if entry.action == "update":
        changed = [f"{k} {old.get(k)!r} → {new.get(k)!r}" for k in sorted(new) if old.get(k) != new.get(k)]
        if entry.table_name == "form_values":
            changed = [f"{new.get('field')}: " + "; ".join(changed)]
        what = ", ".join(changed) or "no visible difference"
    else:
        what = "record " + ("added" if entry.action == "insert" else "deleted")
    when = entry.writer_at_utc or entry.at_utc
    return (f"{entry.action} of {entry.table_name} #{entry.record_id} by {entry.username} at {when}: {what}"
            + (f" (reason: {entry.reason})" if entry.reason else ""))
