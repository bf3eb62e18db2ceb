"""Time-to-event accrual: TITE-CRM / TITE-BOIN decisions with pending patients, waiting
designs, trial duration, and agreement with the complete-data simulator."""

import numpy as np
import pytest

from earlyphase.design import BoinDesign, CrmDesign, KeyboardDesign, ThreePlusThreeDesign
from earlyphase.design.simulate import simulate
from earlyphase.design.time_to_event import simulate_time_to_event
from earlyphase.design.tite import pending_step, tite_crm_loglik
from earlyphase.errors import InputError

TRUTH = [0.05, 0.12, 0.25, 0.4, 0.55]
SKELETON = (0.05, 0.12, 0.25, 0.4, 0.55)


def _random_state(rng, L=5, slots=12):
    """Counts per level with some patients pending (no DLT yet) and their follow-up fractions."""
    plev = np.full((1, slots), -1)
    pw = np.zeros((1, slots))
    N = rng.integers(0, 7, L)
    N[0] = max(N[0], 1)
    Y = np.array([rng.integers(0, n + 1) for n in N])
    cur = int(rng.integers(0, L))
    N[cur] = max(N[cur], 2)
    Y[cur] = min(Y[cur], N[cur] - 1)
    pending = [[] for _ in range(L)]
    s = 0
    for lvl in range(L):
        free = N[lvl] - Y[lvl]
        for _ in range(int(rng.integers(0, free + 1))):
            w = float(rng.uniform(0.05, 0.95))
            pending[lvl].append(w)
            plev[0, s], pw[0, s] = lvl, w
            s += 1
    return N, Y, cur, pending, plev, pw


@pytest.mark.parametrize("design", [BoinDesign(target=0.25), CrmDesign(skeleton=SKELETON, target=0.25)])
def test_vectorised_tite_step_is_the_one_trial_decision(design):
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(60):
        N, Y, cur, pending, plev, pw = _random_state(rng)
        if not any(pending):
            continue
        one = design.decide(N.tolist(), Y.tolist(), cur + 1, last_cohort_dlt=0, pending=pending, tite=True)
        st, wait = pending_step(design, N[None], Y[None], np.array([cur]), np.array([0]), plev, pw, tite=True)
        if one.decision == "wait":
            assert bool(wait[0])
        else:
            assert not bool(wait[0])
            assert bool(st.stop[0]) == (one.decision == "stop")
            if one.next_level is not None:
                assert cur + int(st.move[0]) + 1 == one.next_level
        checked += 1
    assert checked > 30


def test_waiting_rule_is_the_one_trial_decision():
    design = KeyboardDesign(target=0.25)
    rng = np.random.default_rng(11)
    waits = 0
    for _ in range(60):
        N, Y, cur, pending, plev, pw = _random_state(rng)
        if not any(pending):
            continue
        one = design.decide(N.tolist(), Y.tolist(), cur + 1, last_cohort_dlt=0, pending=pending)
        st, wait = pending_step(design, N[None], Y[None], np.array([cur]), np.array([0]), plev, pw, tite=False)
        assert bool(wait[0]) == (one.decision == "wait")
        waits += bool(wait[0])
        if one.decision not in ("wait", "stop"):
            assert cur + int(st.move[0]) + 1 == one.next_level
    assert waits > 0


def test_tite_crm_likelihood_without_pending_is_the_crm_likelihood():
    d = CrmDesign(skeleton=SKELETON, target=0.25)
    g = d.grid()
    N = np.array([[3, 3, 4, 1, 0]])
    Y = np.array([[0, 0, 1, 1, 0]])
    none = np.full((1, 4), -1)
    got = tite_crm_loglik(d, N, Y, none, np.zeros((1, 4)))
    assert np.array_equal(got, Y @ g["logp"] + (N - Y) @ g["log1mp"])
    # a pending patient with full follow-up (w = 1) counts as a completed window without DLT
    plev = np.array([[2, -1, -1, -1]])
    got1 = tite_crm_loglik(d, N, Y, plev, np.array([[1.0, 0, 0, 0]]))
    assert got1 == pytest.approx(Y @ g["logp"] + (N - Y) @ g["log1mp"])
    # with less follow-up the patient is less reassuring: the posterior mean of beta is lower
    half = tite_crm_loglik(d, N, Y, plev, np.array([[0.3, 0, 0, 0]]))
    m_full, _ = d._moments(got1)
    m_half, _ = d._moments(half)
    assert m_half[0] < m_full[0]


