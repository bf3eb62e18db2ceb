"""Collecting edit-check failures, and reading the values people type (dates, numbers, choices).

An action runs every check, collects each failure as a ``Problem`` (field, value, rule,
sentence), and only then raises one error listing them all. Nothing is written before that.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from earlyphase.errors import CheckFailed, Duplicate, NotFound, Problem
from earlyphase.limits import INT_MAX, INT_MIN, MAX_ABS_FLOAT, MAX_USERNAME_CHARS, ascii_float, ascii_int, control_character, in_int_range
from earlyphase.vocab import match_choice


class CheckNotFound(CheckFailed, NotFound):
    """Edit checks failed only because a referenced site, patient, group or record does not exist."""


class CheckDuplicate(CheckFailed, Duplicate):
    """Edit checks failed only because the record already exists."""


NOT_FOUND_RULES = frozenset({"site-known", "patient-known", "group-known", "record-known", "query-known"})
DUPLICATE_RULES = frozenset({
    "unique-subject", "unique-allocation", "unique-infusion-number", "unique-adverse-event",
    "unique-assessment-date", "unique-baseline", "unique-death", "unique-follow-up-date", "unique-study",
    "unique-lesion-label",
})


class Checks:
    """A list of failed checks for one action; ``raise_if_failed`` raises them all at once."""

    def __init__(self, action: str):
        self.action = action
        self.problems: list[Problem] = []

    def fail(self, field: str, value: Any, rule: str, message: str) -> None:
        self.problems.append(Problem(field=field, value=_shown(value), rule=rule, message=message))

    def __bool__(self) -> bool:  # True when something failed
        return bool(self.problems)

    def has_field(self, field: str) -> bool:
        return any(p.field == field for p in self.problems)

    def raise_if_failed(self) -> None:
        if not self.problems:
            return
        rules = {p.rule for p in self.problems}
        cls = CheckFailed
        if rules <= NOT_FOUND_RULES:
            cls = CheckNotFound
        elif rules <= DUPLICATE_RULES:
            cls = CheckDuplicate
        n = len(self.problems)
        raise cls(self.problems, summary=f"{self.action}: {n} check{'s' if n != 1 else ''} failed, nothing was written")

    # -- readers: each returns the clean value, or None after recording a problem ------------------
    def text(self, field: str, value: Any, *, required: bool = True, max_length: int | None = None,
             pattern: str | None = None, pattern_hint: str = "") -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, value, "required", f"{field} is required")
            return None
        if not isinstance(value, str):
            value = str(value)
        value = value.strip()
        at = control_character(value)
        if at is not None:
            # PostgreSQL refuses a NUL in text and SQLite keeps it: refused here, the same on both
            self.fail(field, value, "control-character",
                      f"{field} holds a control character (code {ord(value[at])}) at position {at + 1}; remove it")
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(field, value, "max-length", f"{field} may hold at most {max_length} characters ({len(value)} given)")
            return None
        if pattern is not None and not re.fullmatch(pattern, value):
            self.fail(field, value, "format", f"{field} {value!r} has the wrong form{': ' + pattern_hint if pattern_hint else ''}")
            return None
        return value

    def username(self, field: str, value: Any) -> str | None:
        """A user name as the audit trail keeps it: one line of printable text, at most 80 characters."""
        if not isinstance(value, str) or not value.strip():
            self.fail(field, value, "required", f"{field} is required")
            return None
        if value != value.strip() or any(not ch.isprintable() for ch in value):
            self.fail(field, value, "username",
                      f"{field} must be one line of printable characters without leading or trailing spaces "
                      "(no newline, tab or control character): the audit trail attributes every write to it")
            return None
        if len(value) > MAX_USERNAME_CHARS:
            self.fail(field, value, "max-length", f"{field} may hold at most {MAX_USERNAME_CHARS} characters")
            return None
        return value

    def integer(self, field: str, value: Any, *, required: bool = True, low: int | None = None,
                high: int | None = None, rule: str = "range", what: str = "") -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, value, "required", f"{field} is required")
            return None
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str):
            number = ascii_int(value)
        if number is None:
            self.fail(field, value, "integer", f"{field} must be a whole number written in digits 0-9")
            return None
        if not in_int_range(number):
            self.fail(field, value, "integer-range", f"{field} must be between {INT_MIN} and {INT_MAX}")
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            self.fail(field, value, rule, f"{field} must be {_between(low, high)}{what}")
            return None
        return number

    def number(self, field: str, value: Any, *, required: bool = True, low: float | None = None,
               high: float | None = None, rule: str = "range", what: str = "") -> float | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, value, "required", f"{field} is required")
            return None
        number: float | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, (int, float)):
            number = float(value) if abs(value) <= MAX_ABS_FLOAT else math.inf
        elif isinstance(value, str):
            number = ascii_float(value)
        if number is None or math.isnan(number) or math.isinf(number) or abs(number) > MAX_ABS_FLOAT:
            self.fail(field, value, "number", f"{field} must be a finite number written in digits 0-9")
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            self.fail(field, value, rule, f"{field} must be {_between(low, high)}{what}")
            return None
        return number

    def boolean(self, field: str, value: Any, *, default: bool | None = False) -> bool | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("yes", "y", "true", "1", "no", "n", "false", "0"):
            return value.strip().lower() in ("yes", "y", "true", "1")
        self.fail(field, value, "boolean", f"{field} must be yes or no")
        return None

    def choice(self, field: str, value: Any, choices: Iterable[str], *, required: bool = True,
               rule: str = "enumeration") -> str | None:
        choices = tuple(choices)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, value, "required", f"{field} is required; one of: {', '.join(choices)}")
            return None
        found = match_choice(value, choices)
        if found is None:
            self.fail(field, value, rule, f"{field} must be one of: {', '.join(choices)}")
        return found

    def day(self, field: str, value: Any, *, required: bool = True) -> date | None:
        """A full calendar date (``date`` or ``YYYY-MM-DD``)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, value, "required", f"{field} is required (YYYY-MM-DD)")
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}(T00:00(:00)?)?", value.strip(), re.ASCII):
            try:
                return date.fromisoformat(value.strip()[:10])
            except ValueError:
                pass
        self.fail(field, value, "date", f"{field} must be a calendar date written YYYY-MM-DD")
        return None

    def partial(self, field: str, value: Any, *, required: bool = True) -> "PartialDate | None":
        """An ISO 8601 date that may be partial: YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, value, "required", f"{field} is required (YYYY-MM-DD; YYYY-MM or YYYY if partly unknown)")
            return None
        parsed = PartialDate.parse(value)
        if parsed is None:
            self.fail(field, value, "partial-date",
                      f"{field} must be an ISO 8601 date: YYYY-MM-DD, or YYYY-MM / YYYY when partly unknown, "
                      "optionally with a time YYYY-MM-DDTHH:MM")
        return parsed


def _between(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"between {_num(low)} and {_num(high)}"
    if low is not None:
        return f"at least {_num(low)}"
    return f"at most {_num(high)}"


def _num(x: Any) -> str:
    if isinstance(x, float) and (abs(x) >= 1e5):
        return cells_text(x)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def cells_text(x: float) -> str:
    """A cell count written the way a protocol writes it: 5e9, 1.5e10."""
    if x == 0:
        return "0"
    exponent = int(math.floor(math.log10(abs(x))))
    mantissa = round(x / 10**exponent, 3)
    return f"{mantissa:g}e{exponent}"


def _shown(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, PartialDate):
        return value.text
    return value


_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?)?)?")


@dataclass(frozen=True)
class PartialDate:
    """An ISO 8601 date as reported, possibly partial, with the range of days it may mean."""

    text: str
    earliest: date
    latest: date
    precision: str  # year / month / day / minute

    @classmethod
    def parse(cls, value: Any) -> "PartialDate | None":
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%dT%H:%M")
        elif isinstance(value, date):
            value = value.isoformat()
        if not isinstance(value, str):
            return None
        m = _PARTIAL.fullmatch(value.strip())
        if not m:
            return None
        y, mo, d, hh, mm = m.groups()
        try:
            year = int(y)
            if year < 1900:
                return None
            if mo is None:
                return cls(y, date(year, 1, 1), date(year, 12, 31), "year")
            month = int(mo)
            first = date(year, month, 1)
            if d is None:
                nxt = date(year + (month == 12), month % 12 + 1, 1)
                return cls(f"{y}-{mo}", first, nxt - timedelta(days=1), "month")
            day_ = date(year, month, int(d))
            if hh is None:
                return cls(day_.isoformat(), day_, day_, "day")
            if not (0 <= int(hh) <= 23 and 0 <= int(mm) <= 59):
                return None
            return cls(f"{day_.isoformat()}T{hh}:{mm}", day_, day_, "minute")
        except ValueError:
            return None

    def __str__(self) -> str:
        return self.text
