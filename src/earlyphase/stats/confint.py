"""Pointwise confidence limits for a survival curve, as R's ``survival:::survfit_confint``.

``se_log`` is the standard error of log S(t) (Greenwood), as ``survfit()$std.err``. Limits are
NaN where R gives NA: ``log`` at S = 0, ``log-log`` at S = 0 or 1.
"""

from __future__ import annotations

import numpy as np

from earlyphase.stats.distributions import normal_quantile
from earlyphase.stats.validation import check_choice, check_conf_level

CONF_TYPES = ("log-log", "log", "plain")


def survival_confint(surv: np.ndarray, se_log: np.ndarray, conf_type: str, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits of S(t) (arrays like ``surv``)."""
    conf_type = check_choice(conf_type, CONF_TYPES, "conf_type")
    z = normal_quantile(check_conf_level(conf_level))
    p = np.asarray(surv, dtype=np.float64)
    se = np.asarray(se_log, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * p * z
            lower = np.maximum(p - se2, 0.0)
            upper = np.minimum(p + se2, 1.0)
            # R's pmax/pmin keep NaN (0 * Inf at S = 0).
            bad = np.isnan(se2)
            lower[bad] = np.nan
            upper[bad] = np.nan
        elif conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se
            lower = np.exp(np.log(xx) - se2)
            upper = np.minimum(np.exp(np.log(xx) + se2), 1.0)
            upper[np.isnan(xx) | np.isnan(se2)] = np.nan
        else:  # log-log
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            lx = np.log(xx)
            se2 = z * se / lx
            base = np.log(-lx)
            lower = np.exp(-np.exp(base - se2))
            upper = np.exp(-np.exp(base + se2))
    return lower, upper
