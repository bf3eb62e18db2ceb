"""The continual reassessment method (O'Quigley, Pepe & Fisher 1990, Biometrics 46:33).

One-parameter working models, as in Cheung's dfcrm package and book (Dose Finding by
the Continual Reassessment Method, 2011):

* empiric (power): p_k(beta) = s_k ** exp(beta), s = skeleton;
* logistic: p_k(beta) = expit(a0 + exp(beta) x_k), with x_k = logit(s_k) - a0, a0 = 3.

beta has a normal prior N(0, prior_sd^2) (default sd sqrt(1.34)). The posterior is
computed by numerical integration on a fixed grid (composite 6-point Gauss-Legendre on
panels of width 0.25 over +-10 prior sds, split at the value of beta where p_1 = target
so that P(p_1 > target) is integrated exactly). The estimate of each p_k plugs in the posterior mean of beta (dfcrm's
"bayes" method); the recommended level is the one whose estimate is closest to the target.

Conduct rules (defaults): no skipping of untried levels when escalating (at most one
level up), no escalation right after a cohort with a DLT, and a safety stop when
P(p_1 > target | data) > safety_cutoff. The final MTD is the recommended level among the
levels that were tried (the design never selects an untried level).

TITE-CRM (Cheung & Chappell 2000, Biometrics 56:1177): a pending patient without DLT
followed for a fraction w = t/T of the window contributes log(1 - w p) to the likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from earlyphase.design._common import DEESCALATE, ESCALATE, STAY, Decision, api_door, check_probability, row_keys as _row_keys
from earlyphase.design.base import Design, Step
from earlyphase.errors import InputError

DEFAULT_PRIOR_SD = math.sqrt(1.34)


@api_door
def getprior(halfwidth: float, target: float, nu: int, nlevel: int, model: str = "empiric", intercept: float = 3.0) -> np.ndarray:
    """Skeleton by the indifference-interval method of Lee & Cheung (2009, Clin Trials 6:227).

    ``halfwidth`` is the half-width delta of the indifference interval target +- delta,
    ``nu`` the 1-based level believed to be the MTD, ``nlevel`` the number of levels.
    Each neighbouring pair of levels is spaced so that at the parameter value where the
    higher one has DLT probability target + delta, the lower one has target - delta.
    """
    target = check_probability("target", target)
    halfwidth = float(halfwidth)
    nu, nlevel = int(nu), int(nlevel)
    if not (0 < halfwidth < min(target, 1 - target)):
        raise InputError.single("halfwidth", halfwidth, "0<delta<min(target,1-target)",
                                "The indifference half-width must be positive and keep target +- delta inside (0, 1).")
    if not (1 <= nu <= nlevel):
        raise InputError.single("nu", nu, "1<=nu<=nlevel", f"The prior MTD level must be between 1 and {nlevel}.")
    lo, hi = target - halfwidth, target + halfwidth
    if model == "empiric":
        g = np.log  # p = s^exp(beta): log p = exp(beta) log s
        d = np.empty(nlevel)
        d[nu - 1] = math.log(target)
        for k in range(nu - 1, 0, -1):
            scale = math.log(hi) / d[k]  # exp(b_k): level k at target + delta
            d[k - 1] = math.log(lo) / scale
        for k in range(nu - 1, nlevel - 1):
            scale = math.log(lo) / d[k]  # exp(b_{k+1}): level k at target - delta
            d[k + 1] = math.log(hi) / scale
        return np.exp(d)
    if model == "logistic":
        logit = lambda p: math.log(p / (1 - p))  # noqa: E731
        x = np.empty(nlevel)
        x[nu - 1] = logit(target) - intercept
        for k in range(nu - 1, 0, -1):
            scale = (logit(hi) - intercept) / x[k]
            x[k - 1] = (logit(lo) - intercept) / scale
        for k in range(nu - 1, nlevel - 1):
            scale = (logit(lo) - intercept) / x[k]
            x[k + 1] = (logit(hi) - intercept) / scale
        return 1.0 / (1.0 + np.exp(-(intercept + x)))
    raise InputError.single("model", model, "empiric|logistic", "The CRM model must be 'empiric' or 'logistic'.")


@lru_cache(maxsize=32)
def _crm_grid(design: "CrmDesign") -> dict[str, np.ndarray]:
    return design._build_grid()


def _gauss_panels(a: float, b: float, width: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of composite Gauss-Legendre quadrature on [a, b]: panels of at
    most ``width``, ``points`` nodes each."""
    m = max(1, int(math.ceil((b - a) / width)))
    x, w = np.polynomial.legendre.leggauss(points)
    edges = np.linspace(a, b, m + 1)
    half = (edges[1:] - edges[:-1]) / 2
    mid = (edges[1:] + edges[:-1]) / 2
    return (mid[:, None] + half[:, None] * x[None, :]).ravel(), (half[:, None] * w[None, :]).ravel()


