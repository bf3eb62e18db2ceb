"""The two inputs of a reconstruction, checked and cleaned: a digitised curve and its numbers-at-risk table.

A digitiser's clicks are noisy: points come in click order, a point on a flat stretch can sit a pixel above
the one before it, and times sit a little either side of the risk table's times. That noise is cleaned
(points sorted, small rises flattened, a point put at every table time). What cannot come from a survival
curve is refused with a message naming the row: survival outside [0, 1], a rise larger than the digitiser's
noise (``rise_tolerance``), negative times, a risk table whose times do not increase or whose numbers rise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError, Problem

__all__ = ["DigitisedCurve", "RiskTable", "clean_curve", "DEFAULT_RISE_TOLERANCE"]

# A digitiser clicking the same flat stretch twice is off by a pixel or two: on a 500-pixel axis that is
# well under 0.02. A larger rise is a different curve (or a mis-read axis), not noise.
DEFAULT_RISE_TOLERANCE = 0.02


def _as_float_array(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError.single(name, str(values)[:60], "numeric", f"{name} must be numbers") from None
    return arr


@dataclass(frozen=True, eq=False)
class DigitisedCurve:
    """Digitised points of one Kaplan–Meier curve: ``time`` (the figure's unit) and ``survival`` (0–1).

    Build it with :meth:`from_points`, which checks the values; the arrays are as given (not yet cleaned).
    """

    time: np.ndarray
    survival: np.ndarray
    source: str | None = None

    @classmethod
    def from_points(cls, time: Sequence[float], survival: Sequence[float], *, scale: str = "proportion",
                    source: str | None = None) -> "DigitisedCurve":
        """Check and build. ``scale``: ``"proportion"`` (0–1) or ``"percent"`` (0–100)."""
        t = _as_float_array(time, "time")
        s = _as_float_array(survival, "survival")
        if scale not in ("proportion", "percent"):
            raise InputError.single("scale", scale, "choice", "scale must be 'proportion' or 'percent'")
        problems: list[Problem] = []
        if len(t) != len(s):
            problems.append(Problem("survival", len(s), "same_length",
                                    f"time has {len(t)} values but survival has {len(s)}", file=source))
        elif len(t) < 2:
            problems.append(Problem("time", len(t), "min_points",
                                    "a curve needs at least 2 digitised points", file=source))
        if problems:
            raise InputError(problems)
        if scale == "percent":
            s = s / 100.0
        top = 100.0 if scale == "percent" else 1.0
        for i in range(len(t)):
            if not np.isfinite(t[i]):
                problems.append(Problem("time", t[i], "finite", "time must be a number", file=source, row=i + 1))
            elif t[i] < 0:
                problems.append(Problem("time", t[i], "non_negative", "time cannot be negative", file=source, row=i + 1))
            if not np.isfinite(s[i]):
                problems.append(Problem("survival", s[i], "finite", "survival must be a number", file=source, row=i + 1))
            # A hair outside [0, 1] is the digitiser's pixel; more is a wrong axis or scale.
            elif s[i] < -0.01 or s[i] > 1.01:
                problems.append(Problem("survival", s[i] * top, "range",
                                        f"survival must lie between 0 and {top:g} on the {scale} scale",
                                        file=source, row=i + 1))
            if len(problems) >= 20:
                break
        if problems:
            raise InputError(problems)
        return cls(time=t, survival=np.clip(s, 0.0, 1.0), source=source)


@dataclass(frozen=True, eq=False)
class RiskTable:
    """A published numbers-at-risk table: ``time`` (strictly increasing, the first 0) and ``n_risk`` (never rising)."""

    time: np.ndarray
    n_risk: np.ndarray
    source: str | None = None

    @classmethod
    def from_rows(cls, time: Sequence[float], n_risk: Sequence[float], *, source: str | None = None) -> "RiskTable":
        t = _as_float_array(time, "at_risk_time")
        n = _as_float_array(n_risk, "n_risk")
        problems: list[Problem] = []
        if len(t) != len(n):
            raise InputError.single("n_risk", len(n), "same_length",
                                    f"the risk table has {len(t)} times but {len(n)} numbers at risk", file=source)
        if len(t) == 0:
            raise InputError.single("at_risk_time", 0, "min_rows", "the risk table has no rows", file=source)
        for i in range(len(t)):
            row = i + 1
            if not np.isfinite(t[i]) or t[i] < 0:
                problems.append(Problem("at_risk_time", t[i], "non_negative", "times must be numbers >= 0",
                                        file=source, row=row))
            elif i > 0 and np.isfinite(t[i - 1]) and t[i] <= t[i - 1]:
                problems.append(Problem("at_risk_time", t[i], "increasing",
                                        f"times must increase down the table (row {row - 1} has {t[i - 1]:g})",
                                        file=source, row=row))
            if not np.isfinite(n[i]) or n[i] < 0 or n[i] != np.round(n[i]):
                problems.append(Problem("n_risk", n[i], "count", "a number at risk is a whole number >= 0",
                                        file=source, row=row))
            elif i > 0 and np.isfinite(n[i - 1]) and n[i] > n[i - 1]:
                problems.append(Problem("n_risk", n[i], "not_rising",
                                        f"the number at risk cannot rise over time (row {row - 1} has {n[i - 1]:g})",
                                        file=source, row=row))
        if not problems and t[0] != 0:
            problems.append(Problem("at_risk_time", t[0], "starts_at_zero",
                                    "the risk table must start at time 0 (the number of patients in the arm)",
                                    file=source, row=1))
        if not problems and n[0] < 1:
            problems.append(Problem("n_risk", n[0], "positive", "the arm needs at least one patient at time 0",
                                    file=source, row=1))
        if problems:
            raise InputError(problems[:20])
        return cls(time=t, n_risk=n.astype(int), source=source)


def clean_curve(curve: DigitisedCurve, table: RiskTable, *,
                rise_tolerance: float = DEFAULT_RISE_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """Return cleaned ``(time, survival)``: sorted, monotone, starting at (0, 1), with a point at every table time.

    Points are sorted by time (ties: higher survival first, the top of a step before its foot). A rise
    up to ``rise_tolerance`` is flattened (the running minimum); a larger one is refused. Every table time
    up to the last point gets a point carrying the survival of the step it falls on, so each interval of
    the table begins with a point.
    """
    order = np.lexsort((-curve.survival, curve.time))
    t = curve.time[order]
    s = curve.survival[order]
    running_min = np.minimum.accumulate(s)
    rise = s - running_min
    worst = int(np.argmax(rise))
    if rise[worst] > rise_tolerance:
        raise InputError.single(
            "survival", float(s[worst]), "not_rising",
            f"the curve rises by {rise[worst]:.3f} at time {t[worst]:g} (more than the digitiser's noise of "
            f"{rise_tolerance:g}): a survival curve never rises; check the points, or that only one curve "
            f"is in the file", file=curve.source, row=int(order[worst]) + 1)
    s = running_min.copy()
    # The curve starts at (0, 1): a digitiser's first click is rarely exactly there.
    if t[0] == 0:
        s[0] = 1.0
    else:
        t = np.concatenate([[0.0], t])
        s = np.concatenate([[1.0], s])
    extra = [x for x in table.time if x <= t[-1] and not np.any(t == x)]
    if extra:
        extra_t = np.asarray(extra, dtype=float)
        idx = np.searchsorted(t, extra_t, side="right") - 1
        t = np.concatenate([t, extra_t])
        s = np.concatenate([s, s[idx]])
        order = np.lexsort((-s, t))
        t, s = t[order], s[order]
    return t, s
