"""3+3: rules, exact operating characteristics, simulation.

The probability of escalating from a level with DLT probability p is 0/3, or 1/3 then
0/3: (1 - p)^3 + 3 p (1 - p)^5 (e.g. Storer 1989, Biometrics 45:925; issue 5).
"""

import math

import pytest

from earlyphase.design import ThreePlusThreeDesign
from earlyphase.design.exact import exact_operating_characteristics, three_plus_three_escalation_probability
from earlyphase.design.simulate import simulate


@pytest.mark.parametrize("p", [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8])
def test_escalation_probability_by_enumeration(p):
    # level 2 never toxic: reaching it means selecting it (0/3 then 0/3 more at the top)
    oc = exact_operating_characteristics(ThreePlusThreeDesign(), [p, 0.0], cohort_size=3, n_cohorts=6)
    assert oc.selection_percent[1] / 100 == pytest.approx(three_plus_three_escalation_probability(p), abs=1e-12)
    assert three_plus_three_escalation_probability(p) == pytest.approx((1 - p) ** 3 + 3 * p * (1 - p) ** 5)


@pytest.mark.parametrize("deescalation", [True, False])
def test_simulation_agrees_with_exact(deescalation):
    design = ThreePlusThreeDesign(deescalation=deescalation)
    truth = [0.05, 0.12, 0.25, 0.4, 0.55]
    exact = exact_operating_characteristics(design, truth, cohort_size=3, n_cohorts=10)
    trials = 50_000
    sim = simulate(design, truth, cohort_size=3, n_cohorts=10, trials=trials, seed=33)
    assert sum(exact.selection_percent) + exact.no_selection_percent == pytest.approx(100)
    for a, b in zip(exact.selection_percent + (exact.no_selection_percent,), sim.selection_percent + (sim.no_selection_percent,)):
        se = 100 * math.sqrt(max(a / 100 * (1 - a / 100), 1e-6) / trials)
        assert abs(a - b) < 4 * se
    for a, b in zip(exact.mean_patients, sim.mean_patients):
        assert abs(a - b) < 0.05


def test_rules():
    d = ThreePlusThreeDesign()
    assert d.decide([3, 0, 0], [0, 0, 0], 1).decision == "escalate"
    assert d.decide([3, 0, 0], [1, 0, 0], 1).decision == "stay"
    assert d.decide([6, 0, 0], [1, 0, 0], 1).decision == "escalate"
    assert d.decide([6, 0, 0], [2, 0, 0], 1).mtd is None
    # 2/3 at level 3 with level 2 at 3 patients: go back and expand level 2 (Korn variant)
    dec = d.decide([3, 3, 3], [0, 0, 2], 3)
    assert dec.decision == "de-escalate" and dec.next_level == 2 and 3 in dec.eliminated
    done = d.decide([3, 6, 3], [0, 1, 2], 2)
    assert done.decision == "stop" and done.mtd == 2
    # without de-escalation the level below is the MTD at once
    nd = ThreePlusThreeDesign(deescalation=False).decide([3, 3, 3], [0, 0, 2], 3)
    assert nd.decision == "stop" and nd.mtd == 2
    # top level: confirm with 6
    assert d.decide([3, 3], [0, 0], 2).decision == "stay"
    top = d.decide([3, 6], [0, 1], 2)
    assert top.decision == "stop" and top.mtd == 2
