"""Interval designs: the decision at the current level depends only on its own (n, y).

BOIN, mTPI-2 (Keyboard), i3+3 and user-supplied decision tables share this machinery:
each defines its escalate / stay / de-escalate rule for every (n, y); this module adds
what they have in common:

* elimination: a level with n >= 3 and P(p > target | y, n) > cutoff_eli (Beta(1, 1)
  prior, default cutoff 0.95) is eliminated with every level above it; if level 1 is
  eliminated the trial stops with no MTD;
* optional extra-safe rule at level 1 (cutoff_eli - offset), as in the BOIN package;
* escalation only to the next level and never into an eliminated one; de-escalation
  only to the level below;
* early stop when the current level has n_earlystop patients and the decision is to
  stay there (including a wanted escalation that is not allowed, or a de-escalation
  from level 1);
* final MTD by BOIN's isotonic selection.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.stats import beta as beta_dist

from earlyphase.design._common import DEESCALATE, ESCALATE, STAY, api_door, check_probability
from earlyphase.design.base import Design, Step, cap_below_eliminated
from earlyphase.design.isotonic import NO_MTD, select_mtd_many
from earlyphase.errors import InputError


def _grid_size(n_max: int) -> int:
    # Round up so the cached grid is rebuilt rarely as trials grow.
    return max(64, int(2 ** np.ceil(np.log2(max(n_max, 1) + 1))))


@lru_cache(maxsize=64)
def _grids(design: "IntervalDesign", size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = np.arange(size + 1)[:, None]
    y = np.arange(size + 1)[None, :]
    valid = y <= n
    rule = np.where(valid, design.rule_grid(n, y), STAY).astype(np.int8)
    rule[0, :] = STAY  # no data yet: treat at the current level
    elim, extra = elimination_grids(design.target, design.cutoff_eli, design.offset, size)
    rule[elim] = DEESCALATE  # an eliminated level is always left downwards
    return rule, elim, extra


@lru_cache(maxsize=64)
def elimination_grids(target: float, cutoff_eli: float, offset: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Grids [n, y] (n, y = 0..size): eliminate (n >= 3 and P(p > target | y, n) > cutoff,
    Beta(1, 1) prior) and the extra-safe version with cutoff - offset."""
    n = np.arange(size + 1)[:, None]
    y = np.arange(size + 1)[None, :]
    valid = y <= n
    nn = np.broadcast_to(n, (size + 1, size + 1))
    yy = np.minimum(np.broadcast_to(y, (size + 1, size + 1)), nn)
    p_over = beta_dist.sf(target, yy + 1, nn - yy + 1)
    elim = valid & (nn >= 3) & (p_over > cutoff_eli)
    extra = valid & (nn >= 3) & (p_over > cutoff_eli - offset)
    return elim, extra


