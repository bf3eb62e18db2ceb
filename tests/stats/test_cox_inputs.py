"""Cox model: bad input is refused with the argument named, and behaviour R users rely on."""

from __future__ import annotations

import numpy as np
import pytest

from earlyphase.errors import InputError
from earlyphase.stats import cox_ph

TIME = [5.0, 3.0, 8.0, 1.0, 9.0, 4.0, 7.0, 2.0, 6.0, 10.0]
EVENT = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]
AGE = [50.0, 61.0, 47.0, 70.0, 39.0, 58.0, 44.0, 66.0, 52.0, 41.0]
ARM = ["B", "A", "B", "A", "C", "A", "C", "B", "C", "A"]


def _problem(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    p = exc.value.problems[0]
    return p.field, p.message


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        (dict(time=[-1.0] + TIME[1:]), "time", "negative"),
        (dict(time=[np.nan] + TIME[1:]), "time", "finite"),
        (dict(event=[2] + EVENT[1:]), "event", "0 (censored) or 1"),
        (dict(event=EVENT[:-1]), "event", "values but"),
        (dict(event=[0] * 10), "event", "no events"),
        (dict(covariates={"age": AGE[:-1]}), "covariates['age']", "9 values"),
        (dict(covariates={"age": [np.nan] + AGE[1:]}), "covariates['age']", "missing or infinite"),
        (dict(covariates={"arm": ["A"] * 10}), "covariates['arm']", "single level"),
        (dict(covariates={"arm": [None] + ARM[1:]}), "covariates['arm']", "missing"),
        (dict(covariates={}), "covariates", "at least one"),
        (dict(ties="exact"), "ties", "efron, breslow"),
        (dict(weights=[1.0] * 9 + [-1.0]), "weights", "> 0"),
        (dict(weights=[1.0] * 9), "weights", "9 values"),
        (dict(entry=TIME), "entry", "before the exit time"),
        (dict(strata=["s"] * 9), "strata", "9 values"),
        (dict(conf_level=1.5), "conf_level", "between 0 and 1"),
        (dict(covariates={"a": AGE, "b": [2 * x + 1 for x in AGE]}), "covariates", "collinear"),
    ],
)
def test_bad_input_names_the_argument(kwargs, field, words):
    args = dict(time=TIME, event=EVENT, covariates={"age": AGE, "arm": ARM})
    args.update(kwargs)
    with pytest.raises(InputError) as exc:
        cox_ph(args.pop("time"), args.pop("event"), args.pop("covariates"), **args)
    got_field, message = _problem(exc)
    assert got_field == field
    assert words in message


def test_two_dimensional_covariates_with_names():
    X = np.column_stack([AGE, np.arange(10.0) % 3])
    a = cox_ph(TIME, EVENT, X, names=["age", "dose"])
    b = cox_ph(TIME, EVENT, {"age": AGE, "dose": np.arange(10.0) % 3})
    assert a.names == ("age", "dose")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    with pytest.raises(InputError) as exc:
        cox_ph(TIME, EVENT, X, names=["age"])
    assert _problem(exc)[0] == "names"


def test_reference_level_is_first_in_sorted_order():
    fit = cox_ph(TIME, EVENT, {"arm": ARM}, zph=False)
    assert fit.names == ("armB", "armC")
    # relabelling so that C sorts first changes the reference, not the fit
    relabel = {"A": "Z", "B": "B", "C": "C"}
    other = cox_ph(TIME, EVENT, {"arm": [relabel[a] for a in ARM]}, zph=False)
    assert other.names == ("armC", "armZ")
    np.testing.assert_allclose(other.loglik, fit.loglik, rtol=1e-12)


def test_boolean_and_pandas_categorical_covariates():
    pd = pytest.importorskip("pandas")
    flag = [a == "A" for a in ARM]
    fit = cox_ph(TIME, EVENT, {"flag": flag}, zph=False)
    assert fit.names == ("flagTRUE",)
    cat = pd.Categorical(ARM, categories=["C", "B", "A"])
    fit_cat = cox_ph(TIME, EVENT, {"arm": pd.Series(cat)}, zph=False)
    assert fit_cat.names == ("armB", "armA")  # the Categorical's order: C is the reference, as R's factor


