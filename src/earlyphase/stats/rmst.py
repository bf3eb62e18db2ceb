"""Restricted mean survival time (RMST) up to tau, as R's ``print(survfit(...), rmean = tau)``.

RMST is the area under the Kaplan–Meier curve from 0 to tau. Its standard error is R's
(``survival:::survmean``): with A_j the area under the curve from event time t_j to tau,
var = sum over event times t_j <= tau of A_j^2 d_j / (n_j (n_j - d_j)) (terms with n_j = d_j are 0).
Confidence limits are rmst ± z se. For two groups (second vs first in sorted order):
difference = rmst_2 - rmst_1 with se sqrt(se_1^2 + se_2^2), and ratio = rmst_2 / rmst_1 with a
log-scale interval, se(log ratio) = sqrt(se_1^2 / rmst_1^2 + se_2^2 / rmst_2^2).

When tau is after a group's last follow-up time the curve is not known there: by default that is
refused; with ``extend=True`` the last value of the curve is carried forward to tau, which is what
R's ``print(fit, rmean = tau)`` always does (the groups extended are listed in ``extended``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.cases import omitted_line
from earlyphase.stats.distributions import normal_quantile, normal_sf
from earlyphase.stats.riskset import RiskSet, build_risk_set
from earlyphase.stats.validation import check_conf_level, check_positive_finite

__all__ = ["RMSTResult", "rmst", "rmst_from_risk_set"]


@dataclass(frozen=True, eq=False)
class RMSTResult:
    """RMST per group (caller's time unit) with SE and CI; difference and ratio for two groups."""

    tau: float
    conf_level: float
    groups: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    difference: dict[str, float] | None = None
    ratio: dict[str, float] | None = None
    extended: tuple[str, ...] = ()
    n_omitted: int = 0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tau": self.tau,
            "conf_level": self.conf_level,
            "groups": [
                {"group": g, "rmst": float(m), "se": float(s), "lower": float(lo), "upper": float(up)}
                for g, m, s, lo, up in zip(self.groups, self.estimate, self.se, self.lower, self.upper)
            ],
            "difference": self.difference,
            "ratio": self.ratio,
            "extended": list(self.extended),
            "n_omitted": self.n_omitted,
            "notes": list(self.notes),
        }

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.to_dict()["groups"])

    def summary(self) -> str:
        pct = f"{self.conf_level * 100:g}%"
        lines = [f"Restricted mean survival time up to tau = {self.tau:g}"]
        lines += [x for x in [omitted_line(self.n_omitted)] if x] + [f"  note: {n}" for n in self.notes]
        if self.extended:
            lines.append(f"  note: tau is after the last follow-up of {', '.join(self.extended)}: the curve's last value "
                         "is carried forward to tau (extend=True, as R's rmean)")
        lines.append(f"{'group':>10} {'rmst':>10} {'se':>10} {pct + ' lower':>11} {pct + ' upper':>11}")
        for g, m, s, lo, up in zip(self.groups, self.estimate, self.se, self.lower, self.upper):
            lines.append(f"{g:>10} {m:>10.4g} {s:>10.4g} {lo:>11.4g} {up:>11.4g}")
        if self.difference:
            d = self.difference
            lines.append(f"difference ({d['label']}): {d['estimate']:.4g} ({d['lower']:.4g}, {d['upper']:.4g}), p = {d['p_value']:.3g}")
        if self.ratio:
            r = self.ratio
            lines.append(f"ratio ({r['label']}): {r['estimate']:.4g} ({r['lower']:.4g}, {r['upper']:.4g}), p = {r['p_value']:.3g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _rmst_curve(t: np.ndarray, r: np.ndarray, d: np.ndarray, tau: float) -> tuple[float, float]:
    rf = r.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(d == 0, 0.0, d / rf)
        hh = np.where(r - d == 0, 0.0, d / (rf * (rf - d)))
    surv = np.cumprod(1.0 - hazard)
    keep = t <= tau
    tt = np.append(t[keep], tau)
    ss = np.append(surv[keep], surv[keep][-1] if keep.any() else 1.0)
    hk = np.append(hh[keep], 0.0)
    delta = np.diff(np.concatenate([[0.0], tt]))
    rect = delta * np.concatenate([[1.0], ss[:-1]])
    mean = float(rect.sum())
    # Area from each exit time to tau, times that time's Greenwood increment (R's survmean).
    tail = np.cumsum(rect[1:][::-1])
    var = float(np.sum(tail ** 2 * hk[::-1][1:]))
    return mean, float(np.sqrt(var))


def rmst_from_risk_set(risk_set: RiskSet, tau: float, conf_level: float = 0.95, extend: bool = False) -> RMSTResult:
    """RMST to ``tau`` for each group of a right-censored :class:`RiskSet` (``extend``: see the module)."""
    tau = check_positive_finite(tau, "tau")
    conf_level = check_conf_level(conf_level)
    if risk_set.n_strata != 1:
        raise InputError.single("strata", list(risk_set.strata_levels), "one stratum", "RMST is per group; combine strata into the group.")
    z = normal_quantile(conf_level)
    est, ses, extended = [], [], []
    for g, label in enumerate(risk_set.group_levels):
        t, r, d, _ = risk_set.cell(g, 0)
        if len(t) == 0:
            raise InputError.single("group", label, "non-empty", f"group {label!r} has no subjects.")
        if tau > t[-1]:
            if not extend:
                raise InputError.single(
                    "tau", tau, f"<= last follow-up time of each group",
                    f"tau ({tau:g}) is beyond the last follow-up time of group {label!r} ({t[-1]:g}); the curve is "
                    f"unknown there. Choose a smaller tau, or extend=True (CLI: --extend) to carry the last value "
                    f"forward as R's rmean does.",
                )
            extended.append(label)
        m, s = _rmst_curve(t, r, d, tau)
        est.append(m)
        ses.append(s)
    est_a = np.array(est)
    se_a = np.array(ses)
    diff = ratio = None
    if len(est) == 2:
        g0, g1 = risk_set.group_levels
        dv = est_a[1] - est_a[0]
        dse = float(np.sqrt(se_a[0] ** 2 + se_a[1] ** 2))
        diff = {
            "label": f"{g1} - {g0}", "estimate": float(dv), "se": dse,
            "lower": float(dv - z * dse), "upper": float(dv + z * dse),
            "p_value": float(2 * normal_sf(abs(dv) / dse)) if dse > 0 else float("nan"),
        }
        lr = float(np.log(est_a[1] / est_a[0]))
        lse = float(np.sqrt((se_a[0] / est_a[0]) ** 2 + (se_a[1] / est_a[1]) ** 2))
        ratio = {
            "label": f"{g1} / {g0}", "estimate": float(np.exp(lr)), "se_log": lse,
            "lower": float(np.exp(lr - z * lse)), "upper": float(np.exp(lr + z * lse)),
            "p_value": float(2 * normal_sf(abs(lr) / lse)) if lse > 0 else float("nan"),
        }
    return RMSTResult(
        tau=tau, conf_level=conf_level, groups=tuple(risk_set.group_levels), estimate=est_a, se=se_a,
        lower=est_a - z * se_a, upper=est_a + z * se_a, difference=diff, ratio=ratio,
        extended=tuple(extended), n_omitted=risk_set.n_omitted, notes=risk_set.notes,
    )


def rmst(time: Any, event: Any, tau: float, group: Any = None, conf_level: float = 0.95, weights: Any = None, *,
         extend: bool = False, levels: Any = None, event_value: Any = None, na_action: str = "fail",
         timefix: bool = True) -> RMSTResult:
    """Restricted mean survival time to ``tau`` (same unit as ``time``) per group.

    Raises :class:`~earlyphase.errors.InputError` when ``tau`` is beyond a group's last follow-up,
    unless ``extend=True`` (R's behaviour: the last value carried forward). ``levels`` orders the
    groups (difference and ratio: second vs first); ``event_value``, ``na_action``, ``timefix`` as
    :mod:`earlyphase.stats.cases`.
    """
    tau = check_positive_finite(tau, "tau")
    rs = build_risk_set(time, event, group=group, weights=weights, levels=levels, event_value=event_value,
                        na_action=na_action, timefix=timefix)
    return rmst_from_risk_set(rs, tau, conf_level, extend)
