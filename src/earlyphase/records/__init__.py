"""earlyphase.records: the trial database (tables, engines, transactions, migrations) and the audit log.

Public API:
- ``make_engine(url_or_path, must_exist=False)``, ``database_url``: engines for SQLite files or PostgreSQL URLs.
- ``migrate(engine)``: create or upgrade the schema (Alembic, shipped in the package); ``current_revision``.
- ``transaction(engine)``: one unit of work (a Session; commit on success, rollback on error).
- ``read_session(engine)``: a read-only snapshot that never blocks writers.
- ``write_audit(session, action, record, username=..., reason=..., old_values=..., subject_id=...)``.
- ``row_values(record)``: a record's values as JSON data (pass as ``old_values`` before an update).
- ``verify_audit(engine) -> AuditReport``, ``patient_history(engine, subject_id) -> PatientHistory``.
"""

from earlyphase.records import tables
from earlyphase.records.audit import row_values, write_audit
from earlyphase.records.audit_verify import AuditReport, PatientHistory, patient_history, verify_audit
from earlyphase.records.database import database_url, make_engine, read_session, transaction
from earlyphase.records.migrate import current_revision, head_revision, migrate

__all__ = [
    "AuditReport",
    "PatientHistory",
    "current_revision",
    "database_url",
    "head_revision",
    "make_engine",
    "migrate",
    "patient_history",
    "read_session",
    "row_values",
    "tables",
    "transaction",
    "verify_audit",
    "write_audit",
]
