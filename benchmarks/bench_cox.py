"""Time earlyphase's Cox model against lifelines, statsmodels PHReg and the Rust ``survival`` package.

One continuous covariate and one 4-level group (three dummy columns), ~30% censoring, untied
continuous times. Each fit runs in its own subprocess (so every peer gets a clean process and a
time limit); only the fit itself is timed, not data generation or DataFrame construction.
The best of ``--repeats`` runs is reported, wall-clock and CPU time (the machine is shared: wall
time includes waiting for a core; CPU time of a multi-threaded peer counts every thread).
Ratios are peer time / earlyphase time (> 1: we are faster).

    .venv/bin/python benchmarks/bench_cox.py --sizes 1e5,1e6 --timeout 120

earlyphase is timed twice: ``fit`` (coefficients, SE, tests; as the peers' plain fit) and ``full``
(also concordance with its SE and the cox.zph table, as R's ``coxph`` + ``cox.zph``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

PEERS = ["earlyphase_fit", "earlyphase_full", "survival_rust_estimator", "survival_rust_coxph",
         "lifelines", "statsmodels"]


def make_data(n: int, path: str, seed: int = 2026) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.integers(0, 4, n)
    lp = 0.3 * x + np.array([0.0, 0.2, 0.4, 0.6])[g]
    t = rng.exponential(1.0 / np.exp(lp))
    c = rng.exponential(2.3, n)  # about 30% censored
    event = (t <= c).astype(np.int8)
    np.savez(path, time=np.minimum(t, c), event=event, x=x, g=g)


def worker(name: str, path: str, repeats: int) -> None:
    d = np.load(path)
    time_, event, x, g = d["time"], d["event"], d["x"], d["g"]
    dummies = np.column_stack([(g == k).astype(np.float64) for k in (1, 2, 3)])
    X = np.column_stack([x, dummies])
    best = float("inf")
    best_cpu = float("inf")
    coef = None
    if name.startswith("earlyphase"):
        from earlyphase.stats import cox_ph

        labels = np.array(["A", "B", "C", "D"])[g]
        full = name == "earlyphase_full"
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            # timefix=False as the peers (none of them merges near-equal times); R's default would add one sort
            fit = cox_ph(time_, event, {"x": x, "group": labels}, concordance=full, zph=full, timefix=False)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        coef = fit.coef.tolist()
    elif name == "survival_rust_estimator":
        from survival import CoxPHEstimator

        y = np.column_stack([time_, event.astype(np.float64)])
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            est = CoxPHEstimator(ties="efron").fit(X, y)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        coef = np.asarray(est.coef_).tolist()
    elif name == "survival_rust_coxph":
        import pandas as pd
        from survival import coxph

        df = pd.DataFrame({"time": time_, "event": event.astype(np.float64), "x": x,
                           "group": np.array(["A", "B", "C", "D"])[g]})
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            fit = coxph("Surv(time, event) ~ x + group", data=df)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        coef = np.asarray(fit.coefficients, dtype=float).tolist()
    elif name == "lifelines":
        import pandas as pd
        from lifelines import CoxPHFitter

        df = pd.DataFrame({"time": time_, "event": event, "x": x, "gB": dummies[:, 0],
                           "gC": dummies[:, 1], "gD": dummies[:, 2]})
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            cph = CoxPHFitter().fit(df, duration_col="time", event_col="event")
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        coef = cph.params_.to_numpy().tolist()
    elif name == "statsmodels":
        from statsmodels.duration.hazard_regression import PHReg

        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            res = PHReg(time_, X, status=event, ties="efron").fit()
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        coef = np.asarray(res.params).tolist()
    else:
        raise SystemExit(f"unknown peer {name}")
    print(json.dumps({"seconds": best, "cpu_seconds": best_cpu, "coef": coef}))


def run_peer(name: str, path: str, repeats: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--data", path, "--repeats", str(repeats)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"did not finish within {timeout:g} s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"failed: {last[:120]}"}
    return {"status": "ok", **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1e5,1e6")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--worker")
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.repeats)
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    peers = args.peers.split(",")
    print(f"machine: {os.cpu_count()} cpus; date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = os.path.join(tmp, f"cox_{n}.npz")
            make_data(n, path)
            results = {}
            for peer in peers:
                # slow peers get one run at large n: their time already dwarfs the noise
                reps = args.repeats if (peer.startswith("earlyphase") or n <= 100_000) else 1
                results[peer] = run_peer(peer, path, reps, args.timeout)
                r = results[peer]
                shown = (f"{r['seconds']:.3f} s wall, {r['cpu_seconds']:.3f} s CPU" if r["status"] == "ok"
                         else r["status"])
                print(f"n={n:>9,d}  {peer:<26s} {shown}", flush=True)
            ours = results.get("earlyphase_fit", {}).get("seconds")
            ours_cpu = results.get("earlyphase_fit", {}).get("cpu_seconds")
            ours_full = results.get("earlyphase_full", {}).get("seconds")
            ref = results.get("earlyphase_fit", {}).get("coef")
            for peer, r in results.items():
                ratio = ""
                if r["status"] == "ok" and ours and not peer.startswith("earlyphase"):
                    ratio = f"{r['seconds'] / ours:.2f}x vs fit"
                    if ours_full:
                        ratio += f", {r['seconds'] / ours_full:.2f}x vs full"
                    if ours_cpu:
                        ratio += f"; CPU {r['cpu_seconds'] / ours_cpu:.2f}x vs fit"
                agree = ""
                if r["status"] == "ok" and ref is not None and r.get("coef") is not None and len(r["coef"]) == len(ref):
                    agree = f"max |coef diff| {np.max(np.abs(np.array(r['coef']) - np.array(ref))):.1e}"
                rows.append((n, peer, r, ratio, agree))
    print()
    print("| n | implementation | wall s | CPU s | peer / earlyphase | coefficients vs earlyphase |")
    print("|---:|---|---:|---:|---|---|")
    for n, peer, r, ratio, agree in rows:
        sec = f"{r['seconds']:.3f}" if r["status"] == "ok" else r["status"]
        cpu = f"{r['cpu_seconds']:.3f}" if r["status"] == "ok" else ""
        print(f"| {n:,d} | {peer} | {sec} | {cpu} | {ratio} | {agree} |")


if __name__ == "__main__":
    main()
