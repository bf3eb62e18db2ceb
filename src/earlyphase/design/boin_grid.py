"""BOIN over a grid of regimens: Lin & Yin's BOIN for drug combinations (2017, Statistical
Methods in Medical Research 26:2155), applied to dose (rows) x schedule (columns).

Cells are numbered row by row: level = row * n_cols + col, so the simulator and the
decision functions see one index per regimen. At the current cell (r, c), with BOIN's
boundaries for the target:

* DLT rate <= lambda_e: escalate to the cell of {(r + 1, c), (r, c + 1)} (inside the grid,
  not eliminated, and, if untried, with every cell of no more dose and no more
  administrations already tried: our rule against untested skips, which Lin & Yin do not
  state) with the largest posterior probability that its DLT rate lies in
  (lambda_e, lambda_d) (Beta(1, 1) prior); a tie goes to the first listed (more dose
  before more administrations); none: stay;
* DLT rate >= lambda_d: de-escalate likewise to {(r - 1, c), (r, c - 1)}; none: stay;
* otherwise stay.

Elimination as in BOIN (n >= 3, P(DLT rate > target) > cutoff_eli) removes the cell and
every cell with at least its dose and its number of administrations; cell (1, 1)
eliminated stops the trial. ``n_earlystop`` stops when the decision is to stay at a cell
that already has that many patients (BOIN's rule). With one row this is exactly BOIN.

The MTD at the end: DLT rates smoothed by bivariate isotonic regression (monotone along
rows and along columns; Dykstra's alternating projections of weighted PAVA), then the
tried, not eliminated cell closest to the target (a tie goes to the lower index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_dist

from earlyphase.design._common import DEESCALATE, ESCALATE, api_door
from earlyphase.design.base import Design, Step
from earlyphase.design.boin import BoinDesign
from earlyphase.design.isotonic import isotonic_many
from earlyphase.errors import InputError


def bivariate_isotonic(values: np.ndarray, weights: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Weighted least-squares fit, non-decreasing along both axes of each (rows x cols) grid
    (``values``, ``weights``: trials x rows x cols). Cells with weight 0 take a negligible
    weight so that they follow their neighbours."""
    v = np.asarray(values, dtype=float)
    w = np.where(np.asarray(weights, dtype=float) > 0, weights, 1e-9)
    T, R, C = v.shape
    x = v.copy()
    p = np.zeros_like(v)  # Dykstra's corrections, one per constraint set
    q = np.zeros_like(v)
    for _ in range(iterations):
        y = x + p
        rows = isotonic_many((y).reshape(T * R, C), w.reshape(T * R, C)).reshape(T, R, C)
        p = y - rows
        z = rows + q
        cols = isotonic_many(z.transpose(0, 2, 1).reshape(T * C, R), w.transpose(0, 2, 1).reshape(T * C, R))
        cols = cols.reshape(T, C, R).transpose(0, 2, 1)
        q = z - cols
        done = np.allclose(cols, x, atol=1e-12, rtol=0)
        x = cols
        if done:
            break
    return x


