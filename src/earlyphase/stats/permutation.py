"""Exact and Monte-Carlo permutation log-rank tests (any weight, trend, strata).

Under the null hypothesis group labels are exchangeable (within strata). The pooled risk set, and
with it the weights and per-time pooled counts, does not change when labels are permuted, so each
subject i carries a fixed score

    a_i = w(T_i) e_i - sum over event times t <= T_i of w(t) d(t) / n(t)

and O - E for group g is the sum of a_i over its members. The hypergeometric variance depends on
how many of each group are at risk at each time, N_g(t) = sum over members of [T_i >= t], which is
one matrix product per batch of permutations. Every permuted statistic is the same quadratic form
as the observed one (generalized inverse via pivoted elimination, which equals R's rule of
dropping groups with no expected events), so p = share of allocations with statistic >= observed.

Full enumeration lists every distinct allocation of the labels (multinomial count); the Monte-Carlo
version draws ``permutations`` random allocations from a seeded generator and reports
p = (b + 1) / (B + 1) with standard error sqrt(p (1 - p) / B).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from math import factorial
from typing import Any, Iterator, Sequence

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.logrank import LogrankResult, _check_scores, _check_weight_args, _weights_for, logrank_test
from earlyphase.stats.validation import check_labels, check_time_event

__all__ = ["permutation_logrank", "count_allocations"]

_REL_TOL = 1e-9  # permuted statistics within this relative distance of the observed count as ties


def count_allocations(sizes: Sequence[int]) -> int:
    """Number of distinct ways to allocate labels with these group sizes: n! / prod(n_g!)."""
    total = factorial(int(sum(sizes)))
    for s in sizes:
        total //= factorial(int(s))
    return total


def _subject_design(t, e, codes, scodes, weights, rho, gamma):
    """Per subject: score a_i; columns per event time: [T_i >= t] * sqrt(c)/n and c/n per subject."""
    n = t.shape[0]
    a = np.zeros(n)
    q = np.zeros(n)  # sum over event times at risk of c(t)/n(t): the diagonal of V per member
    cols = []
    for s in np.unique(scodes):
        idx = np.flatnonzero(scodes == s)
        ts, es = t[idx], e[idx]
        ut = np.unique(ts)
        pos = np.searchsorted(ut, ts)
        d_all = np.bincount(pos, weights=es, minlength=ut.shape[0])
        exits = np.bincount(pos, minlength=ut.shape[0]).astype(np.float64)
        n_risk = np.cumsum(exits[::-1])[::-1]
        evt = d_all > 0
        tt, nn, dd = ut[evt], n_risk[evt], d_all[evt]
        ww, _ = _weights_for(nn, dd, weights, rho, gamma)
        w_all = np.zeros(ut.shape[0])
        w_all[evt] = ww
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(nn > 1, ww * ww * dd * (nn - dd) / (nn - 1.0), 0.0)
        at_risk = ts[:, None] >= tt[None, :]  # (n_s, m_s)
        a[idx] = w_all[pos] * es - at_risk @ (ww * dd / nn)
        q[idx] = at_risk @ (c / nn)
        block = np.zeros((n, tt.shape[0]))
        block[idx] = at_risk * (np.sqrt(c) / nn)[None, :]
        cols.append(block)
    B = np.concatenate(cols, axis=1) if cols else np.zeros((n, 0))
    return a, q, B


def _quadratic_forms(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """U' V^- U for a batch (U: (B, p), V: (B, p, p) symmetric PSD) by elimination; zero pivots skipped."""
    U = U.copy()
    V = V.copy()
    p = U.shape[1]
    out = np.zeros(U.shape[0])
    scale = np.maximum(np.abs(np.diagonal(V, axis1=1, axis2=2)).max(axis=1), 1e-300)
    for j in range(p):
        piv = V[:, j, j]
        ok = piv > 1e-10 * scale
        safe = np.where(ok, piv, 1.0)
        uj = U[:, j]
        out += np.where(ok, uj * uj / safe, 0.0)
        if j + 1 < p:
            f = np.where(ok, 1.0, 0.0)[:, None] * V[:, j + 1:, j] / safe[:, None]  # (B, p-j-1)
            U[:, j + 1:] -= f * uj[:, None]
            V[:, j + 1:, j + 1:] -= f[:, :, None] * V[:, j, j + 1:][:, None, :]
    return out


