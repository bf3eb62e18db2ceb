"""BOIN12: toxicity and efficacy together, towards the optimal biological dose (Lin, Zhou,
Li & Yuan 2020, JCO Precision Oncology 4:1393-1402).

Each patient has two binary outcomes: DLT (T) and response (E). Their four combinations
carry utilities u1 (response, no DLT; 100), u2 (neither), u3 (both) and u4 (DLT without
response; 0). With y1..y4 patients in the four cells at a level, x = (u1 y1 + u2 y2 + u3 y3
+ u4 y4) / 100 is treated as a binomial count out of n, and the level's desirability is
the rank-based score RDS = P(utility > u_b | Beta(1 + x, 1 + n - x)), where u_b lies half
way between the utility of the least acceptable profile (DLT rate phi_T, response rate
phi_E) and 100.

Rules at the current level d, with p = DLTs / n there (BOIN's lambda_e, lambda_d for phi_T):

* p >= lambda_d: de-escalate to d - 1;
* dose exploration: n >= ``n_explore``, p < lambda_d and d + 1 never tried: escalate;
* lambda_e < p < lambda_d with n >= ``n_star``: the admissible level of {d - 1, d} with the
  highest RDS;
* otherwise: the admissible level of {d - 1, d, d + 1} with the highest RDS (a tie goes to
  the higher level).

Admissible: not eliminated for toxicity (n >= 3 and P(p_T > phi_T) > c_T eliminates the level
and all above) and not futile (n >= 3 and P(p_E < phi_E) > c_E), both with Beta(1, 1)
priors. No admissible candidate, or level 1 eliminated: the trial stops.

Selection of the optimal biological dose (OBD) at the end: among tried admissible levels,
the MTD is the level whose isotonic DLT estimate is closest to phi_T (BOIN's selection);
among admissible levels at or below it, the OBD maximises the estimated utility
u1 pE (1 - pT) + u2 (1 - pE)(1 - pT) + u3 pE pT + u4 (1 - pE) pT, with pT isotonic and pE
the observed response rate ((y + 0.05) / (n + 0.1), as BOIN smooths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import beta as beta_dist

from earlyphase.design._common import Decision, api_door, check_counts, check_probability
from earlyphase.design.boin import boin_lambdas
from earlyphase.design.isotonic import isotonic_many
from earlyphase.errors import InputError


@dataclass(frozen=True)
class Boin12Design:
    """BOIN12 parameters: ``target`` = phi_T (highest acceptable DLT rate), ``efficacy_min`` =
    phi_E (lowest acceptable response rate), utilities ``u2``, ``u3`` (u1 = 100, u4 = 0),
    admissibility cutoffs ``c_t``, ``c_e``, ``n_star``, ``n_explore``, optional
    ``n_earlystop`` (stop when the next level already has that many patients)."""

    target: float = 0.35
    efficacy_min: float = 0.25
    u2: float = 40.0
    u3: float = 60.0
    c_t: float = 0.95
    c_e: float = 0.9
    n_star: int = 6
    n_explore: int = 9
    n_earlystop: int | None = None

    name = "boin12"
    u1 = 100.0
    u4 = 0.0

    @api_door
    def __post_init__(self):
        check_probability("target", self.target)
        check_probability("efficacy_min", self.efficacy_min)
        check_probability("c_t", self.c_t)
        check_probability("c_e", self.c_e)
        for nm in ("u2", "u3"):
            v = getattr(self, nm)
            if not (0 <= float(v) <= 100):
                raise InputError.single(nm, v, "0..100", f"{nm} is a utility between 0 (DLT, no response) and 100 (response, no DLT).")
        if int(self.n_star) < 1 or int(self.n_explore) < 1:
            raise InputError.single("n_star/n_explore", (self.n_star, self.n_explore), "positive", "n_star and n_explore must be at least 1.")

    # -- pieces ------------------------------------------------------------------------------
    @property
    def lambdas(self) -> tuple[float, float]:
        return boin_lambdas(self.target)

    @property
    def benchmark(self) -> float:
        """u_b / 100: half way between the least acceptable profile's utility and 100."""
        pt, pe = self.target, self.efficacy_min
        ubar = self.u1 * pe * (1 - pt) + self.u2 * (1 - pt) * (1 - pe) + self.u3 * pt * pe + self.u4 * pt * (1 - pe)
        return (ubar + (100 - ubar) / 2) / 100

    def utility_counts(self, N, T, E, TE) -> np.ndarray:
        """x = quasi-binomial utility count per level."""
        y1 = E - TE
        y2 = N - T - E + TE
        y4 = T - TE
        return (self.u1 * y1 + self.u2 * y2 + self.u3 * TE + self.u4 * y4) / 100

    def rds(self, N, T, E, TE) -> np.ndarray:
        """Rank-based desirability score of every level (trials x levels)."""
        x = self.utility_counts(N, T, E, TE)
        return beta_dist.sf(self.benchmark, 1 + x, 1 + N - x)

    def admissible(self, N, T, E) -> tuple[np.ndarray, np.ndarray]:
        """(admissible, tox_eliminated), trials x levels."""
        N = np.asarray(N, dtype=float)
        enough = N >= 3
        tox = enough & (beta_dist.sf(self.target, 1 + T, 1 + N - T) > self.c_t)
        tox = np.logical_or.accumulate(tox, axis=1)
        futile = enough & (beta_dist.cdf(self.efficacy_min, 1 + E, 1 + N - E) > self.c_e)
        return ~tox & ~futile, tox

    # -- decisions ---------------------------------------------------------------------------
    def step_many(self, N, T, E, TE, cur) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(next level, stop, safety) per trial; levels 0-based. ``N`` patients, ``T`` DLTs,
        ``E`` responses, ``TE`` patients with both, per level."""
        N = np.asarray(N, dtype=np.int64)
        T = np.asarray(T, dtype=np.int64)
        E = np.asarray(E, dtype=np.int64)
        TE = np.asarray(TE, dtype=np.int64)
        cur = np.asarray(cur, dtype=np.int64)
        R, L = N.shape
        idx = np.arange(R)
        lam_e, lam_d = self.lambdas
        ok, tox = self.admissible(N, T, E)
        score = self.rds(N, T, E, TE)
        n = N[idx, cur]
        p = np.where(n > 0, T[idx, cur] / np.maximum(n, 1), 0.0)
        down = np.maximum(cur - 1, 0)
        up = np.minimum(cur + 1, L - 1)
        has_up = cur < L - 1

        def best_of(offsets):
            # admissible candidate with the highest RDS; ties to the higher level
            best = np.full(R, -1)
            best_score = np.full(R, -np.inf)
            for off in offsets:  # ascending, so ">=" hands ties to the higher level
                lv = cur + off
                valid = (lv >= 0) & (lv < L)
                lvc = np.clip(lv, 0, L - 1)
                cand = valid & ok[idx, lvc]
                s = np.where(cand, score[idx, lvc], -np.inf)
                take = cand & (s >= best_score)
                best = np.where(take, lvc, best)
                best_score = np.where(take, s, best_score)
            return best

        nxt = best_of((-1, 0, 1))
        between = (p > lam_e) & (p < lam_d) & (n >= self.n_star)
        nxt = np.where(between, best_of((-1, 0)), nxt)
        explore = (n >= self.n_explore) & (p < lam_d) & has_up & (N[idx, up] == 0) & ~tox[idx, up]
        nxt = np.where(explore, up, nxt)
        nxt = np.where(p >= lam_d, down, nxt)
        safety = tox[:, 0]
        stop = safety | (nxt < 0)
        # never into a level eliminated for toxicity
        stop |= (nxt >= 0) & tox[idx, np.maximum(nxt, 0)]
        if self.n_earlystop is not None:
            stop |= (nxt >= 0) & (N[idx, np.maximum(nxt, 0)] >= self.n_earlystop)
        nxt = np.where(stop, cur, nxt)
        return nxt, stop, safety

    def estimated_utility(self, N, T, E) -> tuple[np.ndarray, np.ndarray]:
        """(estimated mean utility 0-100, isotonic DLT rate) per level; response rate as observed."""
        N = np.asarray(N, dtype=float)
        pt_raw = (T + 0.05) / (N + 0.1)
        var = pt_raw * (1 - pt_raw) / (N + 0.1)
        pt = isotonic_many(pt_raw, np.where(N > 0, 1 / var, 0.0))
        pe = (E + 0.05) / (N + 0.1)
        return (self.u1 * pe * (1 - pt) + self.u2 * (1 - pe) * (1 - pt) + self.u3 * pe * pt + self.u4 * (1 - pe) * pt), pt

    def select_many(self, N, T, E) -> np.ndarray:
        """0-based OBD per trial, or -1 (see module doc)."""
        N = np.asarray(N, dtype=float)
        ok, _ = self.admissible(N, T, E)
        util, pt = self.estimated_utility(N, T, E)
        usable = ok & (N > 0)
        dist = np.where(usable, np.abs(pt - self.target), np.inf)
        # MTD: closest to the target; ties to the higher level when below the target
        L = N.shape[1]
        key = dist - 1e-9 * np.arange(L)[None, :] * (pt <= self.target)
        mtd = np.argmin(np.where(usable, key, np.inf), axis=1)
        below = usable & (np.arange(L)[None, :] <= mtd[:, None])
        obd = np.argmax(np.where(below, util, -np.inf), axis=1)
        return np.where(usable.any(axis=1), obd, -1)

    def decide(self, n, dlt, responses, both, current: int) -> Decision:
        """Next-dose decision for one trial: per level (level 1 first) patients ``n``, DLTs
        ``dlt``, responses ``responses`` and patients with both ``both``; ``current`` 1-based."""
        n_arr, t_arr = check_counts(n, dlt, current)
        _, e_arr = check_counts(n, responses)
        _, b_arr = check_counts(n, both)
        bad = [i + 1 for i in range(n_arr.size)
               if b_arr[i] > min(t_arr[i], e_arr[i]) or t_arr[i] + e_arr[i] - b_arr[i] > n_arr[i]]
        if bad:
            raise InputError.single(f"both[{bad[0]}]", int(b_arr[bad[0] - 1]), "consistent-counts",
                                    f"At level {bad[0]} the patients with both a DLT and a response must be at most each "
                                    "count, and DLTs + responses - both at most the patients.")
        cur = int(current) - 1
        nxt, stop, safety = self.step_many(n_arr[None], t_arr[None], e_arr[None], b_arr[None], np.array([cur]))
        ok, tox = self.admissible(n_arr[None], t_arr[None], e_arr[None])
        rds = self.rds(n_arr[None], t_arr[None], e_arr[None], b_arr[None])[0]
        eliminated = tuple(int(i) + 1 for i in np.flatnonzero(tox[0]))
        details = {"desirability": [float(v) for v in rds], "admissible": [bool(v) for v in ok[0]], **self.describe()}
        if bool(stop[0]):
            obd = int(self.select_many(n_arr[None], t_arr[None], e_arr[None])[0])
            why = ("level 1 is too toxic (P(DLT rate > target) > c_T): the trial stops" if bool(safety[0])
                   else "no admissible level to treat next: the trial stops")
            return Decision(design=self.name, decision="stop", current_level=cur + 1, next_level=None,
                            eliminated=eliminated, reason=why, mtd=None if bool(safety[0]) or obd < 0 else obd + 1,
                            details=details)
        nx = int(nxt[0])
        word = {1: "escalate", 0: "stay", -1: "de-escalate"}[int(np.sign(nx - cur))]
        p = t_arr[cur] / n_arr[cur] if n_arr[cur] else 0.0
        reason = (f"{int(t_arr[cur])}/{int(n_arr[cur])} DLTs at level {cur + 1} (rate {p:.3f}; lambda_e "
                  f"{self.lambdas[0]:.3f}, lambda_d {self.lambdas[1]:.3f}); desirability "
                  + ", ".join(f"{v:.3f}" for v in rds) + f"; next level {nx + 1}")
        return Decision(design=self.name, decision=word, current_level=cur + 1, next_level=nx + 1,
                        eliminated=eliminated, reason=reason, details=details)

    def describe(self) -> dict[str, Any]:
        lam_e, lam_d = self.lambdas
        return {"target": self.target, "efficacy_min": self.efficacy_min, "utilities": [self.u1, self.u2, self.u3, self.u4],
                "benchmark_utility": 100 * self.benchmark, "lambda_e": lam_e, "lambda_d": lam_d}


def true_utility(design: Boin12Design, tox: np.ndarray, eff: np.ndarray) -> np.ndarray:
    """Mean utility of each level when DLT and response are independent."""
    return (design.u1 * eff * (1 - tox) + design.u2 * (1 - eff) * (1 - tox) + design.u3 * eff * tox
            + design.u4 * (1 - eff) * tox)


def true_obd(design: Boin12Design, tox, eff) -> int | None:
    """0-based level with the highest true utility among the acceptable ones (DLT rate at most
    phi_T, response rate at least phi_E); None when none is acceptable."""
    tox, eff = np.asarray(tox, float), np.asarray(eff, float)
    ok = (tox <= design.target) & (eff >= design.efficacy_min)
    if not ok.any():
        return None
    return int(np.argmax(np.where(ok, true_utility(design, tox, eff), -np.inf)))
