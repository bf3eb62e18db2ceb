"""A web session's close (logout, idle end) anchors the audit chain's head outside the database."""

from __future__ import annotations

from sqlalchemy import func, select
from web_helpers import csrf_of, log_in

from earlyphase.records import read_session
from earlyphase.records.audit import chain_key
from earlyphase.records.audit_anchor import read_anchors
from earlyphase.records.tables import AuditEntry


def _closes(engine):
    with read_session(engine) as session:
        key = chain_key(session)
        count = session.scalar(select(func.count()).select_from(AuditEntry))
        last = session.scalar(select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1))
        kinds = list(session.scalars(select(AuditEntry.table_name).where(AuditEntry.action == "event")
                                     .order_by(AuditEntry.id)))
    anchors, problems = read_anchors(engine, key)
    assert problems == []
    return [a for a in anchors if a.event == "session_close"], count, last, kinds


def test_logout_anchors_the_head_it_leaves(client, world):
    engine, _ = world
    log_in(client, "coordinator1")
    before, *_ = _closes(engine)
    token = csrf_of(client.get("/subjects").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    after, count, last, kinds = _closes(engine)
    assert len(after) == len(before) + 1 and kinds[-1] == "logout"
    # the anchor holds the head as it stood after the logout was audited, authenticated under the key
    assert (after[-1].entries, after[-1].last_hash, after[-1].authentic) == (count, last, True)


def test_an_idle_end_is_audited_and_anchored(world):
    from earlyphase.web.sessions import start_session, visitor_of

    engine, _ = world
    token = start_session(engine, 2, now=1000.0)
    before, *_ = _closes(engine)
    assert visitor_of(engine, token, now=1000.0 + 601, idle_seconds=600) is None
    after, count, last, kinds = _closes(engine)
    assert len(after) == len(before) + 1 and kinds[-1] == "session_expired"
    assert (after[-1].entries, after[-1].last_hash) == (count, last)


def test_a_login_sweeps_sessions_left_idle(world):
    from earlyphase.records.access_tables import WebSession
    from earlyphase.web.sessions import start_session

    engine, _ = world
    left = start_session(engine, 2, now=1000.0)
    start_session(engine, 3, now=1000.0 + 700, idle_seconds=600)  # someone else logs in later
    with read_session(engine) as session:
        ended = session.scalars(select(WebSession.ended).order_by(WebSession.id)).all()
    assert ended == [True, False] and left
    after, _, _, kinds = _closes(engine)
    assert kinds.count("session_expired") == 1 and after
