"""Response rules, one case each (mRECIST: Lencioni & Llovet 2010; RECIST 1.1: Eisenhauer 2009)."""

from datetime import date, timedelta

import pytest

from earlyphase.derive import best_overall_response, derive_from_source, visit_response

from derive_trial_builder import TrialBuilder, study_with

START = date(2015, 1, 10)


def resp(criteria="mRECIST", baseline=100.0, nadir=100.0, current=100.0, missing=False, nt=(), new=False):
    return visit_response(criteria=criteria, baseline_sum=baseline, nadir=nadir, target_sum=current,
                          targets_missing=missing, nontarget_status=list(nt), new_lesion=new).response


def test_partial_response_is_30_percent_decrease_from_baseline():
    assert resp(current=70.0) == "PR"
    assert resp(current=70.5) == "SD"


def test_progression_is_20_percent_over_nadir_not_baseline():
    assert resp(baseline=100, nadir=50, current=60) == "PD"  # +20% over nadir, still -40% vs baseline
    assert resp(baseline=100, nadir=50, current=59.5) == "PR"


def test_recist_needs_5mm_absolute_increase_mrecist_does_not():
    assert resp("mRECIST", baseline=20, nadir=10, current=12) == "PD"
    assert resp("RECIST 1.1", baseline=20, nadir=10, current=12) == "PR"
    assert resp("RECIST 1.1", baseline=20, nadir=10, current=15) == "PD"


def test_new_lesion_and_unequivocal_nontarget_progression_are_pd():
    assert resp(current=10, new=True) == "PD"
    assert resp(current=10, nt=["unequivocal progression"]) == "PD"


def test_complete_response_needs_all_lesions_gone():
    assert resp(current=0, nt=["absent"]) == "CR"
    assert resp(current=0) == "CR"
    assert resp(current=0, nt=["present"]) == "PR"


def test_unmeasured_target_is_not_evaluable_unless_pd():
    assert resp(current=80, missing=True) == "NE"
    assert resp(current=80, missing=True, new=True) == "PD"


def test_nontarget_only_disease():
    r = visit_response(criteria="mRECIST", baseline_sum=None, nadir=None, target_sum=None, targets_missing=False,
                       nontarget_status=["present"], new_lesion=False)
    assert r.response == "NON-CR/NON-PD"


D0 = date(2015, 1, 1)


def visits(*pairs):
    return [(D0 + timedelta(days=d), r) for d, r in pairs]


def test_bor_confirmed_pr_needs_second_pr_at_least_4_weeks_later():
    assert best_overall_response(visits((56, "PR"), (84, "PR")), D0)[0] == "PR"
    assert best_overall_response(visits((56, "PR"), (70, "PR")), D0)[0] == "SD"  # 14 days: not confirmed
    assert best_overall_response(visits((56, "PR"), (112, "PD")), D0)[0] == "SD"


def test_bor_confirmed_cr_and_cr_then_pr_is_pr():
    assert best_overall_response(visits((56, "CR"), (112, "CR")), D0)[0] == "CR"
    assert best_overall_response(visits((56, "CR"), (112, "PR")), D0)[0] == "PR"


def test_bor_sd_needs_minimum_duration_else_pd_or_ne():
    assert best_overall_response(visits((30, "SD"), (60, "PD")), D0)[0] == "PD"
    assert best_overall_response(visits((30, "SD")), D0)[0] == "NE"
    assert best_overall_response(visits((56, "SD"), (112, "PD")), D0)[0] == "SD"


def test_bor_ignores_visits_after_progression():
    assert best_overall_response(visits((56, "PD"), (112, "PR"), (140, "PR")), D0)[0] == "PD"


def test_adrs_from_lesions_end_to_end(trial):
    p = trial.patient("001", start=START)
    trial.scan(p, START - timedelta(days=3), {"T1": 40, "T2": 20}, nontarget={"N1": "present"}, baseline=True)
    a1 = trial.scan(p, START + timedelta(days=56), {"T1": 20, "T2": 10}, nontarget={"N1": "present"})
    a2 = trial.scan(p, START + timedelta(days=112), {"T1": 20, "T2": 8}, nontarget={"N1": "present"})
    a3 = trial.scan(p, START + timedelta(days=168), {"T1": 20, "T2": 8}, new=True, nontarget={"N1": "present"})
    adrs = derive_from_source(trial.source()).adrs
    per = adrs[adrs.PARAMCD == "OVRLRESP"].set_index("SRCSEQ")
    assert list(per.loc[[a1, a2, a3], "AVALC"]) == ["PR", "PR", "PD"]
    assert per.loc[a1, "PCHG"] == pytest.approx(-50.0)
    bor = adrs[adrs.PARAMCD == "BOR"].iloc[0]
    assert (bor.AVALC, bor.SRCSEQ, bor.CONFSEQ, bor.RSPFL, bor.DCRFL) == ("PR", a1, a2, "Y", "Y")


def test_visit_without_lesions_uses_investigator_response(trial):
    p = trial.patient("001", start=START)
    trial.scan(p, START - timedelta(days=3), {"T1": 40}, baseline=True)
    a = trial.scan(p, START + timedelta(days=56), investigator="PD")
    adrs = derive_from_source(trial.source()).adrs
    row = adrs[(adrs.PARAMCD == "OVRLRESP")].iloc[0]
    assert (row.SRCSEQ, row.AVALC, row.RSSRC) == (a, "PD", "INVESTIGATOR")


def test_recist_study_applies_5mm_rule_through_derivation():
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, START - timedelta(days=3), {"T1": 20}, baseline=True)
    t.scan(p, START + timedelta(days=56), {"T1": 10})
    a = t.scan(p, START + timedelta(days=112), {"T1": 13})
    for criteria, expected in (("RECIST 1.1", "PR"), ("mRECIST", "PD")):
        adrs = derive_from_source(t.source(study_with(response_criteria=criteria))).adrs
        assert adrs.set_index("SRCSEQ").loc[a, "AVALC"] == expected
