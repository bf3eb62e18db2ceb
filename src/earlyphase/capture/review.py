"""What a signature, a verification flag or a lock covers: the records of one form, visit or casebook.

A *form* of a subject is a study form entered at a visit (``form_records`` with that form and visit, and
its values), or a core form (every record of the core table behind it, e.g. all adverse events, with the
study's added fields and, for tumour assessments, the lesions). A *visit* is every study form entered at
that visit (and the forms marked not done there). The *casebook* is every record of the subject.

``scope_digest`` is the SHA-256 of a canonical serialisation of those records (table, id and every
column value, as canonical JSON sorted by table and id), so SQLite and PostgreSQL give the same hash and
any change to a covered record, made through capture or behind its back, changes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.records.audit import canonical_json, row_values
from earlyphase.records.tables import (
    Administration,
    AdverseEvent,
    Allocation,
    Base,
    Death,
    EligibilityAnswer,
    FollowUp,
    FormNotDone,
    FormRecord,
    FormValue,
    Lesion,
    OtherTherapy,
    Patient,
    ProtocolDeviation,
    TumourAssessment,
)

# The core forms and the table each is stored in (the names the visit schedule uses).
CORE_FORM_TABLES: dict[str, type[Base]] = {
    "enrolment": Patient, "eligibility": EligibilityAnswer, "allocation": Allocation,
    "administration": Administration, "adverse_event": AdverseEvent, "tumour_assessment": TumourAssessment,
    "other_therapy": OtherTherapy, "follow_up": FollowUp, "death": Death, "protocol_deviation": ProtocolDeviation,
}
_FORM_OF_TABLE = {model.__tablename__: form for form, model in CORE_FORM_TABLES.items()}
# Tables whose rows carry patient_id: the casebook.
_PATIENT_TABLES = (EligibilityAnswer, Allocation, Administration, AdverseEvent, TumourAssessment, OtherTherapy,
                   FollowUp, Death, ProtocolDeviation, FormRecord, FormNotDone)


@dataclass(frozen=True)
class Scope:
    """What is covered: a subject's casebook (no form, no visit), one visit, or one form (at a visit)."""

    subject_id: str
    form: str | None = None
    visit: str | None = None

    @property
    def kind(self) -> str:
        return "form" if self.form else "visit" if self.visit else "casebook"

    def describe(self) -> str:
        if self.form:
            return f"form {self.form}" + (f" at visit {self.visit}" if self.visit else "") + f" of {self.subject_id}"
        if self.visit:
            return f"visit {self.visit} of {self.subject_id}"
        return f"the casebook of {self.subject_id}"


def form_of_record(session: Session, record: Base) -> tuple[str | None, str | None]:
    """The (form, visit) a data record belongs to (form None for a record of no form)."""
    if isinstance(record, FormValue):
        parent = session.get(FormRecord, record.record_id)
        return form_of_record(session, parent) if parent is not None else (None, None)
    if isinstance(record, FormRecord):
        if record.core_table is not None:
            return _FORM_OF_TABLE.get(record.core_table), None
        return record.form, record.visit
    if isinstance(record, FormNotDone):
        return record.form, record.visit
    if isinstance(record, Lesion):
        return "tumour_assessment", None
    return _FORM_OF_TABLE.get(record.__tablename__), None


def scope_records(session: Session, patient: Patient, scope: Scope) -> list[Base]:
    """The records ``scope`` covers, in (table, id) order."""
    found: list[Base] = []

    def rows(model, *where):
        return list(session.execute(select(model).where(*where).order_by(model.id)).scalars())

    if scope.kind == "casebook":
        found.append(patient)
        for model in _PATIENT_TABLES:
            found += rows(model, model.patient_id == patient.id)
    elif scope.kind == "visit":
        found += rows(FormRecord, FormRecord.patient_id == patient.id, FormRecord.core_table.is_(None),
                      FormRecord.visit == scope.visit)
        found += rows(FormNotDone, FormNotDone.patient_id == patient.id, FormNotDone.visit == scope.visit)
    else:
        model = CORE_FORM_TABLES.get(scope.form)
        if model is Patient:
            found.append(patient)
        elif model is not None:
            found += rows(model, model.patient_id == patient.id)
        if model is not None:
            ids = [r.id for r in found]
            found += rows(FormRecord, FormRecord.core_table == model.__tablename__, FormRecord.core_id.in_(ids))
        else:
            where = [FormRecord.patient_id == patient.id, FormRecord.core_table.is_(None), FormRecord.form == scope.form]
            if scope.visit:
                where.append(FormRecord.visit == scope.visit)
            found += rows(FormRecord, *where)
        where = [FormNotDone.patient_id == patient.id, FormNotDone.form == scope.form]
        if scope.visit:
            where.append(FormNotDone.visit == scope.visit)
        found += rows(FormNotDone, *where)
    assessments = [r.id for r in found if isinstance(r, TumourAssessment)]
    if assessments:
        found += rows(Lesion, Lesion.assessment_id.in_(assessments))
    records = [r.id for r in found if isinstance(r, FormRecord)]
    if records:
        found += rows(FormValue, FormValue.record_id.in_(records))
    return sorted(found, key=lambda r: (r.__tablename__, r.id))


def scope_digest(records: list[Base], field: str | None = None) -> str:
    """SHA-256 of the canonical serialisation of ``records`` (only ``field``'s values when given)."""
    items: list[Any] = []
    for record in records:
        values = row_values(record)
        if field is not None:
            if isinstance(record, FormValue):
                if record.field != field:
                    continue
            elif field in values:
                values = {"id": values["id"], field: values[field]}
            else:
                continue
        items.append([record.__tablename__, canonical_json(values)])
    return hashlib.sha256(canonical_json({"records": items}).encode("utf-8")).hexdigest()


def field_known(records: list[Base], field: str) -> bool:
    return any((isinstance(r, FormValue) and r.field == field) or (not isinstance(r, FormValue)
               and field in row_values(r) and field != "id") for r in records)
