"""BOIN over a dose x schedule grid (Lin & Yin's combination BOIN): one row is BOIN, moves
stay on the grid's neighbours, elimination covers every cell with more of both, and the
bivariate isotonic fit is monotone and agrees with a brute-force constrained fit."""

import numpy as np
import pytest
from scipy.optimize import minimize

from earlyphase.design import BoinDesign
from earlyphase.design.boin_grid import BoinGridDesign, bivariate_isotonic
from earlyphase.design.simulate import simulate
from earlyphase.errors import InputError


def _random(rng, T, L):
    N = rng.integers(0, 10, (T, L))
    Y = np.minimum(rng.binomial(N, 0.3), N)
    cur = rng.integers(0, L, T)
    N[np.arange(T), cur] = np.maximum(N[np.arange(T), cur], 1)
    return N, Y, cur


@pytest.mark.parametrize("earlystop", [None, 9])
def test_one_row_is_boin(earlystop):
    boin = BoinDesign(target=0.25, n_earlystop=earlystop)
    grid = BoinGridDesign(n_rows=1, n_cols=5, target=0.25, n_earlystop=earlystop)
    rng = np.random.default_rng(1)
    N, Y, cur = _random(rng, 3000, 5)
    N[:, 0] = np.maximum(N[:, 0], 1)
    a, b = boin.step_many(N, Y, cur, np.zeros(3000, int)), grid.step_many(N, Y, cur, np.zeros(3000, int))
    # hand-made counts can put the current level above an eliminated one; BOIN then jumps below it
    natural = ~a.eliminated[np.arange(3000), np.maximum(cur - 1, 0)]
    # and tried levels contiguous from level 1, as in a trial that started there (with a gap
    # below, the grid refuses an untried level that BOIN would give)
    tried = N > 0
    natural &= np.all(tried[:, :-1] | ~tried[:, 1:], axis=1) & tried[:, 0]
    assert natural.sum() > 300
    for f in ("move", "stop", "safety"):
        assert np.array_equal(getattr(a, f)[natural], getattr(b, f)[natural]), f
    assert np.array_equal(a.eliminated, b.eliminated)


