"""A patient's visit anchors read from the records (enrolment, allocation, doses, death, withdrawal)."""

from __future__ import annotations

from earlyphase.capture.context import CaptureContext, administrations_of, allocation_of, death_of
from earlyphase.protocol.schedule import Anchors, patient_anchors as anchors_from_dates
from earlyphase.records.tables import Patient


def patient_anchors(ctx: CaptureContext, patient: Patient) -> Anchors:
    allocation = allocation_of(ctx, patient)
    death = death_of(ctx, patient)
    return anchors_from_dates(
        enrolment=patient.enrolment_date,
        allocation=allocation.allocation_date if allocation else None,
        administrations=[(a.actual_date, a.cycle, a.cycle_day) for a in administrations_of(ctx, patient)],
        death=death.death_date if death else None,
        withdrawal=patient.withdrawal_date,
    )


def record_form_not_done(ctx: CaptureContext, subject_id: str, visit: str, form: str, reason: str):
    """Record that a form expected at a visit was not done, and why (the expected-forms ledger shows it)."""
    from sqlalchemy import select

    from earlyphase.capture.checks import Checks
    from earlyphase.capture.common import insert, known_patient
    from earlyphase.capture.context import ensure_user
    from earlyphase.capture.forms import parse_visit
    from earlyphase.records.tables import FormNotDone

    checks = Checks(f"record form {form} not done at visit {visit} of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    why = checks.text("reason", reason, max_length=2000)
    name = checks.text("form", form, max_length=40)
    definition, occurrence = parse_visit(ctx, checks, None, visit)
    if definition is None and not checks.has_field("visit"):
        checks.fail("visit", visit, "required", "name the visit (e.g. SCR or SCAN-2)")
    key = definition.key(occurrence) if definition is not None else None
    if definition is not None and name is not None and name not in definition.forms:
        checks.fail("form", name, "form-at-visit", f"form {name} is not expected at visit {definition.code} "
                                                   f"(its forms: {', '.join(definition.forms)})")
    if patient is not None and key is not None and name is not None:
        same = ctx.session.execute(select(FormNotDone).where(
            FormNotDone.patient_id == patient.id, FormNotDone.visit == key, FormNotDone.form == name)).scalars().first()
        if same is not None:
            checks.fail("form", name, "unique-not-done",
                        f"form {name} at visit {key} is already recorded as not done (record {same.id})")
    checks.raise_if_failed()
    ensure_user(ctx)
    return insert(ctx, FormNotDone(patient_id=patient.id, visit=key, form=name, reason=why), patient.subject_id)
