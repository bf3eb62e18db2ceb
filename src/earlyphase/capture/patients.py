"""Case-report-form actions on the patient: enrol, allocate to a group, withdraw."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from earlyphase.capture.checks import Checks, PartialDate
from earlyphase.capture.common import SUBJECT_PATTERN, insert, known_patient, not_after_death, not_before_consent, not_future
from earlyphase.capture.context import (
    CaptureContext,
    allocation_of,
    ensure_user,
    find_patient,
    find_site,
    infusions_of,
)
from earlyphase.records.audit import row_values, write_audit
from earlyphase.records.tables import AdverseEvent, Allocation, Patient
from earlyphase.vocab import CHILD_PUGH_CLASSES, CHILD_PUGH_SCORES, SEXES

OLDEST_AGE = 120  # years at consent beyond which a birth year is a typing error


def validate_patient(ctx: CaptureContext, checks: Checks, v: dict[str, Any], current: Patient | None = None) -> dict:
    """Check a patient's enrolment values; return the clean column values (``site`` becomes ``site_id``)."""
    out: dict[str, Any] = {}
    subject = checks.text("subject_id", v.get("subject_id"), max_length=40, pattern=SUBJECT_PATTERN,
                          pattern_hint="letters, digits, '.', '_' or '-', starting with a letter or digit")
    if subject is not None:
        other = find_patient(ctx, subject)
        if other is not None and (current is None or other.id != current.id):
            checks.fail("subject_id", subject, "unique-subject", f"patient {subject} is already enrolled")
    out["subject_id"] = subject

    site_code = checks.text("site", v.get("site"), max_length=20)
    out["site_id"] = None
    if site_code is not None:
        site = find_site(ctx, site_code)
        if site is None:
            known = ", ".join(s.code for s in ctx.study.sites)
            checks.fail("site", site_code, "site-known", f"site {site_code} is not a site of this study (sites: {known})")
        else:
            out["site_id"] = site.id

    out["sex"] = checks.choice("sex", v.get("sex"), SEXES)
    consent = checks.day("consent_date", v.get("consent_date"))
    enrolment = checks.day("enrolment_date", v.get("enrolment_date"), required=False) or consent
    transplant = checks.day("transplant_date", v.get("transplant_date"))
    recurrence = checks.day("recurrence_date", v.get("recurrence_date"))
    out.update(consent_date=consent, enrolment_date=enrolment, transplant_date=transplant, recurrence_date=recurrence)

    reference_year = (consent or ctx.today).year
    birth_year = checks.integer("birth_year", v.get("birth_year"), low=reference_year - OLDEST_AGE,
                                high=reference_year, rule="plausible-birth-year",
                                what=f" (an age of 0 to {OLDEST_AGE} at consent)")
    out["birth_year"] = birth_year
    out["ecog"] = checks.integer("ecog", v.get("ecog"), low=0, high=4, rule="ecog-0-4",
                                 what=" (baseline ECOG performance status)")
    cp = checks.choice("child_pugh", v.get("child_pugh"), CHILD_PUGH_CLASSES)
    out["child_pugh"] = cp
    score = checks.integer("child_pugh_score", v.get("child_pugh_score"), required=False, low=5, high=15,
                           rule="child-pugh-score-5-15")
    out["child_pugh_score"] = score
    if cp is not None and score is not None and score not in CHILD_PUGH_SCORES[cp]:
        rng = CHILD_PUGH_SCORES[cp]
        checks.fail("child_pugh_score", score, "child-pugh-consistent",
                    f"a Child-Pugh score of {score} is not class {cp} (class {cp} is {rng.start}-{rng.stop - 1})")
    out["afp_ng_ml"] = checks.number("afp_ng_ml", v.get("afp_ng_ml"), required=False, low=0, rule="afp-not-negative",
                                     what=" ng/mL")
    out["weight_kg"] = checks.number("weight_kg", v.get("weight_kg"), required=False, low=20, high=300,
                                     rule="weight-20-300-kg", what=" kg")
    out["initials"] = checks.text("initials", v.get("initials"), required=False, max_length=10)
    out["hospital_number"] = checks.text("hospital_number", v.get("hospital_number"), required=False, max_length=40)

    # Dates in order: transplant <= recurrence <= consent <= enrolment, none in the future.
    for name, value in (("transplant_date", transplant), ("recurrence_date", recurrence),
                        ("consent_date", consent), ("enrolment_date", enrolment)):
        not_future(ctx, checks, name, value)
    if transplant and recurrence and recurrence < transplant:
        checks.fail("recurrence_date", recurrence, "recurrence-after-transplant",
                    f"recurrence on {recurrence} is before the transplant on {transplant}")
    if recurrence and consent and consent < recurrence:
        checks.fail("consent_date", consent, "consent-after-recurrence",
                    f"consent on {consent} is before the recurrence on {recurrence}; patients enter after recurrence")
    if consent and enrolment and enrolment < consent:
        checks.fail("enrolment_date", enrolment, "enrolment-after-consent",
                    f"enrolment on {enrolment} is before consent on {consent}")
    if birth_year and transplant and transplant.year < birth_year:
        checks.fail("transplant_date", transplant, "after-birth", f"transplant in {transplant.year} is before birth in {birth_year}")
    start, end = ctx.study.enrolment_start, ctx.study.enrolment_end
    if enrolment and ((start and enrolment < start) or (end and enrolment > end)):
        checks.fail("enrolment_date", enrolment, "enrolment-period",
                    f"enrolment on {enrolment} is outside the study's enrolment period "
                    f"({start or 'open'} to {end or 'open'})")
    if current is not None and consent is not None:
        _later_records_after_consent(ctx, checks, current, consent)
    return out


