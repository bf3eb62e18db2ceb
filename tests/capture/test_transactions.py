"""All-or-nothing: a failed action writes nothing; a batch commits together or not at all;
every write is audited and the audit trail verifies."""

from __future__ import annotations

from known_users import add_users
from datetime import date

import pytest
from sqlalchemy import func, select

from capture_helpers import PATIENT, TODAY, counts
from earlyphase.capture import CaptureContext, Trial, enrol_patient, record_administration
from earlyphase.errors import CheckFailed
from earlyphase.records import transaction, verify_audit
from earlyphase.records.tables import DATA_TABLES, AuditEntry, Patient


def full_history(trial) -> None:
    trial.record_administration("P01", 2, "2015-01-29", 4.5e9, lot="L2")
    trial.record_administration("P01", 3, "2015-02-20", 5e9, deviation="holiday")
    trial.record_adverse_event("P01", "Fever", 1, "2015-01-15T15:00", "probable", "recovered", resolution="2015-01-16")
    trial.record_adverse_event("P01", "Fatigue", 2, "2015-02", "possible", "recovering")
    trial.record_tumour_assessment("P01", "2015-01-08", "CT", [{"label": "T1", "kind": "target",
                                                                "viable_diameter_mm": 40}], baseline=True)
    trial.record_tumour_assessment("P01", "2015-03-12", "CT", [{"label": "T1", "kind": "target",
                                                                "viable_diameter_mm": 55}], investigator_response="PD")
    trial.record_other_therapy("P01", "sorafenib", "2015-03-20", end_date="2015-09-01")
    trial.record_follow_up("P01", "2015-10-01", "alive")
    trial.record_death("P01", "2016-01-05", "disease progression")
    trial.correct_record("adverse_events", 2, {"grade": 1}, "data-entry error: re-graded")
    q = trial.raise_query("administrations", 2, "lot number illegible?", field="lot")
    trial.answer_query(q.id, "lot is L2, confirmed")


def test_every_write_is_audited(treated):
    full_history(treated)
    with transaction(treated.engine) as s:
        for model in DATA_TABLES:
            rows = s.execute(select(func.count()).select_from(model)).scalar_one()
            inserts = s.execute(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.table_name == model.__tablename__, AuditEntry.action == "insert")).scalar_one()
            assert inserts == rows, model.__tablename__
        updates = s.execute(select(AuditEntry.table_name).where(AuditEntry.action == "update")).scalars().all()
        assert sorted(updates) == ["adverse_events", "queries"]
    report = verify_audit(treated.engine)
    assert report.ok, report.summary()


@pytest.mark.parametrize("action", [
    lambda t: t.enrol_patient(**{**PATIENT, "subject_id": "P02", "ecog": 9}),
    lambda t: t.allocate_patient("P01", "C", "2015-01-12"),
    lambda t: t.record_administration("P01", 2, "2015-01-29", 1e9),
    lambda t: t.record_adverse_event("P01", "Nausea", 4, "2015-01-20", "possible", "unknown"),
    lambda t: t.record_tumour_assessment("P01", "2015-03-12", "CT", [{"label": "T1", "kind": "target",
                                                                      "viable_diameter_mm": 10},
                                                                     {"label": "T2", "kind": "target"}]),
    lambda t: t.record_other_therapy("P01", "TACE", "2015-03-01", end_date="2015-02-01"),
    lambda t: t.record_follow_up("P01", "2030-01-01", "alive"),
    lambda t: t.record_death("P01", "2014-01-01", "unknown"),
    lambda t: t.withdraw_patient("P01", "2015-01-14", "x"),
    lambda t: t.correct_record("patients", 1, {"sex": "Q"}, "data-entry error: typo on the form"),
    lambda t: t.delete_record("patients", 1, "data-entry error: entered by mistake"),
])
def test_failed_action_writes_nothing(treated, action):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed):
        action(treated)
    assert counts(treated.engine) == before


