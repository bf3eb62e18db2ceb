"""Accounts: add, grant/revoke, disable, reset; every change audited, never a secret in the log."""

from __future__ import annotations

import pytest
from access_helpers import PASSWORD
from sqlalchemy import select

from earlyphase.access import AccessDenied, add_user, disable_user, reset_password, set_role, show_user
from earlyphase.errors import Duplicate, InputError, NotFound
from earlyphase.records import read_session, verify_audit
from earlyphase.records.access_tables import RoleGrant, UserCredential
from earlyphase.records.tables import AuditEntry


def _log(engine):
    with read_session(engine) as s:
        return list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


def test_add_user_hashes_the_password_and_audits_without_secrets(trial):
    engine = trial.engine
    account = add_user(engine, "ana", PASSWORD, roles=["admin@ALL"], actor="founder")
    assert account.grants[0].role == "admin" and account.grants[0].site == "ALL"
    assert account.has_password and not account.has_totp and account.totp_secret is None
    with read_session(engine) as s:
        stored = s.execute(select(UserCredential.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    entries = _log(engine)
    kinds = [(e.action, e.table_name) for e in entries[-3:]]
    assert kinds == [("insert", "users"), ("event", "role_granted"), ("event", "credentials_set")]
    assert all(e.username == "founder" for e in entries[-3:])
    assert not any(PASSWORD in (e.new_values or "") or "$argon2" in (e.new_values or "") for e in entries)
    assert verify_audit(engine).ok


def test_a_signer_always_gets_a_second_factor(trial):
    account = add_user(trial.engine, "ivan", PASSWORD, roles=["investigator@S01"], actor="founder")
    assert account.has_totp and account.totp_secret and account.totp_uri.startswith("otpauth://")
    assert show_user(trial.engine, "ivan").totp_secret is None  # shown once only


def test_once_an_admin_exists_only_admins_manage(trial):
    add_user(trial.engine, "ana", PASSWORD, roles=["admin@ALL"], actor="founder")
    with pytest.raises(AccessDenied, match="only an active admin"):
        add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="ana")
    with pytest.raises(AccessDenied):
        set_role(trial.engine, "cora", "coordinator@S02", actor="cora")


def test_set_role_grants_and_revokes_per_site(trial):
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    account = set_role(trial.engine, "cora", "monitor@S02", actor="founder")
    assert {str(g) for g in account.grants} == {"coordinator@S01", "monitor@S02"}
    account = set_role(trial.engine, "cora", "coordinator@S01", actor="founder", revoke=True)
    assert [str(g) for g in account.grants] == ["monitor@S02"]
    assert [e.table_name for e in _log(trial.engine)[-2:]] == ["role_granted", "role_revoked"]
    with pytest.raises(NotFound, match="does not hold"):
        set_role(trial.engine, "cora", "coordinator@S01", actor="founder", revoke=True)
    # granting a signing role to a user without a second factor makes one
    account = set_role(trial.engine, "cora", "investigator@S02", actor="founder")
    assert account.totp_secret is not None


@pytest.mark.parametrize("grant,rule", [("coordinator", "role-at-site"), ("wizard@S01", "role"),
                                        ("coordinator@S99", "known-site"), ("coordinator@", "site"),
                                        ("a@b@c", "role-at-site")])
def test_bad_grants_are_refused_and_nothing_is_written(trial, grant, rule):
    before = len(_log(trial.engine))
    with pytest.raises(InputError) as err:
        add_user(trial.engine, "cora", PASSWORD, roles=[grant], actor="founder")
    assert err.value.problems[0].rule == rule
    assert len(_log(trial.engine)) == before
    with read_session(trial.engine) as s:
        assert s.execute(select(RoleGrant)).first() is None


@pytest.mark.parametrize("name", ["", "a", "1abc", "ana smith", "<script>", "x" * 41, "robert'); drop table users;--"])
def test_bad_user_names_are_refused(trial, name):
    with pytest.raises(InputError, match="user name"):
        add_user(trial.engine, name, PASSWORD, roles=["coordinator@S01"], actor="founder")


@pytest.mark.parametrize("password,why", [("", "give a password"), ("short", "at least 12"),
                                          (" padded password ", "space"), ("tab\tinside pw!", "control")])
def test_weak_passwords_are_refused_without_echoing_them(trial, password, why):
    with pytest.raises(InputError, match=why) as err:
        add_user(trial.engine, "cora", password, roles=["coordinator@S01"], actor="founder")
    assert err.value.problems[0].value == "(hidden)"


def test_no_role_is_refused(trial):
    with pytest.raises(InputError, match="at least one --role"):
        add_user(trial.engine, "cora", PASSWORD, roles=[], actor="founder")


def test_duplicate_user_is_refused(trial):
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    with pytest.raises(Duplicate):
        add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")


def test_a_user_known_by_name_gets_credentials(trial):
    # 'founder' was registered when it initialised the database, without credentials.
    account = add_user(trial.engine, "founder", PASSWORD, roles=["admin@ALL"], actor="founder")
    assert account.has_password and "created" not in account.changed


def test_disable_and_reset(trial):
    add_user(trial.engine, "cora", PASSWORD, roles=["coordinator@S01"], actor="founder")
    assert not disable_user(trial.engine, "cora", actor="founder").active
    assert disable_user(trial.engine, "cora", actor="founder").changed == ("already disabled",)
    account = reset_password(trial.engine, "cora", PASSWORD + "!", actor="founder", new_totp=True)
    assert account.totp_secret and "password reset" in account.changed[0]
    with pytest.raises(NotFound):
        reset_password(trial.engine, "nobody", PASSWORD, actor="founder")
    assert verify_audit(trial.engine).ok
