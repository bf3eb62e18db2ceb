"""Small CLI calls against ``Rscript`` doing the same, side by side in one run; and ``earlyphase --help``.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--rounds 7] [--data tests/reference/data/datasets/lung.csv]
[--also LABEL=/path/to/other/venv/bin/earlyphase]`` (``--also`` times another installation, e.g. the
previous version, in the same rounds, for before/after figures from one run).

Each round runs every command once in a fresh process, earlyphase and R alternating, so both see the
same machine load; the table shows the median wall time over the rounds and the ratio of the medians.
What each side does (both read the same CSV and print the result):

* km: ``earlyphase survival km lung.csv --time time --event event --group sex`` against
  ``survfit(Surv(time, event) ~ sex)`` printed with ``print(fit)`` and ``print(summary(fit))``;
* logrank: ``earlyphase survival logrank ... --group sex`` against ``print(survdiff(...))``;
* cox: ``earlyphase survival cox ... --covariates age,sex,ph.ecog`` (coefficients, tests, concordance
  and cox.zph) against ``print(summary(coxph(...)))`` and ``print(cox.zph(fit, transform = "km"))``.

The data file is R's ``lung`` (survival package) reduced to complete cases of the columns used, with the
event coded 0/1, so that the same command runs on every version of earlyphase (before/after figures).
Nothing is asserted: the numbers go to benchmarks/RESULTS.md ("Small CLI calls").
"""

from __future__ import annotations

import argparse
import csv
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
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "tests" / "reference" / "data" / "datasets" / "lung.csv"


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr}")
    return elapsed


def complete_lung(source: Path, target: Path) -> int:
    """Write lung's complete cases of time, status, sex, age, ph.ecog with event = status - 1."""
    with source.open(newline="") as fh, target.open("w", newline="") as out:
        rows = csv.DictReader(fh)
        writer = csv.writer(out)
        writer.writerow(["time", "event", "sex", "age", "ph.ecog"])
        n = 0
        for row in rows:
            values = [row["time"], row["status"], row["sex"], row["age"], row["ph.ecog"]]
            if any(v in ("", "NA") for v in values):
                continue
            writer.writerow([values[0], int(float(values[1])) - 1, *values[2:]])
            n += 1
    return n


def commands(path: str, exe: str = EARLYPHASE) -> dict[str, tuple[list[str], list[str]]]:
    read = f"suppressPackageStartupMessages(library(survival)); d <- read.csv('{path}'); "
    return {
        "km": (
            [exe, "survival", "km", path, "--time", "time", "--event", "event", "--group", "sex"],
            ["Rscript", "-e", read + "fit <- survfit(Surv(time, event) ~ sex, data = d); print(fit); print(summary(fit))"],
        ),
        "logrank": (
            [exe, "survival", "logrank", path, "--time", "time", "--event", "event", "--group", "sex"],
            ["Rscript", "-e", read + "print(survdiff(Surv(time, event) ~ sex, data = d))"],
        ),
        "cox": (
            [exe, "survival", "cox", path, "--time", "time", "--event", "event", "--covariates", "age,sex,ph.ecog"],
            ["Rscript", "-e", read + "fit <- coxph(Surv(time, event) ~ age + sex + ph.ecog, data = d); "
                                      "print(summary(fit)); print(cox.zph(fit, transform = 'km'))"],
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="R's lung as CSV (written by make_reference.R)")
    parser.add_argument("--also", action="append", default=[], metavar="LABEL=EXECUTABLE",
                        help="another earlyphase executable to time in the same rounds (e.g. before=/tmp/old/bin/earlyphase)")
    args = parser.parse_args()
    others = [tuple(a.split("=", 1)) for a in args.also]

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    r_version = subprocess.run(["Rscript", "-e", "cat(R.version.string, 'survival', format(packageVersion('survival')))"],
                               capture_output=True, text=True).stdout.strip()
    print(f"R: {r_version}")
    print("date (UTC): " + time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
    print("load average at start (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        data = Path(tmp) / "lung_complete.csv"
        n = complete_lung(args.data, data)
        print(f"data: {n} complete rows of lung (time, event 0/1, sex, age, ph.ecog)")
        cmds = commands(str(data))
        ours = {k: [] for k in cmds}
        theirs = {k: [] for k in cmds}
        extra = {label: {k: [] for k in list(cmds) + ["--help"]} for label, _ in others}
        helps = []
        bare = []
        for _ in range(args.rounds):
            for key, (mine, r) in cmds.items():
                ours[key].append(wall(mine))
                theirs[key].append(wall(r))
                for label, exe in others:
                    extra[label][key].append(wall(commands(str(data), exe)[key][0]))
            helps.append(wall([EARLYPHASE, "--help"]))
            for label, exe in others:
                extra[label]["--help"].append(wall([exe, "--help"]))
            bare.append(wall([PY, "-c", "pass"]))
    print("load average at end (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print()
    print(f"median wall seconds over {args.rounds} rounds (min-max in brackets)")
    print("| command | earlyphase | Rscript | earlyphase / Rscript |")
    print("|---|---:|---:|---:|")
    for key in cmds:
        a, b = statistics.median(ours[key]), statistics.median(theirs[key])
        print(f"| survival {key} | {a:.3f} ({min(ours[key]):.3f}-{max(ours[key]):.3f}) | "
              f"{b:.3f} ({min(theirs[key]):.3f}-{max(theirs[key]):.3f}) | {a / b:.2f} |")
    print(f"| --help | {statistics.median(helps):.3f} ({min(helps):.3f}-{max(helps):.3f}) | | |")
    for label, times in extra.items():
        for key, values in times.items():
            name = key if key == "--help" else f"survival {key}"
            ratio = "" if key == "--help" else f"{statistics.median(values) / statistics.median(theirs[key]):.2f}"
            print(f"| {name} ({label}) | {statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f}) | | {ratio} |")
    print(f"| python -c pass | {statistics.median(bare):.3f} ({min(bare):.3f}-{max(bare):.3f}) | | |")


if __name__ == "__main__":
    main()
