"""The report on small, incomplete trials (what a real trial looks like mid-way): no crash, honest output."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parents[1] / "derive"))
from derive_trial_builder import TrialBuilder, study_with  # noqa: E402  (shared with the derive tests)

from earlyphase.derive import derive_from_source
from earlyphase.report import build_report
from earlyphase.report.figures import number_at_risk

START = date(2015, 1, 10)


def test_report_of_a_trial_just_started(tmp_path):
    t = TrialBuilder()
    a = t.patient("001", "A", start=START)
    t.scan(a, START - timedelta(days=3), {"T1": 30}, baseline=True)
    t.scan(a, START + timedelta(days=56), {"T1": 29})
    t.ae(a, onset="2015-01-10T15:00", resolution="2015-01-10T23:00")
    b = t.patient("002", "B", start=START + timedelta(days=20), infusions=1)  # no scans, no AEs yet
    t.follow_up(b, START + timedelta(days=60))
    ds = derive_from_source(t.source(study_with()))
    result = build_report(ds, tmp_path)
    html = result.html.read_text(encoding="utf-8")
    assert "SYNTHETIC" not in html  # real data are not marked synthetic
    assert not (tmp_path / "tables" / "published_vs_reproduced.csv").exists()
    medians = pd.read_csv(tmp_path / "tables" / "medians.csv", dtype=str)
    assert (medians["Events"].dropna() == "0").all()
    assert "NA" in medians.iloc[0, 4]  # not reached: NA, as R prints it
    adtte = pd.read_csv(tmp_path / "adam" / "adtte.csv", dtype=str).set_index(["PARAMCD", "SUBJID"])
    assert adtte.loc[("PFS", "002"), "RULE"] == "NO_POST_BASELINE"
    assert adtte.loc[("PFS", "001"), "RULE"] == "LAST_ADEQUATE_ASSESSMENT"
    assert "figure-km_pfs" in html and "figure-swimmer" in html


def test_number_at_risk_agrees_with_the_survival_curve(tmp_path):
    from earlyphase.stats import kaplan_meier

    times = [1.2, 2.5, 2.5, 3.0, 4.4, 6.1, 7.0, 9.9]
    events = [1, 0, 1, 1, 0, 1, 0, 1]
    ticks = [0, 2, 4, 6, 8, 10]
    curve = kaplan_meier(times, events).curves[0]
    assert number_at_risk(times, ticks) == curve.at(ticks)["n_risk"].tolist()
