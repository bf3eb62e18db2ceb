"""Every survival number the report prints, checked against R's survival on a stored ADTTE.

Input: tests/report/data/twin_adtte.csv (the default-seed twin's ADTTE as the report wrote it).
Reference: tests/report/data/twin_report_reference.csv, made by tests/report/make_report_reference.R
(R and survival versions and the calls are in its header).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from earlyphase.protocol import load_study
from earlyphase.report import tables as T
from earlyphase.report.survival import analyse_endpoint, cox_group

DATA = Path(__file__).parent / "data"


def _reference():
    lines = [line for line in (DATA / "twin_report_reference.csv").open() if not line.startswith("#")]
    out = {}
    for e, g, q, v in list(csv.reader(lines))[1:]:
        out[(e, g, q)] = float("nan") if v == "NA" else float(v)
    return out


@pytest.fixture(scope="module")
def setup():
    study = load_study("nk-hcc-ltx")
    adtte = pd.read_csv(DATA / "twin_adtte.csv")
    adtte["AVALM"] = adtte["AVAL"] / 30.4375
    adtte["RULE"], adtte["SRCDOM"], adtte["SRCSEQ"] = "stored", "adtte", pd.NA
    analyses = [analyse_endpoint(adtte, study, p, p) for p in ("PFS", "OS")]
    adsl = adtte[adtte.PARAMCD == "OS"][["USUBJID", "TRT01P"]].assign(SAFFL="Y")
    ds = SimpleNamespace(study=study, adsl=adsl)
    return analyses, ds, _reference()


def same(a, b, tol=1e-6):
    if math.isnan(b):
        return math.isnan(a)
    return abs(a - b) <= tol * max(1.0, abs(b))


def test_medians_and_cis(setup):
    analyses, _, ref = setup
    for ea in analyses:
        for g in [None] + list(ea.groups):
            key = "all" if g is None else g
            m, lo, up = ea.median(g)
            assert same(m, ref[(ea.paramcd, key, "median")]), (ea.paramcd, key)
            assert same(lo, ref[(ea.paramcd, key, "median_lower")]), (ea.paramcd, key)
            assert same(up, ref[(ea.paramcd, key, "median_upper")]), (ea.paramcd, key)


def test_landmarks_and_number_at_risk(setup):
    analyses, ds, ref = setup
    for ea in analyses:
        for g in [None] + list(ea.groups):
            key = "all" if g is None else g
            at = ea.curve(g).at([6, 12, 24], extend=True)  # the reference is summary(fit, times, extend = TRUE)
            for i, m in enumerate((6, 12, 24)):
                assert same(at["survival"][i], ref[(ea.paramcd, key, f"surv_{m}")])
                assert same(at["lower"][i], ref[(ea.paramcd, key, f"lower_{m}")])
                assert same(at["upper"][i], ref[(ea.paramcd, key, f"upper_{m}")])
                assert int(at["n_risk"][i]) == int(ref[(ea.paramcd, key, f"nrisk_{m}")])
    # and the table shows them, rounded
    table = T.landmark_table(analyses, ds).to_frame()
    row = table[(table.Endpoint == "OS") & (table.Group == "All")].iloc[0]
    s12 = ref[("OS", "all", "surv_12")]
    assert row["12 months"].startswith(f"{100 * s12:.0f}% (")
    assert row["12 months"].endswith(f"n={int(ref[('OS', 'all', 'nrisk_12')])}")
    # a landmark after a group's last follow-up is not estimated (R leaves it out): NA in the table
    for ea in analyses:
        for g in ea.groups:
            at = ea.curve(g).at([6, 12, 24])
            cells = table[(table.Endpoint == ea.paramcd) & (table.Group == g)].iloc[0]
            for i, m in enumerate((6, 12, 24)):
                assert bool(at["beyond"][i]) == cells[f"{m} months"].startswith("NA (after follow-up)")


def test_logrank_cox_and_followup(setup):
    analyses, ds, ref = setup
    for ea in analyses:
        assert same(ea.logrank.p_value, ref[(ea.paramcd, "all", "logrank_p")])
        assert same(ea.trend.p_value, ref[(ea.paramcd, "all", "trend_p")])
        for c in ea.cox.coefficients:
            g = cox_group(c.name)
            assert same(c.hr, ref[(ea.paramcd, g, "hr")], 1e-5)
            assert same(c.hr_lower, ref[(ea.paramcd, g, "hr_lower")], 1e-5)
            assert same(c.hr_upper, ref[(ea.paramcd, g, "hr_upper")], 1e-5)
            assert same(c.p_value, ref[(ea.paramcd, g, "hr_p")], 1e-5)
    os_ = analyses[1]
    assert same(os_.followup_all.median[0], ref[("OS", "all", "followup_median")])
    cox = T.cox_table(analyses, ds).to_frame()
    d = cox[(cox.Endpoint == "PFS") & (cox.Group == "D")].iloc[0]
    assert d["HR (95% CI)"] == (f"{ref[('PFS', 'D', 'hr')]:.2f} ({ref[('PFS', 'D', 'hr_lower')]:.2f}–"
                                f"{ref[('PFS', 'D', 'hr_upper')]:.2f})")
    med = T.median_table(analyses, ds).to_frame()
    d = med[(med.Endpoint == "PFS") & (med.Group == "D")].iloc[0]
    assert d.iloc[4] == (f"{ref[('PFS', 'D', 'median')]:.1f} ({ref[('PFS', 'D', 'median_lower')]:.1f}–"
                         + ("NA" if math.isnan(ref[("PFS", "D", "median_upper")]) else f"{ref[('PFS', 'D', 'median_upper')]:.1f}")
                         + ")")
