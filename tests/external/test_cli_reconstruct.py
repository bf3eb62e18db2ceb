"""earlyphase external reconstruct: the door, with good and bad input; nothing written on a refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from earlyphase.cli import app
from earlyphase.cli.common import EXIT_INPUT, EXIT_OK, EXIT_USAGE, run_app

DATA = Path(__file__).parent / "data"
CURVE = DATA / "checkmate067-nivolumab-curve.csv"
TABLE = DATA / "checkmate067-at-risk.csv"


def test_reconstruct_writes_the_patients_and_reports_the_fit(tmp_path, capsys):
    out = tmp_path / "ipd.csv"
    fig = tmp_path / "fit.png"
    code = run_app(app, ["external", "reconstruct", "--curve", str(CURVE), "--at-risk", str(TABLE), "--out", str(out),
                         "--arm", "nivolumab", "--figure", str(fig), "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["time", "event", "arm"] and len(frame) == 80
    assert set(frame.arm) == {"nivolumab"} and payload["events"] == frame.event.sum()
    assert payload["fit"]["largest_at_risk_gap"] == 0 and payload["out"] == str(out)
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_output_names_the_file(tmp_path, capsys):
    out = tmp_path / "ipd.csv"
    assert run_app(app, ["external", "reconstruct", "--curve", str(CURVE), "--at-risk", str(TABLE), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "80 patients" in text and str(out) in text


def _bad_files(tmp_path):
    rising = tmp_path / "rising.csv"
    rising.write_text("0,1\n1,0.6\n2,0.9\n3,0.5\n")
    table_up = tmp_path / "up.csv"
    table_up.write_text("time,n_risk\n0,10\n1,12\n")
    text = tmp_path / "text.csv"
    text.write_text("time,survival\n0,1\n1,abc\n")
    return rising, table_up, text


@pytest.mark.parametrize("case", ["missing curve", "rising", "table rises", "not a number", "events", "out folder",
                                  "out is dir", "out suffix", "figure suffix", "dataset", "tolerance"])
def test_bad_input_exits_1_with_a_message_and_writes_nothing(tmp_path, capsys, case):
    rising, table_up, text = _bad_files(tmp_path)
    out = tmp_path / "ipd.csv"
    args = {"curve": str(CURVE), "at-risk": str(TABLE), "out": str(out)}
    extra: list[str] = []
    if case == "missing curve":
        args["curve"] = str(tmp_path / "nope.csv")
    elif case == "rising":
        args["curve"] = str(rising)
    elif case == "table rises":
        args["at-risk"] = str(table_up)
    elif case == "not a number":
        args["curve"] = str(text)
    elif case == "events":
        extra = ["--events", "81"]
    elif case == "out folder":
        args["out"] = str(tmp_path / "no" / "ipd.csv")
    elif case == "out is dir":
        args["out"] = str(tmp_path)
    elif case == "out suffix":
        args["out"] = str(tmp_path / "ipd.txt")
    elif case == "figure suffix":
        extra = ["--figure", str(tmp_path / "fig.pdf")]
    elif case == "dataset":
        extra = ["--dataset", "Placebo"]
    elif case == "tolerance":
        extra = ["--rise-tolerance", "-1"]
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["external", "reconstruct"] + [x for k, v in args.items() for x in (f"--{k}", v)] + extra
    code = run_app(app, argv + ["--format", "json"])
    captured = capsys.readouterr()
    assert code == EXIT_INPUT, captured
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    payload = json.loads(captured.out)
    assert payload["exit_code"] == 1 and payload["problems"] and all(p["message"] for p in payload["problems"])
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_usage_errors_exit_2(tmp_path, capsys):
    out = str(tmp_path / "ipd.csv")
    assert run_app(app, ["external", "reconstruct", "--curve", str(CURVE), "--out", out]) == EXIT_USAGE
    assert run_app(app, ["external", "reconstruct", "--curve", str(CURVE), "--at-risk", str(TABLE), "--out", out,
                         "--scale", "logit"]) == EXIT_USAGE
    assert run_app(app, ["external", "reconstruct", "--curve", str(CURVE), "--at-risk", str(TABLE), "--out", out,
                         "--events", "many"]) == EXIT_USAGE
    assert not (tmp_path / "ipd.csv").exists()