@dataclass(frozen=True)
class IntervalDesign(Design):
    """Shared parameters: ``target`` DLT rate; ``cutoff_eli`` elimination cutoff;
    ``extrasafe``/``offset`` stricter stop at level 1; ``n_earlystop`` stop once the
    current level has this many patients and the decision is to stay (None: never)."""

    target: float = 0.3
    cutoff_eli: float = 0.95
    extrasafe: bool = False
    offset: float = 0.05
    n_earlystop: int | None = None

    @api_door
    def __post_init__(self):
        # kept as floats: a "0.2" string would pass the check and fail later inside numpy
        object.__setattr__(self, "target", check_probability("target", self.target))
        object.__setattr__(self, "cutoff_eli", check_probability("cutoff_eli", self.cutoff_eli))
        if not (0.0 <= self.offset < 0.5):
            raise InputError.single("offset", self.offset, "0<=offset<0.5", "The extra-safe offset must lie in [0, 0.5).")
        if self.n_earlystop is not None and int(self.n_earlystop) < 1:
            raise InputError.single("n_earlystop", self.n_earlystop, "positive", "n_earlystop must be a positive number of patients.")

    # subclasses: vectorised rule over integer grids n (col) and y (row), y <= n
    def rule_grid(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def grids(self, n_max: int):
        return _grids(self, _grid_size(n_max))

    def step_many(self, N, Y, cur, last_dlt) -> Step:
        N = np.asarray(N).astype(np.int64)
        Y = np.asarray(Y).astype(np.int64)
        T, L = N.shape
        rule, elim_g, extra_g = self.grids(int(N.max(initial=0)))
        idx = np.arange(T)
        eliminated = np.logical_or.accumulate(elim_g[N, Y], axis=1)
        safety = eliminated[:, 0].copy()
        if self.extrasafe:
            safety |= extra_g[N[:, 0], Y[:, 0]]
        n_c = N[idx, cur]
        raw = rule[n_c, Y[idx, cur]].astype(np.int64)
        up = np.minimum(cur + 1, L - 1)
        can_up = (cur < L - 1) & ~eliminated[idx, up]
        move = np.where((raw == ESCALATE) & can_up, 1, np.where((raw == DEESCALATE) & (cur > 0), -1, 0))
        move = cap_below_eliminated(cur, move, eliminated)
        stop = safety.copy()
        if self.n_earlystop is not None:
            stop |= (move == 0) & (n_c >= self.n_earlystop)
        move = np.where(stop, 0, move)
        return Step(move=move, stop=stop, safety=safety, raw=raw, eliminated=eliminated)

    def select_many(self, N, Y) -> np.ndarray:
        mtd, _ = select_mtd_many(N, Y, self.target, cutoff_eli=self.cutoff_eli, extrasafe=self.extrasafe, offset=self.offset,
                                 lookup=self.selection_lookup(N))
        return mtd

    def selection_lookup(self, N) -> tuple[np.ndarray, np.ndarray]:
        """Elimination and extra-safe grids for the Beta(1, 1) rule at the selection stage
        (always the posterior rule, also for user tables, as in BOIN's select.mtd)."""
        return elimination_grids(self.target, self.cutoff_eli, self.offset, _grid_size(int(np.asarray(N).max(initial=0))))

    def cleared_many(self, N, Y, level) -> np.ndarray:
        """A level is open for backfill when it has patients, is not eliminated, and its
        own data do not call for de-escalation."""
        N = np.asarray(N).astype(np.int64)
        Y = np.asarray(Y).astype(np.int64)
        rule, elim_g, _ = self.grids(int(N.max(initial=0)))
        idx = np.arange(N.shape[0])
        eliminated = np.logical_or.accumulate(elim_g[N, Y], axis=1)
        n_l, y_l = N[idx, level], Y[idx, level]
        return (n_l > 0) & ~eliminated[idx, level] & (rule[n_l, y_l] != DEESCALATE)

    # -- text ------------------------------------------------------------------------------
    def rule_sentence(self, n: int, y: int, code: int) -> str:
        return {ESCALATE: "escalation region", STAY: "stay region", DEESCALATE: "de-escalation region"}[code]

    def explain(self, n, y, cur, step: Step, decision: str):
        n_c, y_c = int(n[cur]), int(y[cur])
        lvl = cur + 1
        L = n.size
        raw = int(step.raw[0])
        elim = step.eliminated[0]
        if bool(step.safety[0]):
            if elim[0]:
                return (f"level 1 is eliminated: {int(y[0])}/{int(n[0])} DLTs give P(DLT rate > {self.target:g}) > {self.cutoff_eli:g}; "
                        "the trial stops with no MTD"), {}
            return (f"extra-safe rule: {int(y[0])}/{int(n[0])} DLTs at level 1 give P(DLT rate > {self.target:g}) > "
                    f"{self.cutoff_eli - self.offset:g}; the trial stops with no MTD"), {}
        base = f"{y_c}/{n_c} DLTs at level {lvl}"
        if n_c == 0:
            return f"no patient treated at level {lvl} yet: treat the next cohort there", {}
        if elim[cur]:
            base += f" eliminate level {lvl} and above (P(DLT rate > {self.target:g}) > {self.cutoff_eli:g})"
        else:
            base += f" ({self.rule_sentence(n_c, y_c, raw)})"
        if raw == ESCALATE and decision != "escalate":
            if cur == L - 1:
                base += "; escalation wanted but this is the highest level"
            else:
                base += f"; escalation wanted but level {lvl + 1} is eliminated"
        if raw == DEESCALATE and cur == 0 and decision != "stop":
            base += "; de-escalation wanted but this is the lowest level"
        if decision == "stop":
            base += f"; {n_c} patients reached at level {lvl} with a decision to stay (n_earlystop = {self.n_earlystop}): the trial stops"
        return base, {}

    # -- tables ----------------------------------------------------------------------------
    def decision_codes(self, max_n: int) -> tuple[np.ndarray, np.ndarray]:
        """(rule, eliminate) grids indexed [n, y] for n, y = 0..max_n."""
        rule, elim, _ = self.grids(max_n)
        return rule[: max_n + 1, : max_n + 1], elim[: max_n + 1, : max_n + 1]


@dataclass(frozen=True)
class TableDesign(IntervalDesign):
    """A user-supplied decision table: ``codes[n][y]`` in {1: escalate, 0: stay, -1:
    de-escalate} for n = 0..max_n; more patients at a level than the table covers is an
    input error. Elimination (``eliminate[n][y]``) comes from the table when given, else
    from the Beta(1, 1) posterior rule. The final MTD uses BOIN's isotonic selection."""

    codes: tuple[tuple[int, ...], ...] = ()
    eliminate: tuple[tuple[bool, ...], ...] | None = None
    label: str = "table"

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"table:{self.label}"

    def rule_grid(self, n, y):
        size = n.shape[0] - 1
        max_n = len(self.codes) - 1
        out = np.full((size + 1, size + 1), STAY, dtype=np.int8)
        for nn in range(min(size, max_n) + 1):
            row = self.codes[nn]
            out[nn, : len(row)] = row
        return out

    def grids(self, n_max: int):
        max_n = len(self.codes) - 1
        if n_max > max_n:
            raise InputError.single(
                "n", n_max, "within-table", f"The decision table covers up to {max_n} patients per level; {n_max} were given."
            )
        rule, elim, extra = _grids(self, _grid_size(n_max))
        if self.eliminate is not None:
            elim = np.zeros_like(elim)
            for nn, row in enumerate(self.eliminate):
                elim[nn, : len(row)] = row
            rule = rule.copy()
            rule[elim] = DEESCALATE
        return rule, elim, extra


NO_SELECTION = NO_MTD