@pytest.mark.parametrize("design", [CrmDesign(skeleton=SKELETON, target=0.25), BoinDesign(target=0.25)])
def test_tite_equals_complete_data_design_when_every_window_is_complete(design):
    # arrivals 30 days apart, window 28 days: nobody is pending at a decision
    kw = dict(trials=400, seed=3, cohort_size=1, n_cohorts=15, window=28, interval=30)
    tite = simulate_time_to_event(design, TRUTH, tite=True, **kw)
    plain = simulate_time_to_event(design, TRUTH, tite=False, **kw)
    assert tite.selection_percent == plain.selection_percent
    assert tite.mean_patients == plain.mean_patients
    assert tite.extra["mean_suspended_days"] == plain.extra["mean_suspended_days"] == 0


def test_complete_windows_match_the_cohort_simulator_within_monte_carlo_error():
    d = BoinDesign(target=0.25)
    tte = simulate_time_to_event(d, TRUTH, trials=4000, seed=5, cohort_size=3, n_cohorts=8, window=28, interval=40)
    coh = simulate(d, TRUTH, trials=4000, seed=6, cohort_size=3, n_cohorts=8)
    for a, b in zip(tte.selection_percent, coh.selection_percent):
        pa, pb = a / 100, b / 100
        se = np.sqrt((pa * (1 - pa) + pb * (1 - pb)) / 4000) * 100
        assert abs(a - b) < 4 * se + 0.2


def test_duration_follows_the_accrual_and_the_window():
    # TITE-CRM never waits: 20 patients 7 days apart, each followed up to 28 days
    d = CrmDesign(skeleton=SKELETON, target=0.25, safety_cutoff=None)
    r = simulate_time_to_event(d, [0.01, 0.02, 0.03, 0.04, 0.05], trials=200, seed=1, cohort_size=1, n_cohorts=20,
                               window=28, interval=7, arrival="fixed")
    assert r.mean_total_patients == 20
    assert r.extra["mean_suspended_days"] == 0
    assert 19 * 7 < r.extra["mean_duration_days"] <= 19 * 7 + 28
    assert "Mean trial duration" in r.summary()


def test_waiting_designs_take_longer_and_suspend_waits_longest():
    d = ThreePlusThreeDesign()
    kw = dict(trials=500, seed=2, cohort_size=3, n_cohorts=10, window=28, interval=5, arrival="poisson")
    wait = simulate_time_to_event(d, TRUTH, pending_rule="wait", **kw)
    suspend = simulate_time_to_event(d, TRUTH, pending_rule="suspend", **kw)
    assert suspend.extra["mean_suspended_days"] >= wait.extra["mean_suspended_days"] > 0
    crm = simulate_time_to_event(CrmDesign(skeleton=SKELETON, target=0.25), TRUTH, tite=True, **kw)
    crm_wait = simulate_time_to_event(CrmDesign(skeleton=SKELETON, target=0.25), TRUTH, tite=False, **kw)
    assert crm.extra["mean_duration_days"] < crm_wait.extra["mean_duration_days"]


def test_late_onset_dlts_make_tite_boin_more_aggressive():
    # a DLT that comes late in the window is unseen at more decisions, so more patients are
    # treated above the MTD than when DLTs come early (the known weakness TITE designs bound)
    d = BoinDesign(target=0.25)
    kw = dict(trials=500, seed=4, cohort_size=3, n_cohorts=8, window=28, interval=7)
    early = simulate_time_to_event(d, TRUTH, dlt_time=(1, 4), **kw)
    late = simulate_time_to_event(d, TRUTH, dlt_time=(4, 1), **kw)
    assert late.percent_patients_above_mtd > early.percent_patients_above_mtd
    assert late.mean_total_dlt > early.mean_total_dlt


