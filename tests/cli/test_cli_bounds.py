"""Options beyond their stated bounds, bad paths and bad databases: one line naming what to fix (issue 9)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from earlyphase.cli import app
from earlyphase.cli.common import EXIT_INPUT, EXIT_USAGE, run_app
from earlyphase.limits import MAX_PERMUTATIONS, MAX_SAMPLE_SIZE, MAX_SIM_TRIALS
from tests.cli.test_door import LUNG


def _run(capsys, *args):
    code = run_app(app, list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return code, out, err


@pytest.mark.parametrize("args,option,limit", [
    (["design", "simulate", "--target", "0.3", "--truth", "0.1,0.2,0.3", "--trials", "100000000000"], "--trials",
     MAX_SIM_TRIALS),
    (["design", "table", "--target", "0.3", "--max-n", "1000000000000"], "--max-n", MAX_SAMPLE_SIZE),
    (["design", "boundaries", "--target", "0.3", "--max-n", "1000000000000"], "--max-n", MAX_SAMPLE_SIZE),
    (["design", "simulate", "--target", "0.3", "--truth", "0.1,0.2", "--cohort-size", "1000000000"], "--cohort-size",
     MAX_SAMPLE_SIZE),
    (["survival", "logrank", str(LUNG), "--time", "time", "--event", "status", "--group", "sex",
      "--permutations", "100000000000"], "--permutations", MAX_PERMUTATIONS),
    (["twin", "--db", "x.db", "--seed", "-1"], "--seed", 0),
])
def test_integer_options_beyond_their_range_are_usage_errors_stating_the_range(capsys, args, option, limit):
    code, _, err = _run(capsys, *args)
    assert code == EXIT_USAGE
    assert option in err and str(limit) in err


def test_a_simulated_trial_larger_than_the_bound_is_refused(capsys):
    code, _, err = _run(capsys, "design", "simulate", "--target", "0.3", "--truth", "0.1,0.2", "--cohort-size", "100",
                        "--n-cohorts", "1000")
    assert code == EXIT_USAGE and str(MAX_SAMPLE_SIZE) in err


@pytest.mark.parametrize("args", [
    ["design", "select-mtd", "--target", "0.3", "--n", "3,nan,3", "--dlt", "0,1,2"],
    ["design", "select-mtd", "--target", "0.3", "--n", "3,3,3", "--dlt", "0,1,nan"],
    ["design", "next-dose", "--target", "0.3", "--n", "3,1e12,3", "--dlt", "0,1,2", "--current", "1"],
    ["design", "table", "--target", "nan"],
    ["design", "simulate", "--target", "0.3", "--truth", "0.1,inf"],
])
def test_nan_and_huge_counts_are_refused(capsys, args):
    code, _, err = _run(capsys, *args)
    assert code in (EXIT_INPUT, EXIT_USAGE) and err.strip()


def test_an_unwritable_output_path_is_one_line_naming_it(capsys, tmp_path):
    code, _, err = _run(capsys, "design", "table", "--target", "0.3", "--csv", "/proc/no/such/dir/t.csv")
    assert code == EXIT_INPUT
    assert "/proc/no/such/dir/t.csv" in err and len(err.strip().splitlines()) == 1


def test_init_refuses_an_in_memory_database(capsys):
    for db in ("sqlite:///:memory:", "sqlite://"):
        code, out, err = _run(capsys, "init", "--db", db, "--study", "nk-hcc-ltx", "--user", "c1", "--format", "json")
        assert code == EXIT_INPUT
        assert json.loads(out)["problems"][0]["rule"] == "persistent-database"


@pytest.mark.parametrize("user", ["bad\nname", "tab\tname", " padded", "nul\x00"])
def test_a_username_must_be_one_printable_line(capsys, tmp_path, user):
    db = f"sqlite:///{tmp_path / 't.db'}"
    code, _, err = _run(capsys, "init", "--db", db, "--study", "nk-hcc-ltx", "--user", user)
    if "\x00" in user:  # no shell passes a NUL; a program can, and the door refuses it before anything else
        assert code == EXIT_USAGE and "NUL" in err
    else:
        assert code == EXIT_INPUT and "username" in err


def test_a_database_that_is_not_a_trial_is_named(capsys, tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table x(a)")
    text = tmp_path / "text.db"
    text.write_text("hello")
    for path in (other, text):
        for args in (["status"], ["audit", "verify"], ["export", "--out", str(tmp_path / "out")]):
            code, _, err = _run(capsys, *args, "--db", f"sqlite:///{path}")
            assert code == EXIT_INPUT and str(path) in err


def test_a_folder_given_as_data_is_named(capsys, tmp_path):
    code, _, err = _run(capsys, "survival", "km", str(tmp_path), "--time", "time", "--event", "status")
    assert code == EXIT_INPUT and str(tmp_path) in err


def test_an_internal_error_is_one_line_and_debug_shows_the_traceback(capsys, monkeypatch):
    import earlyphase.design as design

    def broken(*args, **kwargs):
        raise RuntimeError("a planted bug")

    monkeypatch.setattr(design, "select_mtd", broken)
    args = ["design", "select-mtd", "--target", "0.3", "--n", "3,3", "--dlt", "0,1"]
    assert run_app(app, args) == EXIT_INPUT
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "a planted bug" in err and "--debug" in err
    with pytest.raises(RuntimeError, match="a planted bug"):
        run_app(app, [*args, "--debug"])
