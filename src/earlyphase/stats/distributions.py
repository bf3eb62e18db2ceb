"""The few distribution functions the survival statistics need, without importing scipy.stats.

scipy.stats takes about a second to import, far longer than a small survival analysis itself; these
closed forms cost nothing to load and are exact to rounding:

* ``normal_quantile(level)``: two-sided standard normal quantile (0.95 -> 1.959963984540054), from
  the standard library's ``NormalDist`` (Wichura's AS 241 algorithm, ~1e-16 relative).
* ``normal_sf(z)``: upper tail of the standard normal, erfc(z / sqrt 2) / 2.
* ``chi2_sf(x, df)``: upper tail of the chi-square distribution for a whole number of degrees of
  freedom, the regularized upper incomplete gamma Q(df/2, x/2) by its finite sums (Abramowitz &
  Stegun 6.5.13 and 26.4.4-26.4.5): for even df, exp(-h) sum_{j<df/2} h^j / j!; for odd df,
  erfc(sqrt h) + exp(-h) sum_{j<(df-1)/2} h^(j+1/2) / Gamma(j+3/2), with h = x/2. Every term is
  positive, so no accuracy is lost to cancellation; terms are summed in logs so nothing underflows
  early.
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["normal_quantile", "normal_sf", "normal_ppf", "chi2_sf"]

_STANDARD = NormalDist()


def normal_ppf(p: float) -> float:
    """Standard normal quantile at probability ``p`` (0 < p < 1)."""
    return _STANDARD.inv_cdf(p)


def normal_quantile(conf_level: float) -> float:
    """Two-sided standard normal quantile for ``conf_level`` (0.95 -> 1.959963984540054)."""
    return _STANDARD.inv_cdf(1.0 - (1.0 - conf_level) / 2.0)


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X chi-square with ``df`` (a whole number >= 1) degrees of freedom; NaN for NaN."""
    if x != x:
        return float("nan")
    k = int(df)
    if k != df or k < 1:
        raise ValueError(f"chi2_sf needs a whole number of degrees of freedom >= 1, got {df!r}")
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    h = x / 2.0
    log_h = math.log(h)
    if k % 2 == 0:
        total = 0.0
        log_term = -h  # j = 0: exp(-h)
        for j in range(k // 2):
            if j:
                log_term += log_h - math.log(j)
            total += math.exp(log_term)
        return min(total, 1.0)
    total = math.erfc(math.sqrt(h))
    log_term = -h + 0.5 * log_h - math.lgamma(1.5)  # j = 0: exp(-h) h^(1/2) / Gamma(3/2)
    for j in range((k - 1) // 2):
        if j:
            log_term += log_h - math.log(j + 0.5)
        total += math.exp(log_term)
    return min(total, 1.0)
