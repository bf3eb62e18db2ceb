"""Risk sets: the one table every survival estimate and test is computed from.

A :class:`RiskSet` holds, for each stratum and each distinct exit time (event or censoring) in it,
and for every group: the number at risk just before that time, the number of events and the number
censored at it. Rows are the distinct times of each stratum in order (strata one after another);
columns are the groups. Kaplan–Meier, Nelson–Aalen, the log-rank family and RMST read only this
table, so a risk set reduced elsewhere (for example by a database ``GROUP BY`` over data larger
than memory, see :meth:`RiskSet.from_counts`) gives the same answers as the raw rows.

Construction is one sort. Without case weights the sort key packs the event flag into the time: a
non-negative float64 keeps its order when its bits are read as an unsigned integer and its sign bit
is always zero, so ``(bits << 1) | event`` is a lossless key whose plain ``np.sort`` orders by time
and puts censorings before events at tied times. With groups, subjects are first partitioned by
group (a radix pass), each group's keys are sorted, and the sorted runs are merged.

Times are in the caller's unit. Left truncation (delayed entry): a subject is at risk at time t
when ``entry < t <= exit``, as R's ``Surv(entry, exit, event)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.validation import (
    check_entry,
    check_labels,
    check_time_event,
    check_weights,
)

__all__ = ["RiskSet", "build_risk_set"]

_ONE = np.uint64(1)


@dataclass(frozen=True, eq=False)
class RiskSet:
    """Counts per stratum × distinct exit time (rows) × group (columns).

    ``time`` (m,): distinct exit times, ascending within each stratum, strata one after another;
    ``stratum_offsets`` (strata + 1,): first row of each stratum; ``n_risk``, ``n_event``,
    ``n_censor`` (m, groups) int64: at risk just before the time, events and censorings at it
    (weighted by integer case weights when given). ``present`` (m, groups) marks the times at which
    a group has records (needed only when zero case weights are present; otherwise None and a group
    is present where it has an exit). ``n_subjects`` (strata, groups).
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    stratum_offsets: np.ndarray
    group_levels: tuple[str, ...]
    strata_levels: tuple[str, ...]
    n_subjects: np.ndarray
    left_truncated: bool = False
    present: np.ndarray | None = None
    n_omitted: int = 0
    notes: tuple[str, ...] = ()
    group_order: str = "text"

    @property
    def groups_ordered(self) -> bool:
        """Whether the group order means something (numbers, explicit levels, ordered categorical)."""
        from earlyphase.stats.labels import ORDERED_KINDS

        return self.group_order in ORDERED_KINDS

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_counts(
        cls,
        time: Any,
        n_event: Any,
        n_censor: Any,
        group: Any = None,
        strata: Any = None,
        *,
        levels: Any = None,
        timefix: bool = True,
        n_omitted: int = 0,
    ) -> "RiskSet":
        """Build from pre-aggregated rows (stratum, group, time, events, censorings), in any order.

        ``n_event`` / ``n_censor`` are whole-number counts at ``time``; rows for the same cell and
        time are added. Right-censored data only. This is what ``GROUP BY stratum, group, time``
        over a huge table returns. ``levels``/``timefix`` as :func:`build_risk_set`; ``n_omitted``:
        rows the caller left out for missing values (reported with the results).
        """
        t = np.asarray(time, dtype=np.float64)
        d = check_weights(n_event, t.shape[0], "n_event")
        c = check_weights(n_censor, t.shape[0], "n_censor")
        tt, _ = check_time_event(t, np.zeros(t.shape[0], dtype=np.int8), "time", "event")
        time2 = np.concatenate([tt, tt])
        event2 = np.concatenate([np.ones(tt.shape[0], np.int8), np.zeros(tt.shape[0], np.int8)])
        w2 = np.concatenate([d, c])
        keep = w2 > 0
        g2 = None if group is None else np.concatenate([np.asarray(group, dtype=object)] * 2)[keep]
        s2 = None if strata is None else np.concatenate([np.asarray(strata, dtype=object)] * 2)[keep]
        rs = build_risk_set(time2[keep], event2[keep], group=g2, strata=s2, weights=w2[keep], levels=levels,
                            timefix=timefix, _keep_zero_rows=False)
        if n_omitted:
            from dataclasses import replace

            rs = replace(rs, n_omitted=int(n_omitted))
        return rs

    # ---------------------------------------------------------------- access
    @property
    def n_groups(self) -> int:
        return len(self.group_levels)

    @property
    def n_strata(self) -> int:
        return len(self.strata_levels)

    def wide(self, stratum: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(time (m,), n_risk (m, k), n_event (m, k), n_censor (m, k))`` of one stratum."""
        lo, hi = int(self.stratum_offsets[stratum]), int(self.stratum_offsets[stratum + 1])
        return self.time[lo:hi], self.n_risk[lo:hi], self.n_event[lo:hi], self.n_censor[lo:hi]

    def cell(self, group: int = 0, stratum: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(time, n_risk, n_event, n_censor) at the exit times of one group in one stratum."""
        lo, hi = int(self.stratum_offsets[stratum]), int(self.stratum_offsets[stratum + 1])
        r = self.n_risk[lo:hi, group]
        d = self.n_event[lo:hi, group]
        c = self.n_censor[lo:hi, group]
        t = self.time[lo:hi]
        if self.present is not None:
            mask = self.present[lo:hi, group]
        elif self.n_groups == 1:
            return t, r, d, c
        else:
            mask = (d + c) > 0
        return t[mask], r[mask], d[mask], c[mask]

    # ---------------------------------------------------------------- output
    def _long(self) -> dict[str, list]:
        cols: dict[str, list] = {k: [] for k in ("stratum", "group", "time", "n_risk", "n_event", "n_censor")}
        for s, slab in enumerate(self.strata_levels):
            for g, glab in enumerate(self.group_levels):
                t, r, d, c = self.cell(g, s)
                cols["stratum"] += [slab] * len(t)
                cols["group"] += [glab] * len(t)
                cols["time"] += t.tolist()
                cols["n_risk"] += r.tolist()
                cols["n_event"] += d.tolist()
                cols["n_censor"] += c.tolist()
        return cols

    def to_dict(self) -> dict[str, Any]:
        cols = self._long()
        keys = list(cols)
        return {
            "group_levels": list(self.group_levels),
            "strata_levels": list(self.strata_levels),
            "rows": [dict(zip(keys, vals)) for vals in zip(*(cols[k] for k in keys))],
        }

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self._long())

    def summary(self) -> str:
        return self.to_frame().to_string(index=False)

    def __str__(self) -> str:
        return f"RiskSet({len(self.time)} times, groups={list(self.group_levels)}, strata={list(self.strata_levels)})"


