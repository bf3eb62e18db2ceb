"""The free-text scrubber of de-identified outputs (named ``SCRUBBER``, recorded in every manifest).

``scrub_text(text, known, reference)`` returns the text with, in this order:

1. identifiers the system already knows (``KnownIdentifiers``): the site's subject ids become their
   pseudonyms, hospital numbers, patient initials, user names and staff names become placeholders;
2. e-mail addresses -> ``[email]``;
3. dates in the common written forms -> ``study day N`` when the date is unambiguous (ISO 8601
   ``2016-01-05``, ``2016/01/05``, or with a month name and a four-digit year: ``5 Jan 2016``,
   ``January 5, 2016``) and a reference date is known, else ``[date]`` (``05/01/2016``, ``05.01.16``,
   ``5 January``, ``January 2016``: day-month order cannot be told, or there is no patient);
4. record numbers: after a cue (``MRN``, ``hospital number``, ``record no.``, ``NHS number``, ``ID``)
   the value becomes ``[record number]``; a token of letters and 4+ digits (``H1234567``) or of 6+
   digits -> ``[number]``;
5. phone numbers: 7 to 15 digits written with separators or a ``+`` -> ``[phone]``;
6. names: after a title (``Dr``, ``Mr``, ``Mrs``, ``Ms``, ``Prof``, ``Nurse``), after a cue (``named``,
   ``name:``, ``wife``, ``son``, ``signed by``, ...), or a common given name or surname from the lists
   below with the capitalised word beside it -> ``[name]``.

What it cannot do is stated in ``SCRUBBER_LIMITS`` (and so in the manifest): a name that is in none of
the lists and has no cue passes. Where that matters, drop free text instead (``free_text="drop"``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Mapping

SCRUBBER = "earlyphase-scrub/1"
SCRUBBER_LIMITS = (
    "Names are removed when the system knows them (users, patient initials), after a title or a cue word, or when "
    "a common given name or surname from the scrubber's lists stands beside a capitalised word; other names pass. "
    "Day-month order of numeric dates cannot be told, so they become [date] rather than a study day."
)

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"

# Common given names and surnames (a small, deliberately unambiguous list: no words that are also common
# English or clinical words, such as Grace, Hope, Mark, Will, May, June). Written for this project.
GIVEN_NAMES = frozenset("""
Aaron Abigail Adam Adrian Ahmed Aisha Alan Albert Alex Alexander Alice Alicia Amanda Amelia Amy Andrea Andrew Angela
Anna Anne Anthony Antonio Arthur Barbara Benjamin Betty Brian Carlos Carol Caroline Catherine Charles Charlotte
Christina Christine Christopher Claire Daniel David Deborah Dennis Diana Donald Dorothy Douglas Edward Elena Elizabeth
Emily Emma Eric Fatima Francesco Frank Gary George Giulia Hannah Harold Helen Henry Hiroshi Isabella Jacob James Jane
Janet Jason Jennifer Jessica Joan John Jonathan Jose Joseph Joshua Juan Julia Karen Katherine Kenneth Kevin Laura
Linda Lisa Luca Lucy Margaret Maria Marie Mary Matthew Michael Michelle Mohammed Muhammad Nancy Nicholas Olivia Oliver
Patricia Paul Peter Rachel Rebecca Richard Robert Ronald Ruth Samuel Sandra Sarah Sharon Sophie Stephen Steven Susan
Thomas Timothy Victoria Walter William Xiaoming Yuki Zhiwei
""".split())
SURNAMES = frozenset("""
Anderson Brown Chen Clark Davies Davis Evans Garcia Gonzalez Green Hall Harris Hernandez Huang Jackson Johnson Jones
Kim Kowalski Lee Lewis Lin Liu Lopez Martin Martinez Miller Moore Muller Nguyen Patel Perez Robinson Rodriguez Rossi
Sanchez Schmidt Singh Smith Suzuki Taylor Thomas Thompson Wang Watson White Williams Wilson Wright Yang Zhang Zhao Zhou
""".split())
_TITLES = r"(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sister|Nurse)\.?"
_NAME_WORD = r"[A-Z][a-z][a-zA-Z'\-]*"  # Capitalised (not an acronym, not a pseudonym such as U-3F...)
_CUES = (r"(?:named|called|name(?:\s+is)?\s*:?|wife|husband|son|daughter|mother|father|brother|sister|partner|"
         r"spouse|signed\s+by|contact(?:ed)?|carer|caregiver|next\s+of\s+kin)")


@dataclass
class KnownIdentifiers:
    """What the system itself knows to be identifying: replaced exactly, before any pattern runs.

    ``subjects``: the site's subject id -> its pseudonym; ``users``: username or full name -> pseudonym;
    ``numbers``: hospital / record numbers; ``initials``: patient initials (matched as whole words,
    case-sensitive).
    """

    subjects: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)
    numbers: frozenset[str] = frozenset()
    initials: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScrubResult:
    text: str
    counts: Counter  # kind ('date', 'email', 'phone', 'number', 'record number', 'name', 'subject id', ...) -> n


def _exact(words, flags=re.IGNORECASE) -> re.Pattern | None:
    words = sorted({w for w in words if w and w.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w-])", flags)


def _day_text(value: date | None, reference: date | None) -> str:
    if value is None or reference is None:
        return "[date]"
    delta = (value - reference).days
    return f"study day {delta + 1 if delta >= 0 else delta}"


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_ISO = re.compile(r"(?<![\d\w])(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?(?!\d)")
_NUMERIC_DMY = re.compile(r"(?<![\d\w.])\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})(?![\d\w])")
_DAY_MONTH = re.compile(r"(?<![\w])(?P<d>\d{1,2})" + _ORD + r"(?:\s+of)?[\s\-/.]*" + _MONTH
                        + r"(?:[\s\-/.,]*(?P<y>\d{4}|'?\d{2}))?(?![\w])", re.IGNORECASE)
_MONTH_DAY = re.compile(r"(?<![\w])" + _MONTH + r"\s+(?P<d>\d{1,2})" + _ORD + r"(?:,?\s+(?P<y>\d{4}))?(?![\w])",
                        re.IGNORECASE)
_MONTH_YEAR = re.compile(r"(?<![\w])" + _MONTH + r",?\s+(?P<y>\d{4})(?![\w])", re.IGNORECASE)
_RECORD_CUE = re.compile(
    r"(?P<cue>\b(?:MRN|medical\s+record(?:\s+(?:number|no\.?|#))?|record\s+(?:number|no\.?|#)|"
    r"hospital\s+(?:number|no\.?|#|id)|patient\s+(?:number|no\.?|#|id)|NHS\s+(?:number|no\.?)|case\s+(?:number|no\.?)|"
    r"chart\s+(?:number|no\.?)|ID)\s*(?:[:#]|is)?\s*)"
    r"(?P<value>(?:[A-Z]{1,6}[\-/]?)?\d(?:[\d\-/]|\s(?=\d))*[A-Z]?)(?![\w])", re.IGNORECASE)
# letters then 4+ digits (H1234567, SYN-H0001), or 6+ digits standing alone (not a decimal's part)
_ID_TOKEN = re.compile(r"(?<![\w\-])[A-Za-z]+(?:[\-/][A-Za-z]+)*[\-/]?\d{4,}[A-Za-z0-9\-]*(?![\w])"
                       r"|(?<![\w.,])\d{6,}(?![\w]|[.,]\d)")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?)?\d{2,6}(?:[\s.\-]\d{2,6}){1,4}(?![\w])")
_TITLED = re.compile(r"\b" + _TITLES + r"\s+(?:" + _NAME_WORD + r"\s+)?" + _NAME_WORD)
# the cue in any case, the name capitalised
_CUED = re.compile(r"(?P<cue>\b(?i:" + _CUES + r")\s+)(?P<name>" + _NAME_WORD + r"(?:\s+" + _NAME_WORD + r")?)")
_GIVEN = re.compile(r"\b(?:" + "|".join(sorted(GIVEN_NAMES)) + r")(?:\s+" + _NAME_WORD + r")?(?![\w])")
_SURNAME = re.compile(r"\b(?:" + "|".join(sorted(SURNAMES)) + r")(?![\w])")


def _sub(pattern: re.Pattern, text: str, counts: Counter, kind: str,
         replace: Callable[[re.Match], str | None]) -> str:
    def fn(match: re.Match) -> str:
        out = replace(match)
        if out is None:
            return match.group(0)
        counts[kind] += 1
        return out

    return pattern.sub(fn, text)


def _dates(text: str, reference: date | None, counts: Counter) -> str:
    def iso(m):
        return _day_text(_safe_date(int(m["y"]), int(m["m"]), int(m["d"])), reference)

    def named(m):
        year = m["y"]
        if not year and m["month"] == "may":  # "2 may have": the verb, not the month
            return None
        if year and len(year) == 4:
            return _day_text(_safe_date(int(year), _MONTHS[m["month"].lower()], int(m["d"])), reference)
        return "[date]"

    text = _sub(_ISO, text, counts, "date", iso)
    text = _sub(_DAY_MONTH, text, counts, "date", named)
    text = _sub(_MONTH_DAY, text, counts, "date", named)
    text = _sub(_MONTH_YEAR, text, counts, "date", lambda m: "[date]")
    return _sub(_NUMERIC_DMY, text, counts, "date", lambda m: "[date]")


def scrub_dates(text: str, reference: date | None = None) -> ScrubResult:
    """Only the dates of ``text`` (step 3): the safety net for text columns that are not free text."""
    counts: Counter = Counter()
    return ScrubResult(_dates(text, reference, counts), counts)


def _looks_like_decimal(token: str) -> bool:
    return bool(re.fullmatch(r"\d+[.,]\d+", token))


def _phone(m: re.Match) -> str | None:
    token = m.group(0)
    digits = sum(c.isdigit() for c in token)
    longest = max(len(g) for g in re.findall(r"\d+", token))
    # a list of days or doses ("15 22 29 36") is not a phone number: some group has 3+ digits
    if not 7 <= digits <= 15 or longest < 3 or _looks_like_decimal(token):
        return None
    return "[phone]"


def scrub_text(text: str | None, known: KnownIdentifiers | None = None, reference: date | None = None) -> ScrubResult:
    """Scrub one free-text value (see the module docstring); ``reference`` is the patient's study day 1."""
    counts: Counter = Counter()
    if not text:
        return ScrubResult(text or "", counts)
    known = known or KnownIdentifiers()
    # Pseudonyms put in for known ids are parked behind placeholders until the end, so that no later
    # pattern (a token of letters and digits, a name) eats them.
    parked: list[str] = []

    def park(value: str) -> str:
        parked.append(value)
        return f"\x00{len(parked) - 1}\x00"

    out = text.replace("\x00", "")
    subjects = _exact(known.subjects)
    if subjects is not None:
        lookup = {k.lower(): v for k, v in known.subjects.items()}
        out = _sub(subjects, out, counts, "subject id", lambda m: park(lookup[m.group(0).lower()]))
    numbers = _exact(known.numbers)
    if numbers is not None:
        out = _sub(numbers, out, counts, "record number", lambda m: "[record number]")
    users = _exact(known.users)
    if users is not None:
        lookup_u = {k.lower(): v for k, v in known.users.items()}
        out = _sub(users, out, counts, "user", lambda m: park(lookup_u[m.group(0).lower()]))
    initials = _exact(known.initials, flags=0)
    if initials is not None:
        out = _sub(initials, out, counts, "initials", lambda m: "[initials]")
    out = _sub(_EMAIL, out, counts, "email", lambda m: "[email]")
    out = _dates(out, reference, counts)
    out = _sub(_RECORD_CUE, out, counts, "record number", lambda m: m["cue"] + "[record number]")
    out = _sub(_PHONE, out, counts, "phone", _phone)
    out = _sub(_ID_TOKEN, out, counts, "number", lambda m: "[number]")
    out = _sub(_TITLED, out, counts, "name", lambda m: "[name]")
    out = _sub(_CUED, out, counts, "name",
               lambda m: None if m["name"].split()[0].lower() in _NOT_NAMES else m["cue"] + "[name]")
    out = _sub(_GIVEN, out, counts, "name", lambda m: "[name]")
    out = _sub(_SURNAME, out, counts, "name", lambda m: "[name]")
    out = re.sub("\x00(\\d+)\x00", lambda m: parked[int(m.group(1))], out)
    return ScrubResult(out, counts)


# words a cue may be followed by that are not names ("son [name]" but not "contacted the", "called back")
_NOT_NAMES = frozenset("""the a an his her their our my your to back by at on in for and or of is was has had
who which that this it him them us me as with from about again twice""".split())
