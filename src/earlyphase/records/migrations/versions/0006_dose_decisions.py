"""Dose-escalation decisions: the table ``dose_decisions`` (see ``earlyphase.records.tables.DoseDecision``).

A new table only; nothing existing changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dose_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("decision", sa.String(12), nullable=False),
        sa.Column("group_code", sa.String(10), nullable=True),
        sa.Column("level_opened", sa.String(10), nullable=True),
        sa.Column("level_closed", sa.String(10), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("investigator", sa.String(80), nullable=False),
        sa.Column("recommendation", sa.Text(), nullable=True),
        sa.Column("recommendation_text", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("signed_by", sa.String(80), nullable=True),
        sa.Column("signed_at", sa.String(32), nullable=True),
        sa.Column("signature_hash", sa.String(64), nullable=True),
        sa.Column("protocol_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dose_decisions"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("dose_decisions")