def test_moves_are_to_grid_neighbours_and_never_into_eliminated_cells():
    d = BoinGridDesign(n_rows=2, n_cols=3, target=0.3)
    rng = np.random.default_rng(2)
    N, Y, cur = _random(rng, 4000, 6)
    st = d.step_many(N, Y, cur, np.zeros(4000, int))
    nxt = cur + st.move
    go = ~st.stop
    dr = np.abs(nxt // 3 - cur // 3)
    dc = np.abs(nxt % 3 - cur % 3)
    assert np.all((dr + dc)[go] <= 1)
    moved = go & (st.move != 0)
    assert not np.any(st.eliminated[np.arange(4000)[moved], nxt[moved]])
    # elimination is closed upwards in both directions
    e = st.eliminated.reshape(-1, 2, 3)
    assert np.all(e[:, 1, :] >= e[:, 0, :]) and np.all(e[:, :, 1:] >= e[:, :, :-1])


def test_escalation_prefers_the_neighbour_most_likely_near_the_target():
    d = BoinGridDesign(n_rows=2, n_cols=2, target=0.3)
    # at (1,1) with 0/3: (2,1) has 3/6 (rate .5), (1,2) has 2/6 (.33): (1,2) is likelier in the interval
    N = np.array([[3, 6, 6, 0]])
    Y = np.array([[0, 2, 3, 0]])
    st = d.step_many(N, Y, np.array([0]), np.array([0]))
    assert int(st.move[0]) == 1


def test_bivariate_isotonic_is_monotone_and_matches_a_constrained_fit():
    rng = np.random.default_rng(3)
    v = rng.uniform(0, 1, (4, 2, 3))
    w = rng.uniform(0.5, 3, (4, 2, 3))
    fit = bivariate_isotonic(v, w)
    assert np.all(np.diff(fit, axis=1) >= -1e-9) and np.all(np.diff(fit, axis=2) >= -1e-9)
    for t in range(4):
        cons = []
        for r in range(2):
            for c in range(3):
                k = r * 3 + c
                if c < 2:
                    cons.append({"type": "ineq", "fun": lambda x, k=k: x[k + 1] - x[k]})
                if r < 1:
                    cons.append({"type": "ineq", "fun": lambda x, k=k: x[k + 3] - x[k]})
        res = minimize(lambda x: np.sum(w[t].ravel() * (x - v[t].ravel()) ** 2), v[t].ravel(), constraints=cons,
                       method="SLSQP", options={"ftol": 1e-12, "maxiter": 500})
        assert fit[t].ravel() == pytest.approx(res.x, abs=1e-4)
    mono = np.sort(rng.uniform(0, 1, 6)).reshape(1, 2, 3)
    assert np.allclose(bivariate_isotonic(mono, np.ones_like(mono)), mono)


def test_simulation_on_the_seed_grid_finds_the_mtd_cell():
    # rows: low / normal dose; columns: 4 / 8 infusions; the MTD is normal x 4 (cell 3)
    d = BoinGridDesign(n_rows=2, n_cols=2, target=0.3)
    r = simulate(d, [0.05, 0.15, 0.3, 0.5], trials=1000, seed=4, n_cohorts=10)
    assert r.true_mtd == 3
    assert r.correct_selection_percent == max(r.selection_percent)
    assert r.selection_percent[3] < 15
    bf = simulate(d, [0.05, 0.15, 0.3, 0.5], trials=300, seed=4, n_cohorts=10, backfill_size=2)
    assert bf.extra["mean_backfill_patients"] > 0


def test_bad_grid():
    with pytest.raises(InputError):
        BoinGridDesign(n_rows=0, n_cols=2, target=0.3)
    with pytest.raises(InputError):
        BoinGridDesign(n_rows=2, n_cols=2, target=0.3).step_many(np.zeros((1, 3), int), np.zeros((1, 3), int), np.array([0]), np.array([0]))


def test_backfill_goes_only_to_cells_known_less_toxic():
    from earlyphase.design.pocrm import PocrmDesign
    from earlyphase.design.simulate import backfill_levels

    d = BoinGridDesign(n_rows=2, n_cols=2, target=0.3)
    below = d.known_below(np.array([3, 2, 1, 0]), 4)
    assert below.tolist() == [[True, True, True, False], [True, False, False, False], [True, False, False, False],
                              [False, False, False, False]]
    N = np.array([[3, 3, 3, 3]] * 3)
    Y = np.zeros((3, 4), int)
    assert backfill_levels(d, N, Y, np.array([3, 2, 1]), None).tolist() == [2, 0, 0]
    po = PocrmDesign(orderings=((0, 1, 3, 2), (0, 3, 1, 2)), skeleton=(0.1, 0.2, 0.3, 0.4), target=0.3)
    # regimen 3 (index 2) is after all others in both orderings; index 3 is only known above index 0
    assert po.known_below(np.array([2, 3]), 4).tolist() == [[True, True, False, True], [True, False, False, False]]


def test_cli_simulates_the_grid():
    import json

    from typer.testing import CliRunner

    from earlyphase.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["design", "simulate", "--design", "boin-grid", "--grid", "2x2", "--target", "0.3",
                              "--truth", "0.05,0.15,0.3,0.5", "--trials", "200", "--seed", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["design"] == "boin-grid"
    bad = runner.invoke(app, ["design", "simulate", "--design", "boin-grid", "--grid", "2y2", "--target", "0.3",
                              "--truth", "0.05,0.15,0.3,0.5", "--trials", "5"])
    assert bad.exit_code == 2 and "ROWSxCOLS" in bad.output
    wrong = runner.invoke(app, ["design", "simulate", "--design", "boin-grid", "--grid", "2x3", "--target", "0.3",
                                "--truth", "0.05,0.15,0.3,0.5", "--trials", "5"])
    assert wrong.exit_code == 1 and "6 levels" in wrong.output
