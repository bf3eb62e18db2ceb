"""CDISC dataset files on the CDISC MSG pilot (ADaM and SDTM, each as XPT and as Dataset-JSON 1.1):
each pair reads in equal, and each file written back out (either format) reads in equal again."""

from __future__ import annotations

import json

import pytest

from cdisc_files import PILOT, msg_dir, value_differences
from earlyphase.interop.cdisc import read_dataset, write_dataset

jsonschema = pytest.importorskip("jsonschema")

# Where the pilot's own XPT and Dataset-JSON files disagree on metadata (read off both files by hand: CDISC's
# JSON was made from the define.xml, the XPT by SAS). Anything else differing is a fault of ours.
PILOT_LABEL_DIFFERENCES = {
    ("ADAE", "ADURN"), ("ADAE", "ADURU"), ("ADAE", "AOCCFL"), ("ADTTE", "STARTDT"), ("ADTTE", "SRCDOM"),
}
PILOT_DATASET_LABEL_DIFFERENCES = {"ADAE", "ADSL", "ADTTE"}  # blank in two XPTs; shorter in ADSL's JSON
PILOT_LENGTH_DIFFERENCES = {("ADTTE", "PARAM"), ("ADTTE", "PARAMCD")}  # JSON 100 and 8, XPT 32 and 4


def _pair(stem):
    base = msg_dir() / stem
    return read_dataset(base.with_suffix(".xpt")), read_dataset(base.with_suffix(".json"))


@pytest.fixture(scope="module")
def schema():
    return json.loads((msg_dir() / "schema" / "dataset.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("stem", PILOT)
def test_the_xpt_and_the_dataset_json_of_a_pilot_dataset_read_in_equal(stem):
    xpt, js = _pair(stem)
    assert xpt.name == js.name
    assert xpt.records == js.records > 0
    assert [c.name for c in xpt.columns] == [c.name for c in js.columns]
    assert value_differences(xpt, js) == []
    for a, b in zip(xpt.columns, js.columns):
        assert a.is_numeric == b.is_numeric, a.name
        if (xpt.name, a.name) not in PILOT_LABEL_DIFFERENCES:
            assert a.label == b.label, a.name
        # The JSON leaves out the length of its character dates; where it gives one, it is the XPT's.
        if not a.is_numeric and b.length is not None and (xpt.name, a.name) not in PILOT_LENGTH_DIFFERENCES:
            assert a.length == b.length, a.name
        if b.target_data_type is not None:  # numeric dates: same kind, same display format
            assert (a.data_type, a.target_data_type, a.display_format) == \
                   (b.data_type, b.target_data_type, b.display_format), a.name
        if b.data_type == "integer":  # whole numbers are read as integers (an all-missing column cannot say)
            assert a.data_type == "integer" or set(xpt.values(a.name)) == {None}, a.name
    if xpt.name not in PILOT_DATASET_LABEL_DIFFERENCES:
        assert xpt.label == js.label


def test_the_known_pilot_differences_are_real():
    """The exceptions above are differences in the files, not excuses: each one is there."""
    for stem in PILOT:
        xpt, js = _pair(stem)
        for a, b in zip(xpt.columns, js.columns):
            assert ((xpt.name, a.name) in PILOT_LABEL_DIFFERENCES) == (a.label != b.label), a.name
            if (xpt.name, a.name) in PILOT_LENGTH_DIFFERENCES:
                assert a.length != b.length
        assert (xpt.name in PILOT_DATASET_LABEL_DIFFERENCES) == (xpt.label != js.label)


def _check_kept(original, again):
    assert (again.name, again.label, again.records) == (original.name, original.label, original.records)
    assert again.columns == original.columns
    assert value_differences(original, again) == []


@pytest.mark.parametrize("stem", PILOT)
def test_each_pilot_file_written_back_in_its_own_format_reads_in_equal(stem, tmp_path, schema):
    xpt, js = _pair(stem)
    name = stem.split("/")[1]
    write_dataset(xpt, tmp_path / f"{name}.xpt")
    _check_kept(xpt, read_dataset(tmp_path / f"{name}.xpt"))
    write_dataset(js, tmp_path / f"{name}.json")
    written = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator(schema).validate(written)
    again = read_dataset(tmp_path / f"{name}.json")
    _check_kept(js, again)
    assert again.metadata == js.metadata  # studyOID, originator, sourceSystem, ... carried over
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize("stem", PILOT)
def test_each_pilot_file_converted_to_the_other_format_reads_in_equal(stem, tmp_path, schema):
    xpt, js = _pair(stem)
    name = stem.split("/")[1]
    # XPT -> Dataset-JSON: everything the XPT holds is kept exactly (types as read, lengths, formats).
    write_dataset(xpt, tmp_path / f"{name}.json")
    jsonschema.Draft201909Validator(schema).validate(json.loads((tmp_path / f"{name}.json").read_text()))
    _check_kept(xpt, read_dataset(tmp_path / f"{name}.json"))
    # Dataset-JSON -> XPT: values, labels and lengths kept; XPT has only character and numeric types.
    write_dataset(js, tmp_path / f"{name}.xpt")
    back = read_dataset(tmp_path / f"{name}.xpt")
    assert (back.name, back.label, back.records) == (js.name, js.label, js.records)
    assert value_differences(js, back) == []
    for a, b in zip(js.columns, back.columns):
        assert (a.name, a.label, a.is_numeric) == (b.name, b.label, b.is_numeric)
        if not a.is_numeric:
            longest = max((len(v) for v in js.values(a.name)), default=1)
            assert b.length == (a.length if a.length is not None else max(longest, 1)), a.name
        if a.target_data_type is not None:
            assert (b.data_type, b.display_format) == (a.data_type, a.display_format), a.name


def test_a_written_xpt_is_version_5_with_the_declared_lengths(tmp_path):
    import pyreadstat

    js = read_dataset(msg_dir() / "adam" / "adtte.json")
    write_dataset(js, tmp_path / "adtte.xpt")
    head = (tmp_path / "adtte.xpt").read_bytes()[:80]
    assert head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD")  # v5 (v8 says LIBV8)
    _, meta = pyreadstat.read_xport(str(tmp_path / "adtte.xpt"), metadataonly=True)
    assert meta.variable_storage_width["PARAM"] == 100  # the JSON's length, not the longest value (32)
    assert meta.table_name == "ADTTE"
