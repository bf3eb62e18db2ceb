"""The design package's Python API under a fuzzer: hostile arguments give our errors, never a traceback or a hang.

The CLI's own fuzz test (tests/cli/test_cli_fuzz.py) covers the command line; this one calls the public
functions directly, as a script or notebook would: ``make_design``, ``next_dose``, ``select_mtd``,
``boin_boundaries``, ``decision_table``, ``simulate``, ``simulate_time_to_event``,
``exact_operating_characteristics`` and ``simulate_dose_optimisation``. Each argument is drawn from a bag
of values a careless caller might pass (NaN, infinities, 1e12, negative numbers, booleans, strings, None,
nested lists, huge lists). Every call must return or raise an ``EarlyPhaseError``; an alarm turns a hang
into a failure (a bound, not a timing assertion).
"""

from __future__ import annotations

import contextlib
import math
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earlyphase.design import boin_boundaries, make_design, next_dose, select_mtd
from earlyphase.design.boin12 import Boin12Design
from earlyphase.design.exact import exact_operating_characteristics
from earlyphase.design.optimise import simulate_dose_optimisation
from earlyphase.design.simulate import simulate
from earlyphase.design.table import decision_table
from earlyphase.design.time_to_event import simulate_time_to_event
from earlyphase.errors import EarlyPhaseError
from earlyphase.limits import MAX_SAMPLE_SIZE, MAX_SIM_TRIALS

