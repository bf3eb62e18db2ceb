"""A study of another shape runs with no code change: an antibody in mg/kg every three weeks, RECIST 1.1,
its own lab and concomitant-medication forms (both repeating), eligibility criteria, a visit schedule.

From ``init`` through capture (the Python API and the CLI's import) to the expected-forms ledger, the
analysis datasets and the report, on SQLite and PostgreSQL; the report speaks of the study's product,
unit and words, never the seed trial's.
"""

from __future__ import annotations

from known_users import add_users
import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest
from signing_helpers import sign

from earlyphase.cli import app
from earlyphase.cli.common import run_app

STUDY = """\
study_id: abx-101-fih
title: First-in-human study of ABX-101, an anti-PD-L1 antibody, in advanced solid tumours
sponsor: Example Biotech
registry_id: NCT09999999
dlt_window_days: 21
response_criteria: RECIST 1.1
ctcae_version: "5.0"
sites:
  - {code: LON, name: London Phase I unit, country: GB}
  - {code: MAN, name: Manchester, country: GB}
product:
  name: ABX-101 (humanised anti-PD-L1 IgG1)
  short_name: ABX-101
  administration: infusion
  dose_unit: mg/kg
  route: IV
groups:
  - {code: L1, label: 1 mg/kg every 3 weeks, planned_n: 3,
     regimen: {dose: 1, schedule: {cycle_days: 21, dosing_days: [1]}}}
  - {code: L2, label: 3 mg/kg every 3 weeks, planned_n: 3,
     regimen: {dose: 3, schedule: {cycle_days: 21, dosing_days: [1]}, dose_reductions: [1]}}
  - {code: L3, label: 10 mg/kg every 3 weeks, planned_n: 3,
     regimen: {dose: 10, schedule: {cycle_days: 21, dosing_days: [1]}, dose_reductions: [3, 1]}}
eligibility:
  inclusion:
    - {code: I1, text: Advanced solid tumour after standard therapy}
    - {code: I2, text: Measurable disease by RECIST 1.1}
  exclusion:
    - {code: E1, text: Active autoimmune disease needing systemic treatment}
forms:
  - name: baseline
    label: Disease at baseline
    fields:
      - name: primary_site
        label: Primary tumour
        type: choice
        required: true
        codes:
          - {code: lung, label: Lung}
          - {code: melanoma, label: Melanoma}
          - {code: colorectal, label: Colorectal}
          - {code: other, label: Other}
      - {name: primary_other, label: Other primary, type: text, required: true, show_if: "primary_site = 'other'"}
      - {name: prior_lines, label: Prior lines of therapy, type: integer, range: {min: 0, max: 15},
         soft_range: {max: 6}, adam: {variable: PRIORLN, label: Prior lines of therapy}}
  - name: labs
    label: Laboratory tests
    repeating: true
    date_field: lab_date
    fields:
      - {name: lab_date, label: Date of sampling, type: date, required: true}
      - {name: hb, label: Haemoglobin, type: decimal, unit: g/dL, range: {min: 0, max: 30}, soft_range: {min: 8, max: 18}}
      - {name: alt, label: ALT, type: decimal, unit: U/L, range: {min: 0, max: 5000}, soft_range: {max: 200}}
      - {name: ldh, label: LDH, type: decimal, unit: U/L, range: {min: 0},
         adam: {variable: LDHBL, label: Baseline LDH (U/L)}}
  - name: conmeds
    label: Concomitant medication
    repeating: true
    date_field: start_date
    fields:
      - {name: drug, label: Medicine, type: text, required: true, max_length: 100}
      - {name: indication, label: Indication, type: text}
      - {name: start_date, label: Start date, type: date, required: true}
      - {name: ongoing, label: Ongoing, type: yesno, required: true}
      - {name: stop_date, label: Stop date, type: date, required: true, show_if: ongoing = 'N'}
      - {name: route, label: Route, type: choice, codelist: route}
    checks:
      - {name: stop-after-start, expression: stop_date >= start_date, message: the medicine stops before it starts,
         fields: [stop_date]}
core_forms:
  administration:
    fields:
      - {name: infusion_minutes, label: Infusion duration, type: integer, unit: min, range: {min: 5, max: 480}}
visits:
  - {code: SCR, label: Screening, anchor: enrolment, window: {before: 28}, forms: [eligibility, baseline, labs]}
  - {code: C, label: Cycle day 1, anchor: cycle_start, window: {before: 3, after: 3}, forms: [administration, labs]}
  - {code: SCAN, label: CT every 6 weeks, anchor: first_dose, offset_days: 42, window: {before: 7, after: 7},
     repeat_every_days: 42, forms: [tumour_assessment]}
adverse_events_of_special_interest:
  - {name: Infusion reactions, terms: [Infusion related reaction]}
imaging: {interval_days: 42, window_days: 7, baseline_window_days: 28, modalities: [CT, MRI]}
dose_finding: {design: boin, target_dlt_rate: 0.3, cohort_size: 3}
endpoints:
  - {name: Dose-limiting toxicities, kind: primary, description: DLTs in the first cycle}
  - {name: Progression-free survival (RECIST 1.1), paramcd: PFS, kind: exploratory, description: From first infusion}
  - {name: Overall survival, paramcd: OS, kind: exploratory, description: From first infusion}
"""
TODAY = date(2024, 9, 1)
ELIGIBLE = {"I1": True, "I2": True, "E1": False}
SEED_WORDS = re.compile(r"hepatocellular|\bHCC\b|transplant|Child.?Pugh|\bAFP\b|\bNK\b|Fever episodes|10⁹ cells",
                        re.IGNORECASE)


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = run_app(app, list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _capture_by_api(trial) -> None:
    # A01: 1 mg/kg, two cycles, stable disease at the first scan
    trial.enrol_patient("A01", "LON", "F", 1961, 1, "2024-01-10", eligibility=ELIGIBLE)
    trial.record_form("A01", "baseline", {"primary_site": "lung", "prior_lines": 2})
    trial.record_form("A01", "labs", {"lab_date": "2024-01-11", "hb": 12.1, "alt": 25, "ldh": 240}, visit="SCR")
    trial.allocate_patient("A01", "L1", "2024-01-15")
    trial.record_tumour_assessment("A01", "2024-01-12", "CT", [
        {"label": "T1", "kind": "target", "viable_diameter_mm": 40, "location": "lung"},
        {"label": "T2", "kind": "target", "viable_diameter_mm": 25, "location": "liver"}], baseline=True)
    trial.record_administration("A01", None, "2024-01-17", 1, cycle=1, cycle_day=1, weight_kg=70, amount=70,
                                amount_unit="mg", extra={"infusion_minutes": 60})
    trial.record_form("A01", "labs", {"lab_date": "2024-01-17", "hb": 11.8, "alt": 31}, visit="C-1")
    trial.record_adverse_event("A01", "Infusion related reaction", 2, "2024-01-17T11:30", "definite", "recovered",
                               resolution="2024-01-17T15:00")
    trial.record_form("A01", "conmeds", {"drug": "Paracetamol", "indication": "infusion reaction",
                                         "start_date": "2024-01-17", "ongoing": "no", "stop_date": "2024-01-18",
                                         "route": "PO"})
    trial.record_administration("A01", None, "2024-02-08", 1, cycle=2, cycle_day=1, weight_kg=69,
                                extra={"infusion_minutes": 30})
    trial.record_form("A01", "labs", {"lab_date": "2024-02-07", "hb": 11.5, "alt": 28}, visit="C-2")
    trial.record_tumour_assessment("A01", "2024-02-28", "CT", [
        {"label": "T1", "kind": "target", "viable_diameter_mm": 34, "location": "lung"},
        {"label": "T2", "kind": "target", "viable_diameter_mm": 22, "location": "liver"}])
    trial.record_follow_up("A01", "2024-08-20", "alive")
    # A02: 3 mg/kg, progression at the first scan, then death
    trial.enrol_patient("A02", "MAN", "M", 1955, 0, "2024-02-01", eligibility=ELIGIBLE)
    trial.record_form("A02", "baseline", {"primary_site": "other", "primary_other": "thymic carcinoma",
                                          "prior_lines": 8}, confirm_warnings=True)
    # BOIN escalated after A01's first cycle: the decision is recorded and sealed before L2 is allocated
    decision = trial.record_dose_decision("2024-02-05", "escalate", "L2", "no DLT at 1 mg/kg (BOIN: escalate)",
                                          "Safety review committee")
    sign(trial, decision.id)
    trial.allocate_patient("A02", "L2", "2024-02-05")
    trial.record_tumour_assessment("A02", "2024-02-03", "MRI", [
        {"label": "T1", "kind": "target", "viable_diameter_mm": 50, "location": "mediastinum"}], baseline=True)
    trial.record_administration("A02", None, "2024-02-06", 3, cycle=1, cycle_day=1, weight_kg=82, amount=246,
                                amount_unit="mg")
    trial.record_tumour_assessment("A02", "2024-03-19", "MRI", [
        {"label": "T1", "kind": "target", "viable_diameter_mm": 66, "location": "mediastinum"}])
    trial.record_death("A02", "2024-05-02", "disease progression")
    # and again after A02's first cycle: L3 opens for the patient the site imports below
    decision = trial.record_dose_decision("2024-03-04", "escalate", "L3", "no DLT at 3 mg/kg (BOIN: escalate)",
                                          "Safety review committee")
    sign(trial, decision.id)


def _import_by_cli(capsys, url: str, folder: Path) -> dict:
    folder.mkdir()
    _write_csv(folder / "patients.csv", ["subject_id", "site", "sex", "birth_year", "ecog", "consent_date"],
               [["A03", "LON", "M", 1970, 1, "2024-03-01"]])
    _write_csv(folder / "eligibility_answers.csv", ["subject_id", "criterion", "answer"],
               [["A03", "I1", "yes"], ["A03", "I2", "yes"], ["A03", "E1", "no"]])
    _write_csv(folder / "baseline.csv", ["subject_id", "primary_site", "primary_other", "prior_lines"],
               [["A03", "melanoma", "", 1]])
    _write_csv(folder / "allocations.csv", ["subject_id", "group_code", "allocation_date"], [["A03", "L3", "2024-03-04"]])
    _write_csv(folder / "administrations.csv",
               ["subject_id", "cycle", "cycle_day", "actual_date", "dose", "weight_kg", "infusion_minutes"],
               [["A03", 1, 1, "2024-03-05", 10, 75, 90], ["A03", 2, 1, "2024-03-26", 3, 74, 60]])
    labs = folder / "labs.csv"
    _write_csv(labs, ["subject_id", "visit", "instance", "lab_date", "hb", "alt", "ldh"],
               [["A03", "SCR", 1, "2024-03-01", 14.2, 35, 410], ["A03", "C-1", 1, "2024-03-05", 13.9, 250, ""]])
    _write_csv(folder / "conmeds.csv", ["subject_id", "instance", "drug", "start_date", "ongoing", "stop_date"],
               [["A03", 1, "Omeprazole", "2023-11-01", "yes", ""]])
    _write_csv(folder / "tumour_assessments.csv", ["subject_id", "assessment_date", "modality", "baseline"],
               [["A03", "2024-03-02", "CT", "true"]])
    _write_csv(folder / "lesions.csv", ["subject_id", "assessment_date", "lesion_label", "kind", "location",
                                        "viable_diameter_mm"], [["A03", "2024-03-02", "T1", "target", "skin", 22]])
    _write_csv(folder / "adverse_events.csv", ["subject_id", "term", "grade", "onset", "attribution", "outcome",
                                               "resolution", "dlt", "action"],
               [["A03", "Alanine aminotransferase increased", 3, "2024-03-12", "probable", "recovered", "2024-03-24",
                 "true", "dose reduced"]])
    # the lab ALT of 250 is outside the expected range: refused, nothing written, until confirmed
    code, _, err = _cli(capsys, "import", "--db", url, str(folder), "--user", "site-lon")
    assert code == 1 and "labs.csv, row 3, alt = 250.0" in err and "[soft-range]" in err
    # the dose of cycle 2 is the planned reduction: without its reason the row is refused too
    assert "modification_reason" in err
    _write_csv(labs, ["subject_id", "visit", "instance", "lab_date", "hb", "alt", "ldh", "confirm_warnings"],
               [["A03", "SCR", 1, "2024-03-01", 14.2, 35, 410, ""], ["A03", "C-1", 1, "2024-03-05", 13.9, 250, "", "yes"]])
    _write_csv(folder / "administrations.csv",
               ["subject_id", "cycle", "cycle_day", "actual_date", "dose", "weight_kg", "infusion_minutes",
                "modification_reason"],
               [["A03", 1, 1, "2024-03-05", 10, 75, 90, ""],
                ["A03", 2, 1, "2024-03-26", 3, 74, 60, "grade 3 ALT increase"]])
    code, out, err = _cli(capsys, "import", "--db", url, str(folder), "--user", "site-lon", "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_an_antibody_study_runs_end_to_end_without_code_changes(db_url, tmp_path, capsys):
    from earlyphase.capture import Trial
    from earlyphase.derive import derive_datasets, ledger_from_database
    from earlyphase.records import make_engine, verify_audit
    from earlyphase.report import report_from_database

    study_file = tmp_path / "abx-101.yaml"
    study_file.write_text(STUDY, encoding="utf-8")
    code, out, err = _cli(capsys, "study", "show", "--study", str(study_file))
    assert code == 0, err
    assert "mg/kg per infusion" in out and "cycles until progression of 21 days" in out
    code, out, err = _cli(capsys, "init", "--db", db_url, "--study", str(study_file), "--user", "dm", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["groups"] == ["L1", "L2", "L3"]
    add_users(db_url, "coordinator", "site-lon")

    trial = Trial.open(db_url, "coordinator", today=TODAY)
    try:
        _capture_by_api(trial)
    finally:
        trial.close()
    imported = _import_by_cli(capsys, db_url, tmp_path / "site-files")
    assert imported["written"] == {"patients": 1, "baseline": 1, "allocations": 1, "administrations": 2,
                                   "adverse_events": 1, "tumour_assessments": 1, "lesions": 1, "labs": 2,
                                   "conmeds": 1}
    assert imported["checked"]["eligibility_answers"] == 3

    engine = make_engine(db_url)
    try:
        assert verify_audit(engine).ok
        ledger = ledger_from_database(engine, as_of=TODAY)
        status = {(e.subject_id, e.visit, e.form): e.status for e in ledger.entries}
        assert status[("A01", "SCR", "baseline")] == "entered" and status[("A01", "C-2", "labs")] == "entered"
        assert status[("A03", "C-2", "labs")] == "overdue"  # the site has not sent cycle 2's labs
        assert status[("A01", "SCAN-1", "tumour_assessment")] == "entered"
        assert status[("A03", "SCAN-1", "tumour_assessment")] == "overdue"
        assert not any(s == "A02" and v.startswith("SCAN-2") for s, v, _ in status)  # progression ends the scans
        code, out, err = _cli(capsys, "status", "--db", db_url, "--as-of", TODAY.isoformat(), "--format", "json")
        assert code == 0, err
        counts = json.loads(out)["counts"]
        assert counts["overdue"] == sum(1 for s in status.values() if s == "overdue") > 0

        ds = derive_datasets(engine)
        adsl = ds.adsl.set_index("SUBJID")
        assert list(adsl.index) == ["A01", "A02", "A03"]
        assert adsl.loc["A01", "LDHBL"] == 240 and adsl.loc["A03", "LDHBL"] == 410 and adsl.loc["A02", "PRIORLN"] == 8
        assert (adsl.loc["A03", "NADM"], adsl.loc["A03", "CUMDOSE"], adsl.loc["A03", "DOSEU"]) == (2, 13.0, "mg/kg")
        bor = ds.adrs[ds.adrs["PARAMCD"] == "OVRLRESP"].set_index("SUBJID")["AVALC"]
        assert bor["A02"] == "PD" and bor["A01"] == "SD"
        out_dir = tmp_path / "report"
        report_from_database(engine, out_dir)
    finally:
        engine.dispose()
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "Exposure to ABX-101 infusions" in html and "mg/kg" in html and "RECIST 1.1" in html
    assert "Infusion reactions episodes" in html and "Progression-free survival (RECIST 1.1)" in html
    assert "Prior lines of therapy" in html and "Baseline LDH (U/L)" in html
    assert not SEED_WORDS.search(html), SEED_WORDS.search(html)
    exposure = (out_dir / "tables" / "exposure.csv").read_text(encoding="utf-8")
    assert "Cumulative dose, mg/kg" in exposure and "until progression" in exposure

    code, out, err = _cli(capsys, "export", "--db", db_url, "--out", str(tmp_path / "deid"))
    assert code == 0, err
    exported = {p.name for p in (tmp_path / "deid").glob("*.csv")}
    assert {"labs.csv", "conmeds.csv", "baseline.csv", "administrations.csv"} <= exported
    with (tmp_path / "deid" / "administrations.csv").open(encoding="utf-8") as handle:
        assert "infusion_minutes" in next(csv.reader(handle))
