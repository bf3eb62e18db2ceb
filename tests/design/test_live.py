"""Live-trial counts from a database built through earlyphase.capture (the seed study:
groups A < B < C < D are levels 1..4, DLT window 28 days)."""

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from earlyphase.capture import initialise
from earlyphase.cli import app
from earlyphase.design import BoinDesign, ThreePlusThreeDesign
from earlyphase.design.live import counts_from_database, next_dose_from_database

TODAY = date(2015, 6, 1)


def patient(subject):
    return dict(subject_id=subject, site="SYSU", sex="M", birth_year=1960, ecog=1, consent_date="2015-01-10",
                eligibility={"I1": True, "I2": True, "E1": False})


def treat(trial, subject, group, first_dose, dose):
    trial.enrol_patient(**patient(subject))
    trial.allocate_patient(subject, group, "2015-01-12" if first_dose < "2015-05-01" else "2015-05-10")
    trial.record_administration(subject, 1, first_dose, dose)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "trial.db"
    trial = initialise(str(path), "nk-hcc-ltx", "tester", today=TODAY)
    # group A: 3 patients, no DLT, windows long over
    for s in ("P01", "P02", "P03"):
        treat(trial, s, "A", "2015-01-15", 2.5e9)
    # group B: 3 patients; P05 has a DLT inside its window; P04 has a non-DLT AE
    for s in ("P04", "P05", "P06"):
        treat(trial, s, "B", "2015-02-15", 5e9)
    trial.record_adverse_event("P04", "Fever", 1, "2015-02-16", "possible", "recovered", resolution="2015-02-17")
    trial.record_adverse_event("P05", "Fever", 3, "2015-02-20", "probable", "recovered", resolution="2015-02-25", dlt=True)
    # group B again: 2 patients infused 2015-05-18, still inside the 28-day window on 2015-06-01
    for s in ("P07", "P08"):
        treat(trial, s, "B", "2015-05-18", 5e9)
    trial.close()
    return f"sqlite:///{path}"


def test_counts(db):
    c = counts_from_database(db, as_of=TODAY)
    assert c.groups == ("A", "B", "C", "D")
    assert c.dlt_window_days == 28
    assert c.n == (3, 5, 0, 0)
    assert c.dlt == (0, 1, 0, 0)
    assert c.current_level == 2
    assert [round(f, 3) for f in c.pending[1]] == [round(14 / 28, 3)] * 2
    assert c.last_cohort_dlt == 0  # the last 3 at level 2: P06, P07, P08
    statuses = {p.subject_id: p.status for p in c.patients}
    assert statuses["P05"] == "dlt" and statuses["P04"] == "complete" and statuses["P07"] == "pending"
    later = counts_from_database(db, as_of=date(2015, 7, 1))
    assert later.pending[1] == ()


def test_decisions_from_database(db):
    # 1/3 complete + 2 pending at level 2: 3+3 cannot decide until they finish
    counts, dec = next_dose_from_database(db, ThreePlusThreeDesign(), as_of=TODAY)
    assert dec.decision == "wait"
    # after the window: 1/5... treated as 3+3 with 5 patients and 1 DLT: complete the cohort of 6
    _, dec = next_dose_from_database(db, ThreePlusThreeDesign(), as_of=date(2015, 7, 1))
    assert dec.decision == "stay" and dec.next_level == 2
    _, dec = next_dose_from_database(db, BoinDesign(target=0.3), as_of=date(2015, 7, 1))
    assert dec.decision == "escalate" and dec.next_level == 3  # 1/5 = 0.2 <= lambda_e 0.236
    _, tite = next_dose_from_database(db, BoinDesign(target=0.3), as_of=TODAY, tite=True)
    # TITE-BOIN: 2 of 5 pending at half follow-up, effective n = 4, rate 1/4 between the boundaries
    assert tite.details["effective_n"] == pytest.approx(4.0)
    assert tite.decision == "stay" and tite.next_level == 2


def test_cli_db(db):
    res = CliRunner().invoke(app, ["design", "next-dose", "--design", "boin", "--db", db, "--as-of", "2015-07-01", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["decision"] == "escalate" and out["next_level"] == 3
    assert out["counts"]["n"] == [3, 5, 0, 0]
