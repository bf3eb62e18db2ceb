"""audit verify: the hash chain names the first broken entry; the replay names data changed behind its back."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from earlyphase.records import patient_history, read_session, verify_audit
from earlyphase.records.audit import GENESIS_HASH, entry_hash
from earlyphase.records.audit_key import find_key
from earlyphase.records.audit_verify import (
    ANCHOR_BROKEN, CHAIN_BROKEN, CHANGED, MISSING, RESURRECTED, TIME_BACKWARDS, TRIGGERS, UNAUDITED, HASHED_FIELDS,
)
from earlyphase.records.tables import AuditEntry

from records_helpers import allow_tampering, raw_sql


def entries(engine) -> list[AuditEntry]:
    with read_session(engine) as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def kinds(report) -> list[str]:
    """The findings' kinds, but for the dropped triggers (allow_tampering): test_dropped_triggers_are_named."""
    return [f.kind for f in report.findings if f.kind != TRIGGERS]


def test_clean_database_verifies(sample_trial):
    engine, _ = sample_trial
    report = verify_audit(engine)
    assert report.ok, report.summary()
    assert report.chain_ok and report.first_broken_entry is None
    log = entries(engine)
    assert report.entries_checked == len(log) == 9
    assert report.last_hash == log[-1].row_hash
    # site, 2 patients, 1 AE left, assessment, lesion
    assert report.records_checked == 6
    assert json.loads(json.dumps(report.to_dict()))["ok"] is True
    assert "OK: no finding" in report.summary()


def test_empty_database_verifies(engine):
    report = verify_audit(engine)
    assert report.ok and report.entries_checked == 0 and report.last_hash == GENESIS_HASH


def test_dropped_triggers_are_named(sample_trial):
    engine, _ = sample_trial
    allow_tampering(engine)
    report = verify_audit(engine)
    assert not report.ok and report.chain_ok
    names = ["audit_log_no_update", "audit_log_no_delete"] if engine.dialect.name == "sqlite" \
        else ["audit_log_no_update_delete"]
    assert [f.kind for f in report.findings] == [TRIGGERS] * len(names)
    assert all(n in f.message and "missing" in f.message for n, f in zip(names, report.findings))
    assert "trigger problem(s)" in report.summary()


def test_chain_links_every_entry_to_the_one_before(sample_trial):
    engine, _ = sample_trial
    log = entries(engine)
    assert log[0].prev_hash == GENESIS_HASH
    for before, after in zip(log, log[1:]):
        assert after.prev_hash == before.row_hash
    key = find_key(engine)
    for e in log:
        fields = {k: getattr(e, k) for k in HASHED_FIELDS}
        assert entry_hash(e.prev_hash, fields, key) == e.row_hash
        assert entry_hash(e.prev_hash, fields) != e.row_hash  # keyed: the plain SHA-256 does not match


def test_audit_log_rejects_update_and_delete(sample_trial):
    engine, _ = sample_trial
    with pytest.raises(DBAPIError, match="append-only"):
        raw_sql(engine, "UPDATE audit_log SET username = 'mallory' WHERE id = 3")
    with pytest.raises(DBAPIError, match="append-only"):
        raw_sql(engine, "DELETE FROM audit_log WHERE id = 3")
    assert verify_audit(engine).ok


def test_edited_entry_is_named(sample_trial):
    engine, _ = sample_trial
    allow_tampering(engine)
    raw_sql(engine, "UPDATE audit_log SET username = 'mallory' WHERE id = 4")
    report = verify_audit(engine)
    assert not report.ok and not report.chain_ok
    assert report.first_broken_entry == 4
    assert kinds(report) == [CHAIN_BROKEN]
    assert "audit entry 4" in report.summary() and "edited" in report.findings[0].message


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(sample_trial):
    """Even someone holding the key who re-hashes an edited entry breaks the link from the next one."""
    engine, _ = sample_trial
    allow_tampering(engine)
    target = entries(engine)[4]
    fields = {k: getattr(target, k) for k in HASHED_FIELDS} | {"username": "mallory"}
    raw_sql(engine, "UPDATE audit_log SET username = 'mallory', row_hash = :h WHERE id = :id",
            h=entry_hash(target.prev_hash, fields, find_key(engine)), id=target.id)
    report = verify_audit(engine)
    assert report.first_broken_entry == target.id + 1
    assert f"does not follow entry {target.id}" in report.findings[0].message


