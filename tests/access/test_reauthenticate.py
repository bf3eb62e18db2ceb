"""Re-authentication before a signature: password AND TOTP, failures counted toward the login lockout."""

from __future__ import annotations

import pytest
from access_helpers import PASSWORD
from sqlalchemy import select

from earlyphase.access import AccessDenied, add_user, authenticate, reauthenticate
from earlyphase.access.login import LOCK_SECONDS, MAX_FAILURES, REAUTH_REFUSED
from earlyphase.access.totp import totp_now
from earlyphase.records import read_session, verify_audit
from earlyphase.records.tables import AuditEntry

NOW = 1_800_000_000.0


def _events(engine, kind):
    with read_session(engine) as s:
        return [e.username for e in s.execute(select(AuditEntry).where(AuditEntry.table_name == kind)).scalars()]


def test_needs_password_and_current_code(trial):
    secret = add_user(trial.engine, "ivan", PASSWORD, roles=["investigator@S01"], actor="founder").totp_secret
    for password, code in [(PASSWORD, None), (PASSWORD, "000000" if totp_now(secret, at=NOW) != "000000" else "111111"),
                           ("wrong password!", totp_now(secret, at=NOW)), (None, totp_now(secret, at=NOW))]:
        with pytest.raises(AccessDenied) as err:
            reauthenticate(trial.engine, "ivan", password, code, now=NOW)
        assert err.value.problems[0].message == REAUTH_REFUSED
    who = reauthenticate(trial.engine, "ivan", PASSWORD, totp_now(secret, at=NOW), now=NOW)
    assert who.username == "ivan"
    with pytest.raises(AccessDenied):  # the same code is not accepted twice
        reauthenticate(trial.engine, "ivan", PASSWORD, totp_now(secret, at=NOW), now=NOW + 1)
    assert _events(trial.engine, "reauthenticated") == ["ivan"]
    assert _events(trial.engine, "reauth_failed") == ["ivan"] * 5
    assert verify_audit(trial.engine).ok


def test_a_user_without_a_second_factor_cannot_reauthenticate(trial):
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    assert authenticate(trial.engine, "cora", PASSWORD, None, now=NOW).username == "cora"
    with pytest.raises(AccessDenied):
        reauthenticate(trial.engine, "cora", PASSWORD, None, now=NOW)


def test_failures_lock_the_account_for_login_too(trial):
    secret = add_user(trial.engine, "ivan", PASSWORD, roles=["investigator@S01"], actor="founder").totp_secret
    for i in range(MAX_FAILURES):
        with pytest.raises(AccessDenied):
            reauthenticate(trial.engine, "ivan", "not the password", totp_now(secret, at=NOW + i), now=NOW + i)
    # locked: neither a signature nor a login passes with the right password and code
    with pytest.raises(AccessDenied):
        reauthenticate(trial.engine, "ivan", PASSWORD, totp_now(secret, at=NOW + 60), now=NOW + 60)
    with pytest.raises(AccessDenied):
        authenticate(trial.engine, "ivan", PASSWORD, totp_now(secret, at=NOW + 90), now=NOW + 90)
    later = NOW + LOCK_SECONDS + 120
    assert reauthenticate(trial.engine, "ivan", PASSWORD, totp_now(secret, at=later), now=later).username == "ivan"
