"""Case-report-form action: record an infusion of the study product, checked against the regimen."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from earlyphase.capture.checks import Checks, cells_text
from earlyphase.capture.common import insert, known_patient, not_after_death, not_before_consent, not_future
from earlyphase.capture.context import CaptureContext, allocation_of, ensure_user, infusions_of
from earlyphase.records.tables import Infusion, Patient, ProtocolDeviation

MIN_DOSE_CELLS = 1e6  # below this a dose is a typing error (a missing exponent), not a deviation
MAX_DOSE_CELLS = 1e12
DOSE_PER_KG_AGREEMENT = 0.10  # cells/kg must match cells / baseline weight within 10%


def validate_infusion(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                      current: Infusion | None = None) -> tuple[dict, list[tuple[str, str]]]:
    """Check an infusion; return clean column values and the deviations to record as (category, text).

    The planned date of infusion k (k > 1) is infusion k-1's actual date plus the regimen's interval;
    infusion 1's planned date is its actual date unless given.
    """
    out: dict[str, Any] = {}
    number = checks.integer("number", v.get("number"), low=1, rule="infusion-number", what=" (1 = first infusion)")
    actual = checks.day("actual_date", v.get("actual_date"))
    planned_given = checks.day("planned_date", v.get("planned_date"), required=False)
    dose = checks.number("dose_cells", v.get("dose_cells"), low=MIN_DOSE_CELLS, high=MAX_DOSE_CELLS,
                         rule="dose-cells-range", what=" cells per infusion")
    per_kg = checks.number("dose_cells_per_kg", v.get("dose_cells_per_kg"), required=False, low=1, high=1e11,
                           rule="dose-per-kg-range", what=" cells/kg")
    lot = checks.text("lot", v.get("lot"), required=False, max_length=60)
    deviation = checks.text("deviation", v.get("deviation"), required=False)
    out.update(number=number, actual_date=actual, dose_cells=dose, dose_cells_per_kg=per_kg, lot=lot,
               deviation=deviation)
    not_future(ctx, checks, "actual_date", actual)
    deviations: list[tuple[str, str]] = []
    if patient is None:
        out["planned_date"] = planned_given or actual
        return out, deviations

    allocation = allocation_of(ctx, patient)
    if allocation is None:
        checks.fail("subject_id", patient.subject_id, "allocated-first",
                    f"patient {patient.subject_id} has no group allocation yet; allocate before recording infusions")
    elif actual is not None and actual < allocation.allocation_date:
        checks.fail("actual_date", actual, "infusion-after-allocation",
                    f"the infusion on {actual} is before the allocation on {allocation.allocation_date}")
    not_before_consent(checks, patient, "actual_date", actual, "the infusion")
    not_after_death(ctx, checks, patient, "actual_date", actual, "the infusion")
    if patient.status == "withdrawn" and patient.withdrawal_date is not None and actual is not None \
            and actual >= patient.withdrawal_date:
        checks.fail("subject_id", patient.subject_id, "not-withdrawn",
                    f"patient {patient.subject_id} was withdrawn on {patient.withdrawal_date} and cannot receive "
                    "infusions from that day on")

    others = [i for i in infusions_of(ctx, patient) if current is None or i.id != current.id]
    by_number = {i.number: i for i in others}
    if number is not None and number in by_number:
        checks.fail("number", number, "unique-infusion-number",
                    f"infusion {number} of patient {patient.subject_id} is already recorded "
                    f"(on {by_number[number].actual_date}); correct that record instead")
    previous = by_number.get(number - 1) if number else None
    if number is not None and number > 1 and previous is None:
        checks.fail("number", number, "infusion-sequence",
                    f"infusion {number - 1} is not recorded yet; record infusions in order")
    if actual is not None and number is not None:
        for other in others:
            if other.number < number and other.actual_date >= actual:
                checks.fail("actual_date", actual, "infusion-order",
                            f"infusion {number} on {actual} is not after infusion {other.number} on {other.actual_date}")
            if other.number > number and other.actual_date <= actual:
                checks.fail("actual_date", actual, "infusion-order",
                            f"infusion {number} on {actual} is not before infusion {other.number} on {other.actual_date}")

    planned_date = planned_given
    if allocation is not None and number is not None:
        group = ctx.study.group(allocation.group_code)
        regimen = group.regimen
        if number > regimen.infusions:
            checks.fail("number", number, "infusion-count",
                        f"group {group.code}'s regimen has {regimen.infusions} infusions; infusion {number} is above it")
        else:
            if planned_date is None:
                if number == 1 or previous is None:
                    planned_date = actual
                else:
                    planned_date = previous.actual_date + timedelta(days=regimen.interval_days)
            planned_dose = regimen.planned_dose(number)
            if dose is not None:
                off = abs(dose - planned_dose) / planned_dose * 100.0
                if off > regimen.dose_tolerance_percent + 1e-9:
                    text = (f"infusion {number}: {cells_text(dose)} cells given, {cells_text(planned_dose)} planned "
                            f"({off:.0f}% off; tolerance ±{regimen.dose_tolerance_percent:g}%)")
                    if deviation is None:
                        checks.fail("dose_cells", dose, "dose-within-schedule",
                                    f"{text}: outside group {group.code}'s regimen; give a deviation text to record "
                                    "it as a protocol deviation")
                    else:
                        deviations.append(("dose", f"{deviation} [{text}]"))
            if actual is not None and planned_date is not None:
                late = (actual - planned_date).days
                if abs(late) > regimen.interval_window_days:
                    text = (f"infusion {number} on {actual}, planned {planned_date} "
                            f"({abs(late)} days {'late' if late > 0 else 'early'}; window ±{regimen.interval_window_days} days)")
                    if deviation is None:
                        checks.fail("actual_date", actual, "date-within-schedule",
                                    f"{text}: off schedule; give a deviation text to record it as a protocol deviation")
                    else:
                        deviations.append(("schedule", f"{deviation} [{text}]"))
        if len(others) >= regimen.infusions and number is not None and number <= regimen.infusions \
                and number not in by_number:
            checks.fail("number", number, "infusion-count",
                        f"patient {patient.subject_id} already has all {regimen.infusions} infusions of group "
                        f"{group.code}'s regimen")
    if deviation is not None and not deviations:
        deviations.append(("other", deviation))
    out["planned_date"] = planned_date
    if per_kg is not None and dose is not None and patient.weight_kg:
        expected = dose / patient.weight_kg
        if abs(per_kg - expected) > DOSE_PER_KG_AGREEMENT * expected:
            checks.fail("dose_cells_per_kg", per_kg, "dose-per-kg-consistent",
                        f"{cells_text(per_kg)} cells/kg disagrees with {cells_text(dose)} cells for "
                        f"{patient.weight_kg:g} kg (= {cells_text(expected)} cells/kg)")
    return out, deviations


def write_deviations(ctx: CaptureContext, patient: Patient, when: date, deviations: list[tuple[str, str]],
                     source: Infusion) -> list[ProtocolDeviation]:
    rows = []
    for category, text in deviations:
        row = ProtocolDeviation(patient_id=patient.id, deviation_date=when, category=category, description=text,
                                source_table=source.__tablename__, source_id=source.id)
        rows.append(insert(ctx, row, patient.subject_id))
    return rows


def record_infusion(
    ctx: CaptureContext,
    subject_id: str,
    number: int,
    actual_date: date | str,
    dose_cells: float,
    *,
    planned_date: date | str | None = None,
    dose_cells_per_kg: float | None = None,
    lot: str | None = None,
    deviation: str | None = None,
) -> Infusion:
    """Record infusion ``number`` (1-based) given on ``actual_date`` with ``dose_cells`` cells.

    A dose outside the regimen's planned dose ± tolerance, or a date outside the planned date ±
    window, is accepted only with a ``deviation`` text, and then also written as a protocol deviation.
    """
    checks = Checks(f"record infusion {number} of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values, deviations = validate_infusion(ctx, checks, patient, dict(
        number=number, actual_date=actual_date, planned_date=planned_date, dose_cells=dose_cells,
        dose_cells_per_kg=dose_cells_per_kg, lot=lot, deviation=deviation,
    ))
    checks.raise_if_failed()
    ensure_user(ctx)
    infusion = insert(ctx, Infusion(patient_id=patient.id, **values), patient.subject_id)
    write_deviations(ctx, patient, infusion.actual_date, deviations, infusion)
    return infusion
