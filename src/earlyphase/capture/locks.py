"""Locks on a form of a subject, a whole subject, or the whole database; changed only after an audited unlock.

``lock_data`` and ``unlock_data`` are the data manager's (the roles table's ``lock``); both are audited as
events naming the subject and the reason. ``refuse_if_locked`` is called by every write helper of capture
(insert, correction, deletion, value update, withdrawal), so a locked record cannot change through any
door: web pages, the CLI and imports all go through those helpers.
"""

from __future__ import annotations

from sqlalchemy import select

from earlyphase.capture.checks import Checks
from earlyphase.capture.common import known_patient
from earlyphase.capture.context import CaptureContext
from earlyphase.capture.review import CORE_FORM_TABLES, form_of_record
from earlyphase.errors import CheckFailed, Problem
from earlyphase.records.audit import utc_now, write_event
from earlyphase.records.review_tables import DataLock
from earlyphase.records.tables import Base, Patient, SiteRecord

LOCK_SCOPES = ("form", "subject", "database")


def require_role(ctx: CaptureContext, checks: Checks, action: str, site: str | None, what: str) -> None:
    """Refuse unless the acting user's roles allow ``action`` at ``site`` (None: at every site)."""
    from earlyphase.access.accounts import grants_of
    from earlyphase.access.roles import PERMISSIONS
    from earlyphase.access.scope import EVERY_SITE, sites_for
    from earlyphase.records.tables import UserRecord

    user = ctx.session.execute(select(UserRecord).where(UserRecord.username == ctx.username)).scalar_one_or_none()
    allowed = sites_for(grants_of(ctx.session, user.id), action) if user is not None and user.active else frozenset()
    if (allowed is not EVERY_SITE) if site is None else (site not in allowed):
        roles = " or ".join(sorted(PERMISSIONS[action]))
        where = "at every site" if site is None else f"at site {site}"
        checks.fail("username", ctx.username, "role", f"{what} needs the {roles} role {where}; {ctx.username} "
                    "does not hold it")


def site_of(ctx: CaptureContext, patient: Patient) -> str | None:
    site = ctx.session.get(SiteRecord, patient.site_id)
    return site.code if site else None


def active_locks(session, patient_id: int | None = None) -> list[DataLock]:
    """Locks in force: the database's, and (with ``patient_id``) that subject's and its forms'."""
    rows = session.execute(select(DataLock).where(DataLock.unlocked_at.is_(None)).order_by(DataLock.id)).scalars()
    return [r for r in rows if r.scope == "database" or (patient_id is not None and r.patient_id == patient_id)]


def describe_lock(lock: DataLock, subject_id: str | None) -> str:
    what = {"database": "the whole database",
            "subject": f"subject {subject_id}",
            "form": f"form {lock.form}" + (f" at visit {lock.visit}" if lock.visit else "") + f" of {subject_id}"}
    return (f"{what[lock.scope]} is locked (lock {lock.id}, by {lock.locked_by} at {lock.locked_at}: "
            f"{lock.reason})")


def lock_blocking(session, patient: Patient | None, form: str | None, visit: str | None) -> DataLock | None:
    """The lock in force that forbids writing a record of ``patient``'s ``form`` at ``visit``, or None."""
    for lock in active_locks(session, patient.id if patient is not None else None):
        if lock.scope in ("database", "subject"):
            return lock
        if lock.form == form and (lock.visit is None or lock.visit == visit):
            return lock
    return None


def refuse_if_locked(ctx: CaptureContext, record: Base, patient: Patient | None) -> None:
    """Raise ``CheckFailed`` naming the lock when ``record`` (new or changed) is covered by one.

    Called after the action's checks passed; the caller's transaction is rolled back with it, so
    nothing of the action is written.
    """
    form, visit = form_of_record(ctx.session, record)
    lock = lock_blocking(ctx.session, patient, form, visit)
    if lock is not None:
        subject = patient.subject_id if patient is not None else None
        raise CheckFailed([Problem(
            field="lock", value=lock.id, rule="locked",
            message=f"{describe_lock(lock, subject)}; nothing was written: a data manager unlocks it, "
                    "with a reason, before any change")])


