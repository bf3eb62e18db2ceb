"""The readers behind every check: partial ISO dates, numbers, choices; and errors listing all problems."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from capture_helpers import counts
from earlyphase.capture import Checks, PartialDate
from earlyphase.capture.checks import cells_text
from earlyphase.errors import CheckFailed


@pytest.mark.parametrize("text, earliest, latest, precision", [
    ("2015", date(2015, 1, 1), date(2015, 12, 31), "year"),
    ("2016-02", date(2016, 2, 1), date(2016, 2, 29), "month"),
    ("2015-12", date(2015, 12, 1), date(2015, 12, 31), "month"),
    ("2015-03-04", date(2015, 3, 4), date(2015, 3, 4), "day"),
    ("2015-03-04T14:30", date(2015, 3, 4), date(2015, 3, 4), "minute"),
])
def test_partial_dates(text, earliest, latest, precision):
    p = PartialDate.parse(text)
    assert (p.text, p.earliest, p.latest, p.precision) == (text, earliest, latest, precision)


@pytest.mark.parametrize("text", ["15", "2015-13", "2015-02-30", "2015-3-4", "2015-03-04T25:00", "1850", "soon", 2015])
def test_invalid_partial_dates(text):
    assert PartialDate.parse(text) is None


def test_partial_from_python_values():
    assert PartialDate.parse(date(2015, 3, 4)).text == "2015-03-04"
    assert PartialDate.parse(datetime(2015, 3, 4, 14, 30, 59)).text == "2015-03-04T14:30"


def test_readers():
    c = Checks("test")
    assert c.integer("n", "7") == 7 and c.integer("n", 7.0) == 7
    assert c.number("x", "2.5e9") == 2.5e9
    assert c.boolean("b", "yes") is True and c.boolean("b", 0) is False and c.boolean("b", None) is False
    assert c.choice("c", " CT ", ("CT", "MRI")) == "CT"
    assert c.day("d", "2015-01-02") == date(2015, 1, 2)
    assert not c
    assert c.integer("n", True) is None and c.number("x", float("nan")) is None
    assert c.day("d", "2015-01-32") is None and c.integer("n", 3, low=5) is None
    assert [p.rule for p in c.problems] == ["integer", "number", "date", "range"]
    with pytest.raises(CheckFailed) as info:
        c.raise_if_failed()
    assert "4 checks failed" in str(info.value)


def test_cells_text():
    assert [cells_text(x) for x in (5e9, 2.5e9, 1e6, 3.35e10)] == ["5e9", "2.5e9", "1e6", "3.35e10"]


def test_administration_errors_list_everything(treated):
    before = counts(treated.engine)
    with pytest.raises(CheckFailed) as info:
        treated.record_administration("P01", 9, "2030-01-01", 1, lot="x" * 61)
    found = {p.rule for p in info.value.problems}
    assert {"dose-range", "not-in-future", "max-length", "administration-count", "administration-sequence"} <= found
    assert counts(treated.engine) == before


def test_adverse_event_errors_list_everything(treated):
    with pytest.raises(CheckFailed) as info:
        treated.record_adverse_event("P01", "Nausea", 4, "2014-01-01", "maybe", "better", action="none", dlt=True)
    found = {(p.field, p.rule) for p in info.value.problems}
    assert {("grade", "grade-exists"), ("attribution", "enumeration"), ("outcome", "enumeration"),
            ("onset", "after-consent"), ("dlt", "dlt-window")} <= found
    text = str(info.value)
    assert "Nausea" in text and "1-3" in text
