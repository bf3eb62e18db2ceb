"""A de-identified export of the demo twin: pseudonyms, age bands, study days, scrubbed text, measured risk."""

from __future__ import annotations

import csv
import json
import os
import re
import stat
from collections import Counter
from pathlib import Path

import pytest

from privacy_helpers import LEAKS


def _export(url, out, **kwargs):
    from earlyphase.interop import export_trial
    from earlyphase.records import make_engine

    engine = make_engine(url)
    try:
        return export_trial(engine, out, **kwargs)
    finally:
        engine.dispose()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _patient_text(directory: Path) -> str:
    """Every CSV but the protocol's own text (study.csv, protocol_versions.csv hold the study file)."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.csv"))
                   if p.name not in ("study.csv", "protocol_versions.csv"))


@pytest.fixture(scope="module")
def deid(twin_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("deid") / "export"
    key = tmp_path_factory.mktemp("keys") / "export.key"
    result = _export(twin_db, out, key_file=key)
    return out, key, result


def test_no_site_id_name_date_or_number_leaves(deid, twin_db, tmp_path):
    out, _, _ = deid
    text = _patient_text(out)
    for leak in LEAKS:
        assert leak not in text, leak
    assert not re.search(r"SYN-\d", text)  # the site's subject ids
    assert not re.search(r"\b(19|20)\d\d-\d\d-\d\d\b", text)
    # the identified export of the same database does hold them: the test would see a leak
    _export(twin_db, tmp_path / "ident", identified=True)
    ident = _patient_text(tmp_path / "ident")
    assert re.search(r"SYN-\d", ident) and "Grainger" in ident and "jsmith" in ident and "2015-" in ident


def test_pseudonyms_are_keyed_and_stable_per_key(deid, twin_db, tmp_path):
    out, key, _ = deid
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = sorted(r["subject_id"] for r in _rows(out / "patients.csv"))
    assert len(set(first)) == 18 and all(re.fullmatch(r"P-[A-Z2-7]{10}", s) for s in first)
    again = sorted(r["subject_id"] for r in _rows(_export(twin_db, tmp_path / "again", key_file=key).out_dir
                                                  / "patients.csv"))
    assert again == first
    other = sorted(r["subject_id"] for r in _rows(_export(twin_db, tmp_path / "other").out_dir / "patients.csv"))
    assert not set(other) & set(first)
    # a patient's rows in other files carry the same pseudonym; the database's own ids are gone
    adverse = _rows(out / "adverse_events.csv")
    assert {r["subject_id"] for r in adverse} <= set(first) and "patient_id" not in adverse[0]
    assert "id" not in _rows(out / "patients.csv")[0]


def test_a_short_or_shared_key_is_refused(twin_db, tmp_path):
    from earlyphase.errors import InputError

    weak = tmp_path / "weak.key"
    weak.write_text("secret\n")
    weak.chmod(0o600)
    with pytest.raises(InputError, match="at least 32"):
        _export(twin_db, tmp_path / "x", key_file=weak)
    shared = tmp_path / "shared.key"
    shared.write_text("k" * 64)
    shared.chmod(0o644)
    with pytest.raises(InputError, match="chmod 600"):
        _export(twin_db, tmp_path / "y", key_file=shared)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_age_band_instead_of_birth_year(deid, twin_db, tmp_path):
    out = _export(twin_db, tmp_path / "k1", k_anonymity=1).out_dir  # no k-anonymity step: the plain 10-year bands
    patients = _rows(out / "patients.csv")
    assert "birth_year" not in patients[0]
    assert all(re.fullmatch(r"\d0-\d9|90\+", r["age_band"]) for r in patients)
    ident = {r["subject_id"]: r for r in _rows(_export(twin_db, tmp_path / "i", identified=True).out_dir
                                                / "patients.csv")}
    expected = Counter()
    for r in ident.values():
        age = int(r["enrolment_date"][:4]) - int(r["birth_year"])
        expected[f"{age // 10 * 10}-{age // 10 * 10 + 9}"] += 1
    assert Counter(r["age_band"] for r in patients) == expected


def test_queries_have_study_days_and_user_pseudonyms(deid):
    out, _, _ = deid
    (query,) = _rows(out / "queries.csv")
    assert "raised_at" not in query and "answered_at" not in query
    assert re.fullmatch(r"-?\d+", query["raised_at_study_day"]) and re.fullmatch(r"-?\d+", query["answered_at_study_day"])
    users = {r["username"]: r["role"] for r in _rows(out / "users.csv")}
    assert query["raised_by"] in users and query["answered_by"] in users and query["raised_by"] != query["answered_by"]
    assert all(re.fullmatch(r"U-[A-Z2-7]{10}", u) for u in users)
    # the scrubber turned the onset dates into the patient's study days and the people into placeholders
    assert "study day" in query["text"] and "[name]" in query["text"]
    assert query["raised_by"] in query["answer"]  # "checked with jsmith" names the user by pseudonym
    versions = _rows(out / "protocol_versions.csv")
    assert "created_at" not in versions[0] and versions[0]["created_by"] in users


def test_free_text_scrubbed_and_counted_in_the_manifest(deid):
    out, _, _ = deid
    (deviation,) = [r for r in _rows(out / "protocol_deviations.csv") if "phoned" in r["description"]]
    text = deviation["description"]
    assert text.startswith(deviation["subject_id"])  # the site id in the text became the same pseudonym
    for placeholder in ("[name]", "[date]", "[record number]", "[phone]", "[email]"):
        assert placeholder in text, (placeholder, text)
    manifest = json.loads((out / "manifest.json").read_text())
    free = manifest["deidentification"]["free_text"]
    assert free["policy"] == "scrub" and free["scrubber"] == "earlyphase-scrub/1" and free["limits"]
    counts = free["replaced"]["protocol_deviations.csv"]["description"]
    assert counts["phone"] == 1 and counts["email"] == 1 and counts["subject id"] >= 1 and counts["name"] >= 2
    assert "description" in manifest["tables"]["protocol_deviations"]["scrubbed_columns"]


def test_free_text_can_be_dropped(twin_db, tmp_path):
    result = _export(twin_db, tmp_path / "drop", free_text="drop")
    header = _rows(result.out_dir / "protocol_deviations.csv")[0]
    assert "description" not in header
    assert "description" in result.manifest["tables"]["protocol_deviations"]["removed_columns"]
    assert "text" not in _rows(result.out_dir / "queries.csv")[0]


def test_the_export_meets_its_k_anonymity_target_and_says_so(deid):
    out, _, result = deid
    risk = result.manifest["deidentification"]["reidentification"]
    assert risk["quasi_identifiers"] == ["sex", "age_band", "site", "group"]
    # recompute it from the files a recipient holds: an empty (withheld) value matches any value
    groups = {r["subject_id"]: r["group_code"] for r in _rows(out / "allocations.csv")}
    rows = [(r["sex"], r["age_band"], r["site_id"], groups.get(r["subject_id"])) for r in _rows(out / "patients.csv")]
    hidden_among = [sum(all(o == "" or o == v for o, v in zip(other, row)) for other in rows) for row in rows]
    unique = sum(1 for n in hidden_among if n == 1)
    target = result.manifest["deidentification"]["k_anonymity"]["target_k"]
    assert target == 2 and min(hidden_among) >= target and risk["target_met"]
    assert risk["subjects"] == 18 and risk["unique_subjects"] == unique == 0
    assert risk["unique_share"] == 0.0 and risk["smallest_group_k"] == min(hidden_among)
    # the 10-year bands alone left 6 of 18 unique (the probe): the steps tried say so
    steps = result.manifest["deidentification"]["k_anonymity"]["steps"]
    assert steps[0]["age_band_years"] == 10 and steps[0]["smallest_group_k"] == 1
    assert 0 < risk["rows_with_values_withheld"] < 18
    assert "0 of 18" in result.summary()


def test_a_stricter_target_withholds_more(twin_db, tmp_path):
    three = _export(twin_db, tmp_path / "k3", k_anonymity=3).manifest["deidentification"]["reidentification"]
    assert three["target_k"] == 3 and (three["smallest_group_k"] >= 3 or not three["target_met"])
    assert three["rows_with_values_withheld"] > 0
    from earlyphase.errors import InputError

    for bad in (0, 11, 2.5, True):
        with pytest.raises(InputError, match="k-anonymity"):
            _export(twin_db, tmp_path / f"badk{bad}", k_anonymity=bad)


def test_written_files_are_private(deid):
    out, _, _ = deid
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_cli_exports_with_a_key_file(twin_db, tmp_path):
    from typer.testing import CliRunner

    from earlyphase.cli import app

    runner = CliRunner()
    key = tmp_path / "k"
    res = runner.invoke(app, ["export", "--db", twin_db, "--out", str(tmp_path / "c"), "--pseudonym-key", str(key),
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert body["manifest"]["mode"] == "de-identified" and key.exists()
    bad = runner.invoke(app, ["export", "--db", twin_db, "--out", str(tmp_path / "d"), "--free-text", "keep"])
    assert bad.exit_code in (1, 2) and "scrub" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "d").exists()


def _events(url, kind):
    from sqlalchemy import select

    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import AuditEntry

    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            return [(e.username, json.loads(e.new_values)) for e in session.execute(
                select(AuditEntry).where(AuditEntry.action == "event", AuditEntry.table_name == kind)
                .order_by(AuditEntry.id)).scalars()]
    finally:
        engine.dispose()


def test_an_identified_export_is_an_audited_event_and_a_deidentified_one_is_not(twin_db, tmp_path):
    import hashlib

    from earlyphase.records import make_engine, verify_audit

    before = _events(twin_db, "identified_export")
    _export(twin_db, tmp_path / "deid")
    assert _events(twin_db, "identified_export") == before
    _export(twin_db, tmp_path / "ident", identified=True, username="auditor7")
    after = _events(twin_db, "identified_export")
    assert len(after) == len(before) + 1
    who, detail = after[-1]
    assert who == "auditor7" and detail["out_dir"] == str((tmp_path / "ident").resolve())
    assert detail["manifest_sha256"] == hashlib.sha256((tmp_path / "ident" / "manifest.json").read_bytes()).hexdigest()
    engine = make_engine(twin_db)
    try:
        assert verify_audit(engine).ok
    finally:
        engine.dispose()


def test_an_identified_export_that_cannot_be_audited_is_taken_back(twin_db, tmp_path, monkeypatch):
    import earlyphase.records.audit as audit
    from earlyphase.errors import ConfigurationError

    def refuse(*args, **kwargs):
        raise ConfigurationError("no audit key here")

    monkeypatch.setattr(audit, "write_event", refuse)
    with pytest.raises(ConfigurationError):
        _export(twin_db, tmp_path / "ident", identified=True, username="auditor7")
    assert not list((tmp_path / "ident").glob("*"))


def test_wider_age_bands_leave_fewer_patients_unique(deid, twin_db, tmp_path):
    ten = _export(twin_db, tmp_path / "ten", k_anonymity=1)
    twenty = _export(twin_db, tmp_path / "twenty", age_band_width=20, k_anonymity=1)
    bands = {r["age_band"] for r in _rows(twenty.out_dir / "patients.csv")}
    assert all(re.fullmatch(r"\d+-\d+|90\+", b) and (b == "90+" or int(b.split("-")[0]) % 20 == 0) for b in bands)
    risk10 = ten.manifest["deidentification"]["reidentification"]["unique_subjects"]
    risk20 = twenty.manifest["deidentification"]["reidentification"]["unique_subjects"]
    assert risk20 <= risk10 and twenty.manifest["deidentification"]["age_band_years"] == 20
    from earlyphase.errors import InputError

    for bad in (0, 51, 2.5, True):
        with pytest.raises(InputError, match="age band"):
            _export(twin_db, tmp_path / f"bad{bad}", age_band_width=bad)


def test_the_study_file_path_keeps_only_its_name(tmp_path):
    """A study file under someone's home folder: the de-identified export does not carry the folder."""
    import shutil
    from importlib.resources import files

    from earlyphase.capture import initialise

    home = tmp_path / "home" / "alice.wong" / "trials"
    home.mkdir(parents=True)
    study = home / "my-study.yaml"
    shutil.copy(files("earlyphase.protocol") / "studies" / "nk-hcc-ltx.yaml", study)
    url = f"sqlite:///{tmp_path / 't.db'}"
    initialise(url, str(study), "tester").close()
    result = _export(url, tmp_path / "out")
    assert {r["source"] for r in _rows(result.out_dir / "study.csv")} == {"my-study.yaml"}
    assert "alice.wong" not in _patient_text(result.out_dir) + (result.out_dir / "protocol_versions.csv").read_text()
    ident = _export(url, tmp_path / "ident", identified=True)
    assert {r["source"] for r in _rows(ident.out_dir / "study.csv")} == {str(study)}


def test_a_database_that_cannot_take_the_audit_event_gets_a_clear_message(twin_db, tmp_path):
    """A database without the audit tables (an old schema): one message, nothing identified left behind."""
    import shutil
    import sqlite3

    from earlyphase.errors import ConfigurationError
    from earlyphase.report import report_from_database

    copy = tmp_path / "old.db"
    shutil.copy(twin_db.removeprefix("sqlite:///"), copy)
    for key in Path(twin_db.removeprefix("sqlite:///")).parent.glob("*.key"):  # the audit key kept beside it
        shutil.copy(key, tmp_path / key.name.replace("trial", "old"))
    con = sqlite3.connect(copy)
    con.execute("DROP TABLE audit_keys")
    con.commit()
    con.close()
    with pytest.raises(ConfigurationError, match="was not kept"):
        _export(f"sqlite:///{copy}", tmp_path / "ident", identified=True)
    assert not list((tmp_path / "ident").glob("*"))
    with pytest.raises(ConfigurationError, match="was not kept"):
        report_from_database(str(copy), tmp_path / "rep", identified=True)
    assert not [p for p in (tmp_path / "rep").rglob("*") if p.is_file()]
