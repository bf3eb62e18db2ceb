"""Harrell's concordance of a risk score with survival, as R's ``coxph`` reports it.

A pair (i, j) is comparable when i has an event at t_i and j is still under observation after
t_i (a later time, or censored at t_i itself). It is concordant when the subject who failed first
has the higher risk score, discordant when lower, tied.x when equal; two events at the same time
are tied.y (tied.xy if the scores are equal too) and not comparable. Each pair counts w_i * w_j.

    C = (concordant + tied.x / 2) / (concordant + discordant + tied.x)

The standard error is the infinitesimal-jackknife one of survival 3.x ``concordancefit`` (the
``std`` printed by ``coxph``): each observation's influence is the weighted number of concordant,
discordant and tied pairs it takes part in, ``dfbeta_k = w_k ((C_k - D_k) - somer (C_k + D_k +
T_k)) / npairs`` and ``var(C) = sum(dfbeta^2) / 4`` (somer = (conc - disc) / npairs).

How it is computed: per stratum, subjects are ordered by (time, events before censored, score);
for every subject the weighted counts of later subjects with a lower / equal score (and of earlier
events with a higher / equal score) come from a bottom-up merge sort done one level at a time for
all blocks at once (vectorised), then pairs of events tied in time are taken back out. O(n log^2 n)
work without Python loops over subjects; the lower merge levels run in cache-sized chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.validation import check_labels, check_same_length, check_time_event

__all__ = ["ConcordanceResult", "concordance_index"]


@dataclass(frozen=True)
class ConcordanceResult:
    """Concordance (higher score = earlier event is concordant), its SE and the weighted pair counts."""

    concordance: float
    std_err: float
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float
    tied_xy: float
    n: int | None = None
    n_omitted: int = 0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"concordance": self.concordance, "std_err": self.std_err, "concordant": self.concordant,
                "discordant": self.discordant, "tied_x": self.tied_x, "tied_y": self.tied_y,
                "tied_xy": self.tied_xy, "n": self.n, "n_omitted": self.n_omitted, "notes": list(self.notes)}

    def summary(self) -> str:
        from earlyphase.stats.cases import omitted_line

        head = "".join(f"{x}\n" for x in [f"n= {self.n}" if self.n is not None else None, omitted_line(self.n_omitted)] if x)
        head += "".join(f"  note: {x}\n" for x in self.notes)
        return head + (f"Concordance= {self.concordance:.4f}  (se = {self.std_err:.4f})\n"
                f"concordant {self.concordant:g}, discordant {self.discordant:g}, tied.x {self.tied_x:g}, "
                f"tied.y {self.tied_y:g}, tied.xy {self.tied_xy:g}")

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


_CHUNK_LEVELS = 14  # merge levels done inside cache-sized chunks of 2**14 subjects


def _merge_levels(rank, w, wl, perm, first, last, stride, distinct, unit, acc):
    """Merge levels ``first``..``last - 1`` of the bottom-up merge sort of ``rank`` (positions 0..m-1).

    ``perm`` lists the elements sorted by (position >> first, rank); on return it is sorted by
    (position >> last, rank). At each level every element of a left block gets the weighted count of
    the right sibling block's elements with a smaller (``acc[0]``) / smaller-or-equal (``acc[1]``) rank,
    and every element of a right block the same counts over the left sibling (``acc[2]``, ``acc[3]``,
    with weights ``wl``). Every pair of positions meets at exactly one level.
    """
    m = rank.shape[0]
    slot = np.arange(m)
    cw = np.arange(m + 1, dtype=np.float64)  # with unit weights a weighted count is a count of slots
    cwl = np.zeros(m + 1)
    r_less, r_leq, l_less, l_leq = acc
    for level in range(first, last):
        if (1 << level) >= m:
            break
        block = slot >> level
        rk = np.take(rank, perm)
        keys = block * stride + rk  # ascending: sorted by (block, rank) at this level
        if not unit:
            np.cumsum(np.take(w, perm), out=cw[1:])
        np.cumsum(np.take(wl, perm), out=cwl[1:])
        sib = block ^ 1
        sib_start = np.minimum(sib << level, m)
        query = sib * stride + rk
        lo = np.searchsorted(keys, query, side="left")
        hi = lo if distinct else np.searchsorted(keys, query, side="right")
        left = (block & 1) == 0
        ids_l = perm[left]
        s_l, lo_l = sib_start[left], lo[left]
        r_less[ids_l] += (lo_l - s_l) if unit else (cw[lo_l] - cw[s_l])
        right = ~left
        ids_r = perm[right]
        s_r, lo_r = sib_start[right], lo[right]
        l_less[ids_r] += cwl[lo_r] - cwl[s_r]
        if not distinct:  # with distinct ranks "<=" counts equal "<" counts: filled in by the caller
            hi_l, hi_r = hi[left], hi[right]
            r_leq[ids_l] += (hi_l - s_l) if unit else (cw[hi_l] - cw[s_l])
            l_leq[ids_r] += cwl[hi_r] - cwl[s_r]
        # merge sibling blocks: a left element goes after the right elements with a smaller rank,
        # a right element after the left elements with a smaller or equal rank (stable)
        own_start = block << level
        before = np.where(left, lo - sib_start, hi - sib_start)
        new_slot = (np.minimum(own_start, sib_start)) + (slot - own_start) + before
        new_perm = np.empty_like(perm)
        new_perm[new_slot] = perm
        perm = new_perm
    return perm


def _later_earlier_counts(rank: np.ndarray, w: np.ndarray, wl: np.ndarray):
    """For each position i (0..m-1) return weighted counts over the other positions:

    r_less[i] = sum_{j>i} w[j] [rank j < rank i],   r_leq[i]: same with <=
    l_less[i] = sum_{j<i} wl[j] [rank j < rank i],  l_leq[i]: same with <=

    The lower merge levels run chunk by chunk (2**14 positions, which stay in cache), the upper
    ones over the whole array.
    """
    m = rank.shape[0]
    acc = [np.zeros(m) for _ in range(4)]
    if m < 2:
        return tuple(acc)
    stride = np.int64(rank.max()) + 2
    ordered = np.sort(rank)
    distinct = not bool(np.any(ordered[1:] == ordered[:-1]))
    unit = bool(np.all(w == 1.0))
    chunk = 1 << _CHUNK_LEVELS
    if m > 2 * chunk:
        perm = np.empty(m, dtype=np.int64)
        for c0 in range(0, m, chunk):
            c1 = min(c0 + chunk, m)
            local = [a[c0:c1] for a in acc]  # views: the chunk's elements are ids c0..c1-1
            sub = _merge_levels(rank[c0:c1], w[c0:c1], wl[c0:c1], np.arange(c1 - c0), 0, _CHUNK_LEVELS,
                                stride, distinct, unit, local)
            perm[c0:c1] = sub + c0
        first = _CHUNK_LEVELS
    else:
        perm = np.arange(m)
        first = 0
    _merge_levels(rank, w, wl, perm, first, 64, stride, distinct, unit, acc)
    if distinct:
        acc[1][:] = acc[0]
        acc[3][:] = acc[2]
    return tuple(acc)


def _segment_sums(values: np.ndarray, seg_start: np.ndarray, seg_end: np.ndarray):
    """Exclusive before/after sums of ``values`` inside each element's segment [start, end)."""
    cw = np.zeros(values.shape[0] + 1)
    np.cumsum(values, out=cw[1:])
    idx = np.arange(values.shape[0])
    before = cw[idx] - cw[seg_start]
    after = cw[seg_end] - cw[idx + 1]
    return before, after


