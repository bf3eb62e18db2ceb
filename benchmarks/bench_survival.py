"""Benchmark: Kaplan–Meier and 4-group log-rank, earlyphase vs statsmodels, lifelines and the
Rust-backed ``survival`` package, plus an ``np.sort`` baseline, peak memory, and the permutation
log-rank of an 18-patient, 4-group trial.

    .venv/bin/python benchmarks/bench_survival.py                 # 1e5, 1e6, 1e7; prints the table
    .venv/bin/python benchmarks/bench_survival.py --write-results # also rewrites our section of RESULTS.md
    .venv/bin/python benchmarks/bench_survival.py --sizes 1e5 --peer-timeout 60

Every measurement runs in a fresh subprocess (so a slow or crashing peer cannot stop the run and
each gets its own time limit). Data are generated inside the worker before the clock starts:
4 groups of equal expected size, exponential times with hazards 1, 0.9, 0.8, 0.7 (per unit time),
continuous (no ties), and independent random censoring of ~30%. Timing is compute only (best of
``--repeats`` calls). Peak memory is the largest extra allocation traced by ``tracemalloc`` (numpy
reports its buffers to it) during one call, compared with the input columns (time float64,
event int64, group int64 — numpy's defaults: 24 bytes per row).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
HEADING = "## Survival: Kaplan–Meier, log-rank, permutations"

OPS = ("km", "logrank")
LIBRARIES = ("earlyphase", "np.sort", "statsmodels", "survival (Rust)", "lifelines")


# ---------------------------------------------------------------------------- worker side


def make_data(n: int, seed: int = 20261124):
    import numpy as np

    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, n)
    hazard = np.array([1.0, 0.9, 0.8, 0.7])[group]
    time_ = rng.exponential(1.0, n) / hazard
    event = rng.random(n) >= 0.30
    return time_, event.astype(np.int64), group.astype(np.int64)


def _callable(lib: str, op: str, t, e, g):
    import numpy as np

    if lib == "earlyphase":
        from earlyphase.stats import kaplan_meier, logrank_test

        if op == "km":
            return lambda: kaplan_meier(t, e, timefix=False)
        return lambda: logrank_test(t, e, g, timefix=False)
    if lib == "np.sort":
        return lambda: np.sort(t)
    if lib == "statsmodels":
        import statsmodels.api as sm

        if op == "km":
            return lambda: sm.SurvfuncRight(t, e)
        return lambda: sm.duration.survdiff(t, e, g)
    if lib == "survival (Rust)":
        from survival import _survival as rust

        ef = e.astype(np.float64)
        ei = e.astype(np.int32)
        gi = g.astype(np.int32)
        if op == "km":
            return lambda: rust.survfitkm(t, ef, timefix=False)
        return lambda: rust.survdiff(t, ei, gi, timefix=False)
    if lib == "lifelines":
        from lifelines import KaplanMeierFitter
        from lifelines.statistics import multivariate_logrank_test

        if op == "km":
            return lambda: KaplanMeierFitter().fit(t, e)
        return lambda: multivariate_logrank_test(t, g, e)
    raise ValueError(lib)


def worker(lib: str, op: str, n: int, repeats: int, memory: bool) -> dict:
    t, e, g = make_data(n)
    fn = _callable(lib, op, t, e, g)
    best = float("inf")
    best_cpu = float("inf")
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    out = {"seconds": best, "cpu_seconds": best_cpu}
    if memory:
        import tracemalloc

        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["peak_bytes"] = peak
        out["input_bytes"] = t.nbytes + e.nbytes + (g.nbytes if op == "logrank" else 0)
    return out


def permutation_worker(permutations: int) -> dict:
    import numpy as np

    from earlyphase.stats import permutation_logrank

    rng = np.random.default_rng(18)
    group = np.repeat(["A", "B", "C", "D"], [3, 5, 5, 5])
    time_ = np.round(rng.exponential(12.0, 18), 1) + 0.1
    event = (rng.random(18) < 0.75).astype(int)
    permutation_logrank(time_, event, group, permutations=1000, seed=1)  # warm-up
    c0 = time.process_time()
    t0 = time.perf_counter()
    res = permutation_logrank(time_, event, group, permutations=permutations, seed=1)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "p": res.permutation_p_value, "se": res.permutation_se}


# ---------------------------------------------------------------------------- driver side


def run_worker(args: list[str], timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:g} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"failed: {last[:160]}"}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"error": "no result printed"}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"nproc = {os.cpu_count()}, {cpu}, Python {platform.python_version()}, load average at start {load:.1f}"


def fmt_s(r: dict) -> str:
    return r["error"] if "error" in r else f"{r['seconds']:.4f}"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("numpy", "statsmodels", "survival", "lifelines"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg} not installed")
    return ", ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e5,1e6,1e7")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peer-timeout", type=float, default=180.0, help="seconds allowed to each peer measurement")
    ap.add_argument("--permutations", type=float, default=1e6)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--write-results", action="store_true")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.worker:
        kind = a.worker[0]
        if kind == "perm":
            print(json.dumps(permutation_worker(int(float(a.worker[1])))))
        else:
            lib, op, n, reps, mem = a.worker[0], a.worker[1], int(float(a.worker[2])), int(a.worker[3]), a.worker[4] == "1"
            print(json.dumps(worker(lib, op, n, reps, mem)))
        return

    sizes = [int(float(s)) for s in a.sizes.split(",")]
    libs = ["earlyphase", "np.sort"] + ([] if a.skip_peers else ["statsmodels", "survival (Rust)", "lifelines"])
    started = dt.datetime.now(dt.timezone.utc)
    at_start = machine()  # the load average is read now, before the measurements add to it
    print(f"# {at_start}\n# {versions()}\n# started {started:%Y-%m-%d %H:%M} UTC", flush=True)
    results: dict[tuple[str, str, int], dict] = {}
    for n in sizes:
        for op in OPS:
            for lib in libs:
                if lib == "np.sort" and op == "logrank":
                    results[(lib, op, n)] = results[(lib, "km", n)]
                    continue
                reps = a.repeats if (n <= 1_000_000 or lib in ("earlyphase", "np.sort")) else 1
                mem = lib == "earlyphase" and n == max(sizes)
                timeout = a.peer_timeout if lib not in ("earlyphase", "np.sort") else 600.0
                r = run_worker([lib, op, str(n), str(reps), "1" if mem else "0"], timeout)
                results[(lib, op, n)] = r
                print(f"n={n:>9} {op:<8} {lib:<16} {fmt_s(r)}", flush=True)
    perm = run_worker(["perm", str(int(a.permutations))], 600.0)
    print(f"permutations {int(a.permutations)}: {fmt_s(perm)}", flush=True)

    lines = table(results, sizes, libs, perm, int(a.permutations))
    text = "\n".join(lines)
    print("\n" + text)
    if a.write_results:
        write_section(text, started, a.repeats, at_start)


def _cell(r: dict) -> str:
    if "error" in r:
        return r["error"]
    return f"{r['seconds']:.4f} / {r['cpu_seconds']:.4f}"


def table(results, sizes, libs, perm, nperm) -> list[str]:
    peers = [lib for lib in libs if lib not in ("earlyphase", "np.sort")]
    lines = ["Cells: wall seconds / CPU seconds of the measuring process (best of the repeats).", ""]
    head = (
        "| operation | n | earlyphase | np.sort | " + " | ".join(peers)
        + " | fastest peer / earlyphase (wall; CPU) | earlyphase / np.sort (wall; CPU) |"
    )
    lines.append(head)
    lines.append("|" + "---|" * (head.count("|") - 1))
    for op in OPS:
        for n in sizes:
            ours = results[("earlyphase", op, n)]
            base = results[("np.sort", op, n)]
            peer_times = [results[(p, op, n)] for p in peers]
            ok = [r for r in peer_times if "error" not in r]
            if ok and "error" not in ours:
                fw = min(r["seconds"] for r in ok) / ours["seconds"]
                fc = min(r["cpu_seconds"] for r in ok) / ours["cpu_seconds"]
                ratio = f"{fw:.2f}×; {fc:.2f}×"
            else:
                ratio = "n/a"
            if "error" not in ours and "error" not in base:
                vs_sort = f"{ours['seconds'] / base['seconds']:.2f}; {ours['cpu_seconds'] / base['cpu_seconds']:.2f}"
            else:
                vs_sort = "n/a"
            label = "Kaplan–Meier (1 group)" if op == "km" else "log-rank (4 groups)"
            lines.append(
                f"| {label} | {n:.0e} | {_cell(ours)} | {_cell(base)} | " + " | ".join(_cell(r) for r in peer_times) + f" | {ratio} | {vs_sort} |"
            )
    lines.append("")
    big = max(sizes)
    for op in OPS:
        r = results[("earlyphase", op, big)]
        if "peak_bytes" in r:
            lines.append(
                f"- peak extra memory, {op} at n = {big:.0e}: {r['peak_bytes'] / 2**20:.0f} MiB = "
                f"{r['peak_bytes'] / r['input_bytes']:.2f} × the input columns ({r['input_bytes'] / 2**20:.0f} MiB; tracemalloc)"
            )
    lines += ["", "Targets from issue 3 (wall-clock, this run):"]
    for op in OPS:
        label = "Kaplan–Meier" if op == "km" else "log-rank"
        for n in (1_000_000, 10_000_000):
            if n not in sizes:
                continue
            ours = results[("earlyphase", op, n)]
            base = results[("np.sort", op, n)]
            ok = [results[(p, op, n)]["seconds"] for p in peers if "error" not in results[(p, op, n)]]
            if "error" in ours or not ok:
                continue
            speed = min(ok) / ours["seconds"]
            vs_sort = ours["seconds"] / base["seconds"]
            lines.append(
                f"- {label} n = {n:.0e}: {speed:.2f}× the fastest peer (target ≥ 1.5×: {'met' if speed >= 1.5 else 'NOT met'}); "
                f"{vs_sort:.2f}× one np.sort (target ≤ 2×: {'met' if vs_sort <= 2 else 'NOT met'})"
            )
    for op in OPS:
        r = results[("earlyphase", op, big)]
        if "peak_bytes" in r and big >= 10_000_000:
            ratio = r["peak_bytes"] / r["input_bytes"]
            lines.append(f"- {op} peak memory at n = {big:.0e}: {ratio:.2f}× the input (target < 3×: {'met' if ratio < 3 else 'NOT met'})")
    if "error" not in perm and nperm >= 1_000_000:
        lines.append(f"- {nperm} permutations: {perm['seconds']:.2f} s (target < 2 s: {'met' if perm['seconds'] < 2 else 'NOT met'})")
    lines.append("")
    if "error" in perm:
        lines.append(f"- {nperm} permutations, 18 patients, 4 groups: {perm['error']}")
    else:
        lines.append(
            f"- {nperm} Monte-Carlo permutations of an 18-patient, 4-group (3/5/5/5) log-rank: {perm['seconds']:.2f} s wall, "
            f"{perm['cpu_seconds']:.2f} s CPU (p = {perm['p']:.4f}, MC s.e. {perm['se']:.5f})"
        )
    return lines


def write_section(text: str, started: dt.datetime, repeats: int = 3, at_start: str | None = None) -> None:
    flags = "--write-results" + (f" --repeats {repeats}" if repeats != 3 else "")
    body = (
        f"{HEADING}\n\n"
        f"Machine: {at_start or machine()} (at the end: {os.getloadavg()[0]:.1f}). Date: {started:%Y-%m-%d %H:%M} UTC. Versions: {versions()}.\n"
        f"Command: `.venv/bin/python benchmarks/bench_survival.py {flags}`. Compute-only seconds, best of {repeats} "
        f"(peers at 1e7: one call, each with a time limit). Data: 4 groups, continuous exponential times, ~30% censoring. "
        f"earlyphase KM computes the risk set, S(t) and Greenwood SE (as statsmodels' SurvfuncRight); its pointwise "
        f"limits and quantiles are computed on first use (lifelines and the Rust package compute limits up front). "
        f"earlyphase log-rank returns O, E, the variance matrix, chi-square and p (as the peers). "
        f"The Rust package and earlyphase are both called with `timefix=False` (the faster setting; with R's default timefix=True, earlyphase adds one sort of the times for data that are not whole numbers). "
        f"The machine is shared (2 cores), so absolute times move between runs; ratios come from the same run.\n\n"
        f"{text}\n\n"
    )
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if HEADING in old:
        start = old.index(HEADING)
        nxt = old.find("\n## ", start + len(HEADING))
        new = old[:start] + body + (old[nxt + 1:] if nxt != -1 else "")
        new = new.rstrip("\n") + "\n"
    else:
        new = old.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(new)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
