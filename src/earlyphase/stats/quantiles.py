"""Quantiles of a step survival curve, following R's ``quantile.survfit`` (survival 3.x).

The p-quantile is the first time the curve reaches 1 - p. When the curve sits exactly at 1 - p on a
flat step (within ``sqrt(machine eps)``), the quantile is the midpoint of that step: for events at
times 1, 2, 3, 4 the median is 2.5. The confidence limits are the times at which the lower and upper
confidence curves reach 1 - p. A quantile that is never reached is NaN.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))


def find_quantile(x: np.ndarray, y: np.ndarray, p: float, tol: float = TOLERANCE) -> float:
    """R's ``survival:::findq`` for one probability.

    ``x``: times, starting with the curve's start (0); ``y``: 1 - S at those times, starting with 0,
    NaN where undefined (a confidence limit R reports as NA).
    """
    finite = ~np.isnan(y)
    if not finite.any() or np.max(y[finite]) < p:
        return float("nan")
    xmax = x[-1]
    # R's duplicated(): keep the first occurrence of each value (all NaNs count as one value).
    _, first = np.unique(y, return_index=True)
    first.sort()
    if np.isnan(y).any():
        nan_first = int(np.flatnonzero(np.isnan(y))[0])
        first = np.union1d(first[~np.isnan(y[first])], [nan_first])
    xk = x[first]
    yk = y[first]
    ok = ~np.isnan(yk)
    pos = np.flatnonzero(ok)
    order = np.argsort(yk[ok], kind="stable")
    knots = yk[ok][order]
    idx = pos[order]

    def approx_index(shift: float) -> float:
        # approx(y + shift, 1:n, p, method = "constant", f = 1): the knot at or just above p.
        k = knots + shift
        if p < k[0] or p > k[-1]:
            return -1
        j = int(np.searchsorted(k, p, side="left"))
        return int(idx[j])

    i1 = approx_index(tol)
    i2 = approx_index(-tol)
    quant = (xk[i1] + xk[i2]) / 2.0 if (i1 >= 0 and i2 >= 0) else float("nan")
    if p == 0:
        quant = xk[0]
    ylast = yk[-1]
    if not np.isnan(ylast) and abs(p - ylast) < tol:
        quant = (xk[i1] + xmax) / 2.0 if i1 >= 0 else float("nan")
    return float(quant)


def curve_quantile(
    time: np.ndarray,
    surv: np.ndarray,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    p: float,
    start: float = 0.0,
) -> tuple[float, float, float]:
    """(quantile, lower limit, upper limit) of a survival curve at probability ``p`` (0.5 = median).

    ``time``/``surv``/``lower``/``upper`` are the curve at each distinct exit time (events and
    censorings), as R's survfit object.
    """
    x = np.concatenate([[start], time])
    q = find_quantile(x, np.concatenate([[0.0], 1.0 - surv]), p)
    if lower is None or upper is None:
        return q, float("nan"), float("nan")
    ql = find_quantile(x, np.concatenate([[0.0], 1.0 - lower]), p)
    qu = find_quantile(x, np.concatenate([[0.0], 1.0 - upper]), p)
    return q, ql, qu


MEDIAN_RULES = ("quantile", "print")


def _print_rule(time: np.ndarray, y: np.ndarray, tol: float = TOLERANCE) -> float:
    """R's ``survival:::survmean`` median (``minmin``): the first time the curve is at or below 0.5;
    when it sits exactly at 0.5 there and drops below later, the midpoint to the time it drops."""
    keep = ~np.isnan(y) & (y < 0.5 + tol)
    if not keep.any():
        return float("nan")
    x = time[keep]
    yy = y[keep]
    below = np.flatnonzero(yy < yy[0])
    if abs(yy[0] - 0.5) < tol and below.shape[0]:
        return float((x[0] + x[below[0]]) / 2.0)
    return float(x[0])


def print_median(time: np.ndarray, surv: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float, float, float]:
    """(median, lower, upper) as ``print.survfit`` and ``summary(fit)$table`` report them.

    Differs from :func:`curve_quantile` only for a curve that ends exactly at 0.5: print.survfit
    gives the first time at 0.5, quantile.survfit the midpoint between it and the last time.
    """
    return _print_rule(time, surv), _print_rule(time, lower), _print_rule(time, upper)
