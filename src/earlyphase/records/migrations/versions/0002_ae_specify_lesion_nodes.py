"""Adverse events: the verbatim term of an "Other, specify" event. Lesions: lymph-node flag and short axis.

- ``adverse_events.term_specify`` (text, empty for every term but a SOC's "Other, specify" term);
- ``lesions.node`` (true for a lymph node; existing lesions become non-nodal) and ``lesions.short_axis_mm``
  (a node's short axis, which RECIST 1.1 measures instead of the longest diameter).

Existing rows keep their values; the new columns hold their defaults (empty / false), which ``audit verify``
accepts for audit entries written before the columns existed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite rebuilds a table to drop a column: keep AUTOINCREMENT so ids are never reused.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.add_column("adverse_events", sa.Column("term_specify", sa.String(200), nullable=True))
    op.add_column("lesions", sa.Column("node", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("lesions", sa.Column("short_axis_mm", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lesions", table_kwargs=NEVER_REUSE_IDS) as batch:
        batch.drop_column("short_axis_mm")
        batch.drop_column("node")
    with op.batch_alter_table("adverse_events", table_kwargs=NEVER_REUSE_IDS) as batch:
        batch.drop_column("term_specify")