def lock_data(ctx: CaptureContext, scope: str, reason: str, *, subject_id: str | None = None,
              form: str | None = None, visit: str | None = None) -> DataLock:
    """Lock a form of a subject (``form``, optionally at ``visit``), a subject, or the database."""
    checks = Checks(f"lock {scope}")
    kind = checks.choice("scope", scope, LOCK_SCOPES)
    why = checks.text("reason", reason, max_length=500)
    patient = None
    if kind in ("form", "subject"):
        patient = known_patient(ctx, checks, subject_id)
    elif subject_id is not None:
        checks.fail("subject_id", subject_id, "scope", "a database lock names no subject")
    form_name = visit_key = None
    if kind == "form":
        form_name = checks.text("form", form, max_length=40)
        visit_key = checks.text("visit", visit, required=False, max_length=40)
        if form_name is not None and form_name not in CORE_FORM_TABLES and form_name not in ctx.study.form_names:
            checks.fail("form", form_name, "form-known", f"the study has no form {form_name}")
    if kind is not None:
        require_role(ctx, checks, "lock", site_of(ctx, patient) if patient is not None else None,
                     f"locking {'the database' if kind == 'database' else 'a ' + kind}")
    if kind is not None and not checks:
        for lock in active_locks(ctx.session, patient.id if patient is not None else None):
            same = lock.scope == kind and lock.form == form_name and lock.visit == visit_key
            if same or lock.scope == "database" or (lock.scope == "subject" and kind == "form"):
                checks.fail("scope", kind, "not-locked", f"{describe_lock(lock, subject_id)} already")
                break
    checks.raise_if_failed()
    lock = DataLock(scope=kind, patient_id=patient.id if patient is not None else None, form=form_name,
                    visit=visit_key, reason=why, locked_by=ctx.username, locked_at=utc_now())
    ctx.session.add(lock)
    ctx.session.flush()
    write_event(ctx.session, "lock", ctx.username, {"lock": lock.id, "scope": kind, "form": form_name,
                                                    "visit": visit_key}, subject_id=subject_id, reason=why)
    return lock


def unlock_data(ctx: CaptureContext, lock_id: int, reason: str) -> DataLock:
    """End a lock (audited with the reason; the lock row keeps who unlocked it, when and why)."""
    checks = Checks(f"unlock {lock_id}")
    number = checks.integer("lock_id", lock_id, low=1)
    why = checks.text("reason", reason, max_length=500)
    lock = ctx.session.get(DataLock, number) if number is not None else None
    patient = ctx.session.get(Patient, lock.patient_id) if lock is not None and lock.patient_id else None
    if number is not None and lock is None:
        checks.fail("lock_id", number, "lock-known", f"there is no lock {number}")
    elif lock is not None and lock.unlocked_at is not None:
        checks.fail("lock_id", number, "locked", f"lock {number} was already ended by {lock.unlocked_by} at "
                    f"{lock.unlocked_at}")
    if lock is not None:
        require_role(ctx, checks, "lock", site_of(ctx, patient) if patient is not None else None, "unlocking")
    checks.raise_if_failed()
    lock.unlocked_by, lock.unlocked_at, lock.unlock_reason = ctx.username, utc_now(), why
    ctx.session.flush()
    write_event(ctx.session, "unlock", ctx.username, {"lock": lock.id, "scope": lock.scope, "form": lock.form,
                                                      "visit": lock.visit},
                subject_id=patient.subject_id if patient is not None else None, reason=why)
    return lock


def locks_in_force(session, sites) -> list[tuple[DataLock, str | None, str]]:
    """Locks in force as (lock, subject id or None, description), the database's and those of subjects at
    ``sites`` (a collection of site codes, or anything containing every code); no other site's subject."""
    codes = {i: c for i, c in session.execute(select(SiteRecord.id, SiteRecord.code))}
    out = []
    for lock in session.execute(select(DataLock).where(DataLock.unlocked_at.is_(None)).order_by(DataLock.id)).scalars():
        patient = session.get(Patient, lock.patient_id) if lock.patient_id is not None else None
        if patient is not None and codes.get(patient.site_id) not in sites:
            continue
        subject = patient.subject_id if patient is not None else None
        out.append((lock, subject, describe_lock(lock, subject)))
    return out
