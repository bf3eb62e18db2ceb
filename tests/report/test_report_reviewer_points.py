"""What a reviewer would send back (issue 10): each point as a test that fails if the report regresses.

Swimmer markers from the confirmed best response; a time axis chosen for the data's bulk and marked when
truncated; the first administration visible at 0 and the legend in the bars' order; no table header without
rows; NA where R prints NA (checked against R's survival); labelled -30% / +20% lines with progression from
the nadir.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from earlyphase.report.axis import bulk_end, choose_time_axis

DATA = Path(__file__).parent / "data"


# ---------------------------------------------------------------------------------------- time axis
def test_bulk_end_is_the_time_where_the_last_tenth_or_two_patients_remain_at_risk():
    times = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100.0]
    assert bulk_end(times) == 9.0  # k = max(2, ceil(1.0)) = 2: the 2nd longest time
    assert bulk_end(list(range(1, 31))) == 28  # k = 3 for 30 patients


def test_one_long_survivor_truncates_the_axis_and_says_so():
    times = [12.6, 12.6, 17.6, 10.8, 12.3, 16.1, 17.9, 32.3, 15.3, 16.2, 16.6, 20.3, 22.3, 23.3, 23.9, 30.4, 32.2, 106.5]
    axis = choose_time_axis(times)
    assert axis.truncated and axis.end == 36 and axis.ticks[-1] == 36
    assert axis.beyond(106.5) and not axis.beyond(32.3)
    assert "truncated at 36 months" in axis.note(1) and "106.5" in axis.note(1)
    full = choose_time_axis(times, "full")
    assert not full.truncated and full.end >= 106.5 and full.note(0) == ""
    fixed = choose_time_axis(times, 24.0)
    assert fixed.truncated and fixed.end == 24


def test_an_axis_is_not_cut_when_little_lies_beyond():
    axis = choose_time_axis([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.4])
    assert not axis.truncated and axis.end >= 10.4


@pytest.mark.parametrize("bad", ["wide", -3.0, 0.0])
def test_a_bad_axis_setting_is_refused(bad):
    with pytest.raises(ValueError, match="time axis"):
        choose_time_axis([1.0, 2.0], bad)


def test_cli_time_axis_option_refuses_a_bad_value_with_a_usage_error(tmp_path):
    from earlyphase.cli import app
    from earlyphase.cli.common import run_app

    code = run_app(app, ["report", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "out"), "--time-axis", "wide"])
    assert code == 2
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------- figures of the twin
@pytest.fixture(scope="module")
def twin(twin_db_path):
    from earlyphase.derive import derive_datasets

    return derive_datasets(str(twin_db_path))


def _doses(ds):
    doses = ds.source.tables["administrations"].copy()
    doses["USUBJID"] = doses["patient_id"].map(ds.adsl.set_index("SRCSEQ")["USUBJID"])
    return doses


@pytest.fixture(scope="module")
def swimmer(twin):
    from earlyphase.report.figures import swimmer_figure

    fig = swimmer_figure(twin.adsl, twin.adtte, twin.adrs, _doses(twin), twin.study)
    yield fig
    import matplotlib.pyplot as plt

    plt.close(fig)


def _lines(ax, marker, face=None):
    out = [ln for ln in ax.get_lines() if ln.get_marker() == marker]
    if face is not None:
        out = [ln for ln in out if ln.get_markerfacecolor() == face]
    return out


def test_swimmer_response_marks_only_patients_whose_confirmed_best_response_is_cr_or_pr(twin, swimmer):
    ax = swimmer.axes[0]
    bor = twin.adrs[twin.adrs["PARAMCD"] == "BOR"]
    responders = set(bor.loc[bor["RSPFL"] == "Y", "SUBJID"])
    visit_responders = set(twin.adrs.loc[(twin.adrs["PARAMCD"] == "OVRLRESP")
                                         & twin.adrs["AVALC"].isin(["CR", "PR"]), "SUBJID"])
    assert visit_responders - responders, "the twin should have a visit-level PR that was not confirmed"
    labels = {round(t.get_position()[1]): t.get_text().split(" ")[0] for t in ax.get_yticklabels()}
    (filled,) = _lines(ax, "^", "#009E73")
    marked = {labels[round(y)] for y in filled.get_ydata()}
    assert marked == responders
    (hollow,) = _lines(ax, "^", "white")
    assert {labels[round(y)] for y in hollow.get_ydata()} == visit_responders - responders
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Response (confirmed CR/PR)" in legend and "First response (CR/PR)" not in legend


def test_swimmer_first_administration_is_visible_at_zero(swimmer):
    ax = swimmer.axes[0]
    (ticks,) = _lines(ax, "|")
    assert min(ticks.get_xdata()) == 0.0
    assert ax.get_xlim()[0] < 0  # the axis starts before 0, so the tick is not under the spine
    assert ticks.get_clip_on() is False


def test_swimmer_legend_lists_groups_in_the_bars_order_top_to_bottom(swimmer):
    ax = swimmer.axes[0]
    by_y = sorted(((t.get_position()[1], t.get_text()) for t in ax.get_yticklabels()), reverse=True)
    bar_order = list(dict.fromkeys(re.search(r"\((\w+)\)$", s).group(1) for _, s in by_y))
    legend = [t.get_text().removeprefix("Group ") for t in ax.get_legend().get_texts() if t.get_text().startswith("Group ")]
    assert legend == bar_order == ["A", "B", "C", "D"]
    assert ax.get_ylim()[1] > max(y for y, _ in by_y)  # the top bar is not cut


def test_swimmer_truncated_at_the_bulk_with_the_long_survivor_as_an_arrow(twin, swimmer):
    ax = swimmer.axes[0]
    os_ = twin.adtte[twin.adtte["PARAMCD"] == "OS"]
    longest = float(os_["AVAL"].max()) / twin.study.analysis.days_per_month
    assert ax.get_xlim()[1] < longest / 2  # not squeezed by the one long survivor
    notes = [t.get_text() for t in ax.texts]
    assert any(f"{longest:.1f}" in n and "→" in n for n in notes), notes
    assert "truncated" in ax.get_title(loc="left")
    full = __import__("earlyphase.report.figures", fromlist=["x"]).swimmer_figure(
        twin.adsl, twin.adtte, twin.adrs, _doses(twin), twin.study, choose_time_axis([longest], "full"))
    assert full.axes[0].get_xlim()[1] > longest and not full.axes[0].get_title(loc="left")


def test_km_axis_truncated_with_arrows_naming_the_longer_times(twin):
    from earlyphase.report.figures import km_figure
    from earlyphase.report.survival import analyse_endpoint

    ea = analyse_endpoint(twin.adtte, twin.study, "OS", "Overall survival")
    fig = km_figure(ea, twin.study, "OS")
    ax = fig.axes[0]
    longest = float(ea.data["AVAL"].max()) / twin.study.analysis.days_per_month
    assert ax.get_xlim()[1] < longest / 2
    arrows = [t.get_text() for t in ax.texts]
    assert f"{longest:.1f}+" in arrows  # censored: '+' as R prints
    assert any("truncated" in t.get_text() for t in fig.texts)


def test_spider_labels_both_lines_and_draws_progression_from_the_nadir(twin):
    from earlyphase.report.figures import spider_figure

    ax = spider_figure(twin.adrs, twin.study).axes[0]
    side = {t.get_text() for t in ax.texts}
    assert {"+20%", "−30%"} <= side
    legend = " | ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "partial response" in legend and "nadir + 20%" in legend and "while the nadir is the baseline" in legend
    assert any(ln.get_linestyle() == ":" for ln in ax.get_lines())  # patients' own thresholds


def test_progression_threshold_follows_the_nadir_with_the_5_mm_rule_where_it_applies():
    from earlyphase.report.figures import progression_thresholds

    rows = pd.DataFrame({"ADY": [50, 100, 150], "BASE": [100.0] * 3, "TSUM": [80.0, 70.0, 90.0]})
    assert progression_thresholds(rows, "mRECIST") == [(50.0, pytest.approx(-4.0)), (100.0, pytest.approx(-16.0)),
                                                       (150.0, pytest.approx(-16.0))]
    small = pd.DataFrame({"ADY": [50], "BASE": [20.0], "TSUM": [10.0]})
    assert progression_thresholds(small, "RECIST 1.1") == [(50.0, pytest.approx(-25.0))]  # 10 + 5 mm > 12
    assert progression_thresholds(small, "mRECIST") == [(50.0, pytest.approx(-40.0))]  # 1.2 x 10, no 5 mm rule
    grew = pd.DataFrame({"ADY": [50], "BASE": [20.0], "TSUM": [25.0]})
    assert progression_thresholds(grew, "RECIST 1.1") == []  # nadir = baseline: the +20% line applies


# ---------------------------------------------------------------------------------------- tables
def _reference():
    lines = [line for line in (DATA / "twin_report_reference.csv").open() if not line.startswith("#")]
    return {(e, g, q): (float("nan") if v == "NA" else float(v)) for e, g, q, v in list(csv.reader(lines))[1:]}


def _r(x: float) -> str:
    return "NA" if math.isnan(x) else f"{x:.1f}"


def test_na_exactly_where_r_prints_na_in_medians_and_follow_up(report_dir):
    ref = _reference()
    med = pd.read_csv(report_dir / "tables" / "medians.csv", dtype=str, keep_default_na=False)
    checked = 0
    for _, row in med.iterrows():
        if row["Group"].startswith("P ("):
            continue
        g = "all" if row["Group"] == "All" else row["Group"]
        want = (f"{_r(ref[(row['Endpoint'], g, 'median')])} ({_r(ref[(row['Endpoint'], g, 'median_lower')])}–"
                f"{_r(ref[(row['Endpoint'], g, 'median_upper')])})")
        assert row.iloc[4] == want, (row["Endpoint"], g)
        checked += 1
    assert checked == 10
    fu = pd.read_csv(report_dir / "tables" / "followup.csv", dtype=str, keep_default_na=False)
    for _, row in fu.iterrows():
        g = "all" if row["Group"] == "All" else row["Group"]
        want = f"{_r(ref[('OS', g, 'followup_median')])} ({_r(ref[('OS', g, 'followup_lower')])}–" \
               f"{_r(ref[('OS', g, 'followup_upper')])})"
        assert row.iloc[2].split(";")[0] == want, g
    for path in (report_dir / "tables").glob("*.csv"):
        assert not re.search(r"\bNR\b", path.read_text(encoding="utf-8")), path.name


def test_no_table_is_a_header_without_rows(report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    tables = re.findall(r'<table class="data" id="tbl-([^"]+)">(.*?)</table>', html, re.S)
    assert len(tables) >= 15
    for key, body in tables:
        tbody = re.search(r"<tbody>(.*?)</tbody>", body, re.S)
        assert tbody and "<tr" in tbody.group(1), key


def test_cox_table_says_why_there_is_no_model(tmp_path):
    sys.path.insert(0, str(Path(__file__).parents[1] / "derive"))
    from derive_trial_builder import TrialBuilder, study_with

    from earlyphase.derive import derive_from_source
    from earlyphase.report import tables as T
    from earlyphase.report.survival import analyse_endpoint

    start = date(2015, 1, 10)
    t = TrialBuilder()
    a = t.patient("001", "A", start=start)
    t.follow_up(a, start + timedelta(days=90))
    b = t.patient("002", "B", start=start + timedelta(days=20))
    t.follow_up(b, start + timedelta(days=60))
    ds = derive_from_source(t.source(study_with()))
    analyses = [analyse_endpoint(ds.adtte, ds.study, p, p) for p in ("PFS", "OS")]
    cox = T.cox_table(analyses, ds).to_frame()
    assert len(cox) == 2
    assert all(g.startswith("no model: ") for g in cox["Group"]), cox.to_string()
    assert "no events yet" in cox["Group"].iloc[1]
    t.death(b, start + timedelta(days=70))  # an event in group B only: A's hazard is not estimable
    ds = derive_from_source(t.source(study_with()))
    os_ = analyse_endpoint(ds.adtte, ds.study, "OS", "OS")
    row = T.cox_table([os_], ds).to_frame().iloc[0]
    assert row["Group"] == "no model: no events in group A, so its hazard ratio cannot be estimated"


# ---------------------------------------------------------------------------------------- appendix for paper
def test_appendix_lines_name_patients_by_table_row_and_column_without_repeating_them():
    from earlyphase.report.appendix import compact_ids, number_lines, patient_records, short_column
    from earlyphase.report.trace import Cell, TraceTable, count_cell, text

    ev = {"S-001": ("adverse_events#3",), "S-002": ("adverse_events#4", "adverse_events#5")}
    t = TraceTable("x", "X", ["What", "A (N=2)", "B (N=3)", "Total (N=5)"], [
        [text("Fever"), count_cell(ev, 2), count_cell({"S-003": ("adverse_events#9",)}, 3),
         count_cell({**ev, "S-003": ("adverse_events#9",)}, 5)],
        [text("Rash"), count_cell({"S-001": ("adverse_events#3",)}, 2), count_cell({}, 3),
         count_cell({"S-001": ("adverse_events#3",)}, 5)],
    ])
    first, second = number_lines([t, t])[2:]  # the second table is numbered 2
    assert (first.table, first.row) == (2, "Fever")
    a, b, total = first.spans
    assert (a.column, a.value, a.everyone, a.same_as) == ("A", "2 (100%)", True, None)
    assert b.subjects == ("S-003",) and not b.everyone
    assert total.same_as == "all of the above" and total.anchor == "x-r0c3"
    assert [s.column for s in second.spans] == ["A", "Total"] and second.spans[1].same_as == "A"
    records = {p.subject: dict(p.records) for p in patient_records([t])}
    assert records["S-002"] == {"adverse_events": "#4, #5"}
    sectioned = TraceTable("y", "Y", ["What", "A (N=2)"], [[text("ECOG"), text("")], [text("0"), count_cell(ev, 2)]],
                           section_rows=frozenset({0}))
    assert number_lines([sectioned])[0].row == "ECOG: 0"
    three = {"S-001": (), "S-002": (), "S-003": ()}
    again = TraceTable("w", "W", ["What", "P"], [[text("All"), Cell("3", three)], [text("P (log-rank)"), Cell("0.04", three)]])
    assert [(ln.row, ln.spans[0].same_as) for ln in number_lines([again])] == [("All", None), ("P (log-rank)", "All, P")]
    indented = TraceTable("z", "Z", ["What", "A (N=2)"], [[text("Sex, n (%)"), text("")], [text("   Male"), count_cell(ev, 2)]])
    assert number_lines([indented])[0].row == "Sex, n (%): Male"
    assert compact_ids(["S-001", "S-002", "S-003", "S-005", "T-1"]) == "S-001–003, S-005, T-1"
    assert compact_ids(["#7", "#8", "#10"]) == "#7, #8, #10"
    assert short_column("C (N=6) Grade ≥3") == "C grade ≥3"


def test_a_tiny_trial_is_not_truncated_and_names_keep_their_capitals():
    from earlyphase.report.words import in_sentence

    assert not choose_time_axis([1.4, 2.8, 7.1]).truncated  # one of three is not an outlier
    assert in_sentence("Progression-free survival (RECIST 1.1)") == "progression-free survival (RECIST 1.1)"
    assert in_sentence("PFS by investigator") == "PFS by investigator"


def test_km_legend_reads_in_group_order_row_by_row(twin):
    from earlyphase.report.figures import km_figure, row_major
    from earlyphase.report.survival import analyse_endpoint

    assert row_major(list("ABCDE"), 3) == list("ADBEC")  # columns A D | B E | C: rows read A B C / D E
    ea = analyse_endpoint(twin.adtte, twin.study, "PFS", "Progression-free survival")
    fig = km_figure(ea, twin.study, "PFS")
    fig.canvas.draw()
    texts = fig.axes[0].get_legend().get_texts()
    placed = sorted(texts, key=lambda t: (-round(t.get_window_extent().y0), t.get_window_extent().x0))
    assert [t.get_text().split(" ")[0] for t in placed] == list(ea.groups)


def test_report_with_pdf_into_a_relative_folder(twin_db_path, tmp_path, monkeypatch):
    """`earlyphase report --out rel --pdf` once failed comparing the PDF's absolute path with the relative folder."""
    from report_test_helpers import chromium_or_skip

    from earlyphase.report import report_from_database

    chromium_or_skip()
    monkeypatch.chdir(tmp_path)
    result = report_from_database(str(twin_db_path), "rel", pdf=True)
    assert (tmp_path / "rel" / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert result.pdf is not None and result.pdf.resolve() == (tmp_path / "rel" / "report.pdf")
