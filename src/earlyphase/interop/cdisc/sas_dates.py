"""SAS numeric dates, datetimes and times <-> ISO 8601 text.

SAS counts dates in days and datetimes in seconds from 1960-01-01, and times in seconds from midnight; which
of the three a number is, only its display format says (``DATE9.``, ``DATETIME20.``, ``TIME8.``, ...).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta

SAS_EPOCH = date(1960, 1, 1)
_SAS_EPOCH_DT = datetime(1960, 1, 1)

# Format names by kind (SAS 9.4 formats reference: date, datetime and time formats). Longer names first where one
# is a prefix of another (DATETIME before DATE, DTDATE before DATE).
DATETIME_FORMATS = ("DATETIME", "DTDATE", "E8601DT", "B8601DT", "IS8601DT", "DATEAMPM", "NLDATM", "MDYAMPM")
TIME_FORMATS = ("TIMEAMPM", "TIME", "HHMM", "HOUR", "MMSS", "TOD", "E8601TM", "B8601TM", "IS8601TM", "NLTIME")
DATE_FORMATS = ("DATE", "YYMMDD", "MMDDYY", "DDMMYY", "E8601DA", "B8601DA", "IS8601DA", "WORDDAT", "WEEKDAT",
                "MONYY", "YYMON", "YYMM", "MMYY", "YYQ", "YEAR", "JULIAN", "NLDATE", "DAY", "DOWNAME", "MONNAME",
                "MONTH", "QTR", "EURDF")

_FORMAT_NAME = re.compile(r"^\$?([A-Z_]+(?:8601[A-Z]{2})?)")

DEFAULT_FORMATS = {"date": "DATE9.", "datetime": "DATETIME20.", "time": "TIME8."}


def kind_of_format(display_format: str | None) -> str | None:
    """``"date"``, ``"datetime"``, ``"time"`` or ``None`` for a SAS format such as ``DATE9.`` or ``E8601DT19.``."""
    if not display_format:
        return None
    match = _FORMAT_NAME.match(display_format.upper())
    if not match:
        return None
    name = match.group(1)
    for kind, names in (("datetime", DATETIME_FORMATS), ("time", TIME_FORMATS), ("date", DATE_FORMATS)):
        if any(name.startswith(n) for n in names):
            return kind
    return None


def sas_number_to_iso(value: float, kind: str) -> str:
    """A SAS date (days), datetime (seconds) or time (seconds) number as ISO 8601 text."""
    if kind == "date":
        return (SAS_EPOCH + timedelta(days=math.floor(value))).isoformat()
    if kind == "datetime":
        moment = _SAS_EPOCH_DT + timedelta(seconds=value)
        return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    seconds = value % 86400
    clock = (datetime.min + timedelta(seconds=seconds)).time()
    return clock.isoformat(timespec="microseconds" if clock.microsecond else "seconds")


def iso_to_sas_number(text: str, kind: str) -> float:
    """ISO 8601 text as a SAS number; raises ``ValueError`` when the text is not a full date/datetime/time."""
    if kind == "date":
        return float((date.fromisoformat(text) - SAS_EPOCH).days)
    if kind == "datetime":
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            raise ValueError("a SAS datetime has no time zone")
        return (moment - _SAS_EPOCH_DT).total_seconds()
    clock = time.fromisoformat(text)
    return clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6