def test_reproducible_and_independent_of_chunking_order():
    d = BoinDesign(target=0.25)
    a = simulate_time_to_event(d, TRUTH, trials=600, seed=8, chunk_size=200, n_cohorts=10)
    b = simulate_time_to_event(d, TRUTH, trials=600, seed=8, chunk_size=200, n_cohorts=10)
    assert a.to_dict() == b.to_dict()


@pytest.mark.slow
def test_dask_gives_identical_result():
    d = CrmDesign(skeleton=SKELETON, target=0.25)
    kw = dict(trials=600, seed=8, chunk_size=150, n_cohorts=10, interval=5)
    assert simulate_time_to_event(d, TRUTH, **kw).to_dict() == simulate_time_to_event(d, TRUTH, workers=2, **kw).to_dict()


@pytest.mark.parametrize("bad", [
    dict(window=0), dict(window="four weeks"), dict(arrival="weekly"), dict(interval=-1), dict(dlt_time=(0, 1)),
    dict(dlt_time="late"), dict(pending_rule="ignore"), dict(trials=0), dict(cohort_size=1.5),
])
def test_bad_options_are_named(bad):
    with pytest.raises(InputError) as e:
        simulate_time_to_event(BoinDesign(target=0.25), TRUTH, **{"trials": 10, "seed": 1, **bad})
    assert next(iter(bad)) in str(e.value)


def test_tite_refused_for_a_design_without_weights():
    with pytest.raises(InputError) as e:
        simulate_time_to_event(ThreePlusThreeDesign(), TRUTH, trials=10, seed=1, tite=True)
    assert "TITE" in str(e.value)


@pytest.mark.parametrize("design,kw", [(ThreePlusThreeDesign(), dict(pending_rule="suspend")),
                                       (BoinDesign(target=0.25), dict(tite=False)),
                                       (BoinDesign(target=0.25), dict(tite=True))])
def test_backfill_while_waiting_uses_the_waiting_time(design, kw):
    # BF-BOIN: patients who arrive while the trial waits are treated at a cleared lower level
    base = dict(trials=400, seed=3, cohort_size=3, n_cohorts=8, window=28, interval=4, **kw)
    plain = simulate_time_to_event(design, TRUTH, **base)
    bf = simulate_time_to_event(design, TRUTH, backfill_max=9, backfill_cap=9, **base)
    assert 0 < bf.extra["mean_backfill_patients"] <= 9
    assert bf.extra["mean_suspended_days"] < plain.extra["mean_suspended_days"]
    assert "while the trial waits" in bf.summary()
    # backfill patients go below the levels the trials reach: more patients at levels 1-2
    assert bf.mean_patients[0] + bf.mean_patients[1] > plain.mean_patients[0] + plain.mean_patients[1]


def test_backfill_options_are_checked():
    for bad in (dict(backfill_max=-1), dict(backfill_max=2, backfill_cap=0), dict(backfill_max=1.5)):
        with pytest.raises(InputError) as e:
            simulate_time_to_event(BoinDesign(target=0.25), TRUTH, trials=5, seed=1, **bad)
        assert "backfill" in str(e.value)


@pytest.mark.slow
def test_dask_gives_identical_result_with_backfill_and_pocrm():
    from earlyphase.design.pocrm import pocrm_from_partial_order

    kw = dict(trials=400, seed=3, chunk_size=100, backfill_max=6, backfill_cap=9, tite=False)
    d = BoinDesign(target=0.25)
    assert simulate_time_to_event(d, TRUTH, **kw).to_dict() == simulate_time_to_event(d, TRUTH, workers=2, **kw).to_dict()
    p = pocrm_from_partial_order(5, [(0, 1), (1, 2), (2, 4), (3, 4)], SKELETON, 0.25)
    kw2 = dict(trials=300, seed=2, chunk_size=100, backfill_size=2)
    assert simulate(p, TRUTH, **kw2).to_dict() == simulate(p, TRUTH, workers=2, **kw2).to_dict()
