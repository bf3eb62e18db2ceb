"""Administrations: the regimen's dose and schedule, count, order, deviations, and who may receive them
(the seed study: cells, 4 x 5e9 every 14 days in group B)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from capture_helpers import FIRST_INFUSION, PATIENT, counts, rules
from earlyphase.errors import CheckFailed
from earlyphase.records import transaction
from earlyphase.records.tables import AuditEntry, ProtocolDeviation


def day(n: int) -> date:
    """Days after the first infusion."""
    return FIRST_INFUSION + timedelta(days=n)


def test_on_schedule_infusion_accepted(treated):
    inf = treated.record_administration("P01", 2, day(14), 5e9, lot="L-002")
    assert inf.planned_date == day(14) and inf.deviation is None


@pytest.mark.parametrize("dose", [4.0e9, 6.0e9, 5.2e9])  # group B: 5e9 +- 20 %
def test_dose_within_tolerance_accepted(treated, dose):
    treated.record_administration("P01", 2, day(14), dose)


@pytest.mark.parametrize("when", [day(11), day(17)])  # +- 3-day window
def test_date_within_window_accepted(treated, when):
    treated.record_administration("P01", 2, when, 5e9)


@pytest.mark.parametrize("dose, when, rule", [
    (3.9e9, day(14), "dose-within-schedule"),
    (6.1e9, day(14), "dose-within-schedule"),
    (5e9, day(18), "date-within-schedule"),
    (5e9, day(10), "date-within-schedule"),
])
def test_off_schedule_needs_deviation(treated, dose, when, rule):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 2, when, dose)
    assert rules(info.value) == [rule]
    assert counts(treated.engine) == before


def test_off_schedule_with_deviation_writes_deviation_rows(treated):
    before = counts(treated.engine)
    inf = treated.record_administration("P01", 2, day(20), 2.5e9, deviation="low cell yield; patient had fever")
    after = counts(treated.engine)
    assert inf.deviation.startswith("low cell yield")
    assert after["protocol_deviations"] == before["protocol_deviations"] + 2  # dose and schedule
    assert after["audit_log"] == before["audit_log"] + 3  # infusion + 2 deviations
    with transaction(treated.engine) as s:
        devs = list(s.execute(select(ProtocolDeviation).order_by(ProtocolDeviation.id)).scalars())
        assert {d.category for d in devs} == {"dose", "schedule"}
        assert all(d.source_table == "administrations" and d.source_id == inf.id for d in devs)
        audited = s.execute(select(AuditEntry.table_name).where(AuditEntry.subject_id == "P01")).scalars().all()
        assert audited.count("protocol_deviations") == 2


def test_administration_count_not_above_regimen(treated):
    for k in (2, 3, 4):
        treated.record_administration("P01", k, day(14 * (k - 1)), 5e9)
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 5, day(56), 5e9, deviation="extra dose")
    assert "administration-count" in rules(info.value)


@pytest.mark.parametrize("number, when, dose, rule", [
    (1, day(0), 5e9, "unique-administration-number"),
    (3, day(28), 5e9, "administration-sequence"),
    (0, day(14), 5e9, "administration-number"),
    (2, day(0), 5e9, "administration-order"),
    (2, day(14), 5e5, "dose-range"),
    (2, day(14), 2e12, "dose-range"),
    (2, day(14), "five", "number"),
    (2, date(2024, 6, 2), 5e9, "not-in-future"),
])
def test_administration_rejects(treated, number, when, dose, rule):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", number, when, dose, deviation=None)
    assert rule in rules(info.value)
    assert counts(treated.engine) == before


def test_administration_needs_allocation(enrolled):
    with pytest.raises(CheckFailed) as info:
        enrolled.record_administration("P01", 1, FIRST_INFUSION, 5e9)
    assert rules(info.value) == ["allocated-first"]


def test_administration_before_allocation_rejected(allocated):
    with pytest.raises(CheckFailed) as info:
        allocated.record_administration("P01", 1, "2015-01-11", 5e9)
    assert "dose-after-allocation" in rules(info.value)


def test_withdrawn_patient_cannot_receive_doses(treated):
    treated.withdraw_patient("P01", day(5), "patient's decision")
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 2, day(14), 5e9)
    assert "not-withdrawn" in rules(info.value)


def test_no_dose_after_death(treated):
    treated.record_death("P01", day(10), "disease progression")
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 2, day(14), 5e9)
    assert "not-after-death" in rules(info.value)


def test_step_up_regimen_doses(trial):
    # Group D steps 1e9, 2.5e9, then 5e9: each infusion is checked against its own planned dose.
    trial.enrol_patient(**{**PATIENT, "subject_id": "D01"})
    trial.allocate_patient("D01", "D", "2015-01-12")
    trial.record_administration("D01", 1, day(0), 1e9)
    trial.record_administration("D01", 2, day(14), 2.5e9)
    with pytest.raises(CheckFailed) as info:
        trial.record_administration("D01", 3, day(28), 2.5e9)
    assert rules(info.value) == ["dose-within-schedule"]
    trial.record_administration("D01", 3, day(28), 5e9)


def test_dose_per_kg_must_match_weight(treated):
    # 5e9 cells / 65 kg = 7.7e7 cells/kg: the same dose in another unit of the same quantity
    adm = treated.record_administration("P01", 2, day(14), 5e9, amount=7.7e7, amount_unit="cells/kg", weight_kg=65)
    assert (adm.amount, adm.amount_unit, adm.weight_kg, adm.dose_unit, adm.route) == (7.7e7, "cells/kg", 65, "cells", "IV")
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 3, day(28), 5e9, amount=5e7, amount_unit="cells/kg", weight_kg=65)
    assert rules(info.value) == ["amount-consistent"]
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 3, day(28), 5e9, amount=7.7e7, amount_unit="cells/kg")
    assert rules(info.value) == ["body-size-needed"]
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 3, day(28), 5e9, amount=5, amount_unit="mg")
    assert rules(info.value) == ["same-quantity"]


def test_unknown_patient(trial):
    with pytest.raises(CheckFailed) as info:
        trial.record_administration("NOPE", 1, FIRST_INFUSION, 5e9)
    assert rules(info.value) == ["patient-known"]


def test_another_route_or_unit_needs_a_deviation_or_is_refused(treated):
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 2, day(14), 5e9, route="SC")
    assert rules(info.value) == ["route-per-protocol"]
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 2, day(14), 5e9, dose_unit="cells/kg")
    assert rules(info.value) == ["study-dose-unit"]
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 2, day(14), 5e9, route="XX")
    assert rules(info.value) == ["route-known"]
    adm = treated.record_administration("P01", 2, day(14), 5e9, route="SC", deviation="no venous access")
    assert adm.route == "SC"