def _byte_tables(design: np.ndarray) -> np.ndarray:
    """Tables (bytes, 256, columns): entry [j, v] is the sum of the design rows 8j + b for the bits b set in v.

    With group membership packed into bytes, the sums over a group's members become a few table
    look-ups instead of a product with a 0/1 matrix.
    """
    n, ncol = design.shape
    nbytes = (n + 7) // 8
    padded = np.zeros((nbytes * 8, ncol))
    padded[:n] = design
    bits = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.float64)  # (256, 8)
    return np.stack([bits @ padded[8 * j: 8 * j + 8] for j in range(nbytes)])


def _statistics(labels: np.ndarray, k: int, a, q, Bm, trend_scores: np.ndarray | None, tables=None) -> np.ndarray:
    """Statistic for each row of ``labels`` (B, n) of group codes."""
    if tables is None:
        tables = _byte_tables(np.concatenate([a[:, None], q[:, None], Bm], axis=1))
    first = 0 if trend_scores is not None else 1  # the k - 1 free groups suffice for the quadratic form
    U, diag, N = [], [], []
    for g in range(first, k):
        packed = np.packbits(labels == g, axis=1, bitorder="little")  # (B, bytes)
        prod = tables[0][packed[:, 0]]
        for j in range(1, tables.shape[0]):
            prod += tables[j][packed[:, j]]
        U.append(prod[:, 0])
        diag.append(prod[:, 1])
        N.append(prod[:, 2:])
    p = len(U)
    Umat = np.stack(U, axis=1)
    V = np.empty((labels.shape[0], p, p))
    for i in range(p):
        for j in range(i, p):
            cross = np.einsum("bm,bm->b", N[i], N[j])
            V[:, i, j] = -cross
            V[:, j, i] = -cross
        V[:, i, i] += diag[i]
    if trend_scores is not None:
        u = Umat @ trend_scores
        v = np.einsum("bij,i,j->b", V, trend_scores, trend_scores)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(v > 0, u * u / v, 0.0)
    return _quadratic_forms(Umat, V)


def _all_allocations(codes: np.ndarray, k: int) -> np.ndarray:
    """Every distinct allocation of the multiset of labels ``codes`` to positions (N, n)."""
    n = codes.shape[0]
    sizes = np.bincount(codes, minlength=k)
    rows: list[np.ndarray] = []

    def rec(free: tuple[int, ...], g: int, current: np.ndarray) -> None:
        if g == k - 1:
            cur = current.copy()
            cur[list(free)] = g
            rows.append(cur)
            return
        for chosen in itertools.combinations(free, int(sizes[g])):
            cur = current.copy()
            cur[list(chosen)] = g
            rest = tuple(i for i in free if i not in set(chosen))
            rec(rest, g + 1, cur)

    rec(tuple(range(n)), 0, np.full(n, -1, dtype=np.int16))
    return np.stack(rows).astype(np.int16)


