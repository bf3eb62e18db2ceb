"""Dose-escalation decisions: recorded, sealed by the investigator, audited; they open and close levels,
and allocation and level corrections follow them."""

from known_users import add_users
from datetime import date

import pytest
from sqlalchemy import select

from earlyphase.capture import Trial, dose_decisions, initialise, open_levels
from earlyphase.errors import CheckFailed
from earlyphase.records import read_session
from earlyphase.records.audit_verify import verify_audit
from earlyphase.records.tables import Allocation, AuditEntry, DoseDecision, ProtocolDeviation

from signing_helpers import investigator_account, proof_for, sign

from .live_helpers import patient, study_file, treat


@pytest.fixture
def trial(db_url, tmp_path):
    t = initialise(db_url, str(study_file(tmp_path, "3+3")), "coordinator", today=date(2015, 9, 1))
    for s in ("P01", "P02", "P03"):
        treat(t, s, "A", "2015-01-10", "2015-01-12", ["2015-01-15"], 2.5e9)
    yield t
    t.close()


def as_user(trial, name):
    add_users(trial, name)
    return Trial(trial.engine, trial.study, name, today=trial.today)


def problems(exc):
    return {(p.field, p.rule) for p in exc.value.problems}


def test_allocation_above_the_open_level_is_refused_naming_the_decision(trial):
    trial.enrol_patient(**patient("P04", "2015-02-10"))
    with pytest.raises(CheckFailed) as err:
        trial.allocate_patient("P04", "B", "2015-02-12")
    assert ("group", "level-open") in problems(err)
    assert "only level 1 (group A) is open, by the protocol" in str(err.value)
    d = trial.record_dose_decision("2015-02-11", "escalate", "B", "0/3 DLT at A", "Safety committee",
                                   investigator="dr.li")
    with pytest.raises(CheckFailed):  # recorded but not sealed: B is not open yet
        trial.allocate_patient("P04", "B", "2015-02-12")
    with pytest.raises(CheckFailed) as err:
        trial.sign_dose_decision(d.id)  # the coordinator is not the investigator it names
    assert ("username", "investigator-signs") in problems(err)
    sign(as_user(trial, "dr.li"), d.id)
    trial.allocate_patient("P04", "B", "2015-02-12")
    with pytest.raises(CheckFailed) as err:  # C, the next level up, is still closed
        trial.enrol_patient(**patient("P05", "2015-02-10"))
        trial.allocate_patient("P05", "C", "2015-02-12")
    assert f"decision {d.id} of 2015-02-11 (escalate) leaves levels 1 to 2 open" in str(err.value)
    with pytest.raises(CheckFailed):  # on a date before the decision, B was not open
        trial.allocate_patient("P05", "B", "2015-02-10")


def test_decision_chain_rules(trial):
    li = as_user(trial, "dr.li")
    with pytest.raises(CheckFailed) as err:  # no skipping
        li.record_dose_decision("2015-02-11", "escalate", "C", "why not", "dr.li")
    assert ("level", "one-level-up") in problems(err)
    d1 = li.record_dose_decision("2015-02-11", "escalate", "B", "0/3 at A", "dr.li")
    with pytest.raises(CheckFailed) as err:  # the previous one is not sealed
        li.record_dose_decision("2015-02-12", "stay", "B", "more patients", "dr.li")
    assert ("decision", "previous-sealed") in problems(err)
    sign(li, d1.id)
    with pytest.raises(CheckFailed) as err:
        sign(li, d1.id)
    assert ("decision_id", "not-sealed") in problems(err)
    with pytest.raises(CheckFailed) as err:  # dated before the last decision
        li.record_dose_decision("2015-02-01", "stay", "B", "x", "dr.li")
    assert ("decision_date", "decisions-in-order") in problems(err)
    d2 = li.record_dose_decision("2015-03-20", "de-escalate", "A", "2/3 DLT at B", "dr.li")
    sign(li, d2.id)
    with read_session(trial.engine) as s:
        state = open_levels(s, trial.study)
        assert state.highest == 1 and state.by.id == d2.id and state.highest_ever == 2
        assert open_levels(s, trial.study, on=date(2015, 3, 1)).highest == 2
    d3 = li.record_dose_decision("2015-04-01", "stop", None, "MTD is A", "dr.li")
    sign(li, d3.id)
    with pytest.raises(CheckFailed) as err:
        li.record_dose_decision("2015-04-02", "escalate", "B", "x", "dr.li")
    assert ("decision", "after-stop") in problems(err)
    with pytest.raises(CheckFailed) as err:
        li.record_dose_decision("2015-04-02", "expand", "C", "x", "dr.li")
    assert ("level", "level-opened-before") in problems(err)
    d4 = li.record_dose_decision("2015-04-02", "expand", "A", "expansion cohort at the MTD", "dr.li")
    sign(li, d4.id)
    with read_session(trial.engine) as s:
        views = dose_decisions(s, trial.study)
    assert [v.decision for v in views] == ["escalate", "de-escalate", "stop", "expand"]
    assert all(v.seal == "sealed" for v in views)
    assert (views[1].level_closed, views[2].level_closed, views[3].level_opened) == ("B", "A", "A")


