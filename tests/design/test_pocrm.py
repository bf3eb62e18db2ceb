"""POCRM (Wages, Conaway & O'Quigley 2011): orderings from a partial order, equality with
the CRM for one ordering, and an independent brute-force implementation (scipy quad, one
trial at a time) for the ordering choice and the next regimen."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from earlyphase.design import CrmDesign
from earlyphase.design.pocrm import PocrmDesign, brute_force_extensions, linear_extensions, pocrm_from_partial_order
from earlyphase.design.simulate import simulate
from earlyphase.errors import InputError

SKELETON = (0.05, 0.12, 0.25, 0.4, 0.55)
# the seed study's regimens: A low x4, B normal x4, C normal x8, D step-up then normal (x8)
SEED_ORDER = [(0, 1), (1, 2), (3, 2)]


def test_linear_extensions_are_every_ordering_that_keeps_the_relations():
    rng = np.random.default_rng(1)
    for _ in range(40):
        n = int(rng.integers(2, 7))
        pairs = {(int(a), int(b)) for a, b in rng.integers(0, n, (int(rng.integers(0, 6)), 2)) if a < b}
        assert sorted(linear_extensions(n, pairs, limit=720)) == sorted(brute_force_extensions(n, pairs))
    assert linear_extensions(4, SEED_ORDER) == [(0, 1, 3, 2), (0, 3, 1, 2), (3, 0, 1, 2)]


def test_bad_partial_orders_are_named():
    with pytest.raises(InputError, match="cycle"):
        linear_extensions(3, [(0, 1), (1, 2), (2, 0)])
    with pytest.raises(InputError, match="more than"):
        linear_extensions(7, [])
    with pytest.raises(InputError, match="permutation|exactly once"):
        PocrmDesign(orderings=((0, 1, 1),), skeleton=(0.1, 0.2, 0.3), target=0.25)
    with pytest.raises(InputError, match="one positive prior"):
        PocrmDesign(orderings=((0, 1, 2),), skeleton=(0.1, 0.2, 0.3), target=0.25, ordering_prior=(1, 2))


def _random_counts(rng, T, K, contiguous=False):
    N = rng.integers(0, 7, (T, K))
    if contiguous:  # tried levels 1..top, as a trial started at level 1 has them
        top = rng.integers(0, K, T)
        N = np.where(np.arange(K)[None, :] <= top[:, None], np.maximum(N, 1), 0)
        cur = np.array([rng.integers(0, t + 1) for t in top])
        return N, np.minimum(rng.binomial(N, 0.25), N), cur
    Y = rng.binomial(N, 0.25)
    cur = rng.integers(0, K, T)
    N[np.arange(T), cur] = np.maximum(N[np.arange(T), cur], 1)
    return N, np.minimum(Y, N), cur


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_one_ordering_is_exactly_the_crm(model):
    crm = CrmDesign(skeleton=SKELETON, target=0.25, model=model)
    po = PocrmDesign(orderings=(tuple(range(5)),), skeleton=SKELETON, target=0.25, model=model)
    rng = np.random.default_rng(2)
    N, Y, cur = _random_counts(rng, 500, 5, contiguous=True)
    last = rng.integers(0, 2, 500)
    a, b = crm.step_many(N, Y, cur, last), po.step_many(N, Y, cur, last)
    for f in ("move", "stop", "safety", "raw"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert np.array_equal(crm.select_many(N, Y), po.select_many(N, Y))
    truth = [0.05, 0.1, 0.25, 0.4, 0.6]
    sa = simulate(crm, truth, trials=500, seed=3, n_cohorts=8).to_dict()
    sb = simulate(po, truth, trials=500, seed=3, n_cohorts=8).to_dict()
    sa.pop("design"), sb.pop("design")
    assert sa == sb


def test_one_relabelled_ordering_is_the_crm_on_relabelled_regimens():
    order = (2, 0, 4, 1, 3)
    po = PocrmDesign(orderings=(order,), skeleton=SKELETON, target=0.25)
    crm = CrmDesign(skeleton=SKELETON, target=0.25)
    rng = np.random.default_rng(4)
    N, Y, cur = _random_counts(rng, 300, 5, contiguous=True)
    N, Y = N[:, np.argsort(order)], Y[:, np.argsort(order)]  # tried contiguously along the ordering
    cur = np.asarray(order)[cur]
    rank = np.argsort(order)
    a = crm.step_many(N[:, list(order)], Y[:, list(order)], rank[cur], np.zeros(300, int))
    b = po.step_many(N, Y, cur, np.zeros(300, int))
    assert np.array_equal(np.asarray(order)[rank[cur] + a.move], cur + b.move)


def _brute_force(n, y, cur, orderings, skeleton, target, sd=math.sqrt(1.34)):
    """One trial, written from the paper's formulas with scipy's quad: the ordering with the
    largest marginal likelihood (uniform prior), the empiric model along it, and the
    regimen closest to the target with no skipping an untried rank and at most one rank up."""
    best = None
    for m, order in enumerate(orderings):
        sk = {r: skeleton[k] for k, r in enumerate(order)}

        def lik(b):
            v = math.exp(-0.5 * (b / sd) ** 2)
            for r in range(len(n)):
                p = sk[r] ** math.exp(b)
                v *= p ** y[r] * (1 - p) ** (n[r] - y[r])
            return v

        ml = quad(lik, -12, 12, limit=200, points=[0])[0]
        if best is None or ml > best[0] * (1 + 1e-9):
            mean = quad(lambda b: b * lik(b), -12, 12, limit=200, points=[0])[0] / ml
            best = (ml, m, mean)
    _, m, mean = best
    order = orderings[m]
    pt = [skeleton[k] ** math.exp(mean) for k in range(len(order))]
    rec = min(range(len(order)), key=lambda k: (abs(pt[k] - target), k))
    cur_rank = order.index(cur)
    tried = [k for k, r in enumerate(order) if n[r] > 0]
    ceiling = max(max(tried), cur_rank) + 1
    nxt = min(rec, ceiling, cur_rank + 1, len(order) - 1)
    # an untried regimen only when every regimen before it in all orderings was tried
    while nxt > 0 and n[order[nxt]] == 0 and any(
            n[r] == 0 and all(o.index(r) < o.index(order[nxt]) for o in orderings) for r in range(len(n))):
        nxt -= 1
    return m, order[nxt]


def test_against_an_independent_brute_force_implementation():
    orderings = linear_extensions(4, SEED_ORDER)
    sk = SKELETON[:4]
    po = PocrmDesign(orderings=tuple(orderings), skeleton=sk, target=0.25, safety_cutoff=None,
                     no_escalation_after_dlt=False)
    rng = np.random.default_rng(5)
    N, Y, cur = _random_counts(rng, 60, 4)
    chosen, _, _, _ = po.fit_orderings(N, Y)
    st = po.step_many(N, Y, cur, np.zeros(60, int))
    for t in range(60):
        m, nxt = _brute_force(N[t].tolist(), Y[t].tolist(), int(cur[t]), orderings, sk, 0.25)
        assert int(chosen[t]) == m, t
        assert int(cur[t] + st.move[t]) == nxt, t


def test_pocrm_finds_the_mtd_off_the_listed_order():
    # the step-up regimen (listed 4th) is the MTD; the true order is one of POCRM's orderings
    po = pocrm_from_partial_order(4, SEED_ORDER, SKELETON[:4], 0.25)
    r = simulate(po, [0.05, 0.12, 0.5, 0.25], trials=1000, seed=6, n_cohorts=10)
    assert r.true_mtd == 4
    assert r.correct_selection_percent > 40
    assert r.selection_percent[2] < 20  # the most toxic regimen is rarely chosen


def test_one_trial_decision_names_the_ordering():
    po = pocrm_from_partial_order(4, SEED_ORDER, SKELETON[:4], 0.25)
    dec = po.decide([3, 3, 0, 3], [0, 1, 0, 0], 4, last_cohort_dlt=0)
    assert dec.decision in ("escalate", "stay", "de-escalate")
    assert "ordering" in dec.reason and len(dec.details["ordering_posterior"]) == 3
    assert sum(dec.details["ordering_posterior"]) == pytest.approx(1)


def test_make_design_and_cli_take_a_partial_order():
    import json

    from typer.testing import CliRunner

    from earlyphase.cli import app
    from earlyphase.design import make_design

    d = make_design("pocrm", 0.25, skeleton=SKELETON[:4], partial_order=[(1, 2), (2, 3), (4, 3)])
    assert d.orderings == tuple(linear_extensions(4, SEED_ORDER))
    with pytest.raises(InputError) as e:
        make_design("pocrm", 0.25, skeleton=SKELETON[:4], partial_order=[(1, 2), (2, 1)])
    assert "[1, 2]" in str(e.value) and "cycle" in str(e.value)
    runner = CliRunner()
    res = runner.invoke(app, ["design", "simulate", "--design", "pocrm", "--target", "0.25", "--skeleton", "0.05,0.12,0.25,0.4",
                              "--partial-order", "1<2,2<3,4<3", "--truth", "0.05,0.12,0.5,0.25", "--trials", "200",
                              "--seed", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["design"] == "pocrm" and len(out["selection_percent"]) == 4
    for bad in (["--partial-order", "1>2"], ["--orderings", "1,2,x"]):
        res = runner.invoke(app, ["design", "simulate", "--design", "pocrm", "--target", "0.25", "--skeleton", "0.1,0.2",
                                  "--truth", "0.1,0.2", "--trials", "5", *bad])
        assert res.exit_code == 2 and "Traceback" not in res.output
    res = runner.invoke(app, ["design", "simulate", "--design", "pocrm", "--target", "0.25", "--skeleton", "0.1,0.2",
                              "--truth", "0.1,0.2", "--trials", "5"])
    assert res.exit_code == 1 and "partial order" in res.output
