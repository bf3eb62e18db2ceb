"""Make a synthetic data set of any study from its study file and a profile, as capture actions.

Everything is drawn from one seeded ``numpy.random.Generator``, so a profile gives the same data set
every time. The trial runs as a dose-finding trial would: cohorts of ``dose_finding.cohort_size``
patients start at level 1, each patient's DLT is drawn from the level's true DLT probability, and the
study's design (3+3, BOIN, mTPI-2, i3+3 from ``earlyphase.design``) decides the next cohort's level from
the DLTs seen, until it stops or ``max_patients`` are treated. Around each patient the generator builds
the records a site would enter: enrolment with eligibility answers, the study's forms at each visit of
the schedule, allocation, every administration of the regimen (cycles until progression, or N
administrations), adverse events, event forms (e.g. a CRS episode, whose grade capture derives from the
signs), scans measured by RECIST (responses, then progression with a new lesion), other therapy,
follow-up contacts and deaths.

The result is a list of ``Action`` (a capture action's name and arguments), written by
:mod:`earlyphase.synthetic.load` through capture, so every record passes the same checks as real data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from earlyphase.errors import InputError
from earlyphase.protocol import Study
from earlyphase.protocol.forms import Form, FormField
from earlyphase.protocol.schedule import patient_anchors, visit_occurrences
from earlyphase.synthetic.profile import EventForm, Profile, ValueSpec

SUPPORTED_DESIGNS = ("3+3", "boin", "mtpi2", "i3+3")


@dataclass(frozen=True)
class Action:
    """One capture action: ``Trial``/``Batch`` method name, positional and keyword arguments."""

    name: str
    args: tuple
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class CohortDecision:
    """The design's decision after one cohort."""

    cohort: int
    level: int
    patients: tuple[str, ...]
    dlts: int
    decision: str
    next_level: int | None
    reason: str


@dataclass(frozen=True)
class SyntheticData:
    """A synthetic data set: the capture actions, the design's decisions, how it was made."""

    study_id: str
    seed: int
    note: str
    data_cutoff: date
    actions: list[Action]
    decisions: list[CohortDecision]
    mtd: int | None = None
    subject_ids: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.actions:
            key = a.args[1] if a.name == "record_form" else a.name.removeprefix("record_").removesuffix("_patient")
            out[key] = out.get(key, 0) + 1
        return out


