"""Dosing of any product (units, schedules, step-up, reductions), visit occurrences, and the study-file
checks across sections. The shapes of the studies earlyphase must run: an oral drug in 21-day cycles with
five levels, CAR-T cells/kg once after lymphodepletion, an antibody in mg/kg every three weeks."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from earlyphase.errors import StudyFileError
from earlyphase.protocol import parse_study
from earlyphase.protocol.schedule import Anchors, occurrence, patient_anchors, visit_occurrences
from earlyphase.vocab import body_surface_area, convert_dose

BASE = dict(study_id="shape", title="A study", sponsor="Sponsor", dlt_window_days=28, sites=[{"code": "S1", "name": "S"}])


def study(**sections):
    return parse_study(yaml.safe_dump({**BASE, **sections}))


ORAL = dict(
    product={"name": "Drug X tablets", "short_name": "drug X", "administration": "dose", "dose_unit": "mg",
             "route": "PO"},
    groups=[{"code": f"L{i}", "label": f"{d} mg daily",
             "regimen": {"dose": d, "schedule": {"cycle_days": 21, "dosing_days": "1-21"}, "dose_reductions": [d / 2]}}
            for i, d in enumerate((25, 50, 100, 200, 400), start=1)],
    dose_finding={"design": "3+3"}, response_criteria="RECIST 1.1",
    visits=[{"code": "C", "label": "Cycle day 1", "anchor": "cycle_start", "forms": ["administration"]}],
)
CART = dict(
    product={"name": "Autologous anti-CD19 CAR-T cells", "short_name": "CAR-T cell", "administration": "infusion",
             "dose_unit": "cells/kg"},
    groups=[{"code": f"D{i}", "label": f"{d:g} cells/kg", "regimen": {"dose": d, "schedule": {"administrations": 1}}}
            for i, d in enumerate((1e5, 3e5, 1e6), start=1)],
    dose_finding={"design": "boin", "target_dlt_rate": 0.3},
    forms=[{"name": "lymphodepletion", "label": "Lymphodepletion", "fields": [
        {"name": "regimen", "label": "Regimen", "type": "choice", "codelist": "lymphodepletion", "required": True},
        {"name": "start_date", "label": "First day", "type": "date", "required": True}], "date_field": "start_date"}],
    visits=[{"code": "LD", "label": "Lymphodepletion", "anchor": "first_dose", "offset_days": -5,
             "window": {"before": 2, "after": 2}, "forms": ["lymphodepletion"]}],
)


def test_oral_drug_daily_in_21_day_cycles_with_five_levels():
    s = study(**ORAL)
    assert [g.code for g in s.levels] == ["L1", "L2", "L3", "L4", "L5"] and s.level_of("L4") == 4
    r = s.group("L3").regimen
    assert r.schedule.cyclic and r.schedule.per_cycle == 21 and r.administrations is None  # until progression
    assert r.cumulative_dose is None and r.planned_dose(500) == 100
    assert r.schedule.position(22) == (2, 1) and r.schedule.number_of(2, 1) == 22
    assert r.schedule.offset_days(22) == 21 and "until progression" in r.schedule.describe()


def test_car_t_once_after_lymphodepletion():
    s = study(**CART)
    r = s.group("D2").regimen
    assert (r.administrations, r.cumulative_dose, s.product.dose_unit, s.product.nouns) == (1, 3e5, "cells/kg",
                                                                                            "infusions")
    anchors = Anchors(first_dose=date(2024, 3, 10))
    (ld,) = visit_occurrences(s.visit("LD"), anchors, horizon=date(2024, 12, 31))
    assert (ld.key, ld.planned, ld.earliest, ld.latest) == ("LD", date(2024, 3, 5), date(2024, 3, 3), date(2024, 3, 7))


def test_step_up_and_reductions():
    s = study(product={"name": "Bispecific", "dose_unit": "ug", "route": "SC"},
              groups=[{"code": "A", "label": "A", "regimen": {
                  "dose": 100, "schedule": {"administrations": 6, "every_days": 7}, "step_up_doses": [10, 30],
                  "dose_reductions": [60, 30]}}])
    r = s.group("A").regimen
    assert [r.planned_dose(k) for k in range(1, 7)] == [10, 30, 100, 100, 100, 100] and r.cumulative_dose == 440
    assert r.doses_text() == "10.0, 30.0, then 100.0"


@pytest.mark.parametrize("change, where, words", [
    ({"product": {"name": "P", "dose_unit": "mg/fortnight"}}, "product.dose_unit", "unknown dose unit"),
    ({"product": {"name": "P", "dose_unit": "mg", "route": "XX"}}, "product.route", "unknown route"),
    ({"product": {"name": "P", "dose_unit": "mg/m2", "bsa_formula": "guess"}}, "product.bsa_formula", "unknown BSA"),
    ({"groups": [{"code": "A", "label": "A", "regimen": {"dose": 1, "schedule": {"administrations": 3}}}]},
     "groups[0].regimen.schedule", "needs every_days"),
    ({"groups": [{"code": "A", "label": "A", "regimen": {"dose": 1, "schedule": {"cycle_days": 21,
                                                                                     "dosing_days": [1, 22]}}}]},
     "groups[0].regimen.schedule", "within the cycle"),
    ({"groups": [{"code": "A", "label": "A", "regimen": {"dose": 1, "schedule": {"administrations": 2, "every_days": 7},
                                                         "dose_reductions": [2]}}]},
     "groups[0].regimen", "below the nominal dose"),
])
def test_bad_dosing_is_refused_with_its_path(change, where, words):
    with pytest.raises(StudyFileError) as info:
        study(**{**ORAL, **change})
    assert any(p.field.startswith(where) and words in p.message for p in info.value.problems), info.value


def test_units_convert_by_body_size():
    assert convert_dose(3, "mg/kg", "mg", weight_kg=70) == pytest.approx(210)
    assert convert_dose(100, "mg/m2", "mg", bsa_m2=1.8) == pytest.approx(180)
    assert convert_dose(5e9, "cells", "cells/kg", weight_kg=50) == pytest.approx(1e8)
    assert convert_dose(1, "mg", "ug") == pytest.approx(1000)
    with pytest.raises(ValueError):
        convert_dose(1, "mg", "cells")
    with pytest.raises(ValueError):
        convert_dose(1, "mg/kg", "mg")  # no weight


@pytest.mark.parametrize("formula, expected", [
    # 170 cm, 70 kg: each formula computed by hand from its published equation
    ("mosteller", (170 * 70 / 3600) ** 0.5),
    ("dubois", 0.007184 * 70 ** 0.425 * 170 ** 0.725),
    ("haycock", 0.024265 * 70 ** 0.5378 * 170 ** 0.3964),
    ("gehan-george", 0.0235 * 70 ** 0.51456 * 170 ** 0.42246),
])
def test_body_surface_area_formulas(formula, expected):
    assert body_surface_area(170, 70, formula) == pytest.approx(expected)
    assert 1.7 < body_surface_area(170, 70, formula) < 1.9  # every formula gives about 1.8 m2 for an adult


def test_repeating_visits_stop_at_progression_death_and_horizon():
    s = study(**{**ORAL, "visits": [
        {"code": "SCAN", "label": "Scan", "anchor": "first_dose", "offset_days": 42, "window": {"before": 7, "after": 7},
         "repeat_every_days": 42, "forms": ["tumour_assessment"]},
        {"code": "FU", "label": "Follow-up", "anchor": "enrolment", "offset_days": 30, "repeat_every_days": 90,
         "repeat_times": 3, "stop_at_progression": False, "forms": ["follow_up"]}, *ORAL["visits"]]})
    anchors = patient_anchors(enrolment=date(2024, 1, 1), allocation=date(2024, 1, 2),
                              administrations=[(date(2024, 1, 5), 1, 1), (date(2024, 1, 28), 2, 1)],
                              progression=date(2024, 4, 1))
    assert anchors.cycle_starts == (date(2024, 1, 5), date(2024, 1, 28)) and anchors.first_dose == date(2024, 1, 5)
    scans = visit_occurrences(s.visit("SCAN"), anchors, horizon=date(2025, 1, 1))
    assert [o.key for o in scans] == ["SCAN-1", "SCAN-2"]  # the third would open after progression
    assert scans[1].planned == date(2024, 3, 29)
    follow = visit_occurrences(s.visit("FU"), anchors, horizon=date(2025, 1, 1))
    assert [o.planned for o in follow] == [date(2024, 1, 31), date(2024, 4, 30), date(2024, 7, 29)]
    dead = patient_anchors(enrolment=date(2024, 1, 1), allocation=None, administrations=[], death=date(2024, 5, 1))
    assert [o.key for o in visit_occurrences(s.visit("FU"), dead, horizon=date(2025, 1, 1))] == ["FU-1", "FU-2"]
    assert [o.key for o in visit_occurrences(s.visit("FU"), anchors, horizon=date(2024, 2, 1))] == ["FU-1", "FU-2"]
    cycles = visit_occurrences(s.visit("C"), anchors, horizon=date(2025, 1, 1))
    assert [(o.key, o.planned) for o in cycles] == [("C-1", date(2024, 1, 5)), ("C-2", date(2024, 1, 28))]
    assert occurrence(s.visit("SCAN"), Anchors(), 1) is None  # no first dose yet: not placed


@pytest.mark.parametrize("sections, where, words", [
    ({"visits": [{"code": "V", "label": "V", "forms": ["labs"]}]}, "visits[0].forms", "neither a form"),
    ({"visits": [{"code": "V", "label": "V", "anchor": "cycle_start", "forms": ["follow_up"]}],
      "groups": CART["groups"]}, "visits[0].anchor", "needs a regimen with cycles"),
    ({"forms": [{"name": "f", "label": "F", "fields": [
        {"name": "c", "label": "C", "type": "choice", "codelist": "no_such_list"}]}]}, "forms[0].fields[0].codelist",
     "no codelist"),
    ({"forms": [{"name": "f", "label": "F", "fields": [
        {"name": "c", "label": "C", "type": "choice", "codes": [{"code": "a", "label": "A"}]},
        {"name": "d", "label": "D", "type": "text", "show_if": "c = 'b'"}]}]}, "forms[0].fields[1].show_if",
     "'b' is not a code of field c"),
    ({"forms": [{"name": "administration", "label": "F", "fields": [{"name": "x", "label": "X", "type": "text"}]}]},
     "forms[0].name", "is a core form"),
    ({"core_forms": {"death": {"fields": [{"name": "cause", "label": "X", "type": "text"}]}}}, "core_forms.death",
     "values of the core form itself"),
    ({"core_forms": {"withdrawal": {"fields": [{"name": "x", "label": "X", "type": "text"}]}}},
     "core_forms.withdrawal", "not to 'withdrawal'"),
    ({"forms": [{"name": "f", "label": "F", "fields": [
        {"name": "x", "label": "X", "type": "integer", "adam": {"variable": "AGE", "label": "Age"}}]}]}, "forms.f",
     "derives itself"),
    ({"product": {"name": "P", "dose_unit": "mg", "route": "PO", "dose_limits": {"min": 30, "max": 1000}}},
     "groups[0].regimen", "outside product.dose_limits"),
])
def test_sections_are_checked_against_each_other(sections, where, words):
    with pytest.raises(StudyFileError) as info:
        study(**{**ORAL, **sections})
    assert any(p.field == where and words in p.message for p in info.value.problems), info.value


@pytest.mark.parametrize("field, words", [
    ({"name": "x", "label": "X", "type": "choice"}, "needs codes or a codelist"),
    ({"name": "x", "label": "X", "type": "text", "range": {"min": 1}}, "integer, decimal and date fields only"),
    ({"name": "x", "label": "X", "type": "integer", "range": {"min": 5, "max": 1}}, "min above max"),
    ({"name": "x", "label": "X", "type": "integer", "range": {"min": 0, "max": 10}, "soft_range": {"max": 11}},
     "outside the hard range"),
    ({"name": "x", "label": "X", "type": "date", "range": {"min": 3}}, "dates"),
    ({"name": "x", "label": "X", "type": "text", "show_if": "y ="}, "show_if"),
    ({"name": "x", "label": "X", "type": "text", "show_if": "x = 1"}, "cannot depend on the field itself"),
    ({"name": "x", "label": "X", "type": "text", "show_if": "zz = 1"}, "unknown field"),
    ({"name": "X1", "label": "X", "type": "text"}, "String should match pattern"),
    ({"name": "x", "label": "X", "type": "number"}, "Input should be"),
])
def test_bad_fields_are_refused(field, words):
    with pytest.raises(StudyFileError) as info:
        study(**{**ORAL, "forms": [{"name": "f", "label": "F", "fields": [field]}]})
    assert words in str(info.value), info.value
