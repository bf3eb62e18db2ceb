"""Case-report-form actions on the patient: enrol (with the eligibility answers), allocate to a level, withdraw."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from earlyphase.capture.checks import Checks, PartialDate
from earlyphase.capture.common import (
    SUBJECT_PATTERN,
    enrolment_values,
    insert,
    known_patient,
    not_after_death,
    not_before_consent,
    not_future,
)
from earlyphase.capture.context import (
    CaptureContext,
    administrations_of,
    allocation_of,
    ensure_user,
    find_patient,
    find_site,
)
from earlyphase.capture.forms import validate_extension, write_extension
from earlyphase.records.audit import row_values, write_audit
from earlyphase.records.tables import AdverseEvent, Allocation, EligibilityAnswer, FormRecord, Patient, SiteRecord
from earlyphase.vocab import SEXES

OLDEST_AGE = 120  # years at consent beyond which a birth year is a typing error


def _same_subject_other_case(ctx: CaptureContext, subject: str) -> Patient | None:
    from sqlalchemy import func, select

    return ctx.session.execute(select(Patient).where(func.lower(Patient.subject_id) == subject.lower())).scalars().first()


def validate_patient(ctx: CaptureContext, checks: Checks, v: dict[str, Any], current: Patient | None = None) -> dict:
    """Check a patient's enrolment values; return the clean column values (``site`` becomes ``site_id``)."""
    out: dict[str, Any] = {}
    subject = checks.text("subject_id", v.get("subject_id"), max_length=40, pattern=SUBJECT_PATTERN,
                          pattern_hint="letters, digits, '.', '_' or '-', starting with a letter or digit")
    if subject is not None:
        other = find_patient(ctx, subject) or _same_subject_other_case(ctx, subject)
        if other is not None and (current is None or other.id != current.id):
            spelled = "" if other.subject_id == subject else f" (as {other.subject_id}: ids differing only in letter case name one patient)"
            checks.fail("subject_id", subject, "unique-subject", f"patient {subject} is already enrolled{spelled}")
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
    out.update(consent_date=consent, enrolment_date=enrolment)

    reference_year = (consent or ctx.today).year
    birth_year = checks.integer("birth_year", v.get("birth_year"), low=reference_year - OLDEST_AGE,
                                high=reference_year, rule="plausible-birth-year",
                                what=f" (an age of 0 to {OLDEST_AGE} at consent)")
    out["birth_year"] = birth_year
    out["ecog"] = checks.integer("ecog", v.get("ecog"), low=0, high=4, rule="ecog-0-4",
                                 what=" (baseline ECOG performance status)")
    out["initials"] = checks.text("initials", v.get("initials"), required=False, max_length=10)
    out["hospital_number"] = checks.text("hospital_number", v.get("hospital_number"), required=False, max_length=40)

    # Dates in order: consent <= enrolment, neither in the future (a study's own dates are its forms' checks).
    for name, value in (("consent_date", consent), ("enrolment_date", enrolment)):
        not_future(ctx, checks, name, value)
    if consent and enrolment and enrolment < consent:
        checks.fail("enrolment_date", enrolment, "enrolment-after-consent",
                    f"enrolment on {enrolment} is before consent on {consent}")
    start, end = ctx.study.enrolment_start, ctx.study.enrolment_end
    if enrolment and ((start and enrolment < start) or (end and enrolment > end)):
        checks.fail("enrolment_date", enrolment, "enrolment-period",
                    f"enrolment on {enrolment} is outside the study's enrolment period "
                    f"({start or 'open'} to {end or 'open'})")
    if current is not None and consent is not None:
        _later_records_after_consent(ctx, checks, current, consent)
    if current is not None:
        _recheck_forms(ctx, checks, current, out)
    return out


