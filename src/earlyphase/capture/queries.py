"""Data queries: a question raised on a record (by a monitor or data manager) and its answer (by the site).

Statuses: open -> answered -> closed, and closed -> open again (``reopen_query``, with a reason). A query
is closed by someone other than the person who answered it (two people see every resolution).
``query_list`` is the read side: queries by status, site and age in days, for the sites a user may see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.capture.checks import Checks
from earlyphase.capture.context import CaptureContext, ensure_user
from earlyphase.capture.corrections import CORRECTABLE, find_record, patient_of, record_fields
from earlyphase.capture.reasons import reason_for_change
from earlyphase.records.audit import row_values, write_audit
from earlyphase.records.tables import AuditEntry, DataQuery, Lesion, Patient, SiteRecord, TumourAssessment


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
    only for a query that was answered, whose answer is then the reason kept in the audit trail. The person
    who answered it does not close it."""
    checks = Checks(f"close query {query_id}")
    query = _open_query(ctx, checks, query_id, ("open", "answered"))
    why = None
    if reason is not None or (query is not None and query.status == "open"):
        why = reason_for_change(checks, reason)
    elif query is not None:
        why = reason_for_change(checks, query.answer, default_category="query answered")
    if query is not None and query.answered_by is not None and query.answered_by == ctx.username:
        checks.fail("username", ctx.username, "closer-not-answerer",
                    f"query {query.id} was answered by {ctx.username}; someone else (a data manager or monitor) "
                    "reviews the answer and closes it")
    checks.raise_if_failed()
    ensure_user(ctx)
    old = row_values(query)
    query.status = "closed"
    return _update(ctx, query, old, why)


def reopen_query(ctx: CaptureContext, query_id: int, reason: str) -> DataQuery:
    """Open a closed query again (the answer did not settle it); the reason is kept in the audit trail."""
    checks = Checks(f"reopen query {query_id}")
    query = _open_query(ctx, checks, query_id, ("closed",))
    why = reason_for_change(checks, reason, default_category="other")
    checks.raise_if_failed()
    ensure_user(ctx)
    old = row_values(query)
    query.status = "open"
    return _update(ctx, query, old, why)


QUERY_STATUSES = ("open", "answered", "closed")


@dataclass(frozen=True)
class QueryView:
    """A query as the lists show it; ``age_days`` counts from raising to ``today`` (to closing for a closed one
    is not kept: a closed query's age is still counted to today)."""

    id: int
    subject_id: str | None
    site: str | None
    table_name: str
    record_id: int
    field: str | None
    text: str
    status: str
    raised_by: str
    raised_at: str
    answer: str | None
    answered_by: str | None
    age_days: int

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def query_list(session: Session, sites: Any, today: date, *, status: str | None = None, site: str | None = None,
               min_age: int | None = None, subject_id: str | None = None, table: str | None = None,
               record_id: int | None = None) -> list[QueryView]:
    """Queries on records of patients at ``sites`` (a collection of codes, or anything containing every code),
    filtered by status (or ``unresolved``: open or answered), one site, a minimum age in days, a subject or a record; oldest first."""
    where = []
    if status == "unresolved":  # open or answered: what still needs someone
        where.append(DataQuery.status != "closed")
    elif status is not None:
        where.append(DataQuery.status == status)
    if table is not None:
        where.append(DataQuery.table_name == table)
    if record_id is not None:
        where.append(DataQuery.record_id == record_id)
    out = []
    codes = {i: c for i, c in session.execute(select(SiteRecord.id, SiteRecord.code))}
    for q in session.execute(select(DataQuery).where(*where).order_by(DataQuery.raised_at, DataQuery.id)).scalars():
        patient = _patient_of_query(session, q)
        code = codes.get(patient.site_id) if patient is not None else None
        if code is None or code not in sites or (site is not None and code != site):
            continue  # a query whose patient the user may not see is not read further
        if subject_id is not None and patient.subject_id != subject_id:
            continue
        # Never negative: a list judged "as of" a date before the query was raised (tests fix the date) says 0.
        age = max(0, (today - datetime.fromisoformat(q.raised_at).date()).days)
        if min_age is not None and age < min_age:
            continue
        out.append(QueryView(q.id, patient.subject_id, code, q.table_name, q.record_id, q.field, q.text, q.status,
                             q.raised_by, q.raised_at, q.answer, q.answered_by, age))
    return out


def _patient_of_query(session: Session, query: DataQuery) -> Patient | None:
    spec = CORRECTABLE.get(query.table_name)
    record = session.get(spec.model, query.record_id) if spec is not None else None
    if record is None:
        return None
    if isinstance(record, Patient):
        return record
    if isinstance(record, Lesion):
        assessment = session.get(TumourAssessment, record.assessment_id)
        return session.get(Patient, assessment.patient_id) if assessment else None
    return session.get(Patient, record.patient_id)


def query_history(session: Session, query_id: int) -> list[dict]:
    """The thread of one query from the audit trail: who did what, when, with the text and reason."""
    entries = session.execute(select(AuditEntry).where(AuditEntry.table_name == "queries",
                                                       AuditEntry.record_id == query_id).order_by(AuditEntry.id))
    out = []
    for e in entries.scalars():
        new = json.loads(e.new_values) if e.new_values else {}
        old = json.loads(e.old_values) if e.old_values else {}
        if e.action == "insert":
            step, words = "raised", new.get("text")
        elif new.get("status") == "answered" and old.get("status") != "answered":
            step, words = "answered", new.get("answer")
        elif new.get("status") == "closed":
            step, words = "closed", e.reason
        elif new.get("status") == "open" and old.get("status") == "closed":
            step, words = "reopened", e.reason
        else:
            step, words = "changed", e.reason
        out.append({"step": step, "by": e.username, "at": e.writer_at_utc or e.at_utc, "text": words})
    return out
