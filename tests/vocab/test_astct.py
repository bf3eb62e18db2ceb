"""ASTCT consensus grading of CRS and ICANS (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638).

Every row of the paper's grading tables is a case below, written from the table as published (and as reproduced
with its footnotes in Kaufmann et al., PMC8021214 Table 1, for CRS; Ali et al., PMC8403007 Table 4, for adult
ICANS; the children's ICANS table as summarised by MDedge, "Group proposes new grading systems for CRS,
neurotoxicity", 2018, and NCIt C188936). Each case names the row and the footnote it checks.
"""

from __future__ import annotations

import itertools

import pytest

from earlyphase.errors import InputError
from earlyphase.vocab import grade_crs, grade_icans, ice_score
from earlyphase.vocab.astct import CONSCIOUSNESS, OXYGEN_SUPPORT, RAISED_ICP, SEIZURE


def rules(exc: InputError) -> list[str]:
    return [p.rule for p in exc.problems]


# ---------------------------------------------------------------------------------------------- CRS
# Table "ASTCT CRS Consensus Grading": the hypotension column, each row, with fever >= 38 °C, no hypoxia.
@pytest.mark.parametrize("kwargs, grade", [
    (dict(hypotension=False), 1),                                        # grade 1: none
    (dict(hypotension=True), 2),                                         # grade 2: not requiring vasopressors
    (dict(hypotension=True, vasopressors=1), 3),                         # grade 3: a vasopressor ...
    (dict(hypotension=True, vasopressors=1, vasopressin=True), 3),       # ... with or without vasopressin
    (dict(hypotension=True, vasopressin=True), 3),                       # vasopressin alone is one vasopressor
    (dict(hypotension=True, vasopressors=2), 4),                         # grade 4: multiple vasopressors
    (dict(hypotension=True, vasopressors=2, vasopressin=True), 4),       # (excluding vasopressin) ...
    (dict(hypotension=True, vasopressors=3), 4),
])
def test_crs_hypotension_rows(kwargs, grade):
    result = grade_crs(temperature_c=38.5, **kwargs)
    assert result.grade == grade
    assert result.domains["hypotension"] == (grade if grade > 1 else 0)
    assert result.drivers == (("fever",) if grade == 1 else ("hypotension",))


# The hypoxia column, each row (fever >= 38 °C, no hypotension).
@pytest.mark.parametrize("oxygen, flow, grade", [
    ("none", None, 1),                                    # grade 1: none
    ("low_flow_nasal_cannula", None, 2),                  # grade 2: low-flow nasal cannula ...
    ("low_flow_nasal_cannula", 6.0, 2),                   # ... <= 6 L/min (footnote)
    ("blow_by", None, 2),                                 # ... or blow-by
    ("nasal_cannula", 0.5, 2),
    ("nasal_cannula", 6.0, 2),                            # boundary: 6 L/min is still low flow
    ("nasal_cannula", 6.5, 3),                            # more than 6 L/min is high flow (footnote)
    ("high_flow_nasal_cannula", None, 3),                 # grade 3: high-flow nasal cannula
    ("high_flow_nasal_cannula", 40.0, 3),
    ("facemask", None, 3),                                # ... facemask
    ("non_rebreather_mask", None, 3),                     # ... non-rebreather mask
    ("venturi_mask", None, 3),                            # ... Venturi mask
    ("cpap", None, 4),                                    # grade 4: positive pressure: CPAP ...
    ("bipap", None, 4),                                   # ... BiPAP ...
    ("mechanical_ventilation", None, 4),                  # ... intubation and mechanical ventilation
])
def test_crs_hypoxia_rows(oxygen, flow, grade):
    result = grade_crs(temperature_c=39.0, oxygen=oxygen, oxygen_flow_l_min=flow)
    assert result.grade == grade
    assert result.drivers == (("fever",) if grade == 1 else ("hypoxia",))