def test_edited_entry_rehashed_without_the_key_is_named_itself(sample_trial):
    engine, _ = sample_trial
    allow_tampering(engine)
    target = entries(engine)[4]
    fields = {k: getattr(target, k) for k in HASHED_FIELDS} | {"username": "mallory"}
    raw_sql(engine, "UPDATE audit_log SET username = 'mallory', row_hash = :h WHERE id = :id",
            h=entry_hash(target.prev_hash, fields), id=target.id)
    report = verify_audit(engine)
    assert report.first_broken_entry == target.id
    assert "without the audit key" in report.findings[0].message


def test_deleted_entry_is_named(sample_trial):
    engine, _ = sample_trial
    allow_tampering(engine)
    raw_sql(engine, "DELETE FROM audit_log WHERE id = 5")
    report = verify_audit(engine)
    assert report.first_broken_entry == 6
    assert "ids jump from 4 to 6" in report.findings[0].message


def test_deleted_first_entry_is_named(sample_trial):
    engine, _ = sample_trial
    allow_tampering(engine)
    raw_sql(engine, "DELETE FROM audit_log WHERE id = 1")
    report = verify_audit(engine)
    assert report.first_broken_entry == 2
    assert "the start of the log" in report.findings[0].message
    # the site row lost its only entry: the replay sees it too
    assert UNAUDITED in kinds(report)


def test_deleted_last_entry_is_caught_by_the_replay(sample_trial):
    engine, ids = sample_trial
    allow_tampering(engine)
    last = entries(engine)[-1]  # the deletion of NK-002's AE
    raw_sql(engine, "DELETE FROM audit_log WHERE id = :id", id=last.id)
    report = verify_audit(engine)
    assert report.chain_ok  # a chain cannot see its own tail cut off ...
    # ... but the log now says the AE exists, and it does not
    assert kinds(report) == [MISSING]
    assert report.findings[0].record_id == ids["NK-002/ae"]


def test_inserted_entry_is_named(sample_trial):
    engine, ids = sample_trial
    log = entries(engine)
    raw_sql(
        engine,
        "INSERT INTO audit_log (at_utc, username, action, table_name, record_id, subject_id, old_values, "
        "new_values, reason, software_version, prev_hash, row_hash) VALUES "
        "('2016-01-01T00:00:00+00:00', 'mallory', 'update', 'patients', :pid, 'NK-001', NULL, '{}', NULL, "
        "'earlyphase 0.1.0', :prev, :h)",
        pid=ids["NK-001"], prev=log[-1].row_hash, h="f" * 64,
    )
    report = verify_audit(engine)
    assert report.first_broken_entry == log[-1].id + 1
    assert "does not match its own hash" in report.findings[0].message


