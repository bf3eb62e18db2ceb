"""The report's two modes on the demo twin: de-identified by default (pseudonyms, small cells, study days in
adam/, labelled), identified on request (labelled as such); outputs private to the user."""

from __future__ import annotations

import csv
import json
import re
import stat
from pathlib import Path

import pytest

COUNT = re.compile(r"^(\d+)(?:$|\s*\()")


def _report(url, out, **kwargs):
    from earlyphase.report import report_from_database

    return report_from_database(url, out, **kwargs)


def _patient_dates(url, tmp: Path) -> set[str]:
    """Every calendar date of a patient in the database (from the identified export)."""
    from earlyphase.interop import export_trial
    from earlyphase.records import make_engine

    engine = make_engine(url)
    try:
        export_trial(engine, tmp, identified=True)
    finally:
        engine.dispose()
    dates = set()
    for path in tmp.glob("*.csv"):
        if path.name not in ("study.csv", "protocol_versions.csv"):
            dates |= set(re.findall(r"\b(?:19|20)\d\d-\d\d-\d\d\b", path.read_text(encoding="utf-8")))
    return dates


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return tmp_path_factory.mktemp("key") / "pseudonym.key"


@pytest.fixture(scope="module")
def deid_report(twin_db, tmp_path_factory, key):
    out = tmp_path_factory.mktemp("deid-report") / "report"
    return _report(twin_db, out, key_file=key)


