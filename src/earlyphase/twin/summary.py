"""A plain summary of a trial database: enrolment, exposure, adverse events, PFS/OS medians.

Read straight from the database (so it shows what was captured, not what the generator meant),
with the published values of the seed trial beside the computed ones when the study is the seed
trial (``nk-hcc-ltx``). Times to event are from first infusion, in months = days / 30.4375 (the
study's ``analysis.days_per_month``):

- PFS: event at the first tumour assessment whose mRECIST response, computed here from the lesion
  measurements (:func:`earlyphase.twin.imaging.visit_response`), is PD, or at death if earlier;
  otherwise censored at the last assessment (at first infusion when there is none after baseline).
- OS: death from any cause; otherwise censored at the last date the patient was known alive
  (follow-up contact, assessment, infusion or other therapy).

This is the demo's summary, not the analysis datasets (those are ``earlyphase.derive``'s job).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from earlyphase.records import tables as t
from earlyphase.twin import targets
from earlyphase.twin.imaging import visit_response

SYNTHETIC_BANNER = (
    "*** SYNTHETIC DATA: a digital twin built to match the published abstract of NCT02399735. "
    "Not real patients. ***"
)


@dataclass(frozen=True)
class SubjectOutcome:
    """One patient's times to event in days from first infusion."""

    subject_id: str
    group: str
    first_infusion: date | None
    pfs_days: int | None
    pfs_event: bool
    os_days: int | None
    os_event: bool


@dataclass(frozen=True)
class TrialSummary:
    """The demo's summary of a trial database (see the module docstring)."""

    study_id: str
    title: str
    synthetic: bool
    groups: list[dict[str, Any]]
    exposure: list[dict[str, Any]]
    adverse_events: dict[str, Any]
    survival: dict[str, Any]
    outcomes: list[SubjectOutcome] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "title": self.title,
            "synthetic": self.synthetic,
            "banner": SYNTHETIC_BANNER if self.synthetic else None,
            "enrolment": self.groups,
            "exposure": self.exposure,
            "adverse_events": self.adverse_events,
            "survival": self.survival,
        }

    def summary(self) -> str:
        lines: list[str] = []
        if self.synthetic:
            lines += [SYNTHETIC_BANNER, ""]
        lines += [f"Study {self.study_id}: {self.title}", ""]
        lines.append("Enrolment")
        lines.append(f"  {'group':<6} {'n':>3} {'planned':>8}  first enrolled  last enrolled")
        for g in self.groups:
            lines.append(f"  {g['group']:<6} {g['n']:>3} {_num(g['planned_n']):>8}  {_num(g['first_enrolled']):<14}  "
                         f"{_num(g['last_enrolled'])}")
        lines.append(f"  total  {sum(g['n'] for g in self.groups):>3}")
        lines += ["", "Exposure (NK-cell infusions; cumulative dose per patient in 1e9 cells)"]
        lines.append(f"  {'group':<6} {'patients':>8} {'given/planned':>14} {'dose median':>12} {'planned':>8}")
        for e in self.exposure:
            given = f"{e['infusions_given']}/{e['infusions_planned']}"
            lines.append(f"  {e['group']:<6} {e['patients']:>8} {given:>14} {_e9(e['cumulative_dose_median']):>12} "
                         f"{_e9(e['cumulative_dose_planned']):>8}")
        ae = self.adverse_events
        lines += ["", "Adverse events (number of events by CTCAE grade)"]
        grades = ae["grades"]
        lines.append(f"  {'group':<6} " + " ".join(f"{'G' + str(g):>4}" for g in grades)
                     + f" {'events':>7} {'patients':>9} {'DLT':>4}")
        for row in ae["by_group"]:
            lines.append(f"  {row['group']:<6} " + " ".join(f"{row['by_grade'][str(g)]:>4}" for g in grades)
                         + f" {row['events']:>7} {row['patients_with_ae']:>9} {row['dlt']:>4}")
        if ae["most_common"]:
            mc = ae["most_common"]
            lines.append(f"  Most common: {mc['term']} ({mc['events']} events; grade {mc['grades']}; "
                         f"{mc['resolved_within_a_day']} of {mc['with_times']} timed events resolved within a day)")
        lines.append("  Top terms: " + ", ".join(f"{x['term']} {x['events']}" for x in ae["top_terms"]))
        for endpoint in ("PFS", "OS"):
            s = self.survival[endpoint]
            lines += ["", f"{endpoint} (months from first infusion; median as R's survival)"]
            lines.append(f"  {'group':<8} {'n':>3} {'events':>7} {'median':>8} {'published':>10}")
            for row in s["medians"]:
                lines.append(f"  {row['group']:<8} {row['n']:>3} {row['events']:>7} {_m(row['median_months']):>8} "
                             f"{_m(row['published_months']):>10}")
            lines.append(f"  log-rank (4 groups) P = {_p(s['logrank_p'])}; published P = {_p(s['published_logrank_p'])}")
        if self.synthetic:
            lines += ["", SYNTHETIC_BANNER]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _num(x: Any) -> str:
    return "-" if x is None else str(x)