def test_crs_grade_is_the_more_severe_domain():
    # Footnote example: temperature 39.5 °C, hypotension on 1 vasopressor and hypoxia on low-flow nasal cannula
    # is grade 3.
    result = grade_crs(temperature_c=39.5, hypotension=True, vasopressors=1, oxygen="low_flow_nasal_cannula")
    assert (result.grade, result.drivers) == (3, ("hypotension",))
    assert result.domains == {"fever": 1, "hypotension": 3, "hypoxia": 2}
    # a tie names both signs
    tie = grade_crs(temperature_c=38.0, hypotension=True, vasopressors=1, oxygen="facemask")
    assert (tie.grade, tie.drivers) == (3, ("hypotension", "hypoxia"))


@pytest.mark.parametrize("bp, oxygen", list(itertools.product(
    [dict(hypotension=False), dict(hypotension=True), dict(hypotension=True, vasopressors=1),
     dict(hypotension=True, vasopressors=2)],
    ["none", "blow_by", "facemask", "bipap"])))
def test_crs_every_combination_is_the_maximum(bp, oxygen):
    result = grade_crs(temperature_c=38.2, oxygen=oxygen, **bp)
    expected = max(1, result.domains["hypotension"], OXYGEN_SUPPORT[oxygen][1])
    assert result.grade == expected


def test_crs_fever_boundary_and_requirement():
    # Fever is >= 38.0 °C: 38.0 is fever, 37.9 is not.
    assert grade_crs(temperature_c=38.0).grade == 1
    below = grade_crs(temperature_c=37.9, hypotension=True, oxygen="facemask")
    assert below.grade == 0 and below.drivers == ()
    assert "not CRS" in below.reason and "needs fever" in below.reason
    assert below.domains["hypotension"] == 2 and below.domains["hypoxia"] == 3  # still reported


def test_crs_fever_masked_by_treatment():
    # Footnote: once antipyretic or anti-cytokine therapy (tocilizumab, steroids) is given, fever is no longer
    # required; grading is driven by hypotension and hypoxia.
    result = grade_crs(temperature_c=36.8, fever_masked=True, hypotension=True, vasopressors=2)
    assert (result.grade, result.drivers) == (4, ("hypotension",))
    assert grade_crs(fever_masked=True, oxygen="low_flow_nasal_cannula").grade == 2
    assert "masked" in grade_crs(fever_masked=True).reason


def test_crs_grade_5_is_death_from_crs():
    result = grade_crs(temperature_c=40.1, hypotension=True, vasopressors=3, oxygen="mechanical_ventilation",
                       died_of_crs=True)
    assert (result.grade, result.drivers) == (5, ("death",))


@pytest.mark.parametrize("kwargs, rule", [
    (dict(), "temperature-required"),                                           # nothing to say there was fever
    (dict(temperature_c=46.0), "plausible-range"),
    (dict(temperature_c=24.9), "plausible-range"),
    (dict(temperature_c=float("nan")), "number"),
    (dict(temperature_c="39"), "number"),
    (dict(temperature_c=38.5, vasopressors=1), "vasopressors-need-hypotension"),
    (dict(temperature_c=38.5, vasopressin=True), "vasopressors-need-hypotension"),
    (dict(temperature_c=38.5, hypotension=True, vasopressors=-1), "range"),
    (dict(temperature_c=38.5, hypotension=True, vasopressors=1.5), "whole-number"),
    (dict(temperature_c=38.5, hypotension="yes"), "yes-no"),
    (dict(temperature_c=38.5, oxygen="oxygen tent"), "choice"),
    (dict(temperature_c=38.5, oxygen="nasal_cannula"), "flow-for-nasal-cannula"),
    (dict(temperature_c=38.5, oxygen_flow_l_min=2.0), "flow-needs-oxygen"),
    (dict(temperature_c=38.5, oxygen="facemask", oxygen_flow_l_min=0.0), "flow-positive"),
    (dict(temperature_c=38.5, oxygen="low_flow_nasal_cannula", oxygen_flow_l_min=8.0), "low-flow-max-6"),
    (dict(temperature_c=38.5, oxygen="high_flow_nasal_cannula", oxygen_flow_l_min=4.0), "high-flow-over-6"),
    (dict(temperature_c=38.5, oxygen="facemask", oxygen_flow_l_min=90.0), "plausible-range"),
])
def test_crs_impossible_inputs_are_refused(kwargs, rule):
    with pytest.raises(InputError) as info:
        grade_crs(**kwargs)
    assert rule in rules(info.value)
    problem = next(p for p in info.value.problems if p.rule == rule)
    assert problem.field and problem.message  # names the field and says what to fix


