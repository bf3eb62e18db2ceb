"""next-dose --db follows the study file's design and parameters; another design only when named, marked
as an override in the output."""

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from earlyphase.capture import initialise
from earlyphase.cli import app
from earlyphase.design import BoinDesign, CrmDesign, ThreePlusThreeDesign
from earlyphase.design.live import counts_from_database
from earlyphase.design.live_recommendation import recommend, study_design
from earlyphase.errors import InputError
from earlyphase.protocol import parse_study

from .live_helpers import open_level, study_file, treat

LATER = "2015-07-01"


def build(tmp_path, design, parameters=None):
    """3 patients at A without DLT, 5 at B with one DLT, all windows over by July 2015."""
    path = tmp_path / f"{design.replace('+', 'p')}.db"
    trial = initialise(str(path), str(study_file(tmp_path, design, parameters)), "tester", today=date(2015, 7, 1))
    for s in ("P01", "P02", "P03"):
        treat(trial, s, "A", "2015-01-10", "2015-01-12", ["2015-01-15"], 2.5e9)
    open_level(trial, "B", "2015-02-12")
    for s in ("P04", "P05", "P06", "P07", "P08"):
        treat(trial, s, "B", "2015-02-10", "2015-02-12", ["2015-02-15"], 5e9)
    trial.record_adverse_event("P05", "Fever", 3, "2015-02-20", "probable", "recovered", resolution="2015-02-25", dlt=True)
    trial.close()
    return f"sqlite:///{path}"


def run(*args):
    return CliRunner().invoke(app, ["design", "next-dose", *args])


