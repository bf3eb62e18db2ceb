"""Readers never take the write lock; writers still take turns."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from earlyphase.records import read_session, transaction, write_audit
from earlyphase.records.tables import SiteRecord

from records_helpers import add_audited


def count_sites(engine) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(SiteRecord))


def test_reader_does_not_wait_for_an_open_writer(engine):
    with transaction(engine) as writer:
        add_audited(writer, SiteRecord(code="A", name="Site A"))
        # The writer holds its lock (SQLite: BEGIN IMMEDIATE); a reader in another connection
        # neither blocks nor sees the uncommitted row.
        done = []
        reader = threading.Thread(target=lambda: done.append(count_sites(engine)))
        reader.start()
        reader.join(timeout=20)
        assert done == [0]
    assert count_sites(engine) == 1


def test_reader_sees_one_snapshot(engine):
    with transaction(engine) as s:
        add_audited(s, SiteRecord(code="A", name="Site A"))
    with read_session(engine) as reader:
        before = reader.scalar(select(func.count()).select_from(SiteRecord))
        with transaction(engine) as s:  # a writer commits while the reader is open
            add_audited(s, SiteRecord(code="B", name="Site B"))
        again = reader.scalar(select(func.count()).select_from(SiteRecord))
    assert before == again == 1
    assert count_sites(engine) == 2


def test_read_session_refuses_writes(engine):
    with pytest.raises(DBAPIError):
        with read_session(engine) as s:
            s.add(SiteRecord(code="X", name="no"))
            s.flush()
    # and the pooled connection writes again afterwards
    with transaction(engine) as s:
        add_audited(s, SiteRecord(code="Y", name="yes"))
    assert count_sites(engine) == 1


def test_writers_take_turns(engine):
    """A second writer waits until the first commits; both units of work land whole and chained."""
    first_committed = threading.Event()
    second_started_writing = []

    def second_writer():
        with transaction(engine) as s:
            add_audited(s, SiteRecord(code="B", name="Site B"))
            # the session begins at its first statement: by now it has passed the lock
            second_started_writing.append(first_committed.is_set())

    with transaction(engine) as s:
        add_audited(s, SiteRecord(code="A", name="Site A"))
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(timeout=0.5)  # give it every chance to jump the queue
        assert thread.is_alive()
        first_committed.set()
    thread.join(timeout=30)
    assert second_started_writing == [True]
    from earlyphase.records import verify_audit

    report = verify_audit(engine)
    assert report.ok and report.entries_checked == 2
