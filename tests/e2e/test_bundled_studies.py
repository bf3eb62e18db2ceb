"""The three bundled studies run end to end: the seed trial (nk-hcc-ltx, its digital twin), an oral small
molecule in 21-day cycles with 3+3 (oral-3plus3) and autologous CAR-T cells/kg with BOIN and ASTCT CRS/ICANS
grading (cart-boin), each with a labelled synthetic data set loaded through capture.

Through the Python API and through the CLI, on SQLite and PostgreSQL (``db_url``), from ``init`` to the
report; each report speaks the study's words (product, dose unit, response criteria, endpoint names) and
never the seed trial's, and says the data are synthetic.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from earlyphase.cli import app
from earlyphase.cli.common import run_app

SEED_WORDS = re.compile(r"hepatocellular|\bHCC\b|transplant|Child.?Pugh|\bAFP\b|\bNK\b|Fever episodes|10⁹ cells",
                        re.IGNORECASE)
# what each study's report must say, all of it from its study file
WORDS = {
    "oral-3plus3": ["Exposure to EPX-201 doses", "Cumulative dose, mg", "RECIST 1.1",
                    "Progression-free survival (RECIST 1.1)", "QTc prolongation", "Baseline QTcF (ms)",
                    "Prior lines of therapy"],
    "cart-boin": ["Exposure to CTX-M1 CAR-T infusions", "cells/kg", "RECIST 1.1",
                  "Progression-free survival (RECIST 1.1)", "Cytokine release syndrome (ASTCT consensus grading)",
                  "CRS grade (ASTCT)", "ICANS grade (ASTCT)", "Mesothelin-positive cells (%)"],
}
SYNTHETIC = ["oral-3plus3", "cart-boin"]


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = run_app(app, list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _short_profile(name: str):
    """The bundled profile with fewer cycles of treatment (the same trial, fewer daily-dose records)."""
    from earlyphase.synthetic import read_profile

    return read_profile(name).model_copy(update={"max_cycles": 1})


def _check_report(out_dir: Path, study: str) -> str:
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    for words in WORDS[study]:
        assert words in html, words
    assert not SEED_WORDS.search(html), SEED_WORDS.search(html)
    assert "SYNTHETIC DATA" in html and "generated from a seeded profile" in html
    assert "published abstract" not in html
    return html


def test_the_bundled_studies_are_listed_and_their_invented_values_marked_assumed():
    from earlyphase.protocol import bundled_studies, load_study
    from earlyphase.synthetic import bundled_profiles
    from earlyphase.twin.demo import demo_studies

    assert {"nk-hcc-ltx", "oral-3plus3", "cart-boin"} <= set(bundled_studies())
    assert demo_studies()[0] == "nk-hcc-ltx" and set(SYNTHETIC) <= set(demo_studies()) <= set(bundled_studies())
    assert set(SYNTHETIC) <= set(bundled_profiles())
    oral, cart = load_study("oral-3plus3"), load_study("cart-boin")
    for s in (oral, cart):
        assert s.synthetic and s.assumptions and all(g.regimen.dose_source == "assumed" for g in s.groups)
        assert s.response_criteria == "RECIST 1.1"
    # the oral drug: mg once daily in 21-day cycles until progression, five levels, 3+3, its own lab form
    assert (oral.product.dose_unit, oral.product.route, len(oral.groups), oral.dose_finding.design) == ("mg", "PO", 5,
                                                                                                        "3+3")
    assert all(g.regimen.schedule.cycle_days == 21 and g.regimen.schedule.per_cycle == 21 for g in oral.groups)
    assert oral.form("labs").repeating and "conmeds" in oral.form_names
    # the CAR-T: cells/kg once, after lymphodepletion (a visit before the infusion), BOIN, ASTCT forms
    assert (cart.product.dose_unit, cart.dose_finding.design) == ("cells/kg", "boin")
    assert all(g.regimen.administrations == 1 for g in cart.groups)
    assert cart.visit("LD").offset_days < 0 and "lymphodepletion" in cart.visit("LD").forms
    assert cart.form("crs").field("crs_grade").derived_from == "astct_crs"
    assert cart.form("icans").field("icans_grade").derived_from == "astct_icans"


@pytest.mark.parametrize("name", SYNTHETIC)
def test_a_synthetic_data_set_is_the_same_from_the_same_seed_and_follows_the_design(name):
    from earlyphase.design import next_dose
    from earlyphase.protocol import load_study
    from earlyphase.synthetic import generate_synthetic, read_profile

    study, profile = load_study(name), read_profile(name)
    first, again = generate_synthetic(study, profile), generate_synthetic(study, profile)
    assert first.actions == again.actions and first.decisions == again.decisions
    other = generate_synthetic(study, profile.model_copy(update={"seed": profile.seed + 1}))
    assert other.actions != first.actions
    # every cohort's level is what the study's design decided after the cohort before
    n, y = [0] * len(study.groups), [0] * len(study.groups)
    for before, after in zip(first.decisions, first.decisions[1:] + [None]):
        n[before.level - 1] += len(before.patients)
        y[before.level - 1] += before.dlts
        target = None if study.dose_finding.design == "3+3" else study.dose_finding.target_dlt_rate
        decision = next_dose(study.dose_finding.design, n, y, before.level, target=target,
                             last_cohort_dlt=before.dlts)
        assert (decision.decision, decision.next_level) == (before.decision, before.next_level)
        if after is not None:
            assert after.level == before.next_level
    assert len(first.subject_ids) == sum(len(d.patients) for d in first.decisions)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_a_bundled_study_runs_through_the_python_api(db_url, tmp_path, name):
    from earlyphase.capture import initialise
    from earlyphase.derive import derive_datasets
    from earlyphase.derive.graded import graded_episodes
    from earlyphase.records import make_engine, verify_audit
    from earlyphase.report import report_from_database
    from earlyphase.synthetic import load_synthetic

    trial = initialise(db_url, name, "data-manager")
    trial.close()
    loaded = load_synthetic(db_url, _short_profile(name))
    engine = make_engine(db_url)
    try:
        assert verify_audit(engine).ok
        ds = derive_datasets(engine)
        assert ds.synthetic
        adsl = ds.adsl.set_index("SUBJID")
        assert list(adsl.index) == sorted(loaded.data.subject_ids, key=lambda s: (adsl.loc[s, "TRT01PN"], s))
        assert set(adsl["DOSEU"]) == {ds.study.product.dose_unit}
        # the levels treated are those the design chose, and the DLTs recorded are those it saw
        for d in loaded.data.decisions:
            assert set(adsl.loc[list(d.patients), "TRT01P"]) == {ds.study.groups[d.level - 1].code}
        dlt_patients = set(ds.adae.loc[ds.adae["AEDLTFL"] == "Y", "SUBJID"])
        assert len(dlt_patients) == sum(d.dlts for d in loaded.data.decisions)
        if name == "cart-boin":
            # the grades were derived by capture from the signs, and each CRS episode is also its AE
            episodes = graded_episodes(ds)
            crs = episodes[episodes["FORM"] == "crs"]
            assert (crs["MAXGR"] >= 1).sum() == ds.adae[ds.adae["AEDECOD"] == "Cytokine release syndrome"][
                "SUBJID"].nunique() > 0
            assert crs["MAXGR"].max() >= 2
        out_dir = tmp_path / "report"
        report_from_database(engine, out_dir)
    finally:
        engine.dispose()
    html = _check_report(out_dir, name)
    if name == "cart-boin":
        assert (out_dir / "tables" / "graded_crs.csv").is_file() and (out_dir / "tables" / "graded_icans.csv").is_file()
        assert "derived by earlyphase from the signs recorded on form crs" in html and "never typed in" in html
    else:
        assert not list((out_dir / "tables").glob("graded_*.csv"))


@pytest.mark.parametrize("name", SYNTHETIC + ["nk-hcc-ltx"])
def test_a_bundled_study_runs_through_the_cli(db_url, tmp_path, capsys, name):
    code, out, err = _cli(capsys, "init", "--db", db_url, "--study", name, "--user", "dm", "--format", "json")
    assert code == 0, err
    if name == "nk-hcc-ltx":
        code, out, err = _cli(capsys, "twin", "--db", db_url, "--format", "json")
    else:
        profile = tmp_path / "profile.yaml"
        profile.write_text(yaml.safe_dump(_short_profile(name).model_dump(mode="json")), encoding="utf-8")
        code, out, err = _cli(capsys, "synthetic", "--db", db_url, "--profile", str(profile), "--format", "json")
    assert code == 0, err
    loaded = json.loads(out)
    assert loaded["synthetic"] is True and loaded["study_id"] == name
    code, out, err = _cli(capsys, "audit", "verify", "--db", db_url)
    assert code == 0, err + out
    code, out, err = _cli(capsys, "report", "--db", db_url, "--out", str(tmp_path / "report"))
    assert code == 0, err
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    if name == "nk-hcc-ltx":
        assert "NK-cell" in html and "mRECIST" in html and "published abstract" in html
    else:
        _check_report(tmp_path / "report", name)
        # the database refuses a second synthetic load: nothing is written twice
        code, out, err = _cli(capsys, "synthetic", "--db", db_url)
        assert code == 1 and "no patients yet" in err


@pytest.mark.parametrize("name", SYNTHETIC)
def test_demo_runs_a_bundled_study_to_its_report(tmp_path, capsys, name):
    out = tmp_path / "demo"
    code, text, err = _cli(capsys, "demo", "--study", name, "--out", str(out), "--no-pdf", "--format", "json")
    assert code == 0, err
    result = json.loads(text)
    assert result["study_id"] == name and result["audit_ok"] is True
    assert result["banner"].startswith("SYNTHETIC DATA") and name in result["banner"]
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert summary.startswith("*** SYNTHETIC DATA") and "Dose-finding decisions" in summary
    assert not SEED_WORDS.search(summary)
    _check_report(out, name)
    if name == "cart-boin":
        assert "CRS grade (ASTCT): patients by highest grade" in summary


def test_demo_refuses_a_study_it_has_no_data_for(tmp_path, capsys):
    code, _, err = _cli(capsys, "demo", "--study", "no-such-study", "--out", str(tmp_path / "d"))
    assert code == 1 and "nk-hcc-ltx" in err and "cart-boin" in err
    assert not (tmp_path / "d" / "trial.db").exists()