def test_study_design_decides(tmp_path):
    db = build(tmp_path, "3+3")
    res = run("--db", db, "--as-of", LATER, "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    expected = ThreePlusThreeDesign().decide([3, 5, 0, 0], [0, 1, 0, 0], 2)
    assert out["design"] == "3+3" and out["design_choice"]["source"] == "study file"
    assert (out["decision"], out["next_level"]) == (expected.decision, expected.next_level)
    assert out["rule"]["kind"] == "decision table"
    assert {(r["n"], r["y"]) for r in out["rule"]["table"]} >= {(3, 0), (3, 1), (6, 1), (6, 2)}
    text = run("--db", db, "--as-of", LATER)
    assert text.exit_code == 0, text.output
    assert "from the study file" in text.stdout and "Decision table" in text.stdout
    assert "OVERRIDE" not in text.stdout


def test_override_is_named_and_marked(tmp_path):
    db = build(tmp_path, "3+3")
    res = run("--db", db, "--as-of", LATER, "--design", "boin", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    expected = BoinDesign(target=0.3).decide([3, 5, 0, 0], [0, 1, 0, 0], 2)
    assert (out["decision"], out["next_level"]) == (expected.decision, expected.next_level)
    assert out["design_choice"] == {**out["design_choice"], "source": "override", "study_design": "3+3"}
    assert out["design_choice"]["parameters"]["target"] == pytest.approx(0.3)  # the study's target carried over
    text = run("--db", db, "--as-of", LATER, "--design", "boin", "--target", "0.25")
    assert text.exit_code == 0, text.output
    assert "OVERRIDE" in text.stdout and "the study file's design is 3+3" in text.stdout
    assert "target: 0.25 used instead of the study file's 0.3" in text.stdout


def test_parameters_without_design_are_refused(tmp_path):
    db = build(tmp_path, "boin")
    for extra in (["--target", "0.25"], ["--tite"], ["--cutoff-eli", "0.9"]):
        res = run("--db", db, "--as-of", LATER, *extra)
        assert res.exit_code == 2, res.output
        assert extra[0] in res.output and "--design" in res.output


def test_study_parameters_are_used(tmp_path):
    db = build(tmp_path, "boin", {"p_saf": 0.2, "p_tox": 0.45, "cutoff_eli": 0.9})
    out = json.loads(run("--db", db, "--as-of", LATER, "--format", "json").stdout)
    d = BoinDesign(target=0.3, p_saf=0.2, p_tox=0.45, cutoff_eli=0.9)
    assert out["lambda_e"] == pytest.approx(d.lambdas[0]) and out["lambda_d"] == pytest.approx(d.lambdas[1])
    assert out["design_choice"]["parameters"]["p_saf"] == pytest.approx(0.2)
    assert out["decision"] == d.decide([3, 5, 0, 0], [0, 1, 0, 0], 2).decision


def test_crm_shows_its_posterior(tmp_path):
    skeleton = [0.1, 0.2, 0.3, 0.45]
    db = build(tmp_path, "crm", {"skeleton": skeleton})
    out = json.loads(run("--db", db, "--as-of", LATER, "--format", "json").stdout)
    direct = CrmDesign(target=0.3, skeleton=tuple(skeleton)).decide([3, 5, 0, 0], [0, 1, 0, 0], 2)
    assert out["rule"]["kind"] == "posterior" and out["rule"]["skeleton"] == skeleton
    assert out["rule"]["ptox"] == pytest.approx(direct.details["ptox"])
    assert (out["decision"], out["next_level"]) == (direct.decision, direct.next_level)
    text = run("--db", db, "--as-of", LATER).stdout
    assert "posterior mean" in text and "prior (skeleton)" in text


def test_fixed_allocation_has_no_design(tmp_path):
    path = tmp_path / "seed.db"
    initialise(str(path), "nk-hcc-ltx", "tester", today=date(2015, 7, 1)).close()
    res = run("--db", f"sqlite:///{path}", "--as-of", LATER)
    assert res.exit_code == 1
    assert "fixed plan" in res.output and "--design" in res.output and "Traceback" not in res.output
    counts = counts_from_database(f"sqlite:///{path}", as_of=date(2015, 7, 1))
    with pytest.raises(InputError):
        study_design(counts.protocol)
    design, choice = study_design(counts.protocol, override=BoinDesign(target=0.3))
    assert choice.source == "override" and recommend(counts, design, choice).decision.next_level == 1  # nobody treated yet: start at level 1


@pytest.mark.parametrize("dose_finding, words", [
    ({"design": "crm"}, "skeleton"),
    ({"design": "crm", "parameters": {"skeleton": [0.1, 0.2, 0.3]}}, "one prior DLT probability per group"),
    ({"design": "crm", "parameters": {"skeleton": [0.1, 0.3, 0.2, 0.4]}}, "must increase"),
    ({"design": "3+3", "parameters": {"p_saf": 0.2}}, "does not apply to the 3+3 design"),
    ({"design": "3+3", "parameters": {"tite": True}}, "time-to-event"),
    ({"design": "boin", "parameters": {"skelton": [0.1]}}, "skelton"),
    ({"design": "boin", "evaluable_min_administrations": 5}, "could ever be evaluable"),
])
def test_study_file_design_errors(tmp_path, dose_finding, words):
    design = dose_finding.pop("design")
    path = study_file(tmp_path, design, **dose_finding)
    with pytest.raises(InputError) as err:
        parse_study(path.read_text(), str(path))
    assert words in str(err.value)


def test_study_tite_weights_pending_patients(tmp_path):
    db = build(tmp_path, "boin", {"tite": True})
    out = json.loads(run("--db", db, "--as-of", "2015-03-01", "--format", "json").stdout)
    c = out["counts"]
    assert sum(len(p) for p in c["pending"]) == 4  # P04, P06, P07, P08 inside their windows, P05 had a DLT
    direct = BoinDesign(target=0.3).decide(c["n"], c["dlt"], c["current_level"], pending=c["pending"], tite=True)
    assert out["design_choice"]["tite"] is True
    assert (out["decision"], out["reason"]) == (direct.decision, direct.reason)
    assert "TITE" in out["reason"]  # TITE-BOIN's own rule (here: more than half pending suspends accrual)


def test_pocrm_study_uses_its_partial_order(tmp_path):
    from earlyphase.design import make_design

    path = tmp_path / "pocrm.db"
    study = study_file(tmp_path, "pocrm", {"skeleton": [0.1, 0.2, 0.3, 0.45]},
                       toxicity_order=[["A", "B"], ["B", "C"], ["B", "D"]])
    trial = initialise(str(path), str(study), "tester", today=date(2015, 7, 1))
    for s in ("P01", "P02", "P03"):
        treat(trial, s, "A", "2015-01-10", "2015-01-12", ["2015-01-15"], 2.5e9)
    trial.close()
    out = json.loads(run("--db", f"sqlite:///{path}", "--as-of", LATER, "--format", "json").stdout)
    direct = make_design("pocrm", 0.3, skeleton=[0.1, 0.2, 0.3, 0.45],
                         partial_order=[(1, 2), (2, 3), (2, 4)]).decide([3, 0, 0, 0], [0, 0, 0, 0], 1)
    assert out["design"] == direct.design and out["design_choice"]["source"] == "study file"
    assert (out["decision"], out["next_level"]) == (direct.decision, direct.next_level)
