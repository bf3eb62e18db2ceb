"""Bad input is refused with the argument named; risk sets agree however they are built."""

from __future__ import annotations

import numpy as np
import pytest

from earlyphase.errors import InputError
from earlyphase.stats import RiskSet, build_risk_set, kaplan_meier, logrank_test, logrank_from_risk_set, rmst
from earlyphase.stats.validation import check_time_event


@pytest.mark.parametrize("time,event,field", [
    ([1.0, -2.0, 3.0], [1, 0, 1], "time"),
    ([1.0, float("nan"), 3.0], [1, 0, 1], "time"),
    ([1.0, float("inf"), 3.0], [1, 0, 1], "time"),
    ([1.0, 2.0, 3.0], [1, 3, 1], "event"),
    ([1.0, 2.0, 3.0], [0, 2, 1], "event"),  # 0/1/2 is not R's 1/2 coding: say which value is the event
    ([1.0, 2.0, 3.0], [1, 0.5, 1], "event"),
    ([1.0, 2.0, 3.0], [1, 0], "event"),
    ([], [], "time"),
])
def test_bad_time_or_event(time, event, field):
    with pytest.raises(InputError) as exc:
        kaplan_meier(time, event)
    assert exc.value.problems[0].field == field
    assert exc.value.problems[0].message


def test_all_problems_reported_together():
    with pytest.raises(InputError) as exc:
        check_time_event([-1.0, float("nan")], [3, 1])
    assert {p.field for p in exc.value.problems} == {"time", "event"}


def test_mismatched_group_length():
    with pytest.raises(InputError) as exc:
        logrank_test([1, 2, 3], [1, 1, 0], ["a", "b"])
    assert exc.value.problems[0].field == "group"


def test_single_group_logrank_refused():
    with pytest.raises(InputError) as exc:
        logrank_test([1, 2, 3], [1, 1, 0], ["a", "a", "a"])
    assert exc.value.problems[0].field == "group"


def test_empty_group_in_risk_set_refused():
    rs = RiskSet.from_counts([1.0, 2.0], [1, 1], [0, 0], group=["a", "b"])
    rs_empty = RiskSet(
        time=rs.time, n_risk=rs.n_risk, n_event=rs.n_event, n_censor=rs.n_censor,
        stratum_offsets=rs.stratum_offsets, group_levels=("a", "b"), strata_levels=rs.strata_levels,
        n_subjects=np.array([[2, 0]]),
    )
    with pytest.raises(InputError) as exc:
        logrank_from_risk_set(rs_empty)
    assert exc.value.problems[0].field == "group"


def test_entry_after_exit_refused():
    with pytest.raises(InputError) as exc:
        kaplan_meier([1, 2, 3], [1, 1, 1], entry=[0, 2, 1])
    assert exc.value.problems[0].field == "entry"


@pytest.mark.parametrize("bad", [[1, -1, 1], [1, 0.5, 1], [1, float("nan"), 1]])
def test_bad_case_weights(bad):
    with pytest.raises(InputError) as exc:
        kaplan_meier([1, 2, 3], [1, 1, 1], weights=bad)
    assert exc.value.problems[0].field == "weights"


@pytest.mark.parametrize("kw,field", [
    ({"conf_type": "logit"}, "conf_type"), ({"conf_level": 1.2}, "conf_level"), ({"times": [-1]}, "times"),
])
def test_bad_options(kw, field):
    with pytest.raises(InputError) as exc:
        kaplan_meier([1, 2, 3], [1, 1, 1], **kw)
    assert exc.value.problems[0].field == field


def test_bad_scores_and_weights():
    t, e, g = [1, 2, 3, 4], [1, 1, 0, 1], ["a", "b", "a", "b"]
    with pytest.raises(InputError) as exc:
        logrank_test(t, e, g, trend=True, scores=[1, 2, 3])
    assert exc.value.problems[0].field == "scores"
    with pytest.raises(InputError) as exc:
        logrank_test(t, e, g, weights="wilcoxon")
    assert exc.value.problems[0].field == "weights"
    with pytest.raises(InputError):
        logrank_test(t, e, g, weights="fh")  # needs rho/gamma


