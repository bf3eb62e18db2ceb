"""The audit commands' door: bad keys, key files, anchor places and hashes give one line naming what to fix,
exit 1 (2 for usage), never a traceback, and nothing written."""

from __future__ import annotations

import os

import pytest

from earlyphase.cli import app
from earlyphase.cli.common import run_app
from earlyphase.records import make_engine, migrate

from records_helpers import write_sample_trial


@pytest.fixture
def trial_db(tmp_path, monkeypatch):
    monkeypatch.delenv("EARLYPHASE_AUDIT_KEY", raising=False)
    engine = make_engine(tmp_path / "trial.db")
    migrate(engine)
    write_sample_trial(engine)
    engine.dispose()
    return tmp_path / "trial.db"


def _fifo(tmp_path):
    path = tmp_path / "fifo.key"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("make_key_file, message", [
    (lambda d: d, "not a regular file"),
    (lambda d: d / "missing.key", "cannot read"),
    (_fifo, "not a regular file"),
    (lambda d: (d / "short.key").write_text("abc") and d / "short.key", "64 hexadecimal"),
])
def test_a_bad_key_file_is_named(trial_db, tmp_path, capsys, make_key_file, message):
    path = make_key_file(tmp_path)
    if path.is_file():
        path.chmod(0o600)
    code = run_app(app, ["audit", "verify", "--db", str(trial_db), "--key-file", str(path)])
    out, err = capsys.readouterr()
    assert code == 1 and message in err and "Traceback" not in err + out
    assert not (tmp_path / "trial.db.audit-anchors").exists()  # nothing written


@pytest.mark.parametrize("env, value, message", [
    ("EARLYPHASE_AUDIT_KEY", "not hex", "64 hexadecimal"),
    ("EARLYPHASE_AUDIT_KEY_FILE", "/nonexistent/k.key", "cannot read"),
    ("EARLYPHASE_AUDIT_ANCHOR_FILE", "DIR", "anchor"),
])
def test_bad_environment_is_named(trial_db, tmp_path, capsys, monkeypatch, env, value, message):
    monkeypatch.setenv(env, str(tmp_path) if value == "DIR" else value)
    code = run_app(app, ["audit", "verify", "--db", str(trial_db)])
    out, err = capsys.readouterr()
    assert code == 1 and message in err + out and "Traceback" not in err + out


@pytest.mark.parametrize("argv", [
    ["audit", "verify", "--db", "DB", "--known-hash", "é" * 64],
    ["audit", "verify", "--db", "DB", "--known-hash", "0x" + "a" * 62],
    ["audit", "rekey", "--db", "DB", "--key-file", "/proc/forbidden/new.key"],
    ["audit", "rekey", "--db", "DB", "--key-file", "NEW", "--old-key-file", "/nonexistent.key"],
    ["audit", "verify", "--db", "/nonexistent/trial.db"],
])
def test_bad_options_exit_1_without_a_traceback(trial_db, tmp_path, capsys, argv):
    argv = [str(trial_db) if a == "DB" else str(tmp_path / "new.key") if a == "NEW" else a for a in argv]
    code = run_app(app, argv)
    out, err = capsys.readouterr()
    assert code == 1 and err.strip() and "Traceback" not in err + out
    assert not (tmp_path / "new.key").exists()