@pytest.mark.parametrize("with_key", [True, False], ids=["key-holder", "database-only"])
def test_forged_entry_with_valid_hash_is_caught(sample_trial, with_key):
    """Only the key holder can extend the chain, and the forged values must then match the data;
    someone with database access alone cannot even extend it."""
    engine, ids = sample_trial
    log = entries(engine)
    patient = next(e for e in log if e.table_name == "patients" and e.record_id == ids["NK-001"])
    forged_values = json.loads(patient.new_values) | {"ecog": 1}
    fields = {
        "at_utc": "2016-01-01T00:00:00.000000+00:00", "username": "mallory", "action": "update",
        "table_name": "patients", "record_id": ids["NK-001"], "subject_id": "NK-001",
        "old_values": patient.new_values, "new_values": json.dumps(forged_values, sort_keys=True),
        "reason": "forged", "software_version": "earlyphase 0.1.0", "writer_at_utc": None,
    }
    raw_sql(
        engine,
        "INSERT INTO audit_log (at_utc, username, action, table_name, record_id, subject_id, old_values, "
        "new_values, reason, software_version, prev_hash, row_hash) VALUES "
        "(:at_utc, :username, :action, :table_name, :record_id, :subject_id, :old_values, :new_values, "
        ":reason, :software_version, :prev, :h)",
        **fields, prev=log[-1].row_hash,
        h=entry_hash(log[-1].row_hash, fields, find_key(engine) if with_key else None),
    )
    report = verify_audit(engine)
    if not with_key:
        assert report.first_broken_entry == log[-1].id + 1
        assert kinds(report) == [CHAIN_BROKEN, CHANGED, TIME_BACKWARDS]  # dated 2016 after 2026 entries
        return
    assert report.chain_ok
    assert kinds(report) == [CHANGED, TIME_BACKWARDS]
    assert report.findings[0].differences == {"ecog": {"audited": 1, "current": 0}}


def test_data_changed_behind_the_back_is_named(sample_trial):
    engine, ids = sample_trial
    raw_sql(engine, "UPDATE adverse_events SET grade = 3, dlt = :t WHERE id = :id", t=True, id=ids["NK-001/ae"])
    raw_sql(engine, "UPDATE lesions SET viable_diameter_mm = 19.0 WHERE id = :id", id=ids["lesion"])
    report = verify_audit(engine)
    assert report.chain_ok
    assert kinds(report) == [CHANGED, CHANGED]
    ae, lesion = report.findings
    assert (ae.table, ae.record_id) == ("adverse_events", ids["NK-001/ae"])
    assert ae.differences == {"grade": {"audited": 2, "current": 3}, "dlt": {"audited": False, "current": True}}
    assert (lesion.table, lesion.record_id) == ("lesions", ids["lesion"])
    assert lesion.differences == {"viable_diameter_mm": {"audited": 23.5, "current": 19}}
    assert "changed outside earlyphase" in ae.message


def test_data_inserted_behind_the_back_is_named(sample_trial):
    engine, ids = sample_trial
    raw_sql(
        engine,
        "INSERT INTO adverse_events (patient_id, term, soc, ctcae_version, grade, serious, attribution, onset, "
        "outcome, action, dlt, protocol_version) VALUES (:pid, 'Nausea', 'Gastrointestinal disorders', '4.03', 1, :f, "
        "'unlikely', '2015-04-01', 'recovered', 'none', :f, 1)",
        pid=ids["NK-002"], f=False,
    )
    report = verify_audit(engine)
    assert kinds(report) == [UNAUDITED]
    assert report.findings[0].table == "adverse_events"
    assert "inserted outside earlyphase" in report.summary()


def test_data_deleted_behind_the_back_is_named(sample_trial):
    engine, ids = sample_trial
    raw_sql(engine, "DELETE FROM lesions WHERE id = :id", id=ids["lesion"])
    report = verify_audit(engine)
    assert kinds(report) == [MISSING]
    assert (report.findings[0].table, report.findings[0].record_id) == ("lesions", ids["lesion"])


def test_audited_deletion_undone_behind_the_back_is_named(sample_trial):
    engine, ids = sample_trial
    log = entries(engine)
    deleted = json.loads(log[-1].old_values)
    columns = ", ".join(deleted)
    raw_sql(engine, f"INSERT INTO adverse_events ({columns}) VALUES ({', '.join(':' + c for c in deleted)})",
            **deleted)
    report = verify_audit(engine)
    assert kinds(report) == [RESURRECTED]