def _e9(x: float | None) -> str:
    return "-" if x is None else f"{x / 1e9:.2f}"


def _m(x: float | None) -> str:
    return "-" if x is None or x != x else f"{x:.2f}"


def _p(x: float | None) -> str:
    return "-" if x is None or x != x else f"{x:.4f}"


def _read(session) -> dict[str, list]:
    out = {}
    for cls in (t.StudyRecord, t.Patient, t.Allocation, t.Administration, t.AdverseEvent, t.TumourAssessment,
                t.Lesion, t.OtherTherapy, t.FollowUp, t.Death, t.ProtocolDeviation):
        out[cls.__tablename__] = list(session.execute(select(cls).order_by(cls.id)).scalars())
    out["infusions"] = out["administrations"]  # the seed trial's administrations are infusions
    return out


def subject_outcomes(rows: dict[str, list], start: str = "first_dose") -> list[SubjectOutcome]:
    """PFS and OS days of every allocated patient (rules in the module docstring).

    ``start`` is the study's time origin (``analysis.pfs.start``): ``first_dose`` or ``allocation``.
    Patients never infused have no times (None).
    """
    group_of = {a.patient_id: a.group_code for a in rows["allocations"]}
    first: dict[int, date] = {}
    for inf in rows["infusions"]:
        if inf.patient_id not in first or inf.actual_date < first[inf.patient_id]:
            first[inf.patient_id] = inf.actual_date
    if start == "allocation":
        first = {a.patient_id: a.allocation_date for a in rows["allocations"] if a.patient_id in first}
    deaths = {d.patient_id: d.death_date for d in rows["deaths"]}
    lesions = defaultdict(list)
    for les in rows["lesions"]:
        lesions[les.assessment_id].append(les)
    assessments = defaultdict(list)
    for a in rows["tumour_assessments"]:
        assessments[a.patient_id].append(a)
    known_alive = defaultdict(list)
    for table, attr in (("follow_ups", "contact_date"), ("tumour_assessments", "assessment_date"),
                        ("infusions", "actual_date"), ("other_therapies", "start_date"), ("other_therapies", "end_date")):
        for r in rows[table]:
            if getattr(r, attr) is not None and not (table == "follow_ups" and r.status != "alive"):
                known_alive[r.patient_id].append(getattr(r, attr))
    out = []
    for p in rows["patients"]:
        if p.id not in group_of:
            continue
        start = first.get(p.id)
        death = deaths.get(p.id)
        progression, last_scan = _progression(sorted(assessments[p.id], key=lambda a: a.assessment_date), lesions)
        if start is None:
            out.append(SubjectOutcome(p.subject_id, group_of[p.id], None, None, False, None, False))
            continue
        if progression is not None and (death is None or progression <= death):
            pfs_day, pfs_event = progression, True
        elif death is not None:
            pfs_day, pfs_event = death, True
        else:
            pfs_day, pfs_event = (last_scan if last_scan and last_scan > start else start), False
        if death is not None:
            os_day, os_event = death, True
        else:
            os_day, os_event = max([start] + known_alive[p.id]), False
        out.append(SubjectOutcome(p.subject_id, group_of[p.id], start, (pfs_day - start).days, pfs_event,
                                  (os_day - start).days, os_event))
    return out


def _progression(assessments: list, lesions: dict[int, list]) -> tuple[date | None, date | None]:
    """(date of the first PD by mRECIST from the measurements, date of the last assessment)."""
    sums: list[float] = []
    last = None
    for a in assessments:
        found = lesions.get(a.id, [])
        target_sum = sum(les.viable_diameter_mm or 0.0 for les in found if les.kind == "target")
        new_lesion = any(les.kind == "new" for les in found)
        unequivocal = any(les.kind == "non-target" and les.status == "unequivocal progression" for les in found)
        if not sums:
            sums.append(target_sum)
            continue
        last = a.assessment_date
        if visit_response(sums + [target_sum], new_lesion, unequivocal) == "PD":
            return a.assessment_date, last
        sums.append(target_sum)
    return None, last


def _survival(outcomes: list[SubjectOutcome], endpoint: str, codes: list[str], days_per_month: float,
              published: targets.Targets | None) -> dict[str, Any]:
    import numpy as np

    from earlyphase.stats import kaplan_meier, logrank_test

    usable = [o for o in outcomes if o.first_infusion is not None]
    days = np.array([o.pfs_days if endpoint == "PFS" else o.os_days for o in usable], float)
    events = np.array([o.pfs_event if endpoint == "PFS" else o.os_event for o in usable], int)
    groups = np.array([o.group for o in usable])
    months = days / days_per_month
    rows = []
    for code in ["overall"] + codes:
        mask = np.ones(len(usable), bool) if code == "overall" else groups == code
        median = None
        if mask.any():
            median = float(kaplan_meier(months[mask], events[mask]).curves[0].median[0])
        rows.append({
            "group": code, "n": int(mask.sum()), "events": int(events[mask].sum()),
            "median_months": median,
            "published_months": published.medians_months.get(code) if published else None,
        })
    p = None
    if len(set(groups.tolist())) >= 2:
        p = float(logrank_test(months, events, groups).p_value)
    return {"medians": rows, "logrank_p": p, "published_logrank_p": published.logrank_p if published else None}


