"""Data queries: raise, answer, close; audited against the patient."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from capture_helpers import rules
from earlyphase.access import add_user
from earlyphase.capture import Trial
from earlyphase.errors import CheckFailed
from earlyphase.records import transaction
from earlyphase.records.tables import AuditEntry


def test_query_cycle(treated):
    q = treated.raise_query("administrations", 1, "Dose matches the pharmacy log?", field="dose")
    assert q.status == "open" and q.raised_by == "tester"
    add_user(treated.engine, "cora", "correct horse battery", roles=["coordinator@ALL"], actor="tester")
    site = Trial(treated.engine, treated.study, "cora", today=treated.today)
    q = site.answer_query(q.id, "yes, checked")
    assert q.status == "answered" and q.answer == "yes, checked"
    q = treated.close_query(q.id)
    assert q.status == "closed"
    with pytest.raises(CheckFailed) as info:
        treated.answer_query(q.id, "answered a second time")
    assert rules(info.value) == ["query-status"]
    with transaction(treated.engine) as s:
        entries = s.execute(select(AuditEntry).where(AuditEntry.table_name == "queries")).scalars().all()
    assert [e.action for e in entries] == ["insert", "update", "update"]
    assert {e.subject_id for e in entries} == {"P01"}


@pytest.mark.parametrize("table, record_id, text, field, rule", [
    ("administrations", 42, "?", None, "record-known"),
    ("nonsense", 1, "?", None, "table-known"),
    ("administrations", 1, "", None, "required"),
    ("administrations", 1, "?", "colour", "field-known"),
])
def test_raise_query_rejects(treated, table, record_id, text, field, rule):
    with pytest.raises(CheckFailed) as info:
        treated.raise_query(table, record_id, text, field=field)
    assert rule in rules(info.value)


def test_answer_unknown_query(treated):
    with pytest.raises(CheckFailed) as info:
        treated.answer_query(7, "no such query here")
    assert rules(info.value) == ["query-known"]


def test_answers_and_closures_carry_a_controlled_reason(treated):
    q = treated.raise_query("administrations", 1, "Dose matches the pharmacy log?", field="dose")
    with pytest.raises(CheckFailed) as info:
        treated.answer_query(q.id, "ok")  # says nothing
    assert rules(info.value) == ["reason-for-change"]
    add_user(treated.engine, "cora", "correct horse battery", roles=["coordinator@ALL"], actor="tester")
    site = Trial(treated.engine, treated.study, "cora", today=treated.today)  # the answerer does not close
    site.answer_query(q.id, "source document updated: pharmacy log re-read")
    treated.close_query(q.id)
    open_one = treated.raise_query("administrations", 1, "Lot number legible?", field="lot")
    with pytest.raises(CheckFailed) as info:
        treated.close_query(open_one.id)  # an unanswered query is closed only with a reason
    assert rules(info.value) == ["required"]
    with pytest.raises(CheckFailed) as info:
        treated.close_query(open_one.id, reason="raised by mistake on this record")
    assert rules(info.value) == ["reason-category"] and "data-entry error" in str(info.value)
    treated.close_query(open_one.id, reason="other: raised by mistake on this record")
    with transaction(treated.engine) as s:
        reasons = [e.reason for e in s.execute(select(AuditEntry).where(AuditEntry.table_name == "queries",
                                                                        AuditEntry.action == "update")
                                               .order_by(AuditEntry.id)).scalars()]
    assert reasons == ["source document updated: pharmacy log re-read", "source document updated: pharmacy log re-read",
                       "other: raised by mistake on this record"]
