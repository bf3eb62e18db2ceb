"""R's input conventions in the Python API: levels, missing values, event coding, timefix, rows, labels.

Values that R computes come from the reference files (see test_r_datasets_cli.py for R's own data);
here the conventions themselves are checked: order, refusals, messages and what is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from earlyphase.errors import InputError
from earlyphase.stats import (
    concordance_index,
    cox_ph,
    kaplan_meier,
    logrank_test,
    median_followup,
    nelson_aalen,
    permutation_logrank,
    rmst,
)
from earlyphase.stats.cases import TIMEFIX_TOLERANCE, apply_timefix, prepare_cases
from earlyphase.stats.distributions import chi2_sf, normal_quantile
from earlyphase.stats.labels import encode_labels, format_label

from survival_reference import assert_close, load_reference

T = np.array([5.0, 8, 3, 9, 12, 4, 7, 15, 6, 11, 2, 10])
E = np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0])
G = np.array(["lo", "hi", "mid"] * 4)


def test_labels_print_as_r_prints_them():
    assert [format_label(v) for v in (1.0, 2.5, np.float64(3.0), True, 7, "x", 1e20)] == ["1", "2.5", "3", "TRUE", "7", "x", "1e+20"]
    km = kaplan_meier(T, E, group=np.array([1.0, 2.0] * 6))
    assert km.groups == ["1", "2"]
    fit = cox_ph(T, E, {"ecog": pd.Categorical(np.array([0.0, 1.0, 2.0] * 4))}, zph=False)
    assert fit.names == ("ecog1", "ecog2")  # never "ecog1.0"


def test_level_order_categorical_numeric_explicit():
    cat = pd.Series(pd.Categorical(G, categories=["lo", "mid", "hi"], ordered=True))
    assert kaplan_meier(T, E, group=cat).groups == ["lo", "mid", "hi"]
    assert kaplan_meier(T, E, group=G).groups == ["hi", "lo", "mid"]  # text: alphabetical
    assert kaplan_meier(T, E, group=G, levels=["mid", "lo", "hi"]).groups == ["mid", "lo", "hi"]
    assert kaplan_meier(T, E, group=np.array(["10", "9", "100"] * 4)).groups == ["9", "10", "100"]
    lv = encode_labels(pd.Categorical(["b", "a"], categories=["z", "b", "a"]), 2, "g")
    assert lv.labels == ["b", "a"] and lv.kind == "categorical"  # unused category dropped, order kept
    fit = cox_ph(T, E, {"arm": G}, levels={"arm": ["mid", "lo", "hi"]}, zph=False)
    assert fit.names == ("armlo", "armhi")  # the first level is the reference


def test_explicit_levels_are_checked():
    with pytest.raises(InputError, match="not among the levels"):
        kaplan_meier(T, E, group=G, levels=["lo", "mid"])
    with pytest.raises(InputError, match="reference"):
        kaplan_meier(T, E, group=G, levels=["none", "lo", "mid", "hi"])
    with pytest.raises(InputError, match="more than once"):
        kaplan_meier(T, E, group=G, levels=["lo", "lo", "mid", "hi"])


def test_trend_needs_an_order_for_text_labels():
    with pytest.raises(InputError, match="levels"):
        logrank_test(T, E, G, trend=True)
    ordered = logrank_test(T, E, G, trend=True, levels=["lo", "mid", "hi"])
    scored = logrank_test(T, E, G, trend=True, scores=[3, 1, 2])  # hi, lo, mid in alphabetical order
    assert ordered.statistic == pytest.approx(scored.statistic, rel=1e-12)
    numeric = logrank_test(T, E, np.array([1, 2, 3] * 4), trend=True)
    assert numeric.scores == (1.0, 2.0, 3.0)
    cat = pd.Series(pd.Categorical(G, categories=["lo", "mid", "hi"], ordered=True))
    assert logrank_test(T, E, cat, trend=True).statistic == pytest.approx(ordered.statistic, rel=1e-12)


def test_na_action_omit_counts_and_fail_names_the_row():
    t = T.copy()
    t[[2, 7]] = np.nan
    g = G.astype(object)
    g[4] = None
    with pytest.raises(InputError) as exc:
        kaplan_meier(t, E, group=g)
    assert exc.value.problems[0].row == 3 and "na_action" in exc.value.problems[0].message
    km = kaplan_meier(t, E, group=g, na_action="omit")
    assert km.n_omitted == 3 and sum(c.n for c in km.curves) == 9
    assert "(3 observations deleted due to missingness)" in km.summary()
    full = kaplan_meier(np.delete(T, [2, 4, 7]), np.delete(E, [2, 4, 7]), group=np.delete(G, [2, 4, 7]))
    np.testing.assert_equal([c.median for c in km.curves], [c.median for c in full.curves])
    for result in (logrank_test(t, E, g, na_action="omit"), rmst(t, E, 6, group=g, na_action="omit"),
                   nelson_aalen(t, E, group=g, na_action="omit"), median_followup(t, E, group=g, na_action="omit"),
                   permutation_logrank(t, E, g, na_action="omit", permutations=50, seed=1),
                   cox_ph(t, E, {"arm": g}, na_action="omit", zph=False)):
        assert result.n_omitted == 3 and result.to_dict()["n_omitted"] == 3
    assert concordance_index(t, E, np.arange(12.0), na_action="omit").n_omitted == 2  # no group: only the times


def test_rows_count_from_one_and_refer_to_the_input():
    t = np.array([np.nan, 1.0, -2.0, 3.0])
    with pytest.raises(InputError) as exc:
        kaplan_meier(t, [1, 1, 1, 0], na_action="omit")  # row 1 is left out; the negative time is row 3
    assert exc.value.problems[0].row == 3 and "row 3" in exc.value.problems[0].message
    with pytest.raises(InputError) as exc:
        kaplan_meier([1.0, 2.0, 3.0], [1, 5, 1])
    assert exc.value.problems[0].row == 2


def test_entry_not_before_exit_is_left_out_under_omit_and_messages_are_plain():
    entry = np.array([0.0, 95.0, 1.0])
    with pytest.raises(InputError) as exc:
        kaplan_meier([10.0, 95.0, 20.0], [1, 1, 0], entry=entry)
    text = str(exc.value)
    assert "np.float64" not in text and "row 2" in text
    km = kaplan_meier([10.0, 95.0, 20.0], [1, 1, 0], entry=entry, na_action="omit")
    assert km.n_omitted == 1


def test_event_coding():
    a = kaplan_meier(T, E + 1)  # 1/2 as R's Surv: 2 = event
    b = kaplan_meier(T, E)
    np.testing.assert_equal(a.curves[0].median, b.curves[0].median)
    assert any("1/2" in n for n in a.notes)
    three = np.where(E == 1, 2, np.arange(12) % 2)  # 0/1/2: 2 = death
    with pytest.raises(InputError, match="event_value"):
        kaplan_meier(T, three)
    c = kaplan_meier(T, three, event_value=2)
    np.testing.assert_equal(c.curves[0].median, b.curves[0].median)
    d = kaplan_meier(T, np.where(E == 1, "dead", "alive"), event_value="dead")
    np.testing.assert_equal(d.curves[0].median, b.curves[0].median)
    with pytest.raises(InputError, match="no row"):
        kaplan_meier(T, E, event_value=7)


def test_timefix_merges_near_ties_as_aeqsurv():
    t = np.array([1.0, 1.0 + 1e-12, 2.0, 3.0, 3.0 * (1 + 1e-9), 4.0])
    new, _, changed = apply_timefix(t)
    assert changed == 2 and new[1] == 1.0 and new[4] == 3.0
    assert apply_timefix(np.array([1.0, 2.0, 3.0]))[2] == 0
    assert TIMEFIX_TOLERANCE == pytest.approx(1.4901161193847656e-08)
    e = np.ones(6)
    merged = kaplan_meier(t, e)
    raw = kaplan_meier(t, e, timefix=False)
    assert len(merged.curves[0].time) == 4 and len(raw.curves[0].time) == 6
    assert any("timefix" in n for n in merged.notes)
    with pytest.raises(InputError, match="timefix"):
        prepare_cases(np.array([2.0, 5.0]), np.array([1, 1]), {"entry": np.array([2.0 - 1e-12, 1.0])}, timefix=True)


def test_median_rule_matches_both_r_functions():
    ref = load_reference("rdata_median_rule")
    d, r = ref["data"], ref["results"]
    q = kaplan_meier(d["time"], d["status"], conf_type="log").curves[0].median
    p = kaplan_meier(d["time"], d["status"], conf_type="log", median_rule="print").curves[0].median
    assert_close(q, [r["quantile_median"], r["quantile_lower"], r["quantile_upper"]])
    assert_close(p, [r["print_median"], r["print_lower"], r["print_upper"]])
    assert q[0] == 3 and p[0] == 2


def test_landmarks_past_follow_up():
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0], times=[1, 4, 10])
    a = km.curves[0].at([1, 4, 10])
    assert a["beyond"].tolist() == [False, False, True] and np.isnan(a["survival"][2]) and a["n_risk"][2] == 0
    assert km.curves[0].at([10], extend=True)["survival"][0] == 0.5
    g = km.to_dict()["groups"][0]
    assert [x["time"] for x in g["at"]] == [1, 4] and g["at_omitted"][0]["time"] == 10
    assert "std_err" in g["at"][0] and "not estimated" in km.summary()
    # a curve that reached 0 stays at 0: that landmark is known, not beyond follow-up
    done = kaplan_meier([1, 2], [1, 1], times=[5]).to_dict()["groups"][0]
    assert done["at"][0]["survival"] == 0 and done["at"][0]["n_risk"] == 0 and done["at_omitted"] == []


def test_rmst_extend_is_explicit():
    with pytest.raises(InputError, match="extend=True"):
        rmst([1, 2, 3, 4], [1, 1, 0, 0], tau=10)
    res = rmst([1, 2, 3, 4], [1, 1, 0, 0], tau=10, extend=True)
    assert res.extended == ("all",) and res.estimate[0] == pytest.approx(5.75)  # R: rmean 5.75 (print(fit, rmean = 10))


def test_cluster_with_one_row_per_cluster_is_the_robust_variance():
    ref = load_reference_cox("lung_robust")
    d = ref["data"]
    covs = {"age": d["age"], "sex": np.asarray(d["sex"], dtype=object), "wt.loss": d["wt.loss"]}
    a = cox_ph(d["time"], d["event"], covs, cluster=np.arange(len(d["time"])), zph=False)
    np.testing.assert_allclose([c.robust_se for c in a.coefficients], ref["result"]["robust_se"], rtol=1e-8)
    assert a.robust and a.n_clusters == len(d["time"])


def load_reference_cox(name):
    import json
    from pathlib import Path

    return json.loads((Path(__file__).resolve().parents[1] / "reference" / "data" / f"cox_{name}.json").read_text())


def test_closed_form_distributions_match_r_values_in_the_references():
    ref = load_reference("logrank_ties3")["results"]
    for key in ("logrank", "peto", "gehan"):
        r = ref[key]
        assert chi2_sf(r["statistic"], int(r["df"])) == pytest.approx(r["p_value"], rel=1e-10)
    assert normal_quantile(0.95) == pytest.approx(1.959963984540054, rel=1e-15)
    assert chi2_sf(0.0, 3) == 1.0 and chi2_sf(float("inf"), 2) == 0.0
