"""Case-report-form actions after and beside treatment: other anticancer therapy, follow-up contact,
death, and a protocol deviation noted by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from earlyphase.capture.checks import Checks, PartialDate
from earlyphase.capture.common import insert, known_patient, not_after_death, not_before_consent, not_future
from earlyphase.capture.context import CaptureContext, administrations_of, allocation_of, death_of, ensure_user
from earlyphase.capture.forms import validate_extension, write_extension
from earlyphase.records.tables import (
    AdverseEvent,
    Death,
    FollowUp,
    OtherTherapy,
    Patient,
    ProtocolDeviation,
    TumourAssessment,
)
from earlyphase.vocab import DEATH_CAUSES, DEVIATION_CATEGORIES, FOLLOW_UP_STATUSES, THERAPY_KINDS, match_choice


def _kind_with_other(checks: Checks, field: str, value: Any, kinds: tuple[str, ...], max_length: int) -> str | None:
    """A listed kind, or ``other: <free text>``."""
    text = checks.text(field, value, max_length=max_length)
    if text is None:
        return None
    found = match_choice(text, kinds)
    if found is not None and found != "other":
        return found
    if text.lower().startswith("other:") and text[6:].strip():
        return "other: " + text[6:].strip()
    checks.fail(field, text, "enumeration",
                f"{field} must be one of: {', '.join(k for k in kinds if k != 'other')}, or 'other: <what>'")
    return None


def validate_other_therapy(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                           current: OtherTherapy | None = None) -> dict:
    out: dict[str, Any] = {}
    out["therapy"] = _kind_with_other(checks, "therapy", v.get("therapy"), THERAPY_KINDS, 60)
    start = checks.day("start_date", v.get("start_date"))
    end = checks.day("end_date", v.get("end_date"), required=False)
    out.update(start_date=start, end_date=end)
    out["new_anticancer"] = checks.boolean("new_anticancer", v.get("new_anticancer"), default=True)
    not_future(ctx, checks, "start_date", start)
    not_future(ctx, checks, "end_date", end)
    if start and end and end < start:
        checks.fail("end_date", end, "end-after-start", f"the therapy ends on {end}, before it starts on {start}")
    not_after_death(ctx, checks, patient, "start_date", start, "the therapy start")
    not_after_death(ctx, checks, patient, "end_date", end, "the therapy end")
    return out


def _with_extension(ctx: CaptureContext, checks: Checks, core_form: str, patient, values: dict, extra, confirm):
    return validate_extension(ctx, checks, core_form, extra, values, patient, confirm_warnings=confirm)


def record_other_therapy(ctx: CaptureContext, subject_id: str, therapy: str, start_date: date | str, *,
                         end_date: date | str | None = None, new_anticancer: bool = True,
                         extra: dict[str, Any] | None = None, confirm_warnings: bool = False) -> OtherTherapy:
    """Record another anticancer therapy (a kind of the ``anticancer_therapy`` codelist, or ``other: <what>``)
    with its dates. ``new_anticancer`` marks a therapy that counts as new anticancer treatment for PFS censoring.
    """
    checks = Checks(f"record other therapy of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_other_therapy(ctx, checks, patient, dict(
        therapy=therapy, start_date=start_date, end_date=end_date, new_anticancer=new_anticancer))
    clean = _with_extension(ctx, checks, "other_therapy", patient, values, extra, confirm_warnings)
    checks.raise_if_failed()
    ensure_user(ctx)
    record = insert(ctx, OtherTherapy(patient_id=patient.id, **values), patient.subject_id)
    write_extension(ctx, "other_therapy", record, clean, patient)
    return record


def validate_follow_up(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                       current: FollowUp | None = None) -> dict:
    when = checks.day("contact_date", v.get("contact_date"))
    status = checks.choice("status", v.get("status"), FOLLOW_UP_STATUSES)
    not_future(ctx, checks, "contact_date", when)
    if patient is not None and when is not None:
        not_before_consent(checks, patient, "contact_date", when, "the contact")
        death = death_of(ctx, patient)
        if status == "alive":
            not_after_death(ctx, checks, patient, "contact_date", when, "an 'alive' contact")
        elif status == "dead":
            if death is None:
                checks.fail("status", status, "death-recorded-first",
                            f"record the death of patient {patient.subject_id} before a contact that reports it")
            elif when < death.death_date:
                checks.fail("contact_date", when, "dead-after-death",
                            f"a contact on {when} cannot report a death that happened later, on {death.death_date}")
        same = ctx.session.execute(select(FollowUp).where(
            FollowUp.patient_id == patient.id, FollowUp.contact_date == when)).scalars().first()
        if same is not None and (current is None or same.id != current.id):
            checks.fail("contact_date", when, "unique-follow-up-date",
                        f"a follow-up contact on {when} is already recorded for patient {patient.subject_id}")
    return {"contact_date": when, "status": status}


def record_follow_up(ctx: CaptureContext, subject_id: str, contact_date: date | str, status: str, *,
                     extra: dict[str, Any] | None = None, confirm_warnings: bool = False) -> FollowUp:
    """Record a follow-up contact: on ``contact_date`` the patient was ``alive`` or ``dead``."""
    checks = Checks(f"record follow-up of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_follow_up(ctx, checks, patient, dict(contact_date=contact_date, status=status))
    clean = _with_extension(ctx, checks, "follow_up", patient, values, extra, confirm_warnings)
    checks.raise_if_failed()
    ensure_user(ctx)
    record = insert(ctx, FollowUp(patient_id=patient.id, **values), patient.subject_id)
    write_extension(ctx, "follow_up", record, clean, patient)
    return record


def records_after(ctx: CaptureContext, patient: Patient, day: date) -> list[str]:
    """Everything recorded for the patient that is dated after ``day`` (to keep a death date last)."""
    found: list[str] = []
    allocation = allocation_of(ctx, patient)
    if allocation is not None and allocation.allocation_date > day:
        found.append(f"allocation on {allocation.allocation_date}")
    noun = ctx.study.product.noun
    found += [f"{noun} {a.number} on {a.actual_date}" for a in administrations_of(ctx, patient) if a.actual_date > day]
    for ae in ctx.session.execute(select(AdverseEvent).where(AdverseEvent.patient_id == patient.id)).scalars():
        for label, text in (("onset", ae.onset), ("resolution", ae.resolution)):
            parsed = PartialDate.parse(text) if text else None
            if parsed is not None and parsed.earliest > day:
                found.append(f"{ae.term} {label} {text}")
    found += [f"tumour assessment on {a.assessment_date}" for a in ctx.session.execute(
        select(TumourAssessment).where(TumourAssessment.patient_id == patient.id)).scalars() if a.assessment_date > day]
    for t in ctx.session.execute(select(OtherTherapy).where(OtherTherapy.patient_id == patient.id)).scalars():
        if t.start_date > day or (t.end_date is not None and t.end_date > day):
            found.append(f"{t.therapy} from {t.start_date} to {t.end_date or 'ongoing'}")
    found += [f"'alive' contact on {f.contact_date}" for f in ctx.session.execute(
        select(FollowUp).where(FollowUp.patient_id == patient.id)).scalars() if f.status == "alive" and f.contact_date > day]
    if patient.withdrawal_date is not None and patient.withdrawal_date > day:
        found.append(f"withdrawal on {patient.withdrawal_date}")
    return found


def validate_death(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                   current: Death | None = None) -> dict:
    when = checks.day("death_date", v.get("death_date"))
    cause = _kind_with_other(checks, "cause", v.get("cause"), DEATH_CAUSES, 200)
    not_future(ctx, checks, "death_date", when)
    if patient is not None:
        existing = death_of(ctx, patient)
        if existing is not None and (current is None or existing.id != current.id):
            checks.fail("subject_id", patient.subject_id, "unique-death",
                        f"the death of patient {patient.subject_id} is already recorded (on {existing.death_date})")
        not_before_consent(checks, patient, "death_date", when, "the death")
        if when is not None:
            later = records_after(ctx, patient, when)
            if later:
                checks.fail("death_date", when, "death-is-last",
                            f"these records are dated after a death on {when}: {'; '.join(later)}")
            if current is not None:
                for ae in ctx.session.execute(select(AdverseEvent).where(
                        AdverseEvent.patient_id == patient.id, AdverseEvent.grade == 5)).scalars():
                    res = PartialDate.parse(ae.resolution) if ae.resolution else None
                    if res is not None and not (res.earliest <= when <= res.latest):
                        checks.fail("death_date", when, "grade-5-ends-at-death",
                                    f"the fatal {ae.term} ends on {ae.resolution}, not on {when}")
    return {"death_date": when, "cause": cause}


def record_death(ctx: CaptureContext, subject_id: str, death_date: date | str, cause: str, *,
                 extra: dict[str, Any] | None = None, confirm_warnings: bool = False) -> Death:
    """Record a patient's death (cause: disease progression / adverse event / unknown / ``other: <what>``)."""
    checks = Checks(f"record death of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_death(ctx, checks, patient, dict(death_date=death_date, cause=cause))
    clean = _with_extension(ctx, checks, "death", patient, values, extra, confirm_warnings)
    checks.raise_if_failed()
    ensure_user(ctx)
    record = insert(ctx, Death(patient_id=patient.id, **values), patient.subject_id)
    write_extension(ctx, "death", record, clean, patient)
    return record


def validate_deviation(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                       current: ProtocolDeviation | None = None) -> dict:
    when = checks.day("deviation_date", v.get("deviation_date"))
    category = checks.choice("category", v.get("category"), DEVIATION_CATEGORIES)
    description = checks.text("description", v.get("description"))
    not_future(ctx, checks, "deviation_date", when)
    not_after_death(ctx, checks, patient, "deviation_date", when, "the deviation")
    return {"deviation_date": when, "category": category, "description": description}


def record_protocol_deviation(ctx: CaptureContext, subject_id: str, deviation_date: date | str, category: str,
                              description: str) -> ProtocolDeviation:
    """Note a protocol deviation by hand (deviations of doses and visit windows are written automatically)."""
    checks = Checks(f"record protocol deviation of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_deviation(ctx, checks, patient, dict(
        deviation_date=deviation_date, category=category, description=description))
    checks.raise_if_failed()
    ensure_user(ctx)
    return insert(ctx, ProtocolDeviation(patient_id=patient.id, **values), patient.subject_id)
