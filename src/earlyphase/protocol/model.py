"""The study as designed: pydantic models of a study (protocol) file.

Doses are in the product's unit (``product.dose_unit``); intervals, windows and offsets in days.
Groups are listed in order of intensity; each is a dose level with its regimen, and that order is
the escalation order the design engine uses (level 1 = first group). The study's forms, visits,
eligibility criteria and adverse events of special interest are defined here too
(:mod:`earlyphase.protocol.forms`, :mod:`earlyphase.protocol.dosing`, :mod:`earlyphase.protocol.schedule`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from earlyphase.protocol.dosing import Product, Regimen
from earlyphase.protocol.evidence import ExternalEvidence
from earlyphase.protocol.forms import CodelistDef, CoreFormExtension, Form, FormField
from earlyphase.protocol.schedule import Eligibility, SpecialInterest, Visit


class _Strict(BaseModel):
    # A typo in a study file must fail loudly, not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Strict):
    code: str = Field(min_length=1, max_length=20, description="Short site code, e.g. 'SYSU'.")
    name: str = Field(min_length=1, max_length=200, description="The site's name as reports print it.")
    country: str | None = Field(default=None, min_length=2, max_length=2,
                                description="ISO 3166 two-letter country code, e.g. GB.")


class Group(_Strict):
    """A dose level: its code, label and regimen (groups are listed from the lowest to the highest level)."""

    code: str = Field(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9_\-]+$",
                      description="Short code of the level (allocations name it), e.g. A or L3.")
    label: str = Field(min_length=1, description="What reports call the level, e.g. '3 mg/kg every 3 weeks'.")
    registry_arm: str | None = Field(default=None, description="The arm's title in the trial registry, if any.")
    planned_n: int | None = Field(default=None, ge=0, description="Patients planned at this level.")
    regimen: Regimen = Field(description="The dose and schedule the level receives.")


class ImagingSchedule(_Strict):
    interval_days: int = Field(default=56, ge=1, description="Days between scheduled assessments (~8 weeks).")
    window_days: int = Field(default=7, ge=0, description="± days around a scheduled assessment still on time.")
    baseline_window_days: int = Field(default=28, ge=0, description="Baseline scan at most this many days before start.")
    modalities: list[str] = Field(default_factory=lambda: ["CT", "MRI"],
                                  description="Imaging the study uses (CT, MRI, PET-CT, ultrasound, X-ray).")


class PfsRules(_Strict):
    """The censoring rules of the PFS derivation (FDA guidance 2018); each can be switched."""

    start: Literal["first_dose", "allocation"] = Field(
        default="first_dose", description="Time origin: the first administration of the product, or allocation.")
    censor_no_post_baseline_at_start: bool = Field(
        default=True, description="No evaluable assessment after the start and no death: censored at the start.")
    censor_at_new_anticancer_therapy: bool = Field(
        default=True, description="Censored at the last adequate assessment before a new anticancer therapy.")
    missed_assessments_limit: int | None = Field(
        default=2, ge=1, description="Event after this many or more missed scheduled assessments is censored; null = off."
    )
    death_counts_as_event: bool = Field(default=True, description="Death without progression is a PFS event.")


class Analysis(_Strict):
    days_per_month: float = Field(default=30.4375, gt=0, description="Days in a month when times are shown in months.")
    conf_level: float = Field(default=0.95, gt=0, lt=1, description="Confidence level of every interval.")
    conf_type: Literal["log-log", "log", "plain"] = Field(
        default="log-log", description="Transformation of the Kaplan-Meier confidence intervals.")
    data_cutoff: date | None = Field(default=None, description="Data cut-off; default: the latest date in the data.")
    landmarks_months: list[float] = Field(default_factory=lambda: [6.0, 12.0, 24.0],
                                          description="Times (months) of the landmark survival rates.")
    pfs: PfsRules = Field(default_factory=PfsRules, description="The censoring rules of PFS.")
    time_axis: Literal["bulk", "full"] | Annotated[float, Field(gt=0)] = Field(
        default="bulk", description="End of the figures' time axis: 'bulk' (where few remain at risk; longer "
        "times drawn as arrows and the axis marked as truncated), 'full', or a number of months.")


class DesignParameters(_Strict):
    """The design's own parameters, as the protocol states them (unset = the design's published default).

    Which ones apply depends on the design (``DESIGN_PARAMETERS``); a parameter the chosen design does not
    take is refused when the study file is read.
    """

    skeleton: list[float] | None = Field(default=None, description="CRM: prior DLT probability of each level, "
                                         "lowest first, one per group, increasing.")
    model: Literal["empiric", "logistic"] | None = Field(default=None, description="CRM: the working model.")
    prior_sd: float | None = Field(default=None, gt=0, description="CRM: prior standard deviation of beta.")
    safety_cutoff: float | None = Field(default=None, gt=0, lt=1, description="CRM: stop when P(DLT rate at "
                                        "level 1 > target) exceeds this.")
    no_skip: bool | None = Field(default=None, description="CRM: never escalate more than one level at a time.")
    no_escalation_after_dlt: bool | None = Field(default=None, description="CRM: no escalation right after a "
                                                 "cohort with a DLT.")
    cutoff_eli: float | None = Field(default=None, gt=0, lt=1, description="BOIN, mTPI-2, i3+3: eliminate a level "
                                     "when P(DLT rate > target) exceeds this.")
    extrasafe: bool | None = Field(default=None, description="BOIN, mTPI-2, i3+3: the stricter stopping rule at "
                                   "level 1.")
    offset: float | None = Field(default=None, gt=0, lt=0.5, description="BOIN, mTPI-2, i3+3: the extra-safe offset.")
    n_earlystop: int | None = Field(default=None, ge=1, description="Stop when the current level has this many "
                                    "patients and the decision is to stay.")
    p_saf: float | None = Field(default=None, gt=0, lt=1, description="BOIN: highest DLT rate deemed too low.")
    p_tox: float | None = Field(default=None, gt=0, lt=1, description="BOIN: lowest DLT rate deemed too toxic.")
    margin_low: float | None = Field(default=None, gt=0, lt=1, description="mTPI-2, i3+3: lower margin of the "
                                     "target interval.")
    margin_high: float | None = Field(default=None, gt=0, lt=1, description="mTPI-2, i3+3: upper margin of the "
                                      "target interval.")
    deescalation: bool | None = Field(default=None, description="3+3: de-escalate (expand the level below) when a "
                                      "level exceeds the MTD.")
    tite: bool = Field(default=False, description="BOIN, CRM: decide with patients still inside the DLT window, "
                                                  "weighted by their follow-up (TITE), instead of waiting for them.")

    def given(self) -> dict[str, object]:
        """The parameters the protocol sets (``tite`` is how pending patients are handled, not a rule option)."""
        return {k: v for k, v in self.model_dump().items() if v is not None and k != "tite"}


# The parameters each design takes (the design engine's option names).
_INTERVAL = ("cutoff_eli", "extrasafe", "offset", "n_earlystop")
DESIGN_PARAMETERS: dict[str, tuple[str, ...]] = {
    "3+3": ("deescalation",),
    "boin": _INTERVAL + ("p_saf", "p_tox"),
    "crm": ("skeleton", "model", "prior_sd", "safety_cutoff", "no_skip", "no_escalation_after_dlt", "n_earlystop"),
    "mtpi2": _INTERVAL + ("margin_low", "margin_high"),
    "i3+3": _INTERVAL + ("margin_low", "margin_high"),
    "fixed-allocation": (),
    "pocrm": ("skeleton", "model", "prior_sd", "safety_cutoff", "no_skip", "no_escalation_after_dlt", "n_earlystop"),
}
TITE_DESIGNS = ("boin", "crm")


class DoseFinding(_Strict):
    """How the next group/level is chosen (the design engine reads this)."""

    design: Literal["3+3", "boin", "crm", "mtpi2", "i3+3", "pocrm", "fixed-allocation"] = Field(
        default="3+3", description="The dose-finding design the next-dose recommendation follows.")
    target_dlt_rate: float = Field(default=0.3, gt=0, lt=1, description="Target probability of a DLT.")
    cohort_size: int = Field(default=3, ge=1, description="Patients per cohort.")
    max_patients: int | None = Field(default=None, ge=1, description="Most patients the design may enrol.")
    parameters: DesignParameters = Field(default_factory=DesignParameters,
                                         description="The design's own parameters (e.g. the CRM skeleton).")
    toxicity_order: list[tuple[str, str]] | None = Field(
        default=None, description="Pairs [less toxic, more toxic] of group codes known in advance, when the groups "
                                  "are only partially ordered (dose x schedule). Unset: the listed order of the groups.")
    order_from_regimens: bool = Field(
        default=False, description="Add the pairs the regimens imply: no more administrations, given no more often, and "
                                   "each planned dose no higher (step-up doses included).")
    evaluable_min_administrations: int = Field(
        default=1, ge=1, description="DLT evaluability: a patient without a DLT counts once the DLT window is over "
                                     "if at least this many administrations were given inside it (the protocol's "
                                     "minimum exposure); a patient with a DLT in the window always counts.")

    @model_validator(mode="after")
    def _parameters_fit_design(self) -> "DoseFinding":
        allowed = DESIGN_PARAMETERS[self.design]
        wrong = [k for k in self.parameters.given() if k not in allowed]
        if wrong:
            takes = ", ".join(allowed) if allowed else "no parameters"
            raise ValueError(f"parameters.{wrong[0]} does not apply to the {self.design} design (it takes: {takes})")
        if self.parameters.tite and self.design not in TITE_DESIGNS:
            raise ValueError(f"parameters.tite: time-to-event weighting is available for "
                             f"{' and '.join(TITE_DESIGNS)}, not {self.design}")
        if self.design in ("crm", "pocrm") and self.parameters.skeleton is None:
            raise ValueError(f"parameters.skeleton: the {self.design} design needs a skeleton (prior DLT probability per level)")
        if self.design == "pocrm" and self.toxicity_order is None and not self.order_from_regimens:
            raise ValueError("toxicity_order: the pocrm design needs the known toxicity pairs (toxicity_order) or "
                             "order_from_regimens: true")
        return self


class Endpoint(_Strict):
    name: str = Field(description="The endpoint's name as the report prints it.")
    kind: Literal["primary", "secondary", "exploratory"] = Field(description="Its place in the protocol.")
    description: str = Field(description="What it measures and how.")
    paramcd: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9]{0,7}$",
                                description="The analysis parameter it names (PFS or OS): the report then uses this name.")


# ADSL columns earlyphase derives itself: a study's own baseline variables take other names.
RESERVED_ADSL_VARIABLES = frozenset({
    "STUDYID", "USUBJID", "SUBJID", "SITEID", "TRT01P", "TRT01PN", "TRT01A", "RANDDT", "TRTSDT", "TRTEDT",
    "NADM", "NADMPL", "CUMDOSE", "CUMDOSPL", "DOSEU", "ENRLFL", "ALLOCFL", "SAFFL", "COMPLFL", "EOTSTT", "DCTREAS",
    "AGE", "AGEU", "SEX", "ECOGBL", "DTHFL", "DTHDT", "DTHCAUS", "DTHSEQ", "LSTALVDT", "DCUTDT", "SRCDOM", "SRCSEQ",
})


class Study(_Strict):
    """A whole study file."""

    study_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$",
                          description="Short identifier, e.g. abx-101-fih.")
    title: str = Field(min_length=1, description="The protocol's full title.")
    registry_id: str | None = Field(default=None, pattern=r"^NCT\d{8}$", description="ClinicalTrials.gov identifier.")
    sponsor: str = Field(min_length=1, description="The sponsor.")
    phase: str = Field(default="I", description="Trial phase, e.g. I or I/II.")
    synthetic: bool = Field(default=False, description="True when the data loaded for this study are synthetic.")
    ctcae_version: Literal["4.03", "5.0"] = Field(default="5.0", description="CTCAE version adverse events are graded by.")
    ctcae_file: str | None = Field(
        default=None, description="Path to NCI's CTCAE Excel file for the full dictionary; default: the bundled terms."
    )
    response_criteria: Literal["mRECIST", "RECIST 1.1", "iRECIST"] = Field(
        default="mRECIST", description="Tumour response criteria (the report names them).")
    dlt_window_days: int = Field(ge=1, le=365, description="Days from the first dose in which a DLT counts.")
    enrolment_start: date | None = Field(default=None, description="First day patients may be enrolled.")
    enrolment_end: date | None = Field(default=None, description="Last day patients may be enrolled.")
    sites: list[Site] = Field(min_length=1, description="The sites; patients are enrolled at one of them.")
    product: Product = Field(description="The study product: name, dose unit, route, the noun for one administration.")
    groups: list[Group] = Field(min_length=1, description="Dose levels with their regimens, lowest first (level 1).")
    eligibility: Eligibility = Field(default_factory=Eligibility,
                                     description="Inclusion and exclusion criteria, answered at enrolment.")
    forms: list[Form] = Field(default_factory=list, description="The study's own forms (its data dictionary).")
    core_forms: dict[str, CoreFormExtension] = Field(
        default_factory=dict, description="Fields the study adds to core forms, by core form name (enrolment, "
                                          "allocation, administration, adverse_event, tumour_assessment, "
                                          "other_therapy, follow_up, death).")
    codelists: list[CodelistDef] = Field(default_factory=list,
                                         description="Codelists of this study (besides the bundled ones).")
    visits: list[Visit] = Field(default_factory=list, description="The visit schedule and the forms due at each.")
    adverse_events_of_special_interest: list[SpecialInterest] = Field(
        default_factory=list, description="Adverse events the report tabulates on their own (e.g. infusion reactions).")
    imaging: ImagingSchedule = Field(default_factory=ImagingSchedule,
                                     description="Tumour imaging: interval and windows the PFS rules use.")
    analysis: Analysis = Field(default_factory=Analysis, description="How the analysis is done.")
    dose_finding: DoseFinding = Field(default_factory=DoseFinding, description="How the next level is chosen.")
    endpoints: list[Endpoint] = Field(default_factory=list, description="The protocol's endpoints.")
    external_evidence: ExternalEvidence = Field(
        default_factory=ExternalEvidence,
        description="Published Kaplan-Meier curves the report sets the trial beside (optional).")
    assumptions: list[str] = Field(
        default_factory=list, description="Plain statements of every value that is assumed rather than known."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Study":
        from earlyphase.protocol.validation import study_problems

        problems = study_problems(self)
        if problems:
            # one line per problem, "path: message"; the loader reports each as its own problem
            raise ValueError("\n".join(f"{path}: {message}" for path, message in problems))
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

    def toxicity_pairs(self) -> list[tuple[int, int]]:
        """Known (less toxic, more toxic) pairs of 1-based levels: the listed order, or what
        ``dose_finding.toxicity_order`` / ``order_from_regimens`` declare (dose x schedule)."""
        from earlyphase.protocol.regimen_order import level_relations

        return level_relations(self)

    @property
    def group_codes(self) -> list[str]:
        return [g.code for g in self.groups]

    @property
    def levels(self) -> list[Group]:
        """The dose levels in escalation order (the same list as ``groups``)."""
        return list(self.groups)

    def site(self, code: str) -> Site:
        for s in self.sites:
            if s.code == code:
                return s
        raise KeyError(code)

    def form(self, name: str) -> Form:
        """The study form ``name`` (``KeyError`` when the study has none of that name)."""
        for f in self.forms:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def form_names(self) -> list[str]:
        return [f.name for f in self.forms]

    def extension(self, core_form: str) -> CoreFormExtension | None:
        """The fields the study adds to core form ``core_form``, or None."""
        return self.core_forms.get(core_form)

    def codes_of(self, field: FormField) -> list[tuple[str, str]]:
        """(code, label) pairs of a choice field: its own codes or its codelist's (study first, then bundled)."""
        if field.codes is not None:
            return [(c.code, c.label) for c in field.codes]
        if field.codelist is None:
            return []
        for cl in self.codelists:
            if cl.name == field.codelist:
                return [(c.code, c.label) for c in cl.codes]
        from earlyphase.vocab import bundled_codelists

        found = bundled_codelists().get(field.codelist)
        return [(c.code, c.label) for c in found.codes] if found else []

    def visit(self, code: str) -> Visit:
        for v in self.visits:
            if v.code == code:
                return v
        raise KeyError(code)

    def adam_fields(self) -> list[tuple[str, FormField]]:
        """(form name, field) of every field that names an ADSL variable, study forms then core extensions."""
        out = [(form.name, f) for form in self.forms for f in form.fields if f.adam is not None]
        out += [(core, f) for core, ext in self.core_forms.items() for f in ext.fields if f.adam is not None]
        return out