def test_rmst_bad_tau():
    with pytest.raises(InputError) as exc:
        rmst([1, 2, 3], [1, 0, 1], tau=-1)
    assert exc.value.problems[0].field == "tau"


def _random_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = np.round(rng.exponential(10, n))
    e = (rng.random(n) < 0.7).astype(int)
    g = rng.choice(["A", "B", "C", "D"], n)
    s = rng.choice(["x", "y"], n)
    return t, e, g, s


def test_from_counts_equals_raw_rows():
    t, e, g, s = _random_data()
    raw = build_risk_set(t, e, group=g, strata=s)
    import pandas as pd

    df = pd.DataFrame({"t": t, "e": e, "g": g, "s": s})
    agg = df.groupby(["s", "g", "t"]).agg(d=("e", "sum"), n=("e", "size")).reset_index()
    agg = agg.sample(frac=1.0, random_state=1)  # order must not matter
    rs = RiskSet.from_counts(agg["t"], agg["d"], agg["n"] - agg["d"], group=agg["g"], strata=agg["s"])
    for name in ("time", "n_risk", "n_event", "n_censor", "stratum_offsets", "n_subjects"):
        np.testing.assert_array_equal(getattr(rs, name), getattr(raw, name))
    a = logrank_from_risk_set(rs, weights="peto")
    b = logrank_test(t, e, g, strata=s, weights="peto")
    assert a.statistic == pytest.approx(b.statistic, rel=1e-13)


def test_case_weights_equal_replicated_rows():
    t, e, g, _ = _random_data(80, seed=2)
    w = np.random.default_rng(3).integers(0, 4, t.shape[0])
    a = logrank_test(t, e, g, case_weights=w, weights="gehan")
    keep = np.repeat(np.arange(t.shape[0]), w)
    b = logrank_test(t[keep], e[keep], g[keep], weights="gehan")
    np.testing.assert_allclose(a.observed, b.observed, rtol=1e-13)
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-12, atol=1e-12)
    ka = kaplan_meier(t, e, group=g, weights=w)
    kb = kaplan_meier(t[keep], e[keep], group=g[keep])
    for ca, cb in zip(ka.curves, kb.curves):
        # zero-weight subjects keep their time row (as R), with nothing happening at it
        m = np.isin(ca.time, cb.time)
        np.testing.assert_allclose(ca.survival[m], cb.survival, rtol=1e-13)


@pytest.mark.parametrize("with_strata", [False, True])
def test_fast_and_general_paths_agree(with_strata):
    t, e, g, s = _random_data(500, seed=4)
    fast = build_risk_set(t, e, group=g, strata=s if with_strata else None)
    general = build_risk_set(t, e, group=g, strata=s if with_strata else None, weights=np.ones(t.shape[0]))
    for name in ("time", "n_risk", "n_event", "n_censor", "stratum_offsets"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(general, name))
    assert len(fast.to_frame()) == len(general.to_frame())


def test_numeric_group_labels_sorted_as_numbers():
    rs = build_risk_set([1, 2, 3, 4], [1, 1, 1, 1], group=[10, 9, 10, 9])
    assert rs.group_levels == ("9", "10")
    rs = build_risk_set([1, 2, 3, 4], [1, 1, 1, 1], group=["10", "9", "10", "9"])
    assert rs.group_levels == ("9", "10")


def test_to_dict_is_json_ready():
    import json

    km = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 1], group=["a", "a", "b", "b"], times=[2])
    json.dumps(km.to_dict())
    assert set(km.to_dict()["groups"][0]) >= {"group", "n", "events", "median", "median_lower", "median_upper", "table", "at"}
    assert "R's survfit default is log" in km.summary()
    assert len(km.to_frame()) == 4


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("weights,kw", [("logrank", {}), ("peto", {}), ("fh", {"rho": 1, "gamma": 0.5}), ("gehan", {})])
def test_streaming_log_rank_equals_risk_set_path_across_chunks(monkeypatch, weights, kw, packed):
    import earlyphase.stats.logrank as lr
    import earlyphase.stats.riskset as rsmod

    t, e, g, s = _random_data(700, seed=9)
    t[:5] = 0.0  # zero times are packed specially
    monkeypatch.setattr(lr, "_CHUNK", 13)  # many chunks, with tied times at chunk edges
    if not packed:  # force the sort-per-group-and-merge route
        monkeypatch.setattr(rsmod, "_packed_keys", lambda *a: None)
    streamed = logrank_test(t, e, g, strata=s, weights=weights, **kw)
    table = logrank_test(t, e, g, strata=s, weights=weights, case_weights=np.ones(t.shape[0]), **kw)
    np.testing.assert_allclose(streamed.observed, table.observed, rtol=1e-12)
    np.testing.assert_allclose(streamed.expected, table.expected, rtol=1e-12)
    np.testing.assert_allclose(streamed.variance, table.variance, rtol=1e-11, atol=1e-12)
    assert streamed.statistic == pytest.approx(table.statistic, rel=1e-11)


