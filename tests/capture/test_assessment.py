"""Tumour assessments and lesions: modality, diameters, baseline rules, target lesions, duplicates."""

from __future__ import annotations

import pytest

from capture_helpers import counts, rules
from earlyphase.capture import LesionInput
from earlyphase.errors import CheckFailed

BASE_LESIONS = [LesionInput("T1", "target", 32.0, location="liver"), LesionInput("T2", "target", 18.0, location="lung"),
                {"label": "N1", "kind": "non-target", "status": "present", "location": "bone"}]


@pytest.fixture
def baselined(treated):
    treated.record_tumour_assessment("P01", "2015-01-08", "CT", BASE_LESIONS, baseline=True)
    return treated


def test_baseline_and_follow_up(baselined):
    before = counts(baselined.engine)
    a = baselined.record_tumour_assessment("P01", "2015-03-12", "mri", [
        LesionInput("T1", "target", 12.0), LesionInput("T2", "target", 0.0),
        LesionInput("N1", "non-target", status="absent"), LesionInput("X1", "new", 8.0, location="liver")],
        investigator_response="PD")
    after = counts(baselined.engine)
    assert a.modality == "MRI" and a.investigator_response == "PD"
    assert after["lesions"] == before["lesions"] + 4
    assert after["audit_log"] == before["audit_log"] + 5  # assessment + 4 lesions


@pytest.mark.parametrize("date_, modality, lesions, kwargs, rule", [
    ("2015-03-12", "PET-CT", [], {}, "study-modality"),
    ("2015-03-12", "Xray", [], {}, "enumeration"),
    ("2015-03-12", "CT", [LesionInput("T1", "target", 401.0)], {}, "diameter-0-400-mm"),
    ("2015-03-12", "CT", [LesionInput("T1", "target", -1.0)], {}, "diameter-0-400-mm"),
    ("2015-03-12", "CT", [LesionInput("T1", "target")], {}, "required"),
    ("2015-03-12", "CT", [LesionInput("T1", "target", 10.0, status="present")], {}, "target-has-diameter"),
    ("2015-03-12", "CT", [LesionInput("N1", "non-target")], {}, "required"),
    ("2015-03-12", "CT", [LesionInput("N1", "non-target", status="bigger")], {}, "enumeration"),
    ("2015-03-12", "CT", [LesionInput("Z1", "satellite", 3.0)], {}, "enumeration"),
    ("2015-03-12", "CT", [LesionInput("T3", "target", 10.0)], {}, "targets-from-baseline"),
    ("2015-03-12", "CT", [LesionInput("T1", "target", 10.0), LesionInput("T1", "target", 11.0)], {},
     "unique-lesion-label"),
    ("2015-03-12", "CT", [], {"investigator_response": "MR"}, "enumeration"),
    ("2015-01-08", "CT", [], {}, "unique-assessment-date"),
    ("2015-01-09", "CT", [], {"baseline": True}, "unique-baseline"),
    ("2015-01-15", "CT", [], {}, "post-baseline-after-treatment"),
    ("2024-07-01", "CT", [], {}, "not-in-future"),
])
def test_rejects(baselined, date_, modality, lesions, kwargs, rule):
    before = counts(baselined.engine)
    with pytest.raises(CheckFailed) as info:
        baselined.record_tumour_assessment("P01", date_, modality, lesions, **kwargs)
    assert rule in rules(info.value)
    assert counts(baselined.engine) == before


@pytest.mark.parametrize("lesions, kwargs, rule", [
    ([LesionInput("X1", "new", 5.0)], {}, "no-new-lesion-at-baseline"),
    ([], {"investigator_response": "SD"}, "no-response-at-baseline"),
    ([LesionInput(f"T{i}", "target", 10.0) for i in range(1, 7)], {}, "max-5-targets"),
    ([LesionInput(f"T{i}", "target", 10.0, location="Liver") for i in range(1, 4)], {}, "max-2-targets-per-organ"),
])
def test_baseline_rejects(treated, lesions, kwargs, rule):
    with pytest.raises(CheckFailed) as info:
        treated.record_tumour_assessment("P01", "2015-01-08", "CT", lesions, baseline=True, **kwargs)
    assert rule in rules(info.value)


def test_baseline_window_and_order(treated):
    # Baseline at most 28 days before consent (2015-01-10), and not after the first infusion (2015-01-15).
    with pytest.raises(CheckFailed) as info:
        treated.record_tumour_assessment("P01", "2014-12-12", "CT", [], baseline=True)
    assert rules(info.value) == ["baseline-window"]
    with pytest.raises(CheckFailed) as info:
        treated.record_tumour_assessment("P01", "2015-01-16", "CT", [], baseline=True)
    assert rules(info.value) == ["baseline-before-treatment"]
    treated.record_tumour_assessment("P01", "2014-12-13", "CT", [], baseline=True)


def test_follow_up_scan_needs_treatment(allocated):
    with pytest.raises(CheckFailed) as info:
        allocated.record_tumour_assessment("P01", "2015-03-01", "CT", [])
    assert rules(info.value) == ["post-baseline-after-treatment"]


def test_no_assessment_after_death(baselined):
    baselined.record_death("P01", "2015-03-01", "disease progression")
    with pytest.raises(CheckFailed) as info:
        baselined.record_tumour_assessment("P01", "2015-03-12", "CT", [])
    assert rules(info.value) == ["not-after-death"]