def _span(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return int(rng.integers(low, high + 1)) if high > low else int(low)


def _level_value(values: list[float], level: int) -> float:
    return values[min(level, len(values)) - 1]


class _Patient:
    """What the generator knows of one patient while building the records."""

    def __init__(self, subject_id: str, site: str, level: int, group: str, enrolment: date, first_dose: date):
        self.subject_id, self.site, self.level, self.group = subject_id, site, level, group
        self.enrolment, self.first_dose = enrolment, first_dose
        self.dlt = False
        self.actions: list[Action] = []
        self.pending_scans: list[Action] = []
        self.terms: set[str] = set()

    def act(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.actions.append(Action(name, (self.subject_id, *args), kwargs))


class SyntheticTrial:
    """Builds one synthetic data set (``generate_synthetic`` is the entry point)."""

    def __init__(self, study: Study, profile: Profile):
        if profile.study != study.study_id:
            raise InputError.single("profile", profile.study, "profile-study",
                                    f"the profile is for study {profile.study}, not {study.study_id}")
        design = study.dose_finding.design
        if design not in SUPPORTED_DESIGNS:
            raise InputError.single("dose_finding.design", design, "synthetic-design",
                                    f"synthetic data follow the designs {', '.join(SUPPORTED_DESIGNS)}")
        for name in profile.visit_forms:
            study.form(name)  # KeyError: a profile naming a form the study lacks is a profile error
        self.study, self.profile = study, profile
        self.rng = np.random.default_rng(profile.seed)
        self.cutoff = profile.data_cutoff

    # -- the trial: cohorts and the design's decisions ------------------------------------------
    def run(self) -> SyntheticData:
        from earlyphase.design import next_dose

        study, profile, rng = self.study, self.profile, self.rng
        levels = len(study.groups)
        size = study.dose_finding.cohort_size
        limit = study.dose_finding.max_patients or 6 * levels
        n, y = [0] * levels, [0] * levels
        level, start = 1, profile.first_enrolment
        actions: list[Action] = []
        decisions: list[CohortDecision] = []
        ids: list[str] = []
        mtd = None
        while sum(n) + size <= limit and start <= self.cutoff - timedelta(days=90):
            cohort: list[_Patient] = []
            day = start
            for _ in range(size):
                ids.append(f"{profile.subject_prefix}-{len(ids) + 1:03d}")
                site = study.sites[len(ids) % len(study.sites)].code
                first = day + timedelta(days=_span(rng, profile.enrolment_to_first_dose))
                patient = _Patient(ids[-1], site, level, study.groups[level - 1].code, day, first)
                self.patient(patient)
                cohort.append(patient)
                actions += patient.actions
                day += timedelta(days=_span(rng, profile.days_between_patients))
            dlts = sum(p.dlt for p in cohort)
            n[level - 1] += size
            y[level - 1] += dlts
            target = study.dose_finding.target_dlt_rate
            decision = next_dose(study.dose_finding.design, n, y, level,
                                 target=None if study.dose_finding.design == "3+3" else target,
                                 last_cohort_dlt=dlts)
            decisions.append(CohortDecision(len(decisions) + 1, level, tuple(p.subject_id for p in cohort), dlts,
                                            decision.decision, decision.next_level, decision.reason))
            if decision.decision == "stop" or decision.next_level is None:
                mtd = decision.mtd
                break
            last_dose = max(p.first_dose for p in cohort)
            start = last_dose + timedelta(days=study.dlt_window_days + _span(rng, profile.days_between_cohorts))
            if decision.next_level != level and study.dose_finding.design != "fixed-allocation":
                # the trial's own record of the move, sealed, as a dose-finding study needs before allocating there
                word = "escalate" if decision.next_level > level else "de-escalate"
                actions.append(Action("record_dose_decision", (
                    start.isoformat(), word, study.groups[decision.next_level - 1].code,
                    f"{dlts}/{size} DLT in cohort {len(decisions)} (synthetic): {decision.reason}",
                    "Safety review committee (synthetic)"), {"recommendation": decision.to_dict(), "seal": True}))
            level = decision.next_level
        return SyntheticData(study.study_id, profile.seed, profile.note, self.cutoff, actions, decisions, mtd, ids)

    # -- one patient ---------------------------------------------------------------------------
    def patient(self, p: _Patient) -> None:
        study, profile, rng = self.study, self.profile, self.rng
        p.dlt = bool(rng.random() < _level_value(profile.true_dlt_probability, p.level))
        # outcomes first: they decide how long treatment, scans and follow-up last
        out = profile.outcomes
        responder = bool(rng.random() < _level_value(out.response_probability, p.level))
        best_ratio = rng.uniform(0.3, 0.65) if responder else rng.uniform(0.85, 1.1)
        pfs_days = max(14, int(rng.exponential(_level_value(out.pfs_median_days, p.level) / math.log(2))))
        death = p.first_dose + timedelta(days=pfs_days + max(7, int(rng.exponential(
            out.os_after_progression_median_days / math.log(2)))))
        scans = self._scan_dates(p)
        progression = next((d for d in scans if (d - p.first_dose).days >= pfs_days and d < death), None)
        if progression is None and death > self.cutoff:
            pass  # progression-free at the cut-off
        last_alive = min(self.cutoff, death - timedelta(days=1))
        end_of_treatment = min(d for d in (progression, death, self.cutoff + timedelta(days=1)) if d is not None)

        age = _span(rng, profile.age)
        consent = p.enrolment - timedelta(days=_span(rng, (0, 7)))
        eligibility = {c.code: kind == "inclusion" for kind, c in study.eligibility.criteria}
        p.act("enrol_patient", p.site, "F" if rng.random() < profile.female_probability else "M",
              p.enrolment.year - age, int(rng.choice(len(profile.ecog_weights),
                                                     p=np.array(profile.ecog_weights) / sum(profile.ecog_weights))),
              consent.isoformat(), enrolment_date=p.enrolment.isoformat(), eligibility=eligibility)
        p.act("allocate_patient", p.group, (p.enrolment + timedelta(days=1)).isoformat())
        administrations = self._administrations(p, end_of_treatment)
        anchors = patient_anchors(enrolment=p.enrolment, allocation=p.enrolment + timedelta(days=1),
                                  administrations=[(a[0], a[1], a[2]) for a in administrations],
                                  death=death if death <= self.cutoff else None, progression=progression)
        self._tumour_assessments(p, scans, best_ratio, progression, last_alive, anchors)
        follow_up_scans = p.pending_scans  # entered after the administrations, as capture expects
        self._visit_forms(p, anchors, last_alive)
        for when, cycle, day, number, kwargs in administrations:
            if cycle is not None:
                p.act("record_administration", None, when.isoformat(), kwargs.pop("dose"), cycle=cycle,
                      cycle_day=day, **kwargs)
            else:
                p.act("record_administration", number, when.isoformat(), kwargs.pop("dose"), **kwargs)
        p.actions += follow_up_scans
        self._adverse_events(p, last_alive)
        self._event_forms(p, last_alive)
        self._after_progression(p, progression, death, last_alive)

    def _scan_dates(self, p: _Patient) -> list[date]:
        """Planned dates of the repeating tumour-assessment visit (no stops), up to the cut-off."""
        from earlyphase.protocol.schedule import Anchors

        visits = [v for v in self.study.visits if "tumour_assessment" in v.forms and v.repeats]
        if not visits:
            interval = self.study.imaging.interval_days
            return [p.first_dose + timedelta(days=interval * k) for k in range(1, 200)
                    if p.first_dose + timedelta(days=interval * k) <= self.cutoff]
        found = visit_occurrences(visits[0], Anchors(enrolment=p.enrolment, first_dose=p.first_dose), self.cutoff,
                                  ignore_stops=True)
        return [o.planned for o in found if o.planned <= self.cutoff]

    def _baseline_date(self, p: _Patient, anchors) -> date:
        for visit in self.study.visits:
            if "tumour_assessment" in visit.forms and not visit.repeats:
                found = visit_occurrences(visit, anchors, self.cutoff, ignore_stops=True)
                if found:
                    return min(found[0].planned, p.first_dose - timedelta(days=1))
        return p.first_dose - timedelta(days=7)

    # -- treatment -------------------------------------------------------------------------------
    def _administrations(self, p: _Patient, end: date) -> list[tuple[date, int | None, int | None, int | None, dict]]:
        """(date, cycle, cycle day, number, keyword arguments) of every administration before ``end``."""
        study, profile, rng = self.study, self.profile, self.rng
        regimen = study.group(p.group).regimen
        schedule = regimen.schedule
        unit = study.product.dose_unit
        weight = round(float(self._draw(profile.weight_kg, None)), 1)
        height = round(float(self._draw(profile.height_cm, None)), 0)
        out = []
        reduced_from = None  # cycle from which a DLT patient takes the first planned reduction
        stop_after = None  # last cycle of a DLT patient without a planned reduction
        if p.dlt:
            if regimen.dose_reductions and schedule.cyclic:
                reduced_from = 2
            else:
                stop_after = 1
        count = regimen.administrations
        number = 0
        while True:
            number += 1
            if count is not None and number > count:
                break
            offset = schedule.offset_days(number)
            when = p.first_dose + timedelta(days=offset)
            position = schedule.position(number)
            cycle, day = position if position else (None, None)
            if cycle is not None and (cycle > profile.max_cycles or (stop_after is not None and cycle > stop_after)):
                break
            if cycle is not None:
                cycle_end = p.first_dose + timedelta(days=(cycle - 1) * schedule.cycle_days + schedule.cycle_days - 1)
                if cycle_end >= end:
                    break  # only whole cycles before progression, death or the cut-off
            elif when >= end:
                break
            dose = regimen.planned_dose(number)
            kwargs: dict[str, Any] = {}
            if reduced_from is not None and cycle is not None and cycle >= reduced_from:
                dose = regimen.dose_reductions[0]
                kwargs["modification_reason"] = "planned dose reduction after a dose-limiting toxicity in cycle 1"
            if profile.dose_variation_percent:
                dose *= 1 + rng.uniform(-1, 1) * profile.dose_variation_percent / 100
                dose = float(f"{dose:.3g}")
            kwargs["dose"] = dose
            if unit.endswith("/kg") or unit.endswith("/m2"):
                kwargs["weight_kg"] = weight
            if unit.endswith("/m2"):
                kwargs["height_cm"] = height
            extra = {name: self._draw(spec, None) for name, spec in profile.administration_values.items()}
            if extra:
                kwargs["extra"] = extra
            out.append((when, cycle, day, number if cycle is None else None, kwargs))
        return out

    # -- forms -----------------------------------------------------------------------------------
    def _draw(self, spec: ValueSpec, when: date | None) -> Any:
        rng = self.rng
        if spec.normal is not None:
            return round(float(rng.normal(*spec.normal)), spec.digits)
        if spec.uniform is not None:
            return round(float(rng.uniform(*spec.uniform)), spec.digits)
        if spec.choose is not None:
            weights = None if spec.weights is None else np.array(spec.weights, float) / sum(spec.weights)
            return spec.choose[int(rng.choice(len(spec.choose), p=weights))]
        if spec.probability is not None:
            return bool(rng.random() < spec.probability)
        if spec.days_after is not None:
            return ((when or self.cutoff) + timedelta(days=_span(rng, spec.days_after))).isoformat()
        return spec.value

    def _default(self, form: Form, f: FormField, when: date) -> Any:
        rng = self.rng
        if f.derived_from is not None:
            return None
        if f.type == "date":
            return when.isoformat()
        if f.type == "partial_date":
            return f"{when.year}-{when.month:02d}"
        if f.type in ("integer", "decimal"):
            soft, hard = f.soft_range, f.range
            low = next((b for b in (soft and soft.min, hard and hard.min) if isinstance(b, (int, float))), 0.0)
            high = next((b for b in (soft and soft.max, hard and hard.max) if isinstance(b, (int, float))), low + 100)
            value = rng.uniform(low, high)
            return int(round(value)) if f.type == "integer" else round(float(value), 1)
        if f.type in ("choice", "multiple_choice"):
            codes = [c for c, _ in self.study.codes_of(f)]
            if f.type == "choice":
                return codes[int(rng.integers(len(codes)))]
            return [codes[int(i)] for i in sorted(rng.choice(len(codes), size=min(2, len(codes)), replace=False))]
        if f.type == "yesno":
            return False
        return f"{f.label} (synthetic)"[: f.max_length or 200]

    def form_values(self, form: Form, when: date, specs: dict[str, ValueSpec], context: dict[str, Any]) -> dict:
        """Values of one record of ``form`` dated ``when``: the profile's, else drawn from the definitions;
        fields a show-if hides are left out."""
        from earlyphase.protocol.expressions import parse_expression

        values: dict[str, Any] = {}
        for f in form.fields:
            if f.name in specs:
                value = self._draw(specs[f.name], when)
            else:
                value = self._default(form, f, when)
            if form.date_field == f.name:
                value = when.isoformat()
            values[f.name] = _within(f, value)
        typed = {k: _typed(form.field(k), v) for k, v in values.items()}
        for f in form.fields:
            if f.show_if and parse_expression(f.show_if).evaluate({**context, **typed}) is not True:
                values[f.name] = typed[f.name] = None
        return {k: v for k, v in values.items() if v is not None}

    def _visit_forms(self, p: _Patient, anchors, last: date) -> None:
        study = self.study
        forms = set(study.form_names)
        for visit in study.visits:
            wanted = [name for name in visit.forms if name in forms]
            if not wanted:
                continue
            for occ in visit_occurrences(visit, anchors, last):
                if occ.planned > last:
                    continue
                for name in wanted:
                    spec = self.profile.visit_forms.get(name)
                    values = self.form_values(study.form(name), occ.planned, spec.values if spec else {},
                                              {"sex": None})
                    p.act("record_form", name, values, visit=occ.key, visit_date=occ.planned.isoformat(),
                          confirm_warnings=True)

    def _event_forms(self, p: _Patient, last: date) -> None:
        from earlyphase.protocol.standard_forms import derive_value

        rng = self.rng
        for event in self.profile.event_forms:
            if rng.random() >= _level_value(event.probability, p.level):
                continue
            form = self.study.form(event.form)
            for _ in range(_span(rng, event.count)):
                when = p.first_dose + timedelta(days=_span(rng, event.day))
                if when > last or when < p.enrolment:
                    continue
                template = event.templates[self._template(event, p.level)]
                values = self.form_values(form, when, template.values, {})
                p.act("record_form", event.form, values, confirm_warnings=True)
                if event.adverse_event is None:
                    continue
                derived = [f for f in form.fields if f.derived_from is not None]
                typed = {k: _typed(form.field(k), v) for k, v in values.items()}
                grade = derive_value(derived[0].derived_from, typed).grade if derived else 1
                if grade < 1:
                    continue
                ae = event.adverse_event
                dlt = grade >= 3 and (when - p.first_dose).days < self.study.dlt_window_days
                p.dlt = p.dlt or dlt
                self._ae(p, ae.term, min(grade, 5), when, ae.attribution, ae.duration_days, last, dlt=dlt)

    def _template(self, event: EventForm, level: int) -> int:
        if event.template_weights is not None:
            weights = np.array(event.template_weights[min(level, len(event.template_weights)) - 1], float)
        else:
            weights = np.array([t.weight for t in event.templates], float)
        return int(self.rng.choice(len(weights), p=weights / weights.sum()))

    # -- safety ----------------------------------------------------------------------------------
    def _ae(self, p: _Patient, term: str, grade: int, onset: date, attribution: str, duration: tuple[int, int],
            last: date, *, dlt: bool = False, action: str = "none") -> None:
        if term in p.terms:
            return  # one record per term and patient keeps the synthetic safety tables simple
        p.terms.add(term)
        resolution = onset + timedelta(days=_span(self.rng, duration))
        ended = resolution <= last
        p.act("record_adverse_event", term, grade, onset.isoformat(), attribution,
              "recovered" if ended else "not recovered", resolution=resolution.isoformat() if ended else None,
              serious=grade >= 3, dlt=dlt, action=action)

    def _adverse_events(self, p: _Patient, last: date) -> None:
        study, profile, rng = self.study, self.profile, self.rng
        if p.dlt:
            spec = profile.dlt_terms[int(rng.integers(len(profile.dlt_terms)))]
            onset = p.first_dose + timedelta(days=_span(rng, (2, max(2, study.dlt_window_days - 3))))
            regimen = study.group(p.group).regimen
            action = "dose reduced" if regimen.dose_reductions and regimen.schedule.cyclic else (
                "dose discontinued" if regimen.schedule.cyclic else "not applicable")
            if onset <= last:
                self._ae(p, spec.term, spec.grade, onset, spec.attribution, (5, 20), last, dlt=True, action=action)
        for spec in profile.adverse_events:
            if rng.random() >= _level_value(spec.probability, p.level):
                continue
            weights = np.array(spec.grade_weights or [1.0] * len(spec.grades), float)
            grade = spec.grades[int(rng.choice(len(spec.grades), p=weights / weights.sum()))]
            onset = p.first_dose + timedelta(days=_span(rng, spec.day))
            if onset <= last:
                self._ae(p, spec.term, int(grade), onset, spec.attribution, spec.duration_days, last)

    # -- tumour assessments and what follows progression ----------------------------------------------
    def _tumour_assessments(self, p: _Patient, scans: list[date], best_ratio: float, progression: date | None,
                       last: date, anchors) -> None:
        rng, out = self.rng, self.profile.outcomes
        modality = self.study.imaging.modalities[0]
        k = _span(rng, (1, 3))
        sites = [out.lesion_sites[int(i)] for i in rng.choice(len(out.lesion_sites), size=k)]
        sizes = [round(float(rng.uniform(15, 60)), 1) for _ in range(k)]

        def lesions(ratio: float, new: bool = False) -> list[dict[str, Any]]:
            found = [{"label": f"T{i + 1}", "kind": "target", "location": site,
                      "viable_diameter_mm": round(size * ratio, 1)} for i, (site, size) in enumerate(zip(sites, sizes))]
            if new:
                found.append({"label": "N1", "kind": "new", "location": sites[0], "viable_diameter_mm": 12.0})
            return found

        p.act("record_tumour_assessment", self._baseline_date(p, anchors).isoformat(), modality, lesions(1.0),
              baseline=True)
        baseline = p.actions
        p.actions = []  # the scans after the first dose are entered after the administrations
        ratio = 1.0
        for k, when in enumerate(scans, start=1):
            if when > last or (progression is not None and when > progression):
                break
            if when == progression:
                p.act("record_tumour_assessment", when.isoformat(), modality, lesions(ratio * 1.35, new=True))
                break
            ratio = 1 - (1 - best_ratio) * min(1.0, k / 2)
            p.act("record_tumour_assessment", when.isoformat(), modality, lesions(ratio))
        p.pending_scans, p.actions = p.actions, baseline

    def _after_progression(self, p: _Patient, progression: date | None, death: date, last: date) -> None:
        rng, out = self.rng, self.profile.outcomes
        if progression is not None and progression < last and rng.random() < out.new_therapy_probability:
            start = progression + timedelta(days=_span(rng, (7, 28)))
            if start <= last:
                therapy = out.new_therapies[int(rng.integers(len(out.new_therapies)))]
                p.act("record_other_therapy", therapy, start.isoformat(), new_anticancer=True)
        if progression is not None:
            contact = progression + timedelta(days=90)
            while contact < last:
                p.act("record_follow_up", contact.isoformat(), "alive")
                contact += timedelta(days=90)
        if death <= self.cutoff:
            p.act("record_death", death.isoformat(), "disease progression")
        else:
            p.act("record_follow_up", self.cutoff.isoformat(), "alive")


def _within(f: FormField, value: Any) -> Any:
    """A drawn number kept inside the field's hard range (a normal draw has tails; real values do not)."""
    if f.type not in ("integer", "decimal") or not isinstance(value, (int, float)) or f.range is None:
        return value
    low = f.range.min if isinstance(f.range.min, (int, float)) else -math.inf
    high = f.range.max if isinstance(f.range.max, (int, float)) else math.inf
    return min(max(value, low), high)


def _typed(f: FormField, value: Any) -> Any:
    """A drawn value as capture stores it (what conditions and gradings read)."""
    if value is None:
        return None
    if f.type == "date":
        return date.fromisoformat(value) if isinstance(value, str) else value
    if f.type == "multiple_choice":
        return tuple(value)
    return value


def generate_synthetic(study: Study, profile: Profile) -> SyntheticData:
    """The synthetic data set of ``study`` the ``profile`` describes (the same for the same profile)."""
    return SyntheticTrial(study, profile).run()
