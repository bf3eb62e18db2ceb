"""Rebuilding patient data from a published curve (Guyot 2012): a real published curve, known truths, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from earlyphase.errors import InputError
from earlyphase.external import DigitisedCurve, RiskTable, reconstruct_ipd
from earlyphase.external.digitise import digitise_km
from earlyphase.external.readers import read_curve_csv, read_risk_table_csv
from earlyphase.stats import kaplan_meier

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def checkmate():
    curve = read_curve_csv(DATA / "checkmate067-nivolumab-curve.csv")
    table = read_risk_table_csv(DATA / "checkmate067-at-risk.csv")
    return curve, table, reconstruct_ipd(curve, table, arm="nivolumab")


def test_checkmate067_rebuilt_curve_follows_the_digitised_points(checkmate):
    curve, table, result = checkmate
    assert result.n == 80 and len(result.to_frame()) == 80
    # Measured 0.0153 largest (a step the table puts 0.03 months before the digitised one) and 0.0019 mean
    # (docs/external.md); one patient's step is 0.0125 at 80 at risk and 0.017 at 40.
    assert result.fit.largest_gap < 0.02
    assert result.fit.mean_gap < 0.005
    # The published table is reproduced at every time the curve reaches.
    assert result.fit.largest_at_risk_gap == 0
    assert list(result.fit.unused_table_times) == [45.0]
    # The curve stays above 0.5 (lowest point 0.592): neither median is reached.
    assert np.isnan(result.fit.median_digitised) and np.isnan(result.fit.median_rebuilt)
    assert 0.55 < kaplan_meier(result.time, result.event)["all"].survival[-1] < 0.63


def test_every_patient_is_kept_and_times_lie_within_the_figure(checkmate):
    curve, table, result = checkmate
    frame = result.to_frame()
    assert set(frame.columns) == {"time", "event", "arm"}
    assert (frame.time >= 0).all() and frame.time.max() <= curve.time.max()
    assert set(frame.event.unique()) <= {0, 1}
    d = result.to_dict()
    json.dumps(d)
    assert d["n"] == 80 and len(d["ipd"]) == 80 and d["events"] == int(frame.event.sum())


def _simulated(seed: int, n: int, censoring: str):
    rng = np.random.default_rng(seed)
    t = rng.exponential(12.0, n)
    c = {"none": np.full(n, np.inf), "uniform": rng.uniform(6, 36, n), "dropout": rng.exponential(10.0, n)}[censoring]
    c = np.minimum(c, 40.0)
    return np.minimum(t, c), (t <= c).astype(int)


@pytest.mark.parametrize("censoring", ["none", "uniform", "dropout"])
def test_a_curve_drawn_from_known_patients_comes_back(censoring):
    time, event = _simulated(3, 200, censoring)
    curve, table = digitise_km(time, event, risk_every=3.0)
    result = reconstruct_ipd(curve, table)
    assert result.n == 200
    assert abs(result.events - event.sum()) <= 3
    km_true = kaplan_meier(time, event)
    km_rebuilt = kaplan_meier(result.time, result.event)
    c0, c1 = km_true[km_true.groups[0]], km_rebuilt[km_rebuilt.groups[0]]
    assert abs(c0.median[0] - c1.median[0]) < 0.5
    grid = np.linspace(0.5, 35, 70)
    gap = np.abs(c0.at(grid, extend=True)["survival"] - c1.at(grid, extend=True)["survival"])
    assert np.nanmax(gap) < 0.05


def test_published_total_events_fixes_the_last_interval():
    time, event = _simulated(11, 150, "uniform")
    curve, table = digitise_km(time, event, risk_every=6.0)
    # A table printed only to 12 months leaves most of the follow-up to the last interval.
    short = RiskTable.from_rows(table.time[:3], table.n_risk[:3])
    without = reconstruct_ipd(curve, short)
    result = reconstruct_ipd(curve, short, total_events=int(event.sum()))
    assert without.events != event.sum()
    assert result.events == event.sum()
    assert result.fit.published_events == event.sum()
    assert "published" in result.summary()


def test_a_total_the_last_interval_cannot_reach_is_reported_not_forced():
    time, event = _simulated(11, 150, "uniform")
    curve, table = digitise_km(time, event, risk_every=6.0)
    result = reconstruct_ipd(curve, table, total_events=int(event.sum()) + 20)
    assert result.fit.published_events == event.sum() + 20
    assert result.events < event.sum() + 20
    assert result.n == 150


def test_noise_of_a_digitiser_is_cleaned():
    # Points out of order, a pixel's rise on a flat stretch, the first click not at (0, 1).
    curve = DigitisedCurve.from_points([2.1, 0.2, 4.0, 1.0, 3.0, 5.0, 6.0], [0.8, 0.999, 0.6, 0.9, 0.81, 0.6, 0.5])
    table = RiskTable.from_rows([0, 3, 6], [10, 6, 4])
    result = reconstruct_ipd(curve, table)
    assert result.n == 10
    assert result.fit.largest_at_risk_gap == 0


@pytest.mark.parametrize("kwargs, rule", [
    (dict(curve=([0, 1, 2, 3], [1.0, 0.7, 0.9, 0.6]), table=([0, 2], [10, 5])), "not_rising"),
    (dict(curve=([0, 1, 2], [1.0, 0.8, 0.6]), table=([0, 1, 2], [10, 12, 5])), "not_rising"),
    (dict(curve=([0, 1, 2], [1.0, 0.8, 0.6]), table=([0, 2, 1], [10, 8, 5])), "increasing"),
    (dict(curve=([0, 1, 2], [1.0, 0.8, 1.6]), table=([0, 1], [10, 8])), "range"),
    (dict(curve=([0, -1, 2], [1.0, 0.8, 0.6]), table=([0, 1], [10, 8])), "non_negative"),
    (dict(curve=([0, 1, 2], [1.0, 0.8, 0.6]), table=([1, 2], [10, 8])), "starts_at_zero"),
    (dict(curve=([0, 1, 2], [1.0, 0.8, 0.6]), table=([0, 1], [10, 8.5])), "count"),
    (dict(curve=([0, 1], [1.0]), table=([0, 1], [10, 8])), "same_length"),
])
def test_input_that_cannot_be_a_survival_curve_is_refused(kwargs, rule):
    with pytest.raises(InputError) as err:
        curve = DigitisedCurve.from_points(*kwargs["curve"])
        table = RiskTable.from_rows(*kwargs["table"])
        reconstruct_ipd(curve, table)
    assert rule in {p.rule for p in err.value.problems}, str(err.value)
    assert all(p.message for p in err.value.problems)


def test_a_rise_names_where_it_is():
    curve = DigitisedCurve.from_points([0, 1, 2, 3], [1.0, 0.7, 0.9, 0.6], source="arm.csv")
    with pytest.raises(InputError) as err:
        reconstruct_ipd(curve, RiskTable.from_rows([0], [10]))
    problem = err.value.problems[0]
    assert problem.row == 3 and problem.file == "arm.csv" and "time 2" in problem.message


def test_total_events_outside_the_arm_is_refused():
    curve = DigitisedCurve.from_points([0, 1, 2], [1.0, 0.8, 0.6])
    table = RiskTable.from_rows([0, 1], [10, 8])
    for bad in (11, -1, 2.5, True):
        with pytest.raises(InputError) as err:
            reconstruct_ipd(curve, table, total_events=bad)
        assert err.value.problems[0].field == "total_events"


def test_the_python_door_names_what_to_pass():
    curve = DigitisedCurve.from_points([0, 1, 2], [1.0, 0.8, 0.6])
    table = RiskTable.from_rows([0, 1], [10, 8])
    for args, kwargs, field in (
        (([0, 1], [1, 0.5]), {}, "curve"),
        ((curve, [[0, 10]]), {}, "at_risk"),
        ((curve, table), {"rise_tolerance": 5}, "rise_tolerance"),
        ((curve, table), {"total_events": "ten"}, "total_events"),
    ):
        with pytest.raises(InputError) as err:
            reconstruct_ipd(*args, **kwargs)
        assert err.value.problems[0].field == field
