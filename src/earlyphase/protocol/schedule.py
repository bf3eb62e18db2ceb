"""The visit schedule, the eligibility criteria and the adverse events of special interest.

A visit happens ``offset_days`` after its anchor (enrolment, allocation, the first dose, or the start
of each cycle), within a window of days before and after, and expects some forms (core forms such as
``tumour_assessment`` and the study's own forms). A visit may repeat every k days, a number of times
or until progression (and always stops at death or withdrawal). Each occurrence has a key: the
visit's code for a single visit (``SCR``), ``CODE-n`` for the n-th occurrence of a repeating visit
(``SCAN-3``) or for cycle n of a cycle-anchored one (``C-2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


VISIT_CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,19}$"
Anchor = Literal["enrolment", "allocation", "first_dose", "cycle_start"]


class Window(_Strict):
    before: int = Field(default=0, ge=0, le=365, description="Days before the planned day still on time.")
    after: int = Field(default=0, ge=0, le=365, description="Days after the planned day still on time.")


class Visit(_Strict):
    """One visit of the schedule and the forms expected at it."""

    code: str = Field(pattern=VISIT_CODE_PATTERN, description="Short code, e.g. SCR, C1D1, SCAN.")
    label: str = Field(min_length=1, description="What people read, e.g. 'Screening'.")
    anchor: Anchor = Field(default="enrolment", description="enrolment, allocation, first_dose or cycle_start.")
    offset_days: int = Field(default=0, ge=-365, le=3650,
                             description="Days after the anchor (0 = the anchor's day; negative = before it).")
    window: Window = Field(default_factory=Window, description="Days before/after the planned day still on time.")
    forms: list[str] = Field(min_length=1, description="Forms expected at the visit (core or study forms).")
    repeat_every_days: int | None = Field(default=None, ge=1, le=3650,
                                          description="The visit repeats every this many days.")
    repeat_times: int | None = Field(default=None, ge=1, le=1000,
                                     description="Occurrences in all (omit with repeat_every_days: until it stops).")
    stop_at_progression: bool = Field(default=True, description="A repeating visit stops after progression.")
    cycles: list[int] | None = Field(default=None, description="For cycle_start: the cycles it happens in "
                                                                "(default: every cycle given).")

    @property
    def repeats(self) -> bool:
        return self.anchor == "cycle_start" or self.repeat_every_days is not None

    def key(self, occurrence: int) -> str:
        return f"{self.code}-{occurrence}" if self.repeats else self.code


# Core forms a visit may expect; an expected core form is 'entered' when a record of it is dated in the window.
VISIT_CORE_FORMS = ("enrolment", "eligibility", "allocation", "administration", "tumour_assessment", "follow_up")


class Criterion(_Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.]{1,20}$", description="Short code, e.g. I1 or E3.")
    text: str = Field(min_length=1, description="The criterion as the protocol states it.")


class Eligibility(_Strict):
    """Inclusion criteria (each must be met: answered yes) and exclusion criteria (none may apply: answered no)."""

    inclusion: list[Criterion] = Field(default_factory=list, description="Criteria every patient must meet.")
    exclusion: list[Criterion] = Field(default_factory=list, description="Criteria no patient may meet.")

    @property
    def criteria(self) -> list[tuple[str, Criterion]]:
        return [("inclusion", c) for c in self.inclusion] + [("exclusion", c) for c in self.exclusion]


class SpecialInterest(_Strict):
    """Adverse events of special interest: the report gives each its own table (episodes, grades, time to
    resolution)."""

    name: str = Field(min_length=1, max_length=60, description="What the table is called, e.g. 'Infusion reactions'.")
    terms: list[str] = Field(min_length=1, description="The adverse-event terms it gathers (CTCAE terms).")
    description: str | None = Field(default=None, description="Why the study follows these events closely.")


# -- when a patient's visits fall (pure: the caller reads the anchor dates from the records) ---------------
@dataclass(frozen=True)
class Anchors:
    """A patient's anchor dates (None: not reached yet) and the dates visits stop at."""

    enrolment: date | None = None
    allocation: date | None = None
    first_dose: date | None = None
    cycle_starts: tuple[date, ...] = ()  # the day 1 of each cycle given, cycle 1 first
    progression: date | None = None  # repeating visits with stop_at_progression end here
    end: date | None = None  # death or withdrawal: no visit is due after it


