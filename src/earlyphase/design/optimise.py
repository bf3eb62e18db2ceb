"""Dose optimisation (FDA Project Optimus): BOIN12 escalation with toxicity and response,
then an optional randomised stage among two or more cleared levels, simulated together.

Stage 1 runs BOIN12 (``earlyphase.design.boin12``) cohort by cohort. Its selected optimal
biological dose (OBD) and the next admissible tried levels below it, up to
``stage2_levels`` in all, form the randomised stage when there are at least two: each
gets ``stage2_n`` more patients (equal allocation). The final choice uses all the data of
those levels (both stages) and a stated rule: drop a level eliminated for toxicity
(P(DLT rate > phi_T) > c_T), compute each level's posterior mean utility (the BOIN12
quasi-binomial count, Beta(1, 1) prior), and choose the LOWEST level whose utility is within
``margin`` (utility points, 0-100) of the best, because a lower dose that is about as good
is preferred. With fewer than two candidates the stage-1 OBD stands.

DLT and response are drawn independently for each patient. Seeding and chunking as in
``earlyphase.design.simulate`` (identical results however chunks are run).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.stats import beta as beta_dist

from earlyphase.design._common import api_door, check_probability, whole
from earlyphase.design.boin12 import Boin12Design, true_obd, true_utility
from earlyphase.errors import InputError
from earlyphase.limits import MAX_LEVELS, MAX_SAMPLE_SIZE

DEFAULT_CHUNK_SIZE = 5000


def _draw(rng, size: int, tox: np.ndarray, eff: np.ndarray):
    """Counts (T, E, TE) for ``size`` patients at each row's levels (independent outcomes)."""
    probs = np.stack([tox * eff, tox * (1 - eff), (1 - tox) * eff, (1 - tox) * (1 - eff)], axis=1)
    cells = rng.multinomial(size, probs)
    te = cells[:, 0]
    return te + cells[:, 1], te + cells[:, 2], te


def stage2_candidates(design: Boin12Design, N, T, E, sel, k: int) -> np.ndarray:
    """Per trial, up to ``k`` levels for the randomised stage: the OBD and the admissible tried
    levels below it, highest first (-1 pads)."""
    R, L = N.shape
    ok, _ = design.admissible(N, T, E)
    out = np.full((R, k), -1)
    out[:, 0] = sel
    filled = np.where(sel >= 0, 1, 0)
    for j in range(1, L):
        lv = sel - j
        valid = (sel >= 0) & (lv >= 0)
        lvc = np.clip(lv, 0, L - 1)
        take = valid & (filled < k) & ok[np.arange(R), lvc] & (N[np.arange(R), lvc] > 0)
        rows = np.flatnonzero(take)
        out[rows, filled[rows]] = lvc[rows]
        filled[rows] += 1
    return out


def choose_by_utility(design: Boin12Design, N, T, E, TE, cand, margin: float) -> np.ndarray:
    """The stated rule of the randomised stage (module doc); -1 when no candidate is usable."""
    R = N.shape[0]
    idx = np.arange(R)[:, None]
    c = np.clip(cand, 0, None)
    n, t, e, te = N[idx, c], T[idx, c], E[idx, c], TE[idx, c]
    x = design.utility_counts(n, t, e, te)
    util = 100 * (1 + x) / (2 + n)
    too_toxic = (n >= 3) & (beta_dist.sf(design.target, 1 + t, 1 + n - t) > design.c_t)
    usable = (cand >= 0) & ~too_toxic
    best = np.where(usable, util, -np.inf).max(axis=1)
    close = usable & (util >= best[:, None] - margin)
    # the lowest level among the close ones
    lv = np.where(close, cand, np.iinfo(np.int64).max).min(axis=1)
    return np.where(usable.any(axis=1), lv, -1)