def test_times_spanning_a_huge_range_use_the_merge_route():
    from earlyphase.stats.riskset import _packed_keys

    t = np.array([0.0, 1e-300, 1.0, 1e300, 2.0, 3.0])
    e = np.array([1, 1, 0, 1, 1, 0], dtype=np.int8)
    g = np.array([0, 1, 0, 1, 0, 1])
    assert _packed_keys(t, e, g, 2, None, 1) is None
    a = logrank_test(t, e, g)
    b = logrank_test(t, e, g, case_weights=np.ones(6))
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)


def test_negative_zero_is_zero():
    km = kaplan_meier([-0.0, 0.0, 1.0], [1, 0, 1])
    c = km.curves[0]
    assert c.time.tolist() == [0.0, 1.0] and c.n_event.tolist() == [1, 1] and c.n_censor.tolist() == [1, 0]
    a = logrank_test([-0.0, 0.0, 1.0, 2.0], [1, 1, 1, 0], ["a", "b", "a", "b"])
    b = logrank_test([0.0, 0.0, 1.0, 2.0], [1, 1, 1, 0], ["a", "b", "a", "b"])
    assert a.statistic == b.statistic


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("weights,kw", [("logrank", {}), ("fh", {"rho": 0.5, "gamma": 1})])
def test_streaming_log_rank_with_many_groups_and_untied_chunks(monkeypatch, weights, kw, packed):
    # 7 groups need two packed running counts per chunk; continuous times take the no-ties branch.
    import earlyphase.stats.logrank as lr
    import earlyphase.stats.riskset as rsmod

    rng = np.random.default_rng(21)
    n = 900
    t = rng.exponential(5.0, n)
    t[:40] = np.round(t[:40])  # a few tied times as well
    e = (rng.random(n) < 0.7).astype(int)
    g = rng.integers(0, 7, n)
    monkeypatch.setattr(lr, "_CHUNK", 50)
    if not packed:
        monkeypatch.setattr(rsmod, "_packed_keys", lambda *a: None)
    streamed = logrank_test(t, e, g, weights=weights, **kw)
    table = logrank_test(t, e, g, weights=weights, case_weights=np.ones(n), **kw)
    np.testing.assert_allclose(streamed.observed, table.observed, rtol=1e-12)
    np.testing.assert_allclose(streamed.expected, table.expected, rtol=1e-12)
    np.testing.assert_allclose(streamed.variance, table.variance, rtol=1e-11, atol=1e-12)
    assert streamed.n.tolist() == table.n.tolist()


def test_streaming_log_rank_with_a_tie_longer_than_16_bit_counts():
    # One time shared by 70000 subjects: the chunk grows past 65535 rows and counts need 32-bit fields.
    n = 70_000
    t = np.concatenate([np.full(n, 2.0), [1.0, 3.0, 3.0, 4.0]])
    e = np.concatenate([np.arange(n) % 3 == 0, [1, 1, 0, 1]]).astype(int)
    g = np.concatenate([np.arange(n) % 3, [0, 1, 2, 0]])
    streamed = logrank_test(t, e, g)
    table = logrank_test(t, e, g, case_weights=np.ones(t.shape[0]))
    np.testing.assert_allclose(streamed.expected, table.expected, rtol=1e-12)
    np.testing.assert_allclose(streamed.variance, table.variance, rtol=1e-11, atol=1e-9)
    assert streamed.observed.tolist() == table.observed.tolist()
