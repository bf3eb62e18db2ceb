"""The report of the twin, end to end: database -> datasets -> tables/figures -> HTML/PDF."""

from __future__ import annotations

import csv
import html as htmllib
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from report_test_helpers import chromium_or_skip

REFERENCE = Path(__file__).parents[1] / "twin" / "data" / "twin_r_reference.csv"


def test_layout_of_the_output_directory(report_dir):
    assert (report_dir / "report.html").is_file()
    for name in ("adsl", "adae", "adrs", "adtte"):
        assert (report_dir / "adam" / f"{name}.csv").is_file()
    for key in ("km_pfs", "km_os", "swimmer", "waterfall", "spider"):
        for ext in ("png", "svg"):
            assert (report_dir / "figures" / f"{key}.{ext}").stat().st_size > 1000
    for key in ("disposition", "baseline", "exposure", "ae_overview", "ae_soc_term", "ae_related_soc_term",
                "ae_max_grade", "ae_related_max_grade", "dlt", "aesi_fever", "best_response", "medians", "landmarks",
                "cox", "followup", "published_vs_reproduced"):
        assert (report_dir / "tables" / f"{key}.csv").is_file(), key


def test_adtte_csv_in_days_with_group_in_trt01p(report_dir):
    adtte = pd.read_csv(report_dir / "adam" / "adtte.csv")
    assert set(adtte["AVALU"]) == {"DAYS"}
    assert set(adtte["PARAMCD"]) == {"PFS", "OS"}
    assert set(adtte["TRT01P"]) == {"A", "B", "C", "D"}
    assert (adtte["AVALM"] - adtte["AVAL"] / 30.4375).abs().max() < 1e-9
    assert adtte["RULE"].notna().all()


def _reference():
    rows = [r for r in csv.reader(line for line in REFERENCE.open() if not line.startswith("#"))][1:]
    return {(e, g, q): float(v) for e, g, q, v in rows}


def _median_cell(text):
    return float(text.split(" ")[0])


def test_twin_medians_and_p_values_match_r_through_the_report(report_dir):
    """Medians (1 decimal, as shown) and log-rank P (4 decimals) in tables/medians.csv vs R's survival."""
    ref = _reference()
    med = pd.read_csv(report_dir / "tables" / "medians.csv", dtype=str)
    for _, row in med.iterrows():
        endpoint, group, value = row["Endpoint"], row["Group"], row.iloc[4]
        if group.startswith("P (log-rank)"):
            assert float(value) == pytest.approx(ref[(endpoint, "all", "logrank_p")], abs=5e-5)
        elif not group.startswith("P ("):
            key = (endpoint, "overall" if group == "All" else group, "median_months")
            assert _median_cell(value) == pytest.approx(round(ref[key], 1), abs=1e-9), (endpoint, group)


def test_every_published_number_is_reproduced(report_dir):
    table = pd.read_csv(report_dir / "tables" / "published_vs_reproduced.csv", dtype=str)
    assert len(table) >= 20
    bad = table[table["Agrees"] != "yes"]
    assert bad.empty, bad.to_string()


def _html(report_dir):
    return (report_dir / "report.html").read_text(encoding="utf-8")


def test_html_is_self_contained_and_marks_synthetic_data(report_dir):
    text = _html(report_dir)
    assert "SYNTHETIC DATA" in text
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing fetched from the network
    assert text.count('src="data:image/svg+xml;base64,') == 5
    assert "Data cut-off" in text and "earlyphase " in text
    for word in ("log-log", "Greenwood", "FDA 2018", "trend", "permutation", "Clopper-Pearson"):
        assert word in text, word


def _row_cells(text, table_key, label):
    """The <td> contents of the row starting with ``label`` in table ``table_key``."""
    table = re.search(rf'<table class="data" id="tbl-{table_key}">(.*?)</table>', text, re.S).group(1)
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells and htmllib.unescape(re.sub("<[^>]+>", "", cells[0])).strip() == label:
            return cells
    raise AssertionError(f"no row {label!r} in {table_key}")


