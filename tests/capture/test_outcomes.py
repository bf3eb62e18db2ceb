"""Other therapies, follow-up contacts, deaths, hand-noted protocol deviations, withdrawal."""

from __future__ import annotations

import pytest

from capture_helpers import counts, rules
from earlyphase.capture import CheckDuplicate
from earlyphase.errors import CheckFailed


def test_other_therapy(treated):
    t = treated.record_other_therapy("P01", "sorafenib", "2015-02-01", end_date="2015-06-01")
    assert t.therapy == "sorafenib" and t.new_anticancer is True
    t = treated.record_other_therapy("P01", "Other: arterial infusion pump", "2015-03-01", new_anticancer=False)
    assert t.therapy == "other: arterial infusion pump"
    assert treated.record_other_therapy("P01", "tace", "2015-04-01").therapy == "TACE"


@pytest.mark.parametrize("therapy, start, end, rule", [
    ("aspirin", "2015-02-01", None, "enumeration"),
    ("other", "2015-02-01", None, "enumeration"),
    ("TACE", "2015-02-01", "2015-01-31", "end-after-start"),
    ("TACE", "2024-06-02", None, "not-in-future"),
    ("TACE", "2015-02-31", None, "date"),
])
def test_other_therapy_rejects(treated, therapy, start, end, rule):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.record_other_therapy("P01", therapy, start, end_date=end)
    assert rule in rules(info.value)
    assert counts(treated.engine) == before


def test_follow_up(treated):
    treated.record_follow_up("P01", "2016-01-01", "alive")
    with pytest.raises(CheckDuplicate):
        treated.record_follow_up("P01", "2016-01-01", "alive")
    with pytest.raises(CheckFailed) as info:
        treated.record_follow_up("P01", "2016-02-01", "dead")
    assert rules(info.value) == ["death-recorded-first"]
    with pytest.raises(CheckFailed) as info:
        treated.record_follow_up("P01", "2016-02-01", "lost")
    assert rules(info.value) == ["enumeration"]
    with pytest.raises(CheckFailed) as info:
        treated.record_follow_up("P01", "2015-01-01", "alive")
    assert rules(info.value) == ["after-consent"]


def test_death_and_what_may_follow(treated):
    treated.record_follow_up("P01", "2016-01-01", "alive")
    death = treated.record_death("P01", "2016-03-01", "disease progression")
    assert death.cause == "disease progression"
    with pytest.raises(CheckDuplicate) as info:
        treated.record_death("P01", "2016-03-01", "disease progression")
    assert rules(info.value) == ["unique-death"]
    with pytest.raises(CheckFailed) as info:
        treated.record_follow_up("P01", "2016-04-01", "alive")
    assert rules(info.value) == ["not-after-death"]
    with pytest.raises(CheckFailed) as info:
        treated.record_follow_up("P01", "2016-02-01", "dead")
    assert rules(info.value) == ["dead-after-death"]
    treated.record_follow_up("P01", "2016-04-01", "dead")
    with pytest.raises(CheckFailed) as info:
        treated.record_other_therapy("P01", "TACE", "2016-03-02")
    assert rules(info.value) == ["not-after-death"]


def test_death_must_be_last(treated):
    treated.record_follow_up("P01", "2016-01-01", "alive")
    treated.record_other_therapy("P01", "sorafenib", "2015-06-01", end_date="2016-02-01")
    with pytest.raises(CheckFailed) as info:
        treated.record_death("P01", "2015-12-01", "unknown")
    assert rules(info.value) == ["death-is-last"]
    message = info.value.problems[0].message
    assert "'alive' contact on 2016-01-01" in message and "sorafenib" in message


@pytest.mark.parametrize("when, cause, rule", [
    ("2015-01-09", "unknown", "after-consent"),
    ("2024-06-02", "unknown", "not-in-future"),
    ("2016-01-01", "old age", "enumeration"),
])
def test_death_rejects(treated, when, cause, rule):
    with pytest.raises(CheckFailed) as info:
        treated.record_death("P01", when, cause)
    assert rule in rules(info.value)


def test_protocol_deviation_by_hand(treated):
    d = treated.record_protocol_deviation("P01", "2015-01-20", "assessment", "baseline AFP not drawn")
    assert d.category == "assessment"
    with pytest.raises(CheckFailed) as info:
        treated.record_protocol_deviation("P01", "2015-01-20", "mood", "")
    assert set(rules(info.value)) == {"enumeration", "required"}


def test_withdraw(treated):
    patient = treated.withdraw_patient("P01", "2015-01-20", "patient's decision")
    assert patient.status == "withdrawn"
    with pytest.raises(CheckFailed) as info:
        treated.withdraw_patient("P01", "2015-01-21", "again")
    assert rules(info.value) == ["not-withdrawn"]


@pytest.mark.parametrize("when, reason, rule", [
    ("2015-01-14", "x", "withdrawal-after-doses"),
    ("2015-01-09", "x", "after-consent"),
    ("2015-01-20", "", "required"),
    ("2024-06-02", "x", "not-in-future"),
])
def test_withdraw_rejects(treated, when, reason, rule):
    with pytest.raises(CheckFailed) as info:
        treated.withdraw_patient("P01", when, reason)
    assert rule in rules(info.value)
