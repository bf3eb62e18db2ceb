"""Case-report-form action: record one administration of the study product, checked against the regimen.

The dose is a value in the study's unit (``product.dose_unit``): it must lie within the plausible
limits (a missing exponent is refused, not recorded), and within the regimen's tolerance of the
planned dose (or of a planned reduction, with the reason) to be on schedule; otherwise it is kept
only with a deviation text, which also writes a protocol deviation. A per-kg dose records the weight
used, a per-m2 dose the height and weight (the body surface area follows from the study's formula),
and ``amount`` may give the same dose in another unit of the same quantity (the total mg of a mg/kg
dose, the cells/kg of a cell dose), which must agree with it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from earlyphase.capture.checks import Checks, cells_text
from earlyphase.capture.common import insert, known_patient, not_after_death, not_before_consent, not_future
from earlyphase.capture.context import CaptureContext, administrations_of, allocation_of, ensure_user
from earlyphase.capture.forms import validate_extension, write_extension
from earlyphase.records.tables import Administration, Patient, ProtocolDeviation
from earlyphase.vocab import body_surface_area, codelist, convert_dose, dose_unit

AMOUNT_AGREEMENT = 0.10  # a dose in another unit must match the dose within 10 %
BSA_AGREEMENT = 0.05  # a body surface area written down must match the study's formula within 5 %
WEIGHT_KG = (1.0, 400.0)
HEIGHT_CM = (30.0, 250.0)


def dose_text(x: float | None) -> str:
    """A dose written short: 5e9 for cell counts, 2.5 or 0.75 for others."""
    if x is None:
        return "-"
    if abs(x) >= 1e5:
        return cells_text(x)
    return f"{x:g}"


def dose_limits(ctx: CaptureContext) -> tuple[float, float]:
    """The hard limits of one dose: the study's, else 1/100 of the smallest planned dose to 10 x the largest."""
    planned = [d for g in ctx.study.groups for d in
               [g.regimen.dose, *(g.regimen.step_up_doses or []), *(g.regimen.dose_reductions or [])]]
    low, high = min(planned) / 100.0, max(planned) * 10.0
    limits = ctx.study.product.dose_limits
    if limits is not None:
        low = limits.min if limits.min is not None else low
        high = limits.max if limits.max is not None else high
    return low, high


def _body_size(ctx: CaptureContext, checks: Checks, v: dict[str, Any], unit) -> dict[str, Any]:
    out: dict[str, Any] = {}
    needs_weight = unit.per in ("kg", "m2")
    out["weight_kg"] = checks.number("weight_kg", v.get("weight_kg"), required=needs_weight, low=WEIGHT_KG[0],
                                     high=WEIGHT_KG[1], rule="weight-range", what=" kg")
    out["height_cm"] = checks.number("height_cm", v.get("height_cm"), required=unit.per == "m2", low=HEIGHT_CM[0],
                                     high=HEIGHT_CM[1], rule="height-range", what=" cm")
    given_bsa = checks.number("bsa_m2", v.get("bsa_m2"), required=False, low=0.1, high=5.0, rule="bsa-range",
                              what=" m2")
    out["bsa_m2"] = given_bsa
    if out["weight_kg"] is not None and out["height_cm"] is not None:
        formula = ctx.study.product.bsa_formula
        computed = body_surface_area(out["height_cm"], out["weight_kg"], formula)
        if given_bsa is None:
            out["bsa_m2"] = round(computed, 3)
        elif abs(given_bsa - computed) > BSA_AGREEMENT * computed:
            checks.fail("bsa_m2", given_bsa, "bsa-consistent",
                        f"a body surface area of {given_bsa:g} m2 disagrees with {computed:.2f} m2 by the "
                        f"{formula} formula for {out['height_cm']:g} cm and {out['weight_kg']:g} kg")
    elif unit.per == "m2" and given_bsa is not None and out["weight_kg"] is None:
        pass  # the missing weight is already reported
    return out


