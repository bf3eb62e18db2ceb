"""Lesions under RECIST 1.1's lymph-node rule (Eisenhauer 2009, section 3.2) and iRECIST's 'increased' status."""

from __future__ import annotations

import pytest

from capture_helpers import ALLOCATED, FIRST_INFUSION, PATIENT, TODAY, counts, rules
from earlyphase.capture import LesionInput, initialise
from earlyphase.errors import CheckFailed
from earlyphase.protocol import read_study_text

BASE = [LesionInput("T1", "target", 32.0, location="liver"),
        LesionInput("L1", "target", node=True, short_axis_mm=18.0, location="porta hepatis node"),
        LesionInput("L2", "non-target", status="present", node=True, short_axis_mm=12.0, location="coeliac node")]


@pytest.fixture
def baselined(treated):
    treated.record_tumour_assessment("P01", "2015-01-08", "CT", BASE, baseline=True)
    return treated


def test_nodes_are_recorded_with_their_short_axis(baselined):
    a = baselined.record_tumour_assessment("P01", "2015-03-12", "CT", [
        LesionInput("T1", "target", 0.0), LesionInput("L1", "target", node=True, short_axis_mm=8.0),
        {"label": "L2", "kind": "non-target", "status": "absent", "node": "yes", "short_axis_mm": 7.0}])
    from sqlalchemy import select

    from earlyphase.records import transaction
    from earlyphase.records.tables import Lesion

    with transaction(baselined.engine) as s:
        saved = {r.lesion_label: (r.node, r.short_axis_mm, r.viable_diameter_mm)
                 for r in s.execute(select(Lesion).where(Lesion.assessment_id == a.id)).scalars()}
    assert saved == {"T1": (False, None, 0.0), "L1": (True, 8.0, None), "L2": (True, 7.0, None)}


@pytest.mark.parametrize("lesion, rule", [
    # a target node needs at least 15 mm short axis at baseline
    (LesionInput("L9", "target", node=True, short_axis_mm=14.9), "target-node-15-mm"),
    # a non-target node is pathological from 10 mm; under it, it is no lesion at all
    (LesionInput("L9", "non-target", status="present", node=True, short_axis_mm=9.0), "nontarget-node-10-mm"),
    # a non-nodal target measures at least 10 mm
    (LesionInput("T9", "target", 9.0), "target-10-mm"),
    # a node is measured by its short axis, other lesions by their longest diameter
    (LesionInput("L9", "target", 20.0, node=True, short_axis_mm=16.0), "node-short-axis"),
    (LesionInput("L9", "target", node=True), "required"),
    (LesionInput("T9", "target", 20.0, short_axis_mm=12.0), "short-axis-for-nodes"),
    (LesionInput("L9", "target", node=True, short_axis_mm=401.0), "short-axis-0-400-mm"),
    ({"label": "L9", "kind": "target", "node": "maybe", "short_axis_mm": 20.0}, "boolean"),
])
def test_baseline_node_rules(treated, lesion, rule):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.record_tumour_assessment("P01", "2015-01-08", "CT", [lesion], baseline=True)
    assert rule in rules(info.value)
    assert counts(treated.engine) == before


@pytest.mark.parametrize("lesions, rule", [
    ([LesionInput("T1", "target", 20.0), LesionInput("L1", "target", 15.0)], "node-as-at-baseline"),
    ([LesionInput("T1", "target", node=True, short_axis_mm=20.0)], "node-as-at-baseline"),
    ([LesionInput("L2", "non-target", status="absent", node=True, short_axis_mm=11.0)], "node-status-matches-short-axis"),
    ([LesionInput("L2", "non-target", status="present", node=True, short_axis_mm=9.0)], "node-status-matches-short-axis"),
    ([LesionInput("L2", "non-target", status="increased", node=True)], "increased-is-irecist"),
])
def test_follow_up_node_rules(baselined, lesions, rule):
    with pytest.raises(CheckFailed) as info:
        baselined.record_tumour_assessment("P01", "2015-03-12", "CT", lesions)
    assert rule in rules(info.value)


def test_correcting_a_node(baselined):
    a = baselined.record_tumour_assessment("P01", "2015-03-12", "CT", [
        LesionInput("T1", "target", 20.0), LesionInput("L1", "target", node=True, short_axis_mm=16.0)])
    from sqlalchemy import select

    from earlyphase.records import transaction
    from earlyphase.records.tables import Lesion

    with transaction(baselined.engine) as s:
        l1 = s.execute(select(Lesion).where(Lesion.assessment_id == a.id, Lesion.lesion_label == "L1")).scalar_one()
    fixed = baselined.correct_record("lesions", l1.id, {"short_axis_mm": 9.5}, "data-entry error: re-measured")
    assert fixed.short_axis_mm == 9.5
    with pytest.raises(CheckFailed) as info:
        baselined.correct_record("lesions", l1.id, {"node": False}, "data-entry error: not a node")
    assert {"node-as-at-baseline", "short-axis-for-nodes"} <= set(rules(info.value))


def test_increased_is_recorded_under_irecist(engine, tmp_path):
    text, _ = read_study_text("nk-hcc-ltx")
    path = tmp_path / "study.yaml"
    path.write_text(text.replace("response_criteria: mRECIST", "response_criteria: iRECIST"), encoding="utf-8")
    trial = initialise(engine, path, "tester", today=TODAY)
    trial.enrol_patient(**PATIENT)
    trial.allocate_patient("P01", "B", ALLOCATED)
    trial.record_administration("P01", 1, FIRST_INFUSION, 5e9)
    trial.record_tumour_assessment("P01", "2015-01-08", "CT", BASE, baseline=True)
    trial.record_tumour_assessment("P01", "2015-03-12", "CT", [
        LesionInput("T1", "target", 30.0), LesionInput("L1", "target", node=True, short_axis_mm=18.0),
        LesionInput("L2", "non-target", status="increased", node=True, short_axis_mm=14.0)],
        investigator_response="iUPD")
    with pytest.raises(CheckFailed) as info:
        trial.record_tumour_assessment("P01", "2015-05-12", "CT", [], investigator_response="PD")
    assert rules(info.value) == ["enumeration"] and "iCPD" in info.value.problems[0].message
