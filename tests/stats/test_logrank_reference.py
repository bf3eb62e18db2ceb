"""Log-rank family (every weight, strata, case weights, trend) and RMST against R survival.

Weights R's survdiff lacks (Gehan, Tarone-Ware, FH(rho, gamma)) and the trend test are computed in
tests/reference/make_reference.R by the standard formulas, checked there against survdiff.
"""

from __future__ import annotations

import numpy as np
import pytest

from earlyphase.errors import InputError
from earlyphase.stats import logrank_test, rmst

from survival_reference import assert_close, load_reference, reference_names

LR_CASES = reference_names("logrank")
WEIGHT_KEYS = ["logrank", "peto", "gehan", "tarone-ware", "fh_0_1", "fh_1_1", "fh_0.5_2"]


def _args(data):
    kw = {}
    if "stratum" in data:
        kw["strata"] = np.asarray(data["stratum"], dtype=object)
    if "weight" in data:
        kw["case_weights"] = np.asarray(data["weight"])
    return np.asarray(data["time"]), np.asarray(data["event"]), np.asarray(data["group"], dtype=object), kw


def _weight_kwargs(r):
    if r["weights"] == "fh":
        return {"weights": "fh", "rho": r["rho"], "gamma": r["gamma"]}
    return {"weights": r["weights"]}


def test_cases_present():
    assert {"logrank_seed4", "logrank_strata", "logrank_tiny", "logrank_weights", "logrank_ties3"} <= set(LR_CASES)


@pytest.mark.parametrize("case", LR_CASES)
@pytest.mark.parametrize("key", WEIGHT_KEYS)
def test_logrank_matches_r(case, key):
    ref = load_reference(case)
    r = ref["results"][key]
    t, e, g, kw = _args(ref["data"])
    res = logrank_test(t, e, g, **kw, **_weight_kwargs(r))
    assert list(res.groups) == r["groups"]
    assert_close(res.n, r["n"], "n")
    assert_close(res.observed, r["observed"], "observed")
    assert_close(res.expected, r["expected"], "expected")
    assert_close(res.variance, r["variance"], "variance")
    assert_close(res.statistic, r["statistic"], "statistic")
    assert res.df == r["df"]
    assert_close(res.p_value, r["p_value"], "p")


@pytest.mark.parametrize("case", LR_CASES)
@pytest.mark.parametrize("key", WEIGHT_KEYS)
def test_trend_matches_formula_in_r(case, key):
    ref = load_reference(case)
    r = ref["results"][key]
    t, e, g, kw = _args(ref["data"])
    # R's reference scores are 1..k over the sorted labels: say that order (text labels need one)
    res = logrank_test(t, e, g, **kw, **_weight_kwargs(r), trend=True, levels=sorted(set(g)))
    tr = r["trend"]
    assert_close(res.trend_u, tr["u"], "U")
    assert_close(res.trend_var, tr["var"], "V")
    assert_close(res.statistic, tr["statistic"], "chisq")
    assert_close(res.p_value, tr["p_value"], "p")
    assert res.df == 1


@pytest.mark.parametrize("case", LR_CASES)
def test_trend_with_given_scores(case):
    ref = load_reference(case)
    tr = ref["results"]["trend_scores"]
    t, e, g, kw = _args(ref["data"])
    res = logrank_test(t, e, g, **kw, trend=True, scores=tr["scores"])
    assert_close(res.trend_u, tr["u"], "U")
    assert_close(res.statistic, tr["statistic"], "chisq")
    assert_close(res.p_value, tr["p_value"], "p")


def test_json_contract_keys():
    ref = load_reference("logrank_seed4")
    t, e, g, kw = _args(ref["data"])
    d = logrank_test(t, e, g).to_dict()
    assert {"test", "statistic", "df", "p_value", "groups", "variance"} <= set(d)
    assert set(d["groups"][0]) == {"group", "n", "observed", "expected"}


@pytest.mark.parametrize("case", reference_names("rmst"))
def test_rmst_matches_r(case):
    ref = load_reference(case)
    data = ref["data"]
    for key, r in ref["results"].items():
        res = rmst(data["time"], data["event"], r["tau"], group=np.asarray(data["group"], dtype=object))
        assert list(res.groups) == r["groups"]
        assert_close(res.estimate, r["rmst"], f"{key} rmst")
        assert_close(res.se, r["se"], f"{key} se")
        if "difference" in r:
            for part in ("difference", "ratio"):
                for field in r[part]:
                    assert_close(getattr(res, part)[field], r[part][field], f"{key} {part} {field}")


def test_rmst_tau_beyond_last_time_is_refused():
    with pytest.raises(InputError) as exc:
        rmst([1, 2, 3], [1, 0, 1], tau=5)
    assert exc.value.problems[0].field == "tau"
