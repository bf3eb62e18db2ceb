"""Adverse-event terms: the full CTCAE v5.0, "Other, specify" terms with their verbatim term, and did-you-mean."""

from __future__ import annotations

import pytest

from capture_helpers import TODAY, counts, rules
from earlyphase.capture import initialise
from earlyphase.errors import CheckFailed
from earlyphase.protocol import read_study_text

OK = dict(term="Fever", grade=1, onset="2015-01-15", attribution="possible", outcome="recovered",
          resolution="2015-01-16")
GI_OTHER = "Gastrointestinal disorders - Other, specify"


@pytest.mark.parametrize("term", ["Pneumonitis", "Colitis", "Hypothyroidism", "Hot flashes", "Tumor lysis syndrome"])
def test_any_ctcae_v5_term_is_accepted(treated, term):
    from earlyphase.vocab import bundled_ctcae

    lowest = bundled_ctcae("5.0").lookup(term).grades[0]  # Tumor lysis syndrome starts at grade 3
    ae = treated.record_adverse_event("P01", **{**OK, "term": term.upper(), "grade": lowest})
    assert ae.term == term and ae.term_specify is None


def test_other_specify_needs_and_keeps_the_verbatim_term(treated):
    ae = treated.record_adverse_event("P01", **{**OK, "term": GI_OTHER.lower(), "term_specify": "  Gastric varices "})
    assert (ae.term, ae.soc, ae.term_specify) == (GI_OTHER, "Gastrointestinal disorders", "Gastric varices")


@pytest.mark.parametrize("change, rule", [
    ({"term": GI_OTHER}, "specify-other-term"),
    ({"term": GI_OTHER, "term_specify": "   "}, "specify-other-term"),
    ({"term": GI_OTHER, "term_specify": "x" * 201}, "max-length"),
    ({"term": "Fever", "term_specify": "high fever"}, "specify-only-for-other"),
    ({"term": GI_OTHER, "term_specify": "nausea"}, "specify-not-a-ctcae-term"),
])
def test_term_specify_rules(treated, change, rule):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, **change})
    assert rules(info.value) == [rule]
    assert info.value.problems[0].field == "term_specify"
    assert counts(treated.engine) == before


def test_two_other_specify_events_on_one_day(treated):
    treated.record_adverse_event("P01", **{**OK, "term": GI_OTHER, "term_specify": "Gastric varices"})
    treated.record_adverse_event("P01", **{**OK, "term": GI_OTHER, "term_specify": "Rectal prolapse"})
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, "term": GI_OTHER, "term_specify": "gastric VARICES"})
    assert rules(info.value) == ["unique-adverse-event"] and "(gastric VARICES)" in str(info.value)


@pytest.mark.parametrize("typed, suggested", [
    ("Pyrexia", "Fever"), ("ALT increased", "Alanine aminotransferase increased"),
    ("thrombocytopenia", "Platelet count decreased"), ("Diarrhoea", "Diarrhea"),
])
def test_unknown_term_names_the_best_suggestions(treated, typed, suggested):
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", **{**OK, "term": typed})
    problem = info.value.problems[0]
    assert (problem.field, problem.rule, problem.value) == ("term", "ctcae-term", typed)
    assert f"did you mean {suggested!r}" in problem.message
    assert "Other, specify" in problem.message


def test_unknown_term_in_the_403_subset_points_to_nci_file(engine, tmp_path):
    text, _ = read_study_text("nk-hcc-ltx")
    path = tmp_path / "study.yaml"
    path.write_text(text.replace('ctcae_version: "5.0"', 'ctcae_version: "4.03"'), encoding="utf-8")
    trial = initialise(engine, path, "tester", today=TODAY)
    from capture_helpers import PATIENT

    trial.enrol_patient(**PATIENT)
    with pytest.raises(CheckFailed) as info:
        trial.record_adverse_event("P01", **{**OK, "term": "Pyrexia", "attribution": "unlikely"})
    message = info.value.problems[0].message
    assert "did you mean 'Fever'" in message and "subset of 69 terms" in message and "ctcae_file" in message


def test_correcting_the_verbatim_term_is_audited(treated):
    ae = treated.record_adverse_event("P01", **{**OK, "term": GI_OTHER, "term_specify": "Gastric varix"})
    fixed = treated.correct_record("adverse_events", ae.id, {"term_specify": "Gastric varices"}, "data-entry error: spelling of the term")
    assert fixed.term_specify == "Gastric varices"
    with pytest.raises(CheckFailed) as info:
        treated.correct_record("adverse_events", ae.id, {"term": "Nausea"}, "data-entry error: term recoded to CTCAE")
    assert rules(info.value) == ["specify-only-for-other"]
    recoded = treated.correct_record("adverse_events", ae.id, {"term": "Nausea", "term_specify": None}, "data-entry error: term recoded to CTCAE")
    assert (recoded.term, recoded.term_specify) == ("Nausea", None)
