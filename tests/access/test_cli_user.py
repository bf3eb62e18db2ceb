"""The `earlyphase user` door: JSON output, passwords from stdin never argv, bad input exits 1 with nothing written."""

from __future__ import annotations

import io
import json

import pytest
from access_helpers import PASSWORD, TODAY, two_site_study

from earlyphase.access import authenticate
from earlyphase.capture import initialise
from earlyphase.cli import app
from earlyphase.cli.common import EXIT_INPUT, EXIT_OK, EXIT_USAGE, run_app
from earlyphase.records import make_engine, read_session
from earlyphase.records.tables import AuditEntry


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "trial.db"
    initialise(path, two_site_study(tmp_path), "founder", today=TODAY).close()
    return str(path)


WRITES = {"add", "set-role", "disable", "reset-password"}


def _run(capsys, monkeypatch, argv, stdin=""):
    # Every change is made by a known user: the founder acts unless the test names someone else.
    if argv[:1] == ["user"] and argv[1] in WRITES and "--user" not in argv:
        argv = [*argv, "--user", "founder"]
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = run_app(app, argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _entries(db):
    engine = make_engine(db, must_exist=True)
    try:
        with read_session(engine) as s:
            return s.query(AuditEntry).count()
    finally:
        engine.dispose()


def test_add_then_log_in(db, capsys, monkeypatch):
    code, out, _ = _run(capsys, monkeypatch, ["user", "add", "ana", "--role", "admin@ALL", "--db", db,
                                              "--user", "founder", "--format", "json"], PASSWORD + "\n")
    assert code == EXIT_OK
    payload = json.loads(out)
    assert payload["grants"] == ["admin@ALL"] and payload["has_password"] and payload["totp_secret"] is None
    code, out, _ = _run(capsys, monkeypatch, ["user", "add", "ivan", "--role", "investigator@S01", "--db", db,
                                              "--user", "ana", "--format", "json"], PASSWORD + "\n")
    secret = json.loads(out)["totp_secret"]
    assert code == EXIT_OK and secret
    from earlyphase.access.totp import totp_now

    engine = make_engine(db, must_exist=True)
    try:
        assert authenticate(engine, "ivan", PASSWORD, totp_now(secret)).username == "ivan"
    finally:
        engine.dispose()


def test_set_role_disable_reset_and_show(db, capsys, monkeypatch):
    _run(capsys, monkeypatch, ["user", "add", "cora", "--role", "coordinator@S01", "--db", db], PASSWORD + "\n")
    code, out, _ = _run(capsys, monkeypatch, ["user", "set-role", "cora", "monitor@S02", "--db", db, "--format", "json"])
    assert code == EXIT_OK and json.loads(out)["grants"] == ["coordinator@S01", "monitor@S02"]
    code, out, _ = _run(capsys, monkeypatch, ["user", "set-role", "cora", "monitor@S02", "--revoke", "--db", db])
    assert code == EXIT_OK and "revoked monitor@S02" in out
    code, out, _ = _run(capsys, monkeypatch, ["user", "reset-password", "cora", "--db", db], "another long password\n")
    assert code == EXIT_OK and "password reset" in out
    code, out, _ = _run(capsys, monkeypatch, ["user", "disable", "cora", "--db", db, "--format", "json"])
    assert code == EXIT_OK and json.loads(out)["active"] is False
    code, out, _ = _run(capsys, monkeypatch, ["user", "show", "cora", "--db", db])
    assert code == EXIT_OK and "disabled" in out and "coordinator@S01" in out


def test_list_shows_every_user_without_secrets(db, capsys, monkeypatch):
    _run(capsys, monkeypatch, ["user", "add", "ivan", "--role", "investigator@S01", "--db", db], PASSWORD + "\n")
    code, out, _ = _run(capsys, monkeypatch, ["user", "list", "--db", db, "--format", "json"])
    users = {u["username"]: u for u in json.loads(out)["users"]}
    assert code == EXIT_OK and set(users) == {"founder", "ivan"}
    assert users["ivan"]["grants"] == ["investigator@S01"] and users["ivan"]["has_totp"]
    assert users["ivan"]["totp_secret"] is None and not users["founder"]["has_password"]
    code, out, _ = _run(capsys, monkeypatch, ["user", "list", "--db", db])
    assert code == EXIT_OK and "user ivan: active; roles: investigator@S01" in out


@pytest.mark.parametrize("argv,stdin,says", [
    (["user", "add", "cora", "--role", "coordinator@S99"], PASSWORD, "no such site"),
    (["user", "add", "cora", "--role", "coordinator"], PASSWORD, "ROLE@SITE"),
    (["user", "add", "cora", "--role", "pope@S01"], PASSWORD, "unknown role"),
    (["user", "add", "cora"], PASSWORD, "at least one --role"),
    (["user", "add", "cora", "--role", "coordinator@S01"], "short", "at least 12"),
    (["user", "add", "cora", "--role", "coordinator@S01"], "", "give a password"),
    (["user", "add", "<b>x</b>", "--role", "coordinator@S01"], PASSWORD, "user name"),
    (["user", "set-role", "nobody", "coordinator@S01"], "", "no such user"),
    (["user", "disable", "nobody"], "", "no such user"),
    (["user", "reset-password", "nobody"], PASSWORD, "no such user"),
])
def test_bad_input_exits_1_names_the_fix_and_writes_nothing(db, capsys, monkeypatch, argv, stdin, says):
    before = _entries(db)
    code, out, err = _run(capsys, monkeypatch, [*argv, "--db", db], stdin + "\n")
    assert code == EXIT_INPUT
    assert says in out + err and "Traceback" not in out + err
    assert PASSWORD not in out + err
    assert _entries(db) == before
    code, out, _ = _run(capsys, monkeypatch, [*argv, "--db", db, "--format", "json"], stdin + "\n")
    assert code == EXIT_INPUT and json.loads(out)["problems"]


def test_a_password_is_never_an_argument(db, capsys, monkeypatch):
    code, _, _ = _run(capsys, monkeypatch, ["user", "add", "cora", "--role", "coordinator@S01", "--password",
                                            PASSWORD, "--db", db])
    assert code == EXIT_USAGE


def test_a_missing_database_is_named(tmp_path, capsys, monkeypatch):
    code, out, err = _run(capsys, monkeypatch, ["user", "show", "ana", "--db", str(tmp_path / "none.db")])
    assert code == EXIT_INPUT and "none.db" in out + err
