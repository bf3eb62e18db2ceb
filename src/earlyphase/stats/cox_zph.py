"""Test of proportional hazards for a fitted Cox model, as R's ``cox.zph(fit, transform = "km")``.

This is the score test of survival 3.x: each coefficient is allowed to drift with a function of
time, beta_j + gamma_j * g(t), and the score test of gamma = 0 is computed at the fitted beta
(gamma's score and the full (beta, gamma) information, ties handled as in the fit). ``g`` is the
"km" transform: one minus the left-continuous Kaplan-Meier estimate of the pooled data
(unweighted, unstratified), centred on its mean over the event rows. A term with several columns
(a categorical covariate) is tested jointly; GLOBAL tests all columns at once. When the test does
not exist (every event at a single time, where R's ``cox.zph`` stops with a singular matrix) the
chi-square and p-value are NaN (null in JSON).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from earlyphase.stats.distributions import chi2_sf

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.stats.cox import ZphTerm, _CoxData, _Evaluation


def _km_left_limit(time: np.ndarray, event: np.ndarray, entry: np.ndarray | None, at: np.ndarray) -> np.ndarray:
    """Unweighted pooled Kaplan-Meier S(t-) at the times ``at`` (delayed entry allowed)."""
    ts = np.sort(time)
    ds = np.sort(time[event])
    first = np.empty(ds.shape[0], dtype=bool)
    first[:1] = True
    np.not_equal(ds[1:], ds[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    death_times = ds[starts]
    deaths = np.diff(np.append(starts, ds.shape[0]))
    at_risk = ts.shape[0] - np.searchsorted(ts, death_times, side="left")
    if entry is not None:
        es = np.sort(entry)
        at_risk = at_risk - (es.shape[0] - np.searchsorted(es, death_times, side="left"))
    factors = 1.0 - deaths / at_risk
    surv = np.concatenate([[1.0], np.cumprod(factors)])
    return surv[np.searchsorted(death_times, at, side="left")]


def cox_zph_table(data: "_CoxData", ev: "_Evaluation", terms: dict[str, tuple[int, ...]],
                  entry_sorted: np.ndarray | None) -> tuple["ZphTerm", ...]:
    """Per-term and GLOBAL chi-square tests of proportional hazards for a converged fit."""
    from earlyphase.stats.cox import ZphTerm, _gram

    XT, dr, b = data.XT, data.death_rows, data.block_of_death
    p = data.p
    km = _km_left_limit(data.t, data.d, entry_sorted, data.block_time)
    g_block = 1.0 - km
    g_block = g_block - g_block[b].mean()  # centred over event rows, as R
    g = g_block[b]

    mw = data.mw_death
    mT = ev.mT
    # score for gamma: sum over event times of g(t) * (observed - expected) covariate
    u = np.einsum("ik,k->i", XT[:, dr], data.w_death * g) - np.einsum("ik,k->i", mT, mw * g)

    q = mw / ev.d2
    tk = data.tk

    def information(h_block: np.ndarray) -> np.ndarray:
        h = h_block[b]
        alpha_h = np.bincount(b, weights=q * h, minlength=data.n_blocks)
        beta_h = np.bincount(b, weights=q * tk * h, minlength=data.n_blocks)
        A = data._cum_over_blocks(alpha_h)
        v = ev.wr * A
        v[dr] -= ev.wr[dr] * beta_h[b]
        return _gram(XT * v, XT) - _gram(mT * (mw * h), mT)

    i11 = information(np.ones(data.n_blocks))
    i12 = information(g_block)
    i22 = information(g_block ** 2)
    imat = np.block([[i11, i12], [i12.T, i22]])
    imat = (imat + imat.T) / 2

    def score_test(index: list[int]) -> float:
        uu = np.concatenate([np.zeros(p), u[index]])
        kk = list(range(p)) + [p + c for c in index]
        sub = imat[np.ix_(kk, kk)]
        try:
            # refuse a numerically singular matrix, as LAPACK's reciprocal condition test would
            if np.linalg.cond(sub, 1) * np.finfo(float).eps >= 1:
                raise np.linalg.LinAlgError("ill-conditioned")
            return float(uu @ np.linalg.solve(sub, uu))
        except np.linalg.LinAlgError:
            # e.g. every event at one time: g(t) is constant and the test does not exist (R stops)
            return float("nan")

    rows = []
    for name, cols in list(terms.items()) + [("GLOBAL", tuple(range(p)))]:
        stat = score_test(list(cols))
        rows.append(ZphTerm(term=name, chisq=stat, df=len(cols), p_value=chi2_sf(stat, len(cols))))
    return tuple(rows)
