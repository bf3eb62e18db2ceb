"""Round trip: simulate two arms, draw their curves as a digitiser reads a figure, rebuild, compare with the truth.

The measures, per simulated trial:

* ``median_error``: |rebuilt − true| Kaplan–Meier median, per arm (time units; NaN when either is not reached);
* ``hr_error``: |log HR rebuilt − log HR true| of the Cox model of arm B against arm A;
* ``curve_gap``: the largest |S_rebuilt − S_true| half-way between consecutive event times of the true curve
  (the level of each step, not the instant of a jump that the digitiser's rounding moves), both arms;
  ``curve_gap_10``: the same while at least 10 patients are at risk (a tail of 3 patients moves in steps of 1/3).

``scripts/validate_external.py`` runs many repetitions and writes the figures into docs/external.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from earlyphase.external.digitise import digitise_km
from earlyphase.external.reconstruct import reconstruct_ipd
from earlyphase.stats import kaplan_meier

__all__ = ["CENSORING_PATTERNS", "simulate_arm", "round_trip", "RoundTrip"]

# Censoring patterns (times in months, exponential event times):
#   administrative: staggered entry over 24 months, analysis at 36 (follow-up uniform 12-36);
#   dropout: administrative plus random loss to follow-up (rate 1/40 per month);
#   heavy_early: administrative plus early loss (rate 1/8 per month);
#   none: every patient followed to the event (capped at 60 months).
CENSORING_PATTERNS = ("administrative", "dropout", "heavy_early", "none")


def simulate_arm(rng: np.random.Generator, n: int, median: float, censoring: str) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) of ``n`` patients with exponential survival of the given median and a censoring pattern."""
    t = rng.exponential(median / np.log(2), n)
    if censoring == "none":
        c = np.full(n, 60.0)
    else:
        c = rng.uniform(12.0, 36.0, n)
        if censoring == "dropout":
            c = np.minimum(c, rng.exponential(40.0, n))
        elif censoring == "heavy_early":
            c = np.minimum(c, rng.exponential(8.0, n))
        elif censoring != "administrative":
            raise ValueError(f"unknown censoring pattern {censoring!r}")
    time = np.minimum(t, c)
    return np.maximum(time, 0.01), (t <= c).astype(int)


@dataclass(frozen=True)
class RoundTrip:
    median_error: tuple[float, float]
    hr_error: float
    curve_gap: float
    curve_gap_10: float
    events_error: int


def _curve(time, event):
    km = kaplan_meier(time, event)
    return km[km.groups[0]]


def _step_level_gap(true_curve, rebuilt_curve, min_at_risk: int = 0) -> float:
    jumps = true_curve.time[true_curve.n_event > 0]
    if len(jumps) < 2:
        return 0.0
    mid = np.append((jumps[:-1] + jumps[1:]) / 2, jumps[-1] + 1e-9)
    mid = mid[mid <= true_curve.last_time]
    at = true_curve.at(mid, extend=True)
    keep = at["n_risk"] >= min_at_risk
    if not keep.any():
        return 0.0
    s1 = rebuilt_curve.at(mid[keep], extend=True)["survival"]
    return float(np.nanmax(np.abs(at["survival"][keep] - s1)))


def _log_hr(time_a, event_a, time_b, event_b) -> float:
    from earlyphase.stats import cox_ph

    time = np.concatenate([time_a, time_b])
    event = np.concatenate([event_a, event_b])
    arm = np.concatenate([np.zeros(len(time_a)), np.ones(len(time_b))])
    fit = cox_ph(time, event, {"arm": arm}, concordance=False, zph=False)
    return float(fit.coef[0])


def round_trip(rng: np.random.Generator, n: int, censoring: str, *, risk_every: float = 3.0,
               hazard_ratio: float = 0.7, median_a: float = 10.0, time_resolution: float = 0.08,
               survival_resolution: float = 0.0025) -> RoundTrip:
    """One simulated two-arm trial of ``n`` patients per arm, digitised, rebuilt and compared.

    Defaults: a 0–40 month axis of 500 pixels (0.08 months) by a 0–1 axis of 400 pixels (0.0025).
    """
    arms = []
    for median in (median_a, median_a / hazard_ratio):
        time, event = simulate_arm(rng, n, median, censoring)
        curve, table = digitise_km(time, event, risk_every=risk_every, time_resolution=time_resolution,
                                   survival_resolution=survival_resolution)
        rebuilt = reconstruct_ipd(curve, table)
        arms.append((time, event, rebuilt))
    med_err, gaps, gaps10, ev_err = [], [], [], 0
    for time, event, rebuilt in arms:
        c0, c1 = _curve(time, event), _curve(rebuilt.time, rebuilt.event)
        m0, m1 = c0.median[0], c1.median[0]
        med_err.append(abs(m1 - m0) if np.isfinite(m0) and np.isfinite(m1) else float("nan"))
        gaps.append(_step_level_gap(c0, c1))
        gaps10.append(_step_level_gap(c0, c1, min_at_risk=10))
        ev_err = max(ev_err, abs(int(event.sum()) - rebuilt.events))
    (ta, ea, ra), (tb, eb, rb) = arms
    hr_err = abs(_log_hr(ra.time, ra.event, rb.time, rb.event) - _log_hr(ta, ea, tb, eb))
    return RoundTrip(median_error=(med_err[0], med_err[1]), hr_error=hr_err, curve_gap=max(gaps), curve_gap_10=max(gaps10),
                     events_error=ev_err)
