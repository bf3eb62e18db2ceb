"""Adverse events: CTCAE terms and the grades each defines, dates, grade 5 and death, DLT window."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture_helpers import FIRST_INFUSION, TODAY, counts, rules
from earlyphase.capture import initialise
from earlyphase.errors import CheckFailed
from earlyphase.protocol import read_study_text

OK = dict(term="Fever", grade=1, onset="2015-01-15T14:30", attribution="possible", outcome="recovered",
          resolution="2015-01-16")
UNTREATED = {**OK, "attribution": "unlikely"}  # for a patient without infusions


def test_accepted_and_canonical(treated):
    ae = treated.record_adverse_event("P01", **{**OK, "term": "  fever "})
    assert ae.term == "Fever"
    assert ae.soc == "General disorders and administration site conditions"
    assert ae.ctcae_version == "5.0"
    assert ae.onset == "2015-01-15T14:30"


@pytest.mark.parametrize("change", [
    {"onset": "2015-02", "resolution": None, "outcome": "unknown"},
    {"onset": "2015", "resolution": "2015-03", "outcome": "recovered"},
    {"term": "Nausea", "grade": 3},
    {"term": "Alopecia", "grade": 2, "outcome": "not recovered", "resolution": None},
    {"term": "Platelet count decreased", "grade": 4, "attribution": "unrelated", "serious": True},
    {"term": "Cytokine release syndrome", "grade": 2, "attribution": "probable"},
    {"outcome": "recovering", "resolution": None},
    {"attribution": "Definite"},
    {"action": "dose delayed"},
])
def test_accepts(treated, change):
    treated.record_adverse_event("P01", **{**OK, **change})


@pytest.mark.parametrize("change, field, rule", [
    ({"term": "Feverish"}, "term", "ctcae-term"),
    ({"term": "Nausea", "grade": 4}, "grade", "grade-exists"),
    ({"term": "Alopecia", "grade": 3}, "grade", "grade-exists"),
    ({"term": "Platelet count decreased", "grade": 5}, "grade", "grade-exists"),
    ({"grade": 0}, "grade", "grade-1-5"),
    ({"grade": 6}, "grade", "grade-1-5"),
    ({"attribution": "maybe"}, "attribution", "enumeration"),
    ({"outcome": "better"}, "outcome", "enumeration"),
    ({"action": "ignored"}, "action", "enumeration"),
    ({"onset": "2015-13-01"}, "onset", "partial-date"),
    ({"onset": "15/01/2015"}, "onset", "partial-date"),
    ({"onset": "2015-01-09", "resolution": "2015-01-09"}, "onset", "after-consent"),
    ({"onset": "2014", "resolution": "2014-12"}, "onset", "after-consent"),
    ({"resolution": "2015-01-14"}, "resolution", "resolution-after-onset"),
    ({"resolution": "2015-01-15T10:00"}, "resolution", "resolution-after-onset"),
    ({"resolution": "2024-06-02"}, "resolution", "not-in-future"),
    ({"onset": "2025", "resolution": None, "outcome": "unknown"}, "onset", "not-in-future"),
    ({"resolution": None}, "resolution", "resolution-for-ended-event"),
    ({"outcome": "not recovered"}, "resolution", "no-resolution-while-ongoing"),
    ({"outcome": "fatal"}, "outcome", "grade-5-is-fatal"),
    ({"grade": 5, "outcome": "fatal", "serious": True}, "grade", "grade-5-needs-death"),
    ({"grade": 5, "outcome": "fatal", "serious": False}, "serious", "grade-5-is-serious"),
    ({"serious": "perhaps"}, "serious", "boolean"),
])
def test_rejects(treated, change, field, rule):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, **change})
    assert (field, rule) in [(p.field, p.rule) for p in info.value.problems]
    assert counts(treated.engine) == before


def test_unknown_term_suggests(treated):
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, "term": "Pyrexia fever"})
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, "term": "Fevr"})
    assert "Fever" in info.value.problems[0].message


def test_duplicate_term_and_onset(treated):
    treated.record_adverse_event("P01", **OK)
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, "grade": 2})
    assert rules(info.value) == ["unique-adverse-event"]
    treated.record_adverse_event("P01", **{**OK, "onset": "2015-01-29", "resolution": "2015-01-30"})


def test_grade_5_with_death(treated):
    treated.record_death("P01", "2015-02-01", "adverse event")
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", term="Sepsis", grade=5, onset="2015-01-28", attribution="possible",
                                     outcome="fatal", resolution="2015-01-31", serious=True)
    assert rules(info.value) == ["grade-5-ends-at-death"]
    ae = treated.record_adverse_event("P01", term="Sepsis", grade=5, onset="2015-01-28", attribution="possible",
                                      outcome="fatal", resolution="2015-02-01", serious=True)
    assert ae.grade == 5


def test_nothing_after_death(treated):
    treated.record_death("P01", "2015-02-01", "disease progression")
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, "onset": "2015-02-02", "resolution": "2015-02-03"})
    assert rules(info.value).count("not-after-death") == 2


@pytest.mark.parametrize("onset", ["2015-01-15", "2015-02-12"])  # first infusion .. +28 days
def test_dlt_inside_window(treated, onset):
    ae = treated.record_adverse_event("P01", **{**OK, "onset": onset, "resolution": None, "outcome": "unknown",
                                                "grade": 3, "dlt": True})
    assert ae.dlt is True


@pytest.mark.parametrize("change, rule", [
    ({"onset": "2015-02-13"}, "dlt-window"),
    ({"onset": "2015-02"}, "dlt-onset-full-date"),
    ({"attribution": "unlikely"}, "dlt-related"),
])
def test_dlt_rejected(treated, change, rule):
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, "grade": 3, "resolution": None, "outcome": "unknown",
                                               "dlt": True, **change})
    assert rule in rules(info.value)
    if rule == "dlt-window":
        assert "28-day DLT window" in str(info.value) and str(FIRST_INFUSION) in str(info.value)


@pytest.mark.parametrize("onset, attribution, ok", [
    ("2015-01-14", "possible", False), ("2015-01-14", "unlikely", True), ("2015-01", "probable", True),
    ("2014-12", "definite", False), ("2015-01-15", "definite", True),
])
def test_related_only_after_first_infusion(treated, onset, attribution, ok):
    # The first infusion was on 2015-01-15; a partial onset that may fall on or after it is accepted.
    kwargs = {**OK, "onset": onset, "attribution": attribution, "resolution": None, "outcome": "unknown"}
    if onset == "2014-12":
        with pytest.raises(CheckFailed) as info:
            treated.record_adverse_event("P01", **kwargs)
        assert "related-after-exposure" in rules(info.value)
    elif ok:
        treated.record_adverse_event("P01", **kwargs)
    else:
        with pytest.raises(CheckFailed) as info:
            treated.record_adverse_event("P01", **kwargs)
        assert rules(info.value) == ["related-after-exposure"]


def test_dlt_needs_an_infusion(allocated):
    with pytest.raises(CheckFailed) as info:
        allocated.record_adverse_event("P01", **{**OK, "onset": "2015-01-13", "resolution": "2015-01-14", "dlt": True})
    assert "dlt-window" in rules(info.value)


def _study_file(tmp_path: Path, **replace: str) -> Path:
    text, _ = read_study_text("nk-hcc-ltx")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _patient(trial):
    from capture_helpers import PATIENT

    trial.enrol_patient(**PATIENT)


def test_ctcae_403_study_uses_403_grades(engine, tmp_path):
    # Hyponatremia has no grade 2 in CTCAE v4.03 (v5.0 added it); Sepsis starts at grade 4 in v4.03.
    path = _study_file(tmp_path, **{'ctcae_version: "5.0"': 'ctcae_version: "4.03"'})
    trial = initialise(engine, path, "tester", today=TODAY)
    _patient(trial)
    with pytest.raises(CheckFailed) as info:
        trial.record_adverse_event("P01", **{**UNTREATED, "term": "Hyponatremia", "grade": 2})
    assert rules(info.value) == ["grade-exists"]
    ae = trial.record_adverse_event("P01", **{**UNTREATED, "term": "Hyponatremia", "grade": 3})
    assert ae.ctcae_version == "4.03"
    with pytest.raises(CheckFailed):
        trial.record_adverse_event("P01", **{**UNTREATED, "term": "Sepsis", "grade": 3})


def test_full_dictionary_from_nci_excel(engine, tmp_path, ctcae_v5_xlsx):
    # A term not bundled (Hot flashes) is accepted when the study points at NCI's file.
    path = _study_file(tmp_path, **{'ctcae_version: "5.0"': f'ctcae_version: "5.0"\nctcae_file: "{ctcae_v5_xlsx}"'})
    trial = initialise(engine, path, "tester", today=TODAY)
    _patient(trial)
    ae = trial.record_adverse_event("P01", **{**UNTREATED, "term": "hot flashes"})
    assert ae.term == "Hot flashes" and ae.soc == "Vascular disorders"
    with pytest.raises(CheckFailed) as info:
        trial.record_adverse_event("P01", **{**UNTREATED, "term": "Hot flashes", "grade": 4, "onset": "2015-01-20", "resolution": "2015-01-21"})
    assert rules(info.value) == ["grade-exists"]


def test_relative_ctcae_file_is_found_beside_the_study(engine, tmp_path, ctcae_v5_xlsx, monkeypatch):
    from earlyphase.capture import Trial

    (tmp_path / "nci.xlsx").symlink_to(ctcae_v5_xlsx)
    path = _study_file(tmp_path, **{'ctcae_version: "5.0"': 'ctcae_version: "5.0"\nctcae_file: nci.xlsx'})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    initialise(engine, path, "tester", today=TODAY)
    trial = Trial.open(engine, "tester", today=TODAY)
    assert "Hot flashes" in trial.ctcae and len(trial.ctcae) > 800