def _recheck_forms(ctx: CaptureContext, checks: Checks, patient: Patient, new: dict[str, Any]) -> None:
    """A corrected enrolment value must still satisfy the checks of the patient's forms that read it."""
    from earlyphase.capture.forms import check_values, stored_values

    if any(new.get(k) is None for k in ("consent_date", "birth_year")):
        return
    site = ctx.session.get(SiteRecord, new.get("site_id")) if new.get("site_id") else None
    override = {k: new.get(k) for k in ("subject_id", "sex", "birth_year", "ecog", "consent_date", "enrolment_date")}
    override["site"] = site.code if site else None
    before = enrolment_values(ctx, patient)
    changed = [k for k, v in override.items() if before.get(k) != v]
    if not changed:
        return
    context = enrolment_values(ctx, patient, override)
    for record in ctx.session.execute(select(FormRecord).where(FormRecord.patient_id == patient.id,
                                                               FormRecord.core_table.is_(None))).scalars():
        try:
            form = ctx.study.form(record.form)
        except KeyError:
            continue
        values, confirmed = stored_values(ctx, record, form.fields)
        inner = Checks("recheck")
        check_values(ctx, inner, f"{form.name}.", form.fields, form.checks, values, context,
                     already_confirmed=confirmed)
        for p in inner.problems:
            checks.fail(changed[0], _plain(override[changed[0]]), p.rule,
                        f"the change breaks form {form.name} (record {record.id}): {p.field}: {p.message}")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def validate_eligibility(ctx: CaptureContext, checks: Checks, answers: Any) -> list[tuple[str, str, bool]]:
    """Every criterion of the study answered, inclusion criteria met and no exclusion criterion applying;
    returns (criterion, kind, answer) rows. A subject who fails one is refused, naming the criterion."""
    criteria = ctx.study.eligibility.criteria
    if not criteria:
        if answers:
            checks.fail("eligibility", "<answers>", "no-criteria", "the study lists no eligibility criteria")
        return []
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        checks.fail("eligibility", type(answers).__name__, "mapping",
                    "give the eligibility answers as criterion code -> yes/no")
        return []
    known = {c.code for _, c in criteria}
    for code in answers:
        if code not in known:
            checks.fail(f"eligibility.{code}", answers[code], "criterion-known",
                        f"the study has no eligibility criterion {code!r} (criteria: {', '.join(sorted(known))})")
    rows = []
    for kind, criterion in criteria:
        ref = f"eligibility.{criterion.code}"
        raw = answers.get(criterion.code)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            checks.fail(ref, raw, "required", f"answer eligibility criterion {criterion.code}: {criterion.text}")
            continue
        answer = checks.boolean(ref, raw, default=None)
        if answer is None:
            continue
        if kind == "inclusion" and not answer:
            checks.fail(ref, raw, "eligibility-inclusion",
                        f"inclusion criterion {criterion.code} is not met ({criterion.text}): the patient is not "
                        "eligible and cannot be enrolled")
        elif kind == "exclusion" and answer:
            checks.fail(ref, raw, "eligibility-exclusion",
                        f"exclusion criterion {criterion.code} applies ({criterion.text}): the patient is not "
                        "eligible and cannot be enrolled")
        rows.append((criterion.code, kind, answer))
    return rows


def _later_records_after_consent(ctx: CaptureContext, checks: Checks, patient: Patient, consent: date) -> None:
    # A corrected consent date must still precede everything already recorded for the patient.
    allocation = allocation_of(ctx, patient)
    if allocation is not None and allocation.allocation_date < consent:
        checks.fail("consent_date", consent, "consent-before-allocation",
                    f"consent on {consent} would be after the allocation on {allocation.allocation_date}")
    doses = administrations_of(ctx, patient)
    if doses and min(a.actual_date for a in doses) < consent:
        checks.fail("consent_date", consent, "consent-before-dose",
                    f"consent on {consent} would be after the first {ctx.study.product.noun} on "
                    f"{min(a.actual_date for a in doses)}")
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
    consent_date: date | str,
    *,
    enrolment_date: date | str | None = None,
    initials: str | None = None,
    hospital_number: str | None = None,
    eligibility: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    confirm_warnings: bool = False,
) -> Patient:
    """Enrol a patient at a site (dates as ``date`` or ``YYYY-MM-DD``); ``enrolment_date`` defaults to consent.

    ``eligibility`` answers every criterion of the study (code -> yes/no: inclusion criteria met,
    exclusion criteria applying); a patient who fails one is refused, naming the criterion, and the
    answers are recorded. ``extra`` holds the fields the study adds to the enrolment form.
    """
    checks = Checks(f"enrol patient {subject_id}")
    values = validate_patient(ctx, checks, dict(
        subject_id=subject_id, site=site, sex=sex, birth_year=birth_year, ecog=ecog, consent_date=consent_date,
        enrolment_date=enrolment_date, initials=initials, hospital_number=hospital_number,
    ))
    answers = validate_eligibility(ctx, checks, eligibility)
    context = enrolment_values(ctx, None, {**{k: values.get(k) for k in (
        "subject_id", "sex", "birth_year", "ecog", "consent_date", "enrolment_date")}, "site": site})
    clean_extra = validate_extension(ctx, checks, "enrolment", extra, {}, None, confirm_warnings=confirm_warnings,
                                     enrolment=context)
    checks.raise_if_failed()
    ensure_user(ctx)
    patient = insert(ctx, Patient(**values, status="enrolled"), values["subject_id"])
    for code, kind, answer in answers:
        insert(ctx, EligibilityAnswer(patient_id=patient.id, criterion=code, kind=kind, answer=answer),
               patient.subject_id)
    write_extension(ctx, "enrolment", patient, clean_extra, patient)
    return patient


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
    if out["group_code"] is not None and when is not None:
        level_open(ctx, checks, out["group_code"], when)
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
    doses = administrations_of(ctx, patient)
    noun, nouns = ctx.study.product.noun, ctx.study.product.nouns
    if when and doses and min(a.actual_date for a in doses) < when:
        checks.fail("allocation_date", when, "allocation-before-dose",
                    f"allocation on {when} is after the first {noun} on {min(a.actual_date for a in doses)}")
    if out["group_code"] and doses:
        planned = ctx.study.group(out["group_code"]).regimen.administrations
        if planned is not None and len(doses) > planned:
            checks.fail("group", out["group_code"], "administration-count",
                        f"the patient already has {len(doses)} {nouns} but group {out['group_code']}'s "
                        f"regimen has {planned}")
    return out


