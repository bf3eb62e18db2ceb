"""The study as designed: pydantic models of a study (protocol) file.

Units: doses in cells per infusion (optionally cells/kg); intervals and windows in days.
Groups are listed in order of intensity; that order is the escalation order the design
engine uses as dose levels (level 1 = first group).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ValueSource = Literal["published", "assumed", "protocol"]


class _Strict(BaseModel):
    # A typo in a study file must fail loudly, not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Strict):
    code: str = Field(min_length=1, max_length=20, description="Short site code, e.g. 'SYSU'.")
    name: str = Field(min_length=1)
    country: str | None = None


class Regimen(_Strict):
    """What a group receives: product, dose per infusion, number of infusions, interval.

    A step-up regimen lists one dose per infusion in ``step_doses_cells``; otherwise every
    infusion is ``dose_cells``.
    """

    product: str = Field(min_length=1, description="e.g. allogeneic sibling-donor NK cells (CD3-CD56+)")
    dose_cells: float = Field(gt=0, description="Cells per infusion (the nominal dose).")
    dose_cells_per_kg: float | None = Field(default=None, gt=0, description="Cells/kg per infusion, if dosed by weight.")
    infusions: int = Field(ge=1, le=100, description="Planned number of infusions.")
    interval_days: int = Field(ge=1, le=365, description="Days between consecutive infusions.")
    step_doses_cells: list[float] | None = Field(
        default=None, description="Per-infusion doses (cells) for step-up regimens, one per infusion."
    )
    dose_tolerance_percent: float = Field(
        default=20.0, ge=0, le=100, description="An actual dose within ± this % of the planned dose is on schedule."
    )
    interval_window_days: int = Field(
        default=3, ge=0, description="An infusion within ± this many days of its planned date is on schedule."
    )
    dose_source: ValueSource = Field(default="protocol", description="Where the dose values come from.")
    dose_note: str | None = Field(default=None, description="Why the value is what it is (e.g. assumption).")

    @field_validator("step_doses_cells")
    @classmethod
    def _positive_steps(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and any(d <= 0 for d in v):
            raise ValueError("every step dose must be a positive number of cells")
        return v

    @model_validator(mode="after")
    def _steps_match_count(self) -> "Regimen":
        if self.step_doses_cells is not None and len(self.step_doses_cells) != self.infusions:
            raise ValueError(
                f"step_doses_cells lists {len(self.step_doses_cells)} doses but infusions is {self.infusions}; "
                "give exactly one dose per planned infusion"
            )
        return self

    @property
    def is_step_up(self) -> bool:
        return self.step_doses_cells is not None

    def planned_dose(self, infusion_number: int) -> float:
        """Planned dose in cells for infusion ``infusion_number`` (1-based)."""
        if not 1 <= infusion_number <= self.infusions:
            raise ValueError(f"infusion number {infusion_number} is outside 1..{self.infusions}")
        if self.step_doses_cells is not None:
            return float(self.step_doses_cells[infusion_number - 1])
        return float(self.dose_cells)

    @property
    def cumulative_dose(self) -> float:
        """Total planned cells over the whole regimen."""
        return float(sum(self.planned_dose(k) for k in range(1, self.infusions + 1)))


class Group(_Strict):
    code: str = Field(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9_\-]+$")
    label: str = Field(min_length=1)
    registry_arm: str | None = Field(default=None, description="The arm's title in the trial registry, if any.")
    planned_n: int | None = Field(default=None, ge=0)
    regimen: Regimen


class ImagingSchedule(_Strict):
    interval_days: int = Field(default=56, ge=1, description="Days between scheduled assessments (~8 weeks).")
    window_days: int = Field(default=7, ge=0, description="± days around a scheduled assessment still on time.")
    baseline_window_days: int = Field(default=28, ge=0, description="Baseline scan at most this many days before start.")
    modalities: list[str] = Field(default_factory=lambda: ["CT", "MRI"])


class PfsRules(_Strict):
    """The censoring rules of the PFS derivation (FDA guidance 2018); each can be switched."""

    start: Literal["first_infusion", "allocation"] = "first_infusion"
    censor_no_post_baseline_at_start: bool = True
    censor_at_new_anticancer_therapy: bool = True
    missed_assessments_limit: int | None = Field(
        default=2, ge=1, description="Event after this many or more missed scheduled assessments is censored; null = off."
    )
    death_counts_as_event: bool = True


class Analysis(_Strict):
    days_per_month: float = Field(default=30.4375, gt=0)
    conf_level: float = Field(default=0.95, gt=0, lt=1)
    conf_type: Literal["log-log", "log", "plain"] = "log-log"
    data_cutoff: date | None = None
    landmarks_months: list[float] = Field(default_factory=lambda: [6.0, 12.0, 24.0])
    pfs: PfsRules = Field(default_factory=PfsRules)


class DoseFinding(_Strict):
    """How the next group/level is chosen (the design engine reads this)."""

    design: Literal["3+3", "boin", "crm", "mtpi2", "i3+3", "fixed-allocation"] = "3+3"
    target_dlt_rate: float = Field(default=0.3, gt=0, lt=1)
    cohort_size: int = Field(default=3, ge=1)
    max_patients: int | None = Field(default=None, ge=1)


class Endpoint(_Strict):
    name: str
    kind: Literal["primary", "secondary", "exploratory"]
    description: str


class Study(_Strict):
    """A whole study file."""

    study_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    title: str = Field(min_length=1)
    registry_id: str | None = Field(default=None, pattern=r"^NCT\d{8}$")
    sponsor: str = Field(min_length=1)
    phase: str = "I"
    synthetic: bool = Field(default=False, description="True when the data loaded for this study are synthetic.")
    ctcae_version: Literal["4.03", "5.0"] = "5.0"
    ctcae_file: str | None = Field(
        default=None, description="Path to NCI's CTCAE Excel file for the full dictionary; default: the bundled terms."
    )
    response_criteria: Literal["mRECIST", "RECIST 1.1", "iRECIST"] = "mRECIST"
    dlt_window_days: int = Field(ge=1, le=365)
    enrolment_start: date | None = None
    enrolment_end: date | None = None
    sites: list[Site] = Field(min_length=1)
    groups: list[Group] = Field(min_length=1, description="In order of intensity: the first is level 1.")
    imaging: ImagingSchedule = Field(default_factory=ImagingSchedule)
    analysis: Analysis = Field(default_factory=Analysis)
    dose_finding: DoseFinding = Field(default_factory=DoseFinding)
    endpoints: list[Endpoint] = Field(default_factory=list)
    assumptions: list[str] = Field(
        default_factory=list, description="Plain statements of every value that is assumed rather than known."
    )

    @model_validator(mode="after")
    def _unique_codes(self) -> "Study":
        problems = []
        for what, codes in (("groups", [g.code for g in self.groups]), ("sites", [s.code for s in self.sites])):
            dupes = sorted({c for c in codes if codes.count(c) > 1})
            if dupes:
                problems.append(f"{what} codes must be unique; repeated: {', '.join(dupes)}")
        if self.enrolment_start and self.enrolment_end and self.enrolment_end < self.enrolment_start:
            problems.append("enrolment_end is before enrolment_start")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- look-ups used by capture, derive and design -------------------------------------------
    def group(self, code: str) -> Group:
        for g in self.groups:
            if g.code == code:
                return g
        raise KeyError(code)

    def level_of(self, code: str) -> int:
        """1-based escalation level of group ``code`` (its position in the intensity order)."""
        return [g.code for g in self.groups].index(code) + 1

    @property
    def group_codes(self) -> list[str]:
        return [g.code for g in self.groups]

    def site(self, code: str) -> Site:
        for s in self.sites:
            if s.code == code:
                return s
        raise KeyError(code)
