"""Dose x schedule: the partial order of toxicity a study file declares or its regimens imply,
the grid layout, and POCRM run from the study file."""

from __future__ import annotations

import pytest
import yaml

from earlyphase.errors import StudyFileError
from earlyphase.protocol import bundled_studies, load_study, parse_study, read_study_text
from earlyphase.protocol.regimen_order import level_relations, regimen_grid, toxicity_relations


def grid_dict() -> dict:
    text, _ = read_study_text("nk-hcc-ltx-grid")
    return yaml.safe_load(text)


def test_the_grid_variant_of_the_seed_study_is_bundled():
    assert "nk-hcc-ltx-grid" in bundled_studies()
    s = load_study("nk-hcc-ltx-grid")
    assert s.group_codes == ["A", "E", "B", "C", "D"]
    assert s.dose_finding.design == "pocrm"
    grid = regimen_grid(s)
    assert grid["cells"] == [["A", "E"], ["B", "C"]] and grid["off_grid"] == ["D"]
    assert grid["administrations"] == [4, 8] and grid["doses"] == [2.5e9, 5e9]


def test_regimens_imply_only_the_pairs_known_by_construction():
    rel = set(toxicity_relations(load_study("nk-hcc-ltx-grid")))
    # low x4 < normal x4 < normal x8; low x4 < low x8 < normal x8; step-up (1, 2.5, then 5) < normal x8
    assert {("A", "B"), ("B", "C"), ("A", "E"), ("E", "C"), ("D", "C")} <= rel
    # the step-up group is not ordered against 4 normal or 8 low infusions (or 4 low)
    for other in "ABE":
        assert ("D", other) not in rel and (other, "D") not in rel
    assert ("B", "E") not in rel and ("E", "B") not in rel


def test_without_a_declared_order_the_listed_order_holds():
    s = load_study("nk-hcc-ltx")
    assert toxicity_relations(s) == [("A", "B"), ("B", "C"), ("C", "D")]
    assert level_relations(s) == [(1, 2), (2, 3), (3, 4)]


def test_pocrm_runs_from_the_study_file():
    from earlyphase.design import make_design
    from earlyphase.design.simulate import simulate

    s = load_study("nk-hcc-ltx-grid")
    d = make_design("pocrm", s.dose_finding.target_dlt_rate, skeleton=s.dose_finding.parameters.skeleton,
                    partial_order=level_relations(s))
    assert len(d.orderings) == 8
    r = simulate(d, [0.05, 0.12, 0.15, 0.45, 0.3], trials=300, seed=1, n_cohorts=10)
    assert len(r.selection_percent) == 5


@pytest.mark.parametrize("change,where", [
    (lambda d: d["dose_finding"].update(toxicity_order=[["A", "Z"]]), "dose_finding.toxicity_order[0]"),
    (lambda d: d["dose_finding"].update(toxicity_order=[["C", "A"]]), "contradict"),
    (lambda d: d["dose_finding"].update(toxicity_order=[["A", "A"]]), "two different groups"),
    (lambda d: d["dose_finding"].update(order_from_regimens=False), "toxicity_order"),
    (lambda d: d["dose_finding"]["parameters"].pop("skeleton"), "skeleton"),
])
def test_bad_orders_are_named(change, where):
    d = grid_dict()
    change(d)
    with pytest.raises(StudyFileError) as e:
        parse_study(yaml.safe_dump(d), "grid.yaml")
    assert where in str(e.value)


def test_the_study_design_for_live_decisions_is_pocrm_with_the_declared_order():
    from earlyphase.design.live_recommendation import study_design

    s = load_study("nk-hcc-ltx-grid")
    design, choice = study_design(s)
    assert design.name == "pocrm" and len(design.orderings) == 8
    assert s.toxicity_pairs() == level_relations(s)
    dec = design.decide([3, 0, 0, 0, 0], [0, 0, 0, 0, 0], 1, last_cohort_dlt=0)
    assert dec.next_level in (2, 3, 5)  # E, B or the step-up D: each known to follow only A
