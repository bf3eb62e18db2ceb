"""earlyphase.records: the trial database (tables, engines, transactions) and the audit log."""

from earlyphase.records.audit import write_audit
from earlyphase.records.database import database_url, make_engine, transaction
from earlyphase.records import tables

__all__ = ["database_url", "make_engine", "tables", "transaction", "write_audit"]
