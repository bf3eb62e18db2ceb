"""The common shape of a dose-finding design.

A design is a pure rule over per-level counts. Its core is ``step_many``: given the counts
of many trials at once (arrays of shape trials x levels) and each trial's current level,
it returns the move (-1, 0, +1), whether the trial stops, and which levels are eliminated.
The simulator calls it once per cohort for all trials; ``decide`` calls it for one trial,
so live decisions and simulated ones come from the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from earlyphase.design._common import (
    DECISION_WORDS,
    Decision,
    check_counts,
    check_pending,
    levels_1based,
)
from earlyphase.errors import InputError


@dataclass(frozen=True)
class Step:
    """What a design decides for each of many trials (arrays of length ``trials``).

    ``move``: -1, 0 or +1 level; ``stop``: the trial ends; ``safety``: it ends because even
    the lowest level is too toxic (no MTD); ``raw``: the rule's own decision code before
    admissibility (an escalation blocked by the top level or an eliminated level becomes
    a stay); ``eliminated``: trials x levels.
    """

    move: np.ndarray
    stop: np.ndarray
    safety: np.ndarray
    raw: np.ndarray
    eliminated: np.ndarray


class Design:
    """Base class; subclasses are frozen dataclasses with their parameters as fields."""

    name: str = "design"
    #: pending patients can be weighted by follow-up (TITE) instead of waiting
    supports_tite: bool = False
    #: levels lie on one line (level k+1 more toxic than k); False for regimens only
    #: partially ordered, where the next level need not be a neighbour
    linear_levels: bool = True

    # -- to implement -------------------------------------------------------------------
    def step_many(self, N: np.ndarray, Y: np.ndarray, cur: np.ndarray, last_dlt: np.ndarray) -> Step:
        raise NotImplementedError

    def select_many(self, N: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """0-based selected MTD per trial, or -1 when none."""
        raise NotImplementedError

    def explain(self, n: np.ndarray, y: np.ndarray, cur: int, step: Step, decision: str) -> tuple[str, dict]:
        """A plain sentence for one trial's decision, and extra details for the JSON."""
        return decision, {}

    def cleared_many(self, N: np.ndarray, Y: np.ndarray, level: np.ndarray) -> np.ndarray:
        """True where ``level`` (0-based, per trial) is cleared and open for backfill.

        The default, for any design: the level has patients, is not eliminated, and the
        design's own rule applied at that level would not de-escalate. Designs with a
        sharper notion (3+3, interval designs, CRM) override it."""
        N = np.asarray(N)
        Y = np.asarray(Y)
        level = np.asarray(level, dtype=np.int64)
        st = self.step_many(N, Y, level, np.zeros(N.shape[0], dtype=np.int64))
        idx = np.arange(N.shape[0])
        return (N[idx, level] > 0) & ~st.eliminated[idx, level] & (st.raw >= 0) & ~st.safety

    def known_below(self, cur: np.ndarray, n_levels: int) -> np.ndarray:
        """trials x levels: True where a level is known to be less toxic than the trial's
        current level (on a line: every lower level). Backfill goes only there."""
        return np.arange(n_levels)[None, :] < np.asarray(cur)[:, None]

    def tite_counts(self, n: np.ndarray, y: np.ndarray, pending: list[list[float]]) -> tuple[np.ndarray, np.ndarray] | None:
        """Effective counts with pending patients weighted by follow-up (TITE), if supported."""
        return None

    # -- shared ---------------------------------------------------------------------------
    def decide(
        self,
        n: Sequence[int],
        dlt: Sequence[int],
        current: int,
        *,
        last_cohort_dlt: int | None = None,
        pending: Sequence[Sequence[float]] | None = None,
        tite: bool = False,
    ) -> Decision:
        """Next-dose decision for one trial from its per-level counts.

        ``n`` and ``dlt`` count patients and DLTs per level (level 1 first); ``current`` is
        the 1-based level of the last cohort; ``last_cohort_dlt`` is the number of DLTs in
        that cohort (used by CRM's no-escalation-after-a-DLT rule; None is taken as 0).
        ``pending`` lists,
        per level, the follow-up fraction t/T of patients still inside the DLT window with
        no DLT yet (they are included in ``n``). Without ``tite`` the decision is made only
        when the pending outcomes cannot change it; otherwise the answer is "wait". With
        ``tite`` (BOIN, CRM) pending patients count with weight t/T.
        """
        n_arr, y_arr = check_counts(n, dlt, current)
        pend = check_pending(pending, n_arr, y_arr)
        cur = int(current) - 1
        last = 0 if last_cohort_dlt is None else int(last_cohort_dlt)
        if pend is not None and any(pend):
            if tite:
                if not self.supports_tite:
                    raise InputError.single("tite", True, "supported", f"TITE weighting is available for BOIN and CRM, not {self.name}.")
                return self._decide_tite(n_arr, y_arr, cur, last, pend)
            return self._decide_pending(n_arr, y_arr, cur, last, pend)
        return self._decide_complete(n_arr, y_arr, cur, last)

    def _decide_complete(self, n: np.ndarray, y: np.ndarray, cur: int, last: int, prefix: str = "") -> Decision:
        st = self.step_many(n[None].astype(float), y[None].astype(float), np.array([cur]), np.array([last]))
        return self._to_decision(n, y, cur, st, prefix)

    def _to_decision(self, n, y, cur, st: Step, prefix: str = "", counts_for_mtd=None) -> Decision:
        eliminated = levels_1based(st.eliminated[0])
        move = int(st.move[0])
        if bool(st.stop[0]):
            word = "stop"
            nxt = None
            if bool(st.safety[0]):
                mtd = None
            else:
                nn, yy = counts_for_mtd if counts_for_mtd is not None else (n, y)
                m = int(self.select_many(nn[None].astype(float), yy[None].astype(float))[0])
                mtd = None if m < 0 else m + 1
        else:
            word = DECISION_WORDS[int(np.sign(move))]
            nxt = cur + move + 1
            mtd = None
        reason, details = self.explain(n, y, cur, st, word)
        if nxt is not None and (nxt in eliminated or (self.linear_levels and nxt > max(_highest_tried(n), cur + 1) + 1)):
            # Defensive: the rules above never do this; fail loudly rather than advise it.
            raise AssertionError(f"{self.name} produced an inadmissible level {nxt}")
        return Decision(
            design=self.name, decision=word, current_level=cur + 1, next_level=nxt, eliminated=eliminated,
            reason=prefix + reason, mtd=mtd, details=details,
        )

    def _decide_pending(self, n, y, cur, last, pend) -> Decision:
        n_pend = np.array([len(p) for p in pend])
        optimistic = self._decide_complete(n, y, cur, last)
        worst_last = last + int(n_pend[cur])
        pessimistic = self._decide_complete(n, y + n_pend, cur, worst_last)
        if (optimistic.decision, optimistic.next_level) == (pessimistic.decision, pessimistic.next_level):
            total = int(n_pend.sum())
            return Decision(
                design=self.name, decision=optimistic.decision, current_level=cur + 1, next_level=optimistic.next_level,
                eliminated=optimistic.eliminated,
                reason=f"{optimistic.reason} (the same whatever happens to the {total} pending patient(s))",
                mtd=optimistic.mtd, details=optimistic.details,
            )
        return Decision(
            design=self.name, decision="wait", current_level=cur + 1, next_level=None, eliminated=optimistic.eliminated,
            reason=(
                f"{int(n_pend.sum())} patient(s) are still inside the DLT window and their outcome would change the decision "
                f"({optimistic.decision} if none has a DLT, {pessimistic.decision} if all do); suspend accrual until they are evaluable."
            ),
            details={"if_no_pending_dlt": optimistic.decision, "if_all_pending_dlt": pessimistic.decision},
        )

    def _decide_tite(self, n, y, cur, last, pend) -> Decision:
        raise NotImplementedError


def cap_below_eliminated(cur: np.ndarray, move: np.ndarray, eliminated: np.ndarray) -> np.ndarray:
    """Limit each trial's move so that the next level lies below its lowest eliminated
    level (eliminated levels form a suffix). Only unusual hand-entered counts (patients
    above an eliminated level) make this bite; it keeps every design admissible."""
    L = eliminated.shape[1]
    first = np.where(eliminated.any(axis=1), eliminated.argmax(axis=1), L)
    nxt = np.minimum(cur + move, np.maximum(first - 1, 0))
    return nxt - cur


def _highest_tried(n: np.ndarray) -> int:
    tried = np.flatnonzero(n > 0)
    return int(tried[-1]) + 1 if tried.size else 0
