"""The twin checked by R: R's survival (survfit medians, survdiff P) on the default-seed twin's times.

tests/twin/data/twin_times.csv holds the times read back from a database loaded through capture
(make_twin_times.py); tests/twin/data/twin_r_reference.csv holds R's results on them
(make_twin_reference.R, with the R version and calls in its header). Published values: the abstract
(J Transl Med 2026, doi 10.1186/s12967-026-07725-x).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from earlyphase.stats import kaplan_meier, logrank_test

DATA = Path(__file__).parent / "data"
PUBLISHED_MEDIANS = {
    "PFS": {"overall": 4.8, "A": 1.6, "B": 2.5, "C": 5.5, "D": 7.5},
    "OS": {"overall": 17.7, "A": 12.6, "B": 16.1, "C": 18.4, "D": 31.3},
}
PUBLISHED_P = {"PFS": 0.0008, "OS": 0.0403}


def _times():
    with (DATA / "twin_times.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _reference():
    with (DATA / "twin_r_reference.csv").open(newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return {(r["endpoint"], r["group"], r["quantity"]): float(r["value"]) for r in csv.DictReader(lines)}


def test_stored_times_are_what_the_default_seed_gives_today(twin_rows):
    """Guards reproducibility: the generator still makes the data R was run on."""
    from earlyphase.twin.summary import subject_outcomes

    now = [[o.subject_id, o.group, str(o.pfs_days), str(int(o.pfs_event)), str(o.os_days), str(int(o.os_event))]
           for o in subject_outcomes(twin_rows)]
    stored = [list(r.values()) for r in _times()]
    assert now == stored, "the twin changed: re-run tests/twin/make_twin_times.py and make_twin_reference.R"


@pytest.mark.parametrize("endpoint", ["PFS", "OS"])
def test_r_finds_the_published_medians_and_p_values(endpoint):
    ref = _reference()
    for group, published in PUBLISHED_MEDIANS[endpoint].items():
        assert abs(ref[(endpoint, group, "median_months")] - published) < 0.05
    p = ref[(endpoint, "all", "logrank_p")]
    assert PUBLISHED_P[endpoint] / 1.4 <= p <= PUBLISHED_P[endpoint] * 1.4


@pytest.mark.parametrize("endpoint", ["PFS", "OS"])
def test_earlyphase_stats_agrees_with_r_on_the_twin(endpoint):
    rows = _times()
    key = "pfs" if endpoint == "PFS" else "os"
    months = np.array([float(r[f"{key}_days"]) for r in rows]) / 30.4375
    events = np.array([int(r[f"{key}_event"]) for r in rows])
    groups = np.array([r["group"] for r in rows])
    ref = _reference()
    assert kaplan_meier(months, events).curves[0].median[0] == pytest.approx(ref[(endpoint, "overall", "median_months")], abs=1e-8)
    km = kaplan_meier(months, events, groups)
    for g in "ABCD":
        assert km[g].median[0] == pytest.approx(ref[(endpoint, g, "median_months")], abs=1e-8)
    assert logrank_test(months, events, groups).p_value == pytest.approx(ref[(endpoint, "all", "logrank_p")], rel=1e-8)
