"""i3+3 design (Liu, Wang & Ji 2020, Statistics in Biopharmaceutical Research 12:257).

With the equivalence interval EI = [target - margin_low, target + margin_high]
(defaults 0.05 / 0.05) and the observed rate y/n at the current level:
below EI escalate; inside EI stay; above EI stay if (y - 1)/n is below EI, otherwise
de-escalate. Levels are eliminated (with all above) when P(p > target | y, n) > 0.95
under a Beta(1, 1) prior and n >= 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from earlyphase.design._common import DEESCALATE, ESCALATE, STAY, api_door
from earlyphase.design.interval import IntervalDesign
from earlyphase.errors import InputError

_EPS = 1e-12  # comparisons of y/n with interval ends are inclusive; guard against rounding


@dataclass(frozen=True)
class I3plus3Design(IntervalDesign):
    """i3+3 with margins ``margin_low`` / ``margin_high`` around the target."""

    margin_low: float = 0.05
    margin_high: float = 0.05

    name = "i3+3"

    @api_door
    def __post_init__(self):
        super().__post_init__()
        if not (0 < self.margin_low < self.target and 0 < self.margin_high < 1 - self.target):
            raise InputError.single(
                "margins", (self.margin_low, self.margin_high), "inside(0,1)",
                "The equivalence interval [target - margin_low, target + margin_high] must lie inside (0, 1).",
            )

    def rule_grid(self, n, y):
        lo, hi = self.target - self.margin_low, self.target + self.margin_high
        nn = np.maximum(np.broadcast_to(n, np.broadcast_shapes(n.shape, y.shape)), 1)
        rate = y / nn
        rate_less_one = (y - 1) / nn
        below = rate < lo - _EPS
        above = rate > hi + _EPS
        return np.where(
            below, ESCALATE,
            np.where(~above, STAY, np.where(rate_less_one < lo - _EPS, STAY, DEESCALATE)),
        )

    def rule_sentence(self, n, y, code):
        lo, hi = self.target - self.margin_low, self.target + self.margin_high
        rate = y / n
        if rate < lo - _EPS:
            return f"rate {rate:.3f} below the interval [{lo:.2f}, {hi:.2f}]"
        if rate <= hi + _EPS:
            return f"rate {rate:.3f} inside the interval [{lo:.2f}, {hi:.2f}]"
        if code == STAY:
            return f"rate {rate:.3f} above [{lo:.2f}, {hi:.2f}] but (y-1)/n = {(y - 1) / n:.3f} is below it"
        return f"rate {rate:.3f} above [{lo:.2f}, {hi:.2f}] and (y-1)/n = {(y - 1) / n:.3f} is not below it"
