"""The survival commands' data door: a named pipe is refused before it is opened (reading one blocks forever),
and an empty column name is named as such (it used to end in an internal error). Both found by the CLI fuzz."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from earlyphase.cli import app

LUNG = Path(__file__).resolve().parents[1] / "reference" / "data" / "datasets" / "lung.csv"


@pytest.mark.parametrize("command", ["km", "nelson-aalen", "logrank"])
def test_a_named_pipe_is_refused_before_it_is_read(tmp_path, command):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    args = ["survival", command, str(fifo), "--time", "time", "--event", "status"]
    if command == "logrank":
        args += ["--group", "sex"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "named pipe" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("option", ["--event", "--time"])
def test_an_empty_column_name_is_named(option):
    args = {"--time": "time", "--event": "status"}
    args[option] = ""
    result = CliRunner().invoke(app, ["survival", "nelson-aalen", str(LUNG), *[x for kv in args.items() for x in kv]])
    assert result.exit_code in (1, 2)
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert "column" in result.output
