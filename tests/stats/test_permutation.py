"""Exact and Monte-Carlo permutation log-rank: checked against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from earlyphase.errors import InputError
from earlyphase.stats import count_allocations, logrank_test, permutation_logrank
from earlyphase.stats.permutation import _all_allocations

TIME = np.array([1.0, 2.0, 2.0, 3.5, 4.0, 5.0, 6.0, 6.0, 7.5])
EVENT = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0])
GROUP = np.array(["A", "A", "B", "B", "B", "C", "C", "C", "A"])


def brute_force_p(time, event, group, **kw):
    """Every distinct allocation of the labels, each tested with the ordinary logrank_test."""
    observed = logrank_test(time, event, group, **kw).statistic
    labels = sorted(group.tolist())
    seen = set(itertools.permutations(labels))
    hits = 0
    for alloc in seen:
        s = logrank_test(time, event, np.array(alloc), **kw).statistic
        hits += s >= observed * (1 - 1e-9) - 1e-12
    return hits / len(seen), len(seen)


@pytest.mark.parametrize("kw", [
    {}, {"weights": "gehan"}, {"weights": "fh", "rho": 0, "gamma": 1}, {"trend": True, "levels": ["A", "B", "C"]},
    {"trend": True, "scores": [0, 1, 5]}, {"weights": "peto"},
])
def test_exact_equals_brute_force(kw):
    p_ref, n_ref = brute_force_p(TIME, EVENT, GROUP, **kw)
    res = permutation_logrank(TIME, EVENT, GROUP, exact=True, **kw)
    assert res.exact and res.permutations == n_ref == count_allocations([3, 3, 3])
    assert res.permutation_p_value == pytest.approx(p_ref, abs=1e-15)
    # the asymptotic part is the ordinary test
    assert res.statistic == logrank_test(TIME, EVENT, GROUP, **kw).statistic


@pytest.mark.parametrize("kw", [{}, {"trend": True, "levels": ["A", "B", "C"]}, {"weights": "tarone-ware"}])
def test_monte_carlo_agrees_with_exact(kw):
    exact = permutation_logrank(TIME, EVENT, GROUP, exact=True, **kw).permutation_p_value
    mc = permutation_logrank(TIME, EVENT, GROUP, exact=False, permutations=40_000, seed=7, **kw)
    assert not mc.exact and mc.permutations == 40_000
    assert mc.permutation_se > 0
    assert abs(mc.permutation_p_value - exact) < 4 * mc.permutation_se + 1 / 40_000


def test_monte_carlo_is_reproducible_with_seed():
    a = permutation_logrank(TIME, EVENT, GROUP, exact=False, permutations=5000, seed=3)
    b = permutation_logrank(TIME, EVENT, GROUP, exact=False, permutations=5000, seed=3)
    assert a.permutation_p_value == b.permutation_p_value


def test_group_without_anyone_at_risk_matches_r_rule():
    # Group C leaves before the first event: E_C = 0, R drops it (df = 1); permutation statistic agrees.
    time = np.array([0.5, 0.6, 1.0, 2.0, 3.0, 4.0, 5.0])
    event = np.array([0, 0, 1, 1, 0, 1, 1])
    group = np.array(["C", "C", "A", "B", "A", "B", "A"])
    base = logrank_test(time, event, group)
    assert base.df == 1
    p_ref, _ = brute_force_p(time, event, group)
    res = permutation_logrank(time, event, group, exact=True)
    assert res.permutation_p_value == pytest.approx(p_ref, abs=1e-15)


def test_stratified_permutation_close_to_brute_force():
    strata = np.array(["s1", "s1", "s1", "s1", "s2", "s2", "s2", "s2", "s2"])
    group = np.array(["A", "B", "A", "B", "A", "B", "B", "A", "A"])
    observed = logrank_test(TIME, EVENT, group, strata=strata).statistic
    hits, total = 0, 0
    for p1 in set(itertools.permutations(group[:4].tolist())):
        for p2 in set(itertools.permutations(group[4:].tolist())):
            s = logrank_test(TIME, EVENT, np.array(p1 + p2), strata=strata).statistic
            hits += s >= observed * (1 - 1e-9) - 1e-12
            total += 1
    mc = permutation_logrank(TIME, EVENT, group, strata=strata, permutations=40_000, seed=11)
    assert abs(mc.permutation_p_value - hits / total) < 4 * mc.permutation_se + 1 / 40_000


def test_all_allocations_are_distinct_and_complete():
    codes = np.array([0, 0, 1, 1, 1, 2])
    allocs = _all_allocations(codes, 3)
    assert allocs.shape == (count_allocations([2, 3, 1]), 6)
    assert len({tuple(r) for r in allocs.tolist()}) == allocs.shape[0]
    assert (np.sort(allocs, axis=1) == np.sort(codes)).all()


def test_exact_refused_when_too_many():
    g = np.repeat(["A", "B", "C", "D"], [3, 5, 5, 5])
    t = np.arange(1, 19, dtype=float)
    with pytest.raises(InputError) as exc:
        permutation_logrank(t, np.ones(18), g, exact=True)
    assert exc.value.problems[0].field == "exact"
