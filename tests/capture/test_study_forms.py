"""Study-defined forms through the one generic action: every field type, hard and soft ranges, show-if,
repeats, form checks, corrections, fields added to core forms, visit windows, forms not done.

Bad input gets a problem naming the form and field (``screening.lesion_count``), the value and the rule,
and nothing is written. The study: tests/capture/data/forms-study.yaml; the seed study's own form too.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from capture_helpers import DISEASE, PATIENT, TODAY, counts, open_level, rules
from earlyphase.capture import initialise
from earlyphase.errors import CheckFailed
from earlyphase.records import read_session
from earlyphase.records.tables import AuditEntry, FormRecord, FormValue, ProtocolDeviation

STUDY = Path(__file__).parent / "data" / "forms-study.yaml"
ELIGIBLE = {"I1": True, "E1": False}
PERSON = dict(subject_id="F01", site="S1", sex="F", birth_year=1970, ecog=1, consent_date="2020-03-01",
              eligibility=ELIGIBLE)
GOOD = dict(smoker="yes", pack_years=20, diagnosis_date="2019-11", histology="adeno", symptoms=["cough", "pain"],
            local_ecog="1", lesion_count=3, biopsy_date="2020-02-20", notes="no remarks")


@pytest.fixture
def forms(engine):
    trial = initialise(engine, STUDY, "tester", today=TODAY)
    trial.enrol_patient(**PERSON)
    return trial


def values_of(engine, record_id: int) -> dict:
    with read_session(engine) as s:
        return {(v.field, v.position): v for v in s.execute(select(FormValue).where(FormValue.record_id == record_id))
                .scalars()}


def test_good_form_is_stored_typed_and_audited(forms):
    before = counts(forms.engine)
    record = forms.record_form("F01", "screening", GOOD)
    after = counts(forms.engine)
    assert (record.form, record.visit, record.instance) == ("screening", "SCR", 1)  # its one visit by default
    stored = values_of(forms.engine, record.id)
    assert stored[("smoker", 0)].value_bool is True
    assert stored[("pack_years", 0)].value_num == 20.0 and stored[("lesion_count", 0)].value_int == 3
    assert stored[("diagnosis_date", 0)].value_text == "2019-11"
    assert stored[("biopsy_date", 0)].value_date == date(2020, 2, 20)
    assert stored[("histology", 0)].value_text == "adeno" and stored[("local_ecog", 0)].value_text == "1"
    assert [stored[("symptoms", k)].value_text for k in (1, 2)] == ["cough", "pain"]
    # one typed column per value, the others empty
    for v in stored.values():
        filled = [c for c in ("value_text", "value_int", "value_num", "value_date", "value_bool") if getattr(v, c) is not None]
        assert len(filled) == 1, (v.field, filled)
    n_values = len(stored)
    assert after["form_records"] == before["form_records"] + 1 and after["form_values"] == before["form_values"] + n_values
    assert after["audit_log"] == before["audit_log"] + 1 + n_values
    with read_session(forms.engine) as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.table_name == "form_records")).scalar_one()
    assert entry.subject_id == "F01" and json.loads(entry.new_values)["form"] == "screening"


@pytest.mark.parametrize("change, field, value, rule", [
    ({"smoker": "perhaps"}, "screening.smoker", "perhaps", "boolean"),
    ({"smoker": None}, "screening.smoker", None, "required"),
    ({"pack_years": "twenty"}, "screening.pack_years", "twenty", "number"),
    ({"pack_years": -1}, "screening.pack_years", -1, "range"),
    ({"pack_years": 201}, "screening.pack_years", 201, "range"),
    ({"pack_years": None}, "screening.pack_years", None, "required"),
    ({"pack_years": 120}, "screening.pack_years", 120, "soft-range"),
    ({"diagnosis_date": "2019-13"}, "screening.diagnosis_date", "2019-13", "partial-date"),
    ({"diagnosis_date": "Nov 2019"}, "screening.diagnosis_date", "Nov 2019", "partial-date"),
    ({"histology": "large cell"}, "screening.histology", "large cell", "code"),
    ({"histology": None}, "screening.histology", None, "required"),
    ({"histology": "other"}, "screening.histology_other", None, "required"),
    ({"histology_other": "sarcomatoid"}, "screening.histology_other", "sarcomatoid", "hidden-field"),
    ({"histology": "other", "histology_other": "x" * 41}, "screening.histology_other", "x" * 41, "max-length"),
    ({"symptoms": ["cough", "itch"]}, "screening.symptoms", "itch", "code"),
    ({"symptoms": "cough|itch"}, "screening.symptoms", "itch", "code"),
    ({"local_ecog": "5"}, "screening.local_ecog", "5", "code"),
    ({"lesion_count": 2.5}, "screening.lesion_count", 2.5, "integer"),
    ({"lesion_count": 51}, "screening.lesion_count", 51, "range"),
    ({"lesion_count": 12}, "screening.lesion_count", 12, "soft-range"),
    ({"biopsy_date": "1999-12-31"}, "screening.biopsy_date", "1999-12-31", "range"),
    ({"biopsy_date": "2020-02-30"}, "screening.biopsy_date", "2020-02-30", "date"),
    ({"biopsy_date": "2024-06-02"}, "screening.biopsy_date", "2024-06-02", "not-in-future"),
    ({"biopsy_date": "2020-03-05"}, "screening.biopsy_date", "2020-03-05", "biopsy-before-consent"),
    ({"pack_years": 60}, "screening.pack_years", 60, "heavy-smoker-for-age"),
    ({"shoe_size": 42}, "screening.shoe_size", 42, "known-field"),
])
def test_bad_values_are_named_and_nothing_is_written(forms, change, field, value, rule):
    before = counts(forms.engine)
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "screening", {**GOOD, **change})
    found = [(p.field, p.value, p.rule) for p in info.value.problems]
    assert (field, value, rule) in found, found
    problem = next(p for p in info.value.problems if p.rule == rule)
    assert problem.message and "screening" in str(info.value)
    assert counts(forms.engine) == before


@pytest.mark.parametrize("change", [
    {"smoker": "no", "pack_years": None},  # hidden when the patient never smoked
    {"smoker": False, "pack_years": ""},
    {"histology": "other", "histology_other": "sarcomatoid"},
    {"symptoms": None, "notes": None, "diagnosis_date": None, "local_ecog": None},
    {"symptoms": "pain|cough"},
    {"diagnosis_date": "2019"},
    {"lesion_count": 0, "histology": "SQUAMOUS"},
    {"pack_years": 0},
])
def test_good_variants_are_accepted(forms, change):
    forms.record_form("F01", "screening", {**GOOD, **change})


def test_soft_range_and_warning_check_kept_when_confirmed(forms):
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "screening", {**GOOD, "lesion_count": 12, "pack_years": 110})
    assert set(rules(info.value)) == {"soft-range", "heavy-smoker-for-age"}
    assert all("confirm" in p.message for p in info.value.problems)
    record = forms.record_form("F01", "screening", {**GOOD, "lesion_count": 12, "pack_years": 110},
                               confirm_warnings=True)
    stored = values_of(forms.engine, record.id)
    assert stored[("lesion_count", 0)].confirmed and stored[("pack_years", 0)].confirmed
    assert not stored[("histology", 0)].confirmed
    # a later correction of another field keeps the confirmed values without asking again
    forms.correct_record("form_records", record.id, {"notes": "smoker since age 15"}, "source document updated: smoking history")
    # but a new value outside the soft range must be confirmed again
    with pytest.raises(CheckFailed) as info:
        forms.correct_record("form_records", record.id, {"lesion_count": 14}, "source document updated: lesions recounted")
    assert rules(info.value) == ["soft-range"]


def test_non_repeating_form_once_per_visit(forms):
    forms.record_form("F01", "screening", GOOD)
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "screening", GOOD)
    assert rules(info.value) == ["unique-form"]
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "screening", GOOD, visit="LAB-1")
    assert "form-at-visit" in rules(info.value)


def test_repeating_form_numbers_its_instances(forms):
    first = forms.record_form("F01", "labs", {"lab_date": "2020-03-02", "hb": 12.5, "fasting": "yes"}, visit=None)
    second = forms.record_form("F01", "labs", {"lab_date": "2020-03-09", "hb": 11.0})
    assert (first.instance, second.instance) == (1, 2)
    assert (first.visit_date, second.visit_date) == (date(2020, 3, 2), date(2020, 3, 9))  # from the date field
    third = forms.record_form("F01", "labs", {"lab_date": "2020-03-16"}, instance=7)
    assert third.instance == 7
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "labs", {"lab_date": "2020-03-17"}, instance=2)
    assert rules(info.value) == ["unique-instance"]
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "labs", {"lab_date": "2020-03-17"}, instance=0)
    assert rules(info.value) == ["instance"]
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "labs", {"hb": 40})
    assert set(rules(info.value)) == {"required", "range"}


def test_unknown_form_patient_and_visit(forms):
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "vitals", {})
    assert rules(info.value) == ["form-known"]
    with pytest.raises(CheckFailed) as info:
        forms.record_form("NOPE", "labs", {"lab_date": "2020-03-02"})
    assert rules(info.value) == ["patient-known"]
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "labs", {"lab_date": "2020-03-02"}, visit="XYZ-1")
    assert rules(info.value) == ["visit-known"]
    with pytest.raises(CheckFailed) as info:
        forms.record_form("F01", "labs", {"lab_date": "2020-03-02"}, visit="LAB")
    assert rules(info.value) == ["visit-occurrence"]


def test_correction_rechecks_the_whole_form_and_is_audited(forms):
    record = forms.record_form("F01", "screening", GOOD)
    before = counts(forms.engine)
    forms.correct_record("form_records", record.id, {"lesion_count": 4, "symptoms": ["fatigue"]},
                         "source document updated: CT re-read")
    after = counts(forms.engine)
    stored = values_of(forms.engine, record.id)
    assert stored[("lesion_count", 0)].value_int == 4 and stored[("symptoms", 1)].value_text == "fatigue"
    assert ("symptoms", 2) not in stored
    # lesion_count updated, symptoms: position 1 updated, position 2 deleted
    assert after["audit_log"] == before["audit_log"] + 3
    with read_session(forms.engine) as s:
        entries = list(s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(3)).scalars())
    assert {e.reason for e in entries} == {"source document updated: CT re-read"} and {e.action for e in entries} == {"update", "delete"}
    with pytest.raises(CheckFailed) as info:
        forms.correct_record("form_records", record.id, {"smoker": "no"}, "data-entry error: wrong box")
    assert rules(info.value) == ["hidden-field"]  # pack_years would have to go too
    forms.correct_record("form_records", record.id, {"smoker": "no", "pack_years": None}, "data-entry error: wrong box")
    with pytest.raises(CheckFailed) as info:
        forms.correct_record("form_records", record.id, {"lesion_count": 4}, "data-entry error: lesion count entered again")
    assert rules(info.value) == ["no-change"]
    n = len(values_of(forms.engine, record.id))
    before_delete = counts(forms.engine)
    forms.delete_record("form_records", record.id, "data-entry error: entered for the wrong patient")
    after_delete = counts(forms.engine)
    assert after_delete["form_records"] == before_delete["form_records"] - 1
    assert after_delete["form_values"] == before_delete["form_values"] - n
    assert after_delete["audit_log"] == before_delete["audit_log"] + 1 + n


def test_a_query_on_a_form_field(forms):
    record = forms.record_form("F01", "screening", GOOD)
    q = forms.raise_query("form_records", record.id, "Biopsy date as in the pathology report?", field="biopsy_date")
    assert q.field == "biopsy_date"
    with pytest.raises(CheckFailed) as info:
        forms.raise_query("form_records", record.id, "?", field="shoe_size")
    assert rules(info.value) == ["field-known"]


def test_fields_added_to_core_forms(forms):
    open_level(forms, "L2", "2020-03-03")
    forms.allocate_patient("F01", "L2", "2020-03-03")
    with pytest.raises(CheckFailed) as info:  # the added check reads the core dose
        forms.record_administration("F01", None, "2020-03-04", 3, cycle=1, cycle_day=1, weight_kg=60,
                                    extra={"duration_min": 20})
    assert rules(info.value) == ["long-infusion-at-high-dose"] and info.value.problems[0].field == "duration_min"
    with pytest.raises(CheckFailed) as info:
        forms.record_administration("F01", None, "2020-03-04", 3, cycle=1, cycle_day=1, weight_kg=60,
                                    extra={"duration_min": 0, "colour": "red"})
    assert set(rules(info.value)) == {"range", "known-field"}
    assert counts(forms.engine)["administrations"] == 0
    adm = forms.record_administration("F01", None, "2020-03-04", 3, cycle=1, cycle_day=1, weight_kg=60,
                                      amount=180, amount_unit="mg", extra={"duration_min": 60})
    assert (adm.number, adm.cycle, adm.cycle_day, adm.dose_unit) == (1, 1, 1, "mg/kg")
    with read_session(forms.engine) as s:
        ext = s.execute(select(FormRecord).where(FormRecord.core_table == "administrations")).scalar_one()
        value = s.execute(select(FormValue).where(FormValue.record_id == ext.id)).scalar_one()
    assert (ext.form, ext.core_id, value.field, value.value_int) == ("administration", adm.id, "duration_min", 60)
    # corrected like any field of the core record, with every check again
    with pytest.raises(CheckFailed) as info:
        forms.correct_record("administrations", adm.id, {"duration_min": 15}, "source document updated: the pump log")
    assert rules(info.value) == ["long-infusion-at-high-dose"]
    forms.correct_record("administrations", adm.id, {"duration_min": 45}, "source document updated: the pump log")
    ae = forms.record_adverse_event("F01", "Chills", 1, "2020-03-04", "probable", "recovered",
                                    resolution="2020-03-05", extra={"infusion_reaction": "yes"})
    with pytest.raises(CheckFailed) as info:
        forms.record_adverse_event("F01", "Fever", 1, "2020-03-04", "probable", "recovered",
                                   resolution="2020-03-05", extra={"infusion_reaction": "sometimes"})
    assert rules(info.value) == ["boolean"]
    forms.delete_record("adverse_events", ae.id, "data-entry error: duplicate entry")
    with read_session(forms.engine) as s:
        left = s.execute(select(FormRecord).where(FormRecord.core_table == "adverse_events")).first()
    assert left is None  # the added fields went with their record


def test_cycles_dose_reductions_and_visit_window_deviation(forms):
    open_level(forms, "L2", "2020-03-03")
    forms.allocate_patient("F01", "L2", "2020-03-03")
    forms.record_administration("F01", None, "2020-03-04", 3, cycle=1, cycle_day=1, weight_kg=60)
    # cycle 2 day 1 is planned 21 days later; the regimen's first reduction (2 mg/kg) needs its reason
    with pytest.raises(CheckFailed) as info:
        forms.record_administration("F01", None, "2020-03-25", 2, cycle=2, cycle_day=1, weight_kg=60)
    assert rules(info.value) == ["reduction-reason"]
    adm = forms.record_administration("F01", None, "2020-03-25", 2, cycle=2, cycle_day=1, weight_kg=60,
                                      modification_reason="grade 2 fatigue")
    assert (adm.number, adm.reduction, adm.planned_date) == (2, 1, date(2020, 3, 25))
    with pytest.raises(CheckFailed) as info:
        forms.record_administration("F01", None, "2020-04-22", 3, cycle=3, cycle_day=2, weight_kg=60)
    assert rules(info.value) == ["dosing-day"]
    # the labs of cycle 2 drawn a week late: accepted, with a protocol deviation
    record = forms.record_form("F01", "labs", {"lab_date": "2020-04-01", "hb": 11}, visit="LAB-2")
    with read_session(forms.engine) as s:
        (dev,) = s.execute(select(ProtocolDeviation)).scalars()
    assert (dev.source_table, dev.source_id, dev.category) == ("form_records", record.id, "schedule")
    assert "LAB-2" in dev.description and "7 days late" in dev.description
    forms.record_form("F01", "labs", {"lab_date": "2020-03-03", "hb": 12}, visit="LAB-1")  # inside: no deviation
    assert counts(forms.engine)["protocol_deviations"] == 1


def test_form_not_done_and_the_ledger(forms):
    from earlyphase.derive import ledger_from_database

    forms.allocate_patient("F01", "L1", "2020-03-03")
    forms.record_administration("F01", None, "2020-03-04", 1, cycle=1, cycle_day=1, weight_kg=60)
    forms.record_administration("F01", None, "2020-03-25", 1, cycle=2, cycle_day=1, weight_kg=60)
    ledger = ledger_from_database(forms.engine, as_of=date(2020, 4, 20))
    status = {(e.visit, e.form): e.status for e in ledger.entries}
    assert status == {("SCR", "eligibility"): "entered", ("SCR", "screening"): "overdue",
                      ("LAB-1", "labs"): "overdue", ("LAB-2", "labs"): "overdue"}
    forms.record_form_not_done("F01", "LAB-1", "labs", "sample haemolysed")
    with pytest.raises(CheckFailed) as info:
        forms.record_form_not_done("F01", "LAB-1", "labs", "again")
    assert rules(info.value) == ["unique-not-done"]
    with pytest.raises(CheckFailed) as info:
        forms.record_form_not_done("F01", "SCR", "labs", "no")
    assert rules(info.value) == ["form-at-visit"]
    forms.record_form("F01", "screening", GOOD)
    ledger = ledger_from_database(forms.engine, as_of=date(2020, 4, 20))
    status = {(e.visit, e.form): (e.status, e.reason) for e in ledger.entries}
    assert status[("LAB-1", "labs")] == ("not done", "sample haemolysed")
    assert status[("SCR", "screening")][0] == "entered"
    assert [e.visit for e in ledger.missing()] == ["LAB-2"]
    assert "LAB-2" in ledger.summary() and "site S1" in ledger.summary()


def test_the_seed_studys_disease_form(trial):
    """The seed trial's disease fields are its own form now, with its checks in the study file."""
    trial.enrol_patient(**PATIENT)
    before = counts(trial.engine)
    for change, field, rule in [
        ({"child_pugh_class": "D"}, "baseline_disease.child_pugh_class", "code"),
        ({"child_pugh_score": 16}, "baseline_disease.child_pugh_score", "range"),
        ({"child_pugh_score": 8}, "baseline_disease.child_pugh_score", "child-pugh-consistent"),
        ({"afp": -1}, "baseline_disease.afp", "range"),
        ({"weight": 19.9}, "baseline_disease.weight", "range"),
        ({"recurrence_date": "2011-01-01"}, "baseline_disease.recurrence_date", "recurrence-after-transplant"),
        ({"recurrence_date": "2015-01-11"}, "baseline_disease.recurrence_date", "consent-after-recurrence"),
        ({"transplant_date": None}, "baseline_disease.transplant_date", "required"),
    ]:
        with pytest.raises(CheckFailed) as info:
            trial.record_form("P01", "baseline_disease", {**DISEASE, **change})
        assert (field, rule) in [(p.field, p.rule) for p in info.value.problems], (change, info.value)
    assert counts(trial.engine) == before
    record = trial.record_form("P01", "baseline_disease", {**DISEASE, "child_pugh_class": "b", "child_pugh_score": 7})
    assert record.visit == "SCR"
    # a corrected consent date that breaks the form's check is refused on the enrolment
    with pytest.raises(CheckFailed) as info:
        trial.correct_record("patients", 1, {"consent_date": "2014-11-01"}, "data-entry error: typo on the form")
    assert [(p.field, p.rule) for p in info.value.problems] == [("consent_date", "consent-after-recurrence")]
