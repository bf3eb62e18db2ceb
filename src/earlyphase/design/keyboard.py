"""mTPI-2 / Keyboard design.

Keyboard (Yan, Mandrekar & Yuan 2017, Clin Cancer Res 23:3994) and mTPI-2 (Guo, Li,
Yang, Ji & Liu 2017, Contemp Clin Trials 58:23) divide (0, 1) into equal-width intervals
("keys"): the target key [target - margin_low, target + margin_high] and keys of the same
width below and above it (partial keys at 0 and 1 are dropped, as in Keyboard; with equal
widths the unit-probability-mass rule of mTPI-2 picks the same key). With a Beta(1, 1)
prior the posterior of the current level's DLT rate is Beta(1 + y, 1 + n - y); the key
with the largest posterior mass decides: below the target key escalate, the target key
stay, above it de-escalate. Default margins 0.05 / 0.05, elimination cutoff 0.95.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_dist

from earlyphase.design._common import DEESCALATE, ESCALATE, STAY, api_door
from earlyphase.design.interval import IntervalDesign
from earlyphase.errors import InputError


@dataclass(frozen=True)
class KeyboardDesign(IntervalDesign):
    """mTPI-2 (= Keyboard) with margins ``margin_low`` / ``margin_high`` around the target."""

    margin_low: float = 0.05
    margin_high: float = 0.05

    name = "mtpi2"

    @api_door
    def __post_init__(self):
        super().__post_init__()
        if not (0 < self.margin_low < self.target and 0 < self.margin_high < 1 - self.target):
            raise InputError.single(
                "margins", (self.margin_low, self.margin_high), "inside(0,1)",
                "The target interval [target - margin_low, target + margin_high] must lie inside (0, 1).",
            )

    def keys(self) -> tuple[np.ndarray, int]:
        """Edges of the full keys, and the index of the target key."""
        w = self.margin_low + self.margin_high
        lo, hi = self.target - self.margin_low, self.target + self.margin_high
        eps = 1e-12
        below = []
        edge = lo
        while edge - w >= -eps:
            edge -= w
            below.append(edge)
        above = []
        edge = hi
        while edge + w <= 1 + eps:
            edge += w
            above.append(edge)
        edges = np.array(sorted(below) + [lo, hi] + above)
        return np.clip(edges, 0.0, 1.0), len(below)

    def rule_grid(self, n, y):
        edges, target_key = self.keys()
        nn = np.broadcast_to(n, np.broadcast_shapes(n.shape, y.shape))
        yy = np.minimum(np.broadcast_to(y, nn.shape), nn)
        cdf = beta_dist.cdf(edges[None, None, :], (1 + yy)[..., None], (1 + nn - yy)[..., None])
        mass = np.diff(cdf, axis=-1)
        best = np.argmax(mass, axis=-1)
        return np.where(best < target_key, ESCALATE, np.where(best == target_key, STAY, DEESCALATE))

    def rule_sentence(self, n, y, code):
        where = {ESCALATE: "below", STAY: "at", DEESCALATE: "above"}[code]
        return (f"the strongest key is {where} the target interval "
                f"[{self.target - self.margin_low:.2f}, {self.target + self.margin_high:.2f}]")