def test_batch_is_all_or_nothing(trial):
    before = counts(trial.engine)
    with pytest.raises(CheckFailed):
        with trial.batch() as b:
            b.enrol_patient(**PATIENT)
            b.allocate_patient("P01", "B", "2015-01-12")
            b.record_administration("P01", 1, "2015-01-15", 5e9)  # sees the rows above, same transaction
            b.record_administration("P01", 2, "2015-01-29", 99)  # the bad last row
    assert counts(trial.engine) == before
    with trial.batch() as b:
        b.enrol_patient(**PATIENT)
        b.allocate_patient("P01", "B", "2015-01-12")
        b.record_administration("P01", 1, "2015-01-15", 5e9)
    after = counts(trial.engine)
    assert (after["patients"], after["allocations"], after["administrations"]) == (1, 1, 1)


def test_functions_share_a_callers_transaction(trial):
    # Lower-level use: the caller owns the session (as an import does).
    with transaction(trial.engine) as session:
        ctx = CaptureContext(session=session, study=trial.study, username="tester", today=TODAY)
        enrol_patient(ctx, **PATIENT)
        trial_ctx_patient = session.execute(select(func.count()).select_from(Patient)).scalar_one()
        assert trial_ctx_patient == 1
        with pytest.raises(CheckFailed):
            record_administration(ctx, "P01", 1, "2015-01-15", 5e9)  # not allocated
    assert counts(trial.engine)["patients"] == 1


def test_open_reads_study_from_database(treated, engine):
    again = Trial.open(engine, "monitor", today=date(2024, 6, 1))
    assert again.study == treated.study
    add_users(treated, "monitor")
    again.record_follow_up("P01", "2015-06-01", "alive")
    with transaction(engine) as s:
        added = s.execute(select(AuditEntry.username).where(AuditEntry.table_name == "users",
                                                            AuditEntry.action == "insert")).scalars().all()
        wrote = s.execute(select(AuditEntry.username).where(AuditEntry.table_name == "follow_ups")).scalars().all()
    assert added == ["tester", "tester"] and wrote == ["monitor"]  # the founder made both accounts


def test_unknown_or_disabled_user_writes_nothing(treated, engine):
    from earlyphase.access import add_user, disable_user
    from earlyphase.errors import InputError

    add_user(engine, "leaver", "a long enough passphrase 7", roles=["coordinator@ALL"], actor="tester")
    disable_user(engine, "leaver", actor="tester")
    before = counts(engine)
    with pytest.raises(InputError) as info:
        Trial.open(engine, "stranger", today=date(2024, 6, 1)).record_follow_up("P01", "2015-06-01", "alive")
    (problem,) = info.value.problems
    assert problem.rule == "known-user" and "earlyphase user add stranger" in problem.message
    with pytest.raises(InputError) as info:
        Trial.open(engine, "leaver").record_follow_up("P01", "2015-06-01", "alive")
    assert info.value.problems[0].rule == "enabled-user"
    assert counts(engine) == before


def test_today_is_injected(treated):
    late = Trial(treated.engine, treated.study, "tester", today=date(2015, 1, 20))
    with pytest.raises(CheckFailed) as info:
        late.record_follow_up("P01", "2015-01-21", "alive")
    assert [p.rule for p in info.value.problems] == ["not-in-future"]


def test_username_required(treated):
    from earlyphase.errors import InputError

    with pytest.raises(InputError) as info:
        Trial(treated.engine, treated.study, "  ").record_follow_up("P01", "2015-06-01", "alive")
    assert info.value.problems[0].field == "username"


def test_database_constraint_becomes_check_failed(treated, monkeypatch):
    # If the checks are bypassed (two writers racing), the database's unique constraint still holds
    # and the door reports it as a failed check, not a traceback.
    import earlyphase.capture.patients as patients

    monkeypatch.setattr(patients, "find_patient", lambda ctx, subject: None)
    monkeypatch.setattr(patients, "_same_subject_other_case", lambda ctx, subject: None)
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.enrol_patient(**PATIENT)
    assert [p.rule for p in info.value.problems] == ["database-constraint"]
    assert counts(treated.engine) == before
