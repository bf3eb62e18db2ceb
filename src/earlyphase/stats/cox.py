"""Cox proportional hazards regression, numerically as R's ``survival::coxph``.

The partial likelihood is maximised by Newton-Raphson with step halving, started at beta = 0 and
stopped as R stops: when the relative change in the log partial likelihood is at most ``eps``
(1e-9) on a step that was not halved, or after ``max_iter`` (20) iterations. Ties are handled by
Efron's approximation (default, as R) or Breslow's. Strata give each stratum its own baseline
hazard; ``entry`` gives delayed entry (left truncation, counting-process data ``(entry, time]``);
``weights`` are case weights (any positive number, as R's ``weights=``). ``robust=True`` adds the
sandwich variance from per-observation dfbeta residuals, as R's ``robust=TRUE``; ``cluster=`` the
grouped sandwich of R's ``cluster(id)``: the dfbeta residuals are summed within each cluster
before their cross-product is taken (and robust is implied, as in R).

How it is computed (no Python loop over subjects or times): the data are sorted once by
(stratum, time). Risk-set sums at every distinct event time are differences of reverse cumulative
sums. Efron's correction expands each tied-event block into its ``d`` tied deaths (``k/d`` for
k = 0..d-1), evaluated together as one vector. The information matrix is assembled as
``X' diag(v) X - M' M``: the risk-set second moments summed over event times equal a single weighted
Gram matrix of the subjects once each subject carries the cumulative sum of the per-time weights
of the risk sets it belongs to. Covariates are stored one row per covariate; on large data (one
stratum, no delayed entry) the risk sums and the Gram matrix are accumulated in cache-sized chunks
of subjects (a loop over a few hundred chunks, never over subjects), carrying the later sums in.
The concordance lives in ``concordance.py`` and the proportional-hazards test in ``cox_zph.py``.

Times are in whatever unit the caller uses; hazard ratios do not depend on it. Tied times are
equal floats, after ``timefix`` (default, as R) has merged times equal up to rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.design_matrix import DesignMatrix, build_design_matrix
from earlyphase.stats.distributions import chi2_sf, normal_ppf, normal_sf
from earlyphase.stats.validation import (
    check_choice,
    check_conf_level,
    check_entry,
    check_labels,
    check_same_length,
    check_time_event,
)

__all__ = ["CoxResult", "CoxCoefficient", "CoxTest", "cox_ph"]


# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoxTest:
    """A chi-square test: statistic, degrees of freedom and p-value."""

    statistic: float
    df: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {"statistic": self.statistic, "df": self.df, "p_value": self.p_value}


@dataclass(frozen=True)
class CoxCoefficient:
    """One column of the design: log hazard ratio and its inference.

    ``se`` is the model-based standard error; ``robust_se`` the sandwich one (None unless robust).
    ``z``, ``p_value`` and the hazard-ratio interval use the robust SE when it exists, as R does.
    """

    name: str
    coef: float
    se: float
    robust_se: float | None
    hr: float
    hr_lower: float
    hr_upper: float
    z: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "coef": self.coef, "se": self.se, "robust_se": self.robust_se,
            "hr": self.hr, "hr_lower": self.hr_lower, "hr_upper": self.hr_upper,
            "z": self.z, "p_value": self.p_value,
        }


@dataclass(frozen=True)
class ZphTerm:
    """Proportional-hazards test of one term (or ``GLOBAL``), as a row of R's ``cox.zph`` table."""

    term: str
    chisq: float
    df: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {"term": self.term, "chisq": self.chisq, "df": self.df, "p_value": self.p_value}


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model.

    ``loglik`` is (log partial likelihood at beta = 0, at the estimate); ``variance`` the covariance
    of the coefficients used for inference (robust if ``robust``), ``naive_variance`` the inverse
    information. ``tests`` holds ``likelihood_ratio``, ``wald`` (with the robust variance when robust,
    as R) and ``score`` (model-based, at beta = 0), plus ``robust_score`` when robust.
    ``concordance`` is Harrell's C of the linear predictor as R's ``coxph`` reports it, with its
    standard error ``concordance_se``. ``zph`` is the proportional-hazards test of R's
    ``cox.zph(fit, transform = "km")`` (per term, then GLOBAL), or empty if not computed.
    ``warnings`` explains non-convergence or a coefficient that may be infinite.
    """

    coefficients: tuple[CoxCoefficient, ...]
    variance: np.ndarray
    naive_variance: np.ndarray
    loglik: tuple[float, float]
    tests: dict[str, CoxTest]
    n: int
    n_events: int
    n_strata: int
    ties: str
    robust: bool
    conf_level: float
    iterations: int
    converged: bool
    concordance: float | None
    concordance_se: float | None
    zph: tuple[ZphTerm, ...]
    terms: dict[str, tuple[int, ...]]
    means: np.ndarray
    warnings: tuple[str, ...] = field(default=())
    n_clusters: int | None = None
    n_omitted: int = 0
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.coefficients)

    @property
    def coef(self) -> np.ndarray:
        return np.array([c.coef for c in self.coefficients])

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``earlyphase survival cox``; ``loglik[0]`` is the null (beta = 0) value."""
        return {
            "n": self.n,
            "events": self.n_events,
            "ties": self.ties,
            "robust": self.robust,
            "conf_level": self.conf_level,
            "coefficients": [c.to_dict() for c in self.coefficients],
            "loglik": [self.loglik[0], self.loglik[1]],
            "tests": {k: v.to_dict() for k, v in self.tests.items()},
            "concordance": self.concordance,
            "concordance_se": self.concordance_se,
            "zph": [z.to_dict() for z in self.zph],
            "iterations": self.iterations,
            "converged": self.converged,
            "warnings": list(self.warnings),
            "n_clusters": self.n_clusters,
            "n_omitted": self.n_omitted,
            "notes": list(self.notes),
        }

    def to_frame(self):
        """One row per coefficient (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame([c.to_dict() for c in self.coefficients])

    def summary(self) -> str:
        """Text laid out like R's ``summary(coxph)``, followed by the ``cox.zph`` table."""
        pct = f"{self.conf_level * 100:g}"
        lines = [f"Cox proportional hazards ({self.ties} ties"
                 + (f", {self.n_strata} strata" if self.n_strata > 1 else "")
                 + (", robust SE" if self.robust and self.n_clusters is None else "")
                 + (f", robust SE over {self.n_clusters} clusters" if self.n_clusters is not None else "") + ")",
                 f"  n= {self.n}, number of events= {self.n_events}"]
        from earlyphase.stats.cases import omitted_line

        lines += [x for x in [omitted_line(self.n_omitted)] if x] + [f"  note: {n}" for n in self.notes] + [""]
        width = max(8, *(len(c.name) for c in self.coefficients))
        head = f"{'':<{width}} {'coef':>10} {'exp(coef)':>10} {'se(coef)':>10}"
        if self.robust:
            head += f" {'robust se':>10}"
        head += f" {'z':>8} {'Pr(>|z|)':>10}"
        lines.append(head)
        for c in self.coefficients:
            row = f"{c.name:<{width}} {c.coef:>10.4g} {c.hr:>10.4g} {c.se:>10.4g}"
            if self.robust:
                row += f" {c.robust_se:>10.4g}"
            row += f" {c.z:>8.3f} {_fmt_p(c.p_value):>10}"
            lines.append(row)
        lines += ["", f"{'':<{width}} {'exp(coef)':>10} {'exp(-coef)':>10} {'lower .' + pct[:2]:>10} {'upper .' + pct[:2]:>10}"]
        for c in self.coefficients:
            lines.append(f"{c.name:<{width}} {c.hr:>10.4g} {1 / c.hr:>10.4g} {c.hr_lower:>10.4g} {c.hr_upper:>10.4g}")
        lines.append("")
        if self.concordance is not None:
            se = "NA" if self.concordance_se is None else f"{self.concordance_se:.3f}"
            lines.append(f"Concordance= {self.concordance:.3f}  (se = {se} )")
        labels = {"likelihood_ratio": "Likelihood ratio test", "wald": "Wald test",
                  "score": "Score (logrank) test", "robust_score": "Robust score test"}
        for key, label in labels.items():
            if key in self.tests:
                t = self.tests[key]
                lines.append(f"{label:<21}= {t.statistic:.4g}  on {t.df} df,   p={_fmt_p(t.p_value)}")
        lines.append(f"Log partial likelihood: null {self.loglik[0]:.6g}, fitted {self.loglik[1]:.6g}"
                     f" ({self.iterations} iterations)")
        if self.zph:
            lines += ["", "Proportional hazards (cox.zph, KM transform):",
                      f"{'':<{width}} {'chisq':>10} {'df':>4} {'p':>10}"]
            for z in self.zph:
                lines.append(f"{z.term:<{width}} {z.chisq:>10.4g} {z.df:>4d} {_fmt_p(z.p_value):>10}")
        for w in self.warnings:
            lines.append(f"Warning: {w}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "NA"
    return "<2e-16" if p < 2e-16 else f"{p:.3g}"


# --------------------------------------------------------------------------------------------
# the sorted data and the partial likelihood
# --------------------------------------------------------------------------------------------


def _tail_sums(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """out[..., j] = sum of the last j entries of ``a`` along the last axis (out[..., 0] = 0).

    The sum of a[..., i:] is out[..., n - i]. Written into a contiguous buffer from a reversed view,
    which numpy runs several times faster than a cumulative sum into a reversed output.
    """
    if out is None:
        out = np.empty(a.shape[:-1] + (a.shape[-1] + 1,), dtype=np.float64)
    out[..., 0] = 0.0
    np.cumsum(a[..., ::-1], axis=-1, out=out[..., 1:])
    return out


_CHUNK = 1 << 15  # columns per cache-sized chunk (p rows x 32768 doubles stay in L2/L3)


def _gram(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """left @ right.T for two (p, n) arrays, summed chunk by chunk with numpy's own loops (einsum).

    Not BLAS on purpose: for these skinny products multi-threaded OpenBLAS spends more CPU waiting
    for its second thread than computing, and collapses when the other core is busy.
    """
    p, n = left.shape
    out = np.zeros((p, p))
    for start in range(0, n, _CHUNK):
        out += np.einsum("ik,jk->ij", left[:, start:start + _CHUNK], right[:, start:start + _CHUNK])
    return (out + out.T) / 2


def _gram_vector(XT: np.ndarray, v: np.ndarray) -> np.ndarray:
    """XT @ v, chunked, without BLAS (see ``_gram``)."""
    out = np.zeros(XT.shape[0])
    for start in range(0, XT.shape[1], _CHUNK):
        out += np.einsum("ik,k->i", XT[:, start:start + _CHUNK], v[start:start + _CHUNK])
    return out


def _weighted_gram(XT: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(XT * v) @ XT.T, chunk by chunk so that the weighted rows never leave the cache (see ``_gram``)."""
    p, n = XT.shape
    out = np.zeros((p, p))
    for start in range(0, n, _CHUNK):
        xc = XT[:, start:start + _CHUNK]
        out += np.einsum("ik,jk->ij", xc * v[start:start + _CHUNK], xc)
    return (out + out.T) / 2


def _linear_predictor(XT: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """beta @ XT, elementwise and chunked.

    Not a BLAS product: subjects with identical covariates must get bit-identical linear predictors
    (a gemv kernel may round columns differently), or concordance ties break. Chunks keep the
    running sum in cache.
    """
    p, n = XT.shape
    eta = np.empty(n)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        part = eta[start:stop]
        np.multiply(XT[0, start:stop], beta[0], out=part)
        for k in range(1, p):
            part += XT[k, start:stop] * beta[k]
    return eta


class _CoxData:
    """Data sorted by (stratum, time) with every index the likelihood needs, computed once."""

    def __init__(self, time, event, X, strata, weights, entry, efron, center=None):
        n, p = X.shape
        self.n, self.p, self.efron = n, p, efron
        # the order inside a run of tied times does not matter (every sum over a tie is symmetric)
        order = np.argsort(time)
        if strata is not None:
            codes = strata[order]
            small = codes.astype(np.uint16) if codes.max() < 2**16 else codes
            order = np.take(order, np.argsort(small, kind="stable"))  # radix sort on small codes
        self.order = order
        t = np.take(time, order)
        s = np.take(strata, order) if strata is not None else np.zeros(n, dtype=np.int64)
        d = np.take(event, order).astype(bool)
        # covariates stored one row per covariate (p, n): every pass below runs along contiguous memory
        self.XT = np.empty((p, n))
        for k in range(p):  # one gather per covariate column, centred in place
            np.take(X[:, k], order, out=self.XT[k])
            if center is not None:
                self.XT[k] -= center[k]
        self.unit_weights = bool(np.all(weights == 1.0))
        self.w = np.ones(n) if self.unit_weights else np.take(weights, order)
        self._Z = self._tail = None
        self.t, self.s, self.d = t, s, d

        # groups of equal (stratum, time) and the first row of the stratum after each row's stratum
        new_group = np.empty(n, dtype=bool)
        new_group[0] = True
        new_stratum = np.empty(n, dtype=bool)
        new_stratum[0] = True
        new_stratum[1:] = s[1:] != s[:-1]
        new_group[1:] = (t[1:] != t[:-1]) | new_stratum[1:]
        group_id = np.cumsum(new_group) - 1
        group_start = np.flatnonzero(new_group)
        stratum_start = np.flatnonzero(new_stratum)
        stratum_end = np.append(stratum_start[1:], n)
        self.one_stratum = stratum_start.shape[0] == 1
        stratum_of_row = np.cumsum(new_stratum) - 1 if not self.one_stratum else None

        # event blocks: the groups that hold at least one death
        death_rows = np.flatnonzero(d)
        self.death_rows = death_rows
        death_group = group_id[death_rows]
        first = np.empty(death_rows.shape[0], dtype=bool)
        if first.shape[0]:
            first[0] = True
            first[1:] = death_group[1:] != death_group[:-1]
        block_first_death = np.flatnonzero(first)  # index into death_rows
        self.block_first_death = block_first_death
        self.block_of_death = np.cumsum(first) - 1
        self.n_blocks = block_first_death.shape[0]
        self.block_group = death_group[block_first_death]
        self.block_count = np.diff(np.append(block_first_death, death_rows.shape[0])).astype(np.float64)
        self.any_ties = bool(self.n_blocks) and bool(self.block_count.max() > 1)
        self.block_row_start = group_start[self.block_group]
        if self.one_stratum:
            self.block_row_end = np.full(self.block_row_start.shape[0], n)
        else:
            self.block_row_end = stratum_end[stratum_of_row[self.block_row_start]]
        self.block_time = t[self.block_row_start]
        self.block_stratum = s[self.block_row_start]
        # position of each death inside its tied block: k = 0..d-1 (Efron's k/d)
        self.death_k = np.arange(death_rows.shape[0]) - block_first_death[self.block_of_death]
        self.w_death = self.w[death_rows]
        # sum of w * x over the events, which the loglik and score need at every beta
        self.event_x = _gram_vector(self.XT, self.w * d)
        self.block_weight = np.add.reduceat(self.w_death, block_first_death) if self.n_blocks else np.zeros(0)
        self.mean_weight = self.block_weight / self.block_count
        if efron:
            self.tk = self.death_k / self.block_count[self.block_of_death]
        else:
            self.tk = np.zeros(death_rows.shape[0])
        self.mw_death = self.mean_weight[self.block_of_death]
        self.unit_mw = bool(np.all(self.mw_death == 1.0))  # unweighted data: skip multiplying by 1

        # which blocks each row is at risk in: blocks (hi, lo] in the global block order
        self.has_entry = entry is not None
        # large data, one stratum, no delayed entry: risk sums chunk by chunk (see _risk_sums_chunked)
        self.chunked = self.one_stratum and not self.has_entry and n > 4 * _CHUNK
        if self.chunked:
            bounds = np.arange(0, n + _CHUNK, _CHUNK).clip(max=n)
            cut = np.searchsorted(self.block_row_start, bounds, side="left")
            self.chunks = [(int(bounds[i]), int(bounds[i + 1]), int(cut[i]), int(cut[i + 1]))
                           for i in range(bounds.shape[0] - 1) if bounds[i + 1] > bounds[i]]
        if not self.has_entry:
            # blocks up to and including each group, counted along the (stratum, time) order
            is_block = np.zeros(group_start.shape[0], dtype=np.int64)
            is_block[self.block_group] = 1
            blocks_upto = np.cumsum(is_block)
            self.row_hi = blocks_upto[group_id]
            if self.one_stratum:
                self.row_lo = np.zeros(n, dtype=np.int64)
            else:
                first_group = group_id[stratum_start]
                self.row_lo = (blocks_upto[first_group] - is_block[first_group])[stratum_of_row]
        else:
            e = entry[order]
            # exact integer keys (stratum, rank of value among all times and entries)
            values, inverse = np.unique(np.concatenate([t, e]), return_inverse=True)
            inverse = inverse.reshape(-1)
            span = values.shape[0] + 1
            key_t = s * span + inverse[:n]
            key_e = s * span + inverse[n:]
            block_key = key_t[self.block_row_start]
            self.row_hi = np.searchsorted(block_key, key_t, side="right")
            self.row_lo = np.searchsorted(block_key, key_e, side="right")
            # rows that have not yet entered at a block time: entry >= block time (same stratum)
            eorder = np.argsort(key_e, kind="stable")
            key_e_sorted = key_e[eorder]
            self.entry_order = eorder
            self.block_entry_start = np.searchsorted(key_e_sorted, block_key, side="left")
            self.block_entry_end = np.searchsorted(key_e_sorted, (self.block_stratum + 1) * span, side="left")

    @property
    def X(self) -> np.ndarray:
        """Covariates as (n, p), sorted and centred (a view)."""
        return self.XT.T

    def _risk_sums(self, a: np.ndarray) -> np.ndarray:
        """Risk-set sums at every event block of per-row quantities ``a`` (shape (..., n))."""
        n = self.n
        # sums accumulated from the last row backwards, as R does; the buffer is reused across iterations
        if self._tail is None or self._tail.shape[:-1] != a.shape[:-1]:
            self._tail = np.empty(a.shape[:-1] + (n + 1,))
        tail = _tail_sums(a, out=self._tail)
        out = np.take(tail, n - self.block_row_start, axis=-1)
        if not self.one_stratum:
            out -= np.take(tail, n - self.block_row_end, axis=-1)
        if self.has_entry:
            tail_e = _tail_sums(a[..., self.entry_order])
            out -= np.take(tail_e, n - self.block_entry_start, axis=-1) - np.take(tail_e, n - self.block_entry_end, axis=-1)
        return out

    def _risk_sums_chunked(self, wr: np.ndarray) -> np.ndarray:
        """Risk-set sums of (w e^eta, w e^eta x) at every event block, one cache-sized chunk at a time.

        Same sums as ``_risk_sums`` on the full (p+1, n) array (one stratum, no delayed entry), but the
        chunk's products and tail sums stay in cache: the sums of the later chunks are carried in.
        """
        XT, p = self.XT, self.p
        S = np.empty((p + 1, self.n_blocks))
        carry = np.zeros((p + 1, 1))
        Z = np.empty((p + 1, _CHUNK))
        tail = np.empty((p + 1, _CHUNK))
        for start, stop, b0, b1 in reversed(self.chunks):
            m = stop - start
            z, tl = Z[:, :m], tail[:, :m]
            z[0] = wr[start:stop]
            np.multiply(XT[:, start:stop], z[0], out=z[1:])
            np.cumsum(z[:, ::-1], axis=1, out=tl)  # tl[:, k] = sum of the last k + 1 columns of z
            if b1 > b0:
                np.add(np.take(tl, (stop - 1) - self.block_row_start[b0:b1], axis=1), carry, out=S[:, b0:b1])
            carry += tl[:, m - 1:m]
        return S

    def _cum_over_blocks(self, per_block: np.ndarray) -> np.ndarray:
        """For each row, the sum of ``per_block`` (blocks on axis 0) over the event blocks whose risk set holds it."""
        pad = np.zeros((per_block.shape[0] + 1,) + per_block.shape[1:])
        np.cumsum(per_block, axis=0, out=pad[1:])
        if self.one_stratum and not self.has_entry:  # every row_lo is 0 and pad[0] = 0
            return np.take(pad, self.row_hi, axis=0)
        return np.take(pad, self.row_hi, axis=0) - np.take(pad, self.row_lo, axis=0)

    def evaluate(self, beta: np.ndarray, info: bool = True) -> "_Evaluation":
        XT, p, n = self.XT, self.p, self.n
        eta = _linear_predictor(XT, beta)
        r = np.exp(eta)
        wr = r if self.unit_weights else self.w * r
        dr = self.death_rows
        b = self.block_of_death
        tk = self.tk
        if self.chunked:
            S = self._risk_sums_chunked(wr)
        else:
            # row 0: w exp(eta); rows 1..p: w exp(eta) x (buffers reused: fresh pages cost as much as the arithmetic)
            if self._Z is None:
                self._Z = np.empty((p + 1, n))
            Z = self._Z
            Z[0] = wr
            np.multiply(XT, wr, out=Z[1:])
            S = self._risk_sums(Z)
        if self.any_ties:
            Sb = np.take(S, b, axis=1)
            if self.efron:
                wr_d = np.take(wr, dr)
                Zd = np.empty((p + 1, dr.shape[0]))
                Zd[0] = wr_d
                np.multiply(np.take(XT, dr, axis=1), wr_d, out=Zd[1:])
                E = np.add.reduceat(Zd, self.block_first_death, axis=1)
                Sb -= tk * np.take(E, b, axis=1)
        else:  # one event per block: blocks and events coincide, Efron = Breslow
            Sb = S
        d2 = Sb[0]
        mw = self.mw_death
        log_d2 = np.log(d2)
        loglik = float(beta @ self.event_x - (log_d2.sum() if self.unit_mw else np.einsum("i,i->", mw, log_d2)))
        mT = Sb[1:] / d2  # (p, n_events): risk-set mean of x seen by each tied event
        U = self.event_x - (mT.sum(axis=1) if self.unit_mw else np.einsum("ik,k->i", mT, mw))
        ev = _Evaluation(beta=beta, eta=eta, r=r, wr=wr, d2=d2, mT=mT, loglik=loglik, U=U)
        if info:
            q = mw / d2
            alpha = np.bincount(b, weights=q, minlength=self.n_blocks)
            beta_b = np.bincount(b, weights=q * tk, minlength=self.n_blocks)
            A = self._cum_over_blocks(alpha)
            v = wr * A
            if self.efron and self.any_ties:
                v[dr] -= wr[dr] * beta_b[b]
            I = _weighted_gram(XT, v) - _gram(mT if self.unit_mw else mT * mw, mT)
            ev.I = I
            ev.alpha, ev.beta_b, ev.A = alpha, beta_b, A
        return ev

    def score_residuals(self, ev: "_Evaluation") -> np.ndarray:
        """Per-observation score residuals (unweighted, sorted order), as R's ``residuals(type='score')``."""
        X, dr, b, tk = self.X, self.death_rows, self.block_of_death, self.tk
        m = ev.mT.T
        q = self.mw_death / ev.d2
        starts = self.block_first_death
        mh3 = np.add.reduceat(m, starts, axis=0) / self.block_count[:, None]
        mh1 = np.add.reduceat(m * q[:, None], starts, axis=0)
        mt = np.add.reduceat(m * (q * tk)[:, None], starts, axis=0)
        MH = self._cum_over_blocks(mh1)
        L = -ev.r[:, None] * (X * ev.A[:, None] - MH)
        rd = ev.r[dr][:, None]
        L[dr] += X[dr] - mh3[b] + rd * (X[dr] * ev.beta_b[b][:, None] - mt[b])
        return L


@dataclass
class _Evaluation:
    beta: np.ndarray
    eta: np.ndarray
    r: np.ndarray
    wr: np.ndarray
    d2: np.ndarray
    mT: np.ndarray
    loglik: float
    U: np.ndarray
    I: np.ndarray | None = None
    alpha: np.ndarray | None = None
    beta_b: np.ndarray | None = None
    A: np.ndarray | None = None


_TOLER_CHOL = np.finfo(float).eps ** 0.75  # R's coxph.control(toler.chol)


def _singular_columns(I: np.ndarray) -> list[int]:
    """Columns R's cholesky2 would call singular: an LDL' pivot below toler.chol x the largest diagonal
    (those columns are skipped and the factorisation goes on with the others, as in R)."""
    A = np.array(I, dtype=float)
    p = A.shape[0]
    top = float(np.max(np.diag(A))) if p else 0.0
    eps = _TOLER_CHOL * top if top > 0 else _TOLER_CHOL
    singular = []
    for i in range(p):  # p is the number of covariates: a handful
        pivot = A[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            singular.append(i)
            continue
        for j in range(i + 1, p):
            temp = A[j, i] / pivot
            A[j, j] -= temp * temp * pivot
            A[j + 1:, j] -= temp * A[j + 1:, i]
            A[j, i] = temp
    return singular


def _solve_psd(I: np.ndarray, u: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Solve I x = u by Cholesky; refuse collinear columns (R's cholesky2 rule; R then reports NA for
    the column, we refuse the fit and name it)."""
    bad = _singular_columns(I)
    L = None
    if not bad:
        try:
            L = np.linalg.cholesky(I)
        except np.linalg.LinAlgError:
            bad = list(range(I.shape[0]))
    if bad:
        raise InputError.single(
            "covariates", [names[i] for i in bad], "not_collinear",
            "the information matrix is singular: these covariates are collinear with the others, or "
            "constant within the risk sets (for instance constant within every stratum); drop or "
            "combine them.",
        )
    # two triangular solves (numpy has no triangular solver; p is a handful, so LU on L costs nothing)
    return np.linalg.solve(L.T, np.linalg.solve(L, u))


def _inverse_psd(I: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return _solve_psd(I, np.eye(I.shape[0]), names)


def _chisq_test(stat: float, df: int) -> CoxTest:
    return CoxTest(statistic=float(stat), df=int(df), p_value=chi2_sf(float(stat), int(df)))


# --------------------------------------------------------------------------------------------
# public entry
# --------------------------------------------------------------------------------------------


def _check_weights(weights: Any, n: int) -> np.ndarray:
    """Cox case weights are any finite positive numbers (R's ``weights=``), not only counts."""
    if weights is None:
        return np.ones(n)
    arr = check_same_length(n, weights, "weights")
    try:
        w = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError.single("weights", repr(arr[:3].tolist()), "numeric", "weights must hold numbers.") from None
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError.single(
            "weights", float(w[i]), "finite and > 0",
            f"weights must be finite numbers > 0 (row {i + 1}); drop rows you want to weigh zero.", row=i + 1,
        )
    return w


def cox_ph(
    time: Any,
    event: Any,
    covariates: Mapping[str, Any] | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    strata: Any = None,
    ties: str = "efron",
    robust: bool = False,
    weights: Any = None,
    entry: Any = None,
    conf_level: float = 0.95,
    max_iter: int = 20,
    eps: float = 1e-9,
    concordance: bool = True,
    zph: bool = True,
    cluster: Any = None,
    levels: Mapping[str, Sequence[Any]] | None = None,
    event_value: Any = None,
    na_action: str = "fail",
    timefix: bool = True,
) -> CoxResult:
    """Fit a Cox proportional hazards model, as R's ``coxph(Surv(entry, time, event) ~ ..., ties=)``.

    ``time``: exit time (any unit, >= 0); ``event``: 1 event, 0 censored; ``covariates``: a mapping
    name -> values (numbers kept; text, booleans and categoricals expanded to treatment contrasts
    with the first sorted level as reference, columns named ``<name><level>``) or a 2-D array with
    ``names``. ``strata``: labels, one baseline hazard per stratum. ``ties``: ``"efron"`` (default,
    as R) or ``"breslow"``. ``robust``: add the sandwich variance (R's ``robust=TRUE``).
    ``weights``: positive case weights. ``entry``: delayed-entry times (left truncation), each below
    its ``time``. ``conf_level``: level of the hazard-ratio intervals. ``max_iter`` and ``eps`` as
    R's ``coxph.control(iter.max, eps)``. ``concordance`` / ``zph``: also compute Harrell's C and the
    ``cox.zph(transform = "km")`` test (skip them to save time on very large data). ``cluster``:
    labels of correlated observations (e.g. a patient's two eyes), for R's grouped robust variance
    ``cluster(id)`` (implies ``robust``). ``levels``: {covariate: levels in order}, the first the
    reference (R's ``factor(x, levels = ...)``). ``event_value``, ``na_action`` and ``timefix`` as
    :mod:`earlyphase.stats.cases` (rows with a missing covariate count as missing, as in R).

    Returns a :class:`CoxResult`; ``loglik`` holds the real null log partial likelihood (beta = 0)
    and the fitted one. Difference from R, on purpose: collinear covariates raise ``InputError``
    (R keeps going and reports NA for the aliased column).
    """
    from earlyphase.stats.cases import prepare_cases

    cases = prepare_cases(time, event, {"strata": strata, "entry": entry, "weights": weights, "cluster": cluster,
                                        "covariates": covariates if isinstance(covariates, Mapping) else None,
                                        "matrix": None if isinstance(covariates, Mapping) else np.asarray(covariates)},
                          event_value=event_value, na_action=na_action, timefix=timefix)
    with cases.input_rows():
        c = cases.columns
        fit = _fit(cases.time, cases.event, c["covariates"] if c["covariates"] is not None else c["matrix"],
                   names=names, strata=c["strata"], ties=ties, robust=robust or cluster is not None, weights=c["weights"],
                   entry=c["entry"], conf_level=conf_level, max_iter=max_iter, eps=eps, concordance=concordance,
                   zph=zph, cluster=c["cluster"], levels=levels)
    if cases.n_omitted or cases.notes:
        from dataclasses import replace

        fit = replace(fit, n_omitted=cases.n_omitted, notes=cases.notes)
    return fit


def _fit(time, event, covariates, *, names, strata, ties, robust, weights, entry, conf_level, max_iter, eps,
         concordance, zph, cluster, levels) -> CoxResult:
    t, e = check_time_event(time, event)
    n = t.shape[0]
    ties = check_choice(ties, ["efron", "breslow"], "ties")
    conf_level = check_conf_level(conf_level)
    if int(max_iter) < 1:
        raise InputError.single("max_iter", max_iter, ">= 1", "max_iter must be at least 1.")
    entry_arr = check_entry(entry, t, "entry")
    w = _check_weights(weights, n)
    if strata is not None:
        strata_codes, strata_levels = check_labels(strata, n, "strata")
    else:
        strata_codes, strata_levels = None, ["all"]
    design: DesignMatrix = build_design_matrix(covariates, n, names, levels=levels)
    cluster_codes = None
    if cluster is not None:
        cluster_codes, cluster_levels = check_labels(cluster, n, "cluster")
    X = design.matrix
    colnames = design.columns
    if e.sum() == 0:
        raise InputError.single("event", 0, "at_least_one_event",
                                "there are no events; a Cox model needs at least one event to estimate anything.")

    # centring changes no estimate (the partial likelihood is invariant to it) but keeps exp() tame
    means = X.mean(axis=0)
    data = _CoxData(t, e, X, strata_codes, w, entry_arr, ties == "efron", center=means)
    fit = _newton_raphson(data, colnames, int(max_iter), float(eps))
    final, null, iterations, converged, warn = fit

    naive_var = _inverse_psd(final.I, colnames)
    naive_var = (naive_var + naive_var.T) / 2
    p = X.shape[1]
    beta = final.beta
    score_stat = float(null.U @ _solve_psd(null.I, null.U, colnames))
    tests = {"likelihood_ratio": _chisq_test(2 * (final.loglik - null.loglik), p)}

    robust_se = None
    var = naive_var
    if robust:
        L = data.score_residuals(final) * data.w[:, None]
        L0 = data.score_residuals(null) * data.w[:, None]
        if cluster_codes is not None:
            # R's cluster(id): residuals summed within each cluster (rowsum) before the cross-product
            sorted_codes = cluster_codes[data.order]
            L = np.stack([np.bincount(sorted_codes, weights=L[:, j], minlength=len(cluster_levels)) for j in range(p)], axis=1) if p else L
            L0 = np.stack([np.bincount(sorted_codes, weights=L0[:, j], minlength=len(cluster_levels)) for j in range(p)], axis=1) if p else L0
        dfbeta = np.einsum("nk,kj->nj", L, naive_var)
        var = _gram(dfbeta.T, dfbeta.T)
        robust_se = np.sqrt(np.diag(var))
        u0 = L0.sum(axis=0)
        tests_robust_score = float(u0 @ _solve_psd(_gram(L0.T, L0.T), u0, colnames))
    tests["wald"] = _chisq_test(float(beta @ _solve_psd(var, beta, colnames)), p)
    tests["score"] = _chisq_test(score_stat, p)
    if robust:
        tests["robust_score"] = _chisq_test(tests_robust_score, p)

    se_naive = np.sqrt(np.diag(naive_var))
    se_used = robust_se if robust else se_naive
    zq = normal_ppf(0.5 + conf_level / 2)
    # an infinite coefficient gives an infinite hazard ratio or bound (null in JSON), not a warning
    with np.errstate(over="ignore"):
        coefs = _coefficient_rows(colnames, beta, se_naive, robust_se, se_used, zq)

    conc = conc_se = None
    if concordance:
        from earlyphase.stats.concordance import concordance_index

        c = concordance_index(data.t, data.d, final.eta, strata=data.s, weights=data.w,
                              entry=None if entry_arr is None else entry_arr[data.order],
                              presorted=True)
        conc, conc_se = c.concordance, c.std_err

    zph_rows: tuple[ZphTerm, ...] = ()
    if zph:
        from earlyphase.stats.cox_zph import cox_zph_table

        zph_rows = cox_zph_table(data, final, design.terms,
                                 None if entry_arr is None else entry_arr[data.order])
        if any(not np.isfinite(z.chisq) for z in zph_rows):
            warn.append("the proportional-hazards test (cox.zph) does not exist for these data "
                        "(singular information, e.g. every event at one time); its rows are NaN.")

    return CoxResult(
        coefficients=tuple(coefs), variance=var, naive_variance=naive_var,
        loglik=(float(null.loglik), float(final.loglik)), tests=tests,
        n=n, n_events=int(e.sum()), n_strata=len(strata_levels), ties=ties, robust=bool(robust),
        conf_level=conf_level, iterations=iterations, converged=converged,
        concordance=conc, concordance_se=conc_se, zph=zph_rows, terms=dict(design.terms),
        means=means, warnings=tuple(warn), n_clusters=None if cluster_codes is None else len(cluster_levels),
    )


def _coefficient_rows(colnames, beta, se_naive, robust_se, se_used, zq) -> list[CoxCoefficient]:
    rows = []
    for j, name in enumerate(colnames):
        z = beta[j] / se_used[j]
        rows.append(CoxCoefficient(
            name=name, coef=float(beta[j]), se=float(se_naive[j]),
            robust_se=None if robust_se is None else float(robust_se[j]),
            hr=float(np.exp(beta[j])),
            hr_lower=float(np.exp(beta[j] - zq * se_used[j])),
            hr_upper=float(np.exp(beta[j] + zq * se_used[j])),
            z=float(z), p_value=float(2 * normal_sf(abs(z))) if np.isfinite(z) else float("nan"),
        ))
    return rows


def _newton_raphson(data: _CoxData, names, max_iter: int, eps: float):
    """R's coxfit6 iteration: returns (final evaluation, null evaluation, iterations, converged, warnings)."""
    p = data.p
    beta = np.zeros(p)
    null = data.evaluate(beta)
    current_loglik = null.loglik
    step = _solve_psd(null.I, null.U, names)
    new_beta = beta + step
    halving = False
    warn: list[str] = []
    ev = null
    iterations = 0
    converged = False
    for it in range(1, max_iter + 1):
        iterations = it
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ev = data.evaluate(new_beta)
        new_loglik = ev.loglik if np.isfinite(ev.loglik) else -np.inf
        if not halving and abs(1 - current_loglik / new_loglik) <= eps:
            converged = True
            break
        if it == max_iter:
            break
        if new_loglik < current_loglik:
            # not improving: go back half way towards the last accepted beta
            halving = True
            new_beta = (new_beta + beta) / 2
        else:
            halving = False
            current_loglik = new_loglik
            beta = new_beta
            new_beta = new_beta + _solve_psd(ev.I, ev.U, names)
    if not np.all(np.isfinite(ev.beta)) or not np.isfinite(ev.loglik):
        raise InputError.single(
            "covariates", list(names), "finite_fit",
            "the fit diverged (overflow in exp of the linear predictor); a covariate may separate "
            "events from non-events perfectly or have a huge scale.",
        )
    if not converged:
        warn.append(f"Ran out of iterations ({max_iter}) and did not converge.")
    else:
        # R: a coefficient whose one-step change is still large relative to its size may be infinite
        var = _inverse_psd(ev.I, names)
        infs = np.abs(ev.U @ var)
        flag = (infs > eps) & (infs > math.sqrt(eps) * np.abs(ev.beta))
        if flag.any() and max_iter > 1:
            bad = [names[i] for i in np.flatnonzero(flag)]
            warn.append(f"Loglik converged before variable(s) {', '.join(bad)}; coefficient may be infinite.")
    return ev, null, iterations, converged, warn
