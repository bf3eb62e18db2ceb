"""Exact operating characteristics by enumerating every cohort outcome.

Each cohort at level k gives j DLTs with binomial probability C(c, j) p_k^j (1-p_k)^(c-j).
Starting from the empty trial, every path of cohort outcomes is followed with the
design's own ``step_many`` (all states of one cohort in one call); states that coincide
are merged by adding their probabilities. The result has the same shape as a
simulation result, with probabilities in place of frequencies. Practical for 3+3 and
for interval designs with a modest number of cohorts; CRM states are merged too.
"""

from __future__ import annotations

from math import comb
from typing import Sequence

import numpy as np

from earlyphase.design._common import api_door, whole
from earlyphase.design.base import Design
from earlyphase.design.simulate import SimulationResult, _check_truth, summarise
from earlyphase.errors import InputError
from earlyphase.limits import MAX_EXACT_STATES, MAX_LEVELS, MAX_SAMPLE_SIZE


@api_door
def exact_operating_characteristics(
    design: Design, truth: Sequence[float], *, cohort_size: int = 3, n_cohorts: int = 10, start_level: int = 1
) -> SimulationResult:
    """Exact selection probabilities and expected patients/DLTs per level (see module doc)."""
    p = _check_truth(truth)
    L = p.size
    if L > MAX_LEVELS:
        raise InputError.single("truth", f"{L} levels", f"at most {MAX_LEVELS} levels", f"Give at most {MAX_LEVELS} levels.")
    cs = whole("cohort_size", cohort_size, 1, MAX_SAMPLE_SIZE)
    n_cohorts = whole("n_cohorts", n_cohorts, 1, MAX_SAMPLE_SIZE)
    start_level = whole("start_level", start_level, 1, L)
    if cs * n_cohorts > MAX_SAMPLE_SIZE:
        raise InputError.single("n_cohorts", n_cohorts, f"at most {MAX_SAMPLE_SIZE} patients per trial",
                                f"a trial may enrol at most {MAX_SAMPLE_SIZE} patients; cohort_size {cs} x n_cohorts {n_cohorts} is more.")
    js = np.arange(cs + 1)
    pj = np.array([[comb(cs, j) * pk**j * (1 - pk) ** (cs - j) for j in js] for pk in p])  # L x (cs+1)
    uses_last = design.name == "crm"

    N = np.zeros((1, L), dtype=np.int64)
    Y = np.zeros((1, L), dtype=np.int64)
    cur = np.array([start_level - 1])
    prob = np.array([1.0])
    agg = {"selected": np.zeros(L + 1), "patients": np.zeros(L), "dlt": np.zeros(L), "early": 0.0, "safety": 0.0, "trials": 1.0}

    def finish(Nf, Yf, pr, safety, early):
        sel = design.select_many(Nf, Yf)
        sel = np.where(safety, -1, sel)
        np.add.at(agg["selected"], sel + 1, pr)
        agg["patients"] += pr @ Nf
        agg["dlt"] += pr @ Yf
        agg["safety"] += float(pr[safety].sum())
        agg["early"] += float(pr[early].sum())

    for c in range(int(n_cohorts)):
        S = prob.size
        if S == 0:
            break
        if S * (cs + 1) > MAX_EXACT_STATES:
            # The states to follow grow with every cohort (faster for model-based designs); past this bound
            # enumeration would exhaust memory or run for hours, so say so and point to simulation.
            raise InputError.single("n_cohorts", n_cohorts, f"at most {MAX_EXACT_STATES} states",
                                    f"exact enumeration would follow more than {MAX_EXACT_STATES} trial states at cohort "
                                    f"{c + 1}; use fewer cohorts or simulate instead.")
        # expand every state by every outcome of the cohort
        Ne = np.repeat(N, cs + 1, axis=0)
        Ye = np.repeat(Y, cs + 1, axis=0)
        ce = np.repeat(cur, cs + 1)
        je = np.tile(js, S)
        pe = np.repeat(prob, cs + 1) * pj[ce, je]
        rows = np.arange(ce.size)
        Ne[rows, ce] += cs
        Ye[rows, ce] += je
        keep = pe > 0
        Ne, Ye, ce, je, pe = Ne[keep], Ye[keep], ce[keep], je[keep], pe[keep]
        st = design.step_many(Ne, Ye, ce, je)
        stop = st.stop
        last = c == int(n_cohorts) - 1
        if stop.any():
            finish(Ne[stop], Ye[stop], pe[stop], st.safety[stop], np.full(int(stop.sum()), not last))
        go = ~stop
        Ng, Yg, cg, jg, pg = Ne[go], Ye[go], (ce + st.move)[go], je[go], pe[go]
        if last:
            finish(Ng, Yg, pg, np.zeros(pg.size, bool), np.zeros(pg.size, bool))
            break
        # merge identical states
        key = np.concatenate([Ng, Yg, cg[:, None], (jg if uses_last else np.zeros_like(jg))[:, None]], axis=1)
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        prob = np.bincount(inv, weights=pg, minlength=uniq.shape[0])
        N, Y, cur = uniq[:, :L], uniq[:, L : 2 * L], uniq[:, 2 * L]
    return summarise(design, p, agg, target=getattr(design, "target", None), cohort_size=cs, n_cohorts=int(n_cohorts),
                     seed=None, chunk_size=None, method="exact")


def three_plus_three_escalation_probability(p: float) -> float:
    """Probability that 3+3 escalates from a level with true DLT probability p:
    0/3, or 1/3 then 0/3, i.e. (1 - p)^3 + 3 p (1 - p)^5."""
    return (1 - p) ** 3 + 3 * p * (1 - p) ** 5
