"""Partial ISO 8601 dates: parse, impute, flag (ADaM conventions).

Adverse-event onset and resolution are stored as reported, possibly partial (``2015``,
``2015-03``, ``2015-03-04``, ``2015-03-04T14:30``). Analysis needs full dates, so derive imputes
once, here, and says what it imputed:

- start dates: missing day -> first of the month, missing month -> 1 January, missing altogether ->
  the first dose; but never before the
  first dose when the known part is the same month/year as it (the conservative choice that
  keeps an event of uncertain start treatment-emergent, as admiral's ``min_dates`` does);
- end dates: missing day -> last day of the month, missing month -> 31 December; but never after
  the death date or the data cut-off (admiral's ``max_dates``).

Flags (``--DTF``): ``D`` day imputed, ``M`` month and day imputed, ``Y`` all imputed (no date);
time flags (``--TMF``): ``H`` hour (and minutes) imputed, ``M`` minutes imputed.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from earlyphase.errors import InputError

_ISO = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?:[T ](?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2}))?)?)?)?)?$"
)


@dataclass(frozen=True)
class PartialDate:
    """The known parts of an ISO 8601 date/time; missing parts are None."""

    year: int | None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None

    @property
    def is_complete_date(self) -> bool:
        return self.year is not None and self.month is not None and self.day is not None


@dataclass(frozen=True)
class ImputedDate:
    """A full date (and time, when known) with the ADaM imputation flags."""

    value: date | None
    time: tuple[int, int] | None  # (hour, minute) when reported, else None
    date_flag: str | None  # None, "D", "M" or "Y"
    time_flag: str | None  # None, "H" or "M"

    @property
    def timestamp(self) -> datetime | None:
        """The date-time when the time was reported (hour at least), else None."""
        if self.value is None or self.time is None:
            return None
        return datetime(self.value.year, self.value.month, self.value.day, self.time[0], self.time[1])


def parse_partial(text: str | None, field: str = "date") -> PartialDate:
    """Parse a possibly partial ISO 8601 date (``YYYY[-MM[-DD[THH[:MM]]]]``); None/'' gives all-missing."""
    if text is None or str(text).strip() == "" or str(text).lower() == "nan":
        return PartialDate(year=None)
    m = _ISO.match(str(text).strip())
    if not m:
        raise InputError.single(
            field, text, "iso8601-partial", "dates must be ISO 8601, possibly partial: YYYY, YYYY-MM, YYYY-MM-DD[THH:MM]"
        )
    parts = {k: (int(v) if v is not None else None) for k, v in m.groupdict().items()}
    try:
        if parts["m"] is not None:
            if not 1 <= parts["m"] <= 12:
                raise ValueError("month")
            if parts["d"] is not None:
                date(parts["y"], parts["m"], parts["d"])
    except ValueError:
        raise InputError.single(field, text, "valid-date", "this is not a calendar date") from None
    return PartialDate(parts["y"], parts["m"], parts["d"], parts["H"], parts["M"])


def _flag(p: PartialDate) -> str | None:
    if p.year is None:
        return "Y"
    if p.month is None:
        return "M"
    if p.day is None:
        return "D"
    return None


def _time(p: PartialDate) -> tuple[tuple[int, int] | None, str | None]:
    if p.hour is None:
        return None, None
    if p.minute is None:
        return (p.hour, 0), "M"
    return (p.hour, p.minute), None


def impute_start(text: str | None, min_date: date | None = None, field: str = "start") -> ImputedDate:
    """Impute a start date: first day of the missing period, not before ``min_date`` when
    ``min_date`` falls inside the reported period (e.g. onset ``2015-03`` and first dose
    2015-03-10 gives 2015-03-10, flag ``D``)."""
    p = parse_partial(text, field)
    flag = _flag(p)
    time, tflag = _time(p)
    if p.year is None:
        # nothing known: the first dose (the conservative, treatment-emergent choice), flag Y
        return ImputedDate(min_date, None, "Y", None)
    if flag is None:
        return ImputedDate(date(p.year, p.month, p.day), time, None, tflag)
    low = date(p.year, p.month or 1, 1)
    high = _period_end(p)
    value = low
    if min_date is not None and low <= min_date <= high:
        value = min_date
    return ImputedDate(value, None, flag, None)


def impute_end(text: str | None, max_date: date | None = None, field: str = "end") -> ImputedDate:
    """Impute an end date: last day of the missing period, capped at ``max_date`` (death or
    data cut-off). A missing end stays missing (flag None): the event is ongoing."""
    p = parse_partial(text, field)
    if p.year is None:
        return ImputedDate(None, None, None, None)
    flag = _flag(p)
    time, tflag = _time(p)
    if flag is None:
        return ImputedDate(date(p.year, p.month, p.day), time, None, tflag)
    value = _period_end(p)
    if max_date is not None and max_date < value:
        value = max(max_date, date(p.year, p.month or 1, 1))
    return ImputedDate(value, None, flag, None)


def _period_end(p: PartialDate) -> date:
    if p.month is None:
        return date(p.year, 12, 31)
    if p.day is None:
        return date(p.year, p.month, calendar.monthrange(p.year, p.month)[1])
    return date(p.year, p.month, p.day)