def _later_records_after_consent(ctx: CaptureContext, checks: Checks, patient: Patient, consent: date) -> None:
    # A corrected consent date must still precede everything already recorded for the patient.
    allocation = allocation_of(ctx, patient)
    if allocation is not None and allocation.allocation_date < consent:
        checks.fail("consent_date", consent, "consent-before-allocation",
                    f"consent on {consent} would be after the allocation on {allocation.allocation_date}")
    infusions = infusions_of(ctx, patient)
    if infusions and min(i.actual_date for i in infusions) < consent:
        checks.fail("consent_date", consent, "consent-before-infusion",
                    f"consent on {consent} would be after the first infusion on {min(i.actual_date for i in infusions)}")
    for ae in ctx.session.execute(select(AdverseEvent).where(AdverseEvent.patient_id == patient.id)).scalars():
        onset = PartialDate.parse(ae.onset)
        if onset is not None and onset.latest < consent:
            checks.fail("consent_date", consent, "consent-before-adverse-event",
                        f"consent on {consent} would be after the onset of {ae.term} on {ae.onset}")


def enrol_patient(
    ctx: CaptureContext,
    subject_id: str,
    site: str,
    sex: str,
    birth_year: int,
    ecog: int,
    child_pugh: str,
    consent_date: date | str,
    transplant_date: date | str,
    recurrence_date: date | str,
    *,
    enrolment_date: date | str | None = None,
    child_pugh_score: int | None = None,
    afp_ng_ml: float | None = None,
    weight_kg: float | None = None,
    initials: str | None = None,
    hospital_number: str | None = None,
) -> Patient:
    """Enrol a patient at a site (dates as ``date`` or ``YYYY-MM-DD``; AFP in ng/mL; weight in kg).

    ``enrolment_date`` defaults to the consent date.
    """
    checks = Checks(f"enrol patient {subject_id}")
    values = validate_patient(ctx, checks, dict(
        subject_id=subject_id, site=site, sex=sex, birth_year=birth_year, ecog=ecog, child_pugh=child_pugh,
        consent_date=consent_date, transplant_date=transplant_date, recurrence_date=recurrence_date,
        enrolment_date=enrolment_date, child_pugh_score=child_pugh_score, afp_ng_ml=afp_ng_ml,
        weight_kg=weight_kg, initials=initials, hospital_number=hospital_number,
    ))
    checks.raise_if_failed()
    ensure_user(ctx)
    return insert(ctx, Patient(**values, status="enrolled"), values["subject_id"])