def test_crs_lists_every_problem_at_once():
    with pytest.raises(InputError) as info:
        grade_crs(temperature_c=50, vasopressors=1, oxygen="low_flow_nasal_cannula", oxygen_flow_l_min=10)
    assert set(rules(info.value)) == {"plausible-range", "vasopressors-need-hypotension", "low-flow-max-6"}


def test_crs_accepts_common_spellings_of_devices():
    assert grade_crs(temperature_c=39, oxygen="HFNC").grade == 3
    assert grade_crs(temperature_c=39, oxygen="Non-rebreather").grade == 3
    assert grade_crs(temperature_c=39, oxygen="intubation").grade == 4


def test_result_object_prints_and_serialises():
    result = grade_crs(temperature_c=39.5, hypotension=True)
    assert str(result).startswith("CRS grade 2 (ASTCT 2019)")
    data = result.to_dict()
    assert data["grade"] == 2 and data["drivers"] == ["hypotension"] and data["domains"]["fever"] == 1


# --------------------------------------------------------------------------------------------- ICANS
# Table "ASTCT ICANS Consensus Grading for Adults": ICE score row (alert patient otherwise).
@pytest.mark.parametrize("score, grade", [
    (10, 0), (9, 1), (8, 1), (7, 1), (6, 2), (5, 2), (4, 2), (3, 2), (2, 3), (1, 3), (0, 3),
])
def test_icans_ice_score_row(score, grade):
    result = grade_icans(ice_score=score)
    assert result.grade == grade
    assert result.drivers == (("ice",) if grade else ())


# Depressed level of consciousness row (ICE 10 so only consciousness counts, except for the unarousable patient).
@pytest.mark.parametrize("level, grade", [
    ("alert", 0), ("awakens_spontaneously", 1), ("awakens_to_voice", 2), ("awakens_to_tactile_stimulus", 3),
])
def test_icans_consciousness_row(level, grade):
    result = grade_icans(ice_score=10, consciousness=level)
    assert result.grade == grade and result.domains["consciousness"] == grade


def test_icans_unarousable_patient_is_grade_4_and_cannot_do_ice():
    # ICE row grade 4: "0 (patient is unarousable and unable to perform ICE)"; consciousness row grade 4.
    result = grade_icans(consciousness="unarousable")
    assert (result.grade, set(result.drivers)) == (4, {"ice", "consciousness"})
    assert grade_icans(ice_score=0, consciousness="unarousable").grade == 4


def test_icans_ice_zero_awake_is_grade_3():
    # Footnote: an ICE score of 0 is grade 3 in a patient who is awake with global aphasia, grade 4 only if
    # unarousable.
    result = grade_icans(ice_score=0, consciousness="awakens_spontaneously")
    assert (result.grade, result.drivers) == (3, ("ice",))


@pytest.mark.parametrize("seizure, grade", [("none", 0), ("resolved_rapidly", 3), ("life_threatening", 4)])
def test_icans_seizure_row(seizure, grade):
    assert grade_icans(ice_score=10, seizure=seizure).grade == grade


def test_icans_motor_row():
    result = grade_icans(ice_score=10, motor_weakness=True)
    assert (result.grade, result.drivers) == (4, ("motor",))