@pytest.mark.parametrize("group", ["C", "D"])  # none in C, one patient in D
def test_reader_can_find_grade_2_or_worse_patients_in_group_c(report_dir, group):
    """The HTML answers 'how many patients had grade >= 2 AEs in group C, which ones' without code."""
    adae = pd.read_csv(report_dir / "adam" / "adae.csv")
    expected = sorted(set(adae[(adae.TRT01A == group) & (adae.TRTEMFL == "Y") & (adae.ATOXGR >= 2)]["USUBJID"]))
    text = _html(report_dir)
    cells = _row_cells(text, "ae_overview", "Grade ≥2")
    header = re.search(r'<table class="data" id="tbl-ae_overview">.*?</thead>', text, re.S).group(0)
    heads = [htmllib.unescape(h) for h in re.findall(r"<th>(.*?)</th>", header)]
    c = next(i for i, h in enumerate(heads) if h.startswith(f"{group} ("))
    cell = cells[c]
    assert re.sub("<[^>]+>", "", cell).startswith(str(len(expected)))
    if expected:
        title = htmllib.unescape(re.search(r'title="([^"]*)"', cell).group(1))
        assert title == f"{len(expected)} patient(s): " + ", ".join(expected)
        anchor = re.search(r'href="#(ev-[^"]+)"', cell).group(1)
        # the appendix line names the patients (by subject id, or as every patient of the column) ...
        entry = re.search(rf'<span class="col" id="{anchor}">(.*?)</span>', text, re.S).group(1)
        n_col = int(re.search(r"\(N=(\d+)\)", heads[c]).group(1))
        assert "(all of the column)" in entry if len(expected) == n_col else all(u.rsplit("-", 1)[-1] in entry
                                                                                 for u in expected)
        # ... and each patient's records are listed once, under the patient
        for u in expected:
            records = re.search(rf'<dt id="pt-{u}">[^<]*</dt><dd>(.*?)</dd>', text, re.S).group(1)
            assert "adverse_events #" in records


def test_reader_can_find_pfs_median_of_group_d_with_ci(report_dir):
    from earlyphase.stats import kaplan_meier

    adtte = pd.read_csv(report_dir / "adam" / "adtte.csv")
    d = adtte[(adtte.PARAMCD == "PFS") & (adtte.TRT01P == "D")]
    med, lo, up = kaplan_meier(d.AVAL / 30.4375, 1 - d.CNSR, conf_type="log-log").curves[0].median
    text = _html(report_dir)
    table = re.search(r'<table class="data" id="tbl-medians">(.*?)</table>', text, re.S).group(1)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]
    row = next(r for r in rows if r and r[0] == "PFS" and r[1] == "D")
    shown = htmllib.unescape(re.sub("<[^>]+>", "", row[4]))
    fmt = lambda x: "NA" if x != x else f"{x:.1f}"  # noqa: E731
    assert shown == f"{fmt(med)} ({fmt(lo)}–{fmt(up)})"
    title = htmllib.unescape(re.search(r'title="([^"]*)"', row[4]).group(1))
    assert title.startswith("4 patient(s): ") and all(u in title for u in d.USUBJID)


_CHECK = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('error: ' + (e.message || String(e.target.src).slice(0, 80))); }, true);
var _ce = console.error; console.error = function () { window.__errors.push('console: ' + Array.from(arguments).join(' ')); _ce.apply(console, arguments); };
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).map(function (i) { return i.alt; });
  var pre = document.createElement('pre'); pre.id = '__check';
  pre.textContent = JSON.stringify({images: imgs.length, broken: bad, errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


def test_report_opens_in_headless_chromium_with_every_figure_loaded(report_dir, tmp_path):
    import json

    exe = chromium_or_skip()
    page = tmp_path / "check.html"
    page.write_text(_html(report_dir).replace("<head>", "<head>" + _CHECK, 1), encoding="utf-8")
    profile = tmp_path / "profile"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout
    found = re.search(r'<pre id="__check">(.*?)</pre>', out, re.S)
    assert found, "the check script did not run: " + out[-500:]
    result = json.loads(htmllib.unescape(found.group(1)))
    assert result["images"] == 5
    assert result["broken"] == []
    assert result["errors"] == []


def test_pdf_converts_to_page_images(report_dir, tmp_path):
    chromium_or_skip()
    import os
    import shutil

    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("pdftoppm (poppler-utils) is required in CI")
        pytest.skip("pdftoppm (poppler-utils) not installed (outside CI)")
    pdf = report_dir / "report.pdf"
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == 3
