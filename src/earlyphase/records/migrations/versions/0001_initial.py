"""Initial schema: sites, users, the study, patients and every case-report-form table, the audit log.

A frozen snapshot of ``earlyphase.records.tables`` at version 0.1.0: later schema changes are new
revisions, never edits to this one. The audit log is made append-only by triggers (UPDATE, DELETE
and, on PostgreSQL, TRUNCATE raise), so a slip in application code cannot rewrite history; someone
with owner rights on the database can still drop the triggers, which is why ``audit verify`` exists.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(table: str) -> list:
    return [sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")]


def _fk(table: str, column: str, parent: str, nullable: bool = False) -> list:
    return [
        sa.Column(column, sa.Integer(), nullable=nullable),
        sa.ForeignKeyConstraint([column], [f"{parent}.id"], name=f"fk_{table}_{column}_{parent}"),
    ]


# SQLite: AUTOINCREMENT so an id is never handed out again after a delete (the audit log names records by id).
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=f"uq_{table}_{'_'.join(columns)}")


def _create_audit_log() -> None:
    op.create_table(
        "audit_log",
        *_id("audit_log"),
        sa.Column("at_utc", sa.String(32), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("table_name", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(40), nullable=True),
        sa.Column("old_values", sa.Text(), nullable=True),
        sa.Column("new_values", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("software_version", sa.String(40), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        _unique("audit_log", "row_hash"),
        **NEVER_REUSE_IDS,
    )
    op.create_index("ix_audit_log_subject_id", "audit_log", ["subject_id"])
    op.create_index("ix_audit_log_table_name_record_id", "audit_log", ["table_name", "record_id"])


def _protect_audit_log() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} is not allowed'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def upgrade() -> None:
    _create_audit_log()
    _protect_audit_log()
    op.create_table(
        "queries",
        *_id("queries"),
        sa.Column("table_name", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(60), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("raised_by", sa.String(80), nullable=False),
        sa.Column("raised_at", sa.String(32), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(80), nullable=True),
        sa.Column("answered_at", sa.String(32), nullable=True),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "sites",
        *_id("sites"),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        _unique("sites", "code"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "study",
        *_id("study"),
        sa.Column("study_id", sa.String(40), nullable=False),
        sa.Column("protocol_yaml", sa.Text(), nullable=False),
        sa.Column("protocol_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(400), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        _unique("study", "study_id"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "patients",
        *_id("patients"),
        sa.Column("subject_id", sa.String(40), nullable=False),
        *_fk("patients", "site_id", "sites"),
        sa.Column("initials", sa.String(10), nullable=True),
        sa.Column("hospital_number", sa.String(40), nullable=True),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("ecog", sa.Integer(), nullable=False),
        sa.Column("child_pugh", sa.String(1), nullable=False),
        sa.Column("child_pugh_score", sa.Integer(), nullable=True),
        sa.Column("afp_ng_ml", sa.Float(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("transplant_date", sa.Date(), nullable=False),
        sa.Column("recurrence_date", sa.Date(), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=False),
        sa.Column("enrolment_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("withdrawal_date", sa.Date(), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        _unique("patients", "subject_id"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "users",
        *_id("users"),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=True),
        sa.Column("role", sa.String(40), nullable=False),
        *_fk("users", "site_id", "sites", nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _unique("users", "username"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "adverse_events",
        *_id("adverse_events"),
        *_fk("adverse_events", "patient_id", "patients"),
        sa.Column("term", sa.String(200), nullable=False),
        sa.Column("soc", sa.String(200), nullable=False),
        sa.Column("ctcae_version", sa.String(10), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("attribution", sa.String(20), nullable=False),
        sa.Column("onset", sa.String(16), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("dlt", sa.Boolean(), nullable=False),
        sa.CheckConstraint("grade BETWEEN 1 AND 5", name="ck_adverse_events_grade_1_to_5"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "allocations",
        *_id("allocations"),
        *_fk("allocations", "patient_id", "patients"),
        sa.Column("group_code", sa.String(10), nullable=False),
        sa.Column("allocation_date", sa.Date(), nullable=False),
        _unique("allocations", "patient_id"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "deaths",
        *_id("deaths"),
        *_fk("deaths", "patient_id", "patients"),
        sa.Column("death_date", sa.Date(), nullable=False),
        sa.Column("cause", sa.String(200), nullable=False),
        _unique("deaths", "patient_id"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "follow_ups",
        *_id("follow_ups"),
        *_fk("follow_ups", "patient_id", "patients"),
        sa.Column("contact_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        _unique("follow_ups", "patient_id", "contact_date"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "infusions",
        *_id("infusions"),
        *_fk("infusions", "patient_id", "patients"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("actual_date", sa.Date(), nullable=False),
        sa.Column("dose_cells", sa.Float(), nullable=False),
        sa.Column("dose_cells_per_kg", sa.Float(), nullable=True),
        sa.Column("lot", sa.String(60), nullable=True),
        sa.Column("deviation", sa.Text(), nullable=True),
        _unique("infusions", "patient_id", "number"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "other_therapies",
        *_id("other_therapies"),
        *_fk("other_therapies", "patient_id", "patients"),
        sa.Column("therapy", sa.String(60), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("new_anticancer", sa.Boolean(), nullable=False),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "protocol_deviations",
        *_id("protocol_deviations"),
        *_fk("protocol_deviations", "patient_id", "patients", nullable=True),
        sa.Column("deviation_date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(60), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_table", sa.String(40), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "tumour_assessments",
        *_id("tumour_assessments"),
        *_fk("tumour_assessments", "patient_id", "patients"),
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("modality", sa.String(20), nullable=False),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column("investigator_response", sa.String(4), nullable=True),
        _unique("tumour_assessments", "patient_id", "assessment_date"),
        **NEVER_REUSE_IDS,
    )
    op.create_table(
        "lesions",
        *_id("lesions"),
        *_fk("lesions", "assessment_id", "tumour_assessments"),
        sa.Column("lesion_label", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("location", sa.String(100), nullable=True),
        sa.Column("viable_diameter_mm", sa.Float(), nullable=True),
        sa.Column("status", sa.String(20), nullable=True),
        _unique("lesions", "assessment_id", "lesion_label"),
        **NEVER_REUSE_IDS,
    )


def downgrade() -> None:
    for table in (
        "lesions", "tumour_assessments", "protocol_deviations", "other_therapies", "infusions",
        "follow_ups", "deaths", "allocations", "adverse_events", "users", "patients", "study",
        "sites", "queries", "audit_log",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
