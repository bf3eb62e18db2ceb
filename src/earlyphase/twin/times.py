"""Event times of the twin: PFS and OS in days from first infusion, per patient, by group.

How the published numbers are hit exactly (days = months x 30.4375, rounded):

- Each group's median is an order statistic (no censoring before it): n = 3 -> the 2nd time;
  n = 5 -> the 3rd; n = 6 -> midpoint of the 3rd and 4th (the curve sits at exactly 0.5 after the
  3rd event, and R's ``survival`` then reports the midpoint); n = 4 -> midpoint of the 2nd and 3rd.
  Those times are pinned (a pair is pinned by its sum); the others are drawn at random around them.
- The overall median (n = 18, no censoring before it) is the midpoint of the 9th and 10th pooled
  times; after drawing, one free time next to the middle is moved so the pair sums to the target.
- The free times are redrawn (seeded) until both 4-group log-rank P values are within a factor
  ``accept_factor`` of the published ones. The spread of each group around its median is drawn too,
  so the search explores tight and loose groups.
- Every patient's OS exceeds their PFS by at least ``MIN_POST_PROGRESSION_DAYS``; the one patient
  alive at the data cut-off (in group D, the longest-surviving group) is censored for OS after
  every death, so no censoring precedes any median.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from earlyphase.twin.targets import (
    GROUP_SIZES,
    OS,
    PFS,
    Targets,
    km_median,
    logrank_p,
)

DAYS_PER_MONTH = 30.4375
MIN_PFS_DAYS = 28  # earliest progression: a scan brought forward for suspected progression
MIN_OS_DAYS = 150  # every patient completes the regimen alive
MIN_POST_PROGRESSION_DAYS = 45
SURVIVOR_GROUP = "D"


class TwinSearchFailed(RuntimeError):
    """No data set met the targets within the allowed number of draws (try another seed)."""


@dataclass(frozen=True)
class PatientTimes:
    """One synthetic patient's outcome times in days from first infusion."""

    group: str
    pfs_days: int  # progression (every twin patient progresses)
    os_days: int  # death, or last contact when ``alive``
    alive: bool


def _pins(n: int, median_days: float) -> tuple[int, int, int]:
    """(index of the lower pinned order statistic, index of the upper, required sum) (0-based).

    For odd n both indices are the same single order statistic and the sum is twice its value.
    """
    if n % 2 == 1:
        m = (n - 1) // 2
        value = int(round(median_days))
        return m, m, 2 * value
    m = n // 2 - 1
    return m, m + 1, int(round(2 * median_days))


def _draw_group(rng: np.random.Generator, n: int, median_days: float, floor: int, spread_lo: float,
                spread_hi: float) -> list[int] | None:
    lo_i, hi_i, total = _pins(n, median_days)
    if lo_i == hi_i:
        low_pin = high_pin = total // 2
    else:
        # the lower of the pinned pair, strictly below the median, within a few days of it
        max_low = (total - 1) // 2
        low_pin = int(rng.integers(max(floor, max_low - max(2, int(0.12 * median_days))), max_low + 1))
        high_pin = total - low_pin
    below_lo = max(floor, int(spread_lo * median_days))
    above_hi = int(spread_hi * median_days)
    n_below, n_above = lo_i, n - hi_i - 1
    if low_pin - below_lo < n_below or above_hi - high_pin < n_above:
        return None
    below = sorted(rng.choice(np.arange(below_lo, low_pin), size=n_below, replace=False).tolist())
    above = sorted(rng.choice(np.arange(high_pin + 1, above_hi + 1), size=n_above, replace=False).tolist())
    pins = [low_pin] if lo_i == hi_i else [low_pin, high_pin]
    return [int(x) for x in below + pins + above]


def _pinned_positions(n: int) -> set[int]:
    lo_i, hi_i, _ = _pins(n, 1.0)
    return {lo_i, hi_i}


