"""BOIN12 (Lin, Zhou, Li & Yuan 2020) and the randomised dose-optimisation stage.

No published operating-characteristic table was at hand to compare with, so the decisions
are checked against an independent brute-force implementation written here one trial at a
time from the paper's description (plain loops, scipy's beta distribution), and the
simulator against properties that must hold in every trial."""

import math

import numpy as np
import pytest
from scipy.stats import beta

from earlyphase.design.boin12 import Boin12Design, true_obd, true_utility
from earlyphase.design.optimise import choose_by_utility, simulate_dose_optimisation
from earlyphase.errors import InputError

TOX = [0.05, 0.1, 0.15, 0.3, 0.45]
EFF = [0.1, 0.3, 0.5, 0.55, 0.6]


def _one_trial(d: Boin12Design, n, t, e, te, cur):
    """Brute force: the next level (0-based) or None to stop."""
    L = len(n)
    phi = d.target
    phi1, phi2 = 0.6 * phi, 1.4 * phi
    lam_e = math.log((1 - phi1) / (1 - phi)) / math.log(phi * (1 - phi1) / (phi1 * (1 - phi)))
    lam_d = math.log((1 - phi) / (1 - phi2)) / math.log(phi2 * (1 - phi) / (phi * (1 - phi2)))
    pt, pe = d.target, d.efficacy_min
    ubar = 100 * pe * (1 - pt) + d.u2 * (1 - pt) * (1 - pe) + d.u3 * pt * pe
    ub = (ubar + (100 - ubar) / 2) / 100
    tox_elim = [False] * L
    for k in range(L):
        bad = n[k] >= 3 and 1 - beta.cdf(phi, 1 + t[k], 1 + n[k] - t[k]) > d.c_t
        tox_elim[k] = bad or (k > 0 and tox_elim[k - 1])

    def admissible(k):
        futile = n[k] >= 3 and beta.cdf(d.efficacy_min, 1 + e[k], 1 + n[k] - e[k]) > d.c_e
        return 0 <= k < L and not tox_elim[k] and not futile

    def rds(k):
        x = (100 * (e[k] - te[k]) + d.u2 * (n[k] - t[k] - e[k] + te[k]) + d.u3 * te[k]) / 100
        return 1 - beta.cdf(ub, 1 + x, 1 + n[k] - x)

    def best(cands):
        ok = [k for k in cands if 0 <= k < L and admissible(k)]
        if not ok:
            return None
        top = max(rds(k) for k in ok)
        return max(k for k in ok if rds(k) == top)

    if tox_elim[0]:
        return None
    p = t[cur] / n[cur]
    if p >= lam_d:
        nxt = max(cur - 1, 0)
    elif n[cur] >= d.n_explore and cur < L - 1 and n[cur + 1] == 0 and not tox_elim[cur + 1]:
        nxt = cur + 1
    elif lam_e < p < lam_d and n[cur] >= d.n_star:
        nxt = best([cur - 1, cur])
    else:
        nxt = best([cur - 1, cur, cur + 1])
    if nxt is None or tox_elim[nxt]:
        return None
    return nxt


def _random_data(rng, R, L=5):
    N = rng.integers(0, 13, (R, L))
    T = rng.binomial(N, 0.25)
    E = rng.binomial(N, 0.4)
    TE = np.minimum(rng.binomial(np.minimum(T, E), 0.5), np.minimum(T, E))
    cur = rng.integers(0, L, R)
    N[np.arange(R), cur] = np.maximum(N[np.arange(R), cur], 1)
    T, E = np.minimum(T, N), np.minimum(E, N)
    TE = np.minimum(TE, np.minimum(T, E))
    TE = np.maximum(TE, T + E - N)
    return N, T, E, TE, cur


@pytest.mark.parametrize("params", [dict(), dict(target=0.3, efficacy_min=0.2, u2=30, u3=50, n_star=3)])
def test_decisions_match_a_brute_force_implementation(params):
    d = Boin12Design(**params)
    rng = np.random.default_rng(1)
    N, T, E, TE, cur = _random_data(rng, 300)
    nxt, stop, _ = d.step_many(N, T, E, TE, cur)
    stops = 0
    for r in range(300):
        want = _one_trial(d, N[r].tolist(), T[r].tolist(), E[r].tolist(), TE[r].tolist(), int(cur[r]))
        if want is None:
            assert stop[r], r
            stops += 1
        else:
            assert not stop[r] and nxt[r] == want, r
    assert 0 < stops < 300


def test_utility_benchmark_and_true_obd():
    d = Boin12Design(target=0.35, efficacy_min=0.25, u2=40, u3=60)
    # least acceptable profile: 100*.25*.65 + 40*.65*.75 + 60*.35*.25 = 41.0; benchmark half way to 100
    assert 100 * d.benchmark == pytest.approx(41.0 + 59.0 / 2)
    assert true_utility(d, np.array([0.0]), np.array([1.0]))[0] == 100
    assert true_obd(d, TOX, EFF) == 2
    assert true_obd(d, [0.5, 0.6], [0.5, 0.6]) is None