def level_open(ctx: CaptureContext, checks: Checks, code: str, when: date) -> None:
    """A dose-finding study allocates only to levels open on the allocation date: level 1 by the protocol,
    higher ones by a sealed dose-escalation decision. A study allocated by a fixed plan has no such rule."""
    if ctx.study.dose_finding.design == "fixed-allocation":
        return
    from earlyphase.capture.decisions import open_levels

    codes = ctx.study.group_codes
    level = codes.index(code) + 1
    state = open_levels(ctx.session, ctx.study, on=when)
    if level > state.highest:
        checks.fail("group", code, "level-open",
                    f"group {code} is level {level}, not open on {when}: {state.describe(codes)}; a sealed "
                    "dose-escalation decision must open it first")


def allocate_patient(ctx: CaptureContext, subject_id: str, group: str, allocation_date: date | str, *,
                     extra: dict[str, Any] | None = None, confirm_warnings: bool = False) -> Allocation:
    """Allocate an enrolled patient to a dose level (a group code of the study, e.g. ``A``)."""
    checks = Checks(f"allocate patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_allocation(ctx, checks, patient, dict(group=group, allocation_date=allocation_date))
    clean_extra = validate_extension(ctx, checks, "allocation", extra,
                                     {"group": values["group_code"], "allocation_date": values["allocation_date"]},
                                     patient, confirm_warnings=confirm_warnings)
    checks.raise_if_failed()
    ensure_user(ctx)
    allocation = insert(ctx, Allocation(patient_id=patient.id, **values), patient.subject_id)
    write_extension(ctx, "allocation", allocation, clean_extra, patient)
    return allocation


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
        later = [a for a in administrations_of(ctx, patient) if a.actual_date > when]
        if later:
            checks.fail("withdrawal_date", when, "withdrawal-after-doses",
                        f"{ctx.study.product.noun} {later[0].number} on {later[0].actual_date} is after the "
                        f"withdrawal on {when}")
    return {"withdrawal_date": when, "withdrawal_reason": reason}


def withdraw_patient(ctx: CaptureContext, subject_id: str, withdrawal_date: date | str, reason: str) -> Patient:
    """Withdraw a patient from study treatment (no dose after this date); the reason is required."""
    checks = Checks(f"withdraw patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_withdrawal(ctx, checks, patient, dict(withdrawal_date=withdrawal_date, withdrawal_reason=reason))
    checks.raise_if_failed()
    from earlyphase.capture.locks import refuse_if_locked

    refuse_if_locked(ctx, patient, patient)
    ensure_user(ctx)
    old = row_values(patient)
    patient.status = "withdrawn"
    patient.withdrawal_date = values["withdrawal_date"]
    patient.withdrawal_reason = values["withdrawal_reason"]
    ctx.session.flush()
    write_audit(ctx.session, "update", patient, username=ctx.username, reason=values["withdrawal_reason"],
                old_values=old, subject_id=patient.subject_id)
    return patient
