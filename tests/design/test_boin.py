"""BOIN: boundaries, MTD selection, operating characteristics.

Sources:
* Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials.
  JRSS C 64:507-523 (closed-form lambda_e, lambda_d; isotonic MTD selection and tie rule).
* BOIN R package documentation, select.mtd example: target 0.3, n = 3,3,15,9,0,
  y = 0,0,4,4,0 -> MTD 3, isotonic estimates .02 .02 .27 .45 (as quoted in issue 5).
* Zhao Y, Yuan Y, Korn EL, Freidlin B (2024), Clin Cancer Res (backfill BOIN): standard
  BOIN, target 0.25, 5 levels, 10 cohorts of 3, early stop at 9 patients; percentage of
  correct selection 78.6 / 55.2 / 54.5 / 53.2 / 59.5 for the five scenarios below (as
  quoted in issue 5). The number of simulated trials behind them is not known to us; we
  assume 10,000 (usual in these papers) for their Monte-Carlo error.
* reference/boin_boundaries.csv and reference/select_mtd.csv: base R, see make_reference.R.
"""

import math

import numpy as np
import pytest

from earlyphase.design import BoinDesign, boin_boundaries, boin_lambdas, select_mtd
from earlyphase.design.exact import exact_operating_characteristics
from earlyphase.design.simulate import simulate
from earlyphase.errors import InputError


@pytest.mark.parametrize("target", [0.2, 0.25, 0.3])
def test_boundaries_match_closed_form_reference(reference, target):
    rows = [r for r in reference("boin_boundaries.csv") if float(r["target"]) == target]
    b = boin_boundaries(target, max_n=30)
    assert b.lambda_e == pytest.approx(float(rows[0]["lambda_e"]), abs=1e-12)
    assert b.lambda_d == pytest.approx(float(rows[0]["lambda_d"]), abs=1e-12)
    for ref, got in zip(rows, b.rows):
        assert got["n"] == int(ref["n"])
        assert got["escalate_if_at_most"] == int(ref["escalate_if_at_most"])
        assert got["deescalate_if_at_least"] == int(ref["deescalate_if_at_least"])
        el = None if ref["eliminate_if_at_least"] == "" else int(ref["eliminate_if_at_least"])
        assert got["eliminate_if_at_least"] == el


def test_lambdas_respect_interval_order():
    lam_e, lam_d = boin_lambdas(0.3)
    assert 0.6 * 0.3 < lam_e < 0.3 < lam_d < 1.4 * 0.3


def test_bad_target_is_an_input_error():
    with pytest.raises(InputError) as err:
        boin_lambdas(1.3)
    assert err.value.problems[0].field == "target"


def test_select_mtd_published_example():
    sel = select_mtd(0.3, [3, 3, 15, 9, 0], [0, 0, 4, 4, 0])
    assert sel.mtd == 3
    assert [round(v, 2) for v in sel.isotonic_estimates[:4]] == [0.02, 0.02, 0.27, 0.45]
    assert sel.isotonic_estimates[4] is None


def test_select_mtd_matches_r_pava_on_random_data(reference):
    rows = reference("select_mtd.csv")
    assert len(rows) == 200
    for r in rows:
        n = [int(v) for v in r["n"].split()]
        y = [int(v) for v in r["dlt"].split()]
        sel = select_mtd(float(r["target"]), n, y)
        expected = None if r["mtd"] == "" else int(r["mtd"])
        assert sel.mtd == expected, r
        iso_ref = [None if v == "NA" else float(v) for v in r["isotonic"].split()]
        if expected is not None:
            for a, b in zip(sel.isotonic_estimates, iso_ref):
                if b is None:
                    assert a is None
                else:
                    assert a == pytest.approx(b, abs=1e-9)


def test_tie_rule_below_target_takes_higher_level():
    # two levels pooled by PAVA to the same estimate below the target: pick the higher
    sel = select_mtd(0.3, [6, 6, 6], [2, 1, 6])
    assert sel.isotonic_estimates[0] == pytest.approx(sel.isotonic_estimates[1])
    assert sel.mtd == 2


def test_bound_mtd_excludes_levels_above_lambda_d():
    # level 2 closest to 0.3 but estimate above lambda_d = 0.3585 only with bound_mtd off
    n, y = [6, 15, 0], [0, 6, 0]
    assert select_mtd(0.3, n, y).mtd == 2
    assert select_mtd(0.3, n, y, bound_mtd=True).mtd == 1


def test_elimination_and_safety_stop():
    d = BoinDesign(target=0.3)
    dec = d.decide([3, 0], [3, 0], 1)
    assert dec.decision == "stop" and dec.mtd is None and dec.eliminated == (1, 2)
    dec = d.decide([3, 3, 0], [0, 3, 0], 2)
    assert dec.decision == "de-escalate" and dec.next_level == 1 and dec.eliminated == (2, 3)
    # the level above is eliminated: escalation becomes stay
    dec = d.decide([6, 3, 0], [0, 3, 0], 1)
    assert dec.decision == "stay" and dec.next_level == 1