def permutation_logrank(
    time: Any,
    event: Any,
    group: Any,
    strata: Any = None,
    weights: str = "logrank",
    rho: float | None = None,
    gamma: float | None = None,
    trend: bool = False,
    scores: Sequence[float] | None = None,
    permutations: int = 10_000,
    seed: int | None = None,
    exact: bool | None = None,
    max_allocations: int = 200_000,
    batch_size: int = 65_536,
    *,
    levels: Sequence[Any] | None = None,
    event_value: Any = None,
    na_action: str = "fail",
    timefix: bool = True,
) -> LogrankResult:
    """Log-rank family test with a permutation p-value added to the asymptotic result.

    ``exact=True`` enumerates every distinct allocation of group labels (no strata; refused above
    ``max_allocations``); ``exact=False`` draws ``permutations`` seeded random allocations (within
    strata); ``exact=None`` enumerates when the count is at most ``max_allocations`` and no strata
    are given, and samples otherwise. Other arguments as :func:`logrank_test`.
    """
    from earlyphase.stats.cases import prepare_cases

    cases = prepare_cases(time, event, {"group": group, "strata": strata}, event_value=event_value,
                          na_action=na_action, timefix=timefix)
    with cases.input_rows():
        base = logrank_test(cases.time, cases.event, cases.columns["group"], strata=cases.columns["strata"], weights=weights,
                            rho=rho, gamma=gamma, trend=trend, scores=scores, levels=levels, timefix=False)
        base = replace(base, n_omitted=cases.n_omitted, notes=cases.notes)
        t, e = check_time_event(cases.time, cases.event)
        codes, levels = check_labels(cases.columns["group"], t.shape[0], "group", levels=levels)
        strata = cases.columns["strata"]
    w, r, g = _check_weight_args(weights, rho, gamma)
    k = len(levels)
    if strata is None:
        scodes = np.zeros(t.shape[0], np.int64)
    else:
        scodes, _ = check_labels(strata, t.shape[0], "strata")
    ts = _check_scores(scores, k) if trend else None
    a, q, Bm = _subject_design(t, e.astype(np.float64), codes, scodes, w, r, g)
    tables = _byte_tables(np.concatenate([a[:, None], q[:, None], Bm], axis=1))
    observed = _statistics(codes[None, :].astype(np.int16), k, a, q, Bm, ts, tables)[0]
    threshold = observed * (1.0 - _REL_TOL) - 1e-12

    sizes = np.bincount(codes, minlength=k)
    n_alloc = count_allocations(sizes.tolist())
    stratified = len(np.unique(scodes)) > 1
    if exact is None:
        exact = (not stratified) and n_alloc <= max_allocations
    if exact:
        if stratified:
            raise InputError.single("exact", True, "no strata", "full enumeration is available for unstratified tests; use permutations with strata.")
        if n_alloc > max_allocations:
            raise InputError.single(
                "exact", True, f"at most {max_allocations} allocations",
                f"these group sizes allow {n_alloc} distinct allocations; too many to enumerate, use Monte-Carlo permutations.",
            )
        allocs = _all_allocations(codes, k)
        hits = 0
        for lo in range(0, allocs.shape[0], batch_size):
            stats = _statistics(allocs[lo:lo + batch_size], k, a, q, Bm, ts, tables)
            hits += int(np.count_nonzero(stats >= threshold))
        p = hits / allocs.shape[0]
        return replace(base, permutation_p_value=p, permutation_se=0.0, permutations=int(allocs.shape[0]), exact=True)

    nperm = int(permutations)
    if nperm < 1:
        raise InputError.single("permutations", permutations, ">= 1", "the number of permutations must be a positive whole number.")
    rng = np.random.default_rng(seed)
    base_labels = codes.astype(np.int16)
    strata_idx = [np.flatnonzero(scodes == s) for s in np.unique(scodes)]
    hits = 0
    done = 0
    while done < nperm:
        b = min(batch_size, nperm - done)
        tile = np.broadcast_to(base_labels, (b, base_labels.shape[0]))
        if stratified:
            labels = np.array(tile)
            for idx in strata_idx:
                labels[:, idx] = rng.permuted(labels[:, idx], axis=1)
        else:
            labels = rng.permuted(tile, axis=1)
        stats = _statistics(labels, k, a, q, Bm, ts, tables)
        hits += int(np.count_nonzero(stats >= threshold))
        done += b
    p = (hits + 1) / (nperm + 1)
    se = float(np.sqrt(p * (1.0 - p) / nperm))
    return replace(base, permutation_p_value=p, permutation_se=se, permutations=nperm, exact=False)
