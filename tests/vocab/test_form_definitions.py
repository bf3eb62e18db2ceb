"""The ASTCT assessment forms as data, and the neutral form shape they use."""

from __future__ import annotations

import inspect

import pytest

from earlyphase.errors import InputError
from earlyphase.vocab import BUNDLED_FORMS, bundled_form, grade_crs, grade_icans, parse_form
from earlyphase.vocab.astct import CONSCIOUSNESS, OXYGEN_SUPPORT, RAISED_ICP, SEIZURE


@pytest.mark.parametrize("name, function", [("astct_crs", grade_crs), ("astct_icans", grade_icans)])
def test_form_inputs_are_exactly_the_grading_parameters(name, function):
    form = bundled_form(name)
    params = set(inspect.signature(function).parameters)
    assert set(form.derived.inputs) == params
    field_names = {f.name for f in form.fields}
    assert params <= field_names and field_names - params == {"assessment_date"}
    assert form.repeating and "Lee" in form.reference
    assert form.field_named("assessment_date").required


@pytest.mark.parametrize("name, field, codes", [
    ("astct_crs", "oxygen", OXYGEN_SUPPORT), ("astct_icans", "consciousness", CONSCIOUSNESS),
    ("astct_icans", "seizure", SEIZURE), ("astct_icans", "raised_icp", RAISED_ICP),
])
def test_form_choices_are_the_grading_codes(name, field, codes):
    assert [c.code for c in bundled_form(name).field_named(field).choices] == list(codes)


def test_forms_derive_the_grade_from_recorded_values():
    crs = bundled_form("astct_crs").derive({
        "assessment_date": "2024-01-03", "temperature_c": 39.4, "fever_masked": False, "hypotension": True,
        "vasopressors": None, "vasopressin": None, "oxygen": "nasal_cannula", "oxygen_flow_l_min": 8.0,
        "died_of_crs": False})
    assert (crs.grade, crs.drivers) == (3, ("hypoxia",))
    icans = bundled_form("astct_icans").derive({
        "ice_score": 6, "consciousness": "awakens_to_voice", "seizure": "none", "motor_weakness": False,
        "raised_icp": []})
    assert (icans.grade, set(icans.drivers)) == (2, {"ice", "consciousness"})
    with pytest.raises(InputError):
        bundled_form("astct_crs").derive({"temperature_c": 39.0, "vasopressors": 2})


def test_form_to_dict_round_trips():
    import yaml

    for name in BUNDLED_FORMS:
        form = bundled_form(name)
        again = parse_form(yaml.safe_dump(form.to_dict(), allow_unicode=True))
        assert again.to_dict() == form.to_dict()


def test_unknown_bundled_form():
    with pytest.raises(ValueError):
        bundled_form("recist")


GOOD = """
name: vitals
label: Vital signs
fields:
  - {name: pulse, label: Pulse, type: integer, unit: /min, range: {min: 20, max: 250}}
  - {name: rhythm, label: Rhythm, type: choice, choices: [{code: regular, label: regular}, {code: af, label: AF}]}
  - {name: note, label: Note, type: text, show_if: rhythm == af}
"""


def test_parse_a_study_form():
    form = parse_form(GOOD)
    assert [f.name for f in form.fields] == ["pulse", "rhythm", "note"] and form.derived is None
    assert form.field_named("pulse").range == (20, 250)


@pytest.mark.parametrize("text, rule", [
    ("- a list", "form-mapping"),
    ("name: [", "yaml"),
    (GOOD.replace("name: vitals", "name: Vitals!"), "identifier"),
    (GOOD + "colour: blue\n", "unknown-key"),
    (GOOD.replace("type: integer", "type: float"), "field-type"),
    (GOOD.replace("type: text", "type: text, range: {min: 1}"), "range-numeric"),
    (GOOD.replace("{min: 20, max: 250}", "{min: 250, max: 20}"), "range-order"),
    (GOOD.replace("show_if: rhythm == af", "show_if: rhythm == flutter"), "show-if-value"),
    (GOOD.replace("show_if: rhythm == af", "show_if: colour == af"), "show-if-field"),
    (GOOD.replace("show_if: rhythm == af", "show_if: rhythm is af"), "show-if-form"),
    (GOOD.replace("{code: af, label: AF}", "{code: regular, label: AF}"), "unique-choice-code"),
    (GOOD.replace("name: note", "name: pulse"), "unique-field-name"),
    (GOOD + "derived: {name: x, label: X, function: os.system, inputs: [pulse]}\n", "derived-function"),
    (GOOD + "derived: {name: x, label: X, function: earlyphase.vocab.astct.grade_crs, inputs: [bp]}\n",
     "derived-input-field"),
])
def test_bad_form_files_are_refused_with_the_path(text, rule):
    with pytest.raises(InputError) as info:
        parse_form(text, source="vitals.yaml")
    assert rule in [p.rule for p in info.value.problems]
    assert all(p.file == "vitals.yaml" for p in info.value.problems)