def _amount(checks: Checks, v: dict[str, Any], study_unit: str, dose: float | None, size: dict[str, Any]) -> dict:
    out: dict[str, Any] = {"amount": None, "amount_unit": None}
    amount = checks.number("amount", v.get("amount"), required=False, low=0, rule="amount-not-negative")
    unit_code = checks.text("amount_unit", v.get("amount_unit"), required=False, max_length=20)
    if amount is None and unit_code is None:
        return out
    if (amount is None) != (unit_code is None):
        checks.fail("amount_unit" if unit_code is None else "amount", unit_code if amount is not None else None,
                    "amount-with-unit", "give the amount together with its unit (e.g. 210 mg)")
        return out
    try:
        unit = dose_unit(unit_code)
    except KeyError:
        checks.fail("amount_unit", unit_code, "unit-known", f"{unit_code!r} is not a dose unit earlyphase knows")
        return out
    if unit.quantity != dose_unit(study_unit).quantity:
        checks.fail("amount_unit", unit_code, "same-quantity",
                    f"the amount in {unit_code} cannot express a dose in {study_unit} (they count different things)")
        return out
    out.update(amount=amount, amount_unit=unit.code)
    if dose is None:
        return out
    try:
        expected = convert_dose(dose, study_unit, unit.code, weight_kg=size.get("weight_kg"), bsa_m2=size.get("bsa_m2"))
    except ValueError as exc:
        checks.fail("amount", amount, "body-size-needed", f"to compare {unit_code} with {study_unit}, {exc}")
        return out
    if abs(amount - expected) > AMOUNT_AGREEMENT * abs(expected):
        checks.fail("amount", amount, "amount-consistent",
                    f"{dose_text(amount)} {unit_code} disagrees with the dose of {dose_text(dose)} {study_unit} "
                    f"(= {dose_text(expected)} {unit_code} for the body size given)")
    return out


