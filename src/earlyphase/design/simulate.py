"""Operating characteristics of a design by simulating many trials at once.

The loop runs over cohorts; inside a cohort every still-running trial is handled by the
same array operations (one binomial draw per trial, one call of the design's
``step_many``), so there is no Python loop over patients or trials.

Reproducibility: trials are cut into chunks of ``chunk_size`` in a fixed order, and chunk
c of scenario s draws from ``SeedSequence(seed, spawn_key=(s, c))``. The result for a
given (seed, chunk_size) is therefore identical whether chunks run in this process, on a
local Dask cluster with any number of workers, or on a remote scheduler; aggregates are
integer sums, combined in chunk order.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from earlyphase.design._common import api_door, check_probability, whole
from earlyphase.design.base import Design
from earlyphase.errors import InputError
from earlyphase.limits import MAX_LEVELS, MAX_SAMPLE_SIZE, MAX_SCENARIOS, MAX_SIM_TRIALS, MAX_WORKERS, SEED_MAX

DEFAULT_CHUNK_SIZE = 5000


def _check_truth(truth: Sequence[float], n_levels: int | None = None) -> np.ndarray:
    p = np.asarray([check_probability(f"truth[{i}]", v, open_interval=False) for i, v in enumerate(truth, start=1)])
    if p.size == 0:
        raise InputError.single("truth", list(truth), "non-empty", "Give the true DLT probability of every level.")
    if n_levels is not None and p.size != n_levels:
        raise InputError.single("truth", list(truth), "one-per-level", f"The design has {n_levels} levels; give {n_levels} true DLT probabilities.")
    return p


def backfill_levels(design: Design, N: np.ndarray, Y: np.ndarray, cur: np.ndarray, cap: int | None,
                    counts_for_cap: np.ndarray | None = None) -> np.ndarray:
    """Per trial, the level (0-based) that takes backfill patients, or -1: the highest level
    known to be less toxic than the current one (``design.known_below``) that the design
    calls cleared and that has fewer than ``cap`` patients (no cap when None; the patients
    counted are ``counts_for_cap`` when given, e.g. including those still pending)."""
    T, L = N.shape
    capped = N if counts_for_cap is None else counts_for_cap
    out = np.full(T, -1)
    below = design.known_below(np.asarray(cur), L)
    for lv in range(L - 1, -1, -1):
        look = np.flatnonzero((out < 0) & below[:, lv])
        if look.size == 0:
            continue
        ok = design.cleared_many(N[look], Y[look], np.full(look.size, lv))
        if cap is not None:
            ok &= capped[look, lv] < cap
        out[look[ok]] = lv
    return out


def simulate_chunk(design: Design, truth: np.ndarray, cohort_size: int, n_cohorts: int, start_level: int,
                   backfill_size: int, n_trials: int, seed_entropy: int, scenario: int, chunk: int,
                   backfill_cap: int | None = None) -> dict[str, np.ndarray]:
    """Simulate ``n_trials`` trials; return integer aggregates (see module doc for seeding)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed_entropy, spawn_key=(scenario, chunk)))
    L = truth.size
    T = n_trials
    N = np.zeros((T, L), dtype=np.int64)
    Y = np.zeros((T, L), dtype=np.int64)
    cur = np.full(T, start_level - 1, dtype=np.int64)
    active = np.ones(T, dtype=bool)
    safety = np.zeros(T, dtype=bool)
    early = np.zeros(T, dtype=bool)
    backfilled = 0
    for c in range(n_cohorts):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        ca = cur[a]
        tox = rng.binomial(cohort_size, truth[ca])
        N[a, ca] += cohort_size
        Y[a, ca] += tox
        Na, Ya = N[a], Y[a]
        bf_level = np.full(a.size, -1)
        if backfill_size:
            bf_level = backfill_levels(design, Na, Ya, ca, backfill_cap)
            b = np.flatnonzero(bf_level >= 0)
            if b.size:
                btox = rng.binomial(backfill_size, truth[bf_level[b]])
                N[a[b], bf_level[b]] += backfill_size
                Y[a[b], bf_level[b]] += btox
                backfilled += backfill_size * b.size
                Na, Ya = N[a], Y[a]
        st = design.step_many(Na, Ya, ca, tox)
        nxt = ca + st.move
        if backfill_size:
            # BF-BOIN's safety rule: a backfilled level whose pooled data no longer clear it
            # caps the next level at that level (its own data then decide the way down).
            b = np.flatnonzero(bf_level >= 0)
            if b.size:
                unsafe = ~design.cleared_many(Na[b], Ya[b], bf_level[b])
                nxt[b] = np.where(unsafe, np.minimum(nxt[b], bf_level[b]), nxt[b])
        cur[a] = nxt
        stopped = a[st.stop]
        safety[a[st.safety]] = True
        if c < n_cohorts - 1:
            early[stopped] = True
        active[stopped] = False
    sel = design.select_many(N, Y)
    sel = np.where(safety, -1, sel)
    return {
        "selected": np.bincount(sel + 1, minlength=L + 1).astype(np.int64),  # index 0 = no selection
        "patients": N.sum(axis=0),
        "dlt": Y.sum(axis=0),
        "early": np.int64(early.sum()),
        "safety": np.int64(safety.sum()),
        "trials": np.int64(T),
        "backfilled": np.int64(backfilled),
    }


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics of one design under one true dose-toxicity scenario.

    Percentages are over simulated trials; means are per trial. ``early_stop_percent``
    counts trials that ended before their last cohort for any reason (safety or the
    early-stopping rule); ``safety_stop_percent`` those stopped because level 1 was too
    toxic. ``percent_patients_above_mtd`` is the share of all patients treated at levels
    whose true DLT probability exceeds the target. ``true_mtd`` is the 1-based level whose
    true probability is closest to the target (the lower on a tie).
    """

    design: str
    target: float | None
    truth: tuple[float, ...]
    trials: int
    selection_percent: tuple[float, ...]
    no_selection_percent: float
    mean_patients: tuple[float, ...]
    mean_dlt: tuple[float, ...]
    mean_total_patients: float
    mean_total_dlt: float
    early_stop_percent: float
    safety_stop_percent: float
    percent_patients_above_mtd: float | None
    true_mtd: int | None
    correct_selection_percent: float | None
    cohort_size: int
    n_cohorts: int
    seed: int | None
    chunk_size: int | None
    method: str = "simulation"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "trials": self.trials,
            "selection_percent": list(self.selection_percent),
            "no_selection_percent": self.no_selection_percent,
            "mean_patients": list(self.mean_patients),
            "mean_dlt": list(self.mean_dlt),
            "mean_total_patients": self.mean_total_patients,
            "mean_total_dlt": self.mean_total_dlt,
            "early_stop_percent": self.early_stop_percent,
            "safety_stop_percent": self.safety_stop_percent,
            "percent_patients_above_mtd": self.percent_patients_above_mtd,
            "true_mtd": self.true_mtd,
            "correct_selection_percent": self.correct_selection_percent,
            "target": self.target,
            "truth": list(self.truth),
            "cohort_size": self.cohort_size,
            "n_cohorts": self.n_cohorts,
            "seed": self.seed,
            "chunk_size": self.chunk_size,
            "method": self.method,
            **self.extra,
        }

    def summary(self) -> str:
        L = len(self.truth)
        tgt = "" if self.target is None else f", target {self.target:g}"
        runs = f"{self.trials} simulated trials" if self.method == "simulation" else "exact (all cohort outcomes enumerated)"
        head = f"Operating characteristics: {self.design}{tgt}, {runs}"
        if self.seed is not None:
            head += f", seed {self.seed}"
        lines = [head, f"{'level':>18}" + "".join(f"{i:>8}" for i in range(1, L + 1))]
        lines.append(f"{'true DLT prob':>18}" + "".join(f"{v:>8.2f}" for v in self.truth))
        lines.append(f"{'selection %':>18}" + "".join(f"{v:>8.1f}" for v in self.selection_percent))
        lines.append(f"{'mean patients':>18}" + "".join(f"{v:>8.2f}" for v in self.mean_patients))
        lines.append(f"{'mean DLTs':>18}" + "".join(f"{v:>8.2f}" for v in self.mean_dlt))
        lines.append(f"No selection: {self.no_selection_percent:.1f}%   early stop: {self.early_stop_percent:.1f}%   "
                     f"safety stop: {self.safety_stop_percent:.1f}%")
        lines.append(f"Mean total patients: {self.mean_total_patients:.2f}   mean total DLTs: {self.mean_total_dlt:.2f}")
        if "mean_backfill_patients" in self.extra:
            cap = self.extra.get("backfill_cap")
            how = (f"up to {self.extra['backfill_max']} per trial while the trial waits" if "backfill_max" in self.extra
                   else f"{self.extra['backfill_size']} per cohort")
            lines.append(f"Backfill: {self.extra['mean_backfill_patients']:.2f} patients per trial on average "
                         f"({how}, " + ("no cap" if cap is None else f"cap {cap} per level") + ")")
        if "mean_duration_days" in self.extra:
            x = self.extra
            lines.append(f"Mean trial duration: {x['mean_duration_days']:.1f} days "
                         f"(accrual suspended {x['mean_suspended_days']:.1f} days on average)")
        if self.true_mtd is not None:
            lines.append(f"True MTD: level {self.true_mtd}; correct selection {self.correct_selection_percent:.1f}%; "
                         f"patients above the MTD {self.percent_patients_above_mtd:.1f}%")
        return "\n".join(lines)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({
            "level": range(1, len(self.truth) + 1), "truth": self.truth, "selection_percent": self.selection_percent,
            "mean_patients": self.mean_patients, "mean_dlt": self.mean_dlt,
        })

    def __str__(self) -> str:
        return self.summary()


def summarise(design: Design, truth: np.ndarray, agg: dict[str, Any], *, target: float | None, cohort_size: int,
              n_cohorts: int, seed: int | None, chunk_size: int | None, method: str = "simulation") -> SimulationResult:
    """Turn integer (or exact probability) aggregates into a SimulationResult."""
    trials = float(agg["trials"])
    sel = np.asarray(agg["selected"], dtype=float) / trials * 100
    patients = np.asarray(agg["patients"], dtype=float) / trials
    dlt = np.asarray(agg["dlt"], dtype=float) / trials
    true_mtd = above = correct = None
    if target is not None:
        true_mtd = int(np.argmin(np.abs(truth - target))) + 1
        correct = float(sel[true_mtd])
        tot = patients.sum()
        above = float(patients[truth > target].sum() / tot * 100) if tot > 0 else 0.0
    return SimulationResult(
        design=design.name, target=target, truth=tuple(float(v) for v in truth),
        trials=int(agg["trials"]) if method == "simulation" else 0,
        selection_percent=tuple(float(v) for v in sel[1:]), no_selection_percent=float(sel[0]),
        mean_patients=tuple(float(v) for v in patients), mean_dlt=tuple(float(v) for v in dlt),
        mean_total_patients=float(patients.sum()), mean_total_dlt=float(dlt.sum()),
        early_stop_percent=float(agg["early"]) / trials * 100, safety_stop_percent=float(agg["safety"]) / trials * 100,
        percent_patients_above_mtd=above, true_mtd=true_mtd, correct_selection_percent=correct,
        cohort_size=cohort_size, n_cohorts=n_cohorts, seed=seed, chunk_size=chunk_size, method=method,
    )


@api_door
def simulate(
    design: Design,
    truth: Sequence[float] | Sequence[Sequence[float]],
    *,
    cohort_size: int = 3,
    n_cohorts: int = 10,
    trials: int = 10000,
    seed: int | None = None,
    start_level: int = 1,
    backfill_size: int = 0,
    backfill_cap: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
) -> SimulationResult | list[SimulationResult]:
    """Simulate ``trials`` trials of ``design`` under each true scenario.

    ``truth`` is one list of true DLT probabilities per level, or a list of such lists
    (several scenarios; a list of results comes back). Each trial treats up to
    ``n_cohorts`` cohorts of ``cohort_size`` patients, starting at ``start_level``
    (1-based). ``backfill_size`` > 0 adds that many patients, with each cohort, at the
    highest level below the current one that is cleared (the design's ``cleared_many``:
    tried, not eliminated, its data do not call for de-escalation) and has fewer than
    ``backfill_cap`` patients (BF-BOIN, Zhao et al. 2024); they count in the level's data,
    and when they make that level unsafe the next cohort goes no higher than it.
    ``seed`` None draws fresh entropy, reported in the result. ``progress`` shows a bar
    on stderr. ``scheduler`` ("tcp://host:port") or ``workers`` (local cluster size) run
    the chunks on Dask; results do not depend on either.
    """
    scenarios, single = _scenarios(truth)
    backfill_size = whole("backfill_size", backfill_size, 0, MAX_SAMPLE_SIZE)
    if backfill_cap is not None:
        backfill_cap = whole("backfill_cap", backfill_cap, 1, MAX_SAMPLE_SIZE)
    trials, cohort_size, n_cohorts, chunk_size, seed = check_run(trials=trials, cohort_size=cohort_size, n_cohorts=n_cohorts,
                                                                 chunk_size=chunk_size, seed=seed, per_cohort=backfill_size,
                                                                 workers=workers)
    n_levels = _design_levels(design)
    ps = [_check_truth(s, n_levels) for s in scenarios]
    L = ps[0].size
    if any(p.size != L for p in ps):
        raise InputError.single("truth", scenarios, "same-length", "Every scenario must give the same number of levels.")
    start_level = whole("start_level", start_level, 1, L)
    chunks = [(s, c, min(chunk_size, trials - c * chunk_size)) for s in range(len(ps)) for c in range(-(-trials // chunk_size))]
    args = dict(cohort_size=int(cohort_size), n_cohorts=int(n_cohorts), start_level=int(start_level), backfill_size=int(backfill_size),
                backfill_cap=None if backfill_cap is None else int(backfill_cap))
    results = _run_chunks(design, ps, chunks, seed, args, progress=progress, scheduler=scheduler, workers=workers)
    out = []
    for s, p in enumerate(ps):
        parts = [results[i] for i, ch in enumerate(chunks) if ch[0] == s]
        agg = {k: sum(part[k] for part in parts) for k in parts[0]}
        res = summarise(design, p, agg, target=getattr(design, "target", None), cohort_size=int(cohort_size),
                        n_cohorts=int(n_cohorts), seed=seed, chunk_size=int(chunk_size))
        if backfill_size:
            res.extra.update({"mean_backfill_patients": float(agg["backfilled"]) / trials, "backfill_size": int(backfill_size),
                              "backfill_cap": None if backfill_cap is None else int(backfill_cap)})
        out.append(res)
    return out[0] if single else out


def check_run(*, trials, cohort_size, n_cohorts, chunk_size, seed, per_cohort=0, workers=None) -> tuple[int, int, int, int, int]:
    """The simulation options every simulator shares, held to the CLI's bounds (``earlyphase.limits``):
    (trials, cohort_size, n_cohorts, chunk_size, seed), the seed drawn when None. ``per_cohort``: patients
    added with each cohort (backfill), counted in the patients one simulated trial may enrol."""
    trials = whole("trials", trials, 1, MAX_SIM_TRIALS)
    cohort_size = whole("cohort_size", cohort_size, 1, MAX_SAMPLE_SIZE)
    n_cohorts = whole("n_cohorts", n_cohorts, 1, MAX_SAMPLE_SIZE)
    chunk_size = whole("chunk_size", chunk_size, 1, MAX_SIM_TRIALS)
    extra = whole("backfill", per_cohort, 0, MAX_SAMPLE_SIZE)
    if (cohort_size + extra) * n_cohorts > MAX_SAMPLE_SIZE:
        raise InputError.single("n_cohorts", n_cohorts, f"at most {MAX_SAMPLE_SIZE} patients per trial",
                                f"a simulated trial may enrol at most {MAX_SAMPLE_SIZE} patients; cohort_size {cohort_size}"
                                + (f" (+ backfill {extra})" if extra else "") + f" x n_cohorts {n_cohorts} is more.")
    seed = int(np.random.SeedSequence().entropy % (SEED_MAX + 1)) if seed is None else whole("seed", seed, 0, SEED_MAX)
    if workers is not None:
        whole("workers", workers, 1, MAX_WORKERS)
    return trials, cohort_size, n_cohorts, chunk_size, seed


def _scenarios(truth) -> tuple[list[list[float]], bool]:
    try:
        first = truth[0]
    except (TypeError, IndexError, KeyError):
        raise InputError.single("truth", truth, "non-empty", "Give the true DLT probability of every level.") from None
    if isinstance(first, (list, tuple, np.ndarray)):
        scenarios, single = [list(s) for s in truth], False
    else:
        scenarios, single = [list(truth)], True
    if len(scenarios) > MAX_SCENARIOS or any(len(s) > MAX_LEVELS for s in scenarios):
        raise InputError.single("truth", f"{len(scenarios)} scenarios of up to {max(map(len, scenarios))} levels",
                                "bounded", f"Give at most {MAX_SCENARIOS} scenarios of at most {MAX_LEVELS} levels each.")
    return scenarios, single


def _design_levels(design: Design) -> int | None:
    sk = getattr(design, "skeleton", None)
    return len(sk) if sk else None


def _run_chunks(design, ps, chunks, seed, args, *, progress, scheduler, workers, chunk_fn=None) -> list[dict]:
    from tqdm import tqdm

    chunk_fn = simulate_chunk if chunk_fn is None else chunk_fn
    bar = tqdm(total=sum(ch[2] for ch in chunks), file=sys.stderr, disable=not progress, unit="trial", desc=design.name)
    try:
        if scheduler is None and not workers:
            out = []
            for s, c, n in chunks:
                out.append(chunk_fn(design, ps[s], n_trials=n, seed_entropy=seed, scenario=s, chunk=c, **args))
                bar.update(n)
            return out
        return _run_dask(design, ps, chunks, seed, args, bar, scheduler=scheduler, workers=workers, chunk_fn=chunk_fn)
    finally:
        bar.close()


def _run_dask(design, ps, chunks, seed, args, bar, *, scheduler, workers, chunk_fn) -> list[dict]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # Dask is an optional extra: say how to get it
        from earlyphase.errors import ConfigurationError

        raise ConfigurationError(
            "running simulations on a Dask cluster (--scheduler/--workers) needs the optional packages dask and "
            "distributed, which are not installed. Install them with: pip install 'earlyphase[cluster]'"
        ) from None
    cluster = None
    if scheduler is not None:
        if not str(scheduler).startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise InputError.single("scheduler", scheduler, "address", "Give the Dask scheduler address as tcp://host:port.")
        client = Client(scheduler)
    else:
        if int(workers) < 1:
            raise InputError.single("workers", workers, "positive", "The number of local workers must be at least 1.")
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [
            client.submit(chunk_fn, design, ps[s], n_trials=n, seed_entropy=seed, scenario=s, chunk=c, pure=False, **args)
            for s, c, n in chunks
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[dict | None] = [None] * len(futures)
        for fut in as_completed(futures):
            i = index[fut.key]
            out[i] = fut.result()
            bar.update(chunks[i][2])
        return out  # type: ignore[return-value]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
