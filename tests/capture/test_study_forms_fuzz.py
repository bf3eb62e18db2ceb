"""Fuzzing the generic form action: any values at all either write a record whose stored values have the
types the fields promise, or raise ``CheckFailed`` whose every problem names the form's field (or the visit),
the value and the rule, with nothing written. Never another exception, never a half-written record."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from capture_helpers import TODAY
from earlyphase.capture import initialise
from earlyphase.capture.forms import record_form, stored_values
from earlyphase.errors import CheckFailed
from earlyphase.protocol import load_study
from earlyphase.records import transaction
from earlyphase.records.tables import AuditEntry, FormRecord, FormValue

STUDY = Path(__file__).parent / "data" / "forms-study.yaml"
FORMS = load_study(STUDY)
TYPES = {"text": str, "partial_date": str, "choice": str, "integer": int, "decimal": float, "date": date,
         "yesno": bool, "multiple_choice": tuple}


class _Rollback(Exception):
    """Ends an example's transaction without keeping what it wrote."""


@pytest.fixture(scope="module")
def fuzz_trial(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "trial.db"
    trial = initialise(str(path), STUDY, "fuzzer", today=TODAY)
    trial.enrol_patient("F01", site="S1", sex="M", birth_year=1960, ecog=0, consent_date="2020-03-01",
                        eligibility={"I1": True, "E1": False})
    yield trial
    trial.close()


def any_value(field=None):
    plain = [st.none(), st.text(max_size=25), st.integers(min_value=-10**20, max_value=10**20),
             st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
             st.dates(min_value=date(1890, 1, 1), max_value=date(2040, 1, 1)),
             st.dates().map(date.isoformat), st.lists(st.text(max_size=8), max_size=4)]
    if field is not None and field.type in ("choice", "multiple_choice"):
        codes = [c for c, _ in FORMS.codes_of(field)]
        plain += [st.sampled_from(codes), st.lists(st.sampled_from(codes), max_size=3)]
    return st.one_of(*plain)


def values_for(form_name):
    form = FORMS.form(form_name)
    return st.fixed_dictionaries({}, optional={**{f.name: any_value(f) for f in form.fields},
                                               "not_a_field": any_value()})


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _check_one(trial, form_name, values, confirm, visit):
    form = FORMS.form(form_name)
    try:
        with transaction(trial.engine) as session:
            ctx = trial.context(session)
            before = (_count(session, FormRecord), _count(session, FormValue), _count(session, AuditEntry))
            try:
                record = record_form(ctx, "F01", form_name, values, confirm_warnings=confirm, visit=visit)
            except CheckFailed as exc:
                assert exc.problems
                for p in exc.problems:
                    assert p.field.startswith(f"{form_name}.") or p.field in ("visit", "visit_date", "instance"), p
                    assert p.rule and p.message
                after = (_count(session, FormRecord), _count(session, FormValue), _count(session, AuditEntry))
                assert after == before  # nothing written
            else:
                stored, _ = stored_values(ctx, record, form.fields)
                for name, value in stored.items():
                    assert isinstance(value, TYPES[form.field(name).type]), (name, value)
                written = _count(session, FormValue) - before[1]
                assert written == sum(len(v) if isinstance(v, tuple) else 1 for v in stored.values())
                assert _count(session, AuditEntry) - before[2] == 1 + written  # every row audited
            raise _Rollback
    except _Rollback:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=values_for("screening"), confirm=st.booleans())
def test_fuzz_the_screening_form(fuzz_trial, values, confirm):
    _check_one(fuzz_trial, "screening", values, confirm, None)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=values_for("labs"), confirm=st.booleans(),
       visit=st.one_of(st.none(), st.sampled_from(["LAB-1", "LAB-0", "LAB", "SCR", "XYZ-2"]), st.text(max_size=6)))
def test_fuzz_the_repeating_labs_form(fuzz_trial, values, confirm, visit):
    _check_one(fuzz_trial, "labs", values, confirm, visit)


def test_a_good_example_does_write(fuzz_trial):
    """The fuzz's success branch is reachable: a valid entry writes and is read back typed."""
    record = fuzz_trial.record_form("F01", "labs", {"lab_date": "2020-03-05", "hb": 10.5, "fasting": "no"})
    with transaction(fuzz_trial.engine) as session:
        stored, _ = stored_values(fuzz_trial.context(session), record, FORMS.form("labs").fields)
    assert stored == {"lab_date": date(2020, 3, 5), "hb": 10.5, "fasting": False}
