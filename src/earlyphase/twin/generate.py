"""The seed trial's digital twin: 18 synthetic patients consistent with the published abstract.

Everything is drawn from one seeded ``numpy.random.Generator``, so a seed gives the same data
set every time. Doses and schedules are read from the ``Study`` (never typed here); the event
times come from :mod:`earlyphase.twin.times` (which makes the Kaplan-Meier medians and log-rank
P values match the publication), and the calendar, scans, lesions, adverse events, other therapies
and follow-up contacts are built around them:

- progression is what the scans show: scheduled scans every ``imaging.interval_days`` (± window)
  from first infusion, each measured (mRECIST viable target diameters) below the progression
  threshold, and the scan on the progression day (scheduled when it falls in a window, otherwise
  an unscheduled scan for suspected progression) shows a >= 20% increase over the nadir or a new
  lesion; :func:`earlyphase.twin.imaging.visit_response` checks every visit;
- grade 1 fever after infusions is the most common adverse event, with onset and resolution
  times, resolving within a day; other low-grade events are spread thinly; none is a DLT;
- every patient gets all planned infusions (the trial gave NK cells alongside conventional
  treatment, and every twin patient lives past the end of the regimen);
- the one patient alive at the data cut-off is followed for up to 9 years.

The records are plain dicts keyed by the column names of ``earlyphase.records.tables``, with
patients referred to by ``subject_id``; :mod:`earlyphase.twin.load` writes them through capture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from earlyphase.protocol import Study
from earlyphase.twin import targets
from earlyphase.twin.imaging import visit_response
from earlyphase.twin.times import PatientTimes, draw_event_times

DEFAULT_SEED = 20150101
SUBJECT_PREFIX = "SYN"
SYNTHETIC_NOTE = "SYNTHETIC DATA: a digital twin generated to match the published abstract; not real patients."

# Enrolment waves (the study enrolled 2014-12-31..2017-03-29; groups in intensity order, overlapping).
_WAVES = {
    "A": (date(2014, 12, 31), date(2015, 5, 31)),
    "B": (date(2015, 3, 1), date(2015, 12, 31)),
    "C": (date(2015, 8, 1), date(2016, 8, 31)),
    "D": (date(2016, 4, 1), date(2017, 3, 29)),
}
_LOCATIONS = ["liver graft", "lung", "lung", "bone", "lymph node", "adrenal gland", "peritoneum"]


@dataclass(frozen=True)
class TwinData:
    """One synthetic data set: CRF records per table, plus how it was made."""

    seed: int
    study_id: str
    data_cutoff: date
    times: tuple[PatientTimes, ...]
    patients: list[dict[str, Any]]
    allocations: list[dict[str, Any]]
    infusions: list[dict[str, Any]]
    adverse_events: list[dict[str, Any]]
    tumour_assessments: list[dict[str, Any]]  # each with a "lesions" list
    other_therapies: list[dict[str, Any]]
    follow_ups: list[dict[str, Any]]
    deaths: list[dict[str, Any]]
    note: str = SYNTHETIC_NOTE
    first_infusion: dict[str, date] = field(default_factory=dict)
    outcomes: dict[str, PatientTimes] = field(default_factory=dict)  # subject -> PFS/OS days it was built on

    @property
    def subject_ids(self) -> list[str]:
        return [p["subject_id"] for p in self.patients]

    def counts(self) -> dict[str, int]:
        return {
            "patients": len(self.patients),
            "infusions": len(self.infusions),
            "adverse_events": len(self.adverse_events),
            "tumour_assessments": len(self.tumour_assessments),
            "lesions": sum(len(a["lesions"]) for a in self.tumour_assessments),
            "other_therapies": len(self.other_therapies),
            "follow_ups": len(self.follow_ups),
            "deaths": len(self.deaths),
        }


def _day(rng: np.random.Generator, lo: int, hi: int) -> int:
    """Integer uniformly in lo..hi inclusive."""
    return int(rng.integers(lo, hi + 1))


def _between(rng: np.random.Generator, start: date, end: date) -> date:
    return start + timedelta(days=_day(rng, 0, (end - start).days))


def _enrolment_dates(rng: np.random.Generator, study: Study) -> dict[str, list[date]]:
    """Enrolment dates by group; the first patient of A on 2014-12-31, the last of D on 2017-03-29."""
    first = study.enrolment_start or targets.ENROLMENT_FIRST
    last = study.enrolment_end or targets.ENROLMENT_LAST
    out: dict[str, list[date]] = {}
    for code, n in targets.GROUP_SIZES.items():
        lo, hi = _WAVES[code]
        lo, hi = max(lo, first), min(hi, last)
        days = sorted({_day(rng, 0, (hi - lo).days) for _ in range(4 * n)})
        picks = sorted(rng.choice(days, size=n, replace=False).tolist())
        out[code] = [lo + timedelta(days=int(d)) for d in picks]
    out["A"][0] = first
    out["D"][-1] = last
    return out


def generate_twin(study: Study, seed: int = DEFAULT_SEED) -> TwinData:
    """Build the 18-patient synthetic data set for ``study`` (the bundled ``nk-hcc-ltx``) from ``seed``."""
    for code, n in targets.GROUP_SIZES.items():
        try:
            study.group(code)
        except KeyError:
            raise ValueError(f"the twin needs group {code!r} (n={n}) in the study; it has {study.group_codes}") from None
    rng = np.random.default_rng(seed)
    survivor_days = _day(rng, 3215, 3255)  # alive at cut-off: just under 9 years of follow-up
    times = draw_event_times(int(rng.integers(0, 2**31 - 1)), survivor_days=survivor_days)
    enrol = _enrolment_dates(rng, study)
    site = study.sites[0].code
    # One infusion of one patient is given late (outside the window), as happens in any trial; it is
    # recorded with its deviation. A separate stream keeps the rest of the data set independent of it.
    side = np.random.default_rng([seed, 1])
    delayed_patient = int(side.integers(1, sum(targets.GROUP_SIZES.values()) + 1))
    delay_days = int(side.integers(4, 8))

    # Within a group, patients are numbered in enrolment order; their outcomes are shuffled onto them,
    # except that the survivor is D's first patient (the longest follow-up).
    by_group: dict[str, list[PatientTimes]] = {}
    for t in times:
        by_group.setdefault(t.group, []).append(t)
    for code, lst in by_group.items():
        order = rng.permutation(len(lst)).tolist()
        lst[:] = [lst[i] for i in order]
        if code == "D":
            lst.sort(key=lambda t: not t.alive)

    data: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "patients", "allocations", "infusions", "adverse_events", "tumour_assessments",
        "other_therapies", "follow_ups", "deaths")}
    first_infusions: dict[str, date] = {}
    outcomes: dict[str, PatientTimes] = {}
    cutoff: date | None = None
    number = 0
    ordered = sorted(
        ((enrol[code][i], code, i) for code in targets.GROUP_SIZES for i in range(targets.GROUP_SIZES[code])),
    )
    for enrol_date, code, i in ordered:
        number += 1
        subject = f"{SUBJECT_PREFIX}-{number:03d}"
        outcome = by_group[code][i]
        patient = _patient(rng, subject, site, enrol_date)
        first = enrol_date + timedelta(days=_day(rng, 3, 10))
        first_infusions[subject] = first
        outcomes[subject] = outcome
        data["patients"].append(patient)
        data["allocations"].append({"subject_id": subject, "group_code": code, "allocation_date": enrol_date})
        infusions = _infusions(rng, study, subject, code, first, patient["weight_kg"],
                               delay=(int(side.integers(2, study.group(code).regimen.administrations + 1)), delay_days)
                               if number == delayed_patient else None)
        data["infusions"].extend(infusions)
        progression = first + timedelta(days=outcome.pfs_days)
        end = first + timedelta(days=outcome.os_days)
        data["adverse_events"].extend(_adverse_events(rng, study, subject, infusions, patient["consent_date"]))
        data["tumour_assessments"].extend(
            _assessments(rng, study, subject, first, outcome.pfs_days, patient["consent_date"]))
        data["other_therapies"].extend(_other_therapies(rng, subject, progression, end, outcome.alive))
        data["follow_ups"].extend(_follow_ups(rng, subject, infusions[-1]["actual_date"], end, outcome.alive))
        if outcome.alive:
            cutoff = end
        else:
            data["deaths"].append({"subject_id": subject, "death_date": end, "cause": "disease progression"})
    assert cutoff is not None
    return TwinData(
        seed=seed,
        study_id=study.study_id,
        data_cutoff=cutoff,
        times=tuple(times),
        first_infusion=first_infusions,
        outcomes=outcomes,
        **data,
    )


def _patient(rng: np.random.Generator, subject: str, site: str, enrol_date: date) -> dict[str, Any]:
    consent = enrol_date - timedelta(days=_day(rng, 0, 10))
    recurrence = consent - timedelta(days=_day(rng, 14, 120))
    transplant = recurrence - timedelta(days=_day(rng, 180, 1800))
    child_pugh_score = 5 if rng.random() < 0.6 else 6
    return {
        "subject_id": subject,
        "site_code": site,
        "initials": "SY",  # synthetic placeholder (an identifying field: de-identified exports drop it)
        "hospital_number": f"SYN-H{_day(rng, 10000, 99999)}",
        "sex": "M" if rng.random() < 0.85 else "F",  # HCC after transplant: mostly men
        "birth_year": enrol_date.year - _day(rng, 32, 66),
        "ecog": 0 if rng.random() < 0.6 else 1,
        "child_pugh": "A",
        "child_pugh_score": child_pugh_score,
        "afp_ng_ml": round(float(np.exp(rng.normal(np.log(120.0), 2.0))), 1),
        "weight_kg": round(float(rng.uniform(50, 85)), 1),
        "transplant_date": transplant,
        "recurrence_date": recurrence,
        "consent_date": consent,
        "enrolment_date": enrol_date,
    }


def _infusions(rng: np.random.Generator, study: Study, subject: str, code: str, first: date,
               weight_kg: float, delay: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """All planned infusions; ``delay`` = (infusion number, days late) gives one late infusion a deviation."""
    regimen = study.group(code).regimen
    tolerance = regimen.dose_tolerance_percent / 100.0
    window = regimen.interval_window_days
    out = []
    for k in range(1, regimen.administrations + 1):
        planned = first + timedelta(days=regimen.schedule.offset_days(k))
        shift = 0 if k == 1 else _day(rng, -min(1, window), min(1, window))
        deviation = None
        if delay is not None and k == delay[0] and delay[1] > window:
            shift = delay[1]
            deviation = (f"given {shift} days after its planned date because the patient had an intercurrent "
                         "infection (synthetic)")
        planned_dose = regimen.planned_dose(k)
        # manufactured doses vary a little around the target, well inside the tolerance
        dose = round(planned_dose * (1 + rng.uniform(-0.5, 0.5) * tolerance) / 1e7) * 1e7
        out.append({
            "subject_id": subject,
            "number": k,
            "planned_date": planned,
            "actual_date": planned + timedelta(days=shift),
            "dose": float(dose),  # cells, the seed study's dose unit
            "weight_kg": weight_kg,  # the weight the cells/kg figure is worked out with
            "amount": round(dose / weight_kg, -4),
            "amount_unit": "cells/kg",
            "lot": f"SYN-LOT-{subject[-3:]}-{k:02d}",
            "deviation": deviation,
        })
    return out


# (term, chance per patient, grades with weights, attribution, duration in days (lo, hi))
_OTHER_AES = [
    ("Chills", 0.30, {1: 1.0}, "probable", (0, 0)),
    ("Fatigue", 0.35, {1: 0.8, 2: 0.2}, "possible", (2, 10)),
    ("Headache", 0.15, {1: 1.0}, "possible", (0, 2)),
    ("Nausea", 0.15, {1: 1.0}, "possible", (1, 3)),
    ("Myalgia", 0.15, {1: 1.0}, "possible", (1, 4)),
    ("Alanine aminotransferase increased", 0.20, {1: 0.85, 2: 0.15}, "unlikely", (7, 28)),
    ("Aspartate aminotransferase increased", 0.15, {1: 1.0}, "unlikely", (7, 28)),
    ("Platelet count decreased", 0.12, {1: 1.0}, "unlikely", (7, 21)),
    ("Rash maculo-papular", 0.10, {1: 1.0}, "possible", (3, 10)),
    ("Anorexia", 0.12, {1: 1.0}, "unlikely", (5, 20)),
]
FEVER_TERM = "Fever"
FEVER_CHANCE_PER_INFUSION = 0.4


def _soc(term: str, version: str) -> str:
    from earlyphase.vocab import bundled_ctcae

    return bundled_ctcae(version).lookup(term).soc


def _adverse_events(rng: np.random.Generator, study: Study, subject: str, infusions: list[dict[str, Any]],
                    consent: date) -> list[dict[str, Any]]:
    version = study.ctcae_version
    out: list[dict[str, Any]] = []

    def add(term: str, grade: int, attribution: str, onset: str, resolution: str) -> None:
        out.append({
            "subject_id": subject, "term": term, "soc": _soc(term, version), "ctcae_version": version,
            "grade": grade, "serious": False, "attribution": attribution, "onset": onset,
            "resolution": resolution, "outcome": "recovered", "action": "none", "dlt": False,
        })

    for inf in infusions:
        if rng.random() < FEVER_CHANCE_PER_INFUSION:
            # infusions run mid-morning; fever follows within hours and settles within a day
            start = datetime.combine(inf["actual_date"], datetime.min.time()) + timedelta(
                hours=9 + _day(rng, 3, 10), minutes=5 * _day(rng, 0, 11))
            stop = start + timedelta(hours=_day(rng, 2, 20), minutes=5 * _day(rng, 0, 11))
            add(FEVER_TERM, 1, "probable", start.strftime("%Y-%m-%dT%H:%M"), stop.strftime("%Y-%m-%dT%H:%M"))
    last_infusion = infusions[-1]["actual_date"]
    for term, chance, grades, attribution, (lo, hi) in _OTHER_AES:
        if rng.random() >= chance:
            continue
        grade = int(rng.choice(list(grades), p=list(grades.values())))
        anchor = infusions[_day(rng, 0, len(infusions) - 1)]["actual_date"]
        onset = min(anchor + timedelta(days=_day(rng, 0, 3)), last_infusion + timedelta(days=3))
        onset = max(onset, consent)
        resolution = onset + timedelta(days=_day(rng, lo, hi))
        add(term, grade, attribution, onset.isoformat(), resolution.isoformat())
    out.sort(key=lambda r: r["onset"])
    return out


def _lesion_sizes(rng: np.random.Generator, baseline: list[int], target_sum: float) -> list[int]:
    """Split a target sum across lesions in proportion to baseline size, with a little noise (mm)."""
    weights = np.array(baseline, float) * rng.uniform(0.9, 1.1, size=len(baseline))
    sizes = np.maximum(np.round(weights / weights.sum() * target_sum), 1)
    return [int(s) for s in sizes]


def _assessments(rng: np.random.Generator, study: Study, subject: str, first: date,
                 pfs_days: int, consent: date) -> list[dict[str, Any]]:
    imaging = study.imaging
    modality = "CT" if rng.random() < 0.6 else "MRI"
    n_targets = int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
    locations = rng.choice(_LOCATIONS, size=n_targets, replace=False).tolist()
    baseline = [_day(rng, 12, 55) for _ in range(n_targets)]
    has_non_target = rng.random() < 0.5
    non_target_location = next(loc for loc in _LOCATIONS if loc not in locations)

    # scan days: scheduled ones strictly before progression, then the progression scan
    days: list[int] = []
    k = 1
    while True:
        nominal = k * imaging.interval_days
        if nominal - imaging.window_days > pfs_days:
            break
        if abs(pfs_days - nominal) <= imaging.window_days:
            break  # the progression day falls in this scheduled window: it is that scan
        latest = min(nominal + imaging.window_days, pfs_days - 7)
        if latest >= nominal - imaging.window_days:
            days.append(_day(rng, nominal - imaging.window_days, latest))
        k += 1
    days.append(pfs_days)
    scheduled_pd = abs(pfs_days - k * imaging.interval_days) <= imaging.window_days

    # target sums: a response pattern before progression, then the progression scan
    base_sum = sum(baseline)
    sums: list[int] = [base_sum]
    visits: list[list[int]] = [baseline]
    depth = rng.uniform(0.55, 0.75) if rng.random() < 0.3 else rng.uniform(0.85, 1.05)
    for j in range(len(days) - 1):
        for _ in range(50):
            ratio = depth * rng.uniform(0.95, 1.08)
            sizes = _lesion_sizes(rng, baseline, base_sum * ratio)
            if visit_response(sums + [sum(sizes)], False) != "PD":
                break
        else:  # pragma: no cover - practically unreachable
            sizes = list(visits[-1])
        sums.append(sum(sizes))
        visits.append(sizes)
    by_new_lesion = rng.random() < 0.4
    nadir = min(sums)
    if by_new_lesion:
        sizes = _lesion_sizes(rng, baseline, sums[-1] * rng.uniform(0.97, 1.12))
        if visit_response(sums + [sum(sizes)], False) == "PD":
            by_new_lesion = False  # it grew enough anyway; keep the new lesion out
    else:
        sizes = _lesion_sizes(rng, baseline, max(nadir * rng.uniform(1.25, 1.6), nadir + 6))
        while visit_response(sums + [sum(sizes)], False) != "PD":
            sizes = [s + 1 for s in sizes]
    visits.append(sizes)
    sums.append(sum(sizes))

    out = []
    # the baseline scan: after consent, within the protocol's window before the first infusion
    earliest = min(21, imaging.baseline_window_days, (first - consent).days)
    scan_days = [-_day(rng, 1, max(1, earliest))] + days
    for v, (day, sizes) in enumerate(zip(scan_days, visits)):
        is_last = v == len(visits) - 1
        new_lesion = is_last and by_new_lesion
        lesions = [
            {"lesion_label": f"T{i + 1}", "kind": "target", "location": loc, "viable_diameter_mm": float(s),
             "status": None}
            for i, (loc, s) in enumerate(zip(locations, sizes))
        ]
        if has_non_target:
            lesions.append({"lesion_label": "NT1", "kind": "non-target", "location": non_target_location,
                            "viable_diameter_mm": None, "status": "present"})
        if new_lesion:
            lesions.append({"lesion_label": "N1", "kind": "new", "location": rng.choice(_LOCATIONS).item(),
                            "viable_diameter_mm": float(_day(rng, 10, 25)), "status": None})
        response = None if v == 0 else visit_response(sums[: v + 1], new_lesion)
        out.append({
            "subject_id": subject,
            "assessment_date": first + timedelta(days=day),
            "modality": modality,
            "baseline": v == 0,
            "investigator_response": response,
            "scheduled": v == 0 or not is_last or scheduled_pd,
            "lesions": lesions,
        })
    responses = [a["investigator_response"] for a in out[1:]]
    # the construction's promise: PD first appears on the progression day
    assert responses[-1] == "PD" and "PD" not in responses[:-1], (subject, responses)
    return out


def _other_therapies(rng: np.random.Generator, subject: str, progression: date, end: date,
                     alive: bool) -> list[dict[str, Any]]:
    """Conventional treatment after progression (sorafenib most often; local therapy for some)."""
    out = []
    room = (end - progression).days
    if room < 20:
        return out
    start = progression + timedelta(days=_day(rng, 7, min(30, room - 10)))
    first_kind = str(rng.choice(["sorafenib", "TACE", "resection", "RFA", "radiotherapy"],
                                p=[0.5, 0.2, 0.1, 0.1, 0.1]))
    kinds = [first_kind]
    if rng.random() < 0.4:
        kinds.append("sorafenib" if first_kind != "sorafenib" else "TACE")
    for kind in kinds:
        latest_end = end - timedelta(days=3)
        if start >= latest_end:
            break
        if kind in ("sorafenib", "radiotherapy"):
            length = _day(rng, 60, 300) if kind == "sorafenib" else _day(rng, 14, 35)
            stop = min(start + timedelta(days=length), latest_end)
            if alive and kind == "sorafenib" and rng.random() < 0.5:
                stop = min(start + timedelta(days=_day(rng, 300, 900)), latest_end)
        else:
            stop = start  # a procedure: one day
        out.append({"subject_id": subject, "therapy": kind, "start_date": start, "end_date": stop,
                    "new_anticancer": True})
        start = stop + timedelta(days=_day(rng, 14, 60))
    return out


def _follow_ups(rng: np.random.Generator, subject: str, last_infusion: date, end: date,
                alive: bool) -> list[dict[str, Any]]:
    """Contacts every ~3 months (every ~6 after two years) until death, or up to the cut-off."""
    out = []
    day = last_infusion + timedelta(days=_day(rng, 25, 35))
    while day < end - timedelta(days=5):
        out.append({"subject_id": subject, "contact_date": day, "status": "alive"})
        step = 91 if (day - last_infusion).days < 730 else 182
        day = day + timedelta(days=step + _day(rng, -10, 10))
    if alive:
        out.append({"subject_id": subject, "contact_date": end, "status": "alive"})
    return out
