"""Keying an audit log: on a new database, and re-keying one whose entries were chained before keys existed.

Re-keying rewrites every entry's ``prev_hash``/``row_hash`` as HMACs, so it first checks the chain as it
stands (plain SHA-256, or HMAC under the key in force): a broken chain is never re-keyed, which would
launder the break. The old head is kept in an ``audit_rekey`` event, so a hash recorded before
(``--known-hash``) still names the point the log had reached.
"""

from __future__ import annotations

from sqlalchemy import func, select, text

from earlyphase.errors import ConfigurationError
from earlyphase.records.audit import (GENESIS_HASH, HASHED_FIELDS, SYSTEM_USER, _chain_fields, _lock_chain,
                                     canonical_json, entry_hash, stored_fingerprint, utc_now)
from earlyphase.records.audit_guard import create_triggers, drop_triggers
from earlyphase.records.audit_key import AuditKey
from earlyphase.records.tables import AuditEntry, AuditKeyRecord

REKEY_EVENT = "audit_rekey"


def record_key(bind, key: AuditKey) -> None:
    """Store the fingerprint of ``key`` as the key in force."""
    count = bind.execute(select(func.count()).select_from(AuditEntry.__table__)).scalar()
    bind.execute(AuditKeyRecord.__table__.insert().values(
        fingerprint=key.fingerprint, created_at_utc=utc_now(), entries_at_creation=int(count)))


def rekey_log(bind, key: AuditKey, old_key: AuditKey | None = None) -> int:
    """Re-chain every entry with ``key`` and store its fingerprint; return the number of entries re-keyed.

    ``bind`` is a Connection inside the caller's transaction. The log as it stands must verify: under
    ``old_key`` if the database holds a fingerprint (it must be that key's), else as the plain chain.
    Raises ``ConfigurationError`` naming the first broken entry otherwise.
    """
    _lock_chain(bind)
    table = AuditEntry.__table__
    stored = stored_fingerprint(bind)
    if stored is not None and (old_key is None or old_key.fingerprint != stored):
        raise ConfigurationError("this audit log is keyed already: give its current key to re-key it")
    rows = [dict(r._mapping) for r in bind.execute(select(table).order_by(table.c.id))]
    prev = GENESIS_HASH
    for row in rows:
        current = old_key if stored is not None else None
        if row["prev_hash"] != prev or entry_hash(prev, row, current) != row["row_hash"]:
            raise ConfigurationError(
                f"the audit log is broken at entry {row['id']} (run 'earlyphase audit verify'): a broken chain "
                "is never re-keyed, that would hide the break"
            )
        prev = row["row_hash"]
    legacy_head = prev
    guarded = ("audit_log", "audit_keys") if bind.dialect.name == "sqlite" or _has_key_triggers(bind) \
        else ("audit_log",)
    drop_triggers(bind, guarded)
    prev = GENESIS_HASH
    for row in rows:
        row_hash = entry_hash(prev, {k: row.get(k) for k in HASHED_FIELDS}, key)
        bind.execute(table.update().where(table.c.id == row["id"]).values(prev_hash=prev, row_hash=row_hash))
        prev = row_hash
    create_triggers(bind, guarded)
    record_key(bind, key)
    if rows:
        fields = _chain_fields(bind, key, username=SYSTEM_USER, action="event", table_name=REKEY_EVENT,
                               record_id=0, subject_id=None, old_values=None,
                               new_values=canonical_json({"entries": len(rows), "head_before": legacy_head}),
                               reason="the audit log is keyed (HMAC-SHA256); hashes recorded before this "
                                      "point are listed as head_before")
        bind.execute(table.insert().values(**fields))
    return len(rows)


def _has_key_triggers(bind) -> bool:
    return bool(bind.execute(text(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('audit_keys') AND NOT tgisinternal")).first())
