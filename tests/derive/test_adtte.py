"""PFS censoring rules (FDA 2018 guidance table), each case by case, and OS."""

from datetime import date, timedelta

import pytest

from earlyphase.derive import derive_from_source

from derive_trial_builder import TrialBuilder, study_with

START = date(2015, 1, 10)


def day(n):
    return START + timedelta(days=n)


def pfs_os(trial, **rules):
    d = derive_from_source(trial.source(study_with(**rules)))
    t = d.adtte.set_index(["PARAMCD", "SUBJID"])
    return t.loc["PFS"], t.loc["OS"]


def baseline(trial, p):
    trial.scan(p, day(-3), {"T1": 40}, baseline=True)


def test_progression_is_event_at_first_pd_scan(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    trial.scan(p, day(56), {"T1": 38})
    pd_scan = trial.scan(p, day(112), {"T1": 50})
    trial.scan(p, day(168), {"T1": 60})
    pfs, _ = pfs_os(trial)
    r = pfs.loc["001"]
    assert (r.CNSR, r.AVAL, r.RULE, r.EVNTDESC, r.SRCDOM, r.SRCSEQ) == (
        0, 112, "PROGRESSION", "DISEASE PROGRESSION", "tumour_assessments", pd_scan)
    assert r.AVALU == "DAYS" and r.AVALM == pytest.approx(112 / 30.4375)


def test_death_without_progression_is_event(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    trial.scan(p, day(56), {"T1": 38})
    trial.death(p, day(80))
    pfs, os_ = pfs_os(trial)
    assert (pfs.loc["001"].CNSR, pfs.loc["001"].AVAL, pfs.loc["001"].RULE) == (0, 80, "DEATH")
    assert (os_.loc["001"].CNSR, os_.loc["001"].AVAL, os_.loc["001"].SRCDOM) == (0, 80, "deaths")


def test_death_can_be_switched_off_as_pfs_event(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    s = trial.scan(p, day(56), {"T1": 38})
    trial.death(p, day(80))
    pfs, _ = pfs_os(trial, death_counts_as_event=False)
    assert (pfs.loc["001"].CNSR, pfs.loc["001"].AVAL, pfs.loc["001"].SRCSEQ) == (1, 56, s)


def test_no_event_censored_at_last_adequate_assessment(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    trial.scan(p, day(56), {"T1": 38})
    last = trial.scan(p, day(112), {"T1": 39})
    trial.scan(p, day(168), {"T1": 39, "T2": None})  # T2 unknown label: still evaluable
    trial.follow_up(p, day(300))
    pfs, os_ = pfs_os(trial)
    r = pfs.loc["001"]
    assert r.CNSR == 1 and r.RULE == "LAST_ADEQUATE_ASSESSMENT"
    assert r.AVAL == 168
    assert (os_.loc["001"].CNSR, os_.loc["001"].AVAL, os_.loc["001"].RULE) == (1, 300, "LAST_KNOWN_ALIVE")


def test_not_evaluable_scan_is_not_adequate(trial):
    p = trial.patient("001", start=START)
    trial.scan(p, day(-3), {"T1": 40, "T2": 10}, baseline=True)
    ok = trial.scan(p, day(56), {"T1": 38, "T2": 10})
    trial.scan(p, day(112), {"T1": 39})  # T2 not measured: NE
    pfs, _ = pfs_os(trial)
    assert (pfs.loc["001"].AVAL, pfs.loc["001"].SRCSEQ) == (56, ok)


def test_no_post_baseline_assessment_censored_at_start(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    trial.follow_up(p, day(200))
    pfs, _ = pfs_os(trial)
    r = pfs.loc["001"]
    assert (r.CNSR, r.AVAL, r.RULE) == (1, 0, "NO_POST_BASELINE")


def test_no_post_baseline_rule_switched_off_uses_last_contact(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    trial.follow_up(p, day(200))
    pfs, _ = pfs_os(trial, censor_no_post_baseline_at_start=False)
    assert (pfs.loc["001"].AVAL, pfs.loc["001"].RULE) == (200, "NO_POST_BASELINE_LAST_CONTACT")


def test_death_before_first_scan_is_event(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    trial.death(p, day(30))
    pfs, _ = pfs_os(trial)
    assert (pfs.loc["001"].CNSR, pfs.loc["001"].AVAL, pfs.loc["001"].RULE) == (0, 30, "DEATH")


def test_new_anticancer_therapy_censors_at_last_assessment_before_it(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    before = trial.scan(p, day(56), {"T1": 38})
    trial.therapy(p, day(90))
    trial.scan(p, day(112), {"T1": 60})
    pfs, _ = pfs_os(trial, censor_at_new_anticancer_therapy=True)
    r = pfs.loc["001"]
    assert (r.CNSR, r.AVAL, r.RULE, r.SRCSEQ) == (1, 56, "NEW_ANTICANCER_THERAPY", before)
    assert r.EVNTDT.date() == day(112)  # the censored progression stays visible
    # the seed study's setting (off): the progression is the event
    pfs_off, _ = pfs_os(trial, censor_at_new_anticancer_therapy=False)
    assert (pfs_off.loc["001"].CNSR, pfs_off.loc["001"].AVAL) == (0, 112)


def test_therapy_not_flagged_new_anticancer_is_ignored(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    trial.scan(p, day(56), {"T1": 38})
    trial.therapy(p, day(90), therapy="antiviral", new_anticancer=False)
    trial.scan(p, day(112), {"T1": 60})
    pfs, _ = pfs_os(trial, censor_at_new_anticancer_therapy=True)
    assert (pfs.loc["001"].CNSR, pfs.loc["001"].RULE) == (0, "PROGRESSION")


def test_event_after_two_missed_assessments_is_censored_at_last_adequate(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    last = trial.scan(p, day(56), {"T1": 38})
    trial.scan(p, day(56 + 3 * 56), {"T1": 60})  # scans at day 112 and 168 missed
    pfs, _ = pfs_os(trial, missed_assessments_limit=2)
    r = pfs.loc["001"]
    assert (r.CNSR, r.AVAL, r.RULE, r.SRCSEQ) == (1, 56, "MISSED_ASSESSMENTS", last)
    # one missed scan only: still an event
    t2 = TrialBuilder()
    q = t2.patient("001", start=START)
    baseline(t2, q)
    t2.scan(q, day(56), {"T1": 38})
    t2.scan(q, day(56 + 2 * 56), {"T1": 60})
    pfs2, _ = pfs_os(t2, missed_assessments_limit=2)
    assert (pfs2.loc["001"].CNSR, pfs2.loc["001"].RULE) == (0, "PROGRESSION")
    # the rule off (the seed study): event
    pfs3, _ = pfs_os(trial, missed_assessments_limit=None)
    assert pfs3.loc["001"].CNSR == 0


def test_start_can_be_allocation(trial):
    p = trial.patient("001", start=START)  # allocated 5 days before the first infusion
    baseline(trial, p)
    trial.scan(p, day(56), {"T1": 60})
    pfs, os_ = pfs_os(trial, start="allocation")
    assert pfs.loc["001"].AVAL == 61
    assert pfs.loc["001"].STARTDT.date() == day(-5)


def test_cutoff_ignores_later_events_and_censors_os_at_cutoff(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    ok = trial.scan(p, day(56), {"T1": 38})
    trial.scan(p, day(112), {"T1": 60})
    trial.death(p, day(400))
    pfs, os_ = pfs_os(trial, data_cutoff=day(100))
    assert (pfs.loc["001"].CNSR, pfs.loc["001"].SRCSEQ) == (1, ok)
    # died after the cut-off: alive at it
    assert (os_.loc["001"].CNSR, os_.loc["001"].AVAL) == (1, 100)


def test_death_long_after_start_without_any_scan_is_censored_at_start_when_missed_rule_on(trial):
    p = trial.patient("001", start=START)
    baseline(trial, p)
    trial.death(p, day(200))  # > 2 x 56 + 7 days with no assessment at all
    pfs, os_ = pfs_os(trial, missed_assessments_limit=2)
    r = pfs.loc["001"]
    assert (r.CNSR, r.AVAL, r.RULE) == (1, 0, "MISSED_ASSESSMENTS")
    assert os_.loc["001"].CNSR == 0  # OS still counts the death
    pfs_off, _ = pfs_os(trial, missed_assessments_limit=None)
    assert (pfs_off.loc["001"].CNSR, pfs_off.loc["001"].RULE) == (0, "DEATH")