@dataclass(frozen=True)
class Occurrence:
    """One visit occurrence of one patient: its key, planned day and window."""

    visit: Visit
    key: str
    number: int
    planned: date
    earliest: date
    latest: date


def occurrence(visit: Visit, anchors: Anchors, number: int) -> Occurrence | None:
    """Occurrence ``number`` (1-based) of ``visit`` for a patient, or None when it cannot be placed."""
    if number < 1:
        return None
    if visit.anchor == "cycle_start":
        if number > len(anchors.cycle_starts) or (visit.cycles is not None and number not in visit.cycles):
            return None
        planned = anchors.cycle_starts[number - 1] + timedelta(days=visit.offset_days)
    else:
        base = {"enrolment": anchors.enrolment, "allocation": anchors.allocation,
                "first_dose": anchors.first_dose}[visit.anchor]
        if base is None:
            return None
        if not visit.repeats and number != 1:
            return None
        if visit.repeat_times is not None and number > visit.repeat_times:
            return None
        planned = base + timedelta(days=visit.offset_days + (number - 1) * (visit.repeat_every_days or 0))
    return Occurrence(visit, visit.key(number), number, planned, planned - timedelta(days=visit.window.before),
                      planned + timedelta(days=visit.window.after))


def visit_occurrences(visit: Visit, anchors: Anchors, horizon: date, *, ignore_stops: bool = False,
                      limit: int = 1000) -> list[Occurrence]:
    """The occurrences of ``visit`` whose window opens on or before ``horizon``, then the next one.

    Occurrences whose window opens after the patient's death or withdrawal (``anchors.end``), or after
    progression for a repeating visit that stops there, are left out (unless ``ignore_stops``).
    """
    out: list[Occurrence] = []
    for number in range(1, limit + 1):
        occ = occurrence(visit, anchors, number)
        if occ is None:
            if visit.anchor == "cycle_start" and number <= len(anchors.cycle_starts):
                continue  # a cycle the visit skips
            break
        if not ignore_stops:
            if anchors.end is not None and occ.earliest > anchors.end:
                break
            if visit.repeats and visit.stop_at_progression and anchors.progression is not None \
                    and occ.earliest > anchors.progression:
                break
        out.append(occ)
        if occ.earliest > horizon:
            break  # the next one to come
    return out


def patient_anchors(*, enrolment: date | None, allocation: date | None,
                    administrations: list[tuple[date, int | None, int | None]], death: date | None = None,
                    withdrawal: date | None = None, progression: date | None = None) -> Anchors:
    """A patient's ``Anchors`` from plain dates: ``administrations`` are (actual date, cycle, cycle day).

    Cycle n starts on the day 1 its first administration implies (actual date - (cycle day - 1)); the
    first dose is the earliest administration. The end is the earlier of death and withdrawal.
    """
    first = min((a[0] for a in administrations), default=None)
    starts: dict[int, date] = {}
    for actual, cycle, day in administrations:
        if cycle is None or day is None:
            continue
        start = actual - timedelta(days=day - 1)
        if cycle not in starts or start < starts[cycle]:
            starts[cycle] = start
    cycle_starts: list[date] = []
    for n in range(1, len(starts) + 1):  # cycles in order, up to the first gap
        if n not in starts:
            break
        cycle_starts.append(starts[n])
    ends = [d for d in (death, withdrawal) if d is not None]
    return Anchors(enrolment=enrolment, allocation=allocation, first_dose=first, cycle_starts=tuple(cycle_starts),
                   progression=progression, end=min(ends) if ends else None)
