"""Risk sets: the one table every survival estimate and test is computed from.

A :class:`RiskSet` holds, for each stratum × group × distinct exit time (event or censoring),
the number at risk just before that time, the number of events and the number censored at it.
Rows are sorted by (stratum, group, time). Everything downstream (Kaplan–Meier, Nelson–Aalen,
log-rank family, RMST) reads only this table, so a risk set reduced elsewhere (for example by a
database ``GROUP BY`` over data larger than memory, see :meth:`RiskSet.from_counts`) gives the
same answers as the raw rows.

Construction sorts each stratum × group cell once. Without weights the sort key packs the event
flag into the time: a non-negative float64 keeps its order when its bits are read as an unsigned
integer, and its sign bit is always zero, so ``(bits << 1) | event`` is a lossless key whose plain
``np.sort`` orders by time and puts censorings before events at tied times.

Times are in the caller's unit. Left truncation (delayed entry): a subject is at risk at time t
when ``entry < t <= exit``, as R's ``Surv(entry, exit, event)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.validation import (
    check_entry,
    check_labels,
    check_same_length,
    check_time_event,
    check_weights,
)

__all__ = ["RiskSet", "build_risk_set"]

_ONE = np.uint64(1)


@dataclass(frozen=True, eq=False)
class RiskSet:
    """Counts per stratum × group × distinct exit time.

    Attributes (all 1-d arrays of equal length, rows sorted by stratum, group, time):
    ``stratum`` and ``group`` (int codes into ``strata_levels`` / ``group_levels``), ``time``
    (float64, caller's unit), ``n_risk`` (at risk just before ``time``), ``n_event``, ``n_censor``
    (int64 counts; weighted when case weights were given). ``n_subjects`` (strata × groups) holds
    each cell's size. ``left_truncated`` records whether entry times were used.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    stratum: np.ndarray
    group: np.ndarray
    group_levels: tuple[str, ...]
    strata_levels: tuple[str, ...]
    n_subjects: np.ndarray
    left_truncated: bool = False
    max_time: np.ndarray = field(default=None)  # (strata, groups) last exit time per cell

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_counts(
        cls,
        time: Any,
        n_event: Any,
        n_censor: Any,
        group: Any = None,
        strata: Any = None,
    ) -> "RiskSet":
        """Build from pre-aggregated rows (one per stratum × group × time, in any order).

        ``n_event`` / ``n_censor`` are whole-number counts at ``time``; rows for the same cell and
        time are added. Right-censored data only (no entry times): the number at risk is the
        number of exits at or after each time. This is what ``GROUP BY stratum, group, time`` over
        a huge table returns.
        """
        t = np.asarray(time, dtype=np.float64)
        d = check_weights(n_event, t.shape[0], "n_event")
        c = check_weights(n_censor, t.shape[0], "n_censor")
        tt, _ = check_time_event(t, np.zeros(t.shape[0], dtype=np.int8), "time", "event")
        # Two weighted pseudo-rows per input row: the events and the censorings at that time.
        time2 = np.concatenate([tt, tt])
        event2 = np.concatenate([np.ones(tt.shape[0], np.int8), np.zeros(tt.shape[0], np.int8)])
        w2 = np.concatenate([d, c])
        g2 = None if group is None else np.concatenate([np.asarray(group)] * 2)
        s2 = None if strata is None else np.concatenate([np.asarray(strata)] * 2)
        keep = w2 > 0
        rs = build_risk_set(
            time2[keep], event2[keep],
            group=None if g2 is None else g2[keep],
            strata=None if s2 is None else s2[keep],
            weights=w2[keep],
        )
        return rs

    # ---------------------------------------------------------------- access
    @property
    def n_groups(self) -> int:
        return len(self.group_levels)

    @property
    def n_strata(self) -> int:
        return len(self.strata_levels)

    def cell(self, group: int = 0, stratum: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(time, n_risk, n_event, n_censor) rows of one stratum × group cell."""
        lo, hi = self._cell_bounds(group, stratum)
        return self.time[lo:hi], self.n_risk[lo:hi], self.n_event[lo:hi], self.n_censor[lo:hi]

    def _cell_bounds(self, group: int, stratum: int) -> tuple[int, int]:
        offsets = self.cell_offsets
        j = stratum * self.n_groups + group
        return int(offsets[j]), int(offsets[j + 1])

    @property
    def cell_offsets(self) -> np.ndarray:
        """Start of each stratum × group cell in the row arrays (length strata*groups + 1)."""
        cached = self.__dict__.get("_offsets")
        if cached is None:
            code = self.stratum.astype(np.int64) * self.n_groups + self.group
            counts = np.bincount(code, minlength=self.n_strata * self.n_groups)
            cached = np.concatenate([[0], np.cumsum(counts)])
            object.__setattr__(self, "_offsets", cached)
        return cached

    def wide(self, stratum: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Align all groups of one stratum on the union of their exit times.

        Returns ``(time (m,), n_risk (m, k), n_event (m, k), n_censor (m, k))``. Needs right-censored
        data (the number at risk at a time where a group has no exit is read from its later exits).
        """
        k = self.n_groups
        lo = int(self.cell_offsets[stratum * k])
        hi = int(self.cell_offsets[(stratum + 1) * k])
        t = self.time[lo:hi]
        g = self.group[lo:hi]
        if k == 1:
            order = None
            ts = t
            gs = g
        else:
            # Each group's rows are already sorted: a stable sort merges k sorted runs cheaply.
            order = np.argsort(t, kind="stable")
            ts = t[order]
            gs = g[order]
        m_new = np.empty(ts.shape[0], dtype=bool)
        if ts.shape[0]:
            m_new[0] = True
            np.not_equal(ts[1:], ts[:-1], out=m_new[1:])
        row = np.cumsum(m_new) - 1
        m = int(row[-1]) + 1 if ts.shape[0] else 0
        utime = ts[m_new]
        idx = row * k + gs
        d_src = self.n_event[lo:hi] if order is None else self.n_event[lo:hi][order]
        c_src = self.n_censor[lo:hi] if order is None else self.n_censor[lo:hi][order]
        D = np.zeros(m * k, dtype=np.int64)
        C = np.zeros(m * k, dtype=np.int64)
        D[idx] = d_src
        C[idx] = c_src
        D = D.reshape(m, k)
        C = C.reshape(m, k)
        if self.left_truncated:
            raise InputError.single(
                "entry", "given", "right-censored data",
                "group comparisons on a common time grid need right-censored data; left truncation is not supported here.",
            )
        exits = D + C
        R = np.cumsum(exits[::-1], axis=0)[::-1]
        return utime, R, D, C

    # ---------------------------------------------------------------- output
    def to_dict(self) -> dict[str, Any]:
        return {
            "group_levels": list(self.group_levels),
            "strata_levels": list(self.strata_levels),
            "rows": [
                {
                    "stratum": self.strata_levels[s], "group": self.group_levels[g], "time": float(t),
                    "n_risk": int(r), "n_event": int(d), "n_censor": int(c),
                }
                for s, g, t, r, d, c in zip(
                    self.stratum.tolist(), self.group.tolist(), self.time.tolist(),
                    self.n_risk.tolist(), self.n_event.tolist(), self.n_censor.tolist(),
                )
            ],
        }

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            {
                "stratum": np.asarray(self.strata_levels, dtype=object)[self.stratum],
                "group": np.asarray(self.group_levels, dtype=object)[self.group],
                "time": self.time, "n_risk": self.n_risk, "n_event": self.n_event, "n_censor": self.n_censor,
            }
        )

    def summary(self) -> str:
        return self.to_frame().to_string(index=False)

    def __str__(self) -> str:
        return f"RiskSet({len(self.time)} rows, groups={list(self.group_levels)}, strata={list(self.strata_levels)})"


# -------------------------------------------------------------------- building


def _runs_unweighted(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times, event and censoring counts of one cell (no weights): one np.sort."""
    bits = (time + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0 so the sign bit is clear
    key = (bits << _ONE) | event.astype(np.uint64)
    key.sort()
    tbits = key >> _ONE
    n = key.shape[0]
    if n == 0:
        z = np.zeros(0, np.int64)
        return np.zeros(0), z, z
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(tbits[1:], tbits[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    # Censorings sort before events at a tied time, and the events of the whole cell are the odd keys.
    ev_cum = np.concatenate([[0], np.cumsum(key & _ONE, dtype=np.int64)])
    d = ev_cum[ends] - ev_cum[starts]
    c = (ends - starts) - d
    utime = tbits[starts].view(np.float64)
    return utime, d, c


def _runs_weighted(time: np.ndarray, event: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(time, kind="stable")
    ts = time[order]
    n = ts.shape[0]
    if n == 0:
        z = np.zeros(0, np.int64)
        return np.zeros(0), z, z
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(ts[1:], ts[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    w = weights[order]
    e = event[order].astype(np.int64)
    d = np.add.reduceat(w * e, starts)
    c = np.add.reduceat(w * (1 - e), starts)
    return ts[starts] + 0.0, d, c


def _cell_rows(time, event, weights, entry):
    """Rows (time, n_risk, n_event, n_censor) of one cell."""
    if weights is None:
        ut, d, c = _runs_unweighted(time, event)
    else:
        ut, d, c = _runs_weighted(time, event, weights)
    exits = d + c
    risk = np.cumsum(exits[::-1])[::-1]
    if entry is not None:
        # At risk at t: exit >= t and entry < t; subtract those whose entry is at or after t.
        if weights is None:
            es = np.sort(entry)
            late = es.shape[0] - np.searchsorted(es, ut, side="left")
        else:
            order = np.argsort(entry, kind="stable")
            es = entry[order]
            wcum = np.concatenate([[0], np.cumsum(weights[order])])
            late = wcum[-1] - wcum[np.searchsorted(es, ut, side="left")]
        risk = risk - late
    return ut, risk.astype(np.int64), d.astype(np.int64), c.astype(np.int64)


def _partition(codes: np.ndarray, n_cells: int) -> tuple[np.ndarray | None, np.ndarray]:
    """Order that groups subjects by cell code (stable, radix for small codes) and cell offsets."""
    counts = np.bincount(codes, minlength=n_cells)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    if n_cells == 1:
        return None, offsets
    small = codes.astype(np.uint8) if n_cells <= 255 else (codes.astype(np.uint16) if n_cells <= 65535 else codes)
    return np.argsort(small, kind="stable"), offsets


def build_risk_set(
    time: Any,
    event: Any,
    group: Any = None,
    strata: Any = None,
    entry: Any = None,
    weights: Any = None,
    *,
    name_time: str = "time",
    name_event: str = "event",
    require_groups_nonempty: bool = True,
) -> RiskSet:
    """Build a :class:`RiskSet` from one row per subject.

    ``time``: exit time (>= 0, caller's unit); ``event``: 1 event, 0 censored; ``group`` / ``strata``:
    labels (compared as strings, levels in sorted order); ``entry``: delayed-entry time (< exit),
    or None; ``weights``: integer case weights (>= 0), or None.
    """
    t, e = check_time_event(time, event, name_time, name_event)
    n = t.shape[0]
    if group is None:
        gcodes, glevels = np.zeros(n, np.int64), ["all"]
    else:
        gcodes, glevels = check_labels(group, n, "group")
    if strata is None:
        scodes, slevels = np.zeros(n, np.int64), ["all"]
    else:
        scodes, slevels = check_labels(strata, n, "strata")
    x = check_entry(entry, t, "entry")
    w = check_weights(weights, n, "weights")
    k, s = len(glevels), len(slevels)
    codes = scodes * k + gcodes if (k > 1 or s > 1) else None
    n_cells = k * s
    if codes is None:
        order, offsets = None, np.array([0, n])
    else:
        order, offsets = _partition(codes, n_cells)
    if order is not None:
        t = t[order]
        e = e[order]
        if w is not None:
            w = w[order]
        if x is not None:
            x = x[order]
    if w is None:
        sizes = np.diff(offsets)
    else:
        csum = np.concatenate([[0], np.cumsum(w)])
        sizes = csum[offsets[1:]] - csum[offsets[:-1]]
    out_t, out_r, out_d, out_c, out_s, out_g = [], [], [], [], [], []
    max_time = np.full(n_cells, np.nan)
    for j in range(n_cells):
        lo, hi = int(offsets[j]), int(offsets[j + 1])
        if hi == lo:
            continue
        ut, r, d, c = _cell_rows(
            t[lo:hi], e[lo:hi], None if w is None else w[lo:hi], None if x is None else x[lo:hi]
        )
        out_t.append(ut)
        out_r.append(r)
        out_d.append(d)
        out_c.append(c)
        out_s.append(np.full(ut.shape[0], j // k, np.int32))
        out_g.append(np.full(ut.shape[0], j % k, np.int32))
        max_time[j] = ut[-1]
    cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt))
    return RiskSet(
        time=cat(out_t, np.float64),
        n_risk=cat(out_r, np.int64),
        n_event=cat(out_d, np.int64),
        n_censor=cat(out_c, np.int64),
        stratum=cat(out_s, np.int32),
        group=cat(out_g, np.int32),
        group_levels=tuple(glevels),
        strata_levels=tuple(slevels),
        n_subjects=sizes.reshape(s, k).astype(np.int64),
        left_truncated=x is not None,
        max_time=max_time.reshape(s, k),
    )