def test_simulated_trials_keep_the_rules():
    d = Boin12Design()
    rng = np.random.default_rng(2)
    N, T, E, TE, cur = _random_data(rng, 2000)
    nxt, stop, safety = d.step_many(N, T, E, TE, cur)
    ok, tox = d.admissible(N, T, E)
    go = ~stop
    idx = np.arange(2000)
    assert np.all(np.abs(nxt[go] - cur[go]) <= 1)  # never a skip
    assert not np.any(tox[idx[go], nxt[go]])  # never an eliminated level
    assert np.all(stop[safety])
    sel = d.select_many(N, T, E)
    chosen = sel >= 0
    assert np.all(ok[idx[chosen], sel[chosen]]) and np.all(N[idx[chosen], sel[chosen]] > 0)


def test_randomised_stage_rule_prefers_the_lower_of_two_close_levels():
    d = Boin12Design()
    N = np.array([[0, 20, 20, 0]])
    # level 2: 12 responses of 20, no DLT; level 3: 13 responses, 1 DLT with response
    T = np.array([[0, 0, 1, 0]])
    E = np.array([[0, 12, 13, 0]])
    TE = np.array([[0, 0, 1, 0]])
    cand = np.array([[2, 1]])
    x2 = (100 * 12 + 40 * 8) / 100
    x3 = (100 * 12 + 40 * 7 + 60 * 1) / 100
    u2, u3 = 100 * (1 + x2) / 22, 100 * (1 + x3) / 22
    assert abs(u3 - u2) < 5
    assert choose_by_utility(d, N, T, E, TE, cand, margin=5)[0] == 1
    assert choose_by_utility(d, N, T, E, TE, cand, margin=0)[0] == (2 if u3 > u2 else 1)
    # a level too toxic on the pooled data is never chosen
    T2 = np.array([[0, 0, 12, 0]])
    TE2 = np.array([[0, 0, 10, 0]])
    assert choose_by_utility(d, N, T2, E, TE2, cand, margin=0)[0] == 1


def test_randomised_stage_adds_patients_and_improves_selection_here():
    d = Boin12Design()
    kw = dict(trials=1500, seed=3, n_cohorts=12)
    one = simulate_dose_optimisation(d, TOX, EFF, **kw)
    two = simulate_dose_optimisation(d, TOX, EFF, stage2_n=10, stage2_levels=2, **kw)
    assert one.selection_percent == one.selection_percent_stage1 and one.stage2_percent == 0
    assert two.selection_percent_stage1 == one.selection_percent_stage1  # same stage-1 trials
    assert two.stage2_percent > 80
    assert two.mean_total_patients > one.mean_total_patients + 10
    assert two.correct_selection_percent > one.correct_selection_percent
    assert sum(two.selection_percent) + two.no_selection_percent == pytest.approx(100)
    assert "Randomised stage" in two.summary() and two.to_dict()["stage2_n"] == 10


def test_efficacy_enters_the_choice():
    # toxicity never limits the dose; response plateaus from level 2: BOIN12 should not go to the top
    d = Boin12Design()
    r = simulate_dose_optimisation(d, [0.02, 0.04, 0.06, 0.08, 0.1], [0.2, 0.5, 0.5, 0.5, 0.5], trials=1000, seed=4)
    assert r.true_obd == 2
    assert r.selection_percent[4] < 40
    assert r.selection_percent[0] < 5


def test_reproducible_whatever_the_chunks_run_on():
    d = Boin12Design()
    a = simulate_dose_optimisation(d, TOX, EFF, trials=600, seed=5, chunk_size=200, stage2_n=6)
    b = simulate_dose_optimisation(d, TOX, EFF, trials=600, seed=5, chunk_size=200, stage2_n=6)
    assert a.to_dict() == b.to_dict()


@pytest.mark.slow
def test_dask_gives_identical_result():
    d = Boin12Design()
    kw = dict(trials=600, seed=5, chunk_size=200, stage2_n=6)
    assert simulate_dose_optimisation(d, TOX, EFF, **kw).to_dict() == simulate_dose_optimisation(d, TOX, EFF, workers=2, **kw).to_dict()


@pytest.mark.parametrize("bad", [dict(eff=[0.1, 0.2]), dict(stage2_levels=1), dict(stage2_n=-1), dict(margin=-3),
                                 dict(trials=0), dict(tox=[0.1, 1.5, 0.2, 0.3, 0.4])])
def test_bad_input_is_named(bad):
    args = {"tox": TOX, "eff": EFF, "trials": 10, "seed": 1, **bad}
    with pytest.raises(InputError) as e:
        simulate_dose_optimisation(Boin12Design(), args.pop("tox"), args.pop("eff"), **args)
    assert str(e.value)
    with pytest.raises(InputError):
        Boin12Design(u2=140)


def test_one_trial_decision_for_live_use():
    d = Boin12Design()
    dec = d.decide([3, 3, 0], [0, 0, 0], [0, 2, 0], [0, 0, 0], 2)
    want = _one_trial(d, [3, 3, 0], [0, 0, 0], [0, 2, 0], [0, 0, 0], 1)
    assert dec.next_level == want + 1 and dec.decision in ("escalate", "stay", "de-escalate")
    assert len(dec.details["desirability"]) == 3 and "desirability" in dec.reason
    stop = d.decide([6, 0], [5, 0], [1, 0], [1, 0], 1)
    assert stop.decision == "stop" and stop.next_level is None and 1 in stop.eliminated
    with pytest.raises(InputError):
        d.decide([3, 3], [0, 1], [0, 1], [0, 2], 2)
    with pytest.raises(InputError):
        d.decide([3, 3], [0, 1], [0, 4], [0, 0], 2)
