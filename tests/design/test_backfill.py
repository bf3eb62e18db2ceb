"""Backfill (BF-BOIN, Zhao et al. 2024) for every design: patients added at cleared levels
below the current one, capped per level, stopping when a level is no longer safe."""

import numpy as np
import pytest

from earlyphase.design import BoinDesign, CrmDesign, I3plus3Design, KeyboardDesign, ThreePlusThreeDesign
from earlyphase.design.simulate import backfill_levels, simulate

TRUTH = [0.05, 0.1, 0.2, 0.3, 0.45]
SKELETON = (0.05, 0.1, 0.2, 0.3, 0.45)


def _designs():
    boin = BoinDesign(target=0.25)
    return [ThreePlusThreeDesign(), boin, KeyboardDesign(target=0.25), I3plus3Design(target=0.25),
            CrmDesign(skeleton=SKELETON, target=0.25)]


@pytest.mark.parametrize("design", _designs(), ids=lambda d: d.name)
def test_every_design_backfills_below_the_current_level(design):
    plain = simulate(design, TRUTH, trials=600, seed=4, n_cohorts=8)
    bf = simulate(design, TRUTH, trials=600, seed=4, n_cohorts=8, backfill_size=2, backfill_cap=9)
    assert bf.extra["mean_backfill_patients"] > 0
    assert bf.mean_total_patients == pytest.approx(plain.mean_total_patients + bf.extra["mean_backfill_patients"], rel=0.15)
    assert "Backfill:" in bf.summary()
    assert sum(bf.mean_patients[:3]) > sum(plain.mean_patients[:3])


def test_a_decision_table_design_backfills():
    from earlyphase.design.interval import TableDesign

    rule, _ = BoinDesign(target=0.25).decision_codes(40)
    codes = tuple(tuple(int(v) for v in rule[n, : n + 1]) for n in range(41))
    r = simulate(TableDesign(target=0.25, codes=codes), TRUTH, trials=300, seed=1, n_cohorts=8, backfill_size=1)
    assert r.extra["mean_backfill_patients"] > 0


def test_backfill_level_is_cleared_below_current_and_under_the_cap():
    rng = np.random.default_rng(3)
    for design in _designs():
        T, L = 400, 5
        N = rng.integers(0, 10, (T, L))
        Y = np.minimum(rng.binomial(N, 0.2), N)
        cur = rng.integers(0, L, T)
        cap = 6
        lvl = backfill_levels(design, N, Y, cur, cap)
        chosen = np.flatnonzero(lvl >= 0)
        assert chosen.size > 0, design.name
        assert np.all(lvl[chosen] < cur[chosen])
        assert np.all(N[chosen, lvl[chosen]] < cap)
        assert np.all(design.cleared_many(N[chosen], Y[chosen], lvl[chosen]))
        # the highest open one: nothing open between it and the current level
        for t in chosen[:50]:
            for between in range(lvl[t] + 1, cur[t]):
                assert not (design.cleared_many(N[[t]], Y[[t]], np.array([between]))[0] and N[t, between] < cap)


def test_three_plus_three_clears_as_the_rule_says():
    d = ThreePlusThreeDesign()
    N = np.array([[3, 3, 6, 6, 3]])
    Y = np.array([[0, 1, 1, 0, 0]])
    got = [bool(d.cleared_many(N, Y, np.array([lv]))[0]) for lv in range(5)]
    assert got == [True, False, True, True, True]
    Y2 = np.array([[0, 2, 0, 0, 0]])  # level 2 exceeded: nothing at or above it is cleared
    assert [bool(d.cleared_many(N, Y2, np.array([lv]))[0]) for lv in range(5)] == [True, False, False, False, False]


def test_backfill_stops_at_a_toxic_level():
    d = BoinDesign(target=0.25)
    safe = simulate(d, [0.02, 0.05, 0.1, 0.15, 0.2], trials=800, seed=2, n_cohorts=8, backfill_size=3)
    toxic_low = simulate(d, [0.35, 0.4, 0.45, 0.5, 0.55], trials=800, seed=2, n_cohorts=8, backfill_size=3)
    assert toxic_low.extra["mean_backfill_patients"] < safe.extra["mean_backfill_patients"] / 3


def test_the_cap_limits_backfill():
    d = BoinDesign(target=0.25)
    kw = dict(trials=600, seed=5, n_cohorts=10, backfill_size=3)
    free = simulate(d, TRUTH, **kw)
    capped = simulate(d, TRUTH, backfill_cap=6, **kw)
    assert capped.extra["mean_backfill_patients"] < free.extra["mean_backfill_patients"]
