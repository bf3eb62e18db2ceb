"""People and access: credentials (argon2id hash, TOTP secret, lockout), role grants per site, web sessions.

Existing users (registered by name when they first wrote) get no credentials and no role: they
cannot log in until an admin gives them a password and a role (``earlyphase user reset-password``,
``user set-role``). Nothing in the data tables changes, so nothing is audited here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=True),
        sa.Column("password_set_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_user_credentials"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_credentials_user_id_users"),
        sa.UniqueConstraint("user_id", name="uq_user_credentials_user_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("granted_by", sa.String(80), nullable=False),
        sa.Column("granted_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_role_grants"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_role_grants_user_id_users"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_role_grants_site_id_sites"),
        sa.UniqueConstraint("user_id", "role", "site_id", name="uq_role_grants_user_id_role_site_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen_at", sa.Float(), nullable=False),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_web_sessions_user_id_users"),
        sa.UniqueConstraint("token_sha256", name="uq_web_sessions_token_sha256"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("role_grants")
    op.drop_table("user_credentials")
