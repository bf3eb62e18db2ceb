"""The ClinicalTrials.gov door meets bad input: records whose results section breaks the registry's types (counts
of the wrong type, negative, not digits; unknown keys; nulls; lists that are objects), files that are not JSON,
records without a protocol section, a directory, a bad spec, a bad threshold. Each is refused at exit 1 with a
message naming the file and the place, nothing is written, and the database is unchanged."""

from __future__ import annotations

import copy
import json

import pytest

from ctgov_files import USER, ctgov_dir, record, row_counts_and_audit_head
from earlyphase.cli import app
from earlyphase.cli.common import run_app

_FLOW = ("resultsSection", "participantFlowModule", "periods", 0, "milestones", 0, "achievements", 0)
_AE = ("resultsSection", "adverseEventsModule", "seriousEvents", 0, "stats", 0)


def _at(document, path):
    node = document
    for key in path:
        node = node[key]
    return node


def _set(path, key, value):
    return lambda d: _at(d, path).__setitem__(key, value)


# (id, change to the real record, words the message must hold)
RECORD_CASES = [
    ("count-as-integer", _set(_FLOW, "numSubjects", 2896), "numSubjects"),
    ("count-not-digits", _set(_FLOW, "numSubjects", "2,896"), "written as digits"),
    ("count-negative-text", _set(_FLOW, "numSubjects", "-3"), "numSubjects"),
    ("affected-negative", _set(_AE, "numAffected", -1), "cannot be negative"),
    ("affected-as-text", _set(_AE, "numAffected", "3"), "must be an integer"),
    ("affected-as-boolean", _set(_AE, "numAtRisk", True), "numAtRisk"),
    ("unknown-key", _set(_FLOW, "numPeople", "3"), "numPeople"),
    ("null-value", _set(_FLOW, "groupId", None), "is null"),
    ("groups-object", _set(("resultsSection", "participantFlowModule"), "groups", {"id": "FG000"}), "must be a list"),
    ("section-list", lambda d: d.__setitem__("resultsSection", []), "must be an object"),
    ("measure-object", _set(("resultsSection", "baselineCharacteristicsModule", "measures"), 0, "Age"),
     "measures[0]"),
    ("frequency-number", _set(("resultsSection", "adverseEventsModule"), "frequencyThreshold", 5), "frequencyThreshold"),
]


@pytest.mark.parametrize("case,change,words", RECORD_CASES, ids=[c[0] for c in RECORD_CASES])
def test_a_record_with_a_malformed_results_section_is_refused(case, change, words, tmp_path, capsys):
    data = copy.deepcopy(_record())
    change(data)
    path = tmp_path / "NCT-bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "draft.yaml"
    code = run_app(app, ["interop", "ctgov", "draft", "--record", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "NCT-bad.json" in err and words in err, err
    assert "Traceback" not in err and not out.exists()


# schema rules the reader leaves to the spec (enumerations), checked by 'ctgov check'
SPEC_CASES = [
    ("assessment-unknown", _set(_AE[:4], "assessmentType", "SOMETIMES"), "assessmentType"),
    ("param-unknown", _set(("resultsSection", "outcomeMeasuresModule", "outcomeMeasures", 0), "paramType", "AVERAGE"),
     "paramType"),
    ("type-unknown", _set(("resultsSection", "outcomeMeasuresModule", "outcomeMeasures", 0), "type", "MAIN"), "type"),
]


@pytest.mark.parametrize("case,change,words", SPEC_CASES, ids=[c[0] for c in SPEC_CASES])
def test_a_record_breaking_the_spec_is_refused_by_check(case, change, words, tmp_path, capsys):
    data = copy.deepcopy(_record())
    change(data)
    path = tmp_path / "NCT-bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code = run_app(app, ["interop", "ctgov", "check", str(path), "--spec", str(ctgov_dir() / "ctg-oas-v2.yaml")])
    err = capsys.readouterr().err
    assert code == 1 and "NCT-bad.json" in err and words in err and "ctgov-schema" in err, err


_RECORD_CACHE: list[dict] = []


def _record() -> dict:
    if not _RECORD_CACHE:
        _RECORD_CACHE.append(record())
    return _RECORD_CACHE[0]


FILE_CASES = [
    ("truncated-json", lambda p: p.write_text(json.dumps(_record())[:5000], encoding="utf-8"), "not valid JSON"),
    ("not-utf8", lambda p: p.write_bytes(b'{"protocolSection": "\xff\xfe"}'), "not UTF-8"),
    ("empty-file", lambda p: p.write_text("", encoding="utf-8"), "not valid JSON"),
    ("json-array", lambda p: p.write_text("[1, 2]", encoding="utf-8"), "JSON object"),
    ("no-protocol", lambda p: p.write_text(json.dumps({"hasResults": False}), encoding="utf-8"),
     "no protocol section"),
    ("criteria-number", lambda p: p.write_text(json.dumps({"protocolSection": {
        "identificationModule": {"nctId": "NCT00000001"}, "eligibilityModule": {"eligibilityCriteria": 7}}}),
        encoding="utf-8"), "eligibilityCriteria"),
    ("arms-object", lambda p: p.write_text(json.dumps({"protocolSection": {
        "identificationModule": {"nctId": "NCT00000001"}, "armsInterventionsModule": {"armGroups": {"a": 1}}}}),
        encoding="utf-8"), "armGroups"),
    ("directory", lambda p: p.mkdir(), "directory"),
    ("missing", lambda p: None, "cannot read"),
]


@pytest.mark.parametrize("case,make,words", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_a_file_that_is_not_a_usable_record_is_refused(case, make, words, tmp_path, capsys):
    path = tmp_path / "NCT-file.json"
    make(path)
    out = tmp_path / "draft.yaml"
    out.write_text("kept\n", encoding="utf-8")  # an existing output stays as it was
    code = run_app(app, ["interop", "ctgov", "draft", "--record", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "NCT-file.json" in err and words in err, err
    assert out.read_text(encoding="utf-8") == "kept\n"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    """An initialised trial with one allocated patient is not needed to refuse bad options: an empty trial."""
    from earlyphase.capture import initialise

    url = f"sqlite:///{tmp_path_factory.mktemp('ctgov-bad') / 'trial.db'}"
    initialise(url, "oral-3plus3", USER).close()
    return url


@pytest.mark.parametrize("case,extra,words", [
    ("threshold-too-high", ["--frequency-threshold", "7"], "0 to 5"),
    ("spec-not-openapi", ["--spec", "SPEC"], "not an OpenAPI 3 document"),
    ("no-allocated-patient", [], "no patient is allocated"),
], ids=lambda c: c if isinstance(c, str) else None)
def test_results_refused_write_nothing_and_leave_the_database_unchanged(case, extra, words, small_db, tmp_path,
                                                                        capsys):
    if "SPEC" in extra:
        bad = tmp_path / "spec.yaml"
        bad.write_text("swagger: '2.0'\n", encoding="utf-8")
        extra = [str(bad) if x == "SPEC" else x for x in extra]
    before = row_counts_and_audit_head(small_db)
    out = tmp_path / "results.json"
    code = run_app(app, ["interop", "ctgov", "results", "--db", small_db, "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 1 and words in err, err
    assert not out.exists()
    assert row_counts_and_audit_head(small_db) == before
