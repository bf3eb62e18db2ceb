"""Re-authentication checked where signatures are made: capture, not only the door that asked for it.

A door (web, CLI) calls ``access.reauthenticate`` (password and TOTP code re-entered, counted towards
lockout, audited as a ``reauthenticated`` event) and hands the result to the signing action. The action
then checks, in its own transaction, that the audit log holds that event for the acting user, recent
(``REAUTH_SECONDS``) and not yet spent on another signature, and that the user holds the role the
signature needs. A door cannot sign by skipping the re-authentication; a proof cannot be reused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from earlyphase.access import may
from earlyphase.access.accounts import grants_of
from earlyphase.capture.checks import Checks
from earlyphase.capture.context import CaptureContext
from earlyphase.records import audit
from earlyphase.records.tables import AuditEntry, StudyRecord, UserRecord

# A signature follows its re-authentication within this many seconds (the signing page, submitted).
REAUTH_SECONDS = 5 * 60


def spent_reason(event_id: int) -> str:
    """The audit reason a signature writes; it marks the re-authentication event as used."""
    return f"sealed by the investigator, re-authenticated (audit entry {event_id})"


def study_is_synthetic(ctx: CaptureContext) -> bool:
    return bool(ctx.session.execute(select(StudyRecord.synthetic)).scalar())


def check_reauthentication(ctx: CaptureContext, checks: Checks, proof, action: str, table: str) -> int | None:
    """Check ``proof`` (what ``access.reauthenticate`` returned) for the acting user and ``action``; return
    the id of the audit event it names.

    A study marked synthetic (invented patients, loaded by a program) is sealed without one: no person signs.
    """
    if proof is None and study_is_synthetic(ctx):
        return None
    event_id = getattr(proof, "event_id", None)
    if proof is None or not isinstance(event_id, int):
        checks.fail("reauthentication", None, "reauthenticated",
                    f"{ctx.username} must re-enter password and second-factor code to sign")
        return None
    entry = ctx.session.get(AuditEntry, event_id)
    if (entry is None or entry.action != "event" or entry.table_name != "reauthenticated"
            or entry.username != ctx.username):
        checks.fail("reauthentication", event_id, "reauthenticated",
                    f"there is no re-authentication of {ctx.username} in audit entry {event_id}")
        return None
    # the writer's clock on both sides (on PostgreSQL at_utc is the server's)
    age = (datetime.fromisoformat(audit.utc_now()) - datetime.fromisoformat(entry.writer_at_utc or entry.at_utc)
           ).total_seconds()
    if age > REAUTH_SECONDS:
        checks.fail("reauthentication", event_id, "reauthenticated-recently",
                    f"the re-authentication is {int(age)} s old (at most {REAUTH_SECONDS} s): enter password and "
                    "code again")
    spent = ctx.session.execute(select(AuditEntry.id).where(
        AuditEntry.table_name == table, AuditEntry.reason == spent_reason(event_id)).limit(1)).scalar()
    if spent is not None:
        checks.fail("reauthentication", event_id, "reauthentication-once",
                    "this re-authentication was used for another signature: enter password and code again")
    user = ctx.session.execute(select(UserRecord).where(UserRecord.username == ctx.username)).scalar_one_or_none()
    if user is None or not user.active or not may(grants_of(ctx.session, user.id), action):
        checks.fail("username", ctx.username, "role-signs",
                    f"{ctx.username} does not hold a role that may sign this ({action})")
    return event_id
