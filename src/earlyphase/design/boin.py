"""BOIN: the Bayesian optimal interval design (Liu & Yuan 2015, JRSS C 64:507-523).

Escalate when the observed DLT rate at the current level is <= lambda_e, de-escalate
when it is >= lambda_d (strictly above, as the integer boundaries of the BOIN package
are floor(lambda_d * n) + 1), stay otherwise. With phi1 = 0.6 phi and phi2 = 1.4 phi
by default (Liu & Yuan 2015, section 2.3):

    lambda_e = log((1 - phi1) / (1 - phi)) / log(phi (1 - phi1) / (phi1 (1 - phi)))
    lambda_d = log((1 - phi) / (1 - phi2)) / log(phi2 (1 - phi) / (phi (1 - phi2)))

TITE-BOIN (Yuan, Lin, Li, Nie & Liu 2018, Clin Cancer Res 24:4921) is approximated by
counting each pending patient with weight t/T (time followed over the DLT window) in the
denominator, and accrual is suspended when more than half of the current level's
patients are pending.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from earlyphase.design._common import DEESCALATE, ESCALATE, STAY, Decision, api_door, check_probability, whole
from earlyphase.design.base import Step
from earlyphase.design.interval import IntervalDesign
from earlyphase.design.isotonic import select_mtd_many
from earlyphase.errors import InputError
from earlyphase.limits import MAX_SAMPLE_SIZE


@api_door
def boin_lambdas(target: float, p_saf: float | None = None, p_tox: float | None = None) -> tuple[float, float]:
    """(lambda_e, lambda_d) for a target DLT rate; p_saf defaults to 0.6 target, p_tox to 1.4 target."""
    phi = check_probability("target", target)
    phi1 = 0.6 * phi if p_saf is None else check_probability("p_saf", p_saf)
    phi2 = 1.4 * phi if p_tox is None else check_probability("p_tox", p_tox)
    if p_tox is None and phi2 >= 1:
        raise InputError.single("p_tox", round(phi2, 4), "p_tox<1", f"p_tox defaults to 1.4 x target = {phi2:.3g}, not a "
                                                               "probability; give p_tox (between the target and 1).")
    if not phi1 < phi < phi2:
        raise InputError.single(
            "p_saf/p_tox", (phi1, phi2), "p_saf<target<p_tox", "p_saf must be below the target and p_tox above it."
        )
    lam_e = math.log((1 - phi1) / (1 - phi)) / math.log(phi * (1 - phi1) / (phi1 * (1 - phi)))
    lam_d = math.log((1 - phi) / (1 - phi2)) / math.log(phi2 * (1 - phi) / (phi * (1 - phi2)))
    return lam_e, lam_d


@dataclass(frozen=True)
class BoinDesign(IntervalDesign):
    """BOIN with the BOIN package's defaults (cutoff_eli 0.95, offset 0.05, no early stop
    unless ``n_earlystop`` is set; optional ``bound_mtd`` at selection)."""

    p_saf: float | None = None
    p_tox: float | None = None
    bound_mtd: bool = False

    name = "boin"
    supports_tite = True

    @api_door
    def __post_init__(self):
        super().__post_init__()
        self.lambdas  # p_saf < target < p_tox, checked now rather than at the first decision

    @property
    def lambdas(self) -> tuple[float, float]:
        return boin_lambdas(self.target, self.p_saf, self.p_tox)

    def rule_grid(self, n, y):
        lam_e, lam_d = self.lambdas
        # Integer boundaries as in the BOIN package: escalate if y <= floor(lambda_e n),
        # de-escalate if y >= floor(lambda_d n) + 1. The 1e-10 guards against n*lambda
        # landing a hair below an integer in floating point.
        esc_max = np.floor(lam_e * n + 1e-10)
        de_min = np.floor(lam_d * n + 1e-10) + 1
        return np.where(y <= esc_max, ESCALATE, np.where(y >= de_min, DEESCALATE, STAY))

    def rule_sentence(self, n, y, code):
        lam_e, lam_d = self.lambdas
        rate = y / n
        if code == ESCALATE:
            return f"rate {rate:.3f} <= lambda_e {lam_e:.3f}"
        if code == DEESCALATE:
            return f"rate {rate:.3f} >= lambda_d {lam_d:.3f}"
        return f"lambda_e {lam_e:.3f} < rate {rate:.3f} < lambda_d {lam_d:.3f}"

    def select_many(self, N, Y):
        lam_d = self.lambdas[1] if self.bound_mtd else None
        mtd, _ = select_mtd_many(
            N, Y, self.target, cutoff_eli=self.cutoff_eli, extrasafe=self.extrasafe, offset=self.offset,
            bound_mtd=self.bound_mtd, lambda_d=lam_d, lookup=self.selection_lookup(N),
        )
        return mtd

    def explain(self, n, y, cur, step, decision):
        reason, details = super().explain(n, y, cur, step, decision)
        lam_e, lam_d = self.lambdas
        return reason, {"lambda_e": lam_e, "lambda_d": lam_d}

    def _decide_tite(self, n, y, cur, last, pend) -> Decision:
        pending_here = pend[cur]
        n_c = int(n[cur])
        if len(pending_here) > n_c / 2:
            return Decision(
                design=self.name, decision="wait", current_level=cur + 1, next_level=None, eliminated=(),
                reason=(f"{len(pending_here)} of {n_c} patients at level {cur + 1} are still pending: more than half, "
                        "so accrual is suspended (TITE-BOIN)"),
            )
        # Effective sample size: complete patients plus t/T for each pending one.
        n_eff = n_c - sum(1.0 - t for t in pending_here)
        lam_e, lam_d = self.lambdas
        rate = y[cur] / n_eff if n_eff > 0 else 0.0
        code = ESCALATE if rate <= lam_e else (DEESCALATE if rate >= lam_d else STAY)
        # Elimination and stopping still use complete data only (pending counted as no-DLT
        # cannot make a level look safer than its DLTs already show).
        st = self.step_many(n[None], y[None], np.array([cur]), np.array([last]))
        if bool(st.stop[0]) or st.eliminated[0, cur]:
            return self._to_decision(n, y, cur, st, prefix="TITE: ")
        L = n.size
        can_up = cur < L - 1 and not st.eliminated[0, cur + 1]
        move = 1 if code == ESCALATE and can_up else (-1 if code == DEESCALATE and cur > 0 else 0)
        st2 = Step(move=np.array([move]), stop=np.array([False]), safety=np.array([False]), raw=np.array([code]),
                   eliminated=st.eliminated)
        dec = self._to_decision(n, y, cur, st2)
        reason = (f"TITE-BOIN: {int(y[cur])} DLTs over effective n {n_eff:.2f} at level {cur + 1} "
                  f"(rate {rate:.3f}; lambda_e {lam_e:.3f}, lambda_d {lam_d:.3f})")
        return Decision(design=self.name, decision=dec.decision, current_level=cur + 1, next_level=dec.next_level,
                        eliminated=dec.eliminated, reason=reason, details={"lambda_e": lam_e, "lambda_d": lam_d, "effective_n": n_eff})


@dataclass(frozen=True)
class Boundaries:
    """BOIN boundaries for n = 1..max_n: escalate if DLTs <= ``escalate_if_at_most``,
    de-escalate if >= ``deescalate_if_at_least``, eliminate if >= ``eliminate_if_at_least``
    (None where no count qualifies)."""

    target: float
    lambda_e: float
    lambda_d: float
    rows: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"lambda_e": self.lambda_e, "lambda_d": self.lambda_d, "table": [dict(r) for r in self.rows], "target": self.target}

    def summary(self) -> str:
        def f(v):
            return "NA" if v is None else str(v)

        lines = [f"BOIN boundaries (target {self.target:g}): lambda_e = {self.lambda_e:.4f}, lambda_d = {self.lambda_d:.4f}"]
        ns = [r["n"] for r in self.rows]
        w = max(3, len(str(max(ns))) + 1)
        lines.append("Number of patients treated  " + "".join(f"{n:>{w}}" for n in ns))
        lines.append("Escalate if # of DLT <=     " + "".join(f"{f(r['escalate_if_at_most']):>{w}}" for r in self.rows))
        lines.append("De-escalate if # of DLT >=  " + "".join(f"{f(r['deescalate_if_at_least']):>{w}}" for r in self.rows))
        lines.append("Eliminate if # of DLT >=    " + "".join(f"{f(r['eliminate_if_at_least']):>{w}}" for r in self.rows))
        return "\n".join(lines)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def __str__(self) -> str:
        return self.summary()


@api_door
def boin_boundaries(target: float, max_n: int = 12, *, p_saf: float | None = None, p_tox: float | None = None,
                    cutoff_eli: float = 0.95) -> Boundaries:
    """Escalation / de-escalation / elimination boundaries for n = 1..max_n patients."""
    max_n = whole("max_n", max_n, 1, MAX_SAMPLE_SIZE)
    design = BoinDesign(target=target, p_saf=p_saf, p_tox=p_tox, cutoff_eli=cutoff_eli)
    return Boundaries(target=design.target, lambda_e=design.lambdas[0], lambda_d=design.lambdas[1],
                      rows=tuple(boundary_rows(design, int(max_n))))


def boundary_rows(design: IntervalDesign, max_n: int) -> list[dict[str, Any]]:
    """Per n: the largest DLT count that escalates, the smallest that de-escalates and the
    smallest that eliminates (None when none does). Assumes decisions monotone in y."""
    rule, elim = design.decision_codes(max_n)
    rows = []
    for n in range(1, max_n + 1):
        ys = np.arange(n + 1)
        r, e = rule[n, : n + 1], elim[n, : n + 1]
        esc = ys[r == ESCALATE]
        de = ys[(r == DEESCALATE) & ~e]
        de_all = ys[r == DEESCALATE]
        el = ys[e]
        rows.append({
            "n": n,
            "escalate_if_at_most": int(esc.max()) if esc.size else None,
            "deescalate_if_at_least": int(de.min()) if de.size else (int(de_all.min()) if de_all.size else None),
            "eliminate_if_at_least": int(el.min()) if el.size else None,
        })
    return rows
