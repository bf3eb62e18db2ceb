"""The main job end to end through the CLI (a real process, as a user runs it), and the data commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BANNER = "SYNTHETIC DATA"
PUBLISHED_PFS = {"overall": "4.80", "A": "1.60", "B": "2.50", "C": "5.50", "D": "7.50"}
PUBLISHED_OS = {"overall": "17.70", "A": "12.60", "B": "16.10", "C": "18.40", "D": "31.30"}


def _has_chromium() -> bool:
    from earlyphase.errors import ConfigurationError
    from earlyphase.report.pdf import find_chromium

    try:
        find_chromium()
    except ConfigurationError:
        return False
    return True


def test_demo_without_chromium_writes_html_and_says_how_to_get_the_pdf(tmp_path, monkeypatch):
    import earlyphase.report.pdf as pdf_module
    from earlyphase.errors import ConfigurationError
    from earlyphase.twin.demo import run_demo

    def no_chromium():
        raise ConfigurationError("no chromium here")

    monkeypatch.setattr(pdf_module, "find_chromium", no_chromium)
    result = run_demo(tmp_path / "demo")
    assert (tmp_path / "demo" / "report.html").is_file()
    assert not (tmp_path / "demo" / "report.pdf").exists()
    assert "PDF: not written (headless Chromium is not installed" in result.summary()
    assert result.to_dict()["pdf"] is None


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    code = "import sys; from earlyphase.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    out = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        out.append(line)
    return out


def test_demo_end_to_end_writes_database_and_summary(tmp_path):
    out = tmp_path / "demo"
    done = run("demo", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("*** " + BANNER)
    assert (out / "trial.db").is_file()
    summary = (out / "summary.txt").read_text()
    assert BANNER in summary and "Enrolment" in summary and "Exposure" in summary and "Adverse events" in summary
    # per-group medians printed beside the published ones, and within 0.05 months of them
    for title, published in (("PFS", PUBLISHED_PFS), ("OS", PUBLISHED_OS)):
        rows = [line.split() for line in _section(text, title) if not line.strip().startswith("log-rank")]
        got = {r[0]: (float(r[3]), r[4]) for r in rows}
        assert set(got) == set(published)
        for group, (median, pub) in got.items():
            assert pub == published[group]
            assert abs(median - float(pub)) < 0.05
    assert "published P = 0.0008" in text and "published P = 0.0403" in text
    data = json.loads((out / "summary.json").read_text())
    assert data["synthetic"] is True and data["banner"].startswith("*** " + BANNER)
    assert [g["n"] for g in data["enrolment"]] == [3, 5, 6, 4]
    exposure = {e["group"]: e for e in data["exposure"]}
    assert all(e["infusions_given"] == e["infusions_planned"] for e in exposure.values())
    assert data["adverse_events"]["most_common"]["term"] == "Fever"
    # the full report is written, with the PDF when Chromium is installed (CI installs it)
    assert f"Report: {out / 'report.html'}" in text
    assert (out / "report.html").is_file() and (out / "adam" / "adtte.csv").is_file()
    assert (out / "report.pdf").is_file() == _has_chromium()
    # the audit trail of the demo database verifies
    verify = run("audit", "verify", "--db", str(out / "trial.db"))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # accounts for each role, none with a password; reset-password gives one (a signer also a TOTP secret)
    users = {u["username"]: u for u in json.loads(run("user", "list", "--db", str(out / "trial.db"),
                                                       "--format", "json").stdout)["users"]}
    assert users["coord-sysu"]["grants"] == ["coordinator@SYSU"] and users["demo"]["grants"] == ["admin@ALL"]
    assert users["pi-sysu"]["grants"] == ["investigator@SYSU"] and users["sponsor"]["grants"] == ["sponsor@ALL"]
    assert not any(u["has_password"] for u in users.values())
    assert "earlyphase user reset-password NAME" in text
    reset = subprocess.run([sys.executable, "-c", "import sys; from earlyphase.cli import main; main(sys.argv[1:])",
                            "user", "reset-password", "pi-sysu", "--db", str(out / "trial.db"), "--user", "demo",
                            "--format", "json"], input="a new long passphrase\n", capture_output=True, text=True,
                           timeout=300)
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["totp_uri"].startswith("otpauth://totp/")


def test_demo_default_directory_json_rerun_and_refusal_of_other_data(tmp_path):
    first = run("demo", "--format", "json", "--no-pdf", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["replaced"] is False
    assert (tmp_path / "earlyphase-demo" / "trial.db").is_file()
    again = run("demo", "--format", "json", "--no-pdf", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["replaced"] is True and data["synthetic"] is True and data["audit_ok"] is True
    assert data["summary"]["survival"]["PFS"]["published_logrank_p"] == 0.0008
    assert data["pdf"] is None and not (tmp_path / "earlyphase-demo" / "report.pdf").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "trial.db").write_text("somebody's data")
    refused = run("demo", "--out", str(other))
    assert refused.returncode == 1
    assert "not an earlyphase demo database" in refused.stderr and "Traceback" not in refused.stderr
    assert (other / "trial.db").read_text() == "somebody's data"


def test_twin_export_import_commands(tmp_path):
    src = tmp_path / "src.db"
    assert run("init", "--db", str(src), "--study", "nk-hcc-ltx", "--user", "alice").returncode == 0
    twin = run("twin", "--db", str(src), "--format", "json")
    assert twin.returncode == 0, twin.stderr
    assert json.loads(twin.stdout)["counts"]["patients"] == 18
    exported = run("export", "--db", str(src), "--out", str(tmp_path / "csv"), "--identified")
    assert exported.returncode == 0, exported.stderr
    deid = run("export", "--db", str(src), "--out", str(tmp_path / "deid"))
    assert deid.returncode == 0 and "de-identified" in deid.stdout
    dst = tmp_path / "dst.db"
    assert run("init", "--db", str(dst), "--study", "nk-hcc-ltx", "--user", "alice").returncode == 0
    imported = run("import", "--db", str(dst), str(tmp_path / "csv"), "--user", "alice")
    assert imported.returncode == 0, imported.stderr
    assert run("export", "--db", str(dst), "--out", str(tmp_path / "again"), "--identified").returncode == 0
    for path in sorted((tmp_path / "csv").glob("*.csv")):
        if path.name != "protocol_versions.csv":  # when each database took each version: differs by design
            assert path.read_bytes() == (tmp_path / "again" / path.name).read_bytes(), path.name
    # an input problem: exit 1, the file/row/column named, no traceback
    bad = tmp_path / "deaths.csv"
    bad.write_text("subject_id,death_date,cause\nSYN-001,not a date,disease progression\n")
    failed = run("import", "--db", str(dst), str(bad), "--user", "alice")
    assert failed.returncode == 1
    assert "deaths.csv, row 2, death_date = 'not a date'" in failed.stderr and "Traceback" not in failed.stderr
