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
    check_run,
    summarise,
)
from earlyphase.design._common import api_door, whole
from earlyphase.design.tite import PENDING_RULES, pending_step
from earlyphase.errors import InputError
from earlyphase.limits import MAX_DAYS, MAX_SAMPLE_SIZE

ARRIVALS = ("fixed", "poisson")


def _gaps(rng, arrival: str, interval: float, size: int) -> np.ndarray:
    if arrival == "fixed":
        return np.full(size, interval)
    return rng.exponential(interval, size)


def _observed(lev, arr, dlt, dtime, t, used, L, window):
    """What is known at times ``t`` (one per trial) about each trial's first ``used`` slots:
    counts per level (pending included), observed DLTs per level, pending levels and
    weights, the time each outcome becomes known, and the pending / seen-DLT masks."""
    T, k = lev.shape
    inside = np.arange(k)[None, :] < used[:, None]
    follow = t[:, None] - arr
    known = arr + np.where(dlt, dtime, window)  # when the outcome becomes known
    # compared as times (not follow-up) so that waiting until ``known`` always resolves it
    pending = inside & (t[:, None] < known)
    seen_dlt = inside & dlt & ~pending
    flat = (np.arange(T)[:, None] * L + lev).ravel()
    N = np.bincount(flat, weights=inside.ravel().astype(float), minlength=T * L).reshape(T, L).astype(np.int64)
    Y = np.bincount(flat, weights=seen_dlt.ravel().astype(float), minlength=T * L).reshape(T, L).astype(np.int64)
    plev = np.where(pending, lev, -1)
    pw = np.clip(follow / window, 0.0, 1.0)
    return N, Y, plev, pw, known, pending, seen_dlt


def _enrol(rng, rows, level, when, truth, lev, arr, dlt, dtime, enrolled, window, dlt_time):
    """One patient for each trial in ``rows``, at ``level`` and time ``when``."""
    s = enrolled[rows]
    arr[rows, s] = when
    lev[rows, s] = level
    d = rng.random(rows.size) < truth[level]
    dlt[rows, s] = d
    onset = rng.beta(dlt_time[0], dlt_time[1], rows.size) * window
    dtime[rows, s] = np.where(d, np.maximum(onset, 1e-9), np.inf)
    enrolled[rows] += 1


def simulate_tte_chunk(design: Design, truth: np.ndarray, cohort_size: int, n_cohorts: int, start_level: int,
                       n_trials: int, seed_entropy: int, scenario: int, chunk: int, window: float, arrival: str,
                       interval: float, dlt_time: tuple[float, float], tite: bool, pending_rule: str,
                       backfill_cap: int | None = None, backfill_max: int = 0) -> dict[str, np.ndarray]:
    """Simulate ``n_trials`` trials with staggered accrual; integer aggregates plus summed durations.

    With ``backfill_max`` > 0, a patient who arrives while the trial must wait is treated at
    the highest cleared level known to be less toxic than the current one (complete data;
    fewer than ``backfill_cap`` patients there), up to ``backfill_max`` such patients per
    trial, instead of accrual being suspended (BF-BOIN, Zhao et al. 2024)."""
    from earlyphase.design.simulate import backfill_levels

    rng = np.random.default_rng(np.random.SeedSequence(seed_entropy, spawn_key=(scenario, chunk)))
    L, T = truth.size, n_trials
    P = cohort_size * n_cohorts + backfill_max
    lev = np.zeros((T, P), dtype=np.int64)
    arr = np.zeros((T, P))
    dlt = np.zeros((T, P), dtype=bool)
    dtime = np.full((T, P), np.inf)
    enrolled = np.zeros(T, dtype=np.int64)
    cohort_start = np.zeros(T, dtype=np.int64)
    backfilled = np.zeros(T, dtype=np.int64)
    bf_at = np.zeros((T, L), dtype=np.int64)  # backfill patients per level
    clock = np.zeros(T)  # when the next patient arrives
    stop_time = np.zeros(T)
    suspended = np.zeros(T)
    cur = np.full(T, start_level - 1, dtype=np.int64)
    active = np.ones(T, dtype=bool)
    safety = np.zeros(T, dtype=bool)
    early = np.zeros(T, dtype=bool)
    for c in range(n_cohorts):
        if c > 0:
            todo = np.flatnonzero(active)
            while todo.size:
                t = clock[todo]
                k = int(enrolled[todo].max())
                N, Y, plev, pw, known, pending, seen = _observed(lev[todo, :k], arr[todo, :k], dlt[todo, :k],
                                                                 dtime[todo, :k], t, enrolled[todo], L, window)
                cohort = cohort_start[todo][:, None] + np.arange(cohort_size)[None, :]
                last = np.take_along_axis(seen, np.minimum(cohort, k - 1), axis=1).sum(axis=1)
                st, wait = pending_step(design, N, Y, cur[todo], last, plev, pw, tite=tite, pending_rule=pending_rule)
                go = ~wait
                g = todo[go]
                nxt = cur[g] + st.move[go]
                if backfill_max:
                    # BF-BOIN's safety rule: a backfilled level its complete data no longer
                    # clear caps the next level at that level
                    Nc = N[go] - _pending_per_level(plev[go], L)
                    for lv in range(L):
                        has = (bf_at[g, lv] > 0) & (lv < nxt)
                        if has.any():
                            rows = np.flatnonzero(has)
                            bad = ~design.cleared_many(Nc[rows], Y[go][rows], np.full(rows.size, lv))
                            nxt[rows[bad]] = lv
                cur[g] = nxt
                halted = g[st.stop[go]]
                safety[g[st.safety[go]]] = True
                early[halted] = True
                active[halted] = False
                stop_time[halted] = clock[halted]
                w = todo[wait]
                pend_w, known_w = pending[wait], known[wait]
                again = np.empty(0, dtype=np.int64)
                if w.size and backfill_max:
                    # a patient arriving now is backfilled instead of waiting, where a level is open
                    Nw = N[wait]
                    Nc = Nw - _pending_per_level(plev[wait], L)
                    bl = backfill_levels(design, Nc, Y[wait], cur[w], backfill_cap, counts_for_cap=Nw)
                    room = (bl >= 0) & (backfilled[w] < backfill_max)
                    again = w[room]
                    if again.size:
                        _enrol(rng, again, bl[room], clock[again], truth, lev, arr, dlt, dtime, enrolled, window, dlt_time)
                        bf_at[again, bl[room]] += 1
                        backfilled[again] += 1
                        clock[again] += _gaps(rng, arrival, interval, again.size)
                    w, pend_w, known_w = w[~room], pend_w[~room], known_w[~room]
                if w.size:
                    # accrual suspended until the next moment a pending outcome becomes known
                    nxt_t = np.where(pend_w, known_w, np.inf).min(axis=1)
                    if not np.all(np.isfinite(nxt_t)):
                        raise AssertionError(f"{design.name} waits with no pending patient")
                    suspended[w] += np.maximum(nxt_t - clock[w], 0.0)
                    clock[w] = np.maximum(nxt_t, clock[w])
                todo = np.concatenate([again, w])
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        cohort_start[a] = enrolled[a]
        for i in range(cohort_size):
            if i > 0:
                clock[a] += _gaps(rng, arrival, interval, a.size)
            _enrol(rng, a, cur[a], clock[a], truth, lev, arr, dlt, dtime, enrolled, window, dlt_time)
        clock[a] += _gaps(rng, arrival, interval, a.size)
    # complete data: every enrolled patient followed to a DLT or the end of the window
    mask = np.arange(P)[None, :] < enrolled[:, None]
    flat = (np.arange(T)[:, None] * L + lev).ravel()
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
        "backfilled": np.int64(backfilled.sum()),
    }


