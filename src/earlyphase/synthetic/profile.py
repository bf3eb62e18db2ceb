"""The profile of a synthetic data set: what a made-up trial of one study looks like, as data.

A profile (YAML, ``profiles/NAME.yaml`` for a bundled study, or any file) gives the seed, the
calendar, the true DLT probability of each dose level (the dose-finding design then decides the
levels from the DLTs drawn), the adverse events, the tumour response and survival, and how to fill
the study's forms. Every number in a profile is invented; the data made from it are labelled synthetic.

Values of form fields are written as a constant, or as one of:

- ``{normal: [mean, sd]}`` (rounded to ``digits``), ``{uniform: [low, high]}``;
- ``{choose: [code, ...], weights: [...]}``; ``{probability: p}`` for a yes/no field;
- ``{days_after: [low, high]}`` for a date that many days after the record's date.

A field without a value in the profile is filled from its definition (a date field takes the record's
date; a number lies in the soft range, else the hard range; a choice takes a random code; yes/no is no).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueSpec(_Strict):
    """How one value is drawn (exactly one of the keys, ``digits`` aside)."""

    value: Any = None
    normal: tuple[float, float] | None = None
    uniform: tuple[float, float] | None = None
    choose: list[Any] | None = None
    weights: list[float] | None = None
    probability: float | None = Field(default=None, ge=0, le=1)
    days_after: tuple[int, int] | None = None
    digits: int = Field(default=1, ge=0, le=6)

    @model_validator(mode="before")
    @classmethod
    def _constant(cls, data):
        # a plain value in the profile is a constant
        if not isinstance(data, dict):
            return {"value": data}
        return data

    @model_validator(mode="after")
    def _one(self) -> "ValueSpec":
        given = [k for k in ("normal", "uniform", "choose", "probability", "days_after") if getattr(self, k) is not None]
        if len(given) > 1 or (given and self.value is not None):
            raise ValueError(f"give one way to draw the value, not {', '.join(given)}")
        if self.weights is not None and (self.choose is None or len(self.weights) != len(self.choose)):
            raise ValueError("weights go with choose, one per choice")
        return self


PerLevel = list[float]


class AdverseEventSpec(_Strict):
    """An adverse event each patient may have: its chance per level, grades, timing and attribution."""

    term: str
    probability: PerLevel = Field(description="Chance per patient at each level (one number per level).")
    grades: list[int] = Field(default_factory=lambda: [1, 2])
    grade_weights: list[float] | None = None
    attribution: Literal["unrelated", "unlikely", "possible", "probable", "definite"] = "possible"
    day: tuple[int, int] = Field(default=(1, 60), description="Onset, days after the first dose.")
    duration_days: tuple[int, int] = (2, 21)


class DltSpec(_Strict):
    term: str
    grade: int = Field(default=3, ge=3, le=4)
    attribution: Literal["possible", "probable", "definite"] = "probable"


class EventAdverseEvent(_Strict):
    """The adverse event an event form's episode is also recorded as, graded by the form's derived grade."""

    term: str
    attribution: Literal["unrelated", "unlikely", "possible", "probable", "definite"] = "definite"
    duration_days: tuple[int, int] = (2, 10)


class Template(_Strict):
    weight: float = Field(default=1.0, gt=0)
    values: dict[str, ValueSpec] = Field(default_factory=dict)


class EventForm(_Strict):
    """A form entered when something happens (not at a visit): con-meds, a CRS episode."""

    form: str
    probability: PerLevel = Field(description="Chance per patient at each level.")
    count: tuple[int, int] = Field(default=(1, 1), description="Episodes of a patient who has any.")
    day: tuple[int, int] = Field(default=(1, 30), description="Days after the first dose (negative: before).")
    templates: list[Template] = Field(default_factory=lambda: [Template()])
    template_weights: list[list[float]] | None = Field(
        default=None, description="Per level, one weight per template (instead of each template's weight).")
    adverse_event: EventAdverseEvent | None = None


class VisitForm(_Strict):
    values: dict[str, ValueSpec] = Field(default_factory=dict)


class Outcomes(_Strict):
    """Response and survival, per level: the chance of a partial response, median PFS, and OS after progression."""

    response_probability: PerLevel
    pfs_median_days: PerLevel
    os_after_progression_median_days: float = Field(gt=0)
    lesion_sites: list[str] = Field(min_length=1)
    new_therapy_probability: float = Field(default=0.5, ge=0, le=1)
    new_therapies: list[str] = Field(default_factory=lambda: ["chemotherapy"])


class Profile(_Strict):
    """A synthetic data set of one study (see the module docstring)."""

    study: str = Field(description="The study_id the profile is for.")
    seed: int
    note: str = Field(description="The label every output carries.")
    first_enrolment: date
    data_cutoff: date
    subject_prefix: str = Field(default="SYN", pattern=r"^[A-Z]{2,6}$")
    days_between_patients: tuple[int, int] = (2, 10)
    days_between_cohorts: tuple[int, int] = (3, 14)
    enrolment_to_first_dose: tuple[int, int] = (5, 14)
    true_dlt_probability: PerLevel
    dlt_terms: list[DltSpec] = Field(min_length=1)
    adverse_events: list[AdverseEventSpec] = Field(default_factory=list)
    outcomes: Outcomes
    female_probability: float = Field(default=0.5, ge=0, le=1)
    age: tuple[int, int] = (35, 80)
    ecog_weights: list[float] = Field(default_factory=lambda: [0.5, 0.5])
    weight_kg: ValueSpec = Field(default_factory=lambda: ValueSpec(normal=(75, 12)))
    height_cm: ValueSpec = Field(default_factory=lambda: ValueSpec(normal=(170, 9)))
    dose_variation_percent: float = Field(default=0.0, ge=0, le=20)
    administration_values: dict[str, ValueSpec] = Field(default_factory=dict)
    visit_forms: dict[str, VisitForm] = Field(default_factory=dict)
    event_forms: list[EventForm] = Field(default_factory=list)
    max_cycles: int = Field(default=12, ge=1, le=200)


def read_profile(source: str) -> Profile:
    """A bundled profile by study name, or a profile file; ``InputError`` when neither exists or it is invalid."""
    from importlib import resources
    from pathlib import Path

    import yaml
    from pydantic import ValidationError

    from earlyphase.errors import InputError, Problem

    bundled = resources.files("earlyphase.synthetic") / "profiles" / f"{source}.yaml"
    if bundled.is_file():
        text, origin = bundled.read_text(encoding="utf-8"), f"bundled:{source}"
    elif Path(source).is_file():
        text, origin = Path(source).read_text(encoding="utf-8"), source
    else:
        raise InputError.single("profile", source, "exists",
                                f"no synthetic profile {source!r} (bundled: {', '.join(bundled_profiles())})")
    try:
        return Profile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else [{"loc": ("(file)",), "msg": str(exc)}]
        raise InputError([Problem(".".join(map(str, e["loc"])), None, "profile", e["msg"], file=origin)
                          for e in errors], summary=f"synthetic profile {origin} is not valid") from None


def bundled_profiles() -> list[str]:
    from importlib import resources

    folder = resources.files("earlyphase.synthetic") / "profiles"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))
