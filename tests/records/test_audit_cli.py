"""earlyphase audit verify | log: exit codes, text and JSON output."""

from __future__ import annotations

import json

from earlyphase.cli import app
from earlyphase.cli.common import run_app

from records_helpers import raw_sql


def run(argv, capsys):
    code = run_app(app, argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_clean_exits_0(sample_trial, capsys):
    engine, _ = sample_trial
    url = engine.url.render_as_string(hide_password=False)
    code, out, _ = run(["audit", "verify", "--db", url], capsys)
    assert code == 0
    assert "chain           : intact" in out and "OK: no finding." in out
    code, out, _ = run(["audit", "verify", "--db", url, "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["ok"] is True and data["entries_checked"] == 9


def test_verify_finding_exits_1_and_names_the_record(sample_trial, capsys):
    engine, ids = sample_trial
    raw_sql(engine, "UPDATE patients SET ecog = 2 WHERE id = :id", id=ids["NK-002"])
    url = engine.url.render_as_string(hide_password=False)
    code, out, _ = run(["audit", "verify", "--db", url, "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    assert [(f["table"], f["record_id"], f["differences"]) for f in data["findings"]] == [
        ("patients", ids["NK-002"], {"ecog": {"audited": 0, "current": 2}})
    ]
    code, out, _ = run(["audit", "verify", "--db", url], capsys)
    assert code == 1 and f"patients #{ids['NK-002']} differs" in out


def test_db_from_environment_and_sqlite_path(tmp_path, capsys, monkeypatch):
    from earlyphase.records import make_engine, migrate

    from records_helpers import write_sample_trial

    path = tmp_path / "trial.db"
    engine = make_engine(path)
    migrate(engine)
    write_sample_trial(engine)
    engine.dispose()
    monkeypatch.setenv("EARLYPHASE_DB", str(path))  # a plain path, not a URL
    code, out, _ = run(["audit", "verify"], capsys)
    assert code == 0 and "OK" in out


def test_missing_db_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("EARLYPHASE_DB", raising=False)
    code, _, err = run(["audit", "verify"], capsys)
    assert code == 2 and "--db" in err


def test_nonexistent_sqlite_file_is_an_input_error_and_not_created(tmp_path, capsys):
    path = tmp_path / "nope.db"
    code, _, err = run(["audit", "verify", "--db", str(path)], capsys)
    assert code == 1 and "no database file" in err and "Traceback" not in err
    assert not path.exists()


def test_log_prints_a_patients_history(sample_trial, capsys):
    engine, _ = sample_trial
    url = engine.url.render_as_string(hide_password=False)
    code, out, _ = run(["audit", "log", "NK-001", "--db", url], capsys)
    assert code == 0
    assert "Audit history of patient NK-001: 5 entries" in out
    assert "update adverse_events" in out and "reason: source document says grade 2" in out
    code, out, _ = run(["audit", "log", "NK-001", "--db", url, "--format", "json"], capsys)
    data = json.loads(out)
    assert data["subject_id"] == "NK-001" and len(data["entries"]) == 5
    code, _, err = run(["audit", "log", "NK-404", "--db", url], capsys)
    assert code == 1 and "NK-404" in err


def test_unopenable_databases_are_explained_not_tracebacks(tmp_path, capsys):
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database\n")
    code, _, err = run(["audit", "verify", "--db", str(junk)], capsys)
    assert code == 1 and "cannot open" in err and "file is not a database" in err and "Traceback" not in err
    empty = tmp_path / "empty.db"
    empty.touch()
    code, _, err = run(["audit", "verify", "--db", str(empty)], capsys)
    assert code == 1 and "not an earlyphase database" in err
    # port 1: nothing listens there, the connection is refused at once
    code, _, err = run(["audit", "log", "P-01", "--db", "postgresql://nobody@127.0.0.1:1/none"], capsys)
    assert code == 1 and "cannot open postgresql+psycopg://nobody@127.0.0.1:1/none" in err


def test_export_and_report_anchor_the_head_and_verify_checks_it(tmp_path, capsys):
    """After an export, cutting the log back is found by a plain verify (no --known-hash)."""
    from earlyphase.capture import initialise
    from earlyphase.records import make_engine
    from earlyphase.records.audit_anchor import anchor_path, read_anchors
    from earlyphase.records.audit_guard import create_triggers, drop_triggers
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'trial.db'}"
    initialise(url, "nk-hcc-ltx", "dm").close()
    code, _, err = run(["export", "--db", url, "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    engine = make_engine(url)
    anchors, problems = read_anchors(engine, None)
    assert [a.event for a in anchors] == ["export"] and problems == [] and anchor_path(engine).is_file()
    with engine.begin() as conn:  # roll the last entry back
        drop_triggers(conn, ("audit_log",))
        conn.execute(text("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)"))
        create_triggers(conn, ("audit_log",))
    engine.dispose()
    code, out, _ = run(["audit", "verify", "--db", url, "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 1 and "anchored_head_missing" in [f["kind"] for f in data["findings"]]


def test_events_are_listed_by_kind(sample_trial, capsys):
    from earlyphase.records import transaction
    from earlyphase.records.audit import write_event

    engine, _ = sample_trial
    with transaction(engine) as session:
        write_event(session, "identified_export", "alice", {"folder": "/secure/out", "files": 12})
        write_event(session, "login", "bob", "signed in")
    url = engine.url.render_as_string(hide_password=False)
    code, out, _ = run(["audit", "events", "--db", url], capsys)
    assert code == 0 and "identified_export" in out and "bob  login  signed in" in out
    code, out, _ = run(["audit", "events", "--db", url, "--kind", "identified_export", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and [(e["kind"], e["username"], e["detail"]) for e in data["events"]] == [
        ("identified_export", "alice", {"files": 12, "folder": "/secure/out"})]
