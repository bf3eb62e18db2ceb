from datetime import date, timedelta

import pandas as pd

from earlyphase.derive import derive_from_source

from derive_trial_builder import TrialBuilder, study_with

START = date(2015, 1, 10)


def test_exposure_and_flags(trial):
    full = trial.patient("001", "A", start=START, infusions=4, dose=2.5e9)
    part = trial.patient("002", "C", start=START, infusions=3, dose=5e9, status="withdrawn",
                         withdrawal_date=START + timedelta(days=40), withdrawal_reason="patient decision")
    none = trial.patient("003", "B", start=START, infusions=0)
    trial.follow_up(full, START + timedelta(days=400))
    adsl = derive_from_source(trial.source()).adsl.set_index("SUBJID")
    a = adsl.loc["001"]
    assert (a.NADM, a.NADMPL, a.CUMDOSE, a.CUMDOSPL, a.SAFFL, a.EOTSTT) == (4, 4, 1e10, 1e10, "Y", "COMPLETED")
    assert a.TRTSDT.date() == START and a.TRTEDT.date() == START + timedelta(days=42)
    c = adsl.loc["002"]
    assert (c.NADM, c.NADMPL, c.EOTSTT, c.DCTREAS, c.COMPLFL) == (3, 8, "DISCONTINUED", "patient decision", "N")
    b = adsl.loc["003"]
    assert (b.SAFFL, b.EOTSTT, b.TRT01P) == ("N", "NOT TREATED", "B") and pd.isna(b.TRT01A)
    assert list(adsl["TRT01P"]) == ["A", "B", "C"]  # intensity order


def test_last_known_alive_and_death():
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.follow_up(p, START + timedelta(days=100))
    t.follow_up(p, START + timedelta(days=200), status="dead")  # a contact that reports death is not 'alive'
    q = t.patient("002", start=START)
    t.death(q, START + timedelta(days=150))
    adsl = derive_from_source(t.source(study_with(data_cutoff=START + timedelta(days=300)))).adsl.set_index("SUBJID")
    assert adsl.loc["001"].LSTALVDT.date() == START + timedelta(days=100)
    assert (adsl.loc["002"].DTHFL, adsl.loc["002"].DTHDT.date()) == ("Y", START + timedelta(days=150))
    assert adsl.loc["002"].LSTALVDT.date() == START + timedelta(days=150)
