"""Benchmark: simulated dose-finding trials per second against the R packages' speed.

R's BOIN and dfcrm cannot be installed on this machine (CRAN is unreachable), so the R
figures are the ones stated in issue 5, measured on this machine type:
R BOIN get.oc ~ 1 ms per simulated trial, dfcrm crmsim ~ 12.7 ms per trial.

Run:  .venv/bin/python benchmarks/bench_design.py [--repeat 5] [--dask]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time

from earlyphase.design import BoinDesign, CrmDesign, I3plus3Design, KeyboardDesign, ThreePlusThreeDesign
from earlyphase.design.simulate import simulate

R_MS_PER_TRIAL = {"boin": 1.0, "crm": 12.7}  # issue 5, R BOIN and dfcrm on this machine type
TARGET_SECONDS = {"boin": 0.16, "crm": 1.3}  # issue 5 targets for 10,000 trials

TRUTH = [0.05, 0.10, 0.20, 0.30, 0.45, 0.60]
SKELETON = (0.05, 0.10, 0.20, 0.30, 0.45, 0.60)


def timed(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (process) seconds per run. On a shared machine the CPU time is the
    fairer measure: wall time includes waiting for other people's processes."""
    fn()  # warm-up: grids, imports
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


def machine() -> str:
    try:
        model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in model.splitlines() if ln.startswith("Model name")), "?")
    except OSError:
        model = platform.processor() or "?"
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--dask", action="store_true", help="also time a local Dask cluster with 2 workers")
    args = ap.parse_args()
    trials = args.trials
    print(f"machine: {machine()}")
    print(f"{trials} trials, 6 levels, 12 cohorts of 3 (36 patients), best and median of {args.repeat}")
    designs = {
        "boin": BoinDesign(target=0.3),
        "crm": CrmDesign(skeleton=SKELETON, target=0.3),
        "3+3": ThreePlusThreeDesign(),
        "mtpi2": KeyboardDesign(target=0.3),
        "i3+3": I3plus3Design(target=0.3),
    }
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'design':<8}{'best s':>9}{'median s':>10}{'cpu s':>8}{'ms/trial':>10}{'R ms/trial':>12}{'speed-up':>10}"
          f"{'cpu speed-up':>14}{'target s':>10}")
    for name, d in designs.items():
        wall, cpu = timed(lambda: simulate(d, TRUTH, cohort_size=3, n_cohorts=12, trials=trials, seed=1, chunk_size=trials), args.repeat)
        best, med, cpu_med = min(wall), statistics.median(wall), statistics.median(cpu)
        per = med / trials * 1000
        r = R_MS_PER_TRIAL.get(name)
        ratio = f"{r / per:>9.0f}x" if r else f"{'':>10}"
        cpu_ratio = f"{r / (cpu_med / trials * 1000):>13.0f}x" if r else f"{'':>14}"
        tgt = f"{TARGET_SECONDS[name] * trials / 10_000:>10.2f}" if name in TARGET_SECONDS else f"{'':>10}"
        print(f"{name:<8}{best:>9.3f}{med:>10.3f}{cpu_med:>8.3f}{per:>10.4f}{(r if r else ''):>12}{ratio}{cpu_ratio}{tgt}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.dask:
        d = designs["crm"]
        n = 4 * trials
        t = time.perf_counter()
        simulate(d, TRUTH, cohort_size=3, n_cohorts=12, trials=n, seed=1, chunk_size=trials)
        local = time.perf_counter() - t
        t = time.perf_counter()
        simulate(d, TRUTH, cohort_size=3, n_cohorts=12, trials=n, seed=1, chunk_size=trials, workers=2)
        dask = time.perf_counter() - t
        print(f"crm {n} trials: in-process {local:.2f} s; local Dask cluster, 2 workers (incl. start-up) {dask:.2f} s")


if __name__ == "__main__":
    main()
