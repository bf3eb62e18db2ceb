"""Patient-level data rebuilt from a published Kaplan–Meier curve (Guyot et al. 2012, BMC Med Res Methodol 12:9).

The algorithm, as the paper describes it, written here from its description:

1. Between two times of the numbers-at-risk table, the patients who leave the risk set are either events or
   censored. A first guess of the number censored comes from the curve: with S the survival at the two table
   times, ``n_i * S(t_{i+1}) / S(t_i) - n_{i+1}``.
2. Those censorings are spread evenly over the interval. Walking the digitised points, the events at each
   point are what the drop in the curve implies among the patients still at risk:
   ``d_k = round(n_k * (1 - S_k / KM_last))``, with KM_last the rebuilt curve at the last point with events.
3. The rebuilt number at risk at the next table time is compared with the published one; the number censored
   is corrected by the difference, and steps 2–3 repeat until they agree.
4. After the last table time nothing says how many are censored: the censoring rate of the earlier
   intervals is carried on, unless the total number of events is known, in which case the censoring of the
   last interval is adjusted until the total matches. Whoever is still at risk at the last point is
   censored there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError
from earlyphase.external.curve import DEFAULT_RISE_TOLERANCE, DigitisedCurve, RiskTable, clean_curve
from earlyphase.external.fit import FitReport, fit_report

__all__ = ["Reconstruction", "reconstruct_ipd"]

# The censoring count is an integer that moves by the mismatch each round; it settles in a few rounds, or
# cycles between two values when no count matches exactly (the drops then imply one event more or less).
_MAX_ROUNDS = 200


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """Rebuilt patient-level data of one arm: ``time`` (the figure's unit), ``event`` (1 event, 0 censored),
    and the :class:`~earlyphase.external.fit.FitReport` saying how well it reproduces the published curve."""

    arm: str
    time: np.ndarray
    event: np.ndarray
    fit: FitReport

    @property
    def n(self) -> int:
        return int(len(self.time))

    @property
    def events(self) -> int:
        return int(self.event.sum())

    def to_frame(self):
        """One row per patient: ``time``, ``event``, ``arm``."""
        import pandas as pd

        return pd.DataFrame({"time": self.time, "event": self.event.astype(int), "arm": self.arm})

    def to_dict(self, include_ipd: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"arm": self.arm, "n": self.n, "events": self.events, "fit": self.fit.to_dict()}
        if include_ipd:
            out["ipd"] = [{"time": float(t), "event": int(e)} for t, e in zip(self.time, self.event)]
        return out

    def summary(self) -> str:
        return (f"Rebuilt arm {self.arm!r}: {self.n} patients, {self.events} events, "
                f"{self.n - self.events} censored\n" + self.fit.summary())

    def __str__(self) -> str:
        return self.summary()


def reconstruct_ipd(curve: DigitisedCurve, at_risk: RiskTable, *, total_events: int | None = None,
                    arm: str = "external", rise_tolerance: float = DEFAULT_RISE_TOLERANCE) -> Reconstruction:
    """Rebuild (time, event) for every patient of one arm from its digitised curve and risk table.

    ``total_events``: the published number of events, if known (it fixes the censoring after the last
    table time). ``rise_tolerance``: the largest rise between points treated as digitiser noise.
    """
    if not isinstance(curve, DigitisedCurve):
        raise InputError.single("curve", type(curve).__name__, "type", "pass a DigitisedCurve (DigitisedCurve.from_points"
                                "(time, survival) or earlyphase.external.readers.read_curve_csv)")
    if not isinstance(at_risk, RiskTable):
        raise InputError.single("at_risk", type(at_risk).__name__, "type", "pass a RiskTable (RiskTable.from_rows"
                                "(time, n_risk) or earlyphase.external.readers.read_risk_table_csv)")
    if isinstance(rise_tolerance, bool) or not isinstance(rise_tolerance, (int, float)) or not (0 <= rise_tolerance < 1):
        raise InputError.single("rise_tolerance", rise_tolerance, "range", "rise_tolerance is a proportion from 0 to below 1")
    if total_events is not None:
        import numbers

        if (isinstance(total_events, bool) or not isinstance(total_events, numbers.Real)
                or not np.isfinite(total_events) or int(total_events) != total_events
                or not (0 <= total_events <= int(at_risk.n_risk[0]))):
            raise InputError.single("total_events", total_events, "range",
                                    f"the total number of events must be a whole number from 0 to the "
                                    f"{int(at_risk.n_risk[0])} patients at time 0")
        total_events = int(total_events)
    t, s = clean_curve(curve, at_risk, rise_tolerance=rise_tolerance)
    used = at_risk.time <= t[-1]
    table_t = at_risk.time[used]
    table_n = at_risk.n_risk[used].astype(int)
    events, early, cens_times = _rebuild(t, s, table_t, table_n, total_events)
    n0 = int(table_n[0])
    # Events read as just before a table time are put a hundredth of the shortest table interval before it,
    # or half-way to the point before when that is closer (the order of the steps is kept).
    t_event = t.copy()
    if early.any():
        gap = np.diff(table_t).min() if len(table_t) > 1 else 1.0
        idx = np.nonzero(early)[0]
        prev = t[np.maximum(np.searchsorted(t, t[idx], side="left") - 1, 0)]
        moved = t[idx] - 0.01 * gap
        t_event[idx] = np.where(moved > prev, moved, (prev + t[idx]) / 2)
    ev_times = np.repeat(t_event, events)
    still_at_risk = n0 - len(ev_times) - len(cens_times)
    time = np.concatenate([ev_times, np.asarray(cens_times, dtype=float), np.full(still_at_risk, t[-1])])
    event = np.concatenate([np.ones(len(ev_times), dtype=int), np.zeros(n0 - len(ev_times), dtype=int)])
    order = np.lexsort((1 - event, time))
    time, event = time[order], event[order]
    fit = fit_report(curve, t, s, time, event, at_risk, total_events,
                     unused_table_times=at_risk.time[~used])
    return Reconstruction(arm=arm, time=time, event=event, fit=fit)


def _rebuild(t: np.ndarray, s: np.ndarray, table_t: np.ndarray, table_n: np.ndarray,
             total_events: int | None) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Events at every point, which points' events came just before a table time, and the censoring times."""
    m = len(table_t)
    lower = np.searchsorted(t, table_t, side="left")
    at_table_end = np.searchsorted(t, table_t, side="right") - 1  # the last point at each table time
    events = np.zeros(len(t), dtype=int)
    early = np.zeros(len(t), dtype=bool)
    cens_times: list[float] = []
    km_last = 1.0
    n_start = int(table_n[0])
    censored_so_far = 0
    lo = 0
    for i in range(m):
        start_t = table_t[i]
        last_interval = i == m - 1
        first = i == 0
        if not last_interval:
            end_t = table_t[i + 1]
            target = int(table_n[i + 1])

            def mismatch(n_end, d, target=target):
                return n_end - target

            hi = int(lower[i + 1]) - 1
            s_end = s[int(lower[i + 1])]
            ratio = s_end / s[lo] if s[lo] > 0 else 1.0
            result = _settle(t, s, lo, hi, start_t, end_t, n_start, km_last,
                             int(round(n_start * ratio - target)), mismatch, first)
            # A digitiser rounds times: a step drawn exactly at the next table time may have happened just
            # before it (the published number at risk then already excludes it). Take that reading when it
            # explains the table exactly without any censoring where the other needs some, and the next
            # interval still has points of its own.
            hi_b = int(at_table_end[i + 1])
            nxt_hi = int(lower[i + 2]) - 1 if i + 2 < m else len(t) - 1
            if hi_b > hi and hi_b < nxt_hi:
                alt = _settle(t, s, lo, hi_b, start_t, end_t, n_start, km_last,
                              int(round(n_start * (s[hi_b] / s[lo] if s[lo] > 0 else 1.0) - target)),
                              mismatch, first)
                if mismatch(alt[3], alt[0]) == 0 and len(alt[1]) == 0 and len(result[1]) > 0:
                    result, hi = alt, hi_b
                    early[int(lower[i + 1]):hi_b + 1] = True
        else:
            hi = len(t) - 1
            end_t = t[-1]
            guess = 0
            if i > 0 and table_t[i] > table_t[0]:
                # After the last table time nothing counts the censored: carry on the rate seen so far.
                rate = censored_so_far / (table_t[i] - table_t[0])
                guess = min(int(round(rate * (end_t - start_t))), n_start)
            if total_events is None:
                result = _last_interval(t, s, lo, hi, start_t, end_t, n_start, km_last, max(guess, 0), first)
            else:
                before = int(events.sum())
                result = _settle(t, s, lo, hi, start_t, end_t, n_start, km_last, guess,
                                 lambda n_end, d: before + int(d.sum()) - total_events, first)
        d, c, km_end, n_end, _ = result
        events[lo:hi + 1] = d
        cens_times.extend(c)
        censored_so_far += len(c)
        km_last = km_end
        # Carry the rebuilt count (equal to the published one once settled), so every patient is kept.
        n_start = int(n_end)
        lo = hi + 1
    return events, early, cens_times


def _last_interval(t, s, lo, hi, start_t, end_t, n_start, km_last, guess, first):
    """The last interval without a published total: how many are censored is unknown, so the drops decide.

    The carried-on censoring rate gives the most censorings to consider; of 0..that many, the one whose
    rebuilt curve lies closest to the digitised points of the interval wins (the most censorings on a tie):
    too many censorings leave too few at risk and turn a small drop into a large one.
    """
    best = None
    for ncens in range(guess, -1, -1):
        result = _walk(t, s, lo, hi, start_t, end_t, n_start, km_last, ncens, first)
        if best is None or result[4] < best[0] - 1e-9:
            best = (result[4], result)
    return best[1]


def _settle(t, s, lo, hi, start_t, end_t, n_start, km_last, guess, mismatch, first):
    """Repeat the walk, correcting the number censored by the mismatch, until it is 0 (or cannot improve).

    ``mismatch(n_end, d)`` > 0 means too few left the risk set as censored (more censoring needed).
    """
    tried: dict[int, tuple[int, tuple]] = {}
    ncens = min(max(guess, 0), n_start)
    for _ in range(_MAX_ROUNDS):
        result = _walk(t, s, lo, hi, start_t, end_t, n_start, km_last, ncens, first)
        miss = mismatch(result[3], result[0])
        tried[ncens] = (miss, result)
        if miss == 0:
            return result
        nxt = min(max(ncens + miss, 0), n_start)
        if nxt in tried:
            break
        ncens = nxt
    # No count matches exactly: keep the one that came closest (fewest censored on a tie).
    best = min(tried, key=lambda k: (abs(tried[k][0]), k))
    return tried[best][1]


def _walk(t, s, lo, hi, start_t, end_t, n_start, km_last, ncens, first):
    """One pass over the points lo..hi with ``ncens`` censorings spread evenly over [start_t, end_t).

    Returns (events per point, censoring times, rebuilt curve at the last event, number left at end_t,
    summed |rebuilt - digitised| survival over the points).
    """
    if ncens > 0:
        cens = start_t + np.arange(1, ncens + 1) * (end_t - start_t) / (ncens + 1)
    else:
        cens = np.empty(0)
    # Censorings that fall in [t_k, t_{k+1}) leave after the events at t_k.
    bounds = np.append(t[lo + 1:hi + 1], np.inf)
    per_point = np.bincount(np.searchsorted(bounds, cens, side="right"), minlength=hi - lo + 1)[:hi - lo + 1]
    d = np.zeros(hi - lo + 1, dtype=int)
    kept: list[float] = []
    n = n_start
    km = km_last
    pos = 0
    gap = 0.0
    for j in range(hi - lo + 1):
        k = lo + j
        if not (first and j == 0) and n > 0 and km > 0:
            dk = min(max(int(round(n * (1.0 - s[k] / km))), 0), n)
            if dk:
                km *= 1.0 - dk / n
                d[j] = dk
                n -= dk
        ck = int(per_point[j])
        # Never censor more patients than remain: the surplus censorings are dropped.
        take = min(ck, n)
        kept.extend(float(c) for c in cens[pos:pos + take])
        pos += ck
        n -= take
        gap += abs(km - s[k])
    return d, kept, km, n, gap
