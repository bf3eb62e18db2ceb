"""Isotonic estimates of DLT probability and BOIN-style MTD selection.

The selection follows Liu & Yuan (2015, JRSS C 64:507) and the BOIN R package's
``select.mtd``: among levels that were treated and not eliminated, compute
(y + 0.05)/(n + 0.1), smooth it by weighted isotonic regression (weights = inverse
of the Beta-posterior variance), and pick the level closest to the target. Ties go to
the highest level when the estimate is below the target and to the lowest when above.
The same selection is used after mTPI-2 (Keyboard) and i3+3 trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.stats import beta as beta_dist

from earlyphase.design._common import api_door, check_counts, check_probability, levels_1based, row_keys

NO_MTD = -1


def isotonic_many(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression of each row of ``values``.

    Positions with weight 0 are ignored and come back as NaN. Uses the max-min formula
    x*_j = max_{i<=j} min_{k>=j} avg(i..k), vectorised over rows: O(rows * L^3), which is
    cheap for the handful of dose levels a trial has.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    single = v.ndim == 1
    if single:
        v, w = v[None, :], w[None, :]
    rows, L = v.shape
    w = np.where(w > 0, w, 0.0)
    # Rows already non-decreasing over their weighted positions are their own fit; only
    # the others need the O(L^3) formula.
    vv = np.where(w > 0, v, -np.inf)
    monotone = np.all((w == 0) | (vv >= np.maximum.accumulate(vv, axis=1)), axis=1)
    out = np.where(w > 0, v, np.nan)
    todo = np.flatnonzero(~monotone)
    if todo.size:
        out[todo] = _isotonic_maxmin(v[todo], w[todo])
    return out[0] if single else out


def _isotonic_maxmin(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    rows, L = v.shape
    # Arrays are laid out (level, level, rows) so that the running minimum and the maximum
    # run over leading axes, each step on a contiguous block of all rows at once.
    wt = w.T
    cw = np.concatenate([np.zeros((1, rows)), np.cumsum(wt, axis=0)], axis=0)
    cwv = np.concatenate([np.zeros((1, rows)), np.cumsum(wt * np.where(wt > 0, v.T, 0.0), axis=0)], axis=0)
    # avg[k, i, r] = weighted mean of positions i..k of row r; +inf where undefined
    tw = cw[1:, None, :] - cw[None, :-1, :]
    twv = cwv[1:, None, :] - cwv[None, :-1, :]
    kk, ii = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    ok = (ii <= kk)[:, :, None] & (tw > 0)
    avg = np.where(ok, twv / np.where(ok, tw, 1.0), np.inf)
    # upper[j, i] = min over k >= j of avg[k, i]; then max over i <= j
    upper = np.minimum.accumulate(avg[::-1], axis=0)[::-1]
    upper = np.where((ii <= kk)[:, :, None] & np.isfinite(upper), upper, -np.inf)
    iso = upper.max(axis=1).T
    return np.where((w > 0) & np.isfinite(iso), iso, np.nan)


def elimination_flags(n: np.ndarray, y: np.ndarray, target: float, cutoff: float = 0.95, min_n: int = 3) -> np.ndarray:
    """True where P(p > target | y, n) > cutoff under a Beta(1, 1) prior and n >= min_n, and at
    every level above such a level (toxicity is assumed to increase with level). Works on a
    1-D array or row-wise on a 2-D array."""
    n = np.asarray(n)
    y = np.asarray(y)
    # Posterior Beta(y + 1, n - y + 1); survival function at the target.
    p_over = beta_dist.sf(target, y + 1, n - y + 1)
    flag = (n >= min_n) & (p_over > cutoff)
    return np.logical_or.accumulate(flag, axis=-1)


def select_mtd_many(
    n: np.ndarray,
    y: np.ndarray,
    target: float,
    *,
    cutoff_eli: float = 0.95,
    extrasafe: bool = False,
    offset: float = 0.05,
    bound_mtd: bool = False,
    lambda_d: float | None = None,
    lookup: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise BOIN MTD selection. Returns (mtd index 0-based or NO_MTD, isotonic estimates).

    ``lookup`` = (eliminate[n, y], extrasafe[n, y]) precomputed grids, to skip the Beta
    tail computations when many trials are summarised at once."""
    n = np.atleast_2d(np.asarray(n, dtype=float))
    y = np.atleast_2d(np.asarray(y, dtype=float))
    rows, L = n.shape
    if rows > 64:
        # many simulated trials end in the same counts: select once per distinct row
        keys = row_keys(np.concatenate([n, y], axis=1).astype(np.int64))
        if keys is not None:
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            if first.size < rows:
                mtd_u, iso_u = select_mtd_many(
                    n[first], y[first], target, cutoff_eli=cutoff_eli, extrasafe=extrasafe, offset=offset,
                    bound_mtd=bound_mtd, lambda_d=lambda_d, lookup=lookup,
                )
                inverse = inverse.reshape(-1)
                return mtd_u[inverse], iso_u[inverse]
    if lookup is not None:
        ni, yi = n.astype(np.int64), y.astype(np.int64)
        elim = np.logical_or.accumulate(lookup[0][ni, yi], axis=1)
        extra_flag = lookup[1][ni[:, 0], yi[:, 0]]
    else:
        elim = elimination_flags(n, y, target, cutoff_eli)
        p1 = beta_dist.sf(target, y[:, 0] + 1, n[:, 0] - y[:, 0] + 1)
        extra_flag = (n[:, 0] >= 3) & (p1 > cutoff_eli - offset)
    no_mtd = elim[:, 0].copy()
    if extrasafe:
        no_mtd |= extra_flag
    adm = (n > 0) & ~elim
    no_mtd |= ~adm.any(axis=1)
    phat = (y + 0.05) / (n + 0.1)
    var = (y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 0.1 + 1))
    wts = np.where(adm, 1.0 / var, 0.0)
    iso = isotonic_many(phat, wts)
    # Tiny increasing offsets break ties: below the target the higher level ends up closer,
    # above it the lower level does (the published tie rule).
    shifted = iso + (np.arange(L) + 1) * 1e-10
    dist = np.where(adm, np.abs(shifted - target), np.inf)
    if bound_mtd:
        if lambda_d is None:
            raise ValueError("lambda_d is needed when bound_mtd is true")
        dist = np.where(iso < lambda_d, dist, np.inf)
        no_mtd |= ~np.isfinite(dist).any(axis=1)
    mtd = np.argmin(dist, axis=1)
    mtd = np.where(no_mtd, NO_MTD, mtd)
    return mtd, iso


