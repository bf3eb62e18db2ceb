"""The ODM import door meets bad archives: not XML, not ODM 1.3.2, unknown tables and columns, values of the wrong
type, rows whose id or subject does not match, a row given twice or missing a required column, audit records
that are not ours, a value or an audit record altered after export, another audit key, a database that is not
empty. Each is refused at exit 1 with a message naming the file, the place and the rule; nothing is written (the
target holds no row and no audit entry; a source database is unchanged)."""

from __future__ import annotations

import re

import pytest

from ctgov_files import USER, build_study_db, row_counts_and_audit_head
from earlyphase.cli import app
from earlyphase.cli.common import run_app


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from earlyphase.interop.odm import export_odm

    folder = tmp_path_factory.mktemp("odm-bad")
    url = build_study_db(folder, "nk-hcc-ltx")
    path = folder / "study.xml"
    export_odm(url, path, identified=True, username=USER)
    return url, path.read_bytes()


def _sub(pattern: bytes, replacement: bytes, count: int = 1):
    def change(data: bytes) -> bytes:
        changed = re.sub(pattern, replacement, data, count=count)
        assert changed != data, pattern  # the case must really change the archive
        return changed
    return change


def _duplicate_first_ae(data: bytes) -> bytes:
    match = re.search(rb'<ItemGroupData ItemGroupOID="IG.ADVERSE_EVENTS".*?</ItemGroupData>', data, re.S)
    assert match
    return data[:match.end()] + match.group(0) + data[match.end():]


# (id, change to the archive's bytes, words the message must hold)
CASES = [
    ("truncated", lambda d: d[: len(d) // 2], "not well-formed XML"),
    ("not-xml", lambda d: b"subject,grade\n1,2\n", "not well-formed XML"),
    ("file-type", _sub(rb'FileType="Snapshot"', b'FileType="Archive"'), "odm-1.3.2-xsd"),
    ("element-misspelt", _sub(rb"<SiteRef ", b"<SiteReference "), "odm-1.3.2-xsd"),
    ("not-archival", _sub(rb' Archival="Yes"', b""), "not an identified archive"),
    ("unknown-table", _sub(rb'<ItemGroupData ItemGroupOID="IG.FOLLOW_UPS"',
                           b'<ItemGroupData ItemGroupOID="IG.VITAL_SIGNS"'), "names no table"),
    ("unknown-column", _sub(rb'<ItemData ItemOID="IT.PATIENTS.ECOG"', b'<ItemData ItemOID="IT.PATIENTS.KARNOFSKY"'),
     "names no column"),
    ("integer-text", _sub(rb'(ItemOID="IT.PATIENTS.ECOG" Value=)"\d"', rb'\1"one"'), "whole number"),
    ("date-impossible", _sub(rb'(ItemOID="IT.PATIENTS.CONSENT_DATE" Value=)"[^"]*"', rb'\1"2015-02-30"'),
     "patients.consent_date"),
    ("boolean-word", _sub(rb'(ItemOID="IT.ADVERSE_EVENTS.SERIOUS" Value=)"0"', rb'\1"no"'), "1 or 0"),
    ("number-text", _sub(rb'(ItemOID="IT.ADMINISTRATIONS.DOSE" Value=)"[^"]*"', rb'\1"ten"'), "administrations.dose"),
    ("too-long", _sub(rb'(ItemOID="IT.PATIENTS.SEX" Value=)"[MF]"', rb'\1"MALE"'), "longer than"),
    ("repeat-key", _sub(rb'(ItemGroupOID="IG.DEATHS" ItemGroupRepeatKey=)"(\d+)"', rb'\1"999"'), "ItemGroupRepeatKey"),
    ("row-twice", _duplicate_first_ae, "in the file twice"),
    ("required-missing", _sub(rb'\s*<ItemData ItemOID="IT.PATIENTS.SEX" Value="[MF]"/>', b""), "patients.sex"),
    ("subject-key", _sub(rb'SubjectKey="SYN-001"', b'SubjectKey="SYN-901"'), "SubjectKey"),
    ("audit-source", _sub(rb"<SourceID>\{", b"<SourceID>["), "audit-source"),
    ("audit-id", _sub(rb'<AuditRecord ID="AR.5"', b'<AuditRecord ID="R5"'), "AR.<entry number>"),
    ("value-altered", _sub(rb'(ItemOID="IT.ADVERSE_EVENTS.GRADE" Value=)"1"', rb'\1"2"'), "audit-verifies"),
    ("audit-time-altered", _sub(rb"(?s)(<AuditRecord ID=\"AR.7\".*?<DateTimeStamp>)\d{4}", rb"\g<1>1999"),
     "does not match its own hash"),
    ("audit-record-dropped", _sub(rb'(?s)\s*<AuditRecord ID="AR.9".*?</AuditRecord>', b""), "does not follow"),
]


@pytest.mark.parametrize("case,change,words", CASES, ids=[c[0] for c in CASES])
def test_a_bad_archive_is_refused_and_nothing_is_written(case, change, words, archive, tmp_path, capsys):
    _, data = archive
    path = tmp_path / "bad-archive.xml"
    path.write_bytes(change(data))
    target = tmp_path / "restored.db"
    code = run_app(app, ["interop", "odm", "import", str(path), "--db", str(target), "--user", USER])
    err = capsys.readouterr().err
    assert code == 1 and "bad-archive.xml" in err and words in err, err
    assert "Traceback" not in err
    if target.exists():  # refused after the schema was made: not one row, not one audit entry
        counts, head = row_counts_and_audit_head(f"sqlite:///{target}")
        assert head is None and not any(n for name, n in counts.items() if name != "audit_keys")


def test_an_archive_under_another_audit_key_is_refused(archive, tmp_path, capsys, monkeypatch):
    _, data = archive
    path = tmp_path / "other-key.xml"
    path.write_bytes(data)
    monkeypatch.setenv("EARLYPHASE_AUDIT_KEY", "ab" * 32)
    target = tmp_path / "restored.db"
    code = run_app(app, ["interop", "odm", "import", str(path), "--db", str(target), "--user", USER])
    err = capsys.readouterr().err
    assert code == 1 and "audit key the trial was kept with" in err, err
    counts, head = row_counts_and_audit_head(f"sqlite:///{target}")
    assert head is None and counts["patients"] == 0


def test_a_database_that_is_not_empty_is_refused_and_unchanged(archive, tmp_path, capsys):
    url, data = archive
    path = tmp_path / "archive.xml"
    path.write_bytes(data)
    before = row_counts_and_audit_head(url)
    code = run_app(app, ["interop", "odm", "import", str(path), "--db", url, "--user", USER])
    err = capsys.readouterr().err
    assert code == 1 and "empty-database" in err, err
    assert row_counts_and_audit_head(url) == before


@pytest.mark.parametrize("make,words", [(lambda p: p.mkdir(), "directory"), (lambda p: None, "cannot read")],
                         ids=["directory", "missing"])
def test_a_path_that_is_not_an_archive_file_is_refused(make, words, tmp_path, capsys):
    path = tmp_path / "archive.xml"
    make(path)
    code = run_app(app, ["interop", "odm", "import", str(path), "--db", str(tmp_path / "t.db"), "--user", USER])
    err = capsys.readouterr().err
    assert code == 1 and words in err and "archive.xml" in err, err
    assert not (tmp_path / "t.db").exists()
