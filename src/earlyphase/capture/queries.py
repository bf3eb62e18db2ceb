"""Data queries: a question raised on a record (by a monitor) and its answer (by the site)."""

from __future__ import annotations

from datetime import datetime, timezone

from earlyphase.capture.checks import Checks
from earlyphase.capture.context import CaptureContext, ensure_user
from earlyphase.capture.corrections import CORRECTABLE, find_record, patient_of, record_fields
from earlyphase.capture.reasons import reason_for_change
from earlyphase.records.audit import row_values, write_audit
from earlyphase.records.tables import DataQuery


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def raise_query(ctx: CaptureContext, table: str, record_id: int, text: str, *, field: str | None = None) -> DataQuery:
    """Open a query on a record (optionally on one of its fields)."""
    checks = Checks(f"raise a query on {table} record {record_id}")
    record = find_record(ctx, checks, table, record_id)
    body = checks.text("text", text)
    field_name = checks.text("field", field, required=False, max_length=60)
    if field_name is not None and table in CORRECTABLE and record is not None:
        columns = set(row_values(record))
        if field_name not in columns and field_name not in record_fields(ctx, table, record):
            checks.fail("field", field_name, "field-known", f"{table} record {record.id} has no field {field_name}")
    checks.raise_if_failed()
    ensure_user(ctx)
    query = DataQuery(table_name=table, record_id=record.id, field=field_name, text=body, status="open",
                      raised_by=ctx.username, raised_at=_now())
    ctx.session.add(query)
    ctx.session.flush()
    patient = patient_of(ctx, record)
    write_audit(ctx.session, "insert", query, username=ctx.username,
                subject_id=patient.subject_id if patient else None)
    return query


def _open_query(ctx: CaptureContext, checks: Checks, query_id: int, want: tuple[str, ...]) -> DataQuery | None:
    number = checks.integer("query_id", query_id, low=1)
    query = ctx.session.get(DataQuery, number) if number is not None else None
    if number is not None and query is None:
        checks.fail("query_id", number, "query-known", f"there is no query {number}")
    elif query is not None and query.status not in want:
        checks.fail("query_id", number, "query-status", f"query {number} is {query.status}")
    return query


def _update(ctx: CaptureContext, query: DataQuery, old: dict, reason: str | None = None) -> DataQuery:
    ctx.session.flush()
    subject = None
    if query.table_name in CORRECTABLE:
        record = ctx.session.get(CORRECTABLE[query.table_name].model, query.record_id)
        patient = patient_of(ctx, record) if record is not None else None
        subject = patient.subject_id if patient else None
    write_audit(ctx.session, "update", query, username=ctx.username, old_values=old, reason=reason, subject_id=subject)
    return query


def answer_query(ctx: CaptureContext, query_id: int, answer: str) -> DataQuery:
    """Answer an open query (the data themselves are changed with ``correct_record``).

    The answer is the audit entry's reason for change, under the controlled list (``capture.reasons``):
    ``query answered`` unless it names another category (``"source document updated: ..."``); it must
    say something (a few words), as every reason must."""
    checks = Checks(f"answer query {query_id}")
    query = _open_query(ctx, checks, query_id, ("open",))
    text = checks.text("answer", answer)
    reason = reason_for_change(checks, text, "answer", default_category="query answered") if text is not None else None
    checks.raise_if_failed()
    ensure_user(ctx)
    old = row_values(query)
    query.answer, query.answered_by, query.answered_at, query.status = text, ctx.username, _now(), "answered"
    return _update(ctx, query, old, reason)


def close_query(ctx: CaptureContext, query_id: int, *, reason: str | None = None) -> DataQuery:
    """Close an open or answered query.

    ``reason`` is a reason for change from the controlled list (``"CATEGORY: detail"``); it may be left out
    only for a query that was answered, whose answer is then the reason kept in the audit trail."""
    checks = Checks(f"close query {query_id}")
    query = _open_query(ctx, checks, query_id, ("open", "answered"))
    why = None
    if reason is not None or (query is not None and query.status == "open"):
        why = reason_for_change(checks, reason)
    elif query is not None:
        why = reason_for_change(checks, query.answer, default_category="query answered")
    checks.raise_if_failed()
    ensure_user(ctx)
    old = row_values(query)
    query.status = "closed"
    return _update(ctx, query, old, why)