def _position(checks: Checks, schedule, v: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """(number, cycle, day) from what was given: the number, or (for cycles) the cycle and day."""
    number = checks.integer("number", v.get("number"), required=False, low=1, rule="administration-number",
                            what=" (1 = first)")
    if not schedule.cyclic:
        for name in ("cycle", "cycle_day"):
            if v.get(name) not in (None, ""):
                checks.fail(name, v.get(name), "no-cycles", "this regimen has no cycles; give the number only")
        if number is None and not checks.has_field("number"):
            checks.fail("number", v.get("number"), "required", "number is required (1 = first)")
        return number, None, None
    cycle = checks.integer("cycle", v.get("cycle"), required=False, low=1, rule="cycle-number")
    day = checks.integer("cycle_day", v.get("cycle_day"), required=False, low=1, high=schedule.cycle_days,
                         rule="cycle-day", what=f" (day of a {schedule.cycle_days}-day cycle)")
    if cycle is not None and day is not None:
        try:
            from_position = schedule.number_of(cycle, day)
        except ValueError as exc:
            checks.fail("cycle_day", day, "dosing-day", str(exc))
            return number, cycle, day
        if number is not None and number != from_position:
            checks.fail("number", number, "number-matches-cycle",
                        f"cycle {cycle} day {day} is administration {from_position}, not {number}")
        return from_position, cycle, day
    if number is None:
        if not (checks.has_field("cycle") or checks.has_field("cycle_day") or checks.has_field("number")):
            checks.fail("cycle", v.get("cycle"), "required", "give the cycle and the day (or the administration number)")
        return None, cycle, day
    cycle, day = schedule.position(number)
    return number, cycle, day


def validate_administration(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                            current: Administration | None = None) -> tuple[dict, list[tuple[str, str]]]:
    """Check an administration; return clean column values and the deviations to record as (category, text).

    Planned dates: the first administration's is its actual date; administration k's (k > 1) is
    administration k-1's actual date plus the interval, or, in cycles, the cycle's day 1 plus the day
    (a cycle's day 1 follows from its first administration, else from the previous cycle).
    """
    study, product = ctx.study, ctx.study.product
    noun = product.noun
    unit = dose_unit(product.dose_unit)
    out: dict[str, Any] = {"dose_unit": product.dose_unit}
    actual = checks.day("actual_date", v.get("actual_date"))
    planned_given = checks.day("planned_date", v.get("planned_date"), required=False)
    low, high = dose_limits(ctx)
    dose = checks.number("dose", v.get("dose"), low=low, high=high, rule="dose-range",
                         what=f" {product.dose_unit} per {noun} (a plausible dose of this study)")
    given_unit = v.get("dose_unit")
    if given_unit not in (None, "") and str(given_unit).strip() != product.dose_unit:
        checks.fail("dose_unit", given_unit, "study-dose-unit",
                    f"doses of this study are recorded in {product.dose_unit}; convert the dose to it")
    route_text = checks.text("route", v.get("route"), required=False, max_length=10)
    routes = codelist("route").values
    route = None
    if route_text is not None:
        route = next((r for r in routes if r.casefold() == route_text.casefold()), None)
        if route is None:
            checks.fail("route", route_text, "route-known", f"route must be one of: {', '.join(routes)}")
    size = _body_size(ctx, checks, v, unit)
    out.update(size)
    out.update(_amount(checks, v, product.dose_unit, dose, size))
    reason = checks.text("modification_reason", v.get("modification_reason"), required=False)
    lot = checks.text("lot", v.get("lot"), required=False, max_length=60)
    deviation = checks.text("deviation", v.get("deviation"), required=False)
    out.update(actual_date=actual, dose=dose, lot=lot, deviation=deviation, modification_reason=reason, reduction=0)
    not_future(ctx, checks, "actual_date", actual)
    deviations: list[tuple[str, str]] = []

    allocation = allocation_of(ctx, patient) if patient is not None else None
    regimen = study.group(allocation.group_code).regimen if allocation is not None else None
    schedule = regimen.schedule if regimen is not None else None
    number, cycle, day = (None, None, None)
    if schedule is not None:
        number, cycle, day = _position(checks, schedule, v)
    else:
        number = checks.integer("number", v.get("number"), required=False, low=1, rule="administration-number")
    out.update(number=number, cycle=cycle, cycle_day=day)
    out["route"] = route or (regimen.route if regimen is not None and regimen.route else product.route)
    if patient is None:
        out["planned_date"] = planned_given or actual
        return out, deviations

    if allocation is None:
        checks.fail("subject_id", patient.subject_id, "allocated-first",
                    f"patient {patient.subject_id} has no allocation to a level yet; allocate before recording "
                    f"{product.nouns}")
    elif actual is not None and actual < allocation.allocation_date:
        checks.fail("actual_date", actual, "dose-after-allocation",
                    f"the {noun} on {actual} is before the allocation on {allocation.allocation_date}")
    not_before_consent(checks, patient, "actual_date", actual, f"the {noun}")
    not_after_death(ctx, checks, patient, "actual_date", actual, f"the {noun}")
    if patient.status == "withdrawn" and patient.withdrawal_date is not None and actual is not None \
            and actual >= patient.withdrawal_date:
        checks.fail("subject_id", patient.subject_id, "not-withdrawn",
                    f"patient {patient.subject_id} was withdrawn on {patient.withdrawal_date} and cannot receive "
                    f"{product.nouns} from that day on")

    others = [a for a in administrations_of(ctx, patient) if current is None or a.id != current.id]
    by_number = {a.number: a for a in others}
    if number is not None and number in by_number:
        checks.fail("number", number, "unique-administration-number",
                    f"{noun} {number} of patient {patient.subject_id} is already recorded "
                    f"(on {by_number[number].actual_date}); correct that record instead")
    previous = by_number.get(number - 1) if number else None
    if number is not None and number > 1 and previous is None:
        checks.fail("number", number, "administration-sequence",
                    f"{noun} {number - 1} is not recorded yet; record {product.nouns} in order")
    if actual is not None and number is not None:
        for other in others:
            if other.number < number and other.actual_date >= actual:
                checks.fail("actual_date", actual, "administration-order",
                            f"{noun} {number} on {actual} is not after {noun} {other.number} on {other.actual_date}")
            if other.number > number and other.actual_date <= actual:
                checks.fail("actual_date", actual, "administration-order",
                            f"{noun} {number} on {actual} is not before {noun} {other.number} on {other.actual_date}")

    planned_date = planned_given
    if regimen is not None and number is not None:
        count = regimen.administrations
        code = allocation.group_code
        if count is not None and number > count:
            checks.fail("number", number, "administration-count",
                        f"group {code}'s regimen has {count} {product.nouns}; {noun} {number} is above it")
        else:
            if planned_date is None:
                planned_date = _planned_date(schedule, number, day, actual, others, by_number)
            deviations += _dose_deviations(checks, regimen, code, number, dose, product.dose_unit, noun, deviation,
                                           reason, out)
            if actual is not None and planned_date is not None:
                late = (actual - planned_date).days
                if abs(late) > regimen.interval_window_days:
                    text = (f"{noun} {number} on {actual}, planned {planned_date} "
                            f"({abs(late)} days {'late' if late > 0 else 'early'}; window ±{regimen.interval_window_days} days)")
                    if deviation is None:
                        checks.fail("actual_date", actual, "date-within-schedule",
                                    f"{text}: off schedule; give a deviation text to record it as a protocol deviation")
                    else:
                        deviations.append(("schedule", f"{deviation} [{text}]"))
            planned_route = regimen.route or product.route
            if out["route"] != planned_route:
                text = f"{noun} {number} given {out['route']}, the protocol's route is {planned_route}"
                if deviation is None:
                    checks.fail("route", out["route"], "route-per-protocol",
                                f"{text}; give a deviation text to record it as a protocol deviation")
                else:
                    deviations.append(("dose", f"{deviation} [{text}]"))
    if deviation is not None and not deviations:
        deviations.append(("other", deviation))
    out["planned_date"] = planned_date
    return out, deviations


def _planned_date(schedule, number: int, day: int | None, actual: date | None, others, by_number) -> date | None:
    if not schedule.cyclic:
        previous = by_number.get(number - 1)
        if number == 1 or previous is None:
            return actual
        return previous.actual_date + timedelta(days=schedule.every_days)
    cycle, day = schedule.position(number)
    starts: dict[int, date] = {}
    for other in others:
        if other.cycle is not None and other.cycle_day is not None:
            start = other.actual_date - timedelta(days=other.cycle_day - 1)
            starts[other.cycle] = min(starts.get(other.cycle, start), start)
    if cycle in starts:
        return starts[cycle] + timedelta(days=day - 1)
    if cycle - 1 in starts:
        return starts[cycle - 1] + timedelta(days=schedule.cycle_days + day - 1)
    return actual  # the first administration recorded in its cycle sets the cycle's day 1


def _dose_deviations(checks: Checks, regimen, code: str, number: int, dose: float | None, unit: str, noun: str,
                     deviation: str | None, reason: str | None, out: dict) -> list[tuple[str, str]]:
    if dose is None:
        return []
    planned = regimen.planned_dose(number)
    tolerance = regimen.dose_tolerance_percent
    off = abs(dose - planned) / planned * 100.0
    if off <= tolerance + 1e-9:
        return []
    for k, reduced in enumerate(regimen.dose_reductions or [], start=1):
        if abs(dose - reduced) / reduced * 100.0 <= tolerance + 1e-9:
            out["reduction"] = k
            if reason is None:
                checks.fail("modification_reason", None, "reduction-reason",
                            f"{dose_text(dose)} {unit} is the regimen's dose reduction {k}: give the reason "
                            "(e.g. the adverse event) in modification_reason")
            return []
    text = (f"{noun} {number}: {dose_text(dose)} {unit} given, {dose_text(planned)} {unit} planned "
            f"({off:.0f}% off; tolerance ±{tolerance:g}%)")
    if deviation is None:
        checks.fail("dose", dose, "dose-within-schedule",
                    f"{text}: outside group {code}'s regimen; give a deviation text to record it as a protocol "
                    "deviation")
        return []
    return [("dose", f"{deviation} [{text}]")]


def write_deviations(ctx: CaptureContext, patient: Patient, when: date, deviations: list[tuple[str, str]],
                     source) -> list[ProtocolDeviation]:
    rows = []
    for category, text in deviations:
        row = ProtocolDeviation(patient_id=patient.id, deviation_date=when, category=category, description=text,
                                source_table=source.__tablename__, source_id=source.id)
        rows.append(insert(ctx, row, patient.subject_id))
    return rows


def record_administration(
    ctx: CaptureContext,
    subject_id: str,
    number: int | None,
    actual_date: date | str,
    dose: float,
    *,
    cycle: int | None = None,
    cycle_day: int | None = None,
    planned_date: date | str | None = None,
    dose_unit: str | None = None,
    route: str | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
    bsa_m2: float | None = None,
    amount: float | None = None,
    amount_unit: str | None = None,
    modification_reason: str | None = None,
    lot: str | None = None,
    deviation: str | None = None,
    extra: dict[str, Any] | None = None,
    confirm_warnings: bool = False,
) -> Administration:
    """Record administration ``number`` (1-based; in cycles, or give ``cycle`` and ``cycle_day``) given on
    ``actual_date`` with ``dose`` in the study's dose unit.

    ``route`` defaults to the regimen's. A per-kg dose needs ``weight_kg``; a per-m2 dose ``height_cm`` and
    ``weight_kg`` (``bsa_m2`` is computed by the study's formula, or checked against it). ``amount`` with
    ``amount_unit`` gives the same dose in another unit (checked). A dose outside the planned dose ±
    tolerance, a date outside the planned date ± window, or another route is accepted only with a
    ``deviation`` text, and then also written as a protocol deviation; a planned dose reduction needs its
    ``modification_reason``. ``extra`` holds the fields the study adds to this form.
    """
    checks = Checks(f"record {ctx.study.product.noun} {number if number is not None else ''} of patient "
                    f"{subject_id}".replace("  ", " "))
    patient = known_patient(ctx, checks, subject_id)
    values, deviations = validate_administration(ctx, checks, patient, dict(
        number=number, cycle=cycle, cycle_day=cycle_day, actual_date=actual_date, planned_date=planned_date,
        dose=dose, dose_unit=dose_unit, route=route, weight_kg=weight_kg, height_cm=height_cm, bsa_m2=bsa_m2,
        amount=amount, amount_unit=amount_unit, modification_reason=modification_reason, lot=lot,
        deviation=deviation,
    ))
    clean_extra = validate_extension(ctx, checks, "administration", extra, values, patient,
                                     confirm_warnings=confirm_warnings)
    checks.raise_if_failed()
    ensure_user(ctx)
    record = insert(ctx, Administration(patient_id=patient.id, **values), patient.subject_id)
    write_deviations(ctx, patient, record.actual_date, deviations, record)
    write_extension(ctx, "administration", record, clean_extra, patient)
    return record
