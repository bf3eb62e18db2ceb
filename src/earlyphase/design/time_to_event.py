"""Simulation with staggered accrual and DLT windows: decisions are taken while patients
are still being followed.

Each trial runs on its own clock (days). Patients arrive one after another, either at a
fixed interval or as a Poisson process (exponential gaps with the stated mean). A cohort
takes the level decided when its first patient arrives; the decision sees only what is
known at that moment (see ``earlyphase.design.tite``). A patient whose true outcome is a
DLT has it at a time within the window drawn from a Beta(a, b) distribution scaled to the
window (a = b = 1: uniform; a > b: late onset). When the design must wait, accrual is
suspended: the cohort's first patient is enrolled at the next moment a pending outcome
becomes known (a DLT or a completed window) and the decision is taken again then.

The trial's duration runs from the first patient's arrival to the last outcome (every
enrolled patient is followed to the end of the window or to a DLT). The final selection
uses the complete data. Seeding and chunking are as in ``earlyphase.design.simulate``:
results for a (seed, chunk_size) do not depend on how the chunks are run.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from earlyphase.design.base import Design
from earlyphase.design.simulate import (
    DEFAULT_CHUNK_SIZE,
    SimulationResult,
    _check_truth,
    _design_levels,
    _run_chunks,
    _scenarios,
    summarise,
)
from earlyphase.design.tite import PENDING_RULES, pending_step
from earlyphase.errors import InputError

ARRIVALS = ("fixed", "poisson")


def _gaps(rng, arrival: str, interval: float, size: int) -> np.ndarray:
    if arrival == "fixed":
        return np.full(size, interval)
    return rng.exponential(interval, size)


def _observed(lev, arr, dlt, dtime, t, k, L, window):
    """What is known at times ``t`` (one per trial) about slots 0..k-1: counts per level
    (pending included), observed DLTs per level, pending levels and weights, and the time
    each outcome becomes known."""
    T = lev.shape[0]
    lv, a, d, dt = lev[:, :k], arr[:, :k], dlt[:, :k], dtime[:, :k]
    follow = t[:, None] - a
    known = a + np.where(d, dt, window)  # when the outcome becomes known
    # compared as times (not follow-up) so that waiting until ``known`` always resolves it
    pending = t[:, None] < known
    seen_dlt = d & ~pending
    rows = np.repeat(np.arange(T), k)
    flat = rows * L + lv.ravel()
    N = np.bincount(flat, minlength=T * L).reshape(T, L)
    Y = np.bincount(flat, weights=seen_dlt.ravel().astype(float), minlength=T * L).reshape(T, L).astype(np.int64)
    plev = np.where(pending, lv, -1)
    pw = np.clip(follow / window, 0.0, 1.0)
    return N, Y, plev, pw, known, pending, seen_dlt


def simulate_tte_chunk(design: Design, truth: np.ndarray, cohort_size: int, n_cohorts: int, start_level: int,
                       n_trials: int, seed_entropy: int, scenario: int, chunk: int, window: float, arrival: str,
                       interval: float, dlt_time: tuple[float, float], tite: bool, pending_rule: str) -> dict[str, np.ndarray]:
    """Simulate ``n_trials`` trials with staggered accrual; integer aggregates plus summed durations."""
    rng = np.random.default_rng(np.random.SeedSequence(seed_entropy, spawn_key=(scenario, chunk)))
    L, T = truth.size, n_trials
    P = cohort_size * n_cohorts
    lev = np.zeros((T, P), dtype=np.int64)
    arr = np.zeros((T, P))
    dlt = np.zeros((T, P), dtype=bool)
    dtime = np.full((T, P), np.inf)
    enrolled = np.zeros(T, dtype=np.int64)
    clock = np.zeros(T)  # when the next patient arrives
    stop_time = np.zeros(T)
    suspended = np.zeros(T)
    cur = np.full(T, start_level - 1, dtype=np.int64)
    active = np.ones(T, dtype=bool)
    safety = np.zeros(T, dtype=bool)
    early = np.zeros(T, dtype=bool)
    k = 0
    for c in range(n_cohorts):
        if c > 0:
            todo = np.flatnonzero(active)
            while todo.size:
                t = clock[todo]
                N, Y, plev, pw, known, pending, seen = _observed(lev[todo], arr[todo], dlt[todo], dtime[todo], t, k, L, window)
                last = seen[:, k - cohort_size:k].sum(axis=1)
                st, wait = pending_step(design, N, Y, cur[todo], last, plev, pw, tite=tite, pending_rule=pending_rule)
                go = ~wait
                g = todo[go]
                cur[g] = cur[g] + st.move[go]
                halted = g[st.stop[go]]
                safety[g[st.safety[go]]] = True
                early[halted] = True
                active[halted] = False
                stop_time[halted] = clock[halted]
                w = todo[wait]
                if w.size:
                    # next moment a pending outcome becomes known
                    nxt = np.where(pending[wait], known[wait], np.inf).min(axis=1)
                    if not np.all(np.isfinite(nxt)):
                        raise AssertionError(f"{design.name} waits with no pending patient")
                    suspended[w] += nxt - clock[w]
                    clock[w] = nxt
                todo = w
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        for i in range(cohort_size):
            s = k + i
            if i > 0:
                clock[a] += _gaps(rng, arrival, interval, a.size)
            arr[a, s] = clock[a]
            lev[a, s] = cur[a]
            dlt[a, s] = rng.random(a.size) < truth[cur[a]]
            onset = rng.beta(dlt_time[0], dlt_time[1], a.size) * window
            dtime[a, s] = np.where(dlt[a, s], np.maximum(onset, 1e-9), np.inf)
        clock[a] += _gaps(rng, arrival, interval, a.size)
        enrolled[a] += cohort_size
        k += cohort_size
    # complete data: every enrolled patient followed to a DLT or the end of the window
    mask = np.arange(P)[None, :] < enrolled[:, None]
    rows = np.repeat(np.arange(T), P)
    flat = rows * L + lev.ravel()
    N = np.bincount(flat, weights=mask.ravel().astype(float), minlength=T * L).reshape(T, L).astype(np.int64)
    Y = np.bincount(flat, weights=(mask & dlt).ravel().astype(float), minlength=T * L).reshape(T, L).astype(np.int64)
    end = np.where(mask, arr + np.where(dlt, dtime, window), 0.0).max(axis=1)
    duration = np.maximum(end, stop_time)
    sel = design.select_many(N, Y)
    sel = np.where(safety, -1, sel)
    return {
        "selected": np.bincount(sel + 1, minlength=L + 1).astype(np.int64),
        "patients": N.sum(axis=0),
        "dlt": Y.sum(axis=0),
        "early": np.int64(early.sum()),
        "safety": np.int64(safety.sum()),
        "trials": np.int64(T),
        "duration": float(duration.sum()),
        "suspended": float(suspended.sum()),
    }


def simulate_time_to_event(
    design: Design,
    truth: Sequence[float] | Sequence[Sequence[float]],
    *,
    window: float = 28.0,
    arrival: str = "fixed",
    interval: float = 7.0,
    dlt_time: tuple[float, float] = (1.0, 1.0),
    tite: bool | None = None,
    pending_rule: str = "wait",
    cohort_size: int = 1,
    n_cohorts: int = 30,
    trials: int = 10000,
    seed: int | None = None,
    start_level: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
) -> SimulationResult | list[SimulationResult]:
    """Operating characteristics and trial duration with staggered accrual.

    ``window`` is the DLT window in days; patients arrive every ``interval`` days
    (``arrival="fixed"``) or with exponential gaps of mean ``interval`` days
    (``"poisson"``). ``dlt_time`` = (a, b): DLT onset within the window ~ window x Beta(a, b).
    ``tite`` uses TITE weights (default: when the design has them: CRM, BOIN); otherwise
    ``pending_rule`` "wait" (decide when pending outcomes cannot change the decision) or
    "suspend" (wait until every window is complete). Other arguments as in ``simulate``.
    The result's ``extra`` holds ``mean_duration_days`` and ``mean_suspended_days``.
    """
    scenarios, single = _scenarios(truth)
    problems = _check_options(window, arrival, interval, dlt_time, pending_rule, trials, cohort_size, n_cohorts, chunk_size)
    if problems:
        raise problems
    if tite is None:
        tite = bool(design.supports_tite)
    if tite and not design.supports_tite:
        raise InputError.single("tite", True, "supported", f"TITE weighting is available for BOIN and CRM, not {design.name}.")
    n_levels = _design_levels(design)
    ps = [_check_truth(s, n_levels) for s in scenarios]
    L = ps[0].size
    if any(p.size != L for p in ps):
        raise InputError.single("truth", scenarios, "same-length", "Every scenario must give the same number of levels.")
    if not 1 <= int(start_level) <= L:
        raise InputError.single("start_level", start_level, "valid-level", f"The start level must be between 1 and {L}.")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = int(seed)
    if seed < 0:
        raise InputError.single("seed", seed, "non-negative", "The seed must be a non-negative integer.")
    trials, chunk_size = int(trials), int(chunk_size)
    chunks = [(s, c, min(chunk_size, trials - c * chunk_size)) for s in range(len(ps)) for c in range(-(-trials // chunk_size))]
    args = dict(cohort_size=int(cohort_size), n_cohorts=int(n_cohorts), start_level=int(start_level), window=float(window),
                arrival=arrival, interval=float(interval), dlt_time=(float(dlt_time[0]), float(dlt_time[1])), tite=bool(tite),
                pending_rule=pending_rule)
    results = _run_chunks(design, ps, chunks, seed, args, progress=progress, scheduler=scheduler, workers=workers,
                          chunk_fn=simulate_tte_chunk)
    out = []
    for s, p in enumerate(ps):
        parts = [results[i] for i, ch in enumerate(chunks) if ch[0] == s]
        agg = {k: sum(part[k] for part in parts) for k in parts[0]}
        res = summarise(design, p, agg, target=getattr(design, "target", None), cohort_size=int(cohort_size),
                        n_cohorts=int(n_cohorts), seed=seed, chunk_size=chunk_size)
        res.extra.update({
            "mean_duration_days": agg["duration"] / trials, "mean_suspended_days": agg["suspended"] / trials,
            "window_days": float(window), "arrival": arrival, "interval_days": float(interval),
            "dlt_time_beta": [float(dlt_time[0]), float(dlt_time[1])], "tite": bool(tite),
            "pending_rule": None if tite else pending_rule,
        })
        out.append(res)
    return out[0] if single else out


def _check_options(window, arrival, interval, dlt_time, pending_rule, trials, cohort_size, n_cohorts, chunk_size):
    from earlyphase.errors import Problem

    problems = []

    def num(name, v):
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        return f if np.isfinite(f) else None

    w = num("window", window)
    if w is None or w <= 0:
        problems.append(Problem("window", window, "positive", "The DLT window must be a positive number of days."))
    if arrival not in ARRIVALS:
        problems.append(Problem("arrival", arrival, "|".join(ARRIVALS), "Patients arrive 'fixed' (every interval days) or 'poisson'."))
    i = num("interval", interval)
    if i is None or i <= 0:
        problems.append(Problem("interval", interval, "positive", "The time between arrivals must be a positive number of days."))
    try:
        a, b = (float(v) for v in dlt_time)
        if not (a > 0 and b > 0 and np.isfinite(a) and np.isfinite(b)):
            raise ValueError
    except (TypeError, ValueError):
        problems.append(Problem("dlt_time", dlt_time, "two-positive-numbers",
                                "Give the DLT onset distribution as two positive Beta shape parameters (1, 1 = uniform)."))
    if pending_rule not in PENDING_RULES:
        problems.append(Problem("pending_rule", pending_rule, "|".join(PENDING_RULES),
                                "Say what a design without TITE weights does with pending patients: 'wait' or 'suspend'."))
    for name, v in (("trials", trials), ("cohort_size", cohort_size), ("n_cohorts", n_cohorts), ("chunk_size", chunk_size)):
        try:
            ok = int(v) >= 1 and int(v) == float(v)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(Problem(name, v, "positive-integer", f"{name} must be a whole number of at least 1."))
    return InputError(problems) if problems else None
