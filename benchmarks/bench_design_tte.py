"""Benchmark: time-to-event, backfill, POCRM and BOIN12 simulations (issue 12), in one run.

R's BOIN package could not be installed on this machine (install.packages from CRAN fails),
so "x R BOIN" uses the per-trial time stated in issue 5 for R BOIN's get.oc on this machine
type (~1 ms per trial), as benchmarks/bench_design.py does.

Run:  .venv/bin/python benchmarks/bench_design_tte.py [--repeat 3] [--trials 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from earlyphase.design import BoinDesign, CrmDesign, ThreePlusThreeDesign
from earlyphase.design.boin12 import Boin12Design
from earlyphase.design.optimise import simulate_dose_optimisation
from earlyphase.design.pocrm import pocrm_from_partial_order
from earlyphase.design.simulate import simulate
from earlyphase.design.time_to_event import simulate_time_to_event

R_BOIN_MS_PER_TRIAL = 1.0
TRUTH = [0.05, 0.10, 0.20, 0.30, 0.45, 0.60]


def timed(fn, repeat):
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--only", default=None, help="run only the simulations whose name contains this text")
    a = ap.parse_args()
    n = a.trials
    boin = BoinDesign(target=0.3)
    crm = CrmDesign(skeleton=tuple(TRUTH), target=0.3)
    tte = dict(window=28, interval=7, cohort_size=3, n_cohorts=12, trials=n, seed=1, chunk_size=n)
    runs = {
        "BOIN, cohorts (no backfill)": lambda: simulate(boin, TRUTH, cohort_size=3, n_cohorts=12, trials=n, seed=1, chunk_size=n),
        "BOIN + backfill 3/cohort, cap 12": lambda: simulate(boin, TRUTH, cohort_size=3, n_cohorts=12, trials=n, seed=1,
                                                             chunk_size=n, backfill_size=3, backfill_cap=12),
        "TITE-BOIN, 1 patient/7 d, window 28 d": lambda: simulate_time_to_event(boin, TRUTH, **tte),
        "TITE-BOIN + backfill while waiting (max 9, cap 12)": lambda: simulate_time_to_event(
            boin, TRUTH, backfill_max=9, backfill_cap=12, **tte),
        "BOIN waiting (no TITE), same accrual": lambda: simulate_time_to_event(boin, TRUTH, tite=False, **tte),
        "3+3 suspending, same accrual": lambda: simulate_time_to_event(ThreePlusThreeDesign(), TRUTH, pending_rule="suspend", **tte),
        "TITE-CRM, same accrual": lambda: simulate_time_to_event(crm, TRUTH, **tte),
        "POCRM, 6 regimens, 3 orderings": lambda: simulate(
            pocrm_from_partial_order(6, [(0, 1), (1, 2), (2, 3), (3, 5), (4, 5), (1, 4)], TRUTH, 0.3), TRUTH,
            cohort_size=3, n_cohorts=12, trials=n, seed=1, chunk_size=n),
        "BOIN12, 12 cohorts of 3": lambda: simulate_dose_optimisation(
            Boin12Design(), TRUTH, [0.1, 0.2, 0.4, 0.5, 0.55, 0.6], trials=n, seed=1, chunk_size=n),
        "BOIN12 + randomised stage 2 x 10": lambda: simulate_dose_optimisation(
            Boin12Design(), TRUTH, [0.1, 0.2, 0.4, 0.5, 0.55, 0.6], trials=n, seed=1, chunk_size=n, stage2_n=10),
    }
    print(f"{n} trials, 6 levels, median of {a.repeat} after a warm-up; load average before {os.getloadavg()[0]:.1f}")
    print(f"{'simulation':<42}{'wall s':>8}{'CPU s':>8}{'trials/s (CPU)':>16}{'x R BOIN (CPU)':>16}")
    for name, fn in runs.items():
        if a.only and a.only.lower() not in name.lower():
            continue
        wall, cpu = timed(fn, a.repeat)
        per_ms = cpu / n * 1000
        print(f"{name:<42}{wall:>8.3f}{cpu:>8.3f}{n / cpu:>16.0f}{R_BOIN_MS_PER_TRIAL / per_ms:>15.0f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
