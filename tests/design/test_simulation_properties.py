"""Properties checked at every decision of simulated trials (with backfill, and with
staggered accrual): no design gives an eliminated level, and none gives an untried level
while a level known to be less toxic is untried (an untested skip). Each design is wrapped
so that every call of its decision rule is checked, whatever the simulator feeds it."""

import numpy as np
import pytest

from earlyphase.design import BoinDesign, CrmDesign, I3plus3Design, KeyboardDesign, ThreePlusThreeDesign
from earlyphase.design.boin_grid import BoinGridDesign
from earlyphase.design.pocrm import PocrmDesign, linear_extensions
from earlyphase.design.simulate import simulate
from earlyphase.design.time_to_event import simulate_time_to_event
from earlyphase.design.tite import pending_step

TRUTH = [0.1, 0.2, 0.3, 0.45]
SK = (0.1, 0.2, 0.3, 0.45)


def watched(design):
    """The same design, its step_many checked on every call."""
    base = type(design)

    def step_many(self, N, Y, cur, last_dlt):
        st = base.step_many(self, N, Y, cur, last_dlt)
        _check(self, np.asarray(N), np.asarray(cur), st)
        return st

    cls = type(f"Watched{base.__name__}", (base,), {"step_many": step_many, "checks": [0]})
    obj = object.__new__(cls)
    obj.__dict__.update(design.__dict__)
    return obj


def _check(design, N, cur, st):
    T, L = N.shape
    idx = np.arange(T)
    go = ~np.asarray(st.stop)
    nxt = cur + st.move
    assert np.all((nxt[go] >= 0) & (nxt[go] < L))
    assert not np.any(st.eliminated[idx[go], nxt[go]]), f"{design.name}: an eliminated level"
    untried = N[idx, nxt] == 0
    below = design.known_below(nxt, L)
    skipped = go & untried & (below & (N == 0)).any(axis=1)
    assert not skipped.any(), f"{design.name}: an untried level above an untried one"
    type(design).checks[0] += int(go.sum())


DESIGNS = [
    BoinDesign(target=0.3), KeyboardDesign(target=0.3), I3plus3Design(target=0.3), ThreePlusThreeDesign(),
    CrmDesign(skeleton=SK, target=0.3), CrmDesign(skeleton=SK, target=0.3, no_skip=False),
    PocrmDesign(orderings=tuple(linear_extensions(4, [(0, 1), (1, 3), (2, 3)])), skeleton=SK, target=0.3),
    BoinGridDesign(n_rows=2, n_cols=2, target=0.3),
]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: f"{d.name}-{id(d) % 97}")
@pytest.mark.parametrize("truth", [TRUTH, [0.4, 0.5, 0.6, 0.7], [0.02, 0.04, 0.06, 0.08]])
def test_every_simulated_decision_keeps_the_rules(design, truth):
    w = watched(design)
    simulate(w, truth, trials=150, seed=1, n_cohorts=8, backfill_size=2, backfill_cap=9)
    simulate_time_to_event(w, truth, trials=60, seed=2, n_cohorts=10, cohort_size=2, interval=6, tite=False,
                           backfill_max=6, backfill_cap=8)
    assert type(w).checks[0] > 100


@pytest.mark.parametrize("design", [BoinDesign(target=0.3), CrmDesign(skeleton=SK, target=0.3)], ids=lambda d: d.name)
def test_tite_decisions_with_pending_patients_keep_the_rules(design):
    rng = np.random.default_rng(5)
    T, L, S = 3000, 4, 6
    top = rng.integers(0, L, T)
    N = np.where(np.arange(L)[None, :] <= top[:, None], rng.integers(1, 8, (T, L)), 0)
    Y = np.minimum(rng.binomial(N, 0.3), N)
    cur = np.array([rng.integers(0, t + 1) for t in top])
    plev = np.full((T, S), -1)
    pw = rng.uniform(0.05, 0.95, (T, S))
    for t in range(T):  # some of each level's patients without a DLT are still pending
        slots = 0
        for lv in range(L):
            k = int(rng.integers(0, N[t, lv] - Y[t, lv] + 1))
            k = min(k, S - slots)
            plev[t, slots:slots + k] = lv
            slots += k
    st, wait = pending_step(design, N, Y, cur, np.zeros(T, int), plev, pw, tite=True)
    go = ~(st.stop | wait)
    nxt = cur + st.move
    idx = np.arange(T)
    assert not np.any(st.eliminated[idx[go], nxt[go]])
    assert np.all(nxt[go] <= top[go] + 1)  # never past the first untried level
    assert go.sum() > 1000
