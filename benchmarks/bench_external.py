"""Benchmark: rebuilding patient data from a published curve (earlyphase.external.reconstruct_ipd).

    .venv/bin/python benchmarks/bench_external.py [--repeats 20] [--write-results]

Cases: a 1000-patient arm digitised at 300 points (the issue's target: well under a second), the same arm
at every step of its curve (~1600 points), a 100-patient arm, and the published CheckMate 067 curve (80
patients, 1202 points). Points are made before the clock starts: the arm's Kaplan–Meier curve drawn at the
top and foot of every step (earlyphase.external.digitise), then 300 of them kept evenly along the curve, as a
person clicking 300 points would. Times are the median (and min) of ``--repeats`` calls, in one process, with
the load average printed beside them.

The R peer, IPDfromKM (CRAN), cannot be installed here: CRAN is not among the package registries this machine
reaches and Debian has no r-cran-ipdfromkm; no Python package on PyPI rebuilds patient data from KM curves.
So this benchmark measures earlyphase alone against the issue's target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from earlyphase.external import DigitisedCurve, reconstruct_ipd
from earlyphase.external.digitise import digitise_km
from earlyphase.external.readers import read_curve_csv, read_risk_table_csv
from earlyphase.external.validation import simulate_arm

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
HEADING = "## External evidence: rebuilding patient data from a published curve (issue 14)"
DATA = HERE.parent / "tests" / "external" / "data"


def _arm(n: int, points: int | None, seed: int = 14):
    rng = np.random.default_rng(seed)
    time_, event = simulate_arm(rng, n, 10.0, "dropout")
    curve, table = digitise_km(time_, event, risk_every=3.0, time_resolution=0.08, survival_resolution=0.0025)
    if points is not None and len(curve.time) > points:
        keep = np.unique(np.linspace(0, len(curve.time) - 1, points).round().astype(int))
        curve = DigitisedCurve.from_points(curve.time[keep], curve.survival[keep])
    return curve, table


def cases():
    yield "1000 patients, 300 points", *_arm(1000, 300)
    yield "1000 patients, every step", *_arm(1000, None)
    yield "100 patients, every step", *_arm(100, None)
    yield ("CheckMate 067 (80 patients)", read_curve_csv(DATA / "checkmate067-nivolumab-curve.csv"),
           read_risk_table_csv(DATA / "checkmate067-at-risk.csv"))


def measure(repeats: int) -> list[tuple[str, int, int, float, float]]:
    rows = []
    for name, curve, table in cases():
        reconstruct_ipd(curve, table)  # warm: imports and first-call costs are not the algorithm's
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = reconstruct_ipd(curve, table)
            times.append(time.perf_counter() - t0)
        rows.append((name, len(curve.time), result.n, statistics.median(times), min(times)))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--write-results", action="store_true", help="rewrite this benchmark's section of RESULTS.md")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]
    rows = measure(args.repeats)
    load_after = os.getloadavg()[0]
    lines = [
        HEADING, "",
        f"`benchmarks/bench_external.py --repeats {args.repeats}`, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"machine: `nproc` = {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}, numpy "
        f"{np.__version__}. **Load average {load_before:.1f} at the start and {load_after:.1f} at the end** (a shared "
        "team machine: times are several times their idle value). Target: a 1000-patient arm from 300 points well "
        "under a second.", "",
        "| case | digitised points | patients | median (s) | min (s) |", "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {name} | {pts} | {n} | {med:.4f} | {mn:.4f} |" for name, pts, n, med, mn in rows]
    lines += ["", "No peer was timed: R's IPDfromKM is on CRAN, which this machine cannot reach (and Debian has no "
              "r-cran-ipdfromkm); PyPI has no package that rebuilds patient data from KM curves."]
    text = "\n".join(lines)
    print(text)
    if args.write_results:
        old = RESULTS.read_text(encoding="utf-8")
        if HEADING in old:
            head, rest = old.split(HEADING, 1)
            nxt = rest.find("\n## ")
            tail = rest[nxt:] if nxt >= 0 else "\n"
            new = head + text + "\n" + tail
        else:
            new = old.rstrip("\n") + "\n\n" + text + "\n"
        RESULTS.write_text(new, encoding="utf-8")
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