def optimisation_chunk(design: Boin12Design, tox: np.ndarray, eff: np.ndarray, cohort_size: int, n_cohorts: int,
                       start_level: int, stage2_levels: int, stage2_n: int, margin: float, n_trials: int,
                       seed_entropy: int, scenario: int, chunk: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed_entropy, spawn_key=(scenario, chunk)))
    L, R = tox.size, n_trials
    N = np.zeros((R, L), dtype=np.int64)
    T, E, TE = N.copy(), N.copy(), N.copy()
    cur = np.full(R, start_level - 1)
    active = np.ones(R, dtype=bool)
    safety = np.zeros(R, dtype=bool)
    early = np.zeros(R, dtype=bool)
    for c in range(n_cohorts):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        ca = cur[a]
        t, e, te = _draw(rng, cohort_size, tox[ca], eff[ca])
        N[a, ca] += cohort_size
        T[a, ca] += t
        E[a, ca] += e
        TE[a, ca] += te
        nxt, stop, saf = design.step_many(N[a], T[a], E[a], TE[a], ca)
        cur[a] = nxt
        safety[a[saf]] = True
        if c < n_cohorts - 1:
            early[a[stop]] = True
        active[a[stop]] = False
    sel1 = np.where(safety, -1, design.select_many(N, T, E))
    N1 = N.copy()
    final = sel1.copy()
    ran = np.zeros(R, dtype=bool)
    if stage2_n > 0 and stage2_levels >= 2:
        cand = stage2_candidates(design, N, T, E, sel1, stage2_levels)
        ran = (cand >= 0).sum(axis=1) >= 2
        rows = np.flatnonzero(ran)
        for j in range(stage2_levels):
            r = rows[cand[rows, j] >= 0]
            lv = cand[r, j]
            t, e, te = _draw(rng, stage2_n, tox[lv], eff[lv])
            N[r, lv] += stage2_n
            T[r, lv] += t
            E[r, lv] += e
            TE[r, lv] += te
        if rows.size:
            final[rows] = choose_by_utility(design, N[rows], T[rows], E[rows], TE[rows], cand[rows], margin)
    return {
        "selected_stage1": np.bincount(sel1 + 1, minlength=L + 1).astype(np.int64),
        "selected": np.bincount(final + 1, minlength=L + 1).astype(np.int64),
        "patients_stage1": N1.sum(axis=0),
        "patients": N.sum(axis=0),
        "dlt": T.sum(axis=0),
        "responses": E.sum(axis=0),
        "early": np.int64(early.sum()),
        "safety": np.int64(safety.sum()),
        "stage2_run": np.int64(ran.sum()),
        "trials": np.int64(R),
    }


@dataclass(frozen=True)
class OptimisationResult:
    """Operating characteristics of BOIN12 with an optional randomised stage. Percentages
    over trials, means per trial; ``true_obd`` 1-based (None: no acceptable level)."""

    design: str
    tox: tuple[float, ...]
    eff: tuple[float, ...]
    true_utility: tuple[float, ...]
    true_obd: int | None
    trials: int
    selection_percent_stage1: tuple[float, ...]
    selection_percent: tuple[float, ...]
    no_selection_percent: float
    correct_selection_percent_stage1: float | None
    correct_selection_percent: float | None
    mean_patients_stage1: tuple[float, ...]
    mean_patients: tuple[float, ...]
    mean_dlt: tuple[float, ...]
    mean_responses: tuple[float, ...]
    mean_total_patients: float
    early_stop_percent: float
    safety_stop_percent: float
    stage2_percent: float
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items() if k != "settings"}
        out.update(self.settings)
        return out

    def summary(self) -> str:
        L = len(self.tox)
        row = lambda label, vals, fmt: f"{label:>22}" + "".join(format(v, fmt).rjust(8) for v in vals)  # noqa: E731
        lines = [f"Dose optimisation: {self.design}, {self.trials} simulated trials, seed {self.settings.get('seed')}",
                 f"{'level':>22}" + "".join(f"{i:>8}" for i in range(1, L + 1)),
                 row("true DLT prob", self.tox, ".2f"), row("true response prob", self.eff, ".2f"),
                 row("true utility", self.true_utility, ".1f"),
                 row("selected stage 1 %", self.selection_percent_stage1, ".1f"),
                 row("selected final %", self.selection_percent, ".1f"),
                 row("mean patients", self.mean_patients, ".2f"), row("  of them stage 1", self.mean_patients_stage1, ".2f")]
        lines.append(f"No selection: {self.no_selection_percent:.1f}%   early stop: {self.early_stop_percent:.1f}%   "
                     f"safety stop: {self.safety_stop_percent:.1f}%   randomised stage run: {self.stage2_percent:.1f}%")
        lines.append(f"Mean total patients: {self.mean_total_patients:.2f}")
        if self.true_obd is not None:
            lines.append(f"True OBD: level {self.true_obd}; correct selection {self.correct_selection_percent_stage1:.1f}% after "
                         f"stage 1, {self.correct_selection_percent:.1f}% final")
        rule = self.settings
        if rule.get("stage2_n"):
            lines.append(f"Randomised stage: up to {rule['stage2_levels']} levels x {rule['stage2_n']} patients; the lowest "
                         f"level within {rule['margin']:g} utility points of the best is chosen")
        return "\n".join(lines)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"level": range(1, len(self.tox) + 1), "tox": self.tox, "eff": self.eff,
                             "true_utility": self.true_utility, "selection_percent": self.selection_percent,
                             "mean_patients": self.mean_patients})

    def __str__(self) -> str:
        return self.summary()


