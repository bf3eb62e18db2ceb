"""A keyed audit chain: entries hashed with HMAC-SHA256 under a key held outside the database, the
key's fingerprint in ``audit_keys`` (append-only, like the log), and the writer's clock kept beside the
timestamp (which on PostgreSQL now comes from the server).

What it does to a database that already holds entries (they were chained with plain SHA-256):

- with the key supplied (``EARLYPHASE_AUDIT_KEY``, ``EARLYPHASE_AUDIT_KEY_FILE``, a key given in code,
  or the key file at its default place), the whole log is re-keyed in this transaction, after
  checking that its plain chain is intact, and an ``audit_rekey`` event keeps the old head hash;
- without it, the log stays as it was and ``audit verify`` reports it as not keyed until
  ``earlyphase audit rekey`` is run with the key; writers refuse until then.

A new database (no entry yet) gets its key here: created at its default place when none is found
(beside a SQLite file; ``~/.config/earlyphase/audit/`` for PostgreSQL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    from earlyphase.errors import ConfigurationError
    from earlyphase.records.audit_guard import create_triggers
    from earlyphase.records.audit_key import find_key, find_or_create_key
    from earlyphase.records.audit_rekey import record_key, rekey_log

    op.add_column("audit_log", sa.Column("writer_at_utc", sa.String(32), nullable=True))
    op.create_table(
        "audit_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at_utc", sa.String(32), nullable=False),
        sa.Column("entries_at_creation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_keys"),
        sqlite_autoincrement=True,
    )
    conn = op.get_bind()
    create_triggers(conn, ("audit_keys",))
    entries = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar()
    if not entries:
        record_key(conn, find_or_create_key(conn.engine))
        return
    key = find_key(conn.engine)
    if key is None:
        log.warning("the audit log (%d entries) is left unkeyed: no audit key was supplied; run "
                    "'earlyphase audit rekey' with the key", entries)
        return
    try:
        rekey_log(conn, key)
    except ConfigurationError as exc:  # a broken chain is left as it is, for 'audit verify' to show
        log.warning("the audit log is left unkeyed: %s", exc)


def downgrade() -> None:
    """Back to the plain SHA-256 chain (an owner's operation: the chain is recomputed without the key)."""
    from earlyphase.records.audit import GENESIS_HASH, entry_hash
    from earlyphase.records.audit_guard import create_triggers, drop_triggers

    conn = op.get_bind()
    drop_triggers(conn, ("audit_log", "audit_keys"))
    op.drop_table("audit_keys")
    rows = conn.execute(sa.text("SELECT * FROM audit_log ORDER BY id")).mappings().all()
    prev = GENESIS_HASH
    for row in rows:
        row_hash = entry_hash(prev, dict(row))
        conn.execute(sa.text("UPDATE audit_log SET prev_hash = :p, row_hash = :h WHERE id = :id"),
                     {"p": prev, "h": row_hash, "id": row["id"]})
        prev = row_hash
    with op.batch_alter_table("audit_log", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("writer_at_utc")
    if conn.dialect.name == "sqlite":  # the batch rebuilt the table without its triggers
        drop_triggers(conn, ("audit_log",))
    create_triggers(conn, ("audit_log",))
