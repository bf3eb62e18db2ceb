"""Small pieces of the report: number at risk, ticks, traced cells, publication agreement, CLI, PDF errors."""

from __future__ import annotations

import pytest

from earlyphase.report.figures import nice_step, number_at_risk
from earlyphase.report.publication import agrees, load_publication
from earlyphase.report.trace import Cell, TraceTable, count_cell, text


def test_number_at_risk_counts_times_at_or_after_each_tick():
    # R: summary(survfit(Surv(t, e) ~ 1), times = ticks)$n.risk counts subjects with time >= tick
    times = [1.0, 2.0, 2.0, 3.5, 6.0]
    assert number_at_risk(times, [0, 2, 3, 6, 7]) == [5, 4, 2, 1, 0]


def test_tick_step_is_readable():
    assert nice_step(10.4) == 2
    assert nice_step(106.5) == 12
    assert nice_step(0.8) == 0.5


def test_traced_cell_links_to_appendix_and_lists_patients_on_hover():
    t = TraceTable("demo", "Demo", ["What", "A"], [
        [text("Patients"), count_cell({"S-2": ("adverse_events#7",), "S-1": ("adverse_events#3",)}, 4)],
        [text("None"), count_cell({}, 4)],
    ])
    html = t.to_html()
    assert '<a class="trace" href="#ev-demo-r0c1" title="2 patient(s): S-1, S-2">2 (50%)</a>' in html
    assert 'title="no patients">0 (0%)</td>' in html
    assert [e[0] for e in t.evidence_entries()] == ["demo-r0c1"]
    assert list(t.to_frame()["A"]) == ["2 (50%)", "0 (0%)"]


def test_publication_file_is_data_with_citation():
    pub = load_publication("nk-hcc-ltx")
    assert "10.1186/s12967-026-07725-x" in pub.citation
    values = {n["label"]: n["value"] for n in pub.numbers}
    assert values["Median PFS, group D, months"] == 7.5  # from the abstract, not from code
    assert load_publication("no-such-study") is None


def test_agreement_rules():
    assert agrees({"measure": "median", "value": 7.5, "digits": 1}, 7.5071868583)
    assert not agrees({"measure": "median", "value": 7.5, "digits": 1}, 7.56)
    assert agrees({"measure": "logrank_p", "value": 0.0403}, 0.0389)
    assert not agrees({"measure": "logrank_p", "value": 0.0403}, 0.08)
    assert not agrees({"measure": "median", "value": 7.5}, None)


def test_report_cli_writes_report_and_pdf_flag_fails_clearly_without_chromium(twin_db_path, tmp_path, monkeypatch, capsys):
    from earlyphase.cli.common import run_app
    from earlyphase.cli import app

    out = tmp_path / "rep"
    assert run_app(app, ["report", "--db", str(twin_db_path), "--out", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert (out / "report.html").is_file() and not (out / "report.pdf").exists()
    monkeypatch.setenv("EARLYPHASE_CHROMIUM", str(tmp_path / "no-chromium-here"))
    assert run_app(app, ["report", "--db", str(twin_db_path), "--out", str(tmp_path / "rep2"), "--pdf"]) == 1
    err = capsys.readouterr().err
    assert "EARLYPHASE_CHROMIUM" in err and "not an executable" in err


def test_missing_chromium_on_path_names_the_fix(monkeypatch):
    from earlyphase.errors import ConfigurationError
    from earlyphase.report.pdf import find_chromium

    monkeypatch.delenv("EARLYPHASE_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigurationError, match="apt-get install chromium"):
        find_chromium()


def test_report_on_a_missing_or_foreign_database_is_a_clear_error(tmp_path, capsys):
    import sqlite3

    from earlyphase.cli import app
    from earlyphase.cli.common import run_app

    missing = tmp_path / "nope.db"
    assert run_app(app, ["report", "--db", str(missing), "--out", str(tmp_path / "r1")]) == 1
    assert "no database file" in capsys.readouterr().err
    assert not missing.exists()  # reading never creates a database
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("create table a(x)")
    con.commit()
    con.close()
    assert run_app(app, ["report", "--db", str(other), "--out", str(tmp_path / "r2")]) == 1
    assert "not a readable earlyphase trial database" in capsys.readouterr().err


def test_report_of_an_initialised_empty_trial(tmp_path):
    from earlyphase.capture import initialise
    from earlyphase.report import report_from_database

    db = tmp_path / "t.db"
    initialise(db, "nk-hcc-ltx", "tester").close()
    result = report_from_database(str(db), tmp_path / "rep")
    assert result.html.is_file() and result.figures == ()
    assert "Disposition" in result.html.read_text(encoding="utf-8")