PER_CALL_SECONDS = 60  # a hang bound; calls here take well under a second


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so no handler in the code under test can swallow it."""


@contextlib.contextmanager
def _bounded():
    def _alarm(signum, frame):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(PER_CALL_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


SCALARS = st.sampled_from([
    0, 1, 2, 3, -1, 7, 0.5, 2.5, 1e12, -1e12, 10**30, float("nan"), float("inf"), -float("inf"), True, False, None,
    "3", "x", "", "1e3", b"3", MAX_SAMPLE_SIZE + 1, MAX_SIM_TRIALS + 1, 2**63, [], [3], {"a": 1},
])
PROBS = st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.3, 0.5, 0.99, 1.0, 1.5, -0.1, float("nan"), float("inf"), None, "0.2"])
SEQS = st.one_of(
    st.lists(SCALARS, max_size=6),
    st.lists(st.integers(-3, 12), max_size=6),
    st.sampled_from([None, "3,3,3", 3, [[1, 2], [3]], [0] * 2000, (x for x in ()), {1: 2}]),
)
TRUTHS = st.one_of(
    st.lists(PROBS, max_size=6),
    st.lists(st.lists(PROBS, min_size=1, max_size=4), max_size=3),
    st.sampled_from([None, "0.1,0.2", 0.3, [[0.1, 0.2], [0.3]], [0.1] * 2000, [[0.1]] * 2000, {}]),
)
DESIGNS = st.sampled_from(["boin", "3+3", "crm", "mtpi2", "i3+3", "pocrm", "boin-grid", "nope", "", None, 3])
SMALL = {"trials": 20, "n_cohorts": 4}  # keeps a valid draw quick; any drawn value replaces these


def _call(fn, *args, **kwargs):
    with _bounded():
        try:
            fn(*args, **kwargs)
        except EarlyPhaseError:
            pass


def _design(name, target, options):
    try:
        return make_design(name, target, **options)
    except EarlyPhaseError:
        return make_design("boin", 0.25)


@st.composite
def options(draw, names):
    """A few of ``names``, each with a hostile value."""
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
    return {name: draw(st.one_of(SCALARS, PROBS, SEQS)) for name in chosen}


DESIGN_OPTIONS = ["skeleton", "n_earlystop", "cutoff_eli", "extrasafe", "offset", "p_saf", "p_tox", "prior_sd",
                  "safety_cutoff", "margin_low", "margin_high", "gauss_points", "panel_width", "model", "n_rows",
                  "n_cols", "partial_order", "orderings", "deescalation", "intercept"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@SETTINGS
@given(name=DESIGNS, target=PROBS, opts=options(DESIGN_OPTIONS), n=SEQS, dlt=SEQS, current=SCALARS,
       last=SCALARS, pending=st.one_of(SEQS, st.lists(st.lists(PROBS, max_size=3), max_size=4)), tite=st.booleans())
def test_make_design_and_next_dose(name, target, opts, n, dlt, current, last, pending, tite):
    _call(make_design, name, target, **opts)
    _call(next_dose, name, n, dlt, current, target=target, last_cohort_dlt=last, pending=pending, tite=tite, **opts)
    _call(next_dose, _design("boin", 0.25, {}), n, dlt, current, pending=pending, tite=tite)


@SETTINGS
@given(target=PROBS, n=SEQS, dlt=SEQS, max_n=SCALARS, opts=options(["cutoff_eli", "p_saf", "p_tox"]))
def test_tables_and_selection(target, n, dlt, max_n, opts):
    _call(select_mtd, n, dlt, target)
    _call(boin_boundaries, target, max_n, **opts)
    _call(decision_table, _design("mtpi2", 0.3, {}), max_n)


SIM_OPTIONS = ["cohort_size", "n_cohorts", "trials", "seed", "start_level", "backfill_size", "backfill_cap",
               "chunk_size", "workers"]


@SETTINGS
@given(name=DESIGNS, truth=TRUTHS, opts=options(SIM_OPTIONS))
def test_simulate(name, truth, opts):
    design = _design(name, 0.25, {"skeleton": [0.1, 0.2, 0.3]} if name in ("crm", "pocrm") else {})
    _call(simulate, design, truth, **{**SMALL, **opts})


TTE_OPTIONS = ["window", "arrival", "interval", "dlt_time", "tite", "pending_rule", "cohort_size", "n_cohorts", "trials",
               "seed", "start_level", "backfill_max", "backfill_cap", "chunk_size"]


@SETTINGS
@given(name=st.sampled_from(["boin", "3+3", "crm"]), truth=TRUTHS, opts=options(TTE_OPTIONS))
def test_simulate_time_to_event(name, truth, opts):
    design = _design(name, 0.25, {"skeleton": [0.1, 0.2, 0.3]} if name == "crm" else {})
    _call(simulate_time_to_event, design, truth, **{**SMALL, **opts})


@SETTINGS
@given(name=DESIGNS, truth=TRUTHS, opts=options(["cohort_size", "n_cohorts", "start_level"]))
def test_exact(name, truth, opts):
    design = _design(name, 0.25, {"skeleton": [0.1, 0.2, 0.3]} if name in ("crm", "pocrm") else {})
    _call(exact_operating_characteristics, design, truth, **{"n_cohorts": 3, **opts})


@SETTINGS
@given(tox=st.one_of(st.lists(PROBS, max_size=5), SEQS), eff=st.one_of(st.lists(PROBS, max_size=5), SEQS),
       opts=options(["cohort_size", "n_cohorts", "trials", "seed", "start_level", "stage2_levels", "stage2_n", "margin",
                     "chunk_size"]))
def test_dose_optimisation(tox, eff, opts):
    _call(simulate_dose_optimisation, Boin12Design(target=0.3), tox, eff, **{**SMALL, **opts})


@SETTINGS
@given(opts=options(["target", "efficacy_min", "u2", "u3", "c_t", "c_e", "n_star", "n_explore", "n_earlystop"]))
def test_boin12_design(opts):
    _call(Boin12Design, **opts)


@pytest.mark.parametrize("fn,kwargs", [
    (simulate, {"trials": 10**12}), (simulate, {"n_cohorts": 10**9}), (simulate, {"trials": math.nan}),
    (simulate, {"seed": -1}), (simulate, {"chunk_size": 0}), (simulate, {"backfill_size": 10**6}),
    (simulate_time_to_event, {"trials": 10**12}), (simulate_time_to_event, {"window": 1e300}),
    (exact_operating_characteristics, {"n_cohorts": 10**9}),
])
def test_each_bound_is_named(fn, kwargs):
    with pytest.raises(EarlyPhaseError) as err:
        fn(make_design("boin", 0.25), [0.1, 0.2, 0.3], **kwargs)
    assert next(iter(kwargs)) in str(err.value)
