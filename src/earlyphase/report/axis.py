"""The time axis of the report's figures: where it ends, its ticks, and whether it cuts off a few long times.

One long survivor should not squeeze every other patient into the first quarter of a plot. By default
("bulk") the axis ends at the first tick after the time up to which at least ``max(2, 10%)`` of the
patients remain at risk; times beyond are not hidden but drawn as arrows with their value, and the
figure says the axis is truncated. "full" shows every time; a number of months fixes the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

BULK_FRACTION = 0.10  # the axis keeps going while at least this share of patients is at risk ...
BULK_MIN_AT_RISK = 2  # ... and at least this many
# truncating buys little when the longest time is close to the bulk's end: show everything then
WORTH_TRUNCATING = 1.25


@dataclass(frozen=True)
class TimeAxis:
    """A time axis in months: it runs from 0 to ``end`` with ``ticks``; ``truncated`` when times lie beyond."""

    end: float
    ticks: tuple[float, ...]
    truncated: bool
    longest: float  # the longest time in the data (months)
    rule: str  # how the end was chosen, for the figure's note

    def beyond(self, t: float) -> bool:
        return self.truncated and t > self.end

    def short_note(self, n_beyond: int) -> str:
        """The figure's own mark of the cut, short enough for one line ('' when not truncated)."""
        if not self.truncated:
            return ""
        who = "1 patient" if n_beyond == 1 else f"{n_beyond} patients"
        return f"Time axis truncated at {self.end:g} months: {who} followed longer (→ with the time)."

    def note(self, n_beyond: int) -> str:
        """One sentence saying the axis is cut, where, and what lies past it ('' when not truncated)."""
        if not self.truncated:
            return ""
        who = "1 patient" if n_beyond == 1 else f"{n_beyond} patients"
        return (f"Time axis truncated at {self.end:g} months ({self.rule}); {who} followed longer "
                f"(up to {self.longest:.1f} months), shown by arrows with their times.")


def nice_step(max_time: float, target_ticks: int = 10) -> float:
    """A readable tick step in months (1, 2, 3, 6, 12, 24, ...) giving about ``target_ticks`` ticks."""
    for step in (0.5, 1, 2, 3, 6, 12, 24, 36, 48, 60):
        if max_time / step <= target_ticks:
            return float(step)
    return float(12 * math.ceil(max_time / (12 * target_ticks)))


def _ticks_to(end: float) -> tuple[float, tuple[float, ...]]:
    """(axis end on a tick at or after ``end``, the ticks from 0)."""
    end = max(float(end), 1e-9)
    step = nice_step(end)
    n = math.ceil(end / step - 1e-9)
    return n * step, tuple(i * step for i in range(n + 1))


def bulk_end(times: Sequence[float], fraction: float = BULK_FRACTION, min_at_risk: int = BULK_MIN_AT_RISK) -> float:
    """The last time at which at least max(``min_at_risk``, ceil(``fraction`` * n)) patients are at risk.

    With #(T >= t) patients at risk at t, that is the k-th longest time.
    """
    ordered = sorted((float(t) for t in times), reverse=True)
    if not ordered:
        return 1.0
    k = min(len(ordered), max(min_at_risk, math.ceil(fraction * len(ordered))))
    return ordered[k - 1]


def choose_time_axis(times: Sequence[float], setting: str | float | None = "bulk") -> TimeAxis:
    """The axis for ``times`` (months). ``setting``: "bulk" (default), "full", or the end in months."""
    values = [float(t) for t in times]
    longest = max(values) if values else 1.0
    if setting is None:
        setting = "bulk"
    if isinstance(setting, str) and setting not in ("bulk", "full"):
        raise ValueError(f"time axis must be 'bulk', 'full' or a number of months, not {setting!r}")
    if setting == "full" or not values:
        end, ticks = _ticks_to(longest if values else 1.0)
        return TimeAxis(end, ticks, False, longest, "every time shown")
    if not isinstance(setting, str):
        if not setting > 0:
            raise ValueError(f"time axis end must be a positive number of months, not {setting!r}")
        end, ticks = _ticks_to(float(setting))
        end = float(setting) if any(abs(float(setting) - t) < 1e-9 for t in ticks) else end
        return TimeAxis(end, ticks, longest > end, longest, f"set to {float(setting):g} months")
    k = max(BULK_MIN_AT_RISK, math.ceil(BULK_FRACTION * len(values)))
    end, ticks = _ticks_to(bulk_end(values))
    beyond = sum(1 for t in values if t > end)
    # cut only for a few long times: in a trial of three patients, one is a third of the data, not an outlier
    if longest <= WORTH_TRUNCATING * end or beyond > BULK_FRACTION * len(values):
        end, ticks = _ticks_to(longest)
        return TimeAxis(end, ticks, False, longest, "every time shown")
    return TimeAxis(end, ticks, True, longest,
                    f"the first tick after the last time with at least {k} patients at risk")
