"""Signing a dose-escalation decision in tests as a real investigator would: an account with a password and
TOTP, then password and code re-entered (``access.reauthenticate``) before each seal."""

from __future__ import annotations

import time

from sqlalchemy import select

from known_users import add_users

from earlyphase.access import add_user, reauthenticate
from earlyphase.access.totp import STEP_SECONDS, totp_now
from earlyphase.records import transaction
from earlyphase.records.access_tables import UserCredential
from earlyphase.records.tables import UserRecord

PASSWORD = "correct horse battery"
_steps: dict[tuple[int, str], int] = {}


def investigator_account(engine, username: str, password: str = PASSWORD) -> str:
    """``username`` as investigator@ALL with a password and TOTP (made once per database); its TOTP secret."""
    with transaction(engine) as session:
        found = session.execute(select(UserCredential.totp_secret).join(UserRecord, UserRecord.id == UserCredential.user_id)
                                .where(UserRecord.username == username)).scalar_one_or_none()
    if found:
        return found
    add_users(engine, username)  # every actor is a known user: the founder makes the account, they add credentials
    return add_user(engine, username, password, roles=["investigator@ALL"], actor=username).totp_secret


def proof_for(engine, username: str, secret: str, password: str = PASSWORD):
    """Re-authenticate ``username``; each call uses a later TOTP step than the last (codes are accepted once)."""
    key = (id(engine), username)
    _steps[key] = _steps.get(key, 0) + 1
    moment = time.time() + _steps[key] * STEP_SECONDS
    return reauthenticate(engine, username, password, totp_now(secret, at=moment), now=moment)


def sign(trial, decision_id: int):
    """Seal ``decision_id`` as ``trial``'s user (made an investigator with credentials when needed)."""
    secret = investigator_account(trial.engine, trial.username)
    return trial.sign_dose_decision(decision_id, proof_for(trial.engine, trial.username, secret))
