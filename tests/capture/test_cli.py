"""The doors: earlyphase init and earlyphase study show."""

from __future__ import annotations

import json

import pytest

from earlyphase.cli import app
from earlyphase.cli.common import run_app


def run(capsys, *argv):
    code = run_app(app, list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_init_then_show(db_url, capsys):
    code, out, _ = run(capsys, "init", "--db", db_url, "--study", "nk-hcc-ltx", "--user", "alice")
    assert code == 0 and "nk-hcc-ltx" in out
    code, out, err = run(capsys, "init", "--db", db_url, "--study", "nk-hcc-ltx")
    assert code == 1 and "already initialised" in err and "Traceback" not in err
    code, out, _ = run(capsys, "study", "show", "--db", db_url)
    assert code == 0
    assert "ASSUMED" in out and "group A" in out
    for level, group in ((1, "A"), (2, "B"), (3, "C"), (4, "D")):
        assert any(line.split()[:2] == [str(level), group] for line in out.splitlines())


def test_show_json(capsys):
    code, out, _ = run(capsys, "study", "show", "--study", "nk-hcc-ltx", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [lv["group"] for lv in data["levels"]] == ["A", "B", "C", "D"]
    assert [lv["assumed"] for lv in data["levels"]] == [True, False, False, True]
    assert data["levels"][3]["doses"][:3] == [1e9, 2.5e9, 5e9] and data["levels"][3]["step_up_doses"] == [1e9, 2.5e9]
    assert data["product"]["dose_unit"] == "cells" and data["levels"][3]["schedule"] == {"administrations": 8,
                                                                                          "every_days": 14}
    assert len(data["protocol_sha256"]) == 64


def test_init_json_and_study_file(tmp_path, capsys):
    from earlyphase.protocol import read_study_text

    text, _ = read_study_text("nk-hcc-ltx")
    path = tmp_path / "my-study.yaml"
    path.write_text(text.replace("study_id: nk-hcc-ltx", "study_id: my-study"), encoding="utf-8")
    code, out, _ = run(capsys, "init", "--db", str(tmp_path / "t.db"), "--study", str(path), "--format", "json")
    assert code == 0 and json.loads(out)["study_id"] == "my-study"


@pytest.mark.parametrize("argv, code, text", [
    (["study", "show"], 2, "exactly one"),
    (["study", "show", "--db", "missing.db"], 1, "no database file"),
    (["study", "show", "--study", "no-such-study"], 1, "no study file"),
    (["init", "--study", "nk-hcc-ltx"], 2, "--db"),
])
def test_errors(tmp_path, monkeypatch, capsys, argv, code, text):
    monkeypatch.chdir(tmp_path)
    got, out, err = run(capsys, *argv)
    assert got == code
    assert text in out + err


def test_bad_study_file_lists_problems(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("study_id: x\ntitle: t\n", encoding="utf-8")
    code, _, err = run(capsys, "init", "--db", str(tmp_path / "t.db"), "--study", str(path))
    assert code == 1 and "sponsor" in err and "groups" in err
