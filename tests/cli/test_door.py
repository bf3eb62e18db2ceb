"""The CLI as one door: every command's help, exit codes, EARLYPHASE_DB, JSON errors, --version, light imports.

A test walks every command registered under the root app, so a command added later is checked too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from earlyphase.cli import app
from earlyphase.cli.common import DB_ENVVAR, EXIT_INPUT, EXIT_OK, EXIT_USAGE, polish_commands, run_app

LUNG = Path(__file__).resolve().parents[1] / "reference" / "data" / "datasets" / "lung.csv"


def _commands():
    root = typer.main.get_command(app)
    polish_commands(root)
    out = []
    stack = [((), root)]
    while stack:
        path, cmd = stack.pop()
        subs = getattr(cmd, "commands", None)
        if subs:
            stack.extend(((*path, name), sub) for name, sub in subs.items())
        else:
            out.append((path, cmd))
    return sorted(out, key=lambda x: x[0])


COMMANDS = _commands()
IDS = [" ".join(p) for p, _ in COMMANDS]


def test_the_walk_finds_the_commands():
    names = set(IDS)
    assert {"survival km", "survival cox", "survival quantile", "survival nelson-aalen", "survival concordance",
            "audit verify", "design simulate", "init", "report"} <= names


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=IDS)
def test_help_is_clean_and_exits_0(capsys, path, cmd):
    code = run_app(app, [*path, "--help"])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert not re.search(r"<(bool|str|int|float|path|text)>", out), out  # no type placeholders
    assert "╭" not in out  # plain text, no Rich panels that cut long option names
    for param in cmd.params:
        for opt in param.opts + param.secondary_opts:
            if opt.startswith("--"):
                assert opt in out, f"{opt} missing or cut in the help of {' '.join(path)}"


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=IDS)
def test_unknown_option_is_a_usage_error_everywhere(capsys, path, cmd):
    code = run_app(app, [*path, "--no-such-option"])
    captured = capsys.readouterr()
    assert code == EXIT_USAGE
    assert "Traceback" not in captured.err
    if any("--format" in p.opts for p in cmd.params):
        code = run_app(app, [*path, "--no-such-option", "--format", "json"])
        captured = capsys.readouterr()
        assert code == EXIT_USAGE
        payload = json.loads(captured.out)
        assert payload["error"] == "UsageError" and payload["exit_code"] == 2 and "--no-such-option" in payload["message"]
        assert "no-such-option" in captured.err  # and a line on stderr as well


@pytest.mark.parametrize("path,cmd", [(p, c) for p, c in COMMANDS if any("--db" in q.opts for q in c.params)],
                         ids=[" ".join(p) for p, c in COMMANDS if any("--db" in q.opts for q in c.params)])
def test_every_db_option_reads_earlyphase_db(path, cmd):
    (param,) = [q for q in cmd.params if "--db" in q.opts]
    assert param.envvar == DB_ENVVAR and param.show_envvar


def test_earlyphase_db_is_used_when_db_is_not_given(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "none.db"
    monkeypatch.setenv(DB_ENVVAR, str(missing))
    for args in (["audit", "verify"], ["export", "--out", str(tmp_path / "x")], ["report", "--out", str(tmp_path / "r")]):
        code = run_app(app, args)
        err = capsys.readouterr().err
        assert code == EXIT_INPUT and str(missing.name) in err, (args, err)  # it tried the env's database
    assert not missing.exists()
    # a command line --study wins over the environment's database
    code = run_app(app, ["study", "show", "--study", "nk-hcc-ltx", "--format", "json"])
    out = capsys.readouterr().out
    assert code == EXIT_OK and json.loads(out)


def test_input_errors_exit_1_with_json_on_stdout(capsys):
    code = run_app(app, ["survival", "km", str(LUNG), "--time", "tme", "--event", "status", "--format", "json"])
    captured = capsys.readouterr()
    assert code == EXIT_INPUT
    payload = json.loads(captured.out)
    assert payload["error"] == "InputError" and payload["exit_code"] == 1
    assert payload["problems"][0]["field"] == "tme" and "Did you mean 'time'" in payload["problems"][0]["message"]
    assert captured.err.startswith("error:")


def test_version(capsys):
    from earlyphase import __version__

    assert run_app(app, ["--version"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == f"earlyphase {__version__}"


def test_usage_errors_from_option_combinations_exit_2(capsys):
    assert run_app(app, ["survival", "km", str(LUNG), "--time", "time"]) == EXIT_USAGE  # neither --event nor --censor
    assert run_app(app, ["survival", "km", str(LUNG), "--time", "time", "--event", "status", "--times", "a,b"]) == EXIT_USAGE
    assert run_app(app, ["design", "next-dose", "--design", "boin", "--target", "0.3"]) == EXIT_USAGE
    capsys.readouterr()


def test_cnsr_as_event_is_refused_with_a_pointer_to_censor(tmp_path, capsys):
    path = tmp_path / "adtte.csv"
    path.write_text("USUBJID,PARAMCD,AVAL,CNSR,TRT01P\n1,OS,10,0,A\n2,OS,20,1,A\n3,OS,5,0,B\n4,OS,8,1,B\n"
                    "1,PFS,4,0,A\n2,PFS,9,0,A\n3,PFS,2,0,B\n4,PFS,3,1,B\n")
    code = run_app(app, ["survival", "km", str(path), "--time", "AVAL", "--event", "CNSR", "--where", "PARAMCD=OS"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "--censor CNSR" in err
    # several parameters in one file: refused until one is chosen
    code = run_app(app, ["survival", "km", str(path), "--time", "AVAL", "--censor", "CNSR"])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT and "--where PARAMCD=OS" in err
    code = run_app(app, ["survival", "km", str(path), "--time", "AVAL", "--censor", "CNSR", "--where", "PARAMCD=OS",
                         "--group", "TRT01P", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert [g["events"] for g in out["groups"]] == [1, 1]  # CNSR 0 = event
    from earlyphase.stats import kaplan_meier

    ref = kaplan_meier([10, 20, 5, 8], [1, 0, 1, 0], group=["A", "A", "B", "B"])
    assert [g["median"] for g in out["groups"]] == [c.median[0] for c in ref.curves]


def _modules_after(args: list[str]) -> set[str]:
    code = ("import json, sys\n"
            "from earlyphase.cli import main\n"
            f"sys.argv = ['earlyphase'] + {args!r}\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
            "sys.stdout.flush()\n"
            "sys.stderr.write(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    payload = json.loads(res.stderr.strip().splitlines()[-1])
    assert payload["code"] == 0, res.stderr
    return set(payload["modules"])


HEAVY = {"scipy", "pandas", "matplotlib", "sqlalchemy", "pyarrow", "duckdb", "dask", "rich", "openpyxl"}


@pytest.mark.parametrize("args", [
    ["survival", "km", str(LUNG), "--time", "time", "--event", "status", "--group", "sex"],
    ["survival", "logrank", str(LUNG), "--time", "time", "--event", "status", "--group", "sex"],
    ["survival", "cox", str(LUNG), "--time", "time", "--event", "status", "--covariates", "age,sex,ph.ecog"],
], ids=["km", "logrank", "cox"])
def test_small_survival_calls_import_no_heavy_library(args):
    loaded = _modules_after(args)
    assert not {m.split(".")[0] for m in loaded} & HEAVY


def test_help_imports_not_even_numpy():
    loaded = _modules_after(["--help"])
    assert "numpy" not in loaded and not {m.split(".")[0] for m in loaded} & HEAVY


def test_small_csv_reader_reads_what_pandas_reads(capsys, monkeypatch):
    args = ["survival", "cox", str(LUNG), "--time", "time", "--event", "status", "--covariates", "age,sex,ph.ecog,wt.loss",
            "--categorical", "ph.ecog", "--format", "json"]
    assert run_app(app, args) == EXIT_OK
    small = json.loads(capsys.readouterr().out)
    import earlyphase.cli.survival_data as survival_data

    monkeypatch.setattr(survival_data, "SMALL_CSV_BYTES", 0)  # force the pandas reader
    assert run_app(app, args) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == small
    assert small["n_omitted"] == 15


@pytest.mark.parametrize("module,extra,args", [
    ("duckdb", "parquet", ["survival", "km", "{pq}", "--time", "t", "--event", "e"]),
    ("pyarrow", "parquet", ["survival", "cox", "{pq}", "--time", "t", "--event", "e", "--covariates", "x"]),
    ("dask", "cluster", ["design", "simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.3",
                         "--trials", "10", "--workers", "1", "--no-progress"]),
])
def test_a_missing_extra_is_named(tmp_path, capsys, monkeypatch, module, extra, args):
    pq = tmp_path / "d.parquet"
    pq.write_bytes(b"PAR1")  # never read: the import fails first
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError, as when not installed
    if module == "dask":
        monkeypatch.setitem(sys.modules, "dask.distributed", None)
    code = run_app(app, [a.replace("{pq}", str(pq)) for a in args])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT and f"earlyphase[{extra}]" in err and "Traceback" not in err
