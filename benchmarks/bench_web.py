"""Load benchmark of the web application: `earlyphase serve --workers 2` on PostgreSQL, N simulated coordinators.

Each simulated user (a thread with its own HTTP client, loopback only, a bounded loop) logs in, then
``--saves`` times: opens their subject's casebook, opens the study form, and saves it (a repeating form, so
every save is a new record through capture: edit checks, audit chain, one transaction). After the run
every acknowledged save (a 303 naming its record) must be in the database, and ``earlyphase audit verify``
must be clean. Prints saves/s, save latency p50/p95/p99 and page-load p95 (``--format json`` for a program).

    python benchmarks/bench_web.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres --users 20

Target (issue 11): >= 100 saves/s at 20 users, save p95 < 250 ms, page loads p95 < 150 ms, on 2 cores.
The database ``ep_bench_web`` on that server is dropped and made afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text

STUDY = "oral-3plus3"
FORM = "labs"  # repeating, dated by lab_date: each save is a new record
PASSWORD = "bench password 2026"
FIRST_DAY = date(2023, 3, 1)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(server_url: str, name: str) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def set_up(url: str, users: int) -> dict[str, str]:
    """The trial, one coordinator and one subject per simulated user (sites alternate); returns user -> subject."""
    from earlyphase.access import add_user
    from earlyphase.capture import initialise

    trial = initialise(url, STUDY, "bench-founder", today=date(2025, 12, 31))
    add_user(trial.engine, "benchadmin", PASSWORD, roles=["admin@ALL"], actor="bench-founder")
    sites = [s.code for s in trial.study.sites]
    answers = {c.code: kind == "inclusion" for kind, c in trial.study.eligibility.criteria}
    plan = {}
    for i in range(users):
        username, subject, site = f"coord{i + 1:02d}", f"BW-{i + 1:03d}", sites[i % len(sites)]
        add_user(trial.engine, username, PASSWORD, roles=[f"coordinator@{site}"], actor="benchadmin")
        trial.enrol_patient(subject_id=subject, site=site, sex="F", birth_year=1960, ecog=0,
                            consent_date="2023-02-20", eligibility=answers)
        plan[username] = subject
    trial.close()
    return plan


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def simulate(base: str, username: str, subject: str, saves: int, out: dict, barrier: threading.Barrier) -> None:
    pages, latencies, acked, errors = [], [], [], []
    out[username] = {"pages": pages, "saves": latencies, "acked": acked, "errors": errors}
    try:
        _simulate(base, username, subject, saves, pages, latencies, acked, errors, barrier)
    except httpx.HTTPError as exc:  # a timeout ends this user's loop; it is counted, never lost
        errors.append(f"http {type(exc).__name__}")


def _simulate(base, username, subject, saves, pages, latencies, acked, errors, barrier) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        token = _csrf(client.get("/login").text)
        r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        if r.status_code != 303:
            errors.append(f"login {r.status_code}")
        barrier.wait(900)
        for i in range(saves):
            t0 = time.perf_counter()
            casebook = client.get(f"/subjects/{subject}")
            t1 = time.perf_counter()
            form = client.get(f"/subjects/{subject}/forms/{FORM}")
            t2 = time.perf_counter()
            pages += [t1 - t0, t2 - t1]
            if casebook.status_code != 200 or form.status_code != 200:
                errors.append(f"page {casebook.status_code}/{form.status_code}")
                continue
            day = FIRST_DAY + timedelta(days=i)
            data = {"csrf_token": _csrf(form.text), "lab_date": day.isoformat(), "haemoglobin": "12.5",
                    "neutrophils": "4.1", "platelets": "250", "alt": "30", "bilirubin": "10", "creatinine": "80"}
            t3 = time.perf_counter()
            saved = client.post(f"/subjects/{subject}/forms/{FORM}", data=data)
            latencies.append(time.perf_counter() - t3)
            found = re.search(r"/records/form_records/(\d+)", saved.headers.get("location", ""))
            if saved.status_code == 303 and found:
                acked.append(int(found.group(1)))
            else:
                errors.append(f"save {saved.status_code}")


def run(pg: str, users: int, saves: int, workers: int) -> dict:
    url = fresh_database(pg, "ep_bench_web")
    env = {**os.environ, "EARLYPHASE_AUDIT_ANCHOR_FILE": str(Path(tempfile.mkdtemp()) / "anchors")}
    os.environ.update(env)
    plan = set_up(url, users)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", "from earlyphase.cli import main; main()", "serve", "--db", url,
                               "--port", str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start: " + server.stderr.read().decode()[-500:])
        results: dict = {}
        barrier = threading.Barrier(users + 1)
        threads = [threading.Thread(target=simulate, args=(base, u, s, saves, results, barrier)) for u, s in plan.items()]
        for t in threads:
            t.start()
        barrier.wait(900)
        start = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(30)
    pages = [x for r in results.values() for x in r["pages"]]
    lat = [x for r in results.values() for x in r["saves"]]
    acked = [x for r in results.values() for x in r["acked"]]
    errors = [x for r in results.values() for x in r["errors"]]
    engine = create_engine(url)
    from earlyphase.records.tables import FormRecord

    with engine.connect() as conn:
        stored = set(conn.execute(select(FormRecord.id).where(FormRecord.form == FORM)).scalars())
    engine.dispose()
    verify = subprocess.run([sys.executable, "-c", "from earlyphase.cli import main; main()", "audit", "verify",
                             "--db", url], env=env, capture_output=True, text=True)
    return {
        "users": users, "saves_per_user": saves, "workers": workers, "wall_s": round(wall, 2),
        "saves": len(acked), "saves_per_s": round(len(acked) / wall, 1),
        "save_ms": {q: round(_quantile(lat, v) * 1000, 1) for q, v in (("p50", .5), ("p95", .95), ("p99", .99))},
        "page_ms": {"p50": round(_quantile(pages, .5) * 1000, 1), "p95": round(_quantile(pages, .95) * 1000, 1)},
        "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
        "acknowledged_missing": len(set(acked) - stored), "audit_verify_exit": verify.returncode,
        "audit_verify": (verify.stdout or verify.stderr).strip().splitlines()[-1:],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default=os.environ.get("EARLYPHASE_BENCH_PG_URL",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL server URL (the database ep_bench_web on it is made afresh)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--saves", type=int, default=25, help="saves per user (bounded loop)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args()
    print(f"load average before: {[round(x, 2) for x in os.getloadavg()]}", file=sys.stderr)
    result = run(args.pg, args.users, args.saves, args.workers)
    if args.format == "json":
        print(json.dumps(result, indent=1))
        return
    print(f"{result['users']} users x {result['saves_per_user']} saves, {result['workers']} workers: "
          f"{result['saves']} saves in {result['wall_s']} s = {result['saves_per_s']} saves/s "
          f"(target >= 100)")
    print(f"save latency p50/p95/p99: {result['save_ms']['p50']}/{result['save_ms']['p95']}/{result['save_ms']['p99']} "
          f"ms (target p95 < 250); page load p50/p95: {result['page_ms']['p50']}/{result['page_ms']['p95']} ms "
          f"(target p95 < 150)")
    print(f"errors: {result['errors']} {result['error_kinds']}; acknowledged saves missing: "
          f"{result['acknowledged_missing']}; audit verify exit {result['audit_verify_exit']} {result['audit_verify']}")
    print(f"{result['machine']}; load average after {result['load_average_after']}")


if __name__ == "__main__":
    main()
