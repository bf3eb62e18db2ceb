"""The CDISC dataset door meets bad input: truncated XPT, Dataset-JSON with wrong types or missing keys, bad JSON,
a directory, a wrong extension. Each gets one clear message naming the file and what is wrong, exit 1, and
nothing is written (an existing output file is left as it was)."""

from __future__ import annotations

import copy
import json

import pytest

from cdisc_files import msg_dir
from earlyphase.cli import app
from earlyphase.cli.common import run_app
from earlyphase.errors import InputError
from earlyphase.interop.cdisc import Column, Dataset, read_dataset, write_dataset

KEYS = ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name", "label", "columns")


def _document():
    return json.loads((msg_dir() / "sdtm" / "dm.json").read_text(encoding="utf-8"))


def _column_index(document, name):
    return [c["name"] for c in document["columns"]].index(name)


def _set_value(name, value):
    def change(document):
        document["rows"][2][_column_index(document, name)] = value
    return change, name


def _json_cases():
    """(id, change to the DM document, words the message must hold)."""
    cases = []
    for key in KEYS:
        cases.append((f"missing-{key}", lambda d, k=key: d.pop(k), f"'{key}'"))
    for key in ("itemOID", "name", "label", "dataType"):
        cases.append((f"column-missing-{key}", lambda d, k=key: d["columns"][4].pop(k), f"columns[4].{key}"))
    wrong_values = [("AGE", "84", "must be a number"), ("AGE", 84.5, "whole number"), ("AGE", True, "number"),
                    ("AGE", [84], "number"), ("USUBJID", 1001, "must be text"), ("SEX", {"code": "M"}, "text"),
                    ("RFSTDTC", 20121130, "text"), ("SUBJID", False, "text")]
    for name, value, words in wrong_values:
        change, _ = _set_value(name, value)
        cases.append((f"value-{name}-{type(value).__name__}", change, f"row 3, {name}"))
        cases.append((f"value-{name}-{type(value).__name__}-reason", change, words))
    cases += [
        ("records-wrong", lambda d: d.update(records=d["records"] + 1), "rows"),
        ("records-negative", lambda d: d.update(records=-1), "records"),
        ("records-text", lambda d: d.update(records="18"), "records"),
        ("version-1.0", lambda d: d.update(datasetJSONVersion="1.0.0"), "1.1"),
        ("name-number", lambda d: d.update(name=7), "must be a string"),
        ("columns-object", lambda d: d.update(columns={"a": 1}), "list of columns"),
        ("column-not-object", lambda d: d["columns"].__setitem__(0, "STUDYID"), "columns[0]"),
        ("datatype-unknown", lambda d: d["columns"][14].update(dataType="number"), "dataType"),
        ("target-unknown", lambda d: d["columns"][14].update(targetDataType="date"), "targetDataType"),
        ("length-zero", lambda d: d["columns"][0].update(length=0), "length"),
        ("length-text", lambda d: d["columns"][0].update(length="12"), "length"),
        ("column-extra-key", lambda d: d["columns"][0].update(width=12), "does not define"),
        ("duplicate-column", lambda d: d["columns"][1].update(name="STUDYID"), "two columns"),
        ("rows-object", lambda d: d.update(rows={"1": []}), "list of rows"),
        ("row-short", lambda d: d["rows"][5].pop(), "one per column"),
        ("row-long", lambda d: d["rows"][5].append("x"), "one per column"),
        ("row-not-list", lambda d: d["rows"].__setitem__(5, "CDISC001"), "one per column"),
    ]
    return cases


JSON_CASES = _json_cases()


@pytest.mark.parametrize("case", JSON_CASES, ids=[c[0] for c in JSON_CASES])
@pytest.mark.parametrize("target", ["out.xpt", "out.json"])
def test_a_malformed_dataset_json_is_refused_and_nothing_is_written(case, target, tmp_path, capsys):
    _, change, words = case
    document = copy.deepcopy(_document())
    change(document)
    source = tmp_path / "dm.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    code = run_app(app, ["interop", "cdisc", "convert", str(source), str(tmp_path / target)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert str(source) in err and words in err, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dm.json"]


