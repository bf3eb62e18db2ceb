"""Response criteria chosen per study, checked on hand-worked patient histories.

Each history is worked out by hand from the published definitions, and each test names the rule it checks:
RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247: section 3.2 on lymph nodes, section 4.3 on target and
non-target response, Tables 1-3 on overall and best response), mRECIST (Lencioni & Llovet 2010) and iRECIST
(Seymour et al., Lancet Oncol 2017;18:e143-e152: Table 2 on timepoint responses after iUPD, Table 3 on best
overall response; the RECIST working group's iRECIST FAQ on assessments less than 4 weeks after iUPD and on
sequential increases adding up).
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from derive_trial_builder import TrialBuilder, study_with
from earlyphase.derive import best_overall_response, derive_from_source
from earlyphase.derive.response import (
    IrecistVisit,
    LesionMeasure,
    VisitFindings,
    irecist_responses,
    summarise_visit,
)

START = date(2015, 1, 10)


def day(n: int) -> date:
    return START + timedelta(days=n)


def derived(t: TrialBuilder, criteria: str):
    ds = derive_from_source(t.source(study_with(response_criteria=criteria)))
    visits = ds.adrs[ds.adrs["PARAMCD"] == "OVRLRESP"].set_index("SRCSEQ")
    bor = ds.adrs[ds.adrs["PARAMCD"] == "BOR"].set_index("SUBJID")
    return ds, visits, bor


# ---------------------------------------------------------------------------------------- RECIST 1.1 nodes
def test_target_nodes_under_10_mm_make_a_complete_response_with_a_sum_above_zero():
    # RECIST 1.1 4.3.1: CR = all non-nodal targets gone AND every target node < 10 mm short axis; the node's actual
    # short axis stays in the sum, so the sum of a CR need not be 0.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 20}, nodes={"L1": 20}, baseline=True)          # sum 40 mm
    a1 = t.scan(p, day(56), {"T1": 0}, nodes={"L1": 8})                       # sum 8: CR
    a2 = t.scan(p, day(112), {"T1": 0}, nodes={"L1": 9})                      # sum 9: CR (confirms)
    _, visits, bor = derived(t, "RECIST 1.1")
    assert list(visits.loc[[a1, a2], "AVALC"]) == ["CR", "CR"]
    assert visits.loc[a1, "TSUM"] == 8 and visits.loc[a1, "RULE"] == "ALL_GONE_CR"
    assert visits.loc[a1, "RSCRIT"] == "RECIST 1.1"
    assert (bor.loc["001", "AVALC"], bor.loc["001", "CONFSEQ"], bor.loc["001", "RULE"]) == ("CR", a2, "CONFIRMED_CR")


def test_a_target_node_of_10_mm_is_still_disease():
    # RECIST 1.1: "< 10 mm" is normal; 10 mm is not. Targets not all normal -> PR by the sum (20 -> 10 <= 70%).
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 20}, nodes={"L1": 16}, baseline=True)          # sum 36
    a = t.scan(p, day(56), {"T1": 0}, nodes={"L1": 10})                       # sum 10 <= 25.2: PR, not CR
    _, visits, _ = derived(t, "RECIST 1.1")
    assert (visits.loc[a, "AVALC"], visits.loc[a, "RULE"]) == ("PR", "TARGET_SUM_PR")


def test_sum_uses_short_axis_of_nodes_for_response_and_progression():
    # RECIST 1.1 3.2: nodes contribute their short axis to the sum. Baseline 30 + 20 = 50; 15 + 15 = 30 <= 35: PR.
    # Nadir 30; 26 + 11 = 37 >= 36 and +7 mm >= 5: PD.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 30}, nodes={"L1": 20}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 15}, nodes={"L1": 15})
    a2 = t.scan(p, day(112), {"T1": 26}, nodes={"L1": 11})
    _, visits, bor = derived(t, "RECIST 1.1")
    assert list(visits.loc[[a1, a2], "TSUM"]) == [30, 37]
    assert list(visits.loc[[a1, a2], "AVALC"]) == ["PR", "PD"]
    assert visits.loc[a2, "PROGFL"] == "Y" and visits.loc[a2, "RULE"] == "TARGET_SUM_PD"
    assert bor.loc["001", "AVALC"] == "SD"  # the PR was not confirmed (PD next), but it lasted >= 42 days


def test_node_growth_needs_20_percent_and_5_mm():
    # RECIST 1.1 4.3.1: PD needs >= 20% over the nadir AND >= 5 mm absolute. Node 16 -> 20 (+25%, +4 mm): SD;
    # 16 -> 21 (+31%, +5 mm): PD. Under mRECIST (no 5 mm rule) 20 mm is already PD.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), nodes={"L1": 16}, baseline=True)
    a1 = t.scan(p, day(56), nodes={"L1": 20})
    a2 = t.scan(p, day(112), nodes={"L1": 21})
    _, visits, _ = derived(t, "RECIST 1.1")
    assert list(visits.loc[[a1, a2], "AVALC"]) == ["SD", "PD"]
    _, visits, _ = derived(t, "mRECIST")
    assert visits.loc[a1, "AVALC"] == "PD"


def test_nontarget_nodes_under_10_mm_are_non_pathological():
    # RECIST 1.1 4.3.2: non-target CR needs every node non-pathological (< 10 mm short axis). A non-target node of
    # 12 mm still present with all targets gone is PR (Table 1: target CR + non-target non-CR/non-PD); at 8 mm it
    # counts as gone: CR.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 20}, nontarget_nodes={"L2": ("present", 12)}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 0}, nontarget_nodes={"L2": ("present", 12)})
    a2 = t.scan(p, day(112), {"T1": 0}, nontarget_nodes={"L2": ("present", 8)})
    _, visits, _ = derived(t, "RECIST 1.1")
    assert list(visits.loc[[a1, a2], "AVALC"]) == ["PR", "CR"]
    assert visits.loc[a1, "RULE"] == "TARGET_CR_NONTARGET_PRESENT"


def test_unassessed_nontarget_lesion_prevents_complete_response():
    # RECIST 1.1 Table 1: target CR with non-target disease "not evaluated" is PR, not CR.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 20}, nontarget={"N1": "present"}, baseline=True)
    a = t.scan(p, day(56), {"T1": 0})                                          # N1 not assessed
    _, visits, _ = derived(t, "RECIST 1.1")
    assert visits.loc[a, "AVALC"] == "PR" and "not assessed" in visits.loc[a, "RSREAS"]


def test_missing_target_is_ne_unless_the_measured_ones_already_progress():
    # RECIST 1.1 4.4 / Table 1: a visit with a baseline target not measured is NE, unless progression is shown
    # anyway: the measured targets alone are >= 120% of the nadir and >= 5 mm above it.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 30, "T2": 20}, baseline=True)                   # nadir 50
    a1 = t.scan(p, day(56), {"T1": 40, "T2": None})                           # 40 alone < 60: NE
    a2 = t.scan(p, day(112), {"T1": 61, "T2": None})                          # 61 alone >= 60 and +11: PD
    _, visits, _ = derived(t, "RECIST 1.1")
    assert list(visits.loc[[a1, a2], "AVALC"]) == ["NE", "PD"]
    assert list(visits.loc[[a1, a2], "RULE"]) == ["TARGET_NOT_MEASURED", "PARTIAL_TARGET_SUM_PD"]


# ---------------------------------------------------------------------------- best response and NE
def visits(*pairs):
    return [(START + timedelta(days=d), r) for d, r in pairs]


def test_ne_between_response_and_confirmation():
    # Rule: confirmation comes from the next evaluable assessment >= 28 days later; one NE in between is skipped.
    bor = best_overall_response(visits((56, "PR"), (84, "NE"), (112, "PR")), START)
    assert (bor.response, bor.index, bor.confirm_index, bor.rule) == ("PR", 0, 2, "CONFIRMED_PR_AFTER_NE")
    bor = best_overall_response(visits((56, "CR"), (84, "NE"), (112, "CR")), START)
    assert (bor.response, bor.rule) == ("CR", "CONFIRMED_CR_AFTER_NE")
    # two NEs in between: not confirmed (an unconfirmed PR >= 42 days after the start counts as SD) ...
    bor = best_overall_response(visits((56, "PR"), (84, "NE"), (112, "NE"), (140, "PR")), START)
    assert (bor.response, bor.rule) == ("SD", "UNCONFIRMED_PR_AS_SD")
    # ... unless the study allows two
    assert best_overall_response(visits((56, "PR"), (84, "NE"), (112, "NE"), (140, "PR")), START, max_ne=2)[0] == "PR"


def test_any_other_assessment_between_ends_the_chance_of_confirmation():
    # RECIST 1.1 Table 3: PR then SD is SD; the later PR would need its own confirmation.
    bor = best_overall_response(visits((56, "PR"), (84, "SD"), (112, "PR")), START)
    assert (bor.response, bor.index) == ("SD", 0)
    # an early repeat (< 28 days) neither confirms nor breaks: the next one >= 28 days confirms
    bor = best_overall_response(visits((56, "CR"), (70, "CR"), (98, "CR")), START)
    assert (bor.response, bor.confirm_index, bor.rule) == ("CR", 2, "CONFIRMED_CR")


def test_response_before_42_days_without_confirmation_is_not_evaluable():
    # RECIST 1.1 4.4: SD must be at least 42 days (protocol minimum) after the start to count.
    bor = best_overall_response(visits((28, "PR"), (50, "NE")), START)
    assert (bor.response, bor.rule) == ("NE", "SD_TOO_EARLY")
    assert best_overall_response([], START).rule == "NO_EVALUABLE_VISIT"


def test_ne_visit_between_response_and_confirmation_end_to_end():
    # The same rule through ADRS: PR (sum 30 of 50) at day 56, T2 not measured at day 84 (NE), PR at day 112.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 30, "T2": 20}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 18, "T2": 12})
    a2 = t.scan(p, day(84), {"T1": 18, "T2": None})
    a3 = t.scan(p, day(112), {"T1": 17, "T2": 12})
    _, v, bor = derived(t, "RECIST 1.1")
    assert list(v.loc[[a1, a2, a3], "AVALC"]) == ["PR", "NE", "PR"]
    row = bor.loc["001"]
    assert (row.AVALC, row.SRCSEQ, row.CONFSEQ, row.RULE, row.RSPFL) == ("PR", a1, a3, "CONFIRMED_PR_AFTER_NE", "Y")
    assert "after an NE visit" in row.RSREAS and row.RSCRIT == "RECIST 1.1"


# ------------------------------------------------------------------------------------------- iRECIST
def _pfs(ds):
    adtte = ds.adtte
    return adtte[adtte["PARAMCD"] == "PFS"].set_index("SUBJID").loc["001"]


def test_irecist_iupd_confirmed_by_further_target_growth():
    # iRECIST Table 2: target iUPD is confirmed (iCPD) by a further increase of the sum >= 5 mm at the next
    # assessment 4-8 weeks later. Baseline 60; 45 (nadir, iSD); 60 >= 54 and +15: iUPD; 65 (+5 over 60): iCPD.
    # The date of progression is the iUPD's.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40, "T2": 20}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 30, "T2": 15})
    a2 = t.scan(p, day(112), {"T1": 40, "T2": 20})
    a3 = t.scan(p, day(154), {"T1": 44, "T2": 21})
    ds, v, bor = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2, a3], "AVALC"]) == ["iSD", "iUPD", "iCPD"]
    assert list(v.loc[[a1, a2, a3], "RULE"]) == ["TARGET_SUM_SD", "IUPD", "ICPD"]
    assert v.loc[a2, "PROGFL"] == "Y" and v.loc[a2, "CONFSEQ"] == a3 and v.loc[a3, "RSCRIT"] == "iRECIST"
    assert bor.loc["001", "AVALC"] == "iSD" and v.loc[a1, "PARAM"] == "Overall response by iRECIST"
    pfs = _pfs(ds)
    assert (pfs.CNSR, pfs.ADT.date(), pfs.RULE) == (0, day(112), "PROGRESSION")


def test_irecist_iupd_not_confirmed_resets():
    # iRECIST: iUPD followed by no further progression and the sum back below progression resets; a later
    # progression is a new iUPD needing its own confirmation. 60 -> 45 (iSD, nadir) -> 60 (iUPD) -> 46 (reset, iSD)
    # -> 60 (iUPD again: >= 120% of the nadir 45 and +15) -> 61 (+1: no confirmation, remains iUPD).
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40, "T2": 20}, baseline=True)
    ids = [t.scan(p, day(d), {"T1": a, "T2": b}) for d, (a, b) in
           zip((56, 112, 154, 210, 252), ((30, 15), (40, 20), (31, 15), (40, 20), (41, 20)))]
    ds, v, bor = derived(t, "iRECIST")
    assert list(v.loc[ids, "AVALC"]) == ["iSD", "iUPD", "iSD", "iUPD", "iUPD"]
    assert list(v.loc[ids, "RULE"]) == ["TARGET_SUM_SD", "IUPD", "IUPD_RESET", "IUPD", "IUPD_REMAINS"]
    assert v.loc[ids, "PROGFL"].isna().all()  # nothing confirmed: no progression dated
    assert bor.loc["001", "AVALC"] == "iSD"
    pfs = _pfs(ds)
    assert (pfs.CNSR, pfs.ADT.date()) == (1, day(154))  # censored at the last assessment without progression


def test_irecist_new_lesion_iupd_remains_then_growth_adds_up_to_confirmation():
    # iRECIST Table 2: with new lesions and no change in them the response remains iUPD; their sum growing by
    # >= 5 mm confirms. FAQ: sequential increases add up (10 -> 12 -> 15 mm is +5 over the iUPD).
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 35}, new_lesions={"N1": 10})
    a2 = t.scan(p, day(98), {"T1": 35}, new_lesions={"N1": 12})
    a3 = t.scan(p, day(140), {"T1": 34}, new_lesions={"N1": 15})
    ds, v, _ = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2, a3], "AVALC"]) == ["iUPD", "iUPD", "iCPD"]
    assert v.loc[a2, "RULE"] == "IUPD_REMAINS" and "new lesions' sum 15" in v.loc[a3, "RSREAS"]
    assert v.loc[a1, "CONFSEQ"] == a3 and _pfs(ds).ADT.date() == day(56)


def test_irecist_additional_new_lesion_confirms():
    # iRECIST Table 2: an increase in the number of new lesions confirms iCPD.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 38}, new_lesions={"N1": 10})
    a2 = t.scan(p, day(98), {"T1": 38}, new_lesions={"N1": 10, "N2": "present"})
    _, v, bor = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2], "AVALC"]) == ["iUPD", "iCPD"]
    assert bor.loc["001", "AVALC"] == "iCPD" and bor.loc["001", "RULE"] == "PROGRESSION"


def test_irecist_new_lesion_gone_and_targets_shrinking_resets_to_response():
    # iRECIST Table 3, example 3: iUPD then iPR. The new lesion has resolved and the sum is <= 70% of baseline.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 36}, new_lesions={"N1": 10})
    a2 = t.scan(p, day(98), {"T1": 26}, new_lesions={"N1": 0})
    a3 = t.scan(p, day(140), {"T1": 24})
    _, v, bor = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2, a3], "AVALC"]) == ["iUPD", "iPR", "iPR"]
    assert v.loc[a2, "RULE"] == "IUPD_RESET"
    assert (bor.loc["001", "AVALC"], bor.loc["001", "CONFSEQ"]) == ("iPR", a3)


def test_irecist_assessment_within_4_weeks_neither_confirms_nor_resets():
    # iRECIST FAQ: scans less than 4 weeks after iUPD are disregarded for confirmation; the next one confirms.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 50})                                       # >= 48 and +10: iUPD
    a2 = t.scan(p, day(77), {"T1": 60})                                       # 21 days later: too early
    a3 = t.scan(p, day(91), {"T1": 60})                                       # 35 days: +10 over 50: iCPD
    _, v, _ = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2, a3], "AVALC"]) == ["iUPD", "iUPD", "iCPD"]
    assert v.loc[a2, "RULE"] == "IUPD_TOO_EARLY"


def test_irecist_nontarget_iupd():
    # iRECIST Table 2: non-target iUPD remains iUPD while unchanged (still unequivocal, no further increase) and is
    # confirmed by any further increase ("increased"; need not be unequivocal).
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40}, nontarget={"N1": "present"}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 38}, nontarget={"N1": "unequivocal progression"})
    a2 = t.scan(p, day(98), {"T1": 38}, nontarget={"N1": "unequivocal progression"})
    a3 = t.scan(p, day(140), {"T1": 38}, nontarget={"N1": "increased"})
    _, v, _ = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2, a3], "AVALC"]) == ["iUPD", "iUPD", "iCPD"]
    assert "non-target" in v.loc[a3, "RSREAS"]


def test_irecist_progression_in_another_category_confirms():
    # iRECIST: target iUPD, then non-target unequivocal progression (RECIST PD in a category that was not) confirms.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40}, nontarget={"N1": "present"}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 50}, nontarget={"N1": "present"})
    a2 = t.scan(p, day(98), {"T1": 50}, nontarget={"N1": "unequivocal progression"})
    _, v, _ = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2], "AVALC"]) == ["iUPD", "iCPD"]


def test_irecist_ne_leaves_iupd_pending_and_unconfirmed_iupd_can_be_best_response():
    # iRECIST Table 3, example 8: iUPD followed only by NE: best response iUPD; PFS has no confirmed progression.
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40, "T2": 20}, baseline=True)
    a1 = t.scan(p, day(56), {"T1": 55, "T2": 20})
    a2 = t.scan(p, day(98), {"T1": 56, "T2": None})
    ds, v, bor = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2], "AVALC"]) == ["iUPD", "NE"]
    row = bor.loc["001"]
    assert (row.AVALC, row.SRCSEQ, row.RULE, row.DCRFL) == ("iUPD", a1, "IUPD_UNCONFIRMED", "N")
    assert _pfs(ds).CNSR == 1


def test_irecist_investigator_responses_follow_the_same_confirmation():
    t = TrialBuilder()
    p = t.patient("001", start=START)
    t.scan(p, day(-3), {"T1": 40}, baseline=True)
    a1 = t.scan(p, day(56), investigator="iUPD")
    a2 = t.scan(p, day(98), investigator="iCPD")
    ds, v, _ = derived(t, "iRECIST")
    assert list(v.loc[[a1, a2], "AVALC"]) == ["iUPD", "iCPD"]
    assert list(v.loc[[a1, a2], "RSSRC"]) == ["INVESTIGATOR", "INVESTIGATOR"]
    assert v.loc[a1, "PROGFL"] == "Y" and _pfs(ds).ADT.date() == day(56)


# iRECIST Table 3 (the paper's eight examples; the table assumes CR/PR need no confirmation). Cells listing several
# responses are expanded: every combination must give the table's iBOR.
TABLE_3 = [
    (["iCR", ["iCR", "iPR", "iUPD", "NE"], ["iCR", "iPR", "iUPD", "NE"], "iUPD", "iCPD"], "iCR"),
    (["iUPD", ["iPR", "iSD", "NE"], "iCR", ["iCR", "iUPD", "NE"], ["iCR", "iPR", "iSD", "iUPD", "iCPD", "NE"]], "iCR"),
    (["iUPD", "iPR", ["iPR", "iSD", "iUPD", "NE"], ["iPR", "iSD", "iUPD", "NE", "iCPD"],
      ["iPR", "iSD", "iUPD", "NE", "iCPD"]], "iPR"),
    (["iUPD", ["iSD", "NE"], "iPR", ["iPR", "iSD", "iUPD", "NE"], ["iPR", "iSD", "iUPD", "iCPD", "NE"]], "iPR"),
    (["iUPD", "iSD", ["iSD", "iUPD", "NE"], ["iSD", "iUPD", "iCPD", "NE"], ["iSD", "iUPD", "iCPD", "NE"]], "iSD"),
    (["iUPD", "iCPD", "iCR", "iCR", "iCR"], "iCPD"),  # "any" after iCPD: later visits do not count
    (["iUPD", "iUPD", "iCPD", "iPR", "iPR"], "iCPD"),
    (["iUPD", "NE", "NE", "NE", "NE"], "iUPD"),
]


@pytest.mark.parametrize("example", range(len(TABLE_3)), ids=[f"example {i + 1}" for i in range(len(TABLE_3))])
def test_irecist_table_3_best_overall_response(example):
    cells, expected = TABLE_3[example]
    options = [c if isinstance(c, list) else [c] for c in cells]
    for sequence in itertools.product(*options):
        # visits 8 weeks apart, so stable disease from the second visit on lasts long enough
        seq = [(START + timedelta(days=56 * (k + 1)), r) for k, r in enumerate(sequence)]
        got = best_overall_response(seq, START, criteria="iRECIST", confirm_responses=False)
        assert got.response == expected, sequence


def test_irecist_best_response_with_confirmation():
    # With confirmation (the default for a non-randomised trial): iPR confirmed by the next evaluable iPR/iCR
    # >= 28 days later; an iUPD in between ends the chance of confirmation.
    seq = visits((56, "iUPD"), (112, "iPR"), (168, "iPR"))
    assert best_overall_response(seq, START, criteria="iRECIST")[:3] == ("iPR", 1, 2)
    seq = visits((56, "iPR"), (112, "iUPD"), (168, "iPR"))
    assert best_overall_response(seq, START, criteria="iRECIST").response == "iSD"


# ---------------------------------------------------------------------------------------- pure pieces
def test_summarise_visit_reads_nodes_and_new_lesions():
    base = [LesionMeasure("T1", "target", 20.0), LesionMeasure("L1", "target", 18.0, node=True),
            LesionMeasure("N1", "non-target", node=True, size_mm=12.0, status="present")]
    f = summarise_visit(base, [LesionMeasure("T1", "target", 0.0), LesionMeasure("L1", "target", 9.0, node=True),
                               LesionMeasure("N1", "non-target", 7.0, node=True, status="present"),
                               LesionMeasure("X1", "new", 0.0), LesionMeasure("X2", "new", status="increased")])
    assert f == VisitFindings(target_sum=9.0, targets_missing=False, targets_normal=True,
                              nontarget_status=("absent",), new_labels=frozenset({"X2"}), new_sum=0.0,
                              new_growing=True)


def test_irecist_sequence_without_target_disease():
    # Non-target disease only (RECIST 1.1 Table 2 in i-categories): NON-iCR/NON-iUPD, then unequivocal
    # progression (iUPD), then a further increase (iCPD).
    def nt(status):
        return VisitFindings(target_sum=None, nontarget_status=(status,))

    out = irecist_responses([IrecistVisit(day(56), nt("present")), IrecistVisit(day(112), nt("unequivocal progression")),
                             IrecistVisit(day(154), nt("increased"))], baseline_sum=None)
    assert [r.response for r in out] == ["NON-iCR/NON-iUPD", "iUPD", "iCPD"] and out[2].confirms == 1