def summarise_trial(engine: Engine) -> TrialSummary:
    """Summarise the trial in the database behind ``engine`` (enrolment, exposure, AEs, PFS/OS)."""
    from earlyphase.capture import stored_study
    from earlyphase.protocol import parse_study
    from earlyphase.records import read_session

    stored_study(engine)  # a clear error for a database that was never initialised
    with read_session(engine) as session:
        rows = _read(session)
    if not rows["study"]:
        from earlyphase.errors import NotFound

        raise NotFound.single("db", "(empty)", "initialised", "the database holds no study; run earlyphase init first")
    record = rows["study"][0]
    study = parse_study(record.protocol_yaml, origin=f"database:{record.study_id}")
    codes = study.group_codes
    seed_trial = study.study_id == "nk-hcc-ltx"
    group_of = {a.patient_id: a.group_code for a in rows["allocations"]}
    patients = {p.id: p for p in rows["patients"]}

    enrolment = []
    for g in study.groups:
        members = [patients[pid] for pid, code in group_of.items() if code == g.code]
        dates = sorted(p.enrolment_date for p in members)
        enrolment.append({"group": g.code, "label": g.label, "n": len(members), "planned_n": g.planned_n,
                          "first_enrolled": dates[0].isoformat() if dates else None,
                          "last_enrolled": dates[-1].isoformat() if dates else None})

    exposure = []
    dose_by_patient: dict[int, float] = defaultdict(float)
    given_by_group: Counter = Counter()
    for inf in rows["infusions"]:
        dose_by_patient[inf.patient_id] += inf.dose
        given_by_group[group_of.get(inf.patient_id)] += 1
    for g in study.groups:
        members = [pid for pid, code in group_of.items() if code == g.code]
        doses = sorted(dose_by_patient[pid] for pid in members)
        median = None
        if doses:
            mid = len(doses) // 2
            median = doses[mid] if len(doses) % 2 else (doses[mid - 1] + doses[mid]) / 2
        exposure.append({
            "group": g.code, "patients": len(members), "infusions_given": given_by_group[g.code],
            "infusions_planned": len(members) * g.regimen.administrations,
            "cumulative_dose_median": median, "cumulative_dose_planned": g.regimen.cumulative_dose,
            "dose_unit": "cells",
        })

    grades = [1, 2, 3, 4, 5]
    by_group = []
    for code in codes:
        events = [ae for ae in rows["adverse_events"] if group_of.get(ae.patient_id) == code]
        counts = Counter(ae.grade for ae in events)
        by_group.append({"group": code, "by_grade": {str(g): counts.get(g, 0) for g in grades},
                         "events": len(events), "patients_with_ae": len({ae.patient_id for ae in events}),
                         "dlt": sum(1 for ae in events if ae.dlt)})
    term_counts = Counter(ae.term for ae in rows["adverse_events"])
    most_common = None
    if term_counts:
        term, n = term_counts.most_common(1)[0]
        events = [ae for ae in rows["adverse_events"] if ae.term == term]
        timed = [ae for ae in events if ae.resolution and "T" in ae.onset and "T" in ae.resolution]
        within = sum(1 for ae in timed if _hours(ae.onset, ae.resolution) <= 24)
        most_common = {"term": term, "events": n, "grades": "/".join(str(g) for g in sorted({ae.grade for ae in events})),
                       "patients": len({ae.patient_id for ae in events}), "with_times": len(timed),
                       "resolved_within_a_day": within}
    adverse = {"grades": grades, "by_group": by_group, "most_common": most_common,
               "top_terms": [{"term": k, "events": v} for k, v in term_counts.most_common(6)]}

    outcomes = subject_outcomes(rows, study.analysis.pfs.start)
    dpm = study.analysis.days_per_month
    survival = {
        "PFS": _survival(outcomes, "PFS", codes, dpm, targets.PFS if seed_trial else None),
        "OS": _survival(outcomes, "OS", codes, dpm, targets.OS if seed_trial else None),
        "days_per_month": dpm,
        "time_origin": study.analysis.pfs.start,  # first_dose or allocation
    }
    return TrialSummary(study.study_id, study.title, bool(record.synthetic or study.synthetic), enrolment, exposure,
                        adverse, survival, outcomes)


def _hours(onset: str, resolution: str) -> float:
    from datetime import datetime

    a = datetime.fromisoformat(onset)
    b = datetime.fromisoformat(resolution)
    return (b - a).total_seconds() / 3600