@api_door
def simulate_dose_optimisation(
    design: Boin12Design,
    tox: Sequence[float],
    eff: Sequence[float],
    *,
    cohort_size: int = 3,
    n_cohorts: int = 12,
    trials: int = 5000,
    seed: int | None = None,
    start_level: int = 1,
    stage2_levels: int = 2,
    stage2_n: int = 0,
    margin: float = 5.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
) -> OptimisationResult:
    """Simulate BOIN12 (``n_cohorts`` cohorts of ``cohort_size``) under true DLT rates ``tox`` and
    response rates ``eff`` per level, then, with ``stage2_n`` > 0, the randomised stage among
    up to ``stage2_levels`` levels (module doc). ``margin`` in utility points (0-100)."""
    from earlyphase.design.simulate import _run_chunks, check_run

    tox_a = np.asarray([check_probability(f"tox[{i}]", v, open_interval=False) for i, v in enumerate(tox, 1)])
    eff_a = np.asarray([check_probability(f"eff[{i}]", v, open_interval=False) for i, v in enumerate(eff, 1)])
    if tox_a.size == 0 or tox_a.size != eff_a.size:
        raise InputError.single("eff", list(eff), "one-per-level", "Give a true DLT rate and a true response rate for every level.")
    if tox_a.size > MAX_LEVELS:
        raise InputError.single("tox", f"{tox_a.size} levels", f"at most {MAX_LEVELS} levels", f"Give at most {MAX_LEVELS} levels.")
    stage2_levels = whole("stage2_levels", stage2_levels, 2, MAX_LEVELS)
    stage2_n = whole("stage2_n", stage2_n, 0, MAX_SAMPLE_SIZE)
    trials, cohort_size, n_cohorts, chunk_size, seed = check_run(trials=trials, cohort_size=cohort_size, n_cohorts=n_cohorts,
                                                                 chunk_size=chunk_size, seed=seed, workers=workers)
    if cohort_size * n_cohorts + stage2_n * stage2_levels > MAX_SAMPLE_SIZE:
        raise InputError.single("stage2_n", stage2_n, f"at most {MAX_SAMPLE_SIZE} patients per trial",
                                f"a simulated trial may enrol at most {MAX_SAMPLE_SIZE} patients, both stages together.")
    start_level = whole("start_level", start_level, 1, tox_a.size)
    try:
        margin = float(margin)
        if not (0 <= margin <= 100):
            raise ValueError
    except (TypeError, ValueError):
        raise InputError.single("margin", margin, "0..100", "The margin is in utility points, between 0 and 100.") from None
    chunks = [(0, c, min(chunk_size, trials - c * chunk_size)) for c in range(-(-trials // chunk_size))]
    args = dict(cohort_size=int(cohort_size), n_cohorts=int(n_cohorts), start_level=int(start_level),
                stage2_levels=int(stage2_levels), stage2_n=int(stage2_n), margin=margin)

    parts = _run_chunks(design, [(tox_a, eff_a)], chunks, seed, args, progress=progress, scheduler=scheduler,
                        workers=workers, chunk_fn=_OptimisationChunk())
    agg = {k: sum(part[k] for part in parts) for k in parts[0]}
    R = float(agg["trials"])
    obd = true_obd(design, tox_a, eff_a)
    s1 = agg["selected_stage1"] / R * 100
    s = agg["selected"] / R * 100
    return OptimisationResult(
        design=design.name, tox=tuple(map(float, tox_a)), eff=tuple(map(float, eff_a)),
        true_utility=tuple(float(v) for v in true_utility(design, tox_a, eff_a)), true_obd=None if obd is None else obd + 1,
        trials=int(R), selection_percent_stage1=tuple(float(v) for v in s1[1:]), selection_percent=tuple(float(v) for v in s[1:]),
        no_selection_percent=float(s[0]),
        correct_selection_percent_stage1=None if obd is None else float(s1[obd + 1]),
        correct_selection_percent=None if obd is None else float(s[obd + 1]),
        mean_patients_stage1=tuple(float(v) for v in agg["patients_stage1"] / R),
        mean_patients=tuple(float(v) for v in agg["patients"] / R), mean_dlt=tuple(float(v) for v in agg["dlt"] / R),
        mean_responses=tuple(float(v) for v in agg["responses"] / R), mean_total_patients=float(agg["patients"].sum() / R),
        early_stop_percent=float(agg["early"]) / R * 100, safety_stop_percent=float(agg["safety"]) / R * 100,
        stage2_percent=float(agg["stage2_run"]) / R * 100,
        settings={"seed": seed, "chunk_size": chunk_size, **args, **design.describe()},
    )


class _OptimisationChunk:
    """A picklable chunk function for the shared runner (scenario = (tox, eff))."""

    def __call__(self, design, truth, **kw):
        return optimisation_chunk(design, truth[0], truth[1], **kw)