def test_seal_binds_the_content_and_everything_is_audited(trial):
    li = as_user(trial, "dr.li")
    rec = {"design": "3+3", "decision": "escalate", "next_level": 2, "reason": "0/3 DLTs at level 1"}
    d = li.record_dose_decision("2015-02-11", "escalate", "B", "0/3 at A", "Safety committee", recommendation=rec)
    sign(li, d.id)
    with read_session(trial.engine) as s:
        view = dose_decisions(s, trial.study)[0]
        entries = s.execute(select(AuditEntry).where(AuditEntry.table_name == "dose_decisions")).scalars().all()
    assert view.seal == "sealed" and view.recommendation == rec and view.signed_by == "dr.li"
    assert "3+3: escalate (next level 2)" in view.recommendation_text
    assert [(e.action, e.username) for e in entries] == [("insert", "dr.li"), ("update", "dr.li")]
    assert verify_audit(trial.engine).ok
    # a change made behind capture's back breaks the seal (and the audit replay)
    with trial.engine.begin() as conn:
        conn.exec_driver_sql("update dose_decisions set rationale = 'edited' where id = %d" % d.id)
    with read_session(trial.engine) as s:
        assert dose_decisions(s, trial.study)[0].seal == "broken"
        assert open_levels(s, trial.study).highest == 1  # a broken seal opens nothing


def test_sealing_needs_the_investigator_reauthenticated_in_capture(trial):
    li = as_user(trial, "dr.li")
    d = li.record_dose_decision("2015-02-11", "escalate", "B", "0/3 at A", "Safety committee")
    with pytest.raises(CheckFailed) as err:  # no re-authentication: capture refuses, whatever door asked
        li.sign_dose_decision(d.id)
    assert ("reauthentication", "reauthenticated") in problems(err)
    secret = investigator_account(trial.engine, "dr.li")
    other = investigator_account(trial.engine, "dr.wu")
    with pytest.raises(CheckFailed) as err:  # another investigator's re-authentication is not dr.li's
        li.sign_dose_decision(d.id, proof_for(trial.engine, "dr.wu", other))
    assert ("reauthentication", "reauthenticated") in problems(err)
    proof = proof_for(trial.engine, "dr.li", secret)
    li.sign_dose_decision(d.id, proof)
    d2 = li.record_dose_decision("2015-02-12", "stay", "B", "more patients at B", "Safety committee")
    with pytest.raises(CheckFailed) as err:  # a re-authentication signs once
        li.sign_dose_decision(d2.id, proof)
    assert ("reauthentication", "reauthentication-once") in problems(err)
    # the investigator's role is needed, not only the name on the decision
    from earlyphase.access import set_role

    set_role(trial.engine, "dr.li", "investigator@ALL", actor="dr.li", revoke=True)
    set_role(trial.engine, "dr.li", "monitor@ALL", actor="dr.li")
    with pytest.raises(CheckFailed) as err:
        li.sign_dose_decision(d2.id, proof_for(trial.engine, "dr.li", secret))
    assert ("username", "role-signs") in problems(err)
    with read_session(trial.engine) as s:
        assert [v.seal for v in dose_decisions(s, trial.study)] == ["sealed", "unsealed"]
        spent = s.execute(select(AuditEntry.reason).where(AuditEntry.table_name == "dose_decisions",
                                                          AuditEntry.action == "update")).scalars().all()
    assert spent == [f"sealed by the investigator, re-authenticated (audit entry {proof.event_id})"]