@dataclass(frozen=True)
class BoinGridDesign(Design):
    """BOIN on an ``n_rows`` x ``n_cols`` grid (see module doc); BOIN's parameters otherwise."""

    n_rows: int = 1
    n_cols: int = 1
    target: float = 0.3
    cutoff_eli: float = 0.95
    n_earlystop: int | None = None
    p_saf: float | None = None
    p_tox: float | None = None

    name = "boin-grid"
    linear_levels = False

    @api_door
    def __post_init__(self):
        if int(self.n_rows) < 1 or int(self.n_cols) < 1:
            raise InputError.single("grid", (self.n_rows, self.n_cols), "positive", "The grid needs at least one row and one column.")
        self.boin  # validates target and boundaries

    @property
    def boin(self) -> BoinDesign:
        return BoinDesign(target=self.target, cutoff_eli=self.cutoff_eli, p_saf=self.p_saf, p_tox=self.p_tox)

    @property
    def skeleton(self) -> tuple[float, ...]:
        # only its length is read (number of cells) by the simulator's checks
        return tuple([self.target] * (self.n_rows * self.n_cols))

    def known_below(self, cur, n_levels):
        """Cells with no more dose and no more administrations than the current one."""
        C = self.n_cols
        cells = np.arange(n_levels)[None, :]
        cur = np.asarray(cur)[:, None]
        return (cells // C <= cur // C) & (cells % C <= cur % C) & (cells != cur)

    def _interval_prob(self, N, Y) -> np.ndarray:
        lam_e, lam_d = self.boin.lambdas
        a, b = 1 + Y, 1 + N - Y
        return beta_dist.cdf(lam_d, a, b) - beta_dist.cdf(lam_e, a, b)

    def _eliminated(self, N, Y, elim_g) -> np.ndarray:
        T = N.shape[0]
        e = elim_g[N, Y].reshape(T, self.n_rows, self.n_cols)
        e = np.logical_or.accumulate(np.logical_or.accumulate(e, axis=1), axis=2)
        return e.reshape(T, -1)

    def step_many(self, N, Y, cur, last_dlt) -> Step:
        N = np.asarray(N).astype(np.int64)
        Y = np.asarray(Y).astype(np.int64)
        cur = np.asarray(cur, dtype=np.int64)
        T, L = N.shape
        R, C = self.n_rows, self.n_cols
        if L != R * C:
            raise InputError.single("n", L, "rows*cols", f"The grid has {R} x {C} = {R * C} cells but the counts have {L}.")
        rule, elim_g, _ = self.boin.grids(int(N.max(initial=0)))
        idx = np.arange(T)
        eliminated = self._eliminated(N, Y, elim_g)
        safety = eliminated[:, 0].copy()
        raw = rule[N[idx, cur], Y[idx, cur]].astype(np.int64)
        r, c = cur // C, cur % C
        score = self._interval_prob(N, Y)

        def pick(cands):
            best = np.full(T, -1)
            best_s = np.full(T, -np.inf)
            for rr, cc in cands:
                inside = (rr >= 0) & (rr < R) & (cc >= 0) & (cc < C)
                lv = np.where(inside, rr * C + cc, 0)
                ok = inside & ~eliminated[idx, lv]
                # never an untested skip: an untried cell only when every cell with no more of
                # either (dose, administrations) has been tried
                ok &= (N[idx, lv] > 0) | ~(self.known_below(lv, L) & (N == 0)).any(axis=1)
                s = np.where(ok, score[idx, lv], -np.inf)
                take = ok & (s > best_s)  # strict: a tie keeps the first listed
                best = np.where(take, lv, best)
                best_s = np.where(take, s, best_s)
            return best

        up = pick([(r + 1, c), (r, c + 1)])
        down = pick([(r - 1, c), (r, c - 1)])
        nxt = cur.copy()
        nxt = np.where((raw == ESCALATE) & (up >= 0), up, nxt)
        nxt = np.where((raw == DEESCALATE) & (down >= 0), down, nxt)
        stop = safety.copy()
        if self.n_earlystop is not None:
            stop |= (nxt == cur) & (N[idx, cur] >= self.n_earlystop)
        nxt = np.where(stop, cur, nxt)
        return Step(move=nxt - cur, stop=stop, safety=safety, raw=raw, eliminated=eliminated)

    def estimates(self, N, Y) -> np.ndarray:
        """Bivariate-isotonic DLT rate of every cell (trials x cells), BOIN's (y + 0.05)/(n + 0.1)."""
        N = np.asarray(N, dtype=float)
        Y = np.asarray(Y, dtype=float)
        T = N.shape[0]
        p = (Y + 0.05) / (N + 0.1)
        w = np.where(N > 0, (N + 0.1) ** 2 * (N + 0.1 + 1) / ((Y + 0.05) * (N - Y + 0.05)), 0.0)
        shape = (T, self.n_rows, self.n_cols)
        return bivariate_isotonic(p.reshape(shape), w.reshape(shape)).reshape(T, -1)

    def select_many(self, N, Y) -> np.ndarray:
        N = np.asarray(N).astype(np.int64)
        Y = np.asarray(Y).astype(np.int64)
        _, elim_g, _ = self.boin.grids(int(N.max(initial=0)))
        usable = (N > 0) & ~self._eliminated(N, Y, elim_g)
        est = self.estimates(N, Y)
        dist = np.where(usable, np.abs(est - self.target), np.inf)
        best = np.argmin(dist, axis=1)
        return np.where(usable.any(axis=1), best, -1)

    def explain(self, n, y, cur, step, decision):
        C = self.n_cols
        r, c = cur // C, cur % C
        nxt = cur + int(step.move[0])
        reason = (f"{int(y[cur])}/{int(n[cur])} DLTs at cell (dose {r + 1}, schedule {c + 1}); "
                  f"next cell (dose {nxt // C + 1}, schedule {nxt % C + 1})")
        return reason, {"lambda_e": self.boin.lambdas[0], "lambda_d": self.boin.lambdas[1]}
