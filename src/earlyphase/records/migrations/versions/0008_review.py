"""Data review: e-signatures, locks and source-data verification flags (``earlyphase.records.review_tables``).

New tables only; nothing existing changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _patient(nullable: bool) -> list:
    return [sa.Column("patient_id", sa.Integer(), nullable=nullable)]


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(12), nullable=False),
        *_patient(False),
        sa.Column("form", sa.String(40), nullable=True),
        sa.Column("visit", sa.String(40), nullable=True),
        sa.Column("meaning", sa.String(40), nullable=False),
        sa.Column("signer", sa.String(80), nullable=False),
        sa.Column("printed_name", sa.String(200), nullable=False),
        sa.Column("signed_at", sa.String(32), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("signature_hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_signatures_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_signatures"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "data_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(12), nullable=False),
        *_patient(True),
        sa.Column("form", sa.String(40), nullable=True),
        sa.Column("visit", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("locked_by", sa.String(80), nullable=False),
        sa.Column("locked_at", sa.String(32), nullable=False),
        sa.Column("unlocked_by", sa.String(80), nullable=True),
        sa.Column("unlocked_at", sa.String(32), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_data_locks_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_data_locks"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "source_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        *_patient(False),
        sa.Column("form", sa.String(40), nullable=False),
        sa.Column("visit", sa.String(40), nullable=True),
        sa.Column("field", sa.String(40), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("verified_by", sa.String(80), nullable=False),
        sa.Column("verified_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_source_verifications_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_source_verifications"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("source_verifications")
    op.drop_table("data_locks")
    op.drop_table("signatures")
