"""The 3+3 design, written as a rule over per-level counts.

Cohorts of 3 at the current level:

* 0/3 DLT: escalate (at the highest level: treat 3 more to confirm);
* 1/3: treat 3 more at the same level; then 1/6 (at most 1 DLT in 6): escalate;
* 2 or more DLTs (of 3 or of 6): the level exceeds the MTD. Stop if it is level 1 (no
  MTD). Otherwise, with de-escalation (the default; the variant described by Korn et al.
  1994, Stat Med 13:1799), go back to the level below if it has only 3 patients and
  treat 3 more there; if it already has 6, stop.
* At most 1/6 at a level whose next level has exceeded the MTD (or at the highest
  level): stop.

MTD = the highest level below the lowest level that exceeded, with at most 1 DLT among
at least 6 patients. Without de-escalation (``deescalation=False``) the trial stops at
the first level with 2+ DLTs and the level below it is the MTD whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from earlyphase.design._common import DEESCALATE, ESCALATE, STAY
from earlyphase.design.base import Design, Step


@dataclass(frozen=True)
class ThreePlusThreeDesign(Design):
    """3+3; ``deescalation`` expands the level below to 6 when it has only 3 (Korn)."""

    deescalation: bool = True

    name = "3+3"

    def step_many(self, N, Y, cur, last_dlt) -> Step:
        N = np.asarray(N).astype(np.int64)
        Y = np.asarray(Y).astype(np.int64)
        T, L = N.shape
        idx = np.arange(T)
        n_c, y_c = N[idx, cur], Y[idx, cur]
        up = np.minimum(cur + 1, L - 1)
        down = np.maximum(cur - 1, 0)
        above_untried = (cur < L - 1) & (N[idx, up] == 0)
        exceeded = y_c >= 2
        six_ok = (n_c >= 6) & (y_c <= 1)
        three_clean = (n_c >= 3) & (n_c < 6) & (y_c == 0)

        raw = np.full(T, STAY)
        raw[exceeded] = DEESCALATE
        raw[(six_ok | three_clean) & ~exceeded] = ESCALATE

        move = np.zeros(T, dtype=np.int64)
        stop = np.zeros(T, dtype=bool)
        safety = exceeded & (cur == 0)
        stop |= safety
        # exceeded above level 1: go down to expand, or stop
        exc_up = exceeded & (cur > 0)
        if self.deescalation:
            expand_below = exc_up & (N[idx, down] < 6)
            move[expand_below] = -1
            stop |= exc_up & ~expand_below
        else:
            stop |= exc_up
        # 0/3: escalate into an untried level; otherwise (highest level) treat 3 more
        move[three_clean & above_untried] = 1
        # <=1/6: escalate into an untried level; otherwise the trial is done here
        move[six_ok & above_untried] = 1
        stop |= six_ok & ~above_untried
        eliminated = np.logical_or.accumulate(Y >= 2, axis=1)
        # the next level must lie below the lowest exceeded level (matters only for
        # hand-entered counts with patients above an exceeded level)
        first = np.where(eliminated.any(axis=1), eliminated.argmax(axis=1), L)
        above = eliminated[idx, cur] & ~exceeded  # current level sits above an exceeded one
        stop &= ~above
        move = np.where(above, first - 1 - cur, move)
        need = exceeded & ~stop
        move = np.where(need, np.minimum(move, first - 1 - cur), move)
        dead = (above | need) & (first == 0)
        safety = safety | dead
        stop |= dead
        move[stop] = 0
        return Step(move=move, stop=stop, safety=safety, raw=raw, eliminated=eliminated)

    def cleared_many(self, N, Y, level) -> np.ndarray:
        """Open for backfill: 0 DLTs in at least 3, or at most 1 in at least 6, with no
        level at or below it having 2 or more DLTs."""
        N = np.asarray(N).astype(np.int64)
        Y = np.asarray(Y).astype(np.int64)
        idx = np.arange(N.shape[0])
        exceeded = np.logical_or.accumulate(Y >= 2, axis=1)[idx, level]
        n, y = N[idx, level], Y[idx, level]
        return ~exceeded & (((n >= 3) & (y == 0)) | ((n >= 6) & (y <= 1)))

    def select_many(self, N, Y) -> np.ndarray:
        N = np.asarray(N).astype(np.int64)
        Y = np.asarray(Y).astype(np.int64)
        T, L = N.shape
        exceeded = np.logical_or.accumulate(Y >= 2, axis=1)
        below_first = ~exceeded
        if self.deescalation:
            ok = below_first & (N >= 6) & (Y <= 1)
        else:
            # the level just below the first exceeding one, however many patients it has;
            # with no level exceeding, the highest level cleared with 6
            first_exc = np.where(exceeded.any(axis=1), exceeded.argmax(axis=1), L)
            ok = (N >= 6) & (Y <= 1) & below_first
            has_exc = first_exc < L
            rows = np.flatnonzero(has_exc & (first_exc > 0))
            ok[rows, first_exc[rows] - 1] = N[rows, first_exc[rows] - 1] > 0
        levels = np.arange(L)
        best = np.where(ok, levels, -1).max(axis=1)
        return best

    def explain(self, n, y, cur, step, decision):
        lvl = cur + 1
        n_c, y_c = int(n[cur]), int(y[cur])
        s = f"{y_c}/{n_c} DLTs at level {lvl}"
        if decision == "stop":
            if bool(step.safety[0]):
                return s + ": level 1 exceeds the MTD, the trial stops with no MTD", {}
            if y_c >= 2:
                return s + f": level {lvl} exceeds the MTD and level {lvl - 1} is already complete: stop", {}
            return s + ": at most 1 DLT in 6 and no higher level to try: stop", {}
        if decision == "de-escalate" and y_c < 2:
            return s + f": level {lvl} lies above a level that exceeded the MTD; go back to level {lvl + int(step.move[0])}", {}
        if decision == "de-escalate":
            return s + f": level {lvl} exceeds the MTD; expand level {lvl - 1} to 6 patients", {}
        if decision == "escalate":
            return s + (": 0 of 3, escalate" if n_c < 6 else ": at most 1 of 6, escalate"), {}
        if n_c == 0:
            return f"no patient at level {lvl} yet: treat 3 there", {}
        if n_c < 3:
            return s + ": complete the cohort of 3", {}
        return s + f": treat 3 more at level {lvl}", {}
