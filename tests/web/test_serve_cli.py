"""`earlyphase serve` refuses what it cannot serve before it starts listening."""

from __future__ import annotations


from earlyphase.cli import app
from earlyphase.cli.common import EXIT_INPUT, EXIT_USAGE, run_app


def test_a_missing_database_is_named(tmp_path, capsys):
    code = run_app(app, ["serve", "--db", str(tmp_path / "absent.db")])
    captured = capsys.readouterr()
    assert code == EXIT_INPUT and "absent.db" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_bad_port_or_workers_are_usage_errors(tmp_path, capsys):
    for args in (["--port", "0"], ["--port", "70000"], ["--workers", "0"], ["--port", "eighty"]):
        assert run_app(app, ["serve", "--db", str(tmp_path / "t.db"), *args]) == EXIT_USAGE, args
    capsys.readouterr()
