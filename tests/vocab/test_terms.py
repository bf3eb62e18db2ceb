"""Controlled terminology besides CTCAE."""

from __future__ import annotations

import pytest

from earlyphase.vocab import (
    ATTRIBUTIONS,
    RELATED_ATTRIBUTIONS,
    RESPONSE_CATEGORIES,
    is_related,
    match_choice,
)


@pytest.mark.parametrize("attribution, related", [
    ("unrelated", False), ("unlikely", False), ("possible", True), ("probable", True), ("Definite", True),
])
def test_related_means_possible_or_more(attribution, related):
    assert is_related(attribution) is related


def test_scales():
    assert ATTRIBUTIONS == ("unrelated", "unlikely", "possible", "probable", "definite")
    assert RELATED_ATTRIBUTIONS == {"possible", "probable", "definite"}
    for criteria in ("mRECIST", "RECIST 1.1"):
        assert RESPONSE_CATEGORIES[criteria] == ("CR", "PR", "SD", "PD", "NE")


def test_match_choice():
    assert match_choice("  not   Recovered ", ("recovered", "not recovered")) == "not recovered"
    assert match_choice("nope", ("a",)) is None
    assert match_choice(3, ("3",)) is None
