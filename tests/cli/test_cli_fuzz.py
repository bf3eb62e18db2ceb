"""Every CLI command under a fuzzer: bad options, files, paths and databases never give a traceback or a hang.

Hypothesis draws, for each command found by walking the click group, a command line from a bag of
hostile values (NaN, huge numbers, control characters, non-UTF-8 files, a FIFO, a folder, an
unwritable path, a database that is not a trial). Each run must end with exit code 0, 1 or 2 and
without a traceback or "internal error", within a generous per-run bound (an alarm, not a timing
assertion: it only turns a hang into a failure).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earlyphase.cli import app
from earlyphase.cli.common import run_app
from tests.cli.test_door import COMMANDS, IDS, LUNG

PER_RUN_SECONDS = 120  # a hang bound: far beyond any run here (most take well under a second)
EXAMPLES_PER_COMMAND = 12  # ~23 commands: a few hundred command lines in all


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so the CLI's own error handling cannot swallow it."""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, str]:
    """Paths and databases a careless or hostile caller might give."""
    from earlyphase.capture import initialise

    base = tmp_path_factory.mktemp("hostile")
    trial = base / "trial.db"
    initialise(f"sqlite:///{trial}", "nk-hcc-ltx", "fuzzer").close()
    other = base / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table x(a)")
    latin = base / "patients.csv"
    latin.write_bytes("subject_id,site\nP-É,SYSU\n".encode("latin-1"))
    binary = base / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    folder = base / "folder.csv"
    folder.mkdir()
    fifo = base / "fifo.csv"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
    # A copy: any value may land on an output option, and a command that writes must not overwrite the
    # committed reference data set (an ODM export once replaced it with XML).
    lung = base / "lung.csv"
    lung.write_bytes(LUNG.read_bytes())
    return {"trial": f"sqlite:///{trial}", "other": f"sqlite:///{other}", "text": str(latin), "latin": str(latin),
            "binary": str(binary), "folder": str(folder), "fifo": str(fifo), "out": str(base / "out"),
            "lung": str(lung)}


def _values(h: dict[str, str]) -> list[str]:
    return ["", "nan", "inf", "-inf", "-1", "0", "1e12", "99999999999999999999", "0.3", "3,nan,3", "1,2,3",
            "a\nb", "x\x00y", "É", "١٢", "/proc/no/such/dir/x", "/dev/null", "sqlite:///:memory:",
            "postgresql+psycopg://nobody@127.0.0.1:1/none", h["trial"], h["other"], h["latin"], h["binary"],
            h["folder"], h["fifo"], h["out"], h["lung"], "time", "status", "sex"]


def _run_once(argv: list[str], cwd: Path) -> tuple[int, str]:
    def alarm(signum, frame):
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(PER_RUN_SECONDS)
    out, err = io.StringIO(), io.StringIO()
    here, environment = os.getcwd(), dict(os.environ)
    os.chdir(cwd)  # a relative output path the fuzzer makes up ("inf", "1") lands in a temporary folder
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_app(app, argv)
    except _Hang:
        pytest.fail(f"no answer within {PER_RUN_SECONDS} s: earlyphase {' '.join(map(repr, argv))}")
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(environment)  # a command may set variables for its own children (serve does)
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue()


# A plausible value per option name, so that a command line gets past its required options and the
# hostile values reach the code behind them (a line of only random values is mostly a usage error).
_GOOD = {"--db": "trial", "--study": "nk-hcc-ltx", "--target": "0.3", "--truth": "0.1,0.2,0.3", "--n": "3,3,3",
         "--dlt": "0,1,2", "--time": "time", "--event": "status", "--group": "sex", "--covariates": "age",
         "--predictor": "age", "--tau": "300", "--reason": "source document updated: checked at the site visit",
         "--user": "fuzzer", "--out": "fresh", "--current": "1", "--trials": "20", "--max-n": "6"}
_GOOD_ARGUMENT = {"data": "lung", "subject": "P-01", "sources": "latin"}


def _good(option: str, h: dict[str, str], fresh: Path) -> str:
    value = _GOOD.get(option, "1")
    if value == "fresh":
        return str(fresh)
    return h.get(value, value)


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=IDS)
@settings(max_examples=EXAMPLES_PER_COMMAND, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_command_line_gives_a_traceback_or_a_hang(path, cmd, hostile, data, tmp_path):
    import uuid

    run_dir = tmp_path / uuid.uuid4().hex
    fresh = run_dir / "out"
    options = [o for p in cmd.params for o in p.opts if o.startswith("--") and o not in ("--help", "--format")]
    values = _values(hostile)
    argv = list(path)
    if path == ("demo",):  # the full demo is slow by design: only its output path is fuzzed
        options = ["--out"]
        values = ["/proc/no/such/dir/x", hostile["folder"], hostile["fifo"], "/dev/null"]
    elif path == ("serve",):  # a server given a good database runs until stopped: only bad databases here
        values = ["/proc/no/such/dir/x.db", hostile["folder"], hostile["fifo"], hostile["latin"], "/dev/null",
                  "postgresql+psycopg://nobody@127.0.0.1:1/none", "sqlite:///:memory:"]
        argv += ["--db", data.draw(st.sampled_from(values), label="serve --db")]
        options = ["--db"]
    else:
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "argument":
                good = hostile.get(_GOOD_ARGUMENT.get(p.name, ""), "x")
                argv += [data.draw(st.sampled_from([good, *values]), label=p.name)]
            elif p.required:
                argv += [p.opts[0], _good(p.opts[0], hostile, fresh)]
    hostile_options = st.lists(st.tuples(st.sampled_from(options), st.sampled_from(values)), min_size=1,
                               max_size=3) if options else st.just([])  # a command of arguments only
    for option, value in data.draw(hostile_options, label="hostile options"):
        argv += [option, value]
    if path not in (("demo",), ("serve",)) and data.draw(st.booleans(), label="format json"):
        argv += ["--format", "json"]
    (run_dir / "cwd").mkdir(parents=True)
    code, err = _run_once(argv, run_dir / "cwd")
    log = os.environ.get("EARLYPHASE_FUZZ_LOG")  # figures for the closing note: one line per command line tried
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{code}\t{'traceback' if 'Traceback' in err or 'internal error' in err else 'clean'}\t"
                         f"{argv!r}\n")
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
