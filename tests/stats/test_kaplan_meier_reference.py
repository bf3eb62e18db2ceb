"""Kaplan–Meier, quantiles, landmarks, Nelson–Aalen and reverse-KM follow-up against R survival.

Reference files come from tests/reference/make_reference.R (R and survival versions stored inside).
"""

from __future__ import annotations

import numpy as np
import pytest

from earlyphase.stats import kaplan_meier, median_followup, nelson_aalen

from survival_reference import assert_close, load_reference, reference_names

KM_CASES = reference_names("km")
CONF = [(ct, lvl) for ct in ("log", "log-log", "plain") for lvl in (0.95, 0.9)]


def _inputs(data: dict):
    time = np.asarray(data["time"], dtype=float)
    event = np.asarray(data["event"], dtype=float)
    group = np.asarray(data["group"], dtype=object)
    entry = np.asarray(data["entry"], dtype=float) if "entry" in data else None
    weights = np.asarray(data["weight"], dtype=float) if "weight" in data else None
    return time, event, group, entry, weights


def _fit(data, conf_type, conf_level, times=None):
    time, event, group, entry, weights = _inputs(data)
    return kaplan_meier(time, event, group=group, entry=entry, weights=weights,
                        conf_type=conf_type, conf_level=conf_level, times=times)


def test_reference_files_exist():
    assert {"km_lifelines", "km_flat_half", "km_flat_end", "km_trunc", "km_weights", "km_tiny"} <= set(KM_CASES)


@pytest.mark.parametrize("case", KM_CASES)
@pytest.mark.parametrize("conf_type,conf_level", CONF)
def test_table_matches_r(case, conf_type, conf_level):
    ref = load_reference(case)
    r = ref["results"][f"{conf_type}_{conf_level}"]["table"]
    km = _fit(ref["data"], conf_type, conf_level)
    cols = {k: np.concatenate([getattr(c, k) for c in km.curves]) for k in
            ("time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper")}
    groups = [c.group for c in km.curves for _ in c.time]
    assert groups == r["group"]
    for k in ("time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"):
        assert_close(cols[k], r[k], f"{case} {conf_type} {conf_level} {k}")


@pytest.mark.parametrize("case", KM_CASES)
@pytest.mark.parametrize("conf_type,conf_level", CONF)
def test_quantiles_match_r(case, conf_type, conf_level):
    ref = load_reference(case)
    r = ref["results"][f"{conf_type}_{conf_level}"]["quantile"]
    km = _fit(ref["data"], conf_type, conf_level)
    probs = r["probs"]
    q = np.array([[c.quantile(p) for p in probs] for c in km.curves])  # (groups, probs, 3)
    assert_close(q[:, :, 0], np.array(r["quantile"]).reshape(q.shape[:2]), f"{case} quantile")
    assert_close(q[:, :, 1], np.array(r["lower"]).reshape(q.shape[:2]), f"{case} lower")
    assert_close(q[:, :, 2], np.array(r["upper"]).reshape(q.shape[:2]), f"{case} upper")


@pytest.mark.parametrize("case", KM_CASES)
@pytest.mark.parametrize("conf_type,conf_level", CONF)
def test_landmarks_match_r(case, conf_type, conf_level):
    ref = load_reference(case)
    r = ref["results"][f"{conf_type}_{conf_level}"]["landmarks"]
    times = sorted(set(r["time"]))
    km = _fit(ref["data"], conf_type, conf_level, times=times)
    rows = {k: [] for k in ("time", "n_risk", "survival", "std_err", "lower", "upper")}
    for c in km.curves:
        a = c.at(times, extend=True)  # these references are summary(fit, times, extend = TRUE)
        for k in rows:
            rows[k].extend(a[k].tolist())
    for k in rows:
        assert_close(rows[k], r[k], f"{case} landmarks {k}")


@pytest.mark.parametrize("case", KM_CASES)
def test_nelson_aalen_matches_r(case):
    ref = load_reference(case)
    r = ref["results"]["nelson_aalen"]
    time, event, group, entry, weights = _inputs(ref["data"])
    na = nelson_aalen(time, event, group=group, entry=entry, weights=weights)
    assert_close(np.concatenate(na.time), r["time"], "time")
    assert_close(np.concatenate(na.n_risk), r["n_risk"], "n_risk")
    assert_close(np.concatenate(na.cumhaz), r["cumhaz"], "cumhaz")
    assert_close(np.sqrt(np.concatenate(na.variance)), r["std_chaz"], "std_chaz")


@pytest.mark.parametrize("case", [c for c in KM_CASES if "followup" in load_reference(c)["results"]])
def test_reverse_km_followup_matches_r(case):
    ref = load_reference(case)
    r = ref["results"]["followup"]
    time, event, group, _, _ = _inputs(ref["data"])
    fu = median_followup(time, event, group=group)
    assert list(fu.groups) == r["groups"]
    assert_close(fu.median, r["median"], "median")
    assert_close(fu.lower, r["lower"], "lower")
    assert_close(fu.upper, r["upper"], "upper")


def test_lifelines_counterexample_median_is_midpoint():
    """Times 1, 2, 3, 4 (all events): S = 0.5 exactly on [2, 3), so R's median is 2.5 (lifelines says 2)."""
    ref = load_reference("km_lifelines")
    r_median = ref["results"]["log_0.95"]["quantile"]["quantile"][0][1]
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1], conf_type="log")
    assert km.curves[0].median[0] == r_median == 2.5
