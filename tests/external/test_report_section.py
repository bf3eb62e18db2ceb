"""The report's external-evidence section, fed by published curves in the study file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from earlyphase.errors import StudyFileError
from earlyphase.protocol import parse_study

DATA = Path(__file__).parent / "data"
BUNDLED = Path(__file__).resolve().parents[2] / "src" / "earlyphase" / "protocol" / "studies" / "nk-hcc-ltx.yaml"


def _published_curve(every: int = 20) -> dict:
    points = pd.read_csv(DATA / "checkmate067-nivolumab-curve.csv")
    table = pd.read_csv(DATA / "checkmate067-at-risk.csv")
    keep = points.iloc[::every]
    return {
        "label": "Published comparator",
        "endpoint": "OS",
        "source": "CheckMate 067, nivolumab arm, Figure S3A (digitised by the kmdata project)",
        "curve": {"time": keep["T"].round(3).tolist(), "survival": keep["S"].round(4).tolist()},
        "at_risk": {"time": table["trisk"].astype(float).tolist(), "n_risk": table["nrisk"].astype(int).tolist()},
    }


def _study_text(evidence: dict) -> str:
    return BUNDLED.read_text(encoding="utf-8") + "\n" + yaml.safe_dump({"external_evidence": evidence}, sort_keys=False)


@pytest.fixture(scope="module")
def evidence_db(tmp_path_factory):
    from earlyphase.capture import initialise
    from earlyphase.twin import load_twin

    d = tmp_path_factory.mktemp("external-report")
    study = d / "study.yaml"
    study.write_text(_study_text({"curves": [_published_curve()], "rmst_horizon_months": 12}), encoding="utf-8")
    path = d / "trial.db"
    initialise(path, study, "tester").close()
    load_twin(path)
    return path


def test_the_section_rebuilds_the_curve_and_compares(evidence_db):
    from earlyphase.derive import derive_datasets
    from earlyphase.report.external import external_evidence_items

    items = external_evidence_items(derive_datasets(evidence_db))
    assert [i[0] for i in items] == ["external_os"]
    key, title, caption, fig, table = items[0]
    frame = table.to_frame()
    assert list(frame["Source"]) == ["this trial", "published, rebuilt"]
    assert list(frame["n"]) == ["18", "80"]
    assert "RMST to 12.0 months" in frame.columns
    assert "Not randomised" in caption
    notes = " ".join(table.notes)
    assert "Not randomised" in notes and "CheckMate 067" in notes and "rebuilt from 61 digitised points" in notes
    # the trial's counts are traced to its patients
    assert len(table.rows[0][2].subjects) == 18


def test_the_report_shows_the_section(evidence_db, tmp_path):
    from earlyphase.report import report_from_database

    result = report_from_database(evidence_db, tmp_path / "report")
    html = result.html_path.read_text(encoding="utf-8") if hasattr(result, "html_path") else \
        (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "External evidence (not randomised)" in html
    assert "the trial beside published curves" in html
    assert (tmp_path / "report" / "figures" / "external_os.png").exists()
    assert (tmp_path / "report" / "tables" / "external_os.csv").exists()


def test_a_study_without_curves_has_no_section(tmp_path):
    study = parse_study(BUNDLED.read_text(encoding="utf-8"), str(BUNDLED))
    assert study.external_evidence.curves == []


@pytest.mark.parametrize("change, words", [
    (lambda c: c["curve"].update(survival=[1.0, 0.5, 0.9] + c["curve"]["survival"][3:]), "rises"),
    (lambda c: c["at_risk"].update(n_risk=[80, 90] + c["at_risk"]["n_risk"][2:]), "cannot rise"),
    (lambda c: c["at_risk"].update(time=[3.0] + c["at_risk"]["time"][1:]), "start at time 0"),
    (lambda c: c.update(total_events=500), "more than the 80 patients"),
    (lambda c: c["curve"].update(survival=c["curve"]["survival"][:-1]), "values but survival has"),
    (lambda c: c.update(endpoint="DFS"), "endpoint"),
])
def test_the_study_file_refuses_impossible_curves(change, words):
    curve = _published_curve()
    change(curve)
    with pytest.raises(StudyFileError) as err:
        parse_study(_study_text({"curves": [curve]}), "study.yaml")
    text = str(err.value)
    assert words in text and "external_evidence" in text, text
