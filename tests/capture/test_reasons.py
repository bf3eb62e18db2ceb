"""The reason for a change: a category from the controlled list and a detail of a few words."""

from __future__ import annotations

import pytest

from earlyphase.capture.checks import Checks
from earlyphase.capture.reasons import REASON_CATEGORIES, reason_for_change, split_reason


def check(reason):
    checks = Checks("correct a record")
    return reason_for_change(checks, reason), checks.problems


@pytest.mark.parametrize("given, stored", [
    ("data-entry error: grade 3 typed for grade 2", "data-entry error: grade 3 typed for grade 2"),
    ("Data entry error:  grade 3   typed for 2", "data-entry error: grade 3 typed for 2"),
    ("source_document_updated: the discharge letter arrived", "source document updated: the discharge letter arrived"),
    ("query answered: Q-12 confirmed by the site", "query answered: Q-12 confirmed by the site"),
    ("LATE ENTRY: visit 3 labs came back", "late entry: visit 3 labs came back"),
    ("protocol amendment: version 2 adds a site", "protocol amendment: version 2 adds a site"),
    ("other: the source document says grade 2", "other: the source document says grade 2"),
])
def test_a_reason_is_stored_as_category_and_detail(given, stored):
    assert check(given) == (stored, [])
    category, _ = split_reason(stored)
    assert category in REASON_CATEGORIES


@pytest.mark.parametrize("given", [".", "", "   ", None, 3, "x", "typo", "data-entry error:", "data-entry error: .",
                                   "late entry: visit", "other: a b", "a" * 2001, "two\0words here"])
def test_a_reason_that_says_nothing_is_refused_with_the_list(given):
    stored, problems = check(given)
    assert stored is None and len(problems) == 1
    assert problems[0].rule in ("required", "reason-for-change", "reason-category") and "reason" == problems[0].field
    assert "data-entry error" in problems[0].message  # the list is named


@pytest.mark.parametrize("given", ["the source document says grade 2", "typo: the grade was wrong"])
def test_a_reason_without_a_known_category_is_refused_naming_the_list(given):
    """A reason must start with its category: a free sentence is refused, not filed under "other"."""
    stored, problems = check(given)
    assert stored is None and [p.rule for p in problems] == ["reason-category"]
    assert all(category in problems[0].message for category in REASON_CATEGORIES)


def test_a_door_that_knows_the_kind_of_change_files_a_plain_reason_under_it():
    checks = Checks("answer a query")
    assert reason_for_change(checks, "the lab confirmed it", default_category="query answered") == \
        "query answered: the lab confirmed it"
    assert checks.problems == []


@pytest.mark.parametrize("name", ["alice\nbob", "alice\r", "tab\there", " alice", "alice ", "nul\0", "x" * 81, ""])
def test_a_user_name_is_one_printable_line(name):
    from earlyphase.capture.context import CaptureContext
    from earlyphase.errors import InputError
    from earlyphase.protocol import load_study

    with pytest.raises(InputError, match="one line"):
        CaptureContext(session=None, study=load_study("nk-hcc-ltx"), username=name)