def _segments(keys_change: np.ndarray):
    """Start/end (exclusive) of the run each element belongs to, from a 'new run starts here' mask."""
    starts = np.flatnonzero(keys_change)
    run = np.cumsum(keys_change) - 1
    ends = np.append(starts[1:], keys_change.shape[0])
    return starts[run], ends[run]


def _dense_rank(values: np.ndarray) -> np.ndarray:
    """Ranks 0..k-1 with ties sharing a rank (np.unique's inverse, by one sort: faster than its hashing)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.empty(values.shape[0], dtype=np.int64)
    if new.shape[0]:
        new[0] = 0
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    rank = np.empty(values.shape[0], dtype=np.int64)
    rank[order] = np.cumsum(new)
    return rank


def _stratum_influence(time, event, score, w, entry=None):
    """Per-observation weighted (concordant, discordant, tied.x) pair counts and tied.y/xy totals."""
    m = time.shape[0]
    rank = _dense_rank(score)
    order = np.lexsort((rank, ~event, time))  # time, then events first, then score
    t, d, r, ww = time[order], event[order], rank[order], w[order]
    wd = ww * d
    r_less, r_leq, l_less, l_leq = _later_earlier_counts(r, ww, wd)
    tot_after = np.concatenate([np.cumsum(ww[::-1])[::-1][1:], [0.0]])
    tot_before = np.concatenate([[0.0], np.cumsum(wd)[:-1]])

    # events tied in time: a run of events at one time (events come first within a time)
    change_td = np.ones(m, dtype=bool)
    change_td[1:] = (t[1:] != t[:-1]) | (d[1:] != d[:-1])
    g_start, g_end = _segments(change_td)
    change_tdr = change_td.copy()
    change_tdr[1:] |= r[1:] != r[:-1]
    e_start, e_end = _segments(change_tdr)
    wd_in = np.where(d, ww, 0.0)
    g_before, g_after = _segment_sums(wd_in, g_start, g_end)
    e_before, e_after = _segment_sums(wd_in, e_start, e_end)

    # as the event of a pair (only for events): later comparable subjects
    conc_e = r_less.copy()
    disc_e = (tot_after - r_leq) - np.where(d, g_after - e_after, 0.0)
    tie_e = (r_leq - r_less) - np.where(d, e_after, 0.0)
    # as the later subject of a pair: earlier events with a higher / lower / equal score
    conc_l = tot_before - l_leq
    disc_l = l_less - np.where(d, g_before - e_before, 0.0)
    tie_l = (l_leq - l_less) - np.where(d, e_before, 0.0)

    if entry is not None:
        # delayed entry: j is comparable to the event at t_i only if it entered before t_i; take
        # out the pairs with entry_j >= t_i (all of them sit among the later subjects above)
        en = entry[order]
        ev_pos = np.flatnonzero(d)
        keys = np.concatenate([t[ev_pos], en])
        kind = np.concatenate([np.zeros(ev_pos.shape[0], dtype=np.int8), np.ones(m, dtype=np.int8)])
        ranks = np.concatenate([r[ev_pos], r])
        seq = np.lexsort((kind, keys))  # by value; an event before an entry at the same value
        w_right = np.concatenate([np.zeros(ev_pos.shape[0]), ww])[seq]
        w_left = np.concatenate([ww[ev_pos], np.zeros(m)])[seq]
        rl, rq, ll, lq = _later_earlier_counts(ranks[seq], w_right, w_left)
        after = np.concatenate([np.cumsum(w_right[::-1])[::-1][1:], [0.0]])
        before = np.concatenate([[0.0], np.cumsum(w_left)[:-1]])
        back = np.empty_like(seq)
        back[seq] = np.arange(seq.shape[0])
        ie = back[: ev_pos.shape[0]]  # the events' places in the merged sequence
        conc_e[ev_pos] -= rl[ie]
        tie_e[ev_pos] -= rq[ie] - rl[ie]
        disc_e[ev_pos] -= after[ie] - rq[ie]
        ij = back[ev_pos.shape[0]:]  # every subject's entry
        disc_l -= ll[ij]
        tie_l -= lq[ij] - ll[ij]
        conc_l -= before[ij] - lq[ij]

    infl = np.empty((m, 3))
    infl[:, 0] = np.where(d, conc_e, 0.0) + conc_l
    infl[:, 1] = np.where(d, disc_e, 0.0) + disc_l
    infl[:, 2] = np.where(d, tie_e, 0.0) + tie_l
    totals = np.array([wd @ conc_e, wd @ disc_e, wd @ tie_e])
    # tied.y / tied.xy: pairs of events at the same time (different / equal score)
    pairs_g = (g_before * wd_in).sum()
    pairs_e = (e_before * wd_in).sum()
    out = np.empty_like(infl)
    out[order] = infl
    return out, totals, pairs_g - pairs_e, pairs_e


def _score(score: Any, n: int) -> np.ndarray:
    arr = check_same_length(n, score.to_numpy() if hasattr(score, "to_numpy") else score, "score")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError.single("score", repr(arr[:3].tolist()), "numeric", "the score must hold numbers.") from None


def concordance_index(time: Any, event: Any, score: Any, *, strata: Any = None, weights: Any = None,
                      entry: Any = None, presorted: bool = False, event_value: Any = None, na_action: str = "fail",
                      timefix: bool = True) -> ConcordanceResult:
    """Harrell's C of ``score`` (higher = higher risk) against right-censored ``time``/``event``.

    ``strata``: pairs are formed only within a stratum. ``weights``: case weights (a pair counts
    w_i * w_j). ``entry``: delayed-entry times; a subject is comparable to an event only after it entered.
    Matches ``fit$concordance`` of R's ``coxph`` (concordance and ``std``), and R's
    ``concordance(Surv(time, event) ~ score, reverse = TRUE)``; for R's default orientation (a higher
    value predicts longer survival) pass ``-score``. ``event_value``, ``na_action`` and ``timefix``
    as :mod:`earlyphase.stats.cases`.
    """
    if not presorted:
        from dataclasses import replace

        from earlyphase.stats.cases import prepare_cases

        cases = prepare_cases(time, event, {"score": score, "strata": strata, "weights": weights, "entry": entry},
                              event_value=event_value, na_action=na_action, timefix=timefix)
        c = cases.columns
        with cases.input_rows():
            res = _concordance(cases.time, cases.event, c["score"], strata=c["strata"], weights=c["weights"],
                               entry=c["entry"], presorted=False)
        return replace(res, n=len(cases.time), n_omitted=cases.n_omitted, notes=cases.notes)
    return _concordance(time, event, score, strata=strata, weights=weights, entry=entry, presorted=True)


def _concordance(time, event, score, *, strata, weights, entry, presorted) -> ConcordanceResult:
    if presorted:
        t = np.asarray(time, dtype=np.float64)
        e = np.asarray(event).astype(bool)
    else:
        t, e = check_time_event(time, event)
        e = e.astype(bool)
    n = t.shape[0]
    s = np.asarray(score, dtype=np.float64) if presorted else _score(score, n)
    if not np.isfinite(s).all():
        i = int(np.flatnonzero(~np.isfinite(s))[0])
        raise InputError.single("score", "NaN/inf", "finite", f"the risk score must be finite for every subject (row {i + 1}).",
                                row=i + 1)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if strata is None:
        codes = np.zeros(n, dtype=np.int64)
    elif presorted:
        codes = np.asarray(strata)
    else:
        codes = check_labels(strata, n, "strata")[0]

    if entry is None:
        en = None
    elif presorted:
        en = np.asarray(entry, dtype=np.float64)
    else:
        from earlyphase.stats.validation import check_entry

        en = check_entry(entry, t, "entry")
    influence = np.zeros((n, 3))
    totals = np.zeros(3)
    tied_y = tied_xy = 0.0
    levels = np.unique(codes)
    for code in levels:  # strata are few; everything inside is vectorised
        idx = np.flatnonzero(codes == code) if levels.shape[0] > 1 else np.arange(n)
        infl, tot, ty, txy = _stratum_influence(t[idx], e[idx], s[idx], w[idx],
                                                None if en is None else en[idx])
        influence[idx] = infl
        totals += tot
        tied_y += ty
        tied_xy += txy
    conc, disc, tx = totals
    npair = conc + disc + tx
    if npair == 0:
        return ConcordanceResult(float("nan"), float("nan"), conc, disc, tx, tied_y, tied_xy)
    somer = (conc - disc) / npair
    dfbeta = w * ((influence[:, 0] - influence[:, 1]) / npair - (somer / npair) * influence.sum(axis=1))
    var = float(dfbeta @ dfbeta) / 4
    return ConcordanceResult(
        concordance=float((somer + 1) / 2), std_err=float(np.sqrt(var)),
        concordant=float(conc), discordant=float(disc), tied_x=float(tx),
        tied_y=float(tied_y), tied_xy=float(tied_xy),
    )
