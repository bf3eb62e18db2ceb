"""--as-of sees only what existed on the date (clinical dates; with as_recorded also the audit log's
timestamps), and DLT evaluability follows the protocol's window and minimum exposure."""

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from earlyphase.capture import initialise
from earlyphase.cli import app
from earlyphase.design.live import counts_from_database

from .live_helpers import open_level, study_file, treat


class Clock:
    """Stands in for the audit log's clock: every entry is stamped with ``now``."""

    def __init__(self):
        self.now = "2015-01-01T09:00:00.000000+00:00"

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr("earlyphase.records.audit.utc_now", c)
    return c


@pytest.fixture
def db(tmp_path, clock):
    """Entered as the trial ran (the clock follows the clinical dates), except where a test says."""
    path = tmp_path / "trial.db"
    trial = initialise(str(path), str(study_file(tmp_path, "3+3", evaluable_min_administrations=2)), "tester",
                       today=date(2015, 9, 1))
    clock.now = "2015-01-15T12:00:00.000000+00:00"
    for s in ("P01", "P02", "P03"):
        treat(trial, s, "A", "2015-01-10", "2015-01-12", ["2015-01-15", "2015-01-29"], 2.5e9)
    clock.now = "2015-02-15T12:00:00.000000+00:00"
    open_level(trial, "B", "2015-02-12")
    for s in ("P04", "P05", "P06"):
        treat(trial, s, "B", "2015-02-10", "2015-02-12", ["2015-02-15"], 5e9)
    clock.now = "2015-03-01T12:00:00.000000+00:00"
    for s in ("P04", "P05", "P06"):
        trial.record_administration(s, 2, "2015-03-01", 5e9)
    # P05's DLT (onset 20 Feb) is entered late, on 5 March; P06's fever is first entered as no DLT and
    # corrected to a DLT on 10 March
    trial.record_adverse_event("P06", "Fever", 3, "2015-02-25", "probable", "recovered", resolution="2015-02-27",
                               dlt=False)
    clock.now = "2015-03-05T08:00:00.000000+00:00"
    trial.record_adverse_event("P05", "Fever", 3, "2015-02-20", "probable", "recovered", resolution="2015-02-25",
                               dlt=True)
    clock.now = "2015-03-10T08:00:00.000000+00:00"
    with trial.engine.connect() as conn:
        ae = conn.exec_driver_sql("select id from adverse_events where patient_id = "
                                  "(select id from patients where subject_id = 'P06')").scalar()
    trial.correct_record("adverse_events", ae, {"dlt": True}, "source document updated: reviewed by the safety committee")
    # P09 consents two months after the first patients
    clock.now = "2015-04-15T08:00:00.000000+00:00"
    treat(trial, "P09", "B", "2015-04-10", "2015-04-12", ["2015-04-15"], 5e9)
    # P10 at level 1 gets one administration only (minimum exposure is 2); P11 is withdrawn inside the window
    treat(trial, "P10", "A", "2015-04-10", "2015-04-12", ["2015-04-15"], 2.5e9)
    treat(trial, "P11", "A", "2015-04-10", "2015-04-12", ["2015-04-15"], 2.5e9)
    clock.now = "2015-04-20T08:00:00.000000+00:00"
    trial.withdraw_patient("P11", "2015-04-20", "patient's decision")
    trial.close()
    return f"sqlite:///{path}"


def statuses(counts):
    return {p.subject_id: p.status for p in counts.patients}


def test_before_anyone_was_treated(db):
    c = counts_from_database(db, as_of=date(2015, 1, 5))
    assert c.n == (0, 0, 0, 0) and c.dlt == (0, 0, 0, 0) and c.patients == ()
    c = counts_from_database(db, as_of=date(2015, 1, 11))  # enrolled, not yet allocated
    assert c.patients == ()


def test_events_appear_on_their_dates(db):
    c = counts_from_database(db, as_of=date(2015, 2, 17))
    assert statuses(c) == {"P01": "complete", "P02": "complete", "P03": "complete",  # windows ended 12 Feb
                           "P04": "pending", "P05": "pending", "P06": "pending"}
    assert c.dlt == (0, 0, 0, 0)
    c = counts_from_database(db, as_of=date(2015, 2, 22))
    assert c.dlt == (0, 1, 0, 0) and statuses(c)["P05"] == "dlt"
    c = counts_from_database(db, as_of=date(2015, 3, 1))
    assert c.dlt == (0, 2, 0, 0)
    assert "P09" not in statuses(c)  # consented on 10 April
    assert c.entered_later == 1  # P05's DLT, entered on 5 March


def test_as_recorded_uses_the_audit_log(db):
    c = counts_from_database(db, as_of=date(2015, 3, 1), as_recorded=True)
    assert c.dlt == (0, 0, 0, 0)  # P05's DLT not yet entered, P06's fever not yet a DLT
    assert c.entered_later == 0
    c = counts_from_database(db, as_of=date(2015, 3, 6), as_recorded=True)
    assert c.dlt == (0, 1, 0, 0) and statuses(c)["P06"] == "pending"
    c = counts_from_database(db, as_of=date(2015, 3, 11), as_recorded=True)
    assert c.dlt == (0, 2, 0, 0) and statuses(c)["P06"] == "dlt"


def test_replay_of_the_audit_log_agrees_with_the_tables(db):
    for day in (date(2015, 3, 11), date(2015, 6, 1), date(2016, 1, 1)):
        now, replayed = counts_from_database(db, as_of=day), counts_from_database(db, as_of=day, as_recorded=True)
        assert (now.n, now.dlt, now.pending, now.patients) == (replayed.n, replayed.dlt, replayed.pending,
                                                               replayed.patients)


def test_evaluability_follows_the_protocol(db):
    c = counts_from_database(db, as_of=date(2015, 4, 18))
    st = statuses(c)
    assert st["P10"] == "pending" and st["P11"] == "pending"
    c = counts_from_database(db, as_of=date(2015, 6, 1))
    st = {p.subject_id: p for p in c.patients}
    assert st["P10"].status == "not evaluable" and st["P10"].exposure == 1 and "minimum exposure is 2" in st["P10"].note
    assert st["P11"].status == "not evaluable" and "withdrawn on 2015-04-20" in st["P11"].note
    assert st["P09"].status == "not evaluable"  # one administration of the two required
    assert st["P01"].status == "complete" and st["P01"].exposure == 2
    assert st["P05"].status == "dlt"
    assert c.n == (3, 3, 0, 0) and c.dlt == (0, 2, 0, 0)


def test_cli_names_the_basis_and_lists_pending_patients(db):
    run = CliRunner().invoke
    res = run(app, ["design", "next-dose", "--db", db, "--as-of", "2015-04-18"])
    assert res.exit_code == 0, res.output
    assert "enrolments (enrolment date)" in res.stdout and "adverse events (onset date)" in res.stdout
    assert "Values: as recorded now" in res.stdout
    assert "P10 level 1: window 2015-04-15 to 2015-05-13" in res.stdout
    res = run(app, ["design", "next-dose", "--db", db, "--as-of", "2015-03-01", "--as-recorded", "--format", "json"])
    out = json.loads(res.stdout)
    assert out["counts"]["as_recorded"] is True and "audit log" in out["counts"]["basis"]["adverse events"]
    assert out["counts"]["dlt"] == [0, 0, 0, 0]
    bad = run(app, ["design", "next-dose", "--db", db, "--as-of", "2015-02-30"])
    assert bad.exit_code == 2 and "--as-of" in bad.output