def test_extrasafe_stops_earlier_at_level_1():
    plain = BoinDesign(target=0.3).decide([3, 0], [2, 0], 1)
    safe = BoinDesign(target=0.3, extrasafe=True).decide([3, 0], [2, 0], 1)
    # P(p > 0.3 | 2/3) = 0.9163: above 0.95 - 0.05 but not above 0.95
    assert plain.decision == "stay"
    assert safe.decision == "stop" and safe.mtd is None


def test_early_stop_only_when_decision_is_stay():
    d = BoinDesign(target=0.25, n_earlystop=9)
    assert d.decide([3, 9, 0], [0, 2, 0], 2).decision == "stop"  # 2/9 stays -> stop
    assert d.decide([3, 9, 0], [0, 1, 0], 2).decision == "escalate"  # 1/9 escalates
    assert d.decide([9, 3], [1, 3], 1).decision == "stop"  # escalation blocked by elimination


def test_tite_boin_counts_pending_with_follow_up_weight():
    d = BoinDesign(target=0.3)
    # 1 DLT among 6, two of them pending at half follow-up: effective n = 5
    dec = d.decide([3, 6, 0], [0, 1, 0], 2, pending=[[], [0.5, 0.5], []], tite=True)
    assert dec.details["effective_n"] == pytest.approx(5.0)
    assert dec.decision == "escalate"  # 1/5 = 0.2 <= lambda_e 0.2365
    waits = d.decide([3, 3, 0], [0, 0, 0], 2, pending=[[], [0.1, 0.2], []], tite=True)
    assert waits.decision == "wait"


ZHAO_SCENARIOS = [
    ((0.25, 0.41, 0.45, 0.49, 0.53), 78.6),
    ((0.12, 0.25, 0.42, 0.49, 0.55), 55.2),
    ((0.04, 0.12, 0.25, 0.43, 0.63), 54.5),
    ((0.02, 0.06, 0.10, 0.25, 0.40), 53.2),
    ((0.02, 0.05, 0.08, 0.11, 0.25), 59.5),
]


def _published_tolerance(pcs: float, our_trials: int | None) -> float:
    p = pcs / 100
    var = p * (1 - p) / 10000  # assumed size of the published simulation
    if our_trials:
        var += p * (1 - p) / our_trials
    return 3 * 100 * math.sqrt(var)


@pytest.mark.parametrize("truth,pcs", ZHAO_SCENARIOS)
def test_zhao_2024_pcs_exact(truth, pcs):
    design = BoinDesign(target=0.25, n_earlystop=9)
    oc = exact_operating_characteristics(design, truth, cohort_size=3, n_cohorts=10)
    assert oc.correct_selection_percent == pytest.approx(pcs, abs=_published_tolerance(pcs, None))


@pytest.mark.slow
def test_zhao_2024_pcs_large_simulation():
    design = BoinDesign(target=0.25, n_earlystop=9)
    trials = 100_000
    results = simulate(design, [t for t, _ in ZHAO_SCENARIOS], cohort_size=3, n_cohorts=10, trials=trials, seed=2024)
    for res, (truth, pcs) in zip(results, ZHAO_SCENARIOS):
        assert res.correct_selection_percent == pytest.approx(pcs, abs=_published_tolerance(pcs, trials))


def test_simulation_agrees_with_exact_enumeration():
    design = BoinDesign(target=0.3, n_earlystop=9)
    truth = (0.1, 0.25, 0.35, 0.5)
    exact = exact_operating_characteristics(design, truth, cohort_size=3, n_cohorts=6)
    trials = 40_000
    sim = simulate(design, truth, cohort_size=3, n_cohorts=6, trials=trials, seed=11)
    for p_ex, p_sim in zip(exact.selection_percent + (exact.no_selection_percent,),
                           sim.selection_percent + (sim.no_selection_percent,)):
        se = 100 * math.sqrt(max(p_ex / 100 * (1 - p_ex / 100), 1e-6) / trials)
        assert abs(p_sim - p_ex) < 4 * se + 1e-9
    assert np.allclose(sim.mean_patients, exact.mean_patients, atol=0.1)


def test_isotonic_matches_pool_adjacent_violators():
    from earlyphase.design.isotonic import isotonic_many

    def pava(x, w):
        vals, wts, cnt = [], [], []
        for xi, wi in zip(x, w):
            vals.append(xi), wts.append(wi), cnt.append(1)
            while len(vals) > 1 and vals[-2] > vals[-1]:
                ww = wts[-2] + wts[-1]
                merged = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / ww
                vals[-2:], wts[-2:], cnt[-2:] = [merged], [ww], [cnt[-2] + cnt[-1]]
        return np.repeat(vals, cnt)

    rng = np.random.default_rng(0)
    rows = [(rng.random(L), rng.random(L) * (rng.random(L) > 0.3)) for L in rng.integers(1, 8, size=500)]
    for v, w in rows:
        got = isotonic_many(v, w)
        m = w > 0
        if m.any():
            assert np.allclose(got[m], pava(v[m], w[m]))
        assert np.all(np.isnan(got[~m]))
