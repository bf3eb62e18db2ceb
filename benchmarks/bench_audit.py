"""Time the audit trail's cost: one audited write (its own transaction) and ``verify_audit``, keyed chain
against the unkeyed chain of an earlier source tree, in the same rounds.

Run: ``.venv/bin/python benchmarks/bench_audit.py [--writes 300] [--rounds 3] [--also before=/path/to/old/src]``

``--also LABEL=SRC`` runs the same measurement with ``PYTHONPATH=SRC`` (an older checkout's ``src``), in a
fresh process alternating with this tree's, so both see the same load. Each round writes ``--writes`` sites
(one ``transaction`` + ``write_audit`` each, as capture does) into a new SQLite file, then verifies it. Prints
milliseconds per write and seconds per verification (median over rounds) and the ratio to this tree. Nothing
is asserted: the table goes to benchmarks/RESULTS.md ("Audit trail").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

MEASURE = r"""
import json, os, sys, tempfile, time
from earlyphase.records import make_engine, migrate, transaction, verify_audit, write_audit
from earlyphase.records.tables import SiteRecord
n = int(sys.argv[1])
folder = tempfile.mkdtemp(prefix="bench-audit-")
engine = make_engine(os.path.join(folder, "trial.db"))
migrate(engine)
t0 = time.perf_counter()
for i in range(n):
    with transaction(engine) as s:
        site = SiteRecord(code=f"S{i:05d}", name=f"Site {i}", country="GB")
        s.add(site)
        s.flush()
        write_audit(s, "insert", site, username="bench")
write = (time.perf_counter() - t0) / n
t0 = time.perf_counter()
report = verify_audit(engine)
verify = time.perf_counter() - t0
assert report.ok, report.summary()
engine.dispose()
print(json.dumps({"write_ms": write * 1000, "verify_s": verify}))
"""


def run(label: str, src: str | None, writes: int) -> dict[str, float]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    out = subprocess.run([sys.executable, "-c", MEASURE, str(writes)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--also", action="append", default=[], metavar="LABEL=SRC")
    args = parser.parse_args()
    trees = [("this tree", None)] + [tuple(a.split("=", 1)) for a in args.also]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average at start {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    results: dict[str, list[dict[str, float]]] = {label: [] for label, _ in trees}
    for r in range(args.rounds):
        for label, src in trees:
            results[label].append(run(label, src, args.writes))
        print(f"round {r + 1}/{args.rounds} done (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    base = {k: statistics.median(x[k] for x in results["this tree"]) for k in ("write_ms", "verify_s")}
    print(f"\n{args.writes} audited writes per round, {args.rounds} rounds; medians (min-max)")
    print("| tree | ms per audited write | ratio | verify s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for label, _ in trees:
        rows = results[label]
        w = [x["write_ms"] for x in rows]
        v = [x["verify_s"] for x in rows]
        print(f"| {label} | {statistics.median(w):.2f} ({min(w):.2f}-{max(w):.2f}) | "
              f"{statistics.median(w) / base['write_ms']:.2f} | {statistics.median(v):.3f} "
              f"({min(v):.3f}-{max(v):.3f}) | {statistics.median(v) / base['verify_s']:.2f} |")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