def _pending_per_level(plev, L):
    T = plev.shape[0]
    out = np.zeros((T, L), dtype=np.int64)
    rows, cols = np.nonzero(plev >= 0)
    np.add.at(out, (rows, plev[rows, cols]), 1)
    return out


@api_door
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
    backfill_max: int = 0,
    backfill_cap: int | None = None,
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
    ``backfill_max`` > 0: a patient arriving while the trial waits is backfilled (BF-BOIN) at
    the highest cleared level known to be less toxic than the current one with fewer than
    ``backfill_cap`` patients, up to ``backfill_max`` backfill patients per trial.
    The result's ``extra`` holds ``mean_duration_days``, ``mean_suspended_days`` and, with
    backfill, ``mean_backfill_patients``.
    """
    scenarios, single = _scenarios(truth)
    problems = _check_options(window, arrival, interval, dlt_time, pending_rule, trials, cohort_size, n_cohorts, chunk_size)
    if problems:
        raise problems
    backfill_max = whole("backfill_max", backfill_max, 0, MAX_SAMPLE_SIZE)
    if backfill_cap is not None:
        backfill_cap = whole("backfill_cap", backfill_cap, 1, MAX_SAMPLE_SIZE)
    trials, cohort_size, n_cohorts, chunk_size, seed = check_run(trials=trials, cohort_size=cohort_size, n_cohorts=n_cohorts,
                                                                 chunk_size=chunk_size, seed=seed, workers=workers)
    if cohort_size * n_cohorts + backfill_max > MAX_SAMPLE_SIZE:
        raise InputError.single("backfill_max", backfill_max, f"at most {MAX_SAMPLE_SIZE} patients per trial",
                                f"a simulated trial may enrol at most {MAX_SAMPLE_SIZE} patients, backfill included.")
    for name, v in (("window", window), ("interval", interval)):
        if float(v) > MAX_DAYS:
            raise InputError.single(name, v, f"at most {MAX_DAYS} days", f"{name} is in days, at most {MAX_DAYS}.")
    if tite is None:
        tite = bool(design.supports_tite)
    if tite and not design.supports_tite:
        raise InputError.single("tite", True, "supported", f"TITE weighting is available for BOIN and CRM, not {design.name}.")
    n_levels = _design_levels(design)
    ps = [_check_truth(s, n_levels) for s in scenarios]
    L = ps[0].size
    if any(p.size != L for p in ps):
        raise InputError.single("truth", scenarios, "same-length", "Every scenario must give the same number of levels.")
    start_level = whole("start_level", start_level, 1, L)
    chunks = [(s, c, min(chunk_size, trials - c * chunk_size)) for s in range(len(ps)) for c in range(-(-trials // chunk_size))]
    args = dict(cohort_size=int(cohort_size), n_cohorts=int(n_cohorts), start_level=int(start_level), window=float(window),
                arrival=arrival, interval=float(interval), dlt_time=(float(dlt_time[0]), float(dlt_time[1])), tite=bool(tite),
                pending_rule=pending_rule, backfill_max=int(backfill_max),
                backfill_cap=None if backfill_cap is None else int(backfill_cap))
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
        if backfill_max:
            res.extra.update({"mean_backfill_patients": float(agg["backfilled"]) / trials, "backfill_size": "on arrival",
                              "backfill_max": int(backfill_max),
                              "backfill_cap": None if backfill_cap is None else int(backfill_cap)})
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
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            problems.append(Problem(name, v, "positive-integer", f"{name} must be a whole number of at least 1."))
    return InputError(problems) if problems else None
