"""Dosing of any product: the product (dose unit, route, administration noun) and each level's regimen.

A dose is a value in the product's unit (``vocab/units.yaml``: cells, cells/kg, mg, mg/kg, mg/m2,
ug, IU, PFU, vg/kg, ...). A regimen is a nominal dose and a schedule: N administrations every k
days, or cycles (cycle length, dosing days within the cycle, a number of cycles or until
progression), with optional step-up (priming) doses for the first administrations and planned dose
reductions. Administrations are numbered 1, 2, ... in schedule order; in a cyclic schedule number
k is also (cycle, day): with dosing days [1, 8] administration 3 is cycle 2 day 1.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ValueSource = Literal["published", "assumed", "protocol"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DoseLimits(_Strict):
    """Hard limits of one administration's dose (a value outside is a typing error and is refused)."""

    min: float | None = Field(default=None, ge=0, description="Smallest dose accepted, in the product's unit.")
    max: float | None = Field(default=None, gt=0, description="Largest dose accepted, in the product's unit.")


class Product(_Strict):
    """The study product and the words the report and the CLI use for it."""

    name: str = Field(min_length=1, description="Full name, e.g. 'ABX-101, humanised anti-PD-L1 antibody'.")
    short_name: str | None = Field(default=None, description="Short name for running text (default: name).")
    administration: str = Field(default="administration", min_length=1, max_length=40,
                                description="The noun for one administration: infusion, injection, dose, ...")
    administration_plural: str | None = Field(default=None, description="Plural of that noun (default: noun + s).")
    dose_unit: str = Field(description="Unit of every dose (a code of vocab/units.yaml, e.g. mg/kg).")
    route: str = Field(default="IV", description="Default route (a code of the 'route' codelist, e.g. IV, PO, SC).")
    bsa_formula: str = Field(default="mosteller",
                             description="Body surface area formula for per-m2 doses: mosteller, dubois, haycock, "
                                         "gehan-george or boyd.")
    dose_limits: DoseLimits | None = Field(
        default=None, description="Hard limits per administration; default: 1/100 of the smallest planned dose to "
                                  "10 times the largest.")

    @field_validator("dose_unit")
    @classmethod
    def _known_unit(cls, v: str) -> str:
        from earlyphase.vocab import dose_units

        if v not in dose_units():
            raise ValueError(f"unknown dose unit {v!r}; units: {', '.join(dose_units())}")
        return v

    @field_validator("route")
    @classmethod
    def _known_route(cls, v: str) -> str:
        from earlyphase.vocab import codelist

        routes = codelist("route").values
        if v not in routes:
            raise ValueError(f"unknown route {v!r}; routes: {', '.join(routes)}")
        return v

    @field_validator("bsa_formula")
    @classmethod
    def _known_formula(cls, v: str) -> str:
        from earlyphase.vocab import BSA_FORMULAS

        if v not in BSA_FORMULAS:
            raise ValueError(f"unknown BSA formula {v!r}; formulas: {', '.join(BSA_FORMULAS)}")
        return v

    @property
    def label(self) -> str:
        return self.short_name or self.name

    @property
    def noun(self) -> str:
        return self.administration

    @property
    def nouns(self) -> str:
        return self.administration_plural or self.administration + "s"


def _days(value) -> list[int]:
    """Dosing days written as a list or as text such as '1-21' or '1, 8, 15'."""
    if isinstance(value, str):
        out: list[int] = []
        for part in value.split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
            if m:
                out.extend(range(int(m.group(1)), int(m.group(2)) + 1))
            elif part.isdigit():
                out.append(int(part))
            else:
                raise ValueError(f"dosing_days {value!r}: write days as a list or text like '1-21' or '1, 8, 15'")
        return out
    return value