TEXT_CASES = [("empty", ""), ("not-json", "DM,AGE\n1,2\n"), ("cut-json", None), ("a-list", "[1, 2]"),
              ("a-number", "18"), ("latin-1", b"\xff\xfe{}")]


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_a_file_that_is_not_dataset_json_is_refused(case, tmp_path, capsys):
    _, text = case
    source = tmp_path / "dm.json"
    if text is None:
        full = (msg_dir() / "sdtm" / "dm.json").read_text(encoding="utf-8")
        text = full[: len(full) // 2]
    source.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    code = run_app(app, ["interop", "cdisc", "convert", str(source), str(tmp_path / "out.xpt")])
    err = capsys.readouterr().err
    assert code == 1 and str(source) in err and "Traceback" not in err, err
    assert not (tmp_path / "out.xpt").exists()


def _cuts(size):
    """Byte counts to cut a file to: inside the headers, on and off the 80-byte records, inside the data."""
    cuts = {0, 1, 79, 80, 81, 160, 400, 800, 1600, size // 3, size // 2, size - 81, size - 7}
    return sorted(c for c in cuts if 0 <= c < size)


XPT_FILES = ["sdtm/dm.xpt", "sdtm/ds.xpt", "adam/adtte.xpt"]


@pytest.mark.parametrize("stem", XPT_FILES)
def test_a_truncated_xpt_is_refused_and_an_existing_output_is_left_alone(stem, tmp_path, capsys):
    data = (msg_dir() / stem).read_bytes()
    target = tmp_path / "out.json"
    target.write_text("kept", encoding="utf-8")
    refused = 0
    for cut in _cuts(len(data)):
        source = tmp_path / "cut.xpt"
        source.write_bytes(data[:cut])
        code = run_app(app, ["interop", "cdisc", "convert", str(source), str(target)])
        err = capsys.readouterr().err
        assert code == 1, f"cut at {cut} bytes was read: {err}"
        assert str(source) in err and ("truncated" in err or "not a SAS XPORT" in err or "empty" in err), err
        refused += 1
        assert target.read_text(encoding="utf-8") == "kept"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.xpt", "out.json"]
    assert refused >= 10


def test_a_json_file_named_xpt_is_refused(tmp_path, capsys):
    source = tmp_path / "dm.xpt"
    source.write_bytes((msg_dir() / "sdtm" / "dm.json").read_bytes())
    assert run_app(app, ["interop", "cdisc", "show", str(source)]) == 1
    assert "not a SAS XPORT file" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["interop", "cdisc", "show", "{tmp}/folder.xpt"],
    ["interop", "cdisc", "show", "{tmp}/missing.json"],
    ["interop", "cdisc", "show", "{tmp}/dm.csv"],
    ["interop", "cdisc", "convert", "{msg}/sdtm/dm.xpt", "{tmp}/out.sas7bdat"],
    ["interop", "cdisc", "convert", "{msg}/sdtm/dm.xpt", "{tmp}/no-such-folder/out.json"],
    ["interop", "cdisc", "convert", "{msg}/sdtm/dm.xpt", "{tmp}/folder.xpt"],
    ["interop", "cdisc", "convert", "{tmp}/folder.xpt", "{tmp}/out.json"],
], ids=["show-directory", "show-missing", "show-extension", "target-extension", "target-folder-missing",
        "target-directory", "source-directory"])
def test_bad_paths_are_refused_with_the_path_named(argv, tmp_path, capsys):
    (tmp_path / "folder.xpt").mkdir()
    argv = [a.format(tmp=tmp_path, msg=msg_dir()) for a in argv]
    code = run_app(app, argv + ["--format", "json"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    problem = json.loads(captured.out)["problems"][0]
    assert problem["file"] in argv and problem["message"], problem
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.xpt"]


def test_what_xpt_v5_cannot_hold_is_refused_before_writing(tmp_path):
    dataset = Dataset(name="LONGNAME9", label="x" * 41, rows=[["é", 1], ["ABCDEFGHIJK", "two"]], columns=[
        Column("SUBJECTNAME", "Label", "string", length=10), Column("N", "A number", "integer")])
    with pytest.raises(InputError) as caught:
        write_dataset(dataset, tmp_path / "out.xpt")
    rules = {p.rule for p in caught.value.problems}
    assert rules == {"xpt-v5-name", "xpt-v5-label", "xpt-v5-ascii", "length", "type"}
    assert list(tmp_path.iterdir()) == []


def test_show_gives_the_summary_as_json(capsys):
    assert run_app(app, ["interop", "cdisc", "show", str(msg_dir() / "adam" / "adsl.xpt"), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["name"], summary["label"], summary["records"]) == ("ADSL", "Subject-Level Analysis Dataset", 254)
    trtsdt = next(v for v in summary["variables"] if v["name"] == "TRTSDT")
    assert (trtsdt["type"], trtsdt["target_type"], trtsdt["display_format"]) == ("date", "integer", "DATE9.")
    usubjid = next(v for v in summary["variables"] if v["name"] == "USUBJID")
    assert (usubjid["label"], usubjid["type"], usubjid["length"]) == ("Unique Subject Identifier", "string", 11)


def test_convert_writes_the_other_format_and_says_so(tmp_path, capsys):
    target = tmp_path / "dm.json"
    assert run_app(app, ["interop", "cdisc", "convert", str(msg_dir() / "sdtm" / "dm.xpt"), str(target),
                         "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 18
    assert read_dataset(target).values("USUBJID") == read_dataset(msg_dir() / "sdtm" / "dm.xpt").values("USUBJID")
