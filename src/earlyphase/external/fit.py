"""How well rebuilt patient data reproduce the published curve: the numbers a reader checks first.

The gap at a digitised point is its vertical distance to the rebuilt step function drawn as a plotted curve,
risers included: a point clicked half-way down a vertical step lies on the curve, so it counts 0 there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from earlyphase.external.curve import DigitisedCurve, RiskTable
from earlyphase.stats import kaplan_meier

__all__ = ["FitReport", "fit_report", "step_gaps", "curve_median"]


@dataclass(frozen=True, eq=False)
class FitReport:
    """Rebuilt curve against the published one.

    ``largest_gap``/``mean_gap``: absolute survival gap (0–1) at the digitised points, and the time of the
    largest; ``events``/``published_events``; ``median_digitised`` (first point at or below 0.5) and
    ``median_rebuilt`` with its 95% CI (log-log); ``at_risk``: published and rebuilt numbers at risk
    at each table time; ``unused_table_times``: table times after the last digitised point.
    """

    n_points: int
    largest_gap: float
    largest_gap_time: float
    mean_gap: float
    events: int
    published_events: int | None
    median_digitised: float
    median_rebuilt: float
    median_rebuilt_ci: tuple[float, float]
    at_risk_time: np.ndarray
    at_risk_published: np.ndarray
    at_risk_rebuilt: np.ndarray
    unused_table_times: np.ndarray

    @property
    def largest_at_risk_gap(self) -> int:
        return int(np.max(np.abs(self.at_risk_published - self.at_risk_rebuilt))) if len(self.at_risk_time) else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_points": self.n_points,
            "largest_gap": self.largest_gap,
            "largest_gap_time": self.largest_gap_time,
            "mean_gap": self.mean_gap,
            "events": self.events,
            "published_events": self.published_events,
            "median_digitised": self.median_digitised,
            "median_rebuilt": self.median_rebuilt,
            "median_rebuilt_ci": list(self.median_rebuilt_ci),
            "largest_at_risk_gap": self.largest_at_risk_gap,
            "at_risk": [{"time": float(t), "published": int(p), "rebuilt": int(r)}
                        for t, p, r in zip(self.at_risk_time, self.at_risk_published, self.at_risk_rebuilt)],
            "unused_table_times": [float(x) for x in self.unused_table_times],
        }

    def summary(self) -> str:
        def f(x: float) -> str:
            return "not reached" if not np.isfinite(x) else f"{x:.3g}"

        ev = f"{self.events}" + (f" (published {self.published_events})" if self.published_events is not None else "")
        lines = [
            f"  curve gap at {self.n_points} digitised points: largest {self.largest_gap:.4f} "
            f"(at time {self.largest_gap_time:g}), mean {self.mean_gap:.4f}",
            f"  events: {ev}",
            f"  median: digitised {f(self.median_digitised)}, rebuilt {f(self.median_rebuilt)} "
            f"(95% CI {f(self.median_rebuilt_ci[0])} to {f(self.median_rebuilt_ci[1])})",
            f"  numbers at risk: largest difference from the published table {self.largest_at_risk_gap}",
        ]
        if len(self.unused_table_times):
            lines.append("  table times after the last digitised point, not used: "
                         + ", ".join(f"{x:g}" for x in self.unused_table_times))
        return "\n".join(lines)


def step_gaps(step_time: np.ndarray, step_surv: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Vertical distance from points (x, y) to the right-continuous step function through (step_time, step_surv),
    starting at 1, with its risers: 0 when y lies between S(x-) and S(x)."""
    after = np.searchsorted(step_time, x, side="right") - 1
    before = np.searchsorted(step_time, x, side="left") - 1
    s_at = np.where(after >= 0, step_surv[np.clip(after, 0, None)], 1.0) if len(step_time) else np.ones_like(x)
    s_before = np.where(before >= 0, step_surv[np.clip(before, 0, None)], 1.0) if len(step_time) else np.ones_like(x)
    lo = np.minimum(s_at, s_before)
    hi = np.maximum(s_at, s_before)
    return np.where(y < lo, lo - y, np.where(y > hi, y - hi, 0.0))


def curve_median(time: np.ndarray, surv: np.ndarray) -> float:
    """First time the digitised curve is at or below 0.5; NaN if it never is."""
    hit = np.nonzero(surv <= 0.5)[0]
    return float(time[hit[0]]) if len(hit) else float("nan")


def fit_report(curve: DigitisedCurve, t_clean: np.ndarray, s_clean: np.ndarray, time: np.ndarray,
               event: np.ndarray, at_risk: RiskTable, published_events: int | None,
               unused_table_times: np.ndarray) -> FitReport:
    km = kaplan_meier(time, event)
    c = km[km.groups[0]]
    # Only the points the digitiser gave (sorted, noise flattened), not the ones added at table times.
    order = np.lexsort((-curve.survival, curve.time))
    x = curve.time[order]
    y = np.minimum.accumulate(curve.survival[order])
    gaps = step_gaps(c.time[c.n_event > 0], c.survival[c.n_event > 0], x, y)
    worst = int(np.argmax(gaps))
    med = c.median
    n_risk_rebuilt = np.array([(time >= tt).sum() for tt in at_risk.time], dtype=int)
    return FitReport(
        n_points=int(len(x)),
        largest_gap=float(gaps[worst]),
        largest_gap_time=float(x[worst]),
        mean_gap=float(gaps.mean()),
        events=int(event.sum()),
        published_events=published_events,
        median_digitised=curve_median(t_clean, s_clean),
        median_rebuilt=float(med[0]),
        median_rebuilt_ci=(float(med[1]), float(med[2])),
        at_risk_time=at_risk.time,
        at_risk_published=at_risk.n_risk,
        at_risk_rebuilt=n_risk_rebuilt,
        unused_table_times=np.asarray(unused_table_times, dtype=float),
    )
