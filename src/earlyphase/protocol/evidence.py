"""Published curves a study sets its results beside (the report's external-evidence section).

Each curve is written into the study file as it was digitised: the points of the published Kaplan–Meier figure
and the numbers at risk printed under it, with the source it came from. The report rebuilds patient data from
them (earlyphase.external, Guyot 2012) and compares; here they are only checked to be a survival curve.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The largest rise between consecutive points (proportion scale) taken as digitiser noise; as earlyphase.external.
RISE_TOLERANCE = 0.02


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DigitisedPoints(_Strict):
    """Points clicked on the published figure, in the figure's time unit."""

    time: list[float] = Field(min_length=2, description="Times of the points (the figure's unit, see time_unit).")
    survival: list[float] = Field(min_length=2, description="Survival at each point, on the scale given by scale.")
    scale: Literal["proportion", "percent"] = Field(default="proportion",
                                                    description="Survival as a proportion (0-1) or percent (0-100).")

    @model_validator(mode="after")
    def _a_survival_curve(self) -> "DigitisedPoints":
        if len(self.time) != len(self.survival):
            raise ValueError(f"time has {len(self.time)} values but survival has {len(self.survival)}")
        top = 100.0 if self.scale == "percent" else 1.0
        for i, (t, s) in enumerate(zip(self.time, self.survival), start=1):
            if t < 0:
                raise ValueError(f"point {i}: time {t:g} is negative")
            if not (-0.01 * top <= s <= 1.01 * top):
                raise ValueError(f"point {i}: survival {s:g} is outside 0-{top:g} ({self.scale} scale)")
        pts = sorted(zip(self.time, [-s / top for s in self.survival]))
        low = 1.0
        for t, neg in pts:
            s = -neg
            if s - low > RISE_TOLERANCE:
                raise ValueError(f"the curve rises at time {t:g} (from {low * top:g} to {s * top:g}): a survival "
                                 "curve never rises")
            low = min(low, s)
        return self


class AtRiskTable(_Strict):
    """The numbers at risk printed under the figure."""

    time: list[float] = Field(min_length=1, description="Times of the table, the first 0, increasing.")
    n_risk: list[int] = Field(min_length=1, description="Patients at risk at each time, never rising.")

    @model_validator(mode="after")
    def _a_risk_table(self) -> "AtRiskTable":
        if len(self.time) != len(self.n_risk):
            raise ValueError(f"{len(self.time)} times but {len(self.n_risk)} numbers at risk")
        if self.time[0] != 0:
            raise ValueError("the table must start at time 0")
        for i in range(1, len(self.time)):
            if self.time[i] <= self.time[i - 1]:
                raise ValueError(f"times must increase (row {i + 1}: {self.time[i]:g} after {self.time[i - 1]:g})")
            if self.n_risk[i] > self.n_risk[i - 1]:
                raise ValueError(f"the number at risk cannot rise (row {i + 1}: {self.n_risk[i]} after "
                                 f"{self.n_risk[i - 1]})")
        if self.n_risk[0] < 1 or min(self.n_risk) < 0:
            raise ValueError("numbers at risk are whole numbers >= 0, with at least 1 patient at time 0")
        return self


class ExternalCurve(_Strict):
    """One published arm: its digitised curve, its risk table, and where it was published."""

    label: str = Field(min_length=1, description="What the report calls the arm, e.g. 'Published control'.")
    endpoint: Literal["OS", "PFS"] = Field(description="The trial endpoint it is set beside.")
    source: str = Field(min_length=1, description="Where the curve was published (citation and figure).")
    time_unit: Literal["months", "weeks", "days", "years"] = Field(default="months",
                                                                  description="Time unit of the figure's axis.")
    curve: DigitisedPoints = Field(description="The digitised points of the curve.")
    at_risk: AtRiskTable = Field(description="The numbers-at-risk table under the figure.")
    total_events: int | None = Field(default=None, ge=0, description="Published total number of events, if given.")

    @model_validator(mode="after")
    def _events_within_arm(self) -> "ExternalCurve":
        if self.total_events is not None and self.total_events > self.at_risk.n_risk[0]:
            raise ValueError(f"total_events {self.total_events} is more than the {self.at_risk.n_risk[0]} patients "
                             "at time 0")
        return self


class ExternalEvidence(_Strict):
    """Published curves the report sets the trial beside (a section of its own, with the caveats of a
    non-randomised comparison)."""

    curves: list[ExternalCurve] = Field(default_factory=list, description="The published arms.")
    rmst_horizon_months: float | None = Field(
        default=None, gt=0, description="RMST horizon in months; default: the shortest follow-up among the arms.")