def test_untied_times_make_efron_equal_breslow():
    e = cox_ph(TIME, EVENT, {"age": AGE, "arm": ARM}, ties="efron")
    b = cox_ph(TIME, EVENT, {"age": AGE, "arm": ARM}, ties="breslow")
    np.testing.assert_allclose(e.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(e.loglik, b.loglik, rtol=1e-12)


def test_shifting_a_covariate_changes_nothing_but_scaling_rescales():
    base = cox_ph(TIME, EVENT, {"age": AGE})
    shifted = cox_ph(TIME, EVENT, {"age": np.array(AGE) + 1000.0})
    scaled = cox_ph(TIME, EVENT, {"age": np.array(AGE) / 10.0})
    np.testing.assert_allclose(shifted.coef, base.coef, rtol=1e-9)
    np.testing.assert_allclose(scaled.coef, base.coef * 10.0, rtol=1e-9)
    np.testing.assert_allclose(scaled.loglik, base.loglik, rtol=1e-12)


def test_integer_weights_equal_repeated_rows():
    w = np.array([1, 2, 1, 3, 1, 1, 2, 1, 1, 2])
    weighted = cox_ph(TIME, EVENT, {"age": AGE}, weights=w, ties="breslow")
    rep = np.repeat(np.arange(10), w)
    repeated = cox_ph(np.array(TIME)[rep], np.array(EVENT)[rep], {"age": np.array(AGE)[rep]}, ties="breslow")
    np.testing.assert_allclose(weighted.coef, repeated.coef, rtol=1e-9)
    np.testing.assert_allclose(weighted.loglik, repeated.loglik, rtol=1e-9)


def test_separated_data_warns_coefficient_may_be_infinite():
    # every event in arm B happens before every time in arm A: the MLE is at infinity
    time = [1, 2, 3, 4, 5, 6, 7, 8]
    event = [1, 1, 1, 1, 1, 1, 1, 1]
    arm = ["B", "B", "B", "B", "A", "A", "A", "A"]
    fit = cox_ph(time, event, {"arm": arm})
    assert any("armB" in w and "infinite" in w for w in fit.warnings)
    assert "armB" in fit.to_dict()["warnings"][0]


def test_running_out_of_iterations_is_reported():
    fit = cox_ph(TIME, EVENT, {"age": AGE, "arm": ARM}, max_iter=1)
    assert not fit.converged
    assert fit.iterations == 1
    assert any("did not converge" in w for w in fit.warnings)


def test_optional_parts_can_be_skipped():
    fit = cox_ph(TIME, EVENT, {"age": AGE}, concordance=False, zph=False)
    d = fit.to_dict()
    assert d["concordance"] is None and d["zph"] == []


def test_zph_without_a_second_event_time_is_nan_with_a_warning():
    time = [5.0, 5.0, 5.0, 5.0, 7.0, 8.0, 9.0, 3.0]
    event = [1, 1, 1, 1, 0, 0, 0, 0]
    fit = cox_ph(time, event, {"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    assert [z.term for z in fit.zph] == ["x", "GLOBAL"]
    assert all(np.isnan(z.chisq) for z in fit.zph)
    assert any("cox.zph" in w for w in fit.warnings)


def test_concordance_index_checks_its_inputs():
    from earlyphase.stats import concordance_index

    with pytest.raises(InputError) as exc:
        concordance_index(TIME, EVENT, AGE[:-1])
    assert _problem(exc)[0] == "score"
    with pytest.raises(InputError) as exc:
        concordance_index(TIME, EVENT, [np.nan] + AGE[1:])
    assert _problem(exc)[0] == "score"
    # higher score with earlier events is concordant: the score -time is perfectly concordant
    c = concordance_index(TIME, EVENT, [-t for t in TIME])
    assert c.concordance == 1.0 and c.discordant == 0.0
    c = concordance_index(TIME, EVENT, TIME)
    assert c.concordance == 0.0 and c.concordant == 0.0


def test_covariate_constant_within_every_stratum_is_refused():
    # arm is constant inside each stratum: the strata absorb it (R would report NA for it)
    strata = ["s1" if a == "A" else "s2" for a in ARM]
    arm2 = ["A" if a == "A" else "B" for a in ARM]
    with pytest.raises(InputError) as exc:
        cox_ph(TIME, EVENT, {"age": AGE, "arm": arm2}, strata=strata)
    field, message = _problem(exc)
    assert field == "covariates" and "constant within" in message
    assert exc.value.problems[0].value == ["armB"]