@dataclass(frozen=True)
class CrmDesign(Design):
    """CRM with a fixed skeleton (see module doc for the model and rules).

    ``safety_cutoff`` None switches the safety stop off; ``safety_min_n`` is the number of
    patients level 1 needs before it applies. ``n_earlystop`` stops the trial when the next
    recommended level already has that many patients. ``panel_width`` and ``gauss_points`` set
    the integration grid in beta.
    """

    skeleton: tuple[float, ...] = ()
    target: float = 0.3
    model: str = "empiric"
    intercept: float = 3.0
    prior_sd: float = DEFAULT_PRIOR_SD
    no_skip: bool = True
    no_escalation_after_dlt: bool = True
    safety_cutoff: float | None = 0.9
    safety_min_n: int = 3
    n_earlystop: int | None = None
    panel_width: float = 0.25
    gauss_points: int = 6

    name = "crm"
    supports_tite = True

    @api_door
    def __post_init__(self):
        check_probability("target", self.target)
        sk = tuple(float(v) for v in self.skeleton)
        object.__setattr__(self, "skeleton", sk)
        if len(sk) < 1:
            raise InputError.single("skeleton", self.skeleton, "non-empty", "Give a skeleton: one prior DLT probability per level.")
        for i, v in enumerate(sk, start=1):
            check_probability(f"skeleton[{i}]", v)
        if any(b <= a for a, b in zip(sk, sk[1:])):
            raise InputError.single("skeleton", list(sk), "increasing", "Skeleton probabilities must increase strictly with level.")
        if self.model not in ("empiric", "logistic"):
            raise InputError.single("model", self.model, "empiric|logistic", "The CRM model must be 'empiric' or 'logistic'.")
        if self.model == "logistic" and sk[-1] >= 1 / (1 + math.exp(-self.intercept)):
            raise InputError.single("skeleton", list(sk), "below-expit(intercept)",
                                    "With the logistic model every skeleton value must be below expit(intercept).")
        if not self.prior_sd > 0:
            raise InputError.single("prior_sd", self.prior_sd, "positive", "The prior standard deviation must be positive.")
        if self.safety_cutoff is not None:
            check_probability("safety_cutoff", self.safety_cutoff)

    # -- model -------------------------------------------------------------------------------
    def _beta_star(self) -> float:
        """beta at which p_1 equals the target; p_1 > target exactly when beta < beta_star."""
        s1, phi = self.skeleton[0], self.target
        if self.model == "empiric":
            return math.log(math.log(phi) / math.log(s1))
        x1 = math.log(s1 / (1 - s1)) - self.intercept
        rhs = (math.log(phi / (1 - phi)) - self.intercept) / x1
        return math.log(rhs) if rhs > 0 else -math.inf

    def grid(self) -> dict[str, np.ndarray]:
        """Integration nodes, weights (prior density included), and log p / log(1-p) per level."""
        return _crm_grid(self)

    def _build_grid(self) -> dict[str, np.ndarray]:
        lim = 10.0 * self.prior_sd
        bs = min(max(self._beta_star(), -lim), lim)
        empty = (np.empty(0), np.empty(0))
        xl, wl = _gauss_panels(-lim, bs, self.panel_width, self.gauss_points) if bs > -lim else empty
        xr, wr = _gauss_panels(bs, lim, self.panel_width, self.gauss_points) if bs < lim else empty
        b = np.concatenate([xl, xr])
        w = np.concatenate([wl, wr])
        left = np.concatenate([np.ones(xl.size, bool), np.zeros(xr.size, bool)])
        logprior = -0.5 * (b / self.prior_sd) ** 2
        logp, log1mp = self.log_probs(b)
        return {"beta": b, "logw": np.log(w) + logprior, "left": left, "logp": logp, "log1mp": log1mp}

    def log_probs(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log p_k(beta) and log(1 - p_k(beta)), arrays levels x len(beta)."""
        s = np.asarray(self.skeleton)[:, None]
        eb = np.exp(beta)[None, :]
        if self.model == "empiric":
            logp = eb * np.log(s)
            return logp, np.log(-np.expm1(logp))
        x = np.log(s / (1 - s)) - self.intercept
        z = self.intercept + eb * x
        return -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)

    def ptox(self, beta: np.ndarray) -> np.ndarray:
        """DLT probability per level at each beta (rows: beta values)."""
        beta = np.atleast_1d(beta)
        logp, _ = self.log_probs(beta)
        return np.exp(logp.T)

    def posterior_many(self, N: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean of beta and P(p_1 > target) for each row of counts."""
        g = self.grid()
        N = np.asarray(N, dtype=float)
        Y = np.asarray(Y, dtype=float)
        # Identical count vectors share a posterior: compute each once.
        key = np.concatenate([N, Y], axis=1)
        L = N.shape[1]
        flat = _row_keys(key)
        if flat is None:
            uniq, inverse = np.unique(key, axis=0, return_inverse=True)
        else:
            _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
            uniq = key[first]
        nu, yu = uniq[:, :L], uniq[:, L:]
        loglik = yu @ g["logp"] + (nu - yu) @ g["log1mp"]
        mean, p_over = self._moments(loglik)
        inverse = inverse.reshape(-1)
        return mean[inverse], p_over[inverse]

    def _moments(self, loglik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = self.grid()
        lp = loglik + g["logw"][None, :]
        lp -= lp.max(axis=1, keepdims=True)
        w = np.exp(lp)
        z = w.sum(axis=1)
        mean = (w @ g["beta"]) / z
        p_over = w[:, g["left"]].sum(axis=1) / z
        return mean, p_over

    # -- rules -------------------------------------------------------------------------------
    def _recommend(self, mean_beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pt = self.ptox(mean_beta)
        # closest to the target; ties go to the lower level (argmin takes the first)
        return np.argmin(np.abs(pt - self.target), axis=1), pt

    def step_many(self, N, Y, cur, last_dlt) -> Step:
        N = np.asarray(N, dtype=float)
        T, L = N.shape
        if L != len(self.skeleton):
            raise InputError.single("n", L, "len(skeleton)", f"The skeleton has {len(self.skeleton)} levels but the counts have {L}.")
        mean, p_over = self.posterior_many(N, Y)
        return self._rules(N, np.asarray(cur), np.asarray(last_dlt), mean, p_over)

    def _rules(self, N, cur, last_dlt, mean, p_over) -> Step:
        T, L = N.shape
        rec, _ = self._recommend(mean)
        tried = N > 0
        highest = np.where(tried.any(axis=1), L - 1 - np.argmax(tried[:, ::-1], axis=1), -1)
        ceiling = np.maximum(highest, cur) + 1  # never beyond the first untried level
        nxt = np.minimum(rec, ceiling)
        if self.no_skip:
            nxt = np.minimum(nxt, cur + 1)
        if self.no_escalation_after_dlt:
            nxt = np.where(last_dlt > 0, np.minimum(nxt, cur), nxt)
        nxt = np.minimum(nxt, L - 1)
        raw = np.sign(rec - cur)
        safety = np.zeros(T, dtype=bool)
        if self.safety_cutoff is not None:
            safety = (N[:, 0] >= self.safety_min_n) & (p_over > self.safety_cutoff)
        stop = safety.copy()
        if self.n_earlystop is not None:
            stop |= N[np.arange(T), nxt] >= self.n_earlystop
        move = np.where(stop, 0, nxt - cur)
        return Step(move=move, stop=stop, safety=safety, raw=raw, eliminated=np.zeros((T, L), dtype=bool))

    def select_many(self, N, Y) -> np.ndarray:
        N = np.asarray(N, dtype=float)
        mean, _ = self.posterior_many(N, Y)
        _, pt = self._recommend(mean)
        dist = np.where(N > 0, np.abs(pt - self.target), np.inf)
        best = np.argmin(dist, axis=1)
        return np.where(np.isfinite(dist.min(axis=1)), best, -1)

    def cleared_many(self, N, Y, level) -> np.ndarray:
        """Open for backfill: tried, and its estimated DLT probability is at most the target."""
        N = np.asarray(N, dtype=float)
        mean, _ = self.posterior_many(N, Y)
        pt = self.ptox(mean)
        idx = np.arange(N.shape[0])
        return (N[idx, level] > 0) & (pt[idx, level] <= self.target)

    # -- one trial ---------------------------------------------------------------------------
    def fit(self, n: Sequence[int], dlt: Sequence[int], pending: Sequence[Sequence[float]] | None = None) -> dict[str, Any]:
        """Posterior summary for one trial: posterior mean and sd of beta, plug-in DLT
        probabilities per level, P(p_1 > target), and the model's recommended level (1-based)."""
        g = self.grid()
        n = np.asarray(n, dtype=float)
        y = np.asarray(dlt, dtype=float)
        if pending:
            comp_nontox = n - y - np.array([len(p) for p in pending])
            loglik = y @ g["logp"] + comp_nontox @ g["log1mp"]
            for lev, fr in enumerate(pending):
                for w in fr:
                    # log(1 - w p) for a pending patient followed for fraction w
                    loglik = loglik + np.log1p(-w * np.exp(g["logp"][lev]))
        else:
            loglik = y @ g["logp"] + (n - y) @ g["log1mp"]
        loglik = loglik[None, :]
        mean, p_over = self._moments(loglik)
        lp = loglik + g["logw"][None, :]
        w = np.exp(lp - lp.max())
        var = float((w @ (g["beta"] - mean[0]) ** 2)[0] / w.sum())
        rec, pt = self._recommend(mean)
        return {
            "posterior_mean_beta": float(mean[0]),
            "posterior_sd_beta": math.sqrt(var),
            "ptox": [float(v) for v in pt[0]],
            "p_overdose_level1": float(p_over[0]),
            "model_recommended_level": int(rec[0]) + 1,
            "_mean": mean,
            "_p_over": p_over,
        }

    def explain(self, n, y, cur, step, decision):
        fit = self.fit(n, y)
        rec = fit["model_recommended_level"]
        lvl = cur + 1
        if bool(step.safety[0]):
            reason = (f"P(DLT rate at level 1 > {self.target:g}) = {fit['p_overdose_level1']:.3f} > {self.safety_cutoff:g}: "
                      "the trial stops with no MTD")
        else:
            est = ", ".join(f"{p:.3f}" for p in fit["ptox"])
            reason = f"estimated DLT probabilities {est}; level {rec} is closest to the target {self.target:g}"
            nxt = lvl + int(step.move[0])
            if decision == "stop":
                reason += f"; the next level already has {self.n_earlystop} or more patients: stop"
            elif nxt < rec and nxt == lvl + 1:
                reason += "; no skipping: at most one level up"
            elif nxt < rec and nxt == lvl and self.no_escalation_after_dlt:
                reason += "; no escalation right after a cohort with a DLT"
        details = {k: v for k, v in fit.items() if not k.startswith("_")}
        return reason, details

    def _decide_tite(self, n, y, cur, last, pend) -> Decision:
        fit = self.fit(n, y, pend)
        st = self._rules(n[None].astype(float), np.array([cur]), np.array([last]), fit["_mean"], fit["_p_over"])
        dec = self._to_decision(n, y, cur, st)
        est = ", ".join(f"{p:.3f}" for p in fit["ptox"])
        reason = (f"TITE-CRM with {sum(len(p) for p in pend)} pending patient(s) weighted by follow-up: "
                  f"estimated DLT probabilities {est}")
        details = {k: v for k, v in fit.items() if not k.startswith("_")}
        return Decision(design=self.name, decision=dec.decision, current_level=cur + 1, next_level=dec.next_level,
                        eliminated=(), reason=reason, mtd=dec.mtd, details=details)


__all__ = ["CrmDesign", "getprior", "ESCALATE", "STAY", "DEESCALATE"]
