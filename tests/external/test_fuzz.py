"""Fuzzing the doors of the reconstruction: any input either rebuilds every patient or is refused with
InputError; never another exception, never a hang."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earlyphase.errors import InputError
from earlyphase.external import DigitisedCurve, RiskTable, reconstruct_ipd
from earlyphase.external.compare import read_ipd_csv
from earlyphase.external.readers import read_curve_csv, read_risk_table_csv

finite = st.one_of(st.floats(min_value=-5, max_value=120), st.sampled_from([float("nan"), float("inf")]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(times=st.lists(finite, min_size=0, max_size=40), survs=st.lists(st.floats(-0.2, 1.3), min_size=0, max_size=40),
       table_t=st.lists(st.floats(0, 60), min_size=0, max_size=8), table_n=st.lists(st.integers(-2, 300), min_size=0,
                                                                                      max_size=8),
       events=st.one_of(st.none(), st.integers(-3, 400)))
def test_arbitrary_input_rebuilds_or_is_refused(times, survs, table_t, table_n, events):
    try:
        curve = DigitisedCurve.from_points(times, survs)
        table = RiskTable.from_rows(table_t, table_n)
        result = reconstruct_ipd(curve, table, total_events=events)
    except InputError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        return
    assert result.n == table.n_risk[0]
    assert np.all(result.time >= 0) and set(np.unique(result.event)) <= {0, 1}


@settings(max_examples=150, deadline=None)
@given(drops=st.lists(st.tuples(st.floats(0.01, 5), st.floats(0, 0.2)), min_size=2, max_size=30),
       n0=st.integers(1, 400), shrink=st.lists(st.floats(0, 1), min_size=1, max_size=6),
       every=st.floats(0.5, 12))
def test_plausible_curves_keep_every_patient(drops, n0, shrink, every):
    # A falling curve and a falling table that need not agree with each other (a careless digitisation).
    t = np.cumsum([d for d, _ in drops])
    s = np.clip(1 - np.cumsum([x for _, x in drops]), 0, 1)
    times = np.arange(0, t[-1], every)[: len(shrink) + 1]
    n = [n0]
    for f in shrink[: len(times) - 1]:
        n.append(int(n[-1] * f))
    result = reconstruct_ipd(DigitisedCurve.from_points(t, s), RiskTable.from_rows(times, n))
    assert result.n == n0
    assert result.fit.largest_gap >= 0 and np.isfinite(result.fit.mean_gap)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.one_of(st.binary(max_size=300), st.text(alphabet="0123456789.,;\t\n\r-eE time,event arm", max_size=200).map(str.encode)))
def test_any_file_is_read_or_refused(tmp_path, blob):
    p = tmp_path / "f.csv"
    p.write_bytes(blob)
    for reader in (read_curve_csv, read_risk_table_csv, read_ipd_csv):
        try:
            reader(p)
        except InputError as exc:
            assert exc.problems
