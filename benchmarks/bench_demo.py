"""Time ``earlyphase demo --out DIR`` (database + twin + audit check + summary + full report) end to end.

Run: ``.venv/bin/python benchmarks/bench_demo.py [--runs 3] [--pdf]``

Prints, for each run, the wall time of the ``earlyphase demo`` command in a fresh process (what a
user waits for; the issue's budget is 15 s on a 2-core machine), then the in-process time of each
report stage on the demo database, the import cost of the heavy libraries (measured in fresh
interpreters), and, with ``--pdf``, the Chromium print. Nothing here is asserted: the numbers go to
benchmarks/RESULTS.md ("Demo and report").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
EARLYPHASE = str(Path(PY).with_name("earlyphase"))


CPU: dict[str, float] = {}


def time_command(cmd: list[str]) -> float:
    """Wall seconds of ``cmd`` in a fresh process; its CPU seconds (user + system) go to CPU["last"]."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["last"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall


def import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import matplotlib; matplotlib.use('Agg'); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pdf", action="store_true", help="also time report --pdf (headless Chromium)")
    parser.add_argument("--also", action="append", default=[], metavar="LABEL=EXECUTABLE",
                        help="another earlyphase executable whose demo is timed in the same runs (before/after figures)")
    parser.add_argument("--no-pdf-demo", action="store_true", help="run the demo with --no-pdf (no Chromium)")
    args = parser.parse_args()
    others = [tuple(a.split("=", 1)) for a in args.also]

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    # the machine is shared: a load average above the core count stretches every wall time
    print("load average at start (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        walls, cpus = [], []
        other_walls = {label: [] for label, _ in others}
        flag = ["--no-pdf"] if args.no_pdf_demo else []
        for i in range(args.runs):
            out = Path(tmp) / f"run{i}"
            walls.append(time_command([EARLYPHASE, "demo", "--out", str(out), *flag]))
            cpus.append(CPU["last"])
            print(f"earlyphase demo run {i + 1}: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU "
                  f"(load {os.getloadavg()[0]:.1f})")
            for label, exe in others:
                other_walls[label].append(time_command([exe, "demo", "--out", str(Path(tmp) / f"{label}{i}"), *flag]))
                print(f"  {label} demo run {i + 1}: {other_walls[label][-1]:.2f} s wall, {CPU['last']:.2f} s CPU")
        for label, values in other_walls.items():
            print(f"{label} demo: median {statistics.median(values):.2f} s wall over {args.runs} runs")
        print(f"earlyphase demo: median {statistics.median(walls):.2f} s wall (min {min(walls):.2f}, max {max(walls):.2f}), "
              f"median {statistics.median(cpus):.2f} s CPU, over {args.runs} runs (budget 15 s wall)")

        db = Path(tmp) / "run0" / "trial.db"
        report_only = time_command([EARLYPHASE, "report", "--db", str(db), "--out", str(Path(tmp) / "rep")])
        print(f"earlyphase report (HTML, fresh process): {report_only:.2f} s wall, {CPU['last']:.2f} s CPU")
        if args.pdf:
            with_pdf = time_command([EARLYPHASE, "report", "--db", str(db), "--out", str(Path(tmp) / "rep-pdf"), "--pdf"])
            print(f"earlyphase report --pdf (fresh process): {with_pdf:.2f} s wall, {CPU['last']:.2f} s CPU "
                  "(Chromium's own CPU included)")

        # stage breakdown in this process (imports already paid by the first stage)
        from earlyphase.report import report_from_database

        res = report_from_database(str(db), Path(tmp) / "stages")
        print("report stages (in process, first call): " + ", ".join(f"{k} {v:.2f} s" for k, v in res.seconds.items()))
        res = report_from_database(str(db), Path(tmp) / "stages2")
        print("report stages (in process, warm): " + ", ".join(f"{k} {v:.2f} s" for k, v in res.seconds.items()))

    for mod in ("matplotlib.pyplot", "pandas", "scipy.stats", "great_tables", "earlyphase.report.document"):
        try:
            print(f"import {mod}: {import_seconds(mod):.2f} s (fresh interpreter)")
        except subprocess.CalledProcessError:  # an optional library that is not installed
            print(f"import {mod}: not installed")


if __name__ == "__main__":
    main()
