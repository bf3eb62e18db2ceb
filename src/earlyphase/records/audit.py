"""The append-only, hash-chained audit log: writing entries.

Each entry's hash covers its own content and the previous entry's hash, so editing,
deleting or inserting any entry breaks the chain from that point on. Values are stored
as canonical JSON (sorted keys, ISO dates) so the hash is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from earlyphase.records.tables import AuditEntry, Base

GENESIS_HASH = "0" * 64
SYSTEM_USER = "system"


def software_version() -> str:
    from earlyphase import __version__

    return f"earlyphase {__version__}"


def utc_now() -> str:
    """The audit timestamp: UTC, ISO 8601 with microseconds (tests replace this to fix the clock)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


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


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and this entry's fields in a fixed order."""
    payload = json.dumps(
        [prev_hash]
        + [fields[k] for k in ("at_utc", "username", "action", "table_name", "record_id", "subject_id",
                               "old_values", "new_values", "reason", "software_version")],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    # Writers must append to the chain one at a time or two entries would share a parent.
    # SQLite: the engine opens every transaction with BEGIN IMMEDIATE, which already serialises writers.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))


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
    JSON-ready dicts (``row_values`` shape).
    """
    if action not in ("insert", "update", "delete"):
        raise ValueError(f"unknown audit action {action!r}")
    table = AuditEntry.__table__
    dialect = bind.dialect if hasattr(bind, "dialect") else bind.get_bind().dialect
    if dialect.name == "postgresql":  # one writer appends at a time (see _lock_chain)
        bind.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))
    last = bind.execute(select(table.c.row_hash).order_by(table.c.id.desc()).limit(1)).scalar()
    prev_hash = last or GENESIS_HASH
    fields = {
        "at_utc": utc_now(),
        "username": username,
        "action": action,
        "table_name": table_name,
        "record_id": int(record_id),
        "subject_id": subject_id,
        "old_values": canonical_json(old_values),
        "new_values": canonical_json(new_values),
        "reason": reason,
        "software_version": software_version(),
    }
    row_hash = entry_hash(prev_hash, fields)
    bind.execute(table.insert().values(**fields, prev_hash=prev_hash, row_hash=row_hash))
    return row_hash


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
    """
    if action not in ("insert", "update", "delete"):
        raise ValueError(f"unknown audit action {action!r}")
    session.flush()
    _lock_chain(session)
    if action != "delete":
        # Audit what the database holds, not what the caller's Python objects say (an int given
        # for a boolean, a date for a datetime...): the replay in audit verify compares exactly this.
        session.refresh(record)
    current = row_values(record)
    new_values = None if action == "delete" else current
    if action == "delete" and old_values is None:
        old_values = current
    last = session.execute(select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev_hash = last or GENESIS_HASH
    fields = {
        "at_utc": utc_now(),
        "username": username,
        "action": action,
        "table_name": record.__tablename__,
        "record_id": int(current["id"]),
        "subject_id": subject_id,
        "old_values": canonical_json(old_values),
        "new_values": canonical_json(new_values),
        "reason": reason,
        "software_version": software_version(),
    }
    entry = AuditEntry(**fields, prev_hash=prev_hash, row_hash=entry_hash(prev_hash, fields))
    session.add(entry)
    session.flush()
    return entry