def _fix_overall(times: dict[str, list[int]], overall_days: float, censored: set[tuple[str, int]]) -> bool:
    """Move one free time next to the pooled middle so the 9th and 10th times sum to the target.

    ``censored`` holds (group, position) of censored observations (they must sort after the middle).
    Returns False when no single free time can be moved without changing any group's order.
    """
    entries = sorted((t, g, i) for g, ts in times.items() for i, t in enumerate(ts))
    total = int(round(2 * overall_days))
    n = len(entries)
    k = n // 2 - 1  # 0-based 9th of 18
    if any((g, i) in censored for _, g, i in entries[: k + 2]):
        return False
    t9, t10 = entries[k][0], entries[k + 1][0]
    if t9 + t10 == total:
        return True
    for pos, other in ((k + 1, t9), (k, t10)):
        _, g, i = entries[pos]
        if i in _pinned_positions(len(times[g])):
            continue
        new = total - other
        # the moved time must stay between its pooled neighbours, so the 9th/10th stay the 9th/10th
        lower = entries[k - 1][0] if pos == k else t9
        upper = entries[k + 2][0] if pos == k + 1 else t10
        group_ts = times[g]
        g_lower = group_ts[i - 1] if i > 0 else -math.inf
        g_upper = group_ts[i + 1] if i + 1 < len(group_ts) else math.inf
        if lower < new < upper and g_lower < new < g_upper and new >= 1:
            group_ts[i] = new
            return True
    return False


def _distinct(times: dict[str, list[int]]) -> bool:
    flat = [t for ts in times.values() for t in ts]
    return len(flat) == len(set(flat))


def _arrays(times: dict[str, list[int]], censored: set[tuple[str, int]]):
    t, e, g = [], [], []
    for code, ts in times.items():
        for i, x in enumerate(ts):
            t.append(x)
            e.append((code, i) not in censored)
            g.append(code)
    return np.array(t, float), np.array(e, bool), np.array(g)


def check_times(times: dict[str, list[int]], censored: set[tuple[str, int]], targets: Targets,
                accept_factor: float) -> bool:
    """True when every median is within tolerance and the log-rank P within ``accept_factor``."""
    t, e, g = _arrays(times, censored)
    for code in list(times) + ["overall"]:
        mask = np.ones(len(t), bool) if code == "overall" else (g == code)
        med = km_median(t[mask], e[mask]) / DAYS_PER_MONTH
        if not abs(med - targets.medians_months[code]) < 0.05 - 1e-9:
            return False
    p = logrank_p(t, e, g)
    return targets.logrank_p / accept_factor <= p <= targets.logrank_p * accept_factor


def _search(rng: np.random.Generator, targets: Targets, floor: int, censored: set[tuple[str, int]],
            spread_lo: tuple[float, float], spread_hi: tuple[float, float], accept_factor: float,
            max_draws: int, extra_check=None, censor_days: int | None = None) -> dict[str, list[int]]:
    for _ in range(max_draws):
        times: dict[str, list[int]] = {}
        for code, n in GROUP_SIZES.items():
            drawn = _draw_group(rng, n, targets.medians_months[code] * DAYS_PER_MONTH, floor,
                                float(rng.uniform(*spread_lo)), float(rng.uniform(*spread_hi)))
            if drawn is None:
                break
            times[code] = drawn
        else:
            if censor_days is not None:
                for code, i in censored:
                    times[code][i] = censor_days
            if not _fix_overall(times, targets.medians_months["overall"] * DAYS_PER_MONTH, censored):
                continue
            if not _distinct(times):
                continue
            if extra_check is not None and not extra_check(times):
                continue
            if check_times(times, censored, targets, accept_factor):
                return times
    raise TwinSearchFailed(f"no {targets.endpoint} times met the published values in {max_draws} draws")


def draw_event_times(seed: int, *, survivor_days: int, accept_factor: float = 1.1,
                     max_draws: int = 200_000) -> list[PatientTimes]:
    """PFS and OS days for all 18 patients, in group order (A, B, C, D), ascending within group.

    ``survivor_days`` is the OS censoring time of the patient alive at the cut-off (last contact).
    Raises ``TwinSearchFailed`` if ``max_draws`` candidate sets are exhausted.
    """
    rng = np.random.default_rng(seed)
    pfs = _search(rng, PFS, MIN_PFS_DAYS, set(), (0.45, 0.95), (1.1, 2.6), accept_factor, max_draws)
    survivor = (SURVIVOR_GROUP, GROUP_SIZES[SURVIVOR_GROUP] - 1)

    def os_after_pfs(os_times: dict[str, list[int]]) -> bool:
        # rank-concordant pairing within group: the earlier progressor dies earlier
        return all(o - p >= MIN_POST_PROGRESSION_DAYS for code in os_times
                   for p, o in zip(pfs[code], os_times[code]))

    os_times = _search(rng, OS, MIN_OS_DAYS, {survivor}, (0.4, 0.95), (1.05, 2.2), accept_factor, max_draws,
                       extra_check=os_after_pfs, censor_days=survivor_days)
    out = []
    for code, n in GROUP_SIZES.items():
        for i in range(n):
            out.append(PatientTimes(code, pfs[code][i], os_times[code][i], (code, i) == survivor))
    return out
