"""Logging in: password, TOTP for signers, one use per code, lockout, one message for every failure."""

from __future__ import annotations

import pytest
from access_helpers import PASSWORD
from sqlalchemy import select

from earlyphase.access import AccessDenied, add_user, authenticate, disable_user, reset_password
from earlyphase.access.login import LOCK_SECONDS, MAX_FAILURES, REFUSED
from earlyphase.access.totp import totp_now
from earlyphase.records import read_session, verify_audit
from earlyphase.records.tables import AuditEntry

NOW = 1_800_000_000.0


def _events(engine, kind):
    with read_session(engine) as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.table_name == kind)).scalars())


def test_password_login_without_second_factor(trial):
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    who = authenticate(trial.engine, "cora", PASSWORD, None, now=NOW)
    assert who.username == "cora" and [str(g) for g in who.grants] == ["coordinator@S01"]
    assert [e.username for e in _events(trial.engine, "login")] == ["cora"]


def test_signer_needs_the_current_code_once(trial):
    secret = add_user(trial.engine, "ivan", PASSWORD, roles=["investigator@S01"], actor="founder").totp_secret
    with pytest.raises(AccessDenied):
        authenticate(trial.engine, "ivan", PASSWORD, None, now=NOW)
    with pytest.raises(AccessDenied):
        authenticate(trial.engine, "ivan", PASSWORD, totp_now(secret, at=NOW + 300), now=NOW)
    code = totp_now(secret, at=NOW)
    assert authenticate(trial.engine, "ivan", PASSWORD, code, now=NOW).username == "ivan"
    with pytest.raises(AccessDenied):  # replayed
        authenticate(trial.engine, "ivan", PASSWORD, code, now=NOW + 1)
    assert authenticate(trial.engine, "ivan", PASSWORD, totp_now(secret, at=NOW + 30), now=NOW + 30)


@pytest.mark.parametrize("name,password", [("cora", "wrong password!"), ("nobody", PASSWORD), ("", PASSWORD),
                                           ("cora\nadmin", PASSWORD), ("x" * 500, PASSWORD), ("cora", None),
                                           ("' or 1=1 --", PASSWORD)])
def test_every_failure_says_the_same(trial, name, password):
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    with pytest.raises(AccessDenied) as err:
        authenticate(trial.engine, name, password, None, now=NOW)
    assert err.value.problems[0].message == REFUSED


def test_lockout_after_repeated_failures_even_for_the_right_password(trial):
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    for i in range(MAX_FAILURES):
        with pytest.raises(AccessDenied):
            authenticate(trial.engine, "cora", "not the password", None, now=NOW + i)
    with pytest.raises(AccessDenied):
        authenticate(trial.engine, "cora", PASSWORD, None, now=NOW + 10)
    failures = _events(trial.engine, "login_failed")
    assert len(failures) == MAX_FAILURES + 1 and '"locked"' in failures[-1].new_values
    assert authenticate(trial.engine, "cora", PASSWORD, None, now=NOW + LOCK_SECONDS + 10).username == "cora"
    # a reset by an admin clears a lock at once
    for i in range(MAX_FAILURES):
        with pytest.raises(AccessDenied):
            authenticate(trial.engine, "cora", "not the password", None, now=NOW + LOCK_SECONDS + 20 + i)
    reset_password(trial.engine, "cora", PASSWORD, actor="founder")
    assert authenticate(trial.engine, "cora", PASSWORD, None, now=NOW + LOCK_SECONDS + 40)
    assert verify_audit(trial.engine).ok


def test_disabled_user_cannot_log_in(trial):
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    disable_user(trial.engine, "cora", actor="founder")
    with pytest.raises(AccessDenied):
        authenticate(trial.engine, "cora", PASSWORD, None, now=NOW)
