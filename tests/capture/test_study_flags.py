"""Marking the study synthetic: one audited update through capture, reason required."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from capture_helpers import rules
from earlyphase.errors import CheckFailed
from earlyphase.records import read_session, verify_audit
from earlyphase.records.tables import AuditEntry, StudyRecord


def _study_entries(trial):
    with read_session(trial.engine) as s:
        return s.execute(select(AuditEntry).where(AuditEntry.table_name == "study")
                         .order_by(AuditEntry.id)).scalars().all()


def test_mark_study_synthetic_is_audited_once(trial):
    record = trial.mark_study_synthetic("twin loaded")
    assert record.synthetic is True
    trial.mark_study_synthetic("again")  # already synthetic: nothing more written
    entries = _study_entries(trial)
    assert [e.action for e in entries] == ["insert", "update"]
    assert entries[1].reason == "twin loaded"
    assert json.loads(entries[1].old_values)["synthetic"] is False
    assert json.loads(entries[1].new_values)["synthetic"] is True
    with read_session(trial.engine) as s:
        assert s.execute(select(StudyRecord.synthetic)).scalar_one() is True
    assert verify_audit(trial.engine).ok


def test_mark_study_synthetic_needs_a_reason(trial):
    with pytest.raises(CheckFailed) as info:
        trial.mark_study_synthetic("  ")
    assert rules(info.value) == ["required"]
    assert [e.action for e in _study_entries(trial)] == ["insert"]
