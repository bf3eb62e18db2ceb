"""The keyed audit chain: where the key lives, what happens without it or with the wrong one, upgrading a
database whose log was chained before keys existed, and events (entries that change no record)."""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlalchemy import select, text

from earlyphase.cli import app
from earlyphase.cli.common import run_app
from earlyphase.errors import ConfigurationError, InputError
from earlyphase.records import make_engine, migrate, read_session, transaction, verify_audit
from earlyphase.records.audit import append_entry, write_event
from earlyphase.records.audit_key import KEY_ENV, create_key_file, find_key, read_key_file, use_key
from earlyphase.records.audit_verify import KEY_MISMATCH, KEY_MISSING, NOT_KEYED
from earlyphase.records.tables import AuditEntry, AuditKeyRecord

from records_helpers import write_sample_trial


@pytest.fixture
def no_env_key(monkeypatch):
    """The key only where a user without configuration would have it (not the test session's key)."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("EARLYPHASE_AUDIT_KEY_FILE", raising=False)


def run(argv, capsys):
    code = run_app(app, argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_new_sqlite_database_gets_a_private_key_file_beside_it(tmp_path, no_env_key):
    engine = make_engine(tmp_path / "trial.db")
    migrate(engine)
    key_file = tmp_path / "trial.db.audit-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = read_key_file(key_file)
    with read_session(engine) as s:
        assert s.scalar(select(AuditKeyRecord.fingerprint)) == key.fingerprint
    assert key.fingerprint not in key_file.read_text() and key.secret.hex() in key_file.read_text()
    write_sample_trial(engine)
    report = verify_audit(engine)
    assert report.ok and report.key_fingerprint == key.fingerprint
    engine.dispose()


def test_without_the_key_verify_says_the_hashes_were_not_checked(tmp_path, no_env_key, capsys):
    engine = make_engine(tmp_path / "trial.db")
    migrate(engine)
    write_sample_trial(engine)
    engine.dispose()
    (tmp_path / "trial.db.audit-key").rename(tmp_path / "elsewhere.key")
    engine = make_engine(tmp_path / "trial.db")
    report = verify_audit(engine)
    assert not report.ok and [f.kind for f in report.findings] == [KEY_MISSING]
    assert "NOT CHECKED" in report.summary() and "--key-file" in report.findings[0].message
    with pytest.raises(ConfigurationError, match="no audit key"):
        with transaction(engine) as session:
            write_event(session, "login", "alice")
    engine.dispose()
    code, out, _ = run(["audit", "verify", "--db", str(tmp_path / "trial.db")], capsys)
    assert code == 1 and "hashes were NOT checked" in out
    code, out, _ = run(["audit", "verify", "--db", str(tmp_path / "trial.db"), "--key-file",
                        str(tmp_path / "elsewhere.key")], capsys)
    assert code == 0 and "OK: no finding." in out


def test_the_wrong_key_is_named_and_refused_for_writing(tmp_path, no_env_key):
    engine = make_engine(tmp_path / "trial.db")
    migrate(engine)
    write_sample_trial(engine)
    other = create_key_file(tmp_path / "other.key")
    use_key(engine, other)
    report = verify_audit(engine)
    assert [f.kind for f in report.findings] == [KEY_MISMATCH]
    with pytest.raises(ConfigurationError, match="not this database's key"):
        with transaction(engine) as session:
            write_event(session, "login", "alice")
    engine.dispose()


def test_a_key_file_others_can_read_is_refused(tmp_path, no_env_key):
    path = tmp_path / "k.key"
    create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_key_file(path)
    path.write_text("not a key\n")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigurationError, match="64 hexadecimal"):
        read_key_file(path)


def test_a_malformed_key_in_the_environment_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_ENV, "abc")
    engine = make_engine(tmp_path / "t.db")
    with pytest.raises(ConfigurationError, match=KEY_ENV):
        find_key(engine)
    engine.dispose()


def _legacy_database(path):
    """A database at revision 0003 with a plain-chained log (as releases before keys wrote it)."""
    engine = make_engine(path)
    migrate(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, code, name, country) VALUES (1, 'S1', 'Site 1', 'GB')"))
        append_entry(conn, action="insert", table_name="sites", record_id=1, old_values=None,
                     new_values={"id": 1, "code": "S1", "name": "Site 1", "country": "GB"})
    with read_session(engine) as s:
        head = s.scalar(select(AuditEntry.row_hash))
    return engine, head


def test_an_upgrade_without_the_key_leaves_the_log_unkeyed_until_rekey(tmp_path, no_env_key, capsys):
    engine, legacy_head = _legacy_database(tmp_path / "old.db")
    migrate(engine)
    assert not (tmp_path / "old.db.audit-key").exists()  # never invented for a log that has entries
    report = verify_audit(engine)
    assert [f.kind for f in report.findings] == [NOT_KEYED]
    with pytest.raises(ConfigurationError, match="not keyed yet"):
        with transaction(engine) as session:
            write_event(session, "login", "alice")
    engine.dispose()
    key_file = tmp_path / "new.key"
    code, out, _ = run(["audit", "rekey", "--db", str(tmp_path / "old.db"), "--key-file", str(key_file)], capsys)
    assert code == 0 and "re-keyed 1 audit entries" in out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    engine = make_engine(tmp_path / "old.db")
    use_key(engine, key_file)
    report = verify_audit(engine, known_hash=legacy_head)  # the head before re-keying is still known
    assert report.ok, report.summary()
    assert report.entries_checked == 2  # the entry and the audit_rekey event
    engine.dispose()
    # a second re-key without the key in force is refused (it would let anyone re-chain the log)
    code, _, err = run(["audit", "rekey", "--db", str(tmp_path / "old.db"), "--key-file",
                        str(tmp_path / "third.key")], capsys)
    assert code == 1 and "keyed already" in err


def test_an_upgrade_with_the_key_rekeys_and_a_broken_plain_chain_is_never_rekeyed(tmp_path, no_env_key):
    engine, _ = _legacy_database(tmp_path / "a.db")
    create_key_file(tmp_path / "a.db.audit-key")
    migrate(engine)
    assert verify_audit(engine).ok
    engine.dispose()

    engine, _ = _legacy_database(tmp_path / "b.db")
    with engine.begin() as conn:  # break the plain chain before the upgrade
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET username = 'mallory'"))
        conn.execute(text("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT "
                          "RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed'); END"))
    create_key_file(tmp_path / "b.db.audit-key")
    migrate(engine)
    kinds = [f.kind for f in verify_audit(engine).findings]
    assert kinds[0] == NOT_KEYED and "chain_broken" in kinds
    engine.dispose()


def test_events_are_chained_and_not_replayed(engine):
    write_sample_trial(engine)
    with transaction(engine) as session:
        write_event(session, "identified_export", "alice", {"folder": "/tmp/x", "sha256": "ab" * 32})
        write_event(session, "login", "bob", "signed in from the web form", subject_id=None)
    report = verify_audit(engine)
    assert report.ok, report.summary()
    with read_session(engine) as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(2)).all()
    assert [(e.action, e.table_name, e.username) for e in last] == [("event", "login", "bob"),
                                                                     ("event", "identified_export", "alice")]
    assert json.loads(last[1].new_values) == {"folder": "/tmp/x", "sha256": "ab" * 32}
    assert last[0].writer_at_utc is not None and last[0].at_utc is not None


@pytest.mark.parametrize("kind, user, detail", [
    ("Login", "alice", None), ("", "alice", None), ("x" * 41, "alice", None), ("patients", "alice", None),
    ("login", "", None), ("login", "al\nice", None), ("login", "alice", 3.5),
])
def test_a_bad_event_is_refused_and_nothing_written(engine, kind, user, detail):
    with pytest.raises(InputError):
        with transaction(engine) as session:
            write_event(session, kind, user, detail)
    with read_session(engine) as s:
        assert s.scalar(select(AuditEntry.id)) is None


@pytest.mark.parametrize("bad", ["0" * 64, "xyz", "ab" * 31, "g" * 64, ""])
def test_known_hash_of_zeros_or_malformed_is_refused(sample_trial, capsys, bad):
    engine, _ = sample_trial
    url = engine.url.render_as_string(hide_password=False)
    with pytest.raises(InputError):
        verify_audit(engine, known_hash=bad)
    code, _, err = run(["audit", "verify", "--db", url, "--known-hash", bad], capsys)
    assert code == 1 and "known_hash" in err and "Traceback" not in err


def test_init_takes_a_key_file_and_verify_needs_it(tmp_path, no_env_key, capsys):
    db, key_file = tmp_path / "trial.db", tmp_path / "keys" / "trial.key"
    code, _, err = run(["init", "--db", str(db), "--study", "nk-hcc-ltx", "--user", "dm", "--key-file",
                        str(key_file)], capsys)
    assert code == 0, err
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and not (tmp_path / "trial.db.audit-key").exists()
    code, out, _ = run(["audit", "verify", "--db", str(db)], capsys)
    assert code == 1 and "NOT checked" in out
    code, out, _ = run(["audit", "verify", "--db", str(db), "--key-file", str(key_file)], capsys)
    assert code == 0 and "OK: no finding." in out


def test_a_second_anchor_database_keeps_the_head_when_the_anchor_file_is_gone(tmp_path, monkeypatch):
    from earlyphase.records.audit_anchor import ANCHOR_DB_ENV, anchor_path
    from earlyphase.records.audit_guard import create_triggers, drop_triggers
    from earlyphase.records.audit_verify import ANCHOR_BROKEN

    monkeypatch.setenv(ANCHOR_DB_ENV, f"sqlite:///{tmp_path / 'anchors.db'}")
    engine = make_engine(tmp_path / "trial.db")
    migrate(engine)
    write_sample_trial(engine)
    report = verify_audit(engine)
    assert report.ok and "second anchor database" in report.anchored_to
    anchor_path(engine).unlink()  # the attacker removes the file beside the database ...
    with engine.begin() as conn:  # ... and rolls the last entry back
        drop_triggers(conn, ("audit_log",))
        conn.execute(text("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)"))
        create_triggers(conn, ("audit_log",))
    kinds = [f.kind for f in verify_audit(engine).findings]
    assert ANCHOR_BROKEN in kinds
    engine.dispose()


def test_rotating_the_key_needs_the_old_one(tmp_path, no_env_key, capsys):
    engine = make_engine(tmp_path / "trial.db")
    migrate(engine)
    write_sample_trial(engine)
    assert verify_audit(engine).ok
    engine.dispose()
    old, new = tmp_path / "trial.db.audit-key", tmp_path / "rotated.key"
    code, out, err = run(["audit", "rekey", "--db", str(tmp_path / "trial.db"), "--key-file", str(new),
                          "--old-key-file", str(old)], capsys)
    assert code == 0, err
    engine = make_engine(tmp_path / "trial.db")
    assert KEY_MISMATCH in [f.kind for f in verify_audit(engine).findings]  # the old key no longer fits
    use_key(engine, new)
    report = verify_audit(engine)
    assert report.ok, report.summary()  # the anchors of the old key's era are superseded by the re-keying
    engine.dispose()
