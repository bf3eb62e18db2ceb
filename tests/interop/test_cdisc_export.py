"""`earlyphase interop cdisc export`: the study's ADaM (and SDTM) datasets from the database as SAS XPORT v5 and
Dataset-JSON 1.1, labelled, typed and sized by the specs in earlyphase.derive.specs; de-identified unless
--identified (audited). The twin database is built once for the module."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from cdisc_files import msg_dir
from earlyphase.cli import app
from earlyphase.cli.common import run_app
from earlyphase.derive.spec import dataset_names, dataset_spec
from earlyphase.errors import ConfigurationError, InputError
from earlyphase.interop.cdisc import read_dataset

jsonschema = pytest.importorskip("jsonschema")

USER = "coordinator1"
ADAM = ["ADSL", "ADAE", "ADRS", "ADTTE"]
SDTM = ["DM", "EX", "AE", "DS", "SV", "TU", "TR", "RS", "SUPPDM", "SUPPAE"]
ALL = SDTM + ADAM


def _path(result, name, kind="json"):
    folder = "adam" if name.startswith("AD") else "sdtm"
    return result.out_dir / folder / f"{name.lower()}.{kind}"
ISO_DATE = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b")


@pytest.fixture(scope="module")
def twin_db(tmp_path_factory):
    from earlyphase.capture import initialise
    from earlyphase.twin import load_twin

    path = tmp_path_factory.mktemp("cdisc-db") / "trial.db"
    url = f"sqlite:///{path}"
    initialise(url, "nk-hcc-ltx", USER).close()
    load_twin(url, username=USER)
    return url


def _export(url, out, **options):
    from earlyphase.interop.cdisc.export import export_cdisc
    from earlyphase.records import make_engine

    engine = make_engine(url)
    try:
        return export_cdisc(engine, out, **options)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def deidentified(twin_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("cdisc-deid") / "sub"
    return _export(twin_db, out)


@pytest.fixture(scope="module")
def identified(twin_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("cdisc-id") / "sub"
    return _export(twin_db, out, identified=True, username=USER)


@pytest.fixture(scope="module")
def schema():
    return json.loads((msg_dir() / "schema" / "dataset.schema.json").read_text(encoding="utf-8"))


def _numbers_equal(json_ds, xpt_ds) -> list[str]:
    """Cells where the XPT differs from the JSON; XPORT has one numeric type, so 3 == 3.0 here."""
    out = []
    for number, (a_row, b_row) in enumerate(zip(json_ds.rows, xpt_ds.rows), start=1):
        for column, a, b in zip(json_ds.columns, a_row, b_row):
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                if float(a) != float(b):
                    out.append(f"row {number} {column.name}: {a!r} != {b!r}")
            elif a != b:
                out.append(f"row {number} {column.name}: {a!r} != {b!r}")
    return out


@pytest.mark.parametrize("name", ALL)
def test_each_dataset_is_written_as_xpt_and_schema_valid_dataset_json_that_agree(identified, name, schema):
    document = json.loads(_path(identified, name).read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator(schema).validate(document)
    as_json = read_dataset(_path(identified, name))
    as_xpt = read_dataset(_path(identified, name, "xpt"))
    assert as_json.records == as_xpt.records == identified.records[name] > 0
    assert [c.name for c in as_json.columns] == [c.name for c in as_xpt.columns]
    for a, b in zip(as_json.columns, as_xpt.columns):
        assert a.label == b.label, a.name
        if not a.is_numeric:
            assert a.length == b.length, a.name
        assert a.is_numeric == b.is_numeric, a.name
    assert _numbers_equal(as_json, as_xpt) == []


@pytest.mark.parametrize("name", ALL)
def test_labels_types_and_lengths_come_from_the_spec(identified, name, twin_db):
    from earlyphase.capture import stored_study
    from earlyphase.records import make_engine

    engine = make_engine(twin_db)
    study, _ = stored_study(engine)
    engine.dispose()
    spec = dataset_spec(name, study)
    ds = read_dataset(_path(identified, name))
    assert [c.name for c in ds.columns] == [v for v in spec.names() if v in {c.name for c in ds.columns}]
    for column in ds.columns:
        variable = spec.variable(column.name)
        assert column.label == variable.label and len(column.label) <= 40
        if variable.is_text:
            longest = max([len(v.encode()) for v in ds.values(column.name)] + [1])
            assert column.length == longest <= (variable.length or 200), column.name
        if variable.type in ("date", "datetime"):
            assert column.data_type == variable.type and column.target_data_type == "integer"
        elif variable.type in ("isodate", "isodatetime"):
            assert column.data_type == variable.type[3:] and column.target_data_type is None
            assert all(re.fullmatch(r"\d{4}(-\d\d(-\d\d(T\d\d:\d\d(:\d\d)?)?)?)?", v)
                       for v in ds.values(column.name) if v), column.name
        elif variable.type == "text":
            assert column.data_type == "string"
        else:
            assert column.data_type == variable.type
    key_columns = sorted((c.key_sequence, c.name) for c in ds.columns if c.key_sequence)
    assert [n for _, n in key_columns] == list(spec.keys)


def test_the_study_adds_its_baseline_variables_to_adsl_with_its_labels(identified, twin_db):
    from earlyphase.capture import stored_study
    from earlyphase.records import make_engine

    engine = make_engine(twin_db)
    study, _ = stored_study(engine)
    engine.dispose()
    ds = read_dataset(identified.out_dir / "adam" / "adsl.xpt")
    declared = [(f.adam.variable, f.adam.label) for _, f in study.adam_fields()]
    assert declared, "the twin's study declares baseline variables"
    for variable, label in declared:
        assert ds.column(variable).label == label


def test_identified_holds_site_ids_and_dates_and_is_audited(identified, twin_db):
    from earlyphase.records import make_engine
    from earlyphase.records import tables as t

    adsl = read_dataset(identified.out_dir / "adam" / "adsl.json")
    assert all(u.startswith("nk-hcc-ltx-") for u in adsl.values("USUBJID"))
    assert all(ISO_DATE.fullmatch(d) for d in adsl.values("TRTSDT") if d)
    engine = make_engine(twin_db)
    with engine.connect() as conn:
        events = conn.execute(select(t.AuditEntry.username, t.AuditEntry.new_values).where(
            t.AuditEntry.table_name == "identified_export")).all()
    engine.dispose()
    cdisc = [e for e in events if '"cdisc"' in (e.new_values or "")]
    assert len(cdisc) == 1 and cdisc[0].username == USER
    manifest = json.loads((identified.out_dir / "manifest.json").read_text())
    assert manifest["mode"] == "identified"
    assert json.loads(cdisc[0].new_values)["manifest_sha256"] == __import__("hashlib").sha256(
        (identified.out_dir / "manifest.json").read_bytes()).hexdigest()


def test_deidentified_has_pseudonyms_study_days_age_bands_and_no_dates(deidentified, identified):
    subjects = set(read_dataset(identified.out_dir / "adam" / "adsl.json").values("SUBJID"))
    for name in ALL:
        ds = read_dataset(_path(deidentified, name))
        names = [c.name for c in ds.columns]
        assert not [n for n in names if re.search(r"(DT|DTM|DTC)$", n)], name
        assert "AGE" not in names
        assert all(u.startswith("P-") for u in ds.values("USUBJID")), name
        for row in ds.rows:
            for value in row:
                assert not (isinstance(value, str) and (ISO_DATE.search(value) or value in subjects)), (name, value)
    adsl = read_dataset(deidentified.out_dir / "adam" / "adsl.json")
    assert "AGEGR1" in [c.name for c in adsl.columns] and "TRTSDY" in [c.name for c in adsl.columns]
    assert set(adsl.values("TRTSDY")) - {None} == {1}, "day 1 is the first dose"
    manifest = json.loads((deidentified.out_dir / "manifest.json").read_text())
    assert manifest["mode"] == "de-identified" and "study day" in manifest["deidentification"]["rule"]
    for relative, entry in manifest["files"].items():
        assert (deidentified.out_dir / relative).stat().st_size == entry["bytes"]


def test_every_dataset_named_in_the_specs_has_a_variables_file():
    for name in dataset_names():
        spec = dataset_spec(name)
        assert spec.variables and len(spec.keys) >= 2
        for variable in spec.variables:
            assert re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", variable.name), (name, variable.name)
            assert 1 <= len(variable.label) <= 40 and variable.label.isascii(), (name, variable.name)
            assert variable.length is None or 1 <= variable.length <= 200


def test_a_column_derive_adds_without_a_spec_row_is_named():
    import pandas as pd

    from earlyphase.interop.cdisc.export import frame_to_dataset

    frame = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["S-1"], "NEWVAR": [1]})
    with pytest.raises(ConfigurationError, match="NEWVAR"):
        frame_to_dataset(frame, dataset_spec("ADSL"))


def test_a_text_longer_than_the_spec_allows_is_refused_and_nothing_is_written(twin_db, tmp_path, monkeypatch):
    import earlyphase.interop.cdisc.export as export

    real = export._adam_frames

    def long_site(ds, identified, pseudonyms):
        frames = real(ds, identified, pseudonyms)
        frames["ADSL"].loc[0, "SITEID"] = "X" * 21  # the spec allows 20
        return frames

    monkeypatch.setattr(export, "_adam_frames", long_site)
    audit_rows = _db_count(twin_db, "audit_log")
    with pytest.raises(InputError, match="SITEID"):
        _export(twin_db, tmp_path / "sub", sdtm=False, identified=True, username=USER)
    assert not (tmp_path / "sub").exists()
    assert _db_count(twin_db, "audit_log") == audit_rows, "a refused identified export is not audited as done"


def test_the_cli_writes_the_files_and_gives_a_json_summary(twin_db, tmp_path, capsys):
    out = tmp_path / "sub"
    code = run_app(app, ["interop", "cdisc", "export", "--db", twin_db, "--out", str(out), "--adam", "--files",
                         "json", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["identified"] is False and set(summary["records"]) == set(ADAM)
    assert not (out / "sdtm").exists()
    assert sorted(p.name for p in (out / "adam").iterdir()) == sorted([f"{n.lower()}.json" for n in ADAM]
                                                                      + ["define.xml"])
    assert 'xlink:href="adsl.json"' in (out / "adam" / "define.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, words", [
    (["--files", "csv"], "xpt, json, both"),
    (["--db", "/nonexistent/trial.db"], "trial.db"),
])
def test_the_cli_refuses_bad_options_with_one_line(twin_db, tmp_path, capsys, argv, words):
    base = ["interop", "cdisc", "export", "--db", twin_db, "--out", str(tmp_path / "sub")]
    code = run_app(app, base + argv)
    err = capsys.readouterr().err
    assert code in (1, 2) and words in err and "Traceback" not in err
    assert not (tmp_path / "sub").exists()


# -- SDTM content, checked against the database ------------------------------------------------------------------

def _rows(result, name):
    ds = read_dataset(_path(result, name))
    names = [c.name for c in ds.columns]
    return [dict(zip(names, row)) for row in ds.rows]


def _db_count(url, table) -> int:
    from sqlalchemy import text

    from earlyphase.records import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text(f"select count(*) from {table}")).scalar()
    engine.dispose()
    return count


def _day(text, reference):
    from datetime import date

    delta = (date.fromisoformat(text[:10]) - date.fromisoformat(reference)).days
    return delta + 1 if delta >= 0 else delta


def test_sdtm_has_one_dm_row_per_patient_and_every_record_of_the_database(identified, twin_db):
    dm = _rows(identified, "DM")
    assert len(dm) == _db_count(twin_db, "patients") == len({r["USUBJID"] for r in dm})
    assert len(_rows(identified, "AE")) == _db_count(twin_db, "adverse_events")
    assert len(_rows(identified, "EX")) == _db_count(twin_db, "administrations")
    assert len(_rows(identified, "TR")) == _db_count(twin_db, "lesions")
    subjects = {r["USUBJID"] for r in dm}
    for name in SDTM:
        assert {r["USUBJID"] for r in _rows(identified, name)} <= subjects, name


@pytest.mark.parametrize("name, dtc, dy", [("AE", "AESTDTC", "AESTDY"), ("AE", "AEENDTC", "AEENDY"),
                                           ("EX", "EXSTDTC", "EXSTDY"), ("DS", "DSSTDTC", "DSSTDY"),
                                           ("TR", "TRDTC", "TRDY"), ("RS", "RSDTC", "RSDY"),
                                           ("SV", "SVSTDTC", "SVSTDY")])
def test_study_days_count_from_rfstdtc_with_no_day_zero(identified, name, dtc, dy):
    reference = {r["USUBJID"]: r["RFSTDTC"] for r in _rows(identified, "DM")}
    checked = 0
    for row in _rows(identified, name):
        if len(row[dtc]) >= 10 and reference[row["USUBJID"]]:
            assert row[dy] == _day(row[dtc], reference[row["USUBJID"]]) != 0, row
            checked += 1
        elif len(row[dtc]) < 10:
            assert row[dy] is None, row
    assert checked > 0


def test_sequence_numbers_are_unique_within_each_subject(identified):
    for name in ("EX", "AE", "DS", "TU", "TR", "RS"):
        keys = [(r["USUBJID"], r[f"{name}SEQ"]) for r in _rows(identified, name)]
        assert len(keys) == len(set(keys)), name


def test_coded_variables_hold_only_their_codelists_values(identified, twin_db):
    from earlyphase.capture import stored_study
    from earlyphase.records import make_engine
    from earlyphase.vocab.cdisc import cdisc_codelists

    engine = make_engine(twin_db)
    study, _ = stored_study(engine)
    engine.dispose()
    lists = cdisc_codelists()
    checked = 0
    for name in SDTM:
        spec = dataset_spec(name, study)
        for row in _rows(identified, name):
            for variable in spec.variables:
                value = row.get(variable.name)
                if variable.codelist in lists and value not in (None, ""):
                    assert value in lists[variable.codelist].values, (name, variable.name, value)
                    checked += 1
    assert checked > 500


def test_epoch_follows_the_doses(identified):
    dm = {r["USUBJID"]: r for r in _rows(identified, "DM")}
    for row in _rows(identified, "AE"):
        first, last = dm[row["USUBJID"]]["RFXSTDTC"], dm[row["USUBJID"]]["RFXENDTC"]
        onset = row["AESTDTC"][:10]
        if len(onset) < 10 or not first:
            continue
        expected = "SCREENING" if onset < first else "TREATMENT" if onset <= last else "FOLLOW-UP"
        assert row["EPOCH"] == expected, row


def test_suppqual_points_at_records_that_exist_and_names_fit_xpt(identified):
    ae = {(r["USUBJID"], str(r["AESEQ"])) for r in _rows(identified, "AE")}
    suppae = _rows(identified, "SUPPAE")
    assert suppae and all(r["IDVAR"] == "AESEQ" and (r["USUBJID"], r["IDVARVAL"]) in ae for r in suppae)
    assert {r["QNAM"] for r in suppae} >= {"AEDLT", "AETOXGRV"}
    suppdm = _rows(identified, "SUPPDM")
    keys = [(r["USUBJID"], r["QNAM"]) for r in suppdm]
    assert suppdm and len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", r["QNAM"]) and len(r["QLABEL"]) <= 40 for r in suppdm + suppae)


def test_deidentified_sdtm_keeps_the_same_records_under_pseudonyms(identified, deidentified):
    for name in ("AE", "EX", "TR", "SUPPAE"):
        assert len(_rows(identified, name)) == len(_rows(deidentified, name)), name
    pseudonyms = {r["USUBJID"] for r in _rows(deidentified, "DM")}
    assert all(p.startswith("P-") for p in pseudonyms)
    for name in SDTM:
        assert {r["USUBJID"] for r in _rows(deidentified, name)} <= pseudonyms, name
    bands = [r for r in _rows(deidentified, "SUPPDM") if r["QNAM"] == "AGEGR1"]
    assert len(bands) == len(pseudonyms) and all(re.fullmatch(r"\d+-\d+|\d+\+", b["QVAL"]) for b in bands)
    days = sorted(r["AESTDY"] for r in _rows(deidentified, "AE") if r["AESTDY"] is not None)
    assert days == sorted(r["AESTDY"] for r in _rows(identified, "AE") if r["AESTDY"] is not None)


# -- define.xml ----------------------------------------------------------------------------------------------------

def _xsd():
    from earlyphase.interop.cdisc.define import bundled_xsd

    pytest.importorskip("defineutils")
    return bundled_xsd()


@pytest.mark.parametrize("folder", ["sdtm", "adam"])
@pytest.mark.parametrize("mode", ["identified", "deidentified"])
def test_define_xml_is_valid_against_the_define_2_1_xsd(request, mode, folder):
    from earlyphase.interop.cdisc.define import check_define, xsd_problems

    result = request.getfixturevalue(mode)
    path = result.out_dir / folder / "define.xml"
    assert xsd_problems(path, _xsd()) == []
    summary = check_define(path)
    assert summary["datasets"] == [n for n in result.records if (n.startswith("AD")) == (folder == "adam")]


@pytest.mark.parametrize("folder", ["sdtm", "adam"])
def test_define_xml_describes_exactly_the_files_written(identified, folder):
    from lxml import etree

    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
          "xlink": "http://www.w3.org/1999/xlink"}
    tree = etree.parse(str(identified.out_dir / folder / "define.xml"))
    items = {i.get("OID"): i for i in tree.iterfind(".//odm:ItemDef", ns)}
    lists = {c.get("OID"): [e.get("CodedValue") for e in c.iterfind("odm:EnumeratedItem", ns)]
             for c in tree.iterfind(".//odm:CodeList", ns)}
    groups = tree.findall(".//odm:ItemGroupDef", ns)
    assert groups
    for group in groups:
        leaf = group.find("def:leaf", ns)
        href = leaf.get("{http://www.w3.org/1999/xlink}href")
        assert href == f"{group.get('Name').lower()}.xpt"
        ds = read_dataset(identified.out_dir / folder / href)
        assert group.findtext("odm:Description/odm:TranslatedText", namespaces=ns) == ds.label
        refs = group.findall("odm:ItemRef", ns)
        assert [items[r.get("ItemOID")].get("Name") for r in refs] == [c.name for c in ds.columns]
        for ref in refs:
            item = items[ref.get("ItemOID")]
            column = ds.column(item.get("Name"))
            assert item.findtext("odm:Description/odm:TranslatedText", namespaces=ns) == column.label
            if item.get("DataType") == "text":
                assert int(item.get("Length")) == column.length
            else:
                assert column.is_numeric or item.get("DataType") in ("date", "datetime"), column.name
            coded = item.find("odm:CodeListRef", ns)
            if coded is not None:
                allowed = set(lists[coded.get("CodeListOID")])
                assert set(ds.values(column.name)) - {"", None} <= allowed, column.name


def test_the_pilot_define_files_are_checked_like_ours():
    """CDISC's own pilot define.xml files: the ADaM one (with Analysis Results Metadata) is valid; the SDTM one
    names its standard 'STDTMIG', which the Define-XML 2.1 XSD refuses - proof the XSD check bites."""
    from earlyphase.interop.cdisc.define import bundled_xsd, check_define, xsd_problems

    pytest.importorskip("defineutils")
    adam = msg_dir() / "adam" / "define.xml"
    assert check_define(adam)["variables"] > 100
    assert xsd_problems(adam, bundled_xsd(adam)) == []
    sdtm = msg_dir() / "sdtm" / "define.xml"
    assert check_define(sdtm)["datasets"]
    errors = xsd_problems(sdtm, bundled_xsd(sdtm))
    assert errors and all("STDTMIG" in e for e in errors)


ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "{http://www.cdisc.org/ns/def/v2.1}"


def _first(tree, tag):
    return next(tree.iter(tag))


def _define_cases():
    """(id, change to the parsed define.xml or to its text, words the error must hold)."""
    def drop_item_def(tree):
        item = _first(tree, f"{ODM}ItemDef")
        item.getparent().remove(item)

    def dangling_codelist(tree):
        for ref in tree.iter(f"{ODM}CodeListRef"):
            ref.set("CodeListOID", "CL.NOWHERE")
            return

    def drop_leaf(tree):
        leaf = _first(tree, f"{DEF}leaf")
        leaf.getparent().remove(leaf)

    def long_name(tree):
        _first(tree, f"{ODM}ItemDef").set("Name", "TOOLONGNAME")

    def long_label(tree):
        _first(tree, f"{ODM}ItemDef").find(f"{ODM}Description/{ODM}TranslatedText").text = "L" * 41

    def no_length(tree):
        for item in tree.iter(f"{ODM}ItemDef"):
            if item.get("DataType") == "text":
                del item.attrib["Length"]
                return

    def long_length(tree):
        for item in tree.iter(f"{ODM}ItemDef"):
            if item.get("DataType") == "text":
                item.set("Length", "201")
                return

    def bad_type(tree):
        _first(tree, f"{ODM}ItemDef").set("DataType", "char")

    def duplicate_oid(tree):
        items = list(tree.iter(f"{ODM}ItemDef"))
        items[1].set("OID", items[0].get("OID"))

    def old_version(tree):
        _first(tree, f"{ODM}MetaDataVersion").set(f"{DEF}DefineVersion", "2.0.0")

    def no_structure(tree):
        del _first(tree, f"{ODM}ItemGroupDef").attrib[f"{DEF}Structure"]

    def no_groups(tree):
        for group in list(tree.iter(f"{ODM}ItemGroupDef")):
            group.getparent().remove(group)

    def bad_standard(tree):
        _first(tree, f"{ODM}ItemGroupDef").set(f"{DEF}StandardOID", "STD.NONE")

    return [
        ("item-def-missing", drop_item_def, "ItemRef names no ItemDef"),
        ("codelist-missing", dangling_codelist, "CodeListRef names no CodeList"),
        ("leaf-missing", drop_leaf, "names no def:leaf"),
        ("name-too-long", long_name, "1-8"),
        ("label-too-long", long_label, "1-40"),
        ("text-without-length", no_length, "needs a Length"),
        ("length-over-200", long_length, "1-200"),
        ("unknown-data-type", bad_type, "not an ODM data type"),
        ("oid-twice", duplicate_oid, "used twice"),
        ("define-2-0", old_version, "2.1.0"),
        ("no-structure", no_structure, "Structure"),
        ("no-datasets", no_groups, "no ItemGroupDef"),
        ("unknown-standard", bad_standard, "names no def:Standard"),
    ]


DEFINE_CASES = _define_cases()
TEXT_DEFINE_CASES = [("empty", b"", "well-formed"), ("truncated", None, "well-formed"),
                     ("not-odm", b"<?xml version='1.0'?><root/>", "ODM"),
                     ("html", b"<html><body>define</body></html>", "ODM"),
                     ("no-metadata", b"<ODM xmlns='http://www.cdisc.org/ns/odm/v1.3'><Study OID='S'/></ODM>",
                      "MetaDataVersion"),
                     ("entity-bomb", b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;'>]>"
                                     b"<d>&b;</d>", "ODM")]


@pytest.mark.parametrize("case", DEFINE_CASES, ids=[c[0] for c in DEFINE_CASES])
def test_a_malformed_define_is_refused_naming_the_problem(identified, case, tmp_path, capsys):
    from lxml import etree

    _, change, words = case
    tree = etree.parse(str(identified.out_dir / "adam" / "define.xml"))
    change(tree)
    path = tmp_path / "define.xml"
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    code = run_app(app, ["interop", "cdisc", "check-define", str(path)])
    err = capsys.readouterr().err
    assert code == 1 and words in err and str(path) in err and "Traceback" not in err, err


@pytest.mark.parametrize("case", TEXT_DEFINE_CASES, ids=[c[0] for c in TEXT_DEFINE_CASES])
def test_a_file_that_is_not_a_define_is_refused(identified, case, tmp_path, capsys):
    _, content, words = case
    if content is None:
        whole = (identified.out_dir / "sdtm" / "define.xml").read_bytes()
        content = whole[: len(whole) // 2]
    path = tmp_path / "define.xml"
    path.write_bytes(content)
    code = run_app(app, ["interop", "cdisc", "check-define", str(path)])
    err = capsys.readouterr().err
    assert code == 1 and words in err and "Traceback" not in err, err


def test_check_define_gives_a_json_summary(identified, capsys):
    path = identified.out_dir / "sdtm" / "define.xml"
    code = run_app(app, ["interop", "cdisc", "check-define", str(path), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["datasets"][0] == "DM" and out["xsd"].startswith("define2-1-0.xsd")


# -- R reads our export as we wrote it --------------------------------------------------------------------------

R_REFERENCE = Path(__file__).resolve().parent / "reference" / "data" / "export"
R_DATASETS = ["sdtm/dm", "sdtm/ae", "sdtm/suppae", "adam/adsl", "adam/adtte"]  # reference/write_export_for_r.py


def _r_table(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# R version"), "the reference names the R that made it"
    return list(csv.DictReader(lines[1:]))


@pytest.mark.parametrize("stem", R_DATASETS)
def test_r_reads_our_export_equal(identified, stem):
    """foreign::read.xport / lookup.xport (R 4.2.2, foreign 0.8.84) on the XPT files of the twin's identified
    export, kept by reference/make_xpt_reference.R: names, types, widths, labels, formats and every value."""
    from earlyphase.interop.cdisc.sas_dates import iso_to_sas_number

    folder, name = stem.split("/")
    ours = read_dataset(identified.out_dir / folder / f"{name}.json")
    variables = _r_table(R_REFERENCE / f"{name}_variables.csv")
    assert [v["name"] for v in variables] == [c.name for c in ours.columns]
    for row, column in zip(variables, ours.columns):
        assert row["label"] == column.label, column.name
        assert row["type"] == ("numeric" if column.is_numeric else "character"), column.name
        assert int(row["width"]) == (8 if column.is_numeric else column.length), column.name
        assert row["format"] == re.match(r"[A-Z]*", (column.display_format or "").upper()).group(0), column.name
    values = _r_table(R_REFERENCE / f"{name}_values.csv")
    assert len(values) == ours.records > 0
    for number, (r_row, our_row) in enumerate(zip(values, ours.rows), start=1):
        for column, value in zip(ours.columns, our_row):
            r_value, where = r_row[column.name], f"row {number} {column.name}"
            if not column.is_numeric:
                assert r_value == value, where
            elif value is None:
                assert r_value == "", where
            elif column.target_data_type is not None:
                assert float(r_value) == iso_to_sas_number(value, column.data_type), where
            else:
                assert float(r_value) == float(value), where


# -- our own files, broken: the readers name what is wrong ------------------------------------------------------

def _set_cell(column, value, row=0):
    def change(document):
        index = [c["name"] for c in document["columns"]].index(column)
        document["rows"][row][index] = value
    return change


def _set_column(column, key, value):
    def change(document):
        for c in document["columns"]:
            if c["name"] == column:
                if value is None:
                    del c[key]
                else:
                    c[key] = value
    return change


def _records(document):
    document["records"] += 1


OWN_JSON_CASES = [
    ("seq-as-text", _set_cell("AESEQ", "1"), "AESEQ"),
    ("study-day-fraction", _set_cell("AESTDY", 1.5), "whole number"),
    ("subject-as-number", _set_cell("USUBJID", 17), "must be text"),
    ("flag-as-boolean", _set_cell("AESER", True), "must be text"),
    ("records-off-by-one", _records, "records"),
    ("unknown-data-type", _set_column("AESEV", "dataType", "char"), "dataType"),
    ("column-without-label", _set_column("AETERM", "label", None), "label"),
    ("negative-length", _set_column("AETERM", "length", -3), "length"),
]


@pytest.mark.parametrize("case", OWN_JSON_CASES, ids=[c[0] for c in OWN_JSON_CASES])
def test_our_dataset_json_with_a_wrong_type_is_refused_naming_it(identified, case, tmp_path, capsys):
    _, change, words = case
    document = json.loads(_path(identified, "AE").read_text(encoding="utf-8"))
    change(document)
    source = tmp_path / "ae.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    code = run_app(app, ["interop", "cdisc", "convert", str(source), str(tmp_path / "ae.xpt")])
    err = capsys.readouterr().err
    assert code == 1 and words in err and str(source) in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae.json"]


@pytest.mark.parametrize("name", ["DM", "ADSL", "SUPPAE"])
@pytest.mark.parametrize("cut", [0.3, 0.77])
def test_our_xpt_cut_short_is_refused(identified, name, cut, tmp_path, capsys):
    whole = _path(identified, name, "xpt").read_bytes()
    size = int(len(whole) * cut)
    size -= size % 80 == 0  # not on a record boundary, where a shorter file can be valid
    source = tmp_path / f"{name.lower()}.xpt"
    source.write_bytes(whole[:size])
    code = run_app(app, ["interop", "cdisc", "convert", str(source), str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 1 and str(source) in err and "Traceback" not in err, err
    assert not (tmp_path / "out.json").exists()


def test_deidentified_free_text_loses_the_identifiers_the_database_knows(twin_db, tmp_path, monkeypatch):
    from sqlalchemy import text

    import earlyphase.interop.cdisc.export as export
    from earlyphase.records import make_engine

    engine = make_engine(twin_db)
    with engine.connect() as conn:
        subject, number = conn.execute(text("select subject_id, hospital_number from patients "
                                            "where hospital_number is not null order by id")).first()
    engine.dispose()
    planted = f"withdrew: patient {subject}, record {number}, on 2015-03-02"
    real = export._sdtm_frames

    def with_note(ds, identified, pseudonyms):
        frames = real(ds, identified, pseudonyms)
        frames["DS"].loc[0, "DSTERM"] = planted
        return frames

    monkeypatch.setattr(export, "_sdtm_frames", with_note)
    result = _export(twin_db, tmp_path / "sub", adam=False)
    terms = read_dataset(result.out_dir / "sdtm" / "ds.json").values("DSTERM")
    scrubbed = [t for t in terms if t.startswith("withdrew")]
    assert len(scrubbed) == 1
    assert subject not in scrubbed[0] and number not in scrubbed[0] and "2015" not in scrubbed[0], scrubbed
