"""POCRM: the CRM for regimens only partially ordered in toxicity (Wages, Conaway &
O'Quigley 2011, Clinical Trials 8:380-389).

When regimens vary in dose and in number or frequency of administrations, some pairs have
a known toxicity order (4 low-dose infusions are safer than 4 normal-dose ones) and some
do not (8 normal-dose infusions against a step-up schedule). POCRM keeps every complete
ordering consistent with the known relations (a linear extension of the partial order),
fits one CRM per ordering (the skeleton placed along that ordering), and at each decision
uses the ordering with the largest posterior probability

    P(m | data) proportional to prior(m) x integral of L_m(beta) pi(beta) dbeta,

then applies the CRM's rules along that ordering (closest estimated DLT rate to the
target, no skipping an untried regimen in that ordering, no escalation after a DLT,
safety stop at its lowest regimen). An untried regimen is given only when every regimen
known to be less toxic (earlier in every ordering) has been tried; otherwise the next one
steps down the chosen ordering. With one ordering it is exactly the CRM (for trials whose
tried levels are contiguous from level 1, as they are when a trial starts at level 1).

Regimens are indexed 0..K-1 in the order the study lists them; the simulator's levels are
these indices, so a "move" is the difference of two indices, not a step along a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Iterable, Sequence

import numpy as np

from earlyphase.design._common import api_door, check_probability
from earlyphase.design.base import Design, Step
from earlyphase.design.crm import DEFAULT_PRIOR_SD, CrmDesign
from earlyphase.errors import InputError

MAX_ORDERINGS = 120


def linear_extensions(n: int, less: Iterable[tuple[int, int]], limit: int = MAX_ORDERINGS) -> list[tuple[int, ...]]:
    """Every complete ordering of regimens 0..n-1 (least toxic first) that keeps each
    relation (a, b) = "a is less toxic than b". Raises InputError on a cycle or when more
    than ``limit`` orderings exist (declare more relations, or pass orderings explicitly)."""
    n = int(n)
    rel = [(int(a), int(b)) for a, b in less]
    for a, b in rel:
        if not (0 <= a < n and 0 <= b < n) or a == b:
            raise InputError.single("partial_order", (a, b), "two-different-regimens",
                                    f"A toxicity relation names two different regimens among 1..{n}.")
    before = [set() for _ in range(n)]  # before[b]: regimens that must come before b
    for a, b in rel:
        before[b].add(a)
    out: list[tuple[int, ...]] = []

    def extend(prefix: list[int], placed: set[int]):
        if len(out) > limit:
            return
        if len(prefix) == n:
            out.append(tuple(prefix))
            return
        for r in range(n):
            if r not in placed and before[r] <= placed:
                prefix.append(r)
                placed.add(r)
                extend(prefix, placed)
                placed.discard(r)
                prefix.pop()

    extend([], set())
    if not out:
        raise InputError.single("partial_order", rel, "acyclic", "The toxicity relations contradict each other (a cycle).")
    if len(out) > limit:
        raise InputError.single("partial_order", rel, f"at-most-{limit}-orderings",
                                f"The partial order leaves more than {limit} complete orderings; state more relations "
                                "or list the orderings to consider.")
    return out


def brute_force_extensions(n: int, less: Iterable[tuple[int, int]]) -> list[tuple[int, ...]]:
    """All permutations that keep every relation (slow; the check of ``linear_extensions``)."""
    rel = list(less)
    return [p for p in permutations(range(n)) if all(p.index(a) < p.index(b) for a, b in rel)]


@dataclass(frozen=True)
class PocrmDesign(Design):
    """POCRM over ``len(skeleton)`` regimens. ``orderings``: each a permutation of regimen
    indices (0-based), least toxic first; ``ordering_prior``: prior probabilities (default
    uniform). Other fields as in ``CrmDesign`` (the empiric or logistic working model)."""

    orderings: tuple[tuple[int, ...], ...] = ()
    skeleton: tuple[float, ...] = ()
    target: float = 0.3
    model: str = "empiric"
    intercept: float = 3.0
    prior_sd: float = DEFAULT_PRIOR_SD
    ordering_prior: tuple[float, ...] | None = None
    no_skip: bool = True
    no_escalation_after_dlt: bool = True
    safety_cutoff: float | None = 0.9
    safety_min_n: int = 3
    n_earlystop: int | None = None

    name = "pocrm"
    #: levels are regimen indices, not steps on one line (see Design._to_decision)
    linear_levels = False

    @api_door
    def __post_init__(self):
        sk = tuple(float(v) for v in self.skeleton)
        object.__setattr__(self, "skeleton", sk)
        K = len(sk)
        orders = tuple(tuple(int(r) for r in o) for o in self.orderings)
        object.__setattr__(self, "orderings", orders)
        if not orders:
            raise InputError.single("orderings", self.orderings, "non-empty", "Give at least one ordering of the regimens.")
        for i, o in enumerate(orders, start=1):
            if sorted(o) != list(range(K)):
                raise InputError.single(f"orderings[{i}]", list(o), "permutation",
                                        f"Each ordering lists every regimen 1..{K} exactly once.")
        if len(set(orders)) != len(orders):
            raise InputError.single("orderings", [list(o) for o in orders], "distinct", "Each ordering must appear once.")
        if self.ordering_prior is not None:
            pr = tuple(float(v) for v in self.ordering_prior)
            if len(pr) != len(orders) or any(not v > 0 for v in pr):
                raise InputError.single("ordering_prior", list(pr), "one-positive-per-ordering",
                                        "Give one positive prior weight per ordering.")
            object.__setattr__(self, "ordering_prior", pr)
        self.crm  # validates target, skeleton and model

    @property
    def crm(self) -> CrmDesign:
        """The CRM along an ordering (the same for every ordering: the skeleton by rank)."""
        return CrmDesign(skeleton=self.skeleton, target=self.target, model=self.model, intercept=self.intercept,
                         prior_sd=self.prior_sd, no_skip=self.no_skip, no_escalation_after_dlt=self.no_escalation_after_dlt,
                         safety_cutoff=self.safety_cutoff, safety_min_n=self.safety_min_n, n_earlystop=self.n_earlystop)

    def _log_prior(self) -> np.ndarray:
        M = len(self.orderings)
        pr = np.ones(M) / M if self.ordering_prior is None else np.asarray(self.ordering_prior) / sum(self.ordering_prior)
        return np.log(pr)

    def fit_orderings(self, N, Y):
        """Per trial: the chosen ordering's index, the posterior probability of every
        ordering (trials x M), and the posterior mean and P(overdose) under the chosen one."""
        crm = self.crm
        g = crm.grid()
        N = np.asarray(N, dtype=float)
        Y = np.asarray(Y, dtype=float)
        if N.shape[1] != len(self.skeleton):
            raise InputError.single("n", N.shape[1], "len(skeleton)",
                                    f"The design has {len(self.skeleton)} regimens but the counts have {N.shape[1]}.")
        # identical count vectors share a fit: compute each once (trials often repeat)
        key = np.concatenate([N, Y], axis=1)
        uniq, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        if uniq.shape[0] < key.shape[0]:
            K = N.shape[1]
            chosen, post, mean, pover = self.fit_orderings(uniq[:, :K], uniq[:, K:])
            return chosen[inverse], post[inverse], mean[inverse], pover[inverse]
        T = N.shape[0]
        M = len(self.orderings)
        logml = np.empty((T, M))
        means = np.empty((T, M))
        pover = np.empty((T, M))
        for m, order in enumerate(self.orderings):
            o = list(order)
            loglik = Y[:, o] @ g["logp"] + (N[:, o] - Y[:, o]) @ g["log1mp"]
            lp = loglik + g["logw"][None, :]
            top = lp.max(axis=1, keepdims=True)
            logml[:, m] = top[:, 0] + np.log(np.exp(lp - top).sum(axis=1))
            means[:, m], pover[:, m] = crm._moments(loglik)
        post = logml + self._log_prior()[None, :]
        post = np.exp(post - post.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        chosen = np.argmax(post, axis=1)  # ties: the first ordering listed
        idx = np.arange(T)
        return chosen, post, means[idx, chosen], pover[idx, chosen]

    def _ranks(self) -> np.ndarray:
        """ranks[m, r] = position of regimen r in ordering m."""
        orders = np.asarray(self.orderings)
        ranks = np.empty_like(orders)
        for m, o in enumerate(orders):
            ranks[m, o] = np.arange(o.size)
        return ranks

    def step_many(self, N, Y, cur, last_dlt) -> Step:
        N = np.asarray(N, dtype=float)
        Y = np.asarray(Y, dtype=float)
        cur = np.asarray(cur, dtype=np.int64)
        T, K = N.shape
        chosen, _, mean, p_over = self.fit_orderings(N, Y)
        orders = np.asarray(self.orderings)[chosen]  # trials x K: regimen at each rank
        ranks = self._ranks()[chosen]  # trials x K: rank of each regimen
        idx = np.arange(T)
        N_rank = np.take_along_axis(N, orders, axis=1)
        cur_rank = ranks[idx, cur]
        st = self.crm._rules(N_rank, cur_rank, np.asarray(last_dlt), mean, p_over)
        nxt_rank = cur_rank + st.move
        # Never an untested skip in the partial order: an untried regimen is given only when
        # every regimen known to be less toxic has been tried; otherwise step down the ordering.
        for _ in range(K):
            nxt = orders[idx, nxt_rank]
            below = self.known_below(nxt, K)
            skip = (N[idx, nxt] == 0) & (below & (N == 0)).any(axis=1) & (nxt_rank > 0)
            if not skip.any():
                break
            nxt_rank = np.where(skip, nxt_rank - 1, nxt_rank)
        nxt = orders[idx, nxt_rank]
        return Step(move=nxt - cur, stop=st.stop, safety=st.safety, raw=st.raw, eliminated=np.zeros((T, K), dtype=bool))

    def select_many(self, N, Y) -> np.ndarray:
        N = np.asarray(N, dtype=float)
        chosen, _, mean, _ = self.fit_orderings(N, Y)
        orders = np.asarray(self.orderings)[chosen]
        pt = self.crm.ptox(mean)  # DLT probability by rank
        N_rank = np.take_along_axis(N, orders, axis=1)
        dist = np.where(N_rank > 0, np.abs(pt - self.target), np.inf)
        best = np.argmin(dist, axis=1)
        sel = orders[np.arange(N.shape[0]), best]
        return np.where(np.isfinite(dist.min(axis=1)), sel, -1)

    def estimates(self, N, Y) -> np.ndarray:
        """Estimated DLT probability of each regimen (trials x K) under the chosen ordering."""
        N = np.asarray(N, dtype=float)
        chosen, _, mean, _ = self.fit_orderings(N, Y)
        pt = self.crm.ptox(mean)
        out = np.empty_like(pt)
        orders = np.asarray(self.orderings)[chosen]
        np.put_along_axis(out, orders, pt, axis=1)
        return out

    def known_below(self, cur, n_levels):
        """Regimens before the current one in every ordering (known less toxic)."""
        ranks = self._ranks()  # orderings x regimens
        cur = np.asarray(cur)
        return np.all(ranks[None, :, :] < ranks[:, cur].T[:, :, None], axis=1)

    def cleared_many(self, N, Y, level) -> np.ndarray:
        """Open for backfill: tried, and estimated DLT probability at most the target."""
        N = np.asarray(N, dtype=float)
        idx = np.arange(N.shape[0])
        return (N[idx, level] > 0) & (self.estimates(N, Y)[idx, level] <= self.target)

    def _to_decision(self, n, y, cur, st, prefix="", counts_for_mtd=None):
        dec = super()._to_decision(n, y, cur, st, prefix, counts_for_mtd)
        if dec.next_level is None or dec.decision == "stop":
            return dec
        # "escalate" means up the chosen ordering, not to a higher index
        chosen = int(self.fit_orderings(np.asarray(n)[None], np.asarray(y)[None])[0][0])
        rank = self._ranks()[chosen]
        diff = int(np.sign(rank[dec.next_level - 1] - rank[cur]))
        word = {1: "escalate", 0: "stay", -1: "de-escalate"}[diff]
        from dataclasses import replace

        return replace(dec, decision=word)

    def explain(self, n, y, cur, step, decision):
        chosen, post, _, _ = self.fit_orderings(np.asarray(n)[None], np.asarray(y)[None])
        m = int(chosen[0])
        order = " < ".join(str(r + 1) for r in self.orderings[m])
        est = self.estimates(np.asarray(n)[None], np.asarray(y)[None])[0]
        reason = (f"ordering {m + 1} ({order}) has the largest posterior probability {post[0, m]:.3f}; "
                  f"estimated DLT probabilities " + ", ".join(f"{p:.3f}" for p in est))
        if bool(step.safety[0]):
            reason += f"; P(DLT rate at regimen {self.orderings[m][0] + 1} > {self.target:g}) > {self.safety_cutoff:g}: stop"
        return reason, {"ordering_posterior": [float(v) for v in post[0]], "chosen_ordering": m + 1,
                        "ptox": [float(v) for v in est]}


def pocrm_from_partial_order(n_regimens: int, less: Sequence[tuple[int, int]], skeleton: Sequence[float],
                             target: float, **options) -> PocrmDesign:
    """POCRM whose orderings are every linear extension of the partial order ``less``."""
    check_probability("target", target)
    return PocrmDesign(orderings=tuple(linear_extensions(n_regimens, less)), skeleton=tuple(skeleton), target=target,
                       **options)


__all__ = ["PocrmDesign", "linear_extensions", "brute_force_extensions", "pocrm_from_partial_order", "MAX_ORDERINGS"]
