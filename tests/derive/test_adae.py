from datetime import date

from earlyphase.derive import derive_from_source

START = date(2015, 1, 10)


def adae_of(trial):
    return derive_from_source(trial.source()).adae.set_index("SRCSEQ")


def test_onset_on_first_infusion_day_is_treatment_emergent(trial):
    p = trial.patient("001", start=START)
    a = trial.ae(p, onset="2015-01-10")
    b = trial.ae(p, onset="2015-01-09", term="Fatigue")
    adae = adae_of(trial)
    assert adae.loc[a, "TRTEMFL"] == "Y"
    assert adae.loc[b, "TRTEMFL"] == "N"


def test_partial_onset_in_month_of_first_infusion_is_treatment_emergent(trial):
    p = trial.patient("001", start=START)
    a = trial.ae(p, onset="2015-01")
    adae = adae_of(trial)
    assert adae.loc[a, "ASTDT"].date() == START
    assert adae.loc[a, "ASTDTF"] == "D"
    assert adae.loc[a, "TRTEMFL"] == "Y"


def test_partial_onset_that_ended_before_treatment_is_not_emergent(trial):
    p = trial.patient("001", start=START)
    a = trial.ae(p, onset="2015-01", resolution="2015-01-05")
    adae = adae_of(trial)
    assert adae.loc[a, "ASTDT"].date() == date(2015, 1, 1)
    assert adae.loc[a, "TRTEMFL"] == "N"


def test_worsening_of_preexisting_event_is_emergent_continuation_is_not(trial):
    p = trial.patient("001", start=START)
    pre = trial.ae(p, term="Fatigue", grade=1, onset="2015-01-01", resolution=None)
    worse = trial.ae(p, term="Fatigue", grade=2, onset="2015-01-20")
    same = trial.ae(p, term="Fatigue", grade=1, onset="2015-01-25")
    adae = adae_of(trial)
    assert adae.loc[pre, "TRTEMFL"] == "N"
    assert adae.loc[worse, "TRTEMFL"] == "Y"
    assert adae.loc[same, "TRTEMFL"] == "N"


def test_untreated_patient_has_no_emergent_events(trial):
    p = trial.patient("001", start=START, infusions=0)
    a = trial.ae(p, onset="2015-02-01")
    adae = adae_of(trial)
    assert adae.loc[a, "TRTEMFL"] == "N"
    assert adae.loc[a, "SAFFL"] == "N"


def test_relatedness_dlt_and_duration(trial):
    p = trial.patient("001", start=START)
    rel = {att: trial.ae(p, attribution=att, onset="2015-01-11") for att in
           ("unrelated", "unlikely", "possible", "probable", "definite")}
    timed = trial.ae(p, onset="2015-01-12T20:00", resolution="2015-01-13T08:00", dlt=True, grade=3)
    late = trial.ae(p, onset="2015-03-01", resolution="2015-03")
    trial.follow_up(p, date(2015, 6, 1))  # the latest date in the data is the cut-off
    adae = adae_of(trial)
    assert [adae.loc[rel[a], "AREL"] for a in rel] == ["NOT RELATED"] * 2 + ["RELATED"] * 3
    assert adae.loc[timed, "ADURH"] == 12.0
    assert adae.loc[timed, "ADURN"] == 2  # 12 and 13 January: ADaM counts both days
    assert adae.loc[timed, "AEDLTFL"] == "Y" and adae.loc[timed, "DLTWINFL"] == "Y"
    assert adae.loc[timed, "ATOXGR"] == 3
    assert adae.loc[late, "DLTWINFL"] == "N"  # day 51 > 28-day window
    assert adae.loc[late, "AENDT"].date() == date(2015, 3, 31) and adae.loc[late, "AENDTF"] == "D"


def test_end_imputation_capped_at_death_and_cutoff(trial):
    p = trial.patient("001", start=START)
    a = trial.ae(p, onset="2015-02-01", resolution="2015-02")
    trial.death(p, date(2015, 2, 14))
    adae = adae_of(trial)
    assert adae.loc[a, "AENDT"].date() == date(2015, 2, 14)


def test_events_after_cutoff_are_dropped():
    import sys

    from derive_trial_builder import TrialBuilder, study_with

    t = TrialBuilder()
    p = t.patient("001", start=START)
    before = t.ae(p, onset="2015-02-01")
    t.ae(p, onset="2015-06")
    d = derive_from_source(t.source(study_with(data_cutoff=date(2015, 5, 31))))
    assert list(d.adae["SRCSEQ"]) == [before]
    assert d.cutoff == date(2015, 5, 31)
