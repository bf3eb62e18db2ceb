"""The read side of cleaning and sign-off for one subject: forms with their records, verification flags,
locks, signatures (checked) and queries, as the review page shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.capture.locks import active_locks, describe_lock
from earlyphase.capture.queries import QueryView, query_list
from earlyphase.capture.review import Scope, form_of_record, scope_records
from earlyphase.capture.signatures import SignatureView, signatures_of
from earlyphase.capture.verification import VerificationView, verifications_of
from earlyphase.records.audit import row_values
from earlyphase.records.review_tables import DataLock
from earlyphase.records.tables import FormRecord, FormValue, Patient

# Columns that say where a record sits rather than what was observed: not shown as fields.
_PLUMBING = {"id", "patient_id", "protocol_version", "record_id", "core_table", "core_id", "assessment_id"}


@dataclass
class FormReview:
    form: str
    visit: str | None
    records: list[tuple[str, int]] = field(default_factory=list)  # (table, id)
    verification: VerificationView | None = None  # the latest whole-form flag
    lock: str | None = None  # the lock in force on it, described


@dataclass
class SubjectReview:
    subject_id: str
    site: str
    forms: list[FormReview]
    signatures: list[SignatureView]
    verifications: list[VerificationView]
    locks: list[DataLock]
    lock_texts: dict[int, str]
    queries: list[QueryView]


def subject_review(session: Session, subject_id: str, site: str, today: date) -> SubjectReview | None:
    patient = session.execute(select(Patient).where(Patient.subject_id == subject_id)).scalar_one_or_none()
    if patient is None:
        return None
    forms: dict[tuple[str, str | None], FormReview] = {}
    for record in scope_records(session, patient, Scope(subject_id)):
        if isinstance(record, FormValue):
            continue
        form, visit = form_of_record(session, record)
        if form is None:
            continue
        forms.setdefault((form, visit), FormReview(form, visit)).records.append((record.__tablename__, record.id))
    flags = verifications_of(session, subject_id)
    for flag in flags:
        key = (flag.form, flag.visit)
        if flag.field is None and key in forms:
            forms[key].verification = flag
    locks = active_locks(session, patient.id)
    texts = {lock.id: describe_lock(lock, subject_id) for lock in locks}
    for review in forms.values():
        for lock in locks:
            if lock.scope in ("database", "subject") or (
                    lock.form == review.form and (lock.visit is None or lock.visit == review.visit)):
                review.lock = texts[lock.id]
                break
    queries = query_list(session, {site}, today, subject_id=subject_id)
    return SubjectReview(subject_id, site, list(forms.values()), signatures_of(session, subject_id), flags, locks,
                         texts, queries)


def record_fields_shown(session: Session, table: str, record: Any) -> list[tuple[str, Any]]:
    """(field, value) of one record as a reviewer reads it: its own columns, then a form's values."""
    shown = [(k, v) for k, v in row_values(record).items() if k not in _PLUMBING]
    if isinstance(record, FormRecord):
        values: dict[str, list] = {}
        for v in session.execute(select(FormValue).where(FormValue.record_id == record.id)
                                 .order_by(FormValue.field, FormValue.position)).scalars():
            value = next((getattr(v, c) for c in ("value_text", "value_int", "value_num", "value_date", "value_bool")
                          if getattr(v, c) is not None), None)
            values.setdefault(v.field, []).append(value)
        shown += [(k, vs[0] if len(vs) == 1 else ", ".join(map(str, vs))) for k, vs in values.items()]
    return shown
