"""The append-only, keyed hash-chained audit log: writing entries.

Each entry's hash is an HMAC-SHA256, keyed with a secret held outside the database
(``audit_key``), over its own content and the previous entry's hash: editing, deleting or
inserting any entry breaks the chain from that point on, and nobody with only database access
can append an entry that verifies. Values are stored as canonical JSON (sorted keys, ISO dates)
so the hash is the same on SQLite and PostgreSQL.

Entries written before revision 0004 (and by the upgrades up to it) were chained with plain
SHA-256; revision 0004 re-keys them when the key is supplied (see docs/audit.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import date, datetime, time, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from earlyphase.errors import ConfigurationError, InputError
from earlyphase.records.audit_key import AuditKey, find_key, where_keys_are_looked_for
from earlyphase.records.tables import AuditEntry, AuditKeyRecord, Base

GENESIS_HASH = "0" * 64
SYSTEM_USER = "system"

# What the plain SHA-256 chain (before revision 0004) covered, in order; the keyed chain adds the writer's clock.
LEGACY_FIELDS = ("at_utc", "username", "action", "table_name", "record_id", "subject_id",
                 "old_values", "new_values", "reason", "software_version")
HASHED_FIELDS = LEGACY_FIELDS + ("writer_at_utc",)
DATA_ACTIONS = ("insert", "update", "delete")
EVENT = "event"
_EVENT_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")


@lru_cache(maxsize=1)
def software_version() -> str:
    # Once per process: reading the package metadata costs milliseconds, and every audited write asks.
    from earlyphase import __version__

    return f"earlyphase {__version__}"


def utc_now() -> str:
    """The writer's clock: UTC, ISO 8601 with microseconds (tests replace this to fix the clock)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def server_now(bind) -> str:
    """The database server's clock (PostgreSQL ``clock_timestamp()``), same format as ``utc_now``.

    Taken inside the chain lock, so entries in id order carry server times that never go backwards,
    whatever the writers' clocks say. (Tests replace this to fix the clock.)
    """
    value = bind.execute(text("SELECT clock_timestamp()")).scalar()
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def row_values(record: Base) -> dict[str, Any]:
    """The record's column values as JSON-ready data (dates as ISO text)."""
    mapper = inspect(type(record))
    return {col.key: _plain(getattr(record, col.key)) for col in mapper.column_attrs}