def validate_allocation(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                        current: Allocation | None = None) -> dict:
    """Check an allocation (group code and date); return clean column values."""
    out: dict[str, Any] = {}
    code = checks.text("group", v.get("group"), max_length=10)
    out["group_code"] = None
    if code is not None:
        matches = [g for g in ctx.study.group_codes if g.casefold() == code.casefold()]
        if not matches:
            checks.fail("group", code, "group-known",
                        f"group {code} is not a group of this study (groups: {', '.join(ctx.study.group_codes)})")
        else:
            out["group_code"] = matches[0]
    when = checks.day("allocation_date", v.get("allocation_date"))
    out["allocation_date"] = when
    not_future(ctx, checks, "allocation_date", when)
    if patient is None:
        return out
    existing = allocation_of(ctx, patient)
    if existing is not None and (current is None or existing.id != current.id):
        checks.fail("subject_id", patient.subject_id, "unique-allocation",
                    f"patient {patient.subject_id} is already allocated to group {existing.group_code} "
                    f"(on {existing.allocation_date}); correct that allocation instead")
    if current is None and patient.status == "withdrawn":
        checks.fail("subject_id", patient.subject_id, "not-withdrawn",
                    f"patient {patient.subject_id} was withdrawn on {patient.withdrawal_date} and cannot be allocated")
    not_before_consent(checks, patient, "allocation_date", when, "allocation")
    not_after_death(ctx, checks, patient, "allocation_date", when, "allocation")
    infusions = infusions_of(ctx, patient)
    if when and infusions and min(i.actual_date for i in infusions) < when:
        checks.fail("allocation_date", when, "allocation-before-infusion",
                    f"allocation on {when} is after the first infusion on {min(i.actual_date for i in infusions)}")
    if out["group_code"] and infusions:
        planned = ctx.study.group(out["group_code"]).regimen.infusions
        if len(infusions) > planned:
            checks.fail("group", out["group_code"], "infusion-count",
                        f"the patient already has {len(infusions)} infusions but group {out['group_code']}'s "
                        f"regimen has {planned}")
    return out


def allocate_patient(ctx: CaptureContext, subject_id: str, group: str, allocation_date: date | str) -> Allocation:
    """Allocate an enrolled patient to a treatment group (a group code of the study, e.g. ``A``)."""
    checks = Checks(f"allocate patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_allocation(ctx, checks, patient, dict(group=group, allocation_date=allocation_date))
    checks.raise_if_failed()
    ensure_user(ctx)
    return insert(ctx, Allocation(patient_id=patient.id, **values), patient.subject_id)


def validate_withdrawal(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                        correcting: bool = False) -> dict:
    when = checks.day("withdrawal_date", v.get("withdrawal_date"))
    reason = checks.text("withdrawal_reason", v.get("withdrawal_reason"))
    not_future(ctx, checks, "withdrawal_date", when)
    if patient is None:
        return {"withdrawal_date": when, "withdrawal_reason": reason}
    if not correcting and patient.status == "withdrawn":
        checks.fail("subject_id", patient.subject_id, "not-withdrawn",
                    f"patient {patient.subject_id} was already withdrawn on {patient.withdrawal_date}")
    not_before_consent(checks, patient, "withdrawal_date", when, "withdrawal")
    not_after_death(ctx, checks, patient, "withdrawal_date", when, "withdrawal")
    if when is not None:
        later = [i for i in infusions_of(ctx, patient) if i.actual_date > when]
        if later:
            checks.fail("withdrawal_date", when, "withdrawal-after-infusions",
                        f"infusion {later[0].number} on {later[0].actual_date} is after the withdrawal on {when}")
    return {"withdrawal_date": when, "withdrawal_reason": reason}


def withdraw_patient(ctx: CaptureContext, subject_id: str, withdrawal_date: date | str, reason: str) -> Patient:
    """Withdraw a patient from study treatment (no infusion after this date); the reason is required."""
    checks = Checks(f"withdraw patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_withdrawal(ctx, checks, patient, dict(withdrawal_date=withdrawal_date, withdrawal_reason=reason))
    checks.raise_if_failed()
    ensure_user(ctx)
    old = row_values(patient)
    patient.status = "withdrawn"
    patient.withdrawal_date = values["withdrawal_date"]
    patient.withdrawal_reason = values["withdrawal_reason"]
    ctx.session.flush()
    write_audit(ctx.session, "update", patient, username=ctx.username, reason=values["withdrawal_reason"],
                old_values=old, subject_id=patient.subject_id)
    return patient
