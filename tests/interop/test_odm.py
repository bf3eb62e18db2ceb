"""CDISC ODM 1.3.2: the study as one file, valid against the ODM XSD (odmlib's copy), read back into an empty
database with every row and the audit trail equal (export -> import -> export gives the same XML but for the
creation time and the restore's own audit record), on the demo database and the bundled studies; the
de-identified transfer file holds no subject id, date or audit record, and is refused as an archive."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from ctgov_files import USER, build_study_db, row_counts_and_audit_head
from earlyphase.cli import app
from earlyphase.cli.common import run_app

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
STUDIES = ["nk-hcc-ltx", "oral-3plus3", "cart-boin"]


def _dump(url) -> dict[str, list[tuple]]:
    """Every row of every data table and of the audit log, in id order."""
    from sqlalchemy import select

    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import DATA_TABLES, AuditEntry

    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            return {cls.__tablename__: [tuple(r) for r in session.execute(
                select(cls.__table__).order_by(cls.__table__.c.id)).all()] for cls in [*DATA_TABLES, AuditEntry]}
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=STUDIES)
def archived(request, tmp_path_factory):
    """(study, source URL, its rows before the export, the identified archive's path)."""
    from earlyphase.interop.odm import export_odm

    folder = tmp_path_factory.mktemp(f"odm-{request.param}")
    url = build_study_db(folder, request.param)
    before = _dump(url)
    path = folder / "study.xml"
    export_odm(url, path, identified=True, username=USER)
    return request.param, url, before, path


def _without_creation_time(data: bytes) -> bytes:
    return re.sub(rb'CreationDateTime="[^"]*"', b"", data)


def test_the_archive_is_valid_odm_with_every_row_and_audit_entry(archived):
    from earlyphase.interop.odm import schema_errors

    name, url, before, path = archived
    data = path.read_bytes()
    assert schema_errors(data) == []
    root = etree.fromstring(data)
    assert root.get("ODMVersion") == "1.3.2" and root.get("Archival") == "Yes"
    groups = root.findall(".//odm:ItemGroupData", NS)
    assert len(groups) == sum(len(rows) for table, rows in before.items() if table != "audit_log")
    assert len(root.findall(".//odm:AuditRecord", NS)) == len(before["audit_log"])
    subjects = root.findall(".//odm:SubjectData", NS)
    assert len(subjects) == len(before["patients"])
    # metadata: the study's visits as events, its forms with their items, the codelists they use
    from earlyphase.derive.source import read_source

    study = read_source(url).study
    events = {e.get("OID") for e in root.findall(".//odm:StudyEventDef", NS)}
    assert {f"SE.{v.code}" for v in study.visits} <= events
    forms = {f.get("OID") for f in root.findall(".//odm:FormDef", NS)}
    assert {f"F.FORM.{f.name}" for f in study.forms} <= forms
    choice_fields = [x for f in study.forms for x in f.fields if x.type in ("choice", "multiple_choice")]
    assert len(root.findall(".//odm:CodeList", NS)) >= (1 if choice_fields else 0)
    # every sealed dose decision is a signature
    sealed = [r for r in before["dose_decisions"] if r[-4] is not None]
    assert len(root.findall(".//odm:Signature", NS)) == len(sealed)


def test_export_import_export_gives_the_same_rows_trail_and_xml(archived, tmp_path, capsys):
    from earlyphase.interop.odm import export_odm
    from earlyphase.records import make_engine, verify_audit

    name, url, before, path = archived
    target = tmp_path / "restored.db"
    code = run_app(app, ["interop", "odm", "import", str(path), "--db", str(target), "--user", USER,
                         "--format", "json"])
    assert code == 0, capsys.readouterr().err
    restored = _dump(f"sqlite:///{target}")
    for table, rows in before.items():
        if table == "audit_log":
            assert restored[table][:len(rows)] == rows  # the trail entry for entry, hashes and clocks included
            assert len(restored[table]) == len(rows) + 1 and restored[table][-1][4] == "odm_import"
        else:
            assert restored[table] == rows, table
    engine = make_engine(f"sqlite:///{target}")
    try:
        assert verify_audit(engine).ok
    finally:
        engine.dispose()
    again = tmp_path / "again.xml"
    export_odm(f"sqlite:///{target}", again, identified=True, username=USER)
    blank = etree.XMLParser(remove_blank_text=True)  # indentation aside (removing an element moves it)
    first, second = etree.fromstring(path.read_bytes(), blank), etree.fromstring(again.read_bytes(), blank)
    # the one difference: the restore's own audit record (and its user, if new)
    records = second.find(".//odm:AuditRecords", NS)
    last = records[-1]
    assert '"table_name":"odm_import"' in last.findtext("odm:SourceID", namespaces=NS)
    records.remove(last)
    restorer = last.find("odm:UserRef", NS).get("UserOID")
    if restorer not in {u.get("OID") for u in first.findall(".//odm:User", NS)}:
        admin = second.find("odm:AdminData", NS)
        admin.remove(next(u for u in admin.findall("odm:User", NS) if u.get("OID") == restorer))
    assert _without_creation_time(etree.tostring(first)) == _without_creation_time(etree.tostring(second))


def test_the_identified_export_is_audited(archived):
    from earlyphase.records.audit_verify import audit_events

    name, url, before, path = archived
    from earlyphase.records import make_engine

    engine = make_engine(url)
    try:
        events = audit_events(engine, "identified_export").to_dict()
    finally:
        engine.dispose()
    assert any("ODM 1.3.2" in str(e) for e in events["events"]), events


def test_the_de_identified_transfer_file_holds_no_subject_id_date_or_trail(archived, tmp_path, capsys):
    name, url, before, path = archived
    out = tmp_path / "transfer.xml"
    code = run_app(app, ["interop", "odm", "export", "--db", url, "--out", str(out), "--format", "json"])
    assert code == 0, capsys.readouterr().err
    data = out.read_bytes()
    root = etree.fromstring(data)
    assert root.get("Archival") is None and not root.findall(".//odm:AuditRecord", NS)
    assert not root.findall(".//odm:Signature", NS)
    subject_ids = [r[1] for r in before["patients"]]
    text = data.decode("utf-8")
    assert subject_ids and not any(f'"{s}"' in text for s in subject_ids)
    values = [i.get("Value") for i in root.iter("{%s}ItemData" % NS["odm"])
              if not i.get("ItemOID").endswith("PROTOCOL_YAML")]
    assert not [v for v in values if re.search(r"\b(19|20)\d\d-\d\d-\d\d", v)]
    # refused as an archive: nothing written
    target = tmp_path / "nothing.db"
    code = run_app(app, ["interop", "odm", "import", str(out), "--db", str(target), "--user", USER])
    assert code == 1 and "not an identified archive" in capsys.readouterr().err
    assert not target.exists()