@pytest.fixture(scope="module")
def identified_report(twin_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("ident-report") / "report"
    return _report(twin_db, out, identified=True)


def _all_text(directory: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(directory.rglob("*"))
                   if p.is_file() and p.suffix in (".html", ".csv", ".json", ".txt"))


def test_no_site_id_and_no_patient_date_in_the_deidentified_report(deid_report, identified_report, twin_db, tmp_path):
    dates = _patient_dates(twin_db, tmp_path / "ident")
    assert len(dates) > 100
    deid = _all_text(deid_report.out_dir)
    assert not re.search(r"SYN-\d", deid)
    assert not [d for d in dates if d in deid]
    ident = _all_text(identified_report.out_dir)
    assert re.search(r"SYN-\d", ident) and [d for d in dates if d in ident]  # the check would see them


def test_counts_link_to_the_same_pseudonyms_as_the_export(deid_report, twin_db, key, tmp_path):
    from earlyphase.interop import export_trial
    from earlyphase.records import make_engine

    engine = make_engine(twin_db)
    try:
        export_trial(engine, tmp_path / "export", key_file=key)
    finally:
        engine.dispose()
    with (tmp_path / "export" / "patients.csv").open(newline="", encoding="utf-8") as handle:
        exported = {r["subject_id"] for r in csv.DictReader(handle)}
    html = deid_report.html.read_text(encoding="utf-8")
    titles = re.findall(r'title="\d+ patient\(s\): ([^"]*)"', html)
    assert titles
    named = {u for t in titles for u in t.split(", ")}
    assert named and named <= exported
    appendix = html[html.index('id="evidence"'):]
    listed = set(re.findall(r'<dt id="pt-([^"]+)"', appendix))
    assert listed and listed <= exported
    assert "patients#" not in appendix  # the database's patient rows are not named


def _traced_counts(html: str) -> list[int]:
    """Counts of patients shown in traced cells (those linking to their patients) of the report's tables."""
    texts = re.findall(r'<a class="trace" href="#ev-[^"]*" title="[^"]*">([^<]*)</a>', html)
    return [int(m.group(1)) for m in map(COUNT.match, texts) if m]


def _csv_cells(directory: Path) -> dict[tuple[str, int, int], str]:
    cells = {}
    for path in sorted((directory / "tables").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for i, row in enumerate(csv.reader(handle)):
                cells.update({(path.stem, i, j): c for j, c in enumerate(row)})
    return cells


def test_small_counts_are_suppressed_under_the_stated_rule(deid_report, identified_report):
    ident_html = identified_report.html.read_text(encoding="utf-8")
    deid_html = deid_report.html.read_text(encoding="utf-8")
    assert {1, 2} & set(_traced_counts(ident_html))  # the identified report shows them: the check could fail
    shown = _traced_counts(deid_html)
    assert shown and not [n for n in shown if 0 < n < 3]
    # every '<3' in tables/ stands where the identified report has a count of 1 or 2 patients
    ident_cells, deid_cells = _csv_cells(identified_report.out_dir), _csv_cells(deid_report.out_dir)
    suppressed = [k for k, v in deid_cells.items() if v == "<3"]
    assert suppressed
    for k in suppressed:
        assert int(COUNT.match(ident_cells[k]).group(1)) in (1, 2), (k, ident_cells[k])
    manifest = json.loads((deid_report.out_dir / "manifest.json").read_text())
    small = manifest["deidentification"]["small_cells"]
    assert small["threshold"] == 3 and "1 to 2 patients" in small["rule"] and small["listings"]
    assert len(small["suppressed"]) >= len(suppressed) and {"table", "row", "column"} <= set(small["suppressed"][0])
    assert "&lt;3" in deid_html and "shown as &lt;3" in deid_html


def test_the_threshold_is_configurable(twin_db, tmp_path):
    result = _report(twin_db, tmp_path / "k5", small_cells=5)
    counts = _traced_counts(result.html.read_text(encoding="utf-8"))
    assert counts and not [n for n in counts if 0 < n < 5] and "&lt;5" in result.html.read_text(encoding="utf-8")
    manifest = json.loads((tmp_path / "k5" / "manifest.json").read_text())
    assert manifest["deidentification"]["small_cells"]["threshold"] == 5


def test_adam_holds_study_days_and_age_bands_and_says_so(deid_report, identified_report):
    import pandas as pd

    adam = deid_report.out_dir / "adam"
    readme = (adam / "README.txt").read_text()
    assert readme.startswith("DE-IDENTIFIED") and "study day" in readme
    assert (identified_report.out_dir / "adam" / "README.txt").read_text().startswith("IDENTIFIED")
    adsl = pd.read_csv(adam / "adsl.csv")
    assert "AGE" not in adsl.columns and adsl["AGEGR1"].str.fullmatch(r"\d0-\d9|90\+").all()
    assert {"TRTSDY", "RANDDY", "DTHDY"} <= set(adsl.columns) and (adsl["TRTSDY"].dropna() == 1).all()
    assert adsl["SRCSEQ"].isna().all() and adsl["USUBJID"].str.fullmatch(r"P-[A-Z2-7]{10}").all()
    adtte = pd.read_csv(adam / "adtte.csv")
    assert not [c for c in adtte.columns if c.endswith(("DT", "DTM", "DTC"))]
    # study days keep the time structure: ADY - STARTDY + 1 days = AVAL for an event counted from the first dose
    ident = pd.read_csv(identified_report.out_dir / "adam" / "adtte.csv")
    assert (adtte["ADY"] - adtte["STARTDY"]).tolist() == (pd.to_datetime(ident["ADT"])
                                                        - pd.to_datetime(ident["STARTDT"])).dt.days.tolist()


def test_each_mode_is_labelled(deid_report, identified_report):
    deid = deid_report.html.read_text(encoding="utf-8")
    ident = identified_report.html.read_text(encoding="utf-8")
    assert re.search(r'id="privacy-label">De-identified report', deid)
    assert re.search(r'id="privacy-label">IDENTIFIED REPORT', ident)
    assert json.loads((deid_report.out_dir / "manifest.json").read_text())["mode"] == "de-identified"
    assert json.loads((identified_report.out_dir / "manifest.json").read_text())["mode"] == "identified"
    assert deid_report.mode == "de-identified" and "IDENTIFIED" in identified_report.summary()
    risk = json.loads((deid_report.out_dir / "manifest.json").read_text())["deidentification"]["reidentification"]
    assert risk["subjects"] == 18 and risk["unique_subjects"] < 18


def test_report_files_are_private(deid_report):
    out = deid_report.out_dir
    for path in [out, *out.rglob("*")]:
        want = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == want, path


def test_an_existing_folder_keeps_its_mode_and_its_other_files(twin_db, tmp_path):
    out = tmp_path / "mine"
    out.mkdir(mode=0o755)
    out.chmod(0o755)
    notes = out / "notes.txt"
    notes.write_text("mine")
    notes.chmod(0o644)
    _report(twin_db, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755 and stat.S_IMODE(notes.stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "report.html").stat().st_mode) == 0o600


def test_the_cli_default_is_deidentified_and_bad_thresholds_write_nothing(twin_db, tmp_path):
    from typer.testing import CliRunner

    from earlyphase.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["report", "--db", twin_db, "--out", str(tmp_path / "r"), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["mode"] == "de-identified"
    key = tmp_path / "p.key"
    res = runner.invoke(app, ["report", "--db", twin_db, "--out", str(tmp_path / "k"), "--pseudonym-key", str(key)])
    assert res.exit_code == 0 and key.is_file(), res.output
    res = runner.invoke(app, ["export", "--db", twin_db, "--out", str(tmp_path / "e"), "--pseudonym-key", str(key)])
    assert res.exit_code == 0, res.output
    with (tmp_path / "e" / "patients.csv").open(newline="", encoding="utf-8") as handle:
        exported = {r["subject_id"] for r in csv.DictReader(handle)}
    import pandas as pd

    assert set(pd.read_csv(tmp_path / "k" / "adam" / "adsl.csv")["USUBJID"]) == exported  # one key, one pseudonym
    res = runner.invoke(app, ["report", "--db", twin_db, "--out", str(tmp_path / "i"), "--identified",
                              "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.output)["mode"] == "identified"
    for bad in ("0", "-2", "1000"):
        res = runner.invoke(app, ["report", "--db", twin_db, "--out", str(tmp_path / f"b{bad}"), "--small-cells", bad])
        assert res.exit_code in (1, 2) and "Traceback" not in res.output, res.output
        assert not (tmp_path / f"b{bad}").exists()


def test_demo_outputs_are_private(tmp_path):
    from earlyphase.twin.demo import run_demo

    result = run_demo(tmp_path / "demo", pdf=False)
    out = result.out_dir
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    assert json.loads((out / "manifest.json").read_text())["mode"] == "identified"  # synthetic twin, labelled


def test_every_report_build_is_an_audited_event(twin_db, tmp_path):
    import hashlib

    from sqlalchemy import select

    from earlyphase.records import make_engine, read_session, verify_audit
    from earlyphase.records.tables import AuditEntry

    def events():
        engine = make_engine(twin_db)
        try:
            with read_session(engine) as session:
                return [(e.username, json.loads(e.new_values)) for e in session.execute(
                    select(AuditEntry).where(AuditEntry.action == "event", AuditEntry.table_name == "report_build")
                    .order_by(AuditEntry.id)).scalars()]
        finally:
            engine.dispose()

    before = events()
    ident = _report(twin_db, tmp_path / "i", identified=True, username="statistician")
    deid = _report(twin_db, tmp_path / "d", username="statistician", small_cells=4)
    after = events()[len(before):]
    assert [(w, d["mode"], d["small_cells"]) for w, d in after] == [("statistician", "identified", None),
                                                                   ("statistician", "de-identified", 4)]
    assert after[0][1]["html_sha256"] == hashlib.sha256(ident.html.read_bytes()).hexdigest()
    assert after[1][1]["out_dir"] == str(deid.out_dir.resolve())
    engine = make_engine(twin_db)
    try:
        assert verify_audit(engine).ok
    finally:
        engine.dispose()


def test_a_report_that_cannot_be_audited_is_taken_back(twin_db, tmp_path, monkeypatch):
    import earlyphase.records.audit as audit
    from earlyphase.errors import ConfigurationError

    def refuse(*args, **kwargs):
        raise ConfigurationError("no audit key here")

    monkeypatch.setattr(audit, "write_event", refuse)
    with pytest.raises(ConfigurationError):
        _report(twin_db, tmp_path / "r", identified=True)
    assert not [p for p in (tmp_path / "r").rglob("*") if p.is_file()]


def test_a_relative_output_folder_with_the_pdf(twin_db, tmp_path, monkeypatch):
    """The PDF's path comes back absolute while --out is relative: the manifest still lists every file."""
    import shutil

    if not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")):
        pytest.skip("headless Chromium not installed")
    monkeypatch.chdir(tmp_path)
    result = _report(twin_db, "rel", pdf=True)
    manifest = json.loads((tmp_path / "rel" / "manifest.json").read_text())
    assert "report.pdf" in manifest["files"] and "report.html" in manifest["files"] and result.pdf.is_file()


def test_complementary_suppression_leaves_no_row_or_column_with_one_hidden_count(deid_report, identified_report):
    ident_cells, deid_cells = _csv_cells(identified_report.out_dir), _csv_cells(deid_report.out_dir)
    partners = [k for k, v in deid_cells.items() if v == ">=3"]
    assert partners  # the demo's tables have rows with one small count: the check could fail
    for k in partners:  # a partner was a count of 3 or more, as its label says
        assert int(COUNT.match(ident_cells[k]).group(1)) >= 3, (k, ident_cells[k])
    lines: dict[tuple, list[str]] = {}
    for (table, i, j), text in deid_cells.items():
        if i == 0 or not (COUNT.match(text) or text in ("<3", ">=3")):
            continue
        lines.setdefault((table, "row", i), []).append(text)
        lines.setdefault((table, "column", j), []).append(text)
    single = [key for key, texts in lines.items()
              if len(texts) > 1 and sum(t in ("<3", ">=3") for t in texts) == 1]
    assert not single, single[:5]
    manifest = json.loads((deid_report.out_dir / "manifest.json").read_text())
    assert any(s.get("complementary") for s in manifest["deidentification"]["small_cells"]["suppressed"])