def test_patient_history_includes_child_rows(sample_trial):
    engine, ids = sample_trial
    history = patient_history(engine, "NK-001")
    tables = [e.table for e in history.entries]
    assert tables == ["patients", "adverse_events", "tumour_assessments", "lesions", "adverse_events"]
    correction = history.entries[-1]
    assert correction.action == "update" and correction.username == "bob"
    assert correction.changes == {"grade": {"old": 1, "new": 2}}
    assert correction.reason == "source document says grade 2"
    text_ = history.summary()
    assert "grade: 1 -> 2" in text_ and "NK-002" not in text_
    other = patient_history(engine, "NK-002")
    assert [e.action for e in other.entries] == ["insert", "insert", "delete"]
    assert history.to_frame().shape[0] == 5


def test_patient_history_finds_entries_written_without_subject_id(sample_trial):
    engine, ids = sample_trial
    from earlyphase.records import transaction
    from earlyphase.records.tables import Lesion

    from records_helpers import add_audited

    with transaction(engine) as s:
        add_audited(s, Lesion(assessment_id=ids["assessment"], lesion_label="N1", kind="non-target",
                              status="present"))  # no subject_id passed
    history = patient_history(engine, "NK-001")
    assert history.entries[-1].table == "lesions" and history.entries[-1].changes["lesion_label"]["new"] == "N1"


def test_patient_history_of_unknown_subject_is_an_input_error(sample_trial):
    from earlyphase.errors import NotFound

    engine, _ = sample_trial
    with pytest.raises(NotFound, match="NK-999"):
        patient_history(engine, "NK-999")


def test_known_hash_catches_a_truncated_log(sample_trial):
    engine, _ = sample_trial
    log = entries(engine)
    known = verify_audit(engine).last_hash
    assert verify_audit(engine, known_hash=known).ok
    assert verify_audit(engine, known_hash=log[3].row_hash).ok  # any hash still in the log
    allow_tampering(engine)
    raw_sql(engine, "DELETE FROM audit_log WHERE id = :id", id=log[-1].id)
    deleted = json.loads(log[-1].old_values)  # put the deleted AE back: data agree with the shortened log ...
    raw_sql(engine, f"INSERT INTO adverse_events ({', '.join(deleted)}) VALUES ({', '.join(':' + c for c in deleted)})",
            **deleted)
    # ... so the database alone looks consistent: the anchors the verifications above left outside it see it
    assert kinds(verify_audit(engine)) == [ANCHOR_BROKEN]
    report = verify_audit(engine, known_hash=known)
    assert kinds(report) == [ANCHOR_BROKEN, "known_hash_missing"]
    assert known in report.summary()


def test_change_behind_the_back_is_named_even_after_a_later_correction(sample_trial):
    """A proper correction after a SQL-client edit must not launder the edit into the log."""
    from earlyphase.records import row_values, transaction, write_audit
    from earlyphase.records.tables import AdverseEvent

    engine, ids = sample_trial
    raw_sql(engine, "UPDATE adverse_events SET grade = 3 WHERE id = :id", id=ids["NK-001/ae"])
    with transaction(engine) as s:
        ae = s.get(AdverseEvent, ids["NK-001/ae"])
        before = row_values(ae)
        ae.outcome = "recovering"
        write_audit(s, "update", ae, username="carol", reason="follow-up visit", old_values=before, subject_id="NK-001")
    report = verify_audit(engine)
    assert kinds(report) == [CHANGED]
    finding = report.findings[0]
    assert finding.differences == {"grade": {"audited": 2, "current": 3}}
    assert "between audit entries 8 and 10" in finding.message


def test_report_as_a_table(sample_trial):
    engine, ids = sample_trial
    assert verify_audit(engine).to_frame().empty
    raw_sql(engine, "DELETE FROM lesions WHERE id = :id", id=ids["lesion"])
    frame = verify_audit(engine).to_frame()
    assert frame[["kind", "table", "record_id"]].values.tolist() == [[MISSING, "lesions", ids["lesion"]]]