@dataclass(frozen=True)
class MtdSelection:
    """Result of selecting the MTD at the end of a trial.

    ``mtd`` is 1-based (None when no level can be selected); ``isotonic_estimates`` are the
    isotonic DLT probabilities per level (None for untreated or eliminated levels).
    """

    target: float
    mtd: int | None
    isotonic_estimates: tuple[float | None, ...]
    eliminated: tuple[int, ...]
    n: tuple[int, ...]
    dlt: tuple[int, ...]
    method: str = "isotonic"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mtd": self.mtd,
            "isotonic_estimates": list(self.isotonic_estimates),
            "target": self.target,
            "eliminated": list(self.eliminated),
            "n": list(self.n),
            "dlt": list(self.dlt),
            "method": self.method,
        }

    def summary(self) -> str:
        lines = [f"MTD selection (target DLT rate {self.target:g}, {self.method})"]
        lines.append(f"{'level':>6} {'n':>4} {'DLT':>4} {'estimate':>9}")
        for i, (ni, yi, est) in enumerate(zip(self.n, self.dlt, self.isotonic_estimates), start=1):
            e = "----" if est is None else f"{est:.2f}"
            lines.append(f"{i:>6} {ni:>4} {yi:>4} {e:>9}")
        lines.append("Selected MTD: " + ("none (no admissible level)" if self.mtd is None else f"level {self.mtd}"))
        if self.eliminated:
            lines.append("Eliminated levels: " + ", ".join(map(str, self.eliminated)))
        return "\n".join(lines)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            {"level": range(1, len(self.n) + 1), "n": self.n, "dlt": self.dlt, "isotonic_estimate": self.isotonic_estimates}
        )

    def __str__(self) -> str:
        return self.summary()


@api_door
def select_mtd(
    target: float,
    n: Sequence[int],
    dlt: Sequence[int],
    *,
    cutoff_eli: float = 0.95,
    extrasafe: bool = False,
    offset: float = 0.05,
    bound_mtd: bool = False,
    p_tox: float | None = None,
) -> MtdSelection:
    """Select the MTD from final per-level counts (BOIN's isotonic rule, see module doc).

    ``bound_mtd`` keeps only levels whose isotonic estimate is below the de-escalation
    boundary lambda_d (computed from ``p_tox``, default 1.4 * target).
    """
    from earlyphase.design.boin import boin_lambdas

    target = check_probability("target", target)
    n_arr, y_arr = check_counts(n, dlt)
    lam_d = None
    if bound_mtd:
        _, lam_d = boin_lambdas(target, p_tox=p_tox)
    mtd, iso = select_mtd_many(
        n_arr[None], y_arr[None], target, cutoff_eli=cutoff_eli, extrasafe=extrasafe, offset=offset,
        bound_mtd=bound_mtd, lambda_d=lam_d,
    )
    elim = elimination_flags(n_arr, y_arr, target, cutoff_eli)
    est = tuple(None if not np.isfinite(v) else float(v) for v in iso[0])
    return MtdSelection(
        target=target,
        mtd=None if mtd[0] == NO_MTD else int(mtd[0]) + 1,
        isotonic_estimates=est,
        eliminated=levels_1based(elim),
        n=tuple(int(v) for v in n_arr),
        dlt=tuple(int(v) for v in y_arr),
    )
