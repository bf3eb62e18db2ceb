"""Decisions with patients still inside their DLT window, for many trials at once.

The time-to-event simulator asks, at each decision time and for every running trial,
what the design would do given complete patients (DLT seen, or window completed without
one) and pending patients (no DLT yet, followed for a fraction w = t / T of the window T).

* TITE-CRM (Cheung & Chappell 2000, Biometrics 56:1177): a pending patient's likelihood
  contribution is 1 - w p(dose) (linear weight w = t / T); DLTs and completed windows count
  as in the CRM. With no pending patient this is exactly the CRM posterior.
* TITE-BOIN (Yuan, Lin, Li, Nie & Liu 2018, Clin Cancer Res 24:4921): the DLT rate at the
  current level is estimated as y / (n - m + sum w) (n patients, m of them pending), and
  accrual is suspended while more than half of the current level's patients are pending;
  elimination and stopping use the observed DLTs. Same rule as ``BoinDesign.decide(...,
  tite=True)``.
* Any design without TITE weights: ``"wait"`` decides when the pending outcomes cannot
  change the decision (all pending without DLT and all with DLT give the same answer),
  and otherwise waits, as ``Design.decide`` does for one trial; ``"suspend"`` waits until
  every enrolled patient's window is complete.

Inputs per trial: ``N`` patients per level (pending included), ``Y`` observed DLTs per
level, ``cur`` current level (0-based), ``last`` DLTs seen in the last cohort, and the
pending patients as ``plev`` (trials x slots, level or -1) and ``pw`` (their weights).
"""

from __future__ import annotations

import numpy as np

from earlyphase.design._common import DEESCALATE, ESCALATE
from earlyphase.design.base import Design, Step
from earlyphase.errors import InputError

PENDING_RULES = ("wait", "suspend")


def pending_step(design: Design, N, Y, cur, last, plev, pw, *, tite: bool, pending_rule: str = "wait") -> tuple[Step, np.ndarray]:
    """The design's step for each trial and a boolean array: True where the trial must wait
    (its step is then meaningless)."""
    if pending_rule not in PENDING_RULES:
        raise InputError.single("pending_rule", pending_rule, "|".join(PENDING_RULES),
                                "Say what a design without TITE weights does with pending patients: 'wait' or 'suspend'.")
    N = np.asarray(N, dtype=np.int64)
    Y = np.asarray(Y, dtype=np.int64)
    cur = np.asarray(cur, dtype=np.int64)
    last = np.asarray(last, dtype=np.int64)
    pending = plev >= 0
    any_pending = pending.any(axis=1)
    if tite:
        if not design.supports_tite:
            raise InputError.single("tite", True, "supported", f"TITE weighting is available for BOIN and CRM, not {design.name}.")
        from earlyphase.design.boin import BoinDesign
        from earlyphase.design.crm import CrmDesign

        if isinstance(design, CrmDesign):
            return tite_crm_step(design, N, Y, cur, last, plev, pw), np.zeros(N.shape[0], dtype=bool)
        if isinstance(design, BoinDesign):
            return tite_boin_step(design, N, Y, cur, last, plev, pw)
        raise InputError.single("tite", True, "supported", f"No TITE rule is written for {design.name}.")
    if pending_rule == "suspend":
        return design.step_many(N, Y, cur, last), any_pending
    n_pend = _pending_counts(plev, N.shape[1])
    idx = np.arange(N.shape[0])
    opt = design.step_many(N, Y, cur, last)
    pes = design.step_many(N, Y + n_pend, cur, last + n_pend[idx, cur])
    same = (opt.move == pes.move) & (opt.stop == pes.stop)
    return opt, any_pending & ~same


def _pending_counts(plev: np.ndarray, L: int) -> np.ndarray:
    T = plev.shape[0]
    out = np.zeros((T, L), dtype=np.int64)
    rows, cols = np.nonzero(plev >= 0)
    np.add.at(out, (rows, plev[rows, cols]), 1)
    return out


def _pending_weight_sums(plev, pw, L) -> np.ndarray:
    T = plev.shape[0]
    out = np.zeros((T, L))
    rows, cols = np.nonzero(plev >= 0)
    np.add.at(out, (rows, plev[rows, cols]), pw[rows, cols])
    return out


def tite_crm_loglik(design, N, Y, plev, pw) -> np.ndarray:
    """Log-likelihood over the design's beta grid (trials x nodes) with TITE weights."""
    g = design.grid()
    n_pend = _pending_counts(plev, N.shape[1])
    complete_no_dlt = (N - Y - n_pend).astype(float)
    loglik = Y.astype(float) @ g["logp"] + complete_no_dlt @ g["log1mp"]
    p = np.exp(g["logp"])  # levels x nodes
    rows, cols = np.nonzero(plev >= 0)
    if rows.size:
        # log(1 - w p) for each pending patient, added to its trial's row
        contrib = np.log1p(-pw[rows, cols][:, None] * p[plev[rows, cols]])
        np.add.at(loglik, rows, contrib)
    return loglik


def tite_crm_step(design, N, Y, cur, last, plev, pw) -> Step:
    mean, p_over = design._moments(tite_crm_loglik(design, N, Y, plev, pw))
    return design._rules(N.astype(float), cur, last, mean, p_over)


def tite_boin_step(design, N, Y, cur, last, plev, pw) -> tuple[Step, np.ndarray]:
    T, L = N.shape
    idx = np.arange(T)
    n_pend = _pending_counts(plev, L)[idx, cur]
    w_sum = _pending_weight_sums(plev, pw, L)[idx, cur]
    n_c = N[idx, cur]
    wait = n_pend > n_c / 2
    n_eff = n_c - n_pend + w_sum
    rate = np.where(n_eff > 0, Y[idx, cur] / np.where(n_eff > 0, n_eff, 1.0), 0.0)
    lam_e, lam_d = design.lambdas
    code = np.where(rate <= lam_e, ESCALATE, np.where(rate >= lam_d, DEESCALATE, 0))
    st = design.step_many(N, Y, cur, last)
    keep = st.stop | st.eliminated[idx, cur]  # elimination and stopping from observed DLTs
    up = np.minimum(cur + 1, L - 1)
    can_up = (cur < L - 1) & ~st.eliminated[idx, up]
    move = np.where((code == ESCALATE) & can_up, 1, np.where((code == DEESCALATE) & (cur > 0), -1, 0))
    move = np.where(keep, st.move, move)
    stop = keep & st.stop
    out = Step(move=move, stop=stop, safety=st.safety & keep, raw=np.where(keep, st.raw, code), eliminated=st.eliminated)
    # Suspension comes first, as in BoinDesign.decide(tite=True).
    return out, wait
