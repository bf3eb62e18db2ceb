"""The weighted log-rank family (k-sample, stratified, trend), as R's ``survdiff``.

At each distinct event time t of a stratum, with n(t) at risk, d(t) events and n_g(t), d_g(t) in
group g, and weight w(t):

    O_g = sum w d_g,   E_g = sum w d n_g / n,
    V_gh = sum w^2 d (n - d) / (n - 1) * (n_g / n) * (delta_gh - n_h / n)   (hypergeometric, ties)

summed over strata. The statistic is (O - E)' V^- (O - E) over the groups with E > 0, leaving the
first of them out (R's generalized inverse), with df = (groups with E > 0) - 1.

Weights w(t) (S(t-) is the pooled Kaplan–Meier just before t, within the stratum):

* ``logrank``: 1 (R ``survdiff(rho = 0)``)
* ``gehan``: n(t), Gehan–Breslow generalized Wilcoxon
* ``tarone-ware``: sqrt(n(t))
* ``peto``: S(t-), Peto–Peto as R ``survdiff(rho = 1)``
* ``fh``: S(t-)^rho * (1 - S(t-))^gamma, Fleming–Harrington(rho, gamma)

As in R, ``observed`` and ``expected`` are the weighted sums above (plain counts for log-rank).

Test for trend over ordered groups with scores s (default 1..k in level order):
U = s'(O - E), V = s' V s, chi-square = U^2 / V on 1 df. The level order must mean something: numbers
(sorted numerically), explicit ``levels``, or an ordered pandas Categorical. Text labels in
alphabetical order are refused without ``scores`` or ``levels`` (their order is not a dose order).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.cases import omitted_line
from earlyphase.stats.distributions import chi2_sf
from earlyphase.stats.riskset import RiskSet, build_risk_set
from earlyphase.stats.validation import check_choice

__all__ = ["LogrankResult", "logrank_test", "logrank_from_risk_set", "TEST_WEIGHTS"]

TEST_WEIGHTS = ("logrank", "gehan", "tarone-ware", "peto", "fh")

_TEST_NAMES = {
    "logrank": "log-rank",
    "gehan": "Gehan-Breslow (generalized Wilcoxon)",
    "tarone-ware": "Tarone-Ware",
    "peto": "Peto-Peto",
    "fh": "Fleming-Harrington",
}


@dataclass(frozen=True, eq=False)
class LogrankResult:
    """Result of a (weighted, stratified, trend) log-rank test.

    ``observed``/``expected``: weighted sums per group; ``variance``: k × k matrix of O - E;
    ``statistic``: chi-square; ``df``; ``p_value``. For a trend test ``scores`` holds the group scores
    and ``trend_u``/``trend_var`` the score statistic and its variance. Permutation fields are set by
    :func:`earlyphase.stats.permutation_logrank`.
    """

    weights: str
    rho: float
    gamma: float
    groups: tuple[str, ...]
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    statistic: float
    df: int
    p_value: float
    strata: tuple[str, ...] = ()
    trend: bool = False
    scores: tuple[float, ...] | None = None
    trend_u: float | None = None
    trend_var: float | None = None
    permutation_p_value: float | None = None
    permutation_se: float | None = None
    permutations: int | None = None
    exact: bool | None = None
    n_omitted: int = 0
    notes: tuple[str, ...] = ()

    @property
    def test(self) -> str:
        name = _TEST_NAMES[self.weights]
        if self.weights == "fh":
            name += f"(rho={self.rho:g}, gamma={self.gamma:g})"
        if self.trend:
            name += " test for trend"
        if len(self.strata) > 1:
            name += " (stratified)"
        return name

    @property
    def o_minus_e(self) -> np.ndarray:
        return self.observed - self.expected

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "test": self.test,
            "weights": self.weights,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "groups": [
                {"group": g, "n": int(n), "observed": float(o), "expected": float(e)}
                for g, n, o, e in zip(self.groups, self.n.tolist(), self.observed.tolist(), self.expected.tolist())
            ],
            "variance": self.variance.tolist(),
            "n_omitted": self.n_omitted,
            "notes": list(self.notes),
        }
        if self.weights == "fh":
            d["rho"] = self.rho
            d["gamma"] = self.gamma
        if len(self.strata) > 1:
            d["strata"] = list(self.strata)
        if self.trend:
            d["scores"] = list(self.scores or ())
            d["trend_u"] = self.trend_u
            d["trend_var"] = self.trend_var
        if self.permutation_p_value is not None:
            d["permutation_p_value"] = self.permutation_p_value
            d["permutation_se"] = self.permutation_se
            d["permutations"] = self.permutations
            d["exact"] = self.exact
        return d

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({
            "group": list(self.groups), "n": self.n, "observed": self.observed, "expected": self.expected,
            "o_minus_e": self.o_minus_e, "var": np.diag(self.variance),
        })

    def summary(self) -> str:
        lines = [self.test] + [x for x in [omitted_line(self.n_omitted)] if x] + [f"  note: {n}" for n in self.notes]
        width = max(10, *(len(g) for g in self.groups))
        lines += ["", f"{'':>{width}} {'N':>6} {'Observed':>10} {'Expected':>10} {'(O-E)^2/E':>10} {'(O-E)^2/V':>10}"]
        diag = np.diag(self.variance)
        for g, n, o, e, v in zip(self.groups, self.n, self.observed, self.expected, diag):
            oe = (o - e) ** 2
            lines.append(
                f"{g:>{width}} {int(n):>6} {o:>10.4g} {e:>10.4g} {oe / e if e > 0 else float('nan'):>10.4g} {oe / v if v > 0 else float('nan'):>10.4g}"
            )
        lines.append("")
        if self.trend:
            lines.append(f" Scores: {', '.join(f'{s:g}' for s in (self.scores or ()))}")
        lines.append(f" Chisq= {self.statistic:.4g}  on {self.df} degrees of freedom, p= {self.p_value:.3g}")
        if self.permutation_p_value is not None:
            how = "exact (all allocations)" if self.exact else f"Monte Carlo, {self.permutations} permutations"
            lines.append(f" Permutation p= {self.permutation_p_value:.4g} ({how}, MC s.e. {self.permutation_se:.2g})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _weights_for(n: np.ndarray, d: np.ndarray, weights: str, rho: float, gamma: float, s_start: float = 1.0):
    """Weight at each event time (pooled n, d of one stratum's event times, in order).

    ``s_start`` is the pooled Kaplan–Meier value just before the first of these times (for data
    processed in chunks). Returns ``(w, s_end)``.
    """
    nf = n.astype(np.float64)
    if weights in ("logrank", "gehan", "tarone-ware"):
        w = np.ones_like(nf) if weights == "logrank" else (nf if weights == "gehan" else np.sqrt(nf))
        return w, s_start
    # Pooled Kaplan-Meier just before each event time (censor-only times do not change it).
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(d == 0, 1.0, 1.0 - d / nf)
    s_after = np.cumprod(factor) * s_start
    s_before = np.concatenate([[s_start], s_after[:-1]])
    s_end = float(s_after[-1]) if s_after.shape[0] else s_start
    if weights == "peto":
        return s_before, s_end
    # Fleming-Harrington: 0^0 is 1, as the usual convention (gamma = 0 gives S^rho).
    a = s_before ** rho if rho != 0 else np.ones_like(s_before)
    b = (1.0 - s_before) ** gamma if gamma != 0 else np.ones_like(s_before)
    return a * b, s_end


class _Accumulator:
    """Running O, E, V over the event times of one or more strata (any number of chunks)."""

    def __init__(self, k: int, weights: str, rho: float, gamma: float):
        self.k, self.weights, self.rho, self.gamma = k, weights, rho, gamma
        self.O = np.zeros(k)
        self.E = np.zeros(k)
        self.V = np.zeros((k, k))
        self.s_carry = 1.0

    def new_stratum(self) -> None:
        self.s_carry = 1.0

    def add(self, Rk: np.ndarray, Dk: np.ndarray) -> None:
        """Add times with group at-risk counts ``Rk`` and events ``Dk`` (both (k, m), any numeric dtype)."""
        d_all = Dk.sum(axis=0)
        ev = np.flatnonzero(d_all > 0)
        if ev.shape[0] == 0:
            return
        Rg = Rk[:, ev]
        n = Rg.sum(axis=0).astype(np.float64)
        d = d_all[ev].astype(np.float64)
        w, self.s_carry = _weights_for(n, d, self.weights, self.rho, self.gamma, self.s_carry)
        unit = self.weights == "logrank"
        frac = Rg / n  # (k, m): n_g / n
        wd = d if unit else w * d
        if unit:
            self.O += Dk.sum(axis=1)
        else:
            self.O += Dk[:, ev] @ w
        self.E += frac @ wd
        with np.errstate(divide="ignore", invalid="ignore"):
            c = wd * (n - d) / (n - 1.0)
        if not unit:
            c *= w
        c[n <= 1] = 0.0
        cf = frac * c
        V = -(cf @ frac.T)
        V[np.diag_indices(frac.shape[0])] += cf.sum(axis=1)
        self.V += V


def stratum_event_terms(risk_set: RiskSet, stratum: int, weights: str, rho: float, gamma: float):
    """Per event time of one stratum: time, n_g (k, m) and d_g (k, m) as float, pooled n, d, weight w."""
    utime, R, D, _ = risk_set.wide(stratum)
    d_all = D.T.sum(axis=0)
    ev = np.flatnonzero(d_all > 0)
    Re = np.ascontiguousarray(R.T[:, ev], dtype=np.float64)
    De = np.ascontiguousarray(D.T[:, ev], dtype=np.float64)
    n = Re.sum(axis=0)
    de = d_all[ev].astype(np.float64)
    w, _ = _weights_for(n, de, weights, rho, gamma)
    return utime[ev], Re, De, n, de, w


def _accumulate(risk_set: RiskSet, weights: str, rho: float, gamma: float):
    acc = _Accumulator(risk_set.n_groups, weights, rho, gamma)
    for s in range(risk_set.n_strata):
        acc.new_stratum()
        _, R, D, _ = risk_set.wide(s)
        if R.shape[0]:
            acc.add(R.T, D.T)
    return acc.O, acc.E, acc.V


# Observations per chunk of the streaming pass: the chunk's scratch arrays stay in cache, and the
# dot products below stay under OpenBLAS's threading threshold (10000 elements), which matters on a
# shared machine where waiting for a busy second core costs far more than the dot product itself.
_CHUNK = 1 << 13
_LITTLE = sys.byteorder == "little"


class _Scratch:
    """Per-chunk buffers reused across chunks (no allocation, hence no page faults, in the loop)."""

    def __init__(self, size):
        self.size = size
        self.u1 = np.empty(size, np.uint64)
        self.inc = np.empty(size, np.uint64)
        self.cum = np.empty(size, np.uint64)
        self.at = np.empty(size, np.uint64)
        self.flag = np.empty(size, np.uint8)
        self.newt = np.empty(size, bool)

    def fit(self, size):
        if size > self.size:
            self.__init__(size)
        return self


def _field_tables(code_group, k, fw):
    """Per batch of groups: (first group, groups in batch, uint64 increment per row code)."""
    per = 64 // fw
    out = []
    for g0 in range(0, k, per):
        g1 = min(k, g0 + per)
        table = np.zeros(code_group.shape[0], dtype=np.uint64)
        for g in range(g0, g1):
            table[code_group == g] = np.uint64(1) << np.uint64(fw * (g - g0))
        out.append((g0, g1 - g0, table))
    return out


def _at_risk(codes, pos, rem, tables, fw, L, sc, R):
    """Fill ``R`` (k, len(pos)) with each group's number at risk at rows ``pos`` of the chunk
    (``rem`` minus the group's subjects in rows [0, p)); return each group's subjects in the chunk.

    The running counts of up to 64 // fw groups share one uint64 per row, ``fw`` bits each (16 bits
    when the chunk has fewer than 65536 rows), so one cumulative sum tallies several groups and
    each group's count is read back through a narrow-integer view, without shifting or masking.
    """
    inc, cum = sc.inc[:L], sc.cum[:L]
    me = pos.shape[0]
    at = sc.at[:me]
    per = 64 // fw
    fdt = {16: np.uint16, 32: np.uint32, 64: np.uint64}[fw]
    gone = []
    for g0, ng, table in tables:
        np.take(table, codes, out=inc)
        cum[0] = 0
        np.cumsum(inc[:-1], out=cum[1:])
        total = int(cum[-1]) + int(inc[-1])
        np.take(cum, pos, out=at)
        fields = at.view(fdt).reshape(me, per)
        for j in range(ng):
            col = j if _LITTLE else per - 1 - j
            np.subtract(float(rem[g0 + j]), fields[:, col], out=R[g0 + j])
            gone.append((total >> (fw * j)) & ((1 << fw) - 1))
    return gone


def _cross(A, B):
    """k × k matrix of row dot products A[g] · B[h] (A B' is symmetric here).

    Separate dot products: for a few rows and many columns this is several times faster than
    one matrix product (which BLAS handles poorly with 4-row operands)."""
    k = A.shape[0]
    M = np.empty((k, k))
    for g in range(k):
        for h in range(g, k):
            M[g, h] = M[h, g] = float(np.dot(A[g], B[h]))
    return M


def _accumulate_raw(t, e, gcodes, k, scodes, s, weights, rho, gamma):
    """O, E, V straight from per-subject arrays (no case weights) in one sorted, chunked pass.

    Same numbers as building the RiskSet, but temporary memory stays near one key per subject plus
    a few chunk-sized buffers. Per chunk: time boundaries from the sorted keys, event rows (or event
    times, with ties), each group's number at risk there from one packed running count, then O, E
    and V over the event times only.
    """
    from earlyphase.stats.riskset import merged_keys_by_stratum

    unit = weights == "logrank"
    O = np.zeros(k)
    E = np.zeros(k)
    V = np.zeros((k, k))
    group_sizes = np.zeros(k, dtype=np.int64)
    sc = _Scratch(_CHUNK + 1)
    for merged, shift, gl, sizes in merged_keys_by_stratum(t, e, gcodes, k, scodes, s):
        group_sizes += sizes
        sh = np.uint64(shift)
        packed = gl is None
        if packed:  # row codes are the key's low bits: (group << 1) | event
            code_group = np.arange(1 << shift, dtype=np.int64) >> 1
            lowmask = np.uint64((1 << shift) - 1)
        else:
            code_group = np.arange(k, dtype=np.int64)
        tables = {}
        n_obs = merged.shape[0]
        rem = [int(x) for x in sizes]  # subjects of each group still at risk at the chunk start
        s_carry = 1.0
        a = 0
        while a < n_obs:
            b = min(a + _CHUNK, n_obs)
            if b < n_obs:
                # never split the subjects who share a time: extend to the end of that time's run
                limit = (int(merged[b - 1] >> sh) + 1) << shift
                b = n_obs if limit >= 2**64 else int(np.searchsorted(merged, np.uint64(limit), side="left"))
            key = merged[a:b]
            L = b - a
            sc.fit(L)
            tb = np.right_shift(key, sh, out=sc.u1[:L])
            newt = sc.newt[:L]
            newt[0] = True
            np.not_equal(tb[1:], tb[:-1], out=newt[1:])
            m = int(np.count_nonzero(newt))
            flag = sc.flag[:L]
            np.bitwise_and(key, _ONE_U, out=flag, casting="unsafe")
            ev = flag.view(bool)
            if packed:
                codes = np.bitwise_and(key, lowmask, out=sc.u1[:L]).view(np.intp)
                if unit:
                    O += np.bincount(codes, minlength=2 * k)[1:2 * k:2]
            else:
                codes = gl[a:b]
                if unit:
                    O += np.bincount(codes[ev], minlength=k)
            if m == L:  # no tied times in this chunk: each event row is an event time with d = 1
                pos = np.flatnonzero(ev)
                d = None
            else:
                starts = np.flatnonzero(newt)
                d_run = np.add.reduceat(flag, starts, dtype=np.intp)
                ev_runs = np.flatnonzero(d_run)
                pos = starts[ev_runs]
                d = d_run[ev_runs].astype(np.float64)
            me = pos.shape[0]
            fw = 16 if L < 1 << 16 else (32 if L < 1 << 32 else 64)
            if fw not in tables:
                tables[fw] = _field_tables(code_group, k, fw)
            R = np.empty((k, me))
            gone = _at_risk(codes, pos, rem, tables[fw], fw, L, sc, R)
            rem = [r - x for r, x in zip(rem, gone)]
            if me == 0:
                a = b
                continue
            n = np.subtract(float(n_obs - a), pos, dtype=np.float64)
            R /= n  # now n_g / n
            if unit and d is None:
                # d = 1 at every event time, so d (n - d) / (n - 1) = 1 (a lone subject at risk adds 0)
                psum = R.sum(axis=1)
                E += psum
                V += np.diag(psum) - _cross(R, R)
            else:
                dd = np.ones(me) if d is None else d
                w, s_carry = _weights_for(n, dd, weights, rho, gamma, s_carry)
                wd = dd if unit else w * dd
                if not unit:  # observed: the weight of each event subject's time, summed per group
                    if d is None:
                        O += np.bincount(code_group[codes[pos]], weights=w, minlength=k)
                    else:
                        run = np.cumsum(newt, dtype=np.intp)  # each row's time, numbered from 1
                        w_run = np.zeros(m + 1)
                        w_run[ev_runs + 1] = w
                        w_row = w_run[run]
                        if packed:  # codes 2g + 1 are group g's events
                            O += np.bincount(codes, weights=w_row, minlength=2 * k)[1:2 * k:2]
                        else:
                            w_row *= flag
                            O += np.bincount(codes, weights=w_row, minlength=k)
                E += [float(np.dot(R[g], wd)) for g in range(k)]  # not R @ wd: OpenBLAS threads gemv from ~9000 cells
                with np.errstate(divide="ignore", invalid="ignore"):
                    c = wd * (n - dd) / (n - 1.0)
                if not unit:
                    c *= w
                c[n <= 1] = 0.0
                cf = R * c
                V += np.diag(cf.sum(axis=1)) - _cross(cf, R)
            a = b
    return O, E, V, group_sizes


_ONE_U = np.uint64(1)


def _chisq_like_r(O: np.ndarray, E: np.ndarray, V: np.ndarray) -> tuple[float, int]:
    """survdiff's statistic: groups with E > 0, drop the first, solve."""
    keep = np.flatnonzero(E > 0)
    if keep.shape[0] < 2:
        return 0.0, 0
    u = (O - E)[keep][1:]
    vv = V[np.ix_(keep, keep)][1:, 1:]
    try:
        x = np.linalg.solve(vv, u)
    except np.linalg.LinAlgError:
        x = np.linalg.pinv(vv) @ u
    return float(u @ x), int(keep.shape[0] - 1)


def _check_scores(scores: Sequence[float] | None, k: int, levels: Sequence[str] | None = None) -> np.ndarray:
    if scores is None:
        return np.arange(1, k + 1, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.shape[0] != k:
        order = f": {', '.join(levels)}" if levels else ""
        raise InputError.single("scores", list(np.asarray(scores).tolist()), f"{k} values", f"trend scores need one value per group, in level order ({k} groups{order}).")
    if not np.isfinite(s).all():
        raise InputError.single("scores", s.tolist(), "finite", "trend scores must be finite numbers.")
    if np.ptp(s) == 0:
        raise InputError.single("scores", s.tolist(), "not all equal", "trend scores must not all be equal.")
    return s


def _check_weight_args(weights: str, rho: float | None, gamma: float | None) -> tuple[str, float, float]:
    w = check_choice(weights, TEST_WEIGHTS, "weights")
    r = 0.0 if rho is None else float(rho)
    g = 0.0 if gamma is None else float(gamma)
    if w == "fh":
        if rho is None and gamma is None:
            raise InputError.single("rho", None, "given for fh", "Fleming-Harrington weights need rho and/or gamma (e.g. rho=0, gamma=1).")
        if r < 0 or g < 0 or not np.isfinite(r) or not np.isfinite(g):
            raise InputError.single("rho/gamma", (r, g), ">= 0", "Fleming-Harrington rho and gamma must be finite and >= 0.")
    elif w == "peto":
        r, g = 1.0, 0.0
    elif rho not in (None, 0, 0.0) or gamma not in (None, 0, 0.0):
        raise InputError.single("rho/gamma", (rho, gamma), "only with weights='fh'", "rho and gamma are only used with Fleming-Harrington weights (weights='fh').")
    return w, r, g


def check_trend_order(trend: bool, scores: Sequence[float] | None, ordered: bool, levels: Sequence[str]) -> None:
    """Refuse a trend test over text labels in alphabetical order (no scores, no levels)."""
    if trend and scores is None and not ordered:
        raise InputError.single(
            "group", list(levels), "ordered levels or scores",
            f"a test for trend needs the groups in a meaningful order, but the group labels are text "
            f"({', '.join(levels)}) and their alphabetical order is not a dose order. Give the order with "
            f"levels= (CLI: --levels {','.join(levels)}) or scores= (CLI: --scores 1,2,...).",
        )


def logrank_from_risk_set(
    risk_set: RiskSet,
    weights: str = "logrank",
    rho: float | None = None,
    gamma: float | None = None,
    trend: bool = False,
    scores: Sequence[float] | None = None,
) -> LogrankResult:
    """Log-rank family test from a :class:`RiskSet` (groups × strata, right-censored)."""
    w, r, g = _check_weight_args(weights, rho, gamma)
    check_trend_order(trend, scores, risk_set.groups_ordered, risk_set.group_levels)
    k = risk_set.n_groups
    if k < 2:
        raise InputError.single("group", list(risk_set.group_levels), "at least 2 groups", "a group comparison needs at least two groups.")
    sizes = risk_set.n_subjects.sum(axis=0)
    empty = [lab for lab, s in zip(risk_set.group_levels, sizes) if s == 0]
    if empty:
        raise InputError.single("group", empty[0], "non-empty", f"group {empty[0]!r} has no subjects.")
    O, E, V = _accumulate(risk_set, w, r, g)
    res = _result(w, r, g, tuple(risk_set.group_levels), sizes, O, E, V, tuple(risk_set.strata_levels), trend, scores)
    return replace(res, n_omitted=risk_set.n_omitted, notes=risk_set.notes)


def _result(w, r, g, groups, sizes, O, E, V, strata, trend, scores) -> LogrankResult:
    k = len(groups)
    sc = None
    tu = tv = None
    if trend:
        s = _check_scores(scores, k, groups)
        tu = float(s @ (O - E))
        tv = float(s @ V @ s)
        stat = tu * tu / tv if tv > 0 else 0.0
        df = 1
        sc = tuple(float(x) for x in s)
    else:
        if scores is not None:
            raise InputError.single("scores", list(scores), "only with trend", "scores are used only by the test for trend (trend=True).")
        stat, df = _chisq_like_r(O, E, V)
    p = chi2_sf(stat, df) if df > 0 else 1.0
    return LogrankResult(
        weights=w, rho=r, gamma=g, groups=groups, n=np.asarray(sizes).astype(np.int64),
        observed=O, expected=E, variance=V, statistic=float(stat), df=int(df), p_value=p,
        strata=strata, trend=bool(trend), scores=sc, trend_u=tu, trend_var=tv,
    )


def logrank_test(
    time: Any,
    event: Any,
    group: Any,
    strata: Any = None,
    weights: str = "logrank",
    rho: float | None = None,
    gamma: float | None = None,
    trend: bool = False,
    scores: Sequence[float] | None = None,
    case_weights: Any = None,
    *,
    levels: Sequence[Any] | None = None,
    event_value: Any = None,
    na_action: str = "fail",
    timefix: bool = True,
) -> LogrankResult:
    """Compare survival between groups (k >= 2), optionally stratified, weighted or as a trend test.

    ``time`` (>= 0, any unit), ``event`` (1/0, 1/2 or ``event_value``), ``group`` labels (level order
    as R's factor; ``levels`` to choose it: the first is the reference and the score order),
    ``strata`` labels or None, ``weights`` one of ``logrank``, ``gehan``, ``tarone-ware``, ``peto``,
    ``fh`` (with ``rho``, ``gamma``), ``trend`` with optional ``scores`` (one per group in level
    order; default 1..k; text labels need ``scores`` or ``levels``), ``case_weights`` integer
    frequency weights. ``na_action`` and ``timefix`` as :mod:`earlyphase.stats.cases`.
    """
    _check_weight_args(weights, rho, gamma)
    if group is None:
        raise InputError.single("group", None, "required", "a group comparison needs a group column.")
    if case_weights is not None:
        rs = build_risk_set(time, event, group=group, strata=strata, weights=case_weights, levels=levels,
                            event_value=event_value, na_action=na_action, timefix=timefix)
        return logrank_from_risk_set(rs, weights, rho, gamma, trend, scores)
    # Per-subject data: one streaming pass, no full table (memory stays near the input size).
    from earlyphase.stats.cases import prepare_cases
    from earlyphase.stats.labels import encode_labels
    from earlyphase.stats.validation import check_labels, check_time_event

    cases = prepare_cases(time, event, {"group": group, "strata": strata}, event_value=event_value,
                          na_action=na_action, timefix=timefix)
    with cases.input_rows():
        t, e = check_time_event(cases.time, cases.event)
        # copy=False: the codes are only read here (no copy of a 10^7-row group column)
        lv = encode_labels(cases.columns["group"], t.shape[0], "group", levels=levels, copy=False)
        gcodes, glevels = lv.codes, lv.labels
        if strata is None:
            scodes, slevels = None, ["all"]
        else:
            scodes, slevels = check_labels(cases.columns["strata"], t.shape[0], "strata", copy=False)
    w, r, g = _check_weight_args(weights, rho, gamma)
    check_trend_order(trend, scores, lv.ordered, glevels)
    k = len(glevels)
    if k < 2:
        raise InputError.single("group", glevels, "at least 2 groups", "a group comparison needs at least two groups.")
    O, E, V, sizes = _accumulate_raw(t, e, gcodes, k, scodes, len(slevels), w, r, g)
    res = _result(w, r, g, tuple(glevels), sizes, O, E, V, tuple(slevels), trend, scores)
    return replace(res, n_omitted=cases.n_omitted, notes=cases.notes)
