"""What the twin must reproduce: the published medians and log-rank P values of the seed trial.

Source: the published abstract (J Transl Med 2026, doi 10.1186/s12967-026-07725-x, NCT02399735):
18 patients (groups A/B/C/D n = 3/5/6/4) enrolled 2014-12-31..2017-03-29; median PFS 4.8 months
overall (A 1.6, B 2.5, C 5.5, D 7.5; 4-group log-rank P = 0.0008); median OS 17.7 months
(A 12.6, B 16.1, C 18.4, D 31.3; log-rank P = 0.0403); maximum follow-up 9 years.

Also here: the two small survival computations the twin's generator needs while it searches
(Kaplan-Meier median the way R's ``survival`` reports it, and the k-sample log-rank test).
They are private to the generator, which must run thousands of candidate data sets quickly;
the tests check the loaded twin with ``earlyphase.stats`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

GROUP_SIZES: dict[str, int] = {"A": 3, "B": 5, "C": 6, "D": 4}
ENROLMENT_FIRST = date(2014, 12, 31)
ENROLMENT_LAST = date(2017, 3, 29)
MAX_FOLLOW_UP_YEARS = 9

# Published medians in months (days / 30.4375), time from first infusion.
PUBLISHED_PFS_MONTHS: dict[str, float] = {"overall": 4.8, "A": 1.6, "B": 2.5, "C": 5.5, "D": 7.5}
PUBLISHED_OS_MONTHS: dict[str, float] = {"overall": 17.7, "A": 12.6, "B": 16.1, "C": 18.4, "D": 31.3}
PUBLISHED_PFS_LOGRANK_P = 0.0008
PUBLISHED_OS_LOGRANK_P = 0.0403

# How close the twin must come (the acceptance rule).
MEDIAN_TOLERANCE_MONTHS = 0.05
P_VALUE_FACTOR = 1.4


@dataclass(frozen=True)
class Targets:
    """Published values of one endpoint: medians in months by group (and 'overall'), and the P value."""

    endpoint: str
    medians_months: dict[str, float]
    logrank_p: float


PFS = Targets("PFS", PUBLISHED_PFS_MONTHS, PUBLISHED_PFS_LOGRANK_P)
OS = Targets("OS", PUBLISHED_OS_MONTHS, PUBLISHED_OS_LOGRANK_P)


def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan-Meier median (same unit as ``time``) as R's ``survival`` prints it.

    The median is the first time the curve drops below 0.5; when the curve sits exactly at 0.5
    on a step, it is the midpoint between that step's time and the next event time. NaN when
    the curve never reaches 0.5.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    order = np.argsort(time, kind="stable")
    time, event = time[order], event[order]
    uniq = np.unique(time[event])
    s = 1.0
    for i, t in enumerate(uniq):
        at_risk = int(np.sum(time >= t))
        d = int(np.sum((time == t) & event))
        s *= 1.0 - d / at_risk
        if abs(s - 0.5) < 1e-9:
            return float((t + uniq[i + 1]) / 2) if i + 1 < len(uniq) else float(t)
        if s < 0.5:
            return float(t)
    return math.nan


def logrank_p(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> float:
    """P value of the k-sample log-rank test (chi-square on k-1 df), as ``survdiff`` gives it."""
    from scipy.stats import chi2

    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    group = np.asarray(group)
    levels = sorted(set(group.tolist()))
    k = len(levels)
    g_index = np.array([levels.index(g) for g in group])
    o_minus_e = np.zeros(k)
    var = np.zeros((k, k))
    for t in np.unique(time[event]):
        at_risk = time >= t
        n = at_risk.sum()
        d = int(np.sum((time == t) & event))
        n_g = np.bincount(g_index[at_risk], minlength=k).astype(float)
        d_g = np.bincount(g_index[(time == t) & event], minlength=k).astype(float)
        o_minus_e += d_g - d * n_g / n
        if n > 1:
            factor = d * (n - d) / (n * n * (n - 1))
            var += factor * (np.diag(n_g) * n - np.outer(n_g, n_g))
    u = o_minus_e[:-1]
    v = var[:-1, :-1]
    stat = float(u @ np.linalg.solve(v, u))
    return float(chi2.sf(stat, k - 1))
