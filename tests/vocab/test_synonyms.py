"""Did-you-mean for CTCAE terms: synonyms and abbreviations first, then British/American spelling, then spelling."""

from __future__ import annotations

import pytest

from earlyphase.vocab import bundled_ctcae
from earlyphase.vocab.synonyms import normalise, synonym_table

V5 = bundled_ctcae("5.0")


def test_every_synonym_points_to_a_ctcae_v5_term():
    table = synonym_table()
    assert len(table.synonyms) >= 300
    targets = {t for terms in table.synonyms.values() for t in terms}
    assert targets and all(t in V5 for t in targets), sorted(t for t in targets if t not in V5)
    # a synonym never shadows a real term name with another term
    for key, terms in table.synonyms.items():
        named = V5.get(key)
        assert named is None or named.term in terms, key


@pytest.mark.parametrize("typed, first", [
    # the brief's examples
    ("Pyrexia", "Fever"),
    ("ALT increased", "Alanine aminotransferase increased"),
    ("AST", "Aspartate aminotransferase increased"),
    ("GGT", "GGT increased"),
    ("ALP", "Alkaline phosphatase increased"),
    ("LDH", "Blood lactate dehydrogenase increased"),
    ("low platelets", "Platelet count decreased"),
    ("neutropenia", "Neutrophil count decreased"),
    ("thrombocytopenia", "Platelet count decreased"),
    ("anaemia", "Anemia"),
    ("anemia ", "Anemia"),
    ("high blood pressure", "Hypertension"),
    ("HTN", "Hypertension"),
    ("CRS", "Cytokine release syndrome"),
    # abbreviations inside longer phrases, any word order, any case
    ("raised ALT", "Alanine aminotransferase increased"),
    ("ALT elevated", "Alanine aminotransferase increased"),
    ("platelets low", "Platelet count decreased"),
    ("sgot", "Aspartate aminotransferase increased"),
    ("Neutropaenia", "Neutrophil count decreased"),
    # British spellings made American
    ("Diarrhoea", "Diarrhea"),
    ("Hypokalaemia", "Hypokalemia"),
    ("gastric haemorrhage", "Gastric hemorrhage"),
    ("Oedema limbs", "Edema limbs"),
    ("oesophagitis", "Esophagitis"),
    # plain misspellings
    ("Fevre", "Fever"),
    ("nausia", "Nausea"),
    ("Colitus", "Colitis"),
])
def test_best_suggestion(typed, first):
    assert V5.suggestions(typed)[0] == first


def test_synonyms_come_before_spelling():
    # issue 10: "Pyrexia" used to suggest "Anorexia" (spelling only)
    assert V5.suggestions("Pyrexia") == ["Fever"]
    assert V5.suggestions("pneumonia")[:2] == ["Lung infection", "Pneumonitis"]


def test_suggestions_are_distinct_and_limited():
    out = V5.suggestions("hypertensive", n=2)
    assert len(out) <= 2 and len(set(out)) == len(out)
    assert V5.suggestions("Fever", n=0) == []


def test_nothing_close_gives_nothing():
    assert V5.suggestions("xyzzy") == []
    assert V5.suggestions("   ") == []
    assert V5.suggestions("---") == []


def test_subset_dictionary_only_suggests_its_own_terms():
    v4 = bundled_ctcae("4.03")
    assert v4.suggestions("Pyrexia") == ["Fever"]
    assert all(s in v4 for s in v4.suggestions("oesophagitis") + v4.suggestions("LDH"))


def test_normalise():
    assert normalise(" Rash\xa0maculo-papular ") == "rash maculo papular"
    assert normalise("GAMMA-GT / raised") == "gamma gt raised"