# -------------------------------------------------------------------- building


def _sort_key(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Lossless uint64 key: time bits shifted left once, event flag in the lowest bit."""
    # The shift drops the sign bit, which only -0.0 sets among valid times: -0.0 and 0.0 become one key.
    key = time.view(np.uint64) << _ONE
    np.bitwise_or(key, event.view(np.uint8), out=key, casting="unsafe")
    return key


def _single_cell(key: np.ndarray):
    """Sorted keys of one group -> distinct times, events, censorings, number at risk.

    Consumes ``key``: it is shifted in place and its memory becomes the time array.
    """
    n = key.shape[0]
    small = np.int32 if n < 2**31 - 1 else np.int64
    ev = (key & _ONE).astype(small)
    key >>= _ONE
    newt = np.empty(n, dtype=bool)
    newt[0] = True
    np.not_equal(key[1:], key[:-1], out=newt[1:])
    if newt.all():  # no tied times (continuous data): one subject per time
        del newt
        utime = key.view(np.float64)
        d = ev
        c = 1 - d
        risk = np.arange(n, 0, -1, dtype=small)
    else:
        starts = np.flatnonzero(newt)
        del newt
        utime = key[starts].view(np.float64)
        d = np.add.reduceat(ev, starts, dtype=small)
        cnt = np.diff(starts, append=n).astype(small)
        c = cnt - d
        risk = (n - starts).astype(small)
    return utime, d, c, risk


def _merged_counts(key: np.ndarray, gl: np.ndarray | None, k: int, w: np.ndarray | None):
    """Globally sorted keys (with group labels and weights) -> (time, D (m,k), C (m,k), raw rows (m,k) or None)."""
    n = key.shape[0]
    tb = key >> _ONE
    newt = np.empty(n, dtype=bool)
    newt[0] = True
    np.not_equal(tb[1:], tb[:-1], out=newt[1:])
    utime = tb[newt].view(np.float64)
    del tb
    m = utime.shape[0]
    idx = np.cumsum(newt, dtype=np.int64)
    del newt
    idx -= 1
    if k > 1:
        # group-major layout: each group's counts are one contiguous row of a (k, m) array
        idx += gl * m
    # Censorings in the first m*k bins, events in the next m*k.
    ev = (key & _ONE).view(np.int64)
    ev *= m * k
    idx += ev
    del ev
    if w is None:
        counts = np.bincount(idx, minlength=2 * m * k)
        rows = None
    else:
        counts = np.rint(np.bincount(idx, weights=w, minlength=2 * m * k)).astype(np.int64)
        rows = np.bincount(idx % (m * k), minlength=m * k).reshape(k, m).T
    C = counts[: m * k].reshape(k, m).T
    D = counts[m * k:].reshape(k, m).T
    return utime, D, C, rows


def _at_risk(D: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Number at risk just before each time: exits at or after it (total minus exits before).

    Works along axis 0 of (m, k) arrays; fastest when they are transposed views of (k, m) arrays.
    """
    exits = (D.T + C.T)  # (k, m), contiguous when D, C are transposed views
    before = np.cumsum(exits, axis=1)
    total = before[:, -1:].copy()
    before -= exits
    np.subtract(total, before, out=before)
    return before.T


def _packed_keys(t, e, gcodes, k, scodes, s):
    """One uint64 key per subject holding [stratum | time rank bits | group | event], or None.

    Non-negative float64 times keep their order as unsigned integers; shifting positive times down
    by the smallest positive time's bits (zero stays zero) usually frees enough high bits for the
    group and stratum codes, so one plain ``np.sort`` orders subjects by stratum, time, group and
    event. Returns None when the times span too wide a range for the codes to fit (then the caller
    sorts each group separately and merges).
    """
    key = (t + 0.0).view(np.uint64)  # a fresh array: t + 0.0 copies (and turns -0.0 into 0.0)
    lowest = int(key.min())
    if lowest > 0:
        has_zero = False
        minpos = lowest
    else:
        positive = key > 0
        if not positive.any():
            return None
        has_zero = True
        minpos = int(key[positive].min())
        del positive
    span = int(key.max()) - minpos + 2
    tbits = span.bit_length()
    gbits = max(int(k - 1).bit_length(), 0)
    sbits = max(int(s - 1).bit_length(), 0)
    if tbits + gbits + sbits + 1 > 64:
        return None
    # In place from here on (memory and speed at 10^7 rows): every step is one pass, no temporaries.
    if has_zero:
        zero = key == 0
    key -= np.uint64(minpos - 1)  # positive times become 1, 2, ...
    if has_zero:
        key[zero] = 0
        del zero
    if scodes is not None and sbits:
        key |= scodes.view(np.uint64) << np.uint64(tbits) if scodes.dtype == np.int64 else scodes.astype(np.uint64) << np.uint64(tbits)
    if gbits:
        key <<= np.uint64(gbits)
        g_u = gcodes.view(np.uint64) if gcodes.dtype == np.int64 else gcodes.astype(np.uint64)
        np.bitwise_or(key, g_u, out=key)
    key <<= _ONE
    np.bitwise_or(key, e.view(np.uint8), out=key, casting="unsafe")
    shift = gbits + 1
    return key, shift, tbits


def merged_keys_by_stratum(t: np.ndarray, e: np.ndarray, gcodes: np.ndarray | None, k: int, scodes: np.ndarray | None, s: int):
    """Yield, per stratum, ``(sorted keys, time_shift, group labels or None, group sizes)`` — validated input.

    Keys sort by time then group then event; ``key >> time_shift`` is equal exactly when times are
    equal; the event flag is ``key & 1``. Group labels are ``(key >> 1) & (2**gbits - 1)`` when
    None is yielded. Usually one ``np.sort`` of packed keys (see ``_packed_keys``); otherwise each
    group is sorted and the sorted runs are merged. Temporary memory is one or two keys per subject.
    """
    n_cells = k * s
    packed = _packed_keys(t, e, gcodes, k, scodes, s)
    if packed is not None:
        key, shift, tbits = packed
        key.sort()
        if scodes is None:
            cell_counts = np.bincount(gcodes, minlength=k) if gcodes is not None else np.array([t.shape[0]])
            bounds = [0, t.shape[0]]
        else:
            cell_counts = np.bincount(scodes * k + (gcodes if gcodes is not None else 0), minlength=n_cells)
            per_stratum = cell_counts.reshape(s, k).sum(axis=1)
            bounds = np.concatenate([[0], np.cumsum(per_stratum)])
        for si in range(s):
            lo, hi = int(bounds[si]), int(bounds[si + 1])
            if hi > lo:
                yield key[lo:hi], shift, None, cell_counts[si * k:(si + 1) * k].astype(np.int64)
        return
    key = _sort_key(t, e)
    if n_cells > 1:
        if scodes is None:
            codes = gcodes
        elif gcodes is None:
            codes = scodes
        else:
            codes = scodes * k + gcodes
        small = codes.astype(np.uint8) if n_cells <= 255 else codes.astype(np.uint16 if n_cells <= 65535 else np.int64)
        del codes
        counts = np.bincount(small, minlength=n_cells)
        order = np.argsort(small, kind="stable")
        del small
        key = key[order]
        del order
    else:
        counts = np.array([t.shape[0]])
    bounds = np.concatenate([[0], np.cumsum(counts)])
    label_dtype = np.uint8 if k <= 255 else np.uint16
    for si in range(s):
        for j in range(si * k, (si + 1) * k):
            key[bounds[j]:bounds[j + 1]].sort()
        lo, hi = int(bounds[si * k]), int(bounds[(si + 1) * k])
        sizes = counts[si * k:(si + 1) * k].astype(np.int64)
        if hi == lo:
            continue
        block = key[lo:hi]
        if k == 1:
            yield block, 1, np.zeros(hi - lo, label_dtype), sizes
            continue
        perm = np.argsort(block, kind="stable")  # k sorted runs: a merge
        gl = np.repeat(np.arange(k, dtype=label_dtype), sizes)[perm]
        merged = block[perm]
        del perm
        yield merged, 1, gl, sizes
        del merged, gl


def build_risk_set(
    time: Any,
    event: Any,
    group: Any = None,
    strata: Any = None,
    entry: Any = None,
    weights: Any = None,
    *,
    levels: Any = None,
    event_value: Any = None,
    na_action: str = "fail",
    timefix: bool = True,
    name_time: str = "time",
    name_event: str = "event",
    _keep_zero_rows: bool = True,
) -> RiskSet:
    """Build a :class:`RiskSet` from one row per subject.

    ``time``: exit time (>= 0, caller's unit); ``event``: 1 event, 0 censored (see ``event_value``);
    ``group`` / ``strata``: labels, levels ordered as R's factor (``levels`` sets the group order,
    first = reference; see :mod:`earlyphase.stats.labels`); ``entry``: delayed-entry time (< exit),
    or None; ``weights``: integer case weights (>= 0), or None. A subject with weight 0 still
    contributes its time as a row (as R), with nothing happening at it. ``event_value``,
    ``na_action`` ("fail" or "omit") and ``timefix`` follow R, see :mod:`earlyphase.stats.cases`.
    """
    from earlyphase.stats.cases import prepare_cases

    cases = prepare_cases(time, event, {"group": group, "strata": strata, "entry": entry, "weights": weights},
                          event_value=event_value, na_action=na_action, timefix=timefix,
                          name_time=name_time, name_event=name_event)
    with cases.input_rows():
        rs = _build(cases.time, cases.event, cases.columns["group"], cases.columns["strata"], cases.columns["entry"],
                    cases.columns["weights"], levels, name_time, name_event, _keep_zero_rows)
    if cases.n_omitted or cases.notes:
        from dataclasses import replace

        rs = replace(rs, n_omitted=cases.n_omitted, notes=rs.notes + cases.notes)
    return rs


def _build(time, event, group, strata, entry, weights, levels, name_time, name_event, _keep_zero_rows) -> RiskSet:
    t, e = check_time_event(time, event, name_time, name_event)
    n = t.shape[0]
    group_order = "text"
    if group is None:
        gcodes, glevels = None, ["all"]
    else:
        from earlyphase.stats.labels import encode_labels

        lv = encode_labels(group, n, "group", levels=levels)
        gcodes, glevels, group_order = lv.codes, lv.labels, lv.kind
    if strata is None:
        scodes, slevels = None, ["all"]
    else:
        scodes, slevels = check_labels(strata, n, "strata")
    x = check_entry(entry, t, "entry")
    w = check_weights(weights, n, "weights")
    k, s = len(glevels), len(slevels)
    n_cells = k * s
    if n_cells == 1:
        codes = None
    else:
        codes = (gcodes if gcodes is not None else 0) + (scodes * k if scodes is not None else 0)
        codes = np.asarray(codes, dtype=np.int64)
    cell_counts = np.bincount(codes, minlength=n_cells) if codes is not None else np.array([n])
    if w is None:
        sizes = cell_counts
    else:
        sizes = np.bincount(codes, weights=w, minlength=n_cells).astype(np.int64) if codes is not None else np.array([int(w.sum())])
    if (cell_counts.reshape(s, k).sum(axis=0) == 0).any():
        empty = [glevels[j] for j in np.flatnonzero(cell_counts.reshape(s, k).sum(axis=0) == 0)]
        raise InputError.single("group", empty[0], "non-empty", f"group {empty[0]!r} has no subjects.")

    key = _sort_key(t, e)
    times_out, R_out, D_out, C_out, P_out, offsets = [], [], [], [], [], [0]
    if w is None and x is None:
        # Fast path: partition by cell (radix), sort each cell, merge the runs within each stratum.
        if codes is not None:
            small = codes.astype(np.uint8) if n_cells <= 255 else codes.astype(np.uint16 if n_cells <= 65535 else np.int64)
            order = np.argsort(small, kind="stable")
            del small
            key = key[order]
            del order
        bounds = np.concatenate([[0], np.cumsum(cell_counts)])
        for j in range(n_cells):
            key[bounds[j]:bounds[j + 1]].sort()
        for si in range(s):
            lo, hi = int(bounds[si * k]), int(bounds[(si + 1) * k])
            block = key[lo:hi]
            if hi == lo:
                offsets.append(offsets[-1])
                continue
            if k == 1:
                ut, d, c, risk = _single_cell(block)
                times_out.append(ut)
                D_out.append(d.reshape(-1, 1))
                C_out.append(c.reshape(-1, 1))
                R_out.append(risk.reshape(-1, 1))
            else:
                perm = np.argsort(block, kind="stable")  # k sorted runs: a merge
                gl = np.repeat(np.arange(k, dtype=np.int64), cell_counts[si * k:(si + 1) * k])[perm]
                merged = block[perm]
                del perm
                ut, D, C, _ = _merged_counts(merged, gl, k, None)
                del merged, gl
                times_out.append(ut)
                D_out.append(D)
                C_out.append(C)
                R_out.append(_at_risk(D, C))
            offsets.append(offsets[-1] + times_out[-1].shape[0])
        present = None
    else:
        # General path (case weights and/or delayed entry): one lexicographic sort.
        scode = scodes if scodes is not None else np.zeros(n, np.int64)
        order = np.lexsort((key, scode))
        keys_sorted = key[order]
        s_sorted = scode[order]
        g_sorted = gcodes[order] if gcodes is not None else None
        w_sorted = w[order] if w is not None else None
        sb = np.concatenate([[0], np.cumsum(np.bincount(s_sorted, minlength=s))])
        any_rows = []
        for si in range(s):
            lo, hi = int(sb[si]), int(sb[si + 1])
            if hi == lo:
                offsets.append(offsets[-1])
                continue
            ut, D, C, rows = _merged_counts(
                keys_sorted[lo:hi], None if g_sorted is None else g_sorted[lo:hi], k,
                None if w_sorted is None else w_sorted[lo:hi].astype(np.float64),
            )
            R = _at_risk(D, C)
            if x is not None:
                in_s = scode == si
                for g in range(k):
                    sel = in_s if gcodes is None else (in_s & (gcodes == g))
                    ent = x[sel]
                    eo = np.argsort(ent, kind="stable")
                    es = ent[eo]
                    if w is None:
                        late = es.shape[0] - np.searchsorted(es, ut, side="left")
                    else:
                        wc = np.concatenate([[0], np.cumsum(w[sel][eo])])
                        late = wc[-1] - wc[np.searchsorted(es, ut, side="left")]
                    R[:, g] -= late
            if rows is None:
                rows = (D + C) > 0
            any_rows.append(rows > 0)
            times_out.append(ut)
            D_out.append(D)
            C_out.append(C)
            R_out.append(R)
            offsets.append(offsets[-1] + ut.shape[0])
        present = np.concatenate(any_rows) if (w is not None and _keep_zero_rows) else None

    def cat(parts, dt, shape1):
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.zeros((0,) + shape1, dt)

    return RiskSet(
        time=cat(times_out, np.float64, ()),
        n_risk=cat(R_out, np.int64, (k,)),
        n_event=cat(D_out, np.int64, (k,)),
        n_censor=cat(C_out, np.int64, (k,)),
        stratum_offsets=np.asarray(offsets, dtype=np.int64),
        group_levels=tuple(glevels),
        strata_levels=tuple(slevels),
        n_subjects=np.asarray(sizes, dtype=np.int64).reshape(s, k),
        left_truncated=x is not None,
        present=present,
        group_order=group_order,
    )