@pytest.mark.parametrize("finding, grade", [
    ("focal_edema", 3), ("diffuse_edema", 4), ("posturing", 4), ("cranial_nerve_vi_palsy", 4),
    ("papilledema", 4), ("cushings_triad", 4),
])
def test_icans_raised_icp_row(finding, grade):
    result = grade_icans(ice_score=10, raised_icp=[finding])
    assert (result.grade, result.drivers) == (grade, ("raised_icp",))


def test_icans_grade_is_the_most_severe_domain():
    # Footnote example: ICE score 3 with a generalised seizure is grade 3.
    result = grade_icans(ice_score=3, seizure="resolved_rapidly")
    assert (result.grade, result.drivers) == (3, ("seizure",)) and result.domains["ice"] == 2
    several = grade_icans(ice_score=8, raised_icp=["focal_edema", "papilledema"], consciousness="awakens_to_voice")
    assert several.grade == 4 and several.domains["raised_icp"] == 4


def test_icans_children_use_capd():
    # Children under 12: CAPD 1-8 is grade 1 (awakens spontaneously) or 2 (awakens to voice); >= 9 is grade 3;
    # unable to perform CAPD (unarousable) is grade 4.
    assert grade_icans(capd_score=0).grade == 0
    assert grade_icans(capd_score=1).grade == 1
    assert grade_icans(capd_score=8, consciousness="awakens_spontaneously").grade == 1
    assert grade_icans(capd_score=8, consciousness="awakens_to_voice").grade == 2
    assert (grade_icans(capd_score=9).grade, grade_icans(capd_score=9).drivers) == (3, ("capd",))
    assert grade_icans(capd_score=32).grade == 3
    assert grade_icans(consciousness="unarousable").grade == 4


def test_icans_grade_5_is_death_from_icans():
    assert grade_icans(consciousness="unarousable", died_of_icans=True).grade == 5


@pytest.mark.parametrize("kwargs, rule", [
    (dict(), "encephalopathy-score-required"),
    (dict(ice_score=11), "range"),
    (dict(ice_score=-1), "range"),
    (dict(ice_score=7.5), "whole-number"),
    (dict(capd_score=33), "range"),
    (dict(ice_score=5, capd_score=5), "one-encephalopathy-score"),
    (dict(ice_score=4, consciousness="unarousable"), "unarousable-cannot-score"),
    (dict(capd_score=4, consciousness="unarousable"), "unarousable-cannot-score"),
    (dict(ice_score=9, consciousness="asleep"), "choice"),
    (dict(ice_score=9, seizure="tonic-clonic"), "choice"),
    (dict(ice_score=9, raised_icp=["intracranial_hemorrhage"]), "not-icans"),   # footnote: excluded from ICANS
    (dict(ice_score=9, raised_icp="tremor"), "not-icans"),                      # footnote: tremor is CTCAE's
    (dict(ice_score=9, motor_weakness="yes"), "yes-no"),
])
def test_icans_impossible_inputs_are_refused(kwargs, rule):
    with pytest.raises(InputError) as info:
        grade_icans(**kwargs)
    assert rule in rules(info.value)


def test_every_choice_is_graded_as_its_table_row():
    assert [g for _, g in CONSCIOUSNESS.values()] == [0, 1, 2, 3, 4]
    assert [g for _, g in SEIZURE.values()] == [0, 3, 4]
    assert sorted({g for _, g in RAISED_ICP.values()}) == [3, 4]


@pytest.mark.parametrize("parts, total", [
    (dict(orientation=4, naming=3, commands=1, writing=1, attention=1), 10),
    (dict(orientation=0, naming=0, commands=0, writing=0, attention=0), 0),
    (dict(orientation=2, naming=1, commands=1, writing=0, attention=1), 5),
])
def test_ice_score_items(parts, total):
    # ICE: orientation 4 points, naming 3, commands 1, writing 1, attention 1.
    assert ice_score(**parts) == total


def test_ice_score_items_refuse_out_of_range():
    with pytest.raises(InputError) as info:
        ice_score(orientation=5, naming=3, commands=2, writing=1, attention=None)
    assert rules(info.value) == ["range", "range", "required"]