def canonical_json(values: dict[str, Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps({k: _plain(v) for k, v in values.items()}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        # 5e9 and 5000000000.0 must hash the same whatever the backend returns.
        return int(value)
    return value


def entry_hash(prev_hash: str, fields: dict[str, Any], key: AuditKey | bytes | None = None) -> str:
    """The entry's hash over the previous hash and its fields in a fixed order.

    With ``key``: HMAC-SHA256 over ``HASHED_FIELDS`` (the chain since revision 0004). Without: the
    plain SHA-256 over ``LEGACY_FIELDS`` that earlier releases wrote (kept to read and re-key them).
    """
    names = LEGACY_FIELDS if key is None else HASHED_FIELDS
    payload = json.dumps([prev_hash] + [fields.get(k) for k in names], separators=(",", ":"),
                         ensure_ascii=False).encode("utf-8")
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    secret = key.secret if isinstance(key, AuditKey) else key
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def stored_fingerprint(bind) -> str | None:
    """The fingerprint of the key in force in this database (None when the log is not keyed)."""
    table = AuditKeyRecord.__table__
    return bind.execute(select(table.c.fingerprint).order_by(table.c.id.desc()).limit(1)).scalar()


def _engine_of(bind):
    bind = bind.get_bind() if isinstance(bind, Session) else bind
    return bind.engine


def chain_key(bind) -> AuditKey:
    """The key to append with: found outside the database, and the one whose fingerprint the database holds."""
    engine = _engine_of(bind)
    key = find_key(engine)
    where = engine.url.render_as_string(hide_password=True)
    stored = stored_fingerprint(bind)
    if stored is None:
        raise ConfigurationError(
            f"the audit log of {where} is not keyed yet (upgraded without its key): run "
            "'earlyphase audit rekey --db ... --key-file ...' first"
        )
    if key is None:
        raise ConfigurationError(
            f"no audit key for {where}: every write is chained with the key made at 'earlyphase init'; "
            f"give it with {where_keys_are_looked_for(engine)}"
        )
    if stored != key.fingerprint:
        raise ConfigurationError(
            f"the audit key from {key.source} is not this database's key (fingerprint {key.fingerprint[:16]}, "
            f"the database holds {stored[:16]}): give the key made for {where}"
        )
    return key


def _lock_chain(bind) -> None:
    # Writers must append to the chain one at a time or two entries would share a parent.
    # SQLite: the engine opens every transaction with BEGIN IMMEDIATE, which already serialises writers.
    if _engine_of(bind).dialect.name == "postgresql":
        bind.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))


def _chain_fields(bind, key: AuditKey | None, **content: Any) -> dict[str, Any]:
    """The entry's fields with its timestamps, previous hash and hash (called inside the chain lock)."""
    table = AuditEntry.__table__
    last = bind.execute(select(table.c.row_hash).order_by(table.c.id.desc()).limit(1)).scalar()
    prev_hash = last or GENESIS_HASH
    writer_clock = utc_now()
    postgresql = _engine_of(bind).dialect.name == "postgresql"
    fields = {
        "at_utc": server_now(bind) if postgresql else writer_clock,
        "writer_at_utc": writer_clock,
        **content,
        "software_version": software_version(),
    }
    if key is None:  # the plain chain of an upgrade running before revision 0004 (no writer_at_utc column yet)
        del fields["writer_at_utc"]
        fields["at_utc"] = writer_clock
    fields["prev_hash"] = prev_hash
    fields["row_hash"] = entry_hash(prev_hash, fields, key)
    return fields


def append_entry(
    bind,
    *,
    action: str,
    table_name: str,
    record_id: int,
    old_values: dict[str, Any] | None,
    new_values: dict[str, Any] | None,
    username: str = SYSTEM_USER,
    reason: str | None = None,
    subject_id: str | None = None,
) -> str:
    """Append one audit entry from plain values (no ORM record) and return its hash.

    For writers that work below the ORM: the schema upgrades (Alembic migrations) that move data
    audit what they move through this function, so the chain and the replay of ``audit verify``
    stay whole. ``bind`` is a Session or a Connection inside the writer's transaction; values are
    JSON-ready dicts (``row_values`` shape). An upgrade running before revision 0004 (no
    ``audit_keys`` table yet) appends to the plain chain, which 0004 then re-keys.
    """
    if action not in DATA_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    _lock_chain(bind)
    connection = bind.connection() if isinstance(bind, Session) else bind
    keyed = inspect(connection).has_table(AuditKeyRecord.__tablename__)
    fields = _chain_fields(
        bind, chain_key(bind) if keyed else None, username=username, action=action, table_name=table_name,
        record_id=int(record_id), subject_id=subject_id, old_values=canonical_json(old_values),
        new_values=canonical_json(new_values), reason=reason,
    )
    bind.execute(AuditEntry.__table__.insert().values(**fields))
    return fields["row_hash"]


def write_audit(
    session: Session,
    action: str,
    record: Base,
    *,
    username: str,
    reason: str | None = None,
    old_values: dict[str, Any] | None = None,
    subject_id: str | None = None,
) -> AuditEntry:
    """Append one audit entry for ``record`` (already flushed, so it has its id).

    ``action`` is insert / update / delete. For an update pass the values before the change
    as ``old_values`` (``row_values(record)`` taken before editing); for a delete call it after
    ``session.delete(record)``: the record's values are taken as the old values. ``subject_id``
    is the patient the record belongs to (also for child rows such as lesions), for
    ``audit log PATIENT``. Must run inside the same ``transaction()`` as the change it records.
    Raises ``ConfigurationError`` when the audit key is missing or is not this database's.
    """
    if action not in DATA_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.flush()
    _lock_chain(session)
    key = chain_key(session)
    if action != "delete":
        # Audit what the database holds, not what the caller's Python objects say (an int given
        # for a boolean, a date for a datetime...): the replay in audit verify compares exactly this.
        session.refresh(record)
    current = row_values(record)
    new_values = None if action == "delete" else current
    if action == "delete" and old_values is None:
        old_values = current
    fields = _chain_fields(
        session, key, username=username, action=action, table_name=record.__tablename__,
        record_id=int(current["id"]), subject_id=subject_id, old_values=canonical_json(old_values),
        new_values=canonical_json(new_values), reason=reason,
    )
    entry = AuditEntry(**fields)
    session.add(entry)
    session.flush()
    return entry


def write_event(
    session: Session,
    kind: str,
    user: str,
    detail: str | dict[str, Any] | None = None,
    *,
    subject_id: str | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append an event to the audit log: something that happened but changed no record.

    ``kind`` is a short lowercase name (``login``, ``identified_export``, ``report_build``...: letters,
    digits and ``_``, at most 40); ``user`` who did it; ``detail`` a sentence or JSON-ready dict
    (what was exported, where, the file's SHA-256...). The entry is chained and keyed like every
    other (``action = 'event'``, ``table_name = kind``, ``record_id = 0``) and ``audit verify``
    checks it but does not replay it. Runs inside the caller's ``transaction()``.
    """
    problems = []
    if not isinstance(kind, str) or not _EVENT_KIND.fullmatch(kind):
        problems.append(("kind", kind, "event-kind",
                         "an event kind is 1 to 40 lowercase letters, digits or '_', starting with a letter"))
    elif kind in Base.metadata.tables:  # readers find a record's entries by table name
        problems.append(("kind", kind, "event-kind", "an event kind must not be the name of a table"))
    if not isinstance(user, str) or not user.strip() or len(user) > 80 or any(c in user for c in "\r\n\t\0"):
        problems.append(("user", user, "username", "every event is attributed to a person: a user name of 1 "
                                                   "to 80 characters on one line"))
    if detail is not None and not isinstance(detail, (str, dict)):
        problems.append(("detail", detail, "event-detail", "give the detail as a sentence or a dict"))
    if problems:
        from earlyphase.errors import Problem

        raise InputError([Problem(*p) for p in problems], summary=f"cannot write the {kind!r} event")
    values = {"detail": detail} if isinstance(detail, str) else dict(detail or {})
    try:
        new_values = canonical_json(values)
    except (TypeError, ValueError) as exc:
        raise InputError.single("detail", str(values)[:80], "event-detail",
                                f"the detail must be JSON data: {exc}") from None
    _lock_chain(session)
    key = chain_key(session)
    fields = _chain_fields(session, key, username=user, action=EVENT, table_name=kind, record_id=0,
                           subject_id=subject_id, old_values=None, new_values=new_values, reason=reason)
    entry = AuditEntry(**fields)
    session.add(entry)
    session.flush()
    return entry