def test_bad_input_names_the_field(trial):
    with pytest.raises(CheckFailed) as err:
        trial.record_dose_decision("2015-13-01", "go higher", "Z", "", "")
    assert {f for f, _ in problems(err)} >= {"decision_date", "decision", "rationale", "decided_by"}
    with pytest.raises(CheckFailed) as err:
        trial.record_dose_decision("2015-02-11", "escalate", "Z", "x", "y")
    assert ("level", "group-known") in problems(err)
    with pytest.raises(CheckFailed) as err:
        trial.sign_dose_decision(99)
    assert ("decision_id", "decision-known") in problems(err)
    with read_session(trial.engine) as s:
        assert s.execute(select(DoseDecision)).first() is None


def test_level_correction_after_dosing_needs_a_deviation(trial):
    with read_session(trial.engine) as s:
        from earlyphase.records.tables import Patient

        alloc = s.execute(select(Allocation.id).join(Patient, Patient.id == Allocation.patient_id)
                          .where(Patient.subject_id == "P01")).scalar()
    li = as_user(trial, "dr.li")
    sign(li, li.record_dose_decision("2015-01-11", "escalate", "B", "protocol amendment", "dr.li").id)
    with pytest.raises(CheckFailed) as err:
        trial.correct_record("allocations", alloc, {"group": "B"}, "typo")
    assert ("group", "level-after-dosing") in problems(err)
    assert "after 1 infusion at group A" in str(err.value)
    trial.correct_record("allocations", alloc, {"group": "B"}, "data-entry error: wrong group entered",
                         deviation="the patient received the group B dose by mistake")
    with read_session(trial.engine) as s:
        dev = s.execute(select(ProtocolDeviation)).scalars().one()
    assert dev.category == "dose" and dev.source_table == "allocations" and "moved from group A to group B" in dev.description
    # an undosed patient's level is corrected without a deviation
    trial.enrol_patient(**patient("P09", "2015-02-10"))
    a = trial.allocate_patient("P09", "A", "2015-02-12")
    trial.correct_record("allocations", a.id, {"group": "B"}, "data-entry error: wrong group entered")


def test_fixed_allocation_study_is_not_limited(tmp_path):
    t = initialise(str(tmp_path / "seed.db"), "nk-hcc-ltx", "coordinator", today=date(2015, 9, 1))
    treat(t, "P01", "C", "2015-01-10", "2015-01-12", ["2015-01-15"], 5e9)  # group C without any decision
    with read_session(t.engine) as s:
        assert [r.group_code for r in s.execute(select(Allocation)).scalars()] == ["C"]
    t.close()


def test_deidentified_export_keeps_no_dates_or_names(trial, tmp_path):
    from earlyphase.interop import export_trial

    li = as_user(trial, "dr.li")
    rec = {"design": "3+3", "decision": "escalate", "next_level": 2, "counts": {"as_of": "2015-02-11"}}
    sign(li, li.record_dose_decision("2015-02-11", "escalate", "B", "0/3 at A on 2015-02-10",
                                                  "Dr Li Wei, chair", recommendation=rec).id)
    export_trial(trial.engine, tmp_path / "deid")
    text = (tmp_path / "deid" / "dose_decisions.csv").read_text()
    assert "escalate" in text and "opens" not in text  # the row is there
    assert "2015-" not in text and "dr.li" not in text and "2026-" not in text