class Schedule(_Strict):
    """When a regimen's administrations are given: ``administrations`` every ``every_days`` days, or
    cycles of ``cycle_days`` days with ``dosing_days`` (day 1 = the cycle's first day) for ``cycles``
    cycles (omit ``cycles`` for treatment until progression)."""

    administrations: int | None = Field(default=None, ge=1, le=1000, description="Number of administrations.")
    every_days: int | None = Field(default=None, ge=1, le=365, description="Days between administrations.")
    cycle_days: int | None = Field(default=None, ge=1, le=365, description="Length of a cycle in days.")
    dosing_days: list[int] | None = Field(default=None, description="Days of each cycle with a dose (1-based), "
                                                                    "e.g. [1, 8, 15] or '1-21'.")
    cycles: int | None = Field(default=None, ge=1, le=200, description="Number of cycles; omit: until progression.")

    @field_validator("dosing_days", mode="before")
    @classmethod
    def _parse_days(cls, v):
        return None if v is None else _days(v)

    @model_validator(mode="after")
    def _one_shape(self) -> "Schedule":
        if self.cycle_days is not None:
            if self.administrations is not None or self.every_days is not None:
                raise ValueError("a schedule is either administrations/every_days or cycle_days/dosing_days/cycles")
            days = self.dosing_days or []
            if not days:
                raise ValueError("a cyclic schedule needs dosing_days (e.g. [1] or '1-21')")
            if sorted(set(days)) != days:
                raise ValueError("dosing_days must be increasing, each day once")
            if days[0] < 1 or days[-1] > self.cycle_days:
                raise ValueError(f"dosing_days must lie within the cycle (1..{self.cycle_days})")
        else:
            if self.dosing_days is not None or self.cycles is not None:
                raise ValueError("dosing_days and cycles need cycle_days")
            if self.administrations is None:
                raise ValueError("a schedule needs administrations (and every_days) or cycle_days and dosing_days")
            if self.administrations > 1 and self.every_days is None:
                raise ValueError("more than one administration needs every_days")
        return self

    @property
    def cyclic(self) -> bool:
        return self.cycle_days is not None

    @property
    def per_cycle(self) -> int:
        return len(self.dosing_days or []) if self.cyclic else 0

    @property
    def planned_count(self) -> int | None:
        """Planned number of administrations (None: until progression)."""
        if not self.cyclic:
            return self.administrations
        return None if self.cycles is None else self.cycles * self.per_cycle

    def position(self, number: int) -> tuple[int, int] | None:
        """(cycle, day) of administration ``number`` in a cyclic schedule, else None."""
        if not self.cyclic:
            return None
        cycle, index = divmod(number - 1, self.per_cycle)
        return cycle + 1, self.dosing_days[index]

    def number_of(self, cycle: int, day: int) -> int:
        """Administration number of (cycle, day); ``ValueError`` when that day has no dose."""
        if not self.cyclic:
            raise ValueError("this schedule has no cycles")
        if day not in (self.dosing_days or []):
            raise ValueError(f"day {day} is not a dosing day (dosing days: {', '.join(map(str, self.dosing_days))})")
        return (cycle - 1) * self.per_cycle + self.dosing_days.index(day) + 1

    def offset_days(self, number: int) -> int:
        """Days from the first administration to administration ``number`` when all go to plan."""
        if not self.cyclic:
            return (number - 1) * (self.every_days or 0)
        cycle, day = self.position(number)
        first = self.dosing_days[0]
        return (cycle - 1) * self.cycle_days + day - first

    def describe(self) -> str:
        if not self.cyclic:
            if self.administrations == 1:
                return "once"
            return f"{self.administrations} x every {self.every_days} days"
        days = ", ".join(map(str, self.dosing_days)) if len(self.dosing_days) <= 6 else \
            f"{self.dosing_days[0]}-{self.dosing_days[-1]}"
        cycles = f"{self.cycles} cycles" if self.cycles else "cycles until progression"
        return f"{cycles} of {self.cycle_days} days, dosing on day {days}"


class Regimen(_Strict):
    """What a level receives: nominal dose (in the product's unit), schedule, step-up and reductions."""

    dose: float = Field(gt=0, description="Nominal dose per administration, in the product's dose unit.")
    schedule: Schedule = Field(description="When the administrations are given.")
    step_up_doses: list[float] | None = Field(
        default=None, description="Priming doses of the first administrations, in order; the nominal dose follows.")
    dose_reductions: list[float] | None = Field(
        default=None, description="Planned reduced doses (first reduction first): a dose at one of them is a "
                                  "planned reduction, not a deviation.")
    route: str | None = Field(default=None, description="Route when it differs from the product's route.")
    dose_tolerance_percent: float = Field(
        default=20.0, ge=0, le=100, description="An actual dose within ± this % of the planned dose is on schedule.")
    interval_window_days: int = Field(
        default=3, ge=0, description="An administration within ± this many days of its planned date is on schedule.")
    dose_source: ValueSource = Field(default="protocol", description="Where the dose values come from.")
    dose_note: str | None = Field(default=None, description="Why the value is what it is (e.g. assumption).")

    @field_validator("step_up_doses", "dose_reductions")
    @classmethod
    def _positive(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (not v or any(not d > 0 for d in v)):
            raise ValueError("list at least one dose, each a positive number")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Regimen":
        count = self.schedule.planned_count
        if self.step_up_doses is not None and count is not None and len(self.step_up_doses) > count:
            raise ValueError(f"step_up_doses lists {len(self.step_up_doses)} doses but the schedule plans {count} "
                             "administrations")
        if self.dose_reductions is not None:
            if any(d >= self.dose for d in self.dose_reductions):
                raise ValueError("every planned dose reduction must be below the nominal dose")
            if sorted(self.dose_reductions, reverse=True) != self.dose_reductions:
                raise ValueError("dose_reductions go from the first (highest) to the last (lowest) reduction")
        if self.route is not None:
            from earlyphase.vocab import codelist

            if self.route not in codelist("route").values:
                raise ValueError(f"unknown route {self.route!r}")
        return self

    @property
    def administrations(self) -> int | None:
        """Planned number of administrations (None: until progression)."""
        return self.schedule.planned_count

    @property
    def is_step_up(self) -> bool:
        return bool(self.step_up_doses)

    def planned_dose(self, number: int) -> float:
        """Planned (full) dose of administration ``number`` (1-based), in the product's unit."""
        count = self.administrations
        if number < 1 or (count is not None and number > count):
            raise ValueError(f"administration {number} is outside 1..{count}")
        if self.step_up_doses is not None and number <= len(self.step_up_doses):
            return float(self.step_up_doses[number - 1])
        return float(self.dose)

    @property
    def cumulative_dose(self) -> float | None:
        """Total planned dose over the regimen (None when treatment runs until progression)."""
        count = self.administrations
        if count is None:
            return None
        return float(sum(self.planned_dose(k) for k in range(1, count + 1)))

    def doses_text(self, fmt=str) -> str:
        """The planned doses in short form, e.g. '1, 2, then 4' or '3 x 4' (numbers written by ``fmt``)."""
        count = self.administrations
        if self.step_up_doses:
            steps = ", ".join(fmt(d) for d in self.step_up_doses)
            return f"{steps}, then {fmt(self.dose)}"
        return f"{fmt(self.dose)}" + (f" x {count}" if count else "")
