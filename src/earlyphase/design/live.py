"""Per-level counts of a live trial, read from the trial database.

The only part of ``earlyphase.design`` that knows about trials: it reads the study stored
in the database (its groups, in intensity order, are the dose levels; its DLT window in
days) and the records, and returns plain per-level counts for the pure decision rules.
``earlyphase.records`` and ``earlyphase.protocol`` are imported lazily, so the rules and
the simulator stay usable without a database.

Per allocated patient (withdrawn patients without a DLT before the end of their window
are not evaluable and are left out):

* DLT: an adverse event flagged ``dlt`` whose onset date lies within the DLT window,
  from the first dose (day 0) to first dose + window days;
* pending: no DLT yet and today < first dose + window; the follow-up fraction is
  (days since first dose) / window. A patient allocated but not yet dosed is
  pending with fraction 0;
* otherwise complete without DLT.

The current level is the level of the most recently allocated patient; the last cohort
is the most recent ``cohort_size`` patients (from the study's dose-finding section) at
that level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from earlyphase.errors import InputError


@dataclass(frozen=True)
class PatientStatus:
    subject_id: str
    group: str
    level: int
    allocation_date: date
    first_dose: date | None
    window_end: date | None
    status: str  # dlt / complete / pending / not evaluable
    dlt_onset: date | None
    follow_up_fraction: float | None


@dataclass(frozen=True)
class LiveCounts:
    """Counts per level (1-based; level k = the k-th group of the study) as of ``as_of``."""

    study_id: str
    groups: tuple[str, ...]
    dlt_window_days: int
    as_of: date
    n: tuple[int, ...]
    dlt: tuple[int, ...]
    pending: tuple[tuple[float, ...], ...]
    current_level: int
    last_cohort_dlt: int
    patients: tuple[PatientStatus, ...]
    target_dlt_rate: float | None = None
    #: the study as designed (protocol ``Study``) the counts were read with; not part of the JSON
    protocol: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "groups": list(self.groups),
            "dlt_window_days": self.dlt_window_days,
            "as_of": self.as_of.isoformat(),
            "n": list(self.n),
            "dlt": list(self.dlt),
            "pending": [list(p) for p in self.pending],
            "current_level": self.current_level,
            "last_cohort_dlt": self.last_cohort_dlt,
            "patients": [
                {
                    "subject_id": p.subject_id, "group": p.group, "level": p.level,
                    "first_dose": p.first_dose.isoformat() if p.first_dose else None,
                    "window_end": p.window_end.isoformat() if p.window_end else None,
                    "status": p.status, "dlt_onset": p.dlt_onset.isoformat() if p.dlt_onset else None,
                    "follow_up_fraction": p.follow_up_fraction,
                }
                for p in self.patients
            ],
        }

    def summary(self) -> str:
        lines = [f"Study {self.study_id}: DLT window {self.dlt_window_days} days, as of {self.as_of.isoformat()}",
                 f"{'level':>6} {'group':>6} {'n':>4} {'DLT':>4} {'pending':>8}"]
        for i, g in enumerate(self.groups):
            lines.append(f"{i + 1:>6} {g:>6} {self.n[i]:>4} {self.dlt[i]:>4} {len(self.pending[i]):>8}")
        lines.append(f"Current level: {self.current_level} (group {self.groups[self.current_level - 1]})")
        return "\n".join(lines)

    def to_frame(self):
        """One row per patient: group, level, window, status."""
        import pandas as pd

        return pd.DataFrame(self.to_dict()["patients"])

    def __str__(self) -> str:
        return self.summary()


def _onset_date(text: str | None) -> date | None:
    if not text or len(text) < 10:
        return None  # partial onset: cannot be placed in the window (capture refuses it for DLTs)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def counts_from_database(url: str, *, study: str | None = None, as_of: date | None = None) -> LiveCounts:
    """Read per-level counts (patients, DLTs, pending follow-up) from the trial database at ``url``."""
    from sqlalchemy import func, select

    from earlyphase.protocol import parse_study
    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import AdverseEvent, Administration, Allocation, Patient, StudyRecord

    today = as_of or date.today()
    engine = make_engine(url, must_exist=True)
    try:
        with read_session(engine) as s:
            records = s.execute(select(StudyRecord)).scalars().all()
            if not records:
                raise InputError.single("db", url, "initialised", "This database holds no study; initialise it first.")
            if study is not None:
                records = [r for r in records if r.study_id == study]
                if not records:
                    raise InputError.single("study", study, "known-study", "No study with this identifier in the database.")
            rec = records[0]
            proto = parse_study(rec.protocol_yaml, f"database:{rec.study_id}")
            codes = proto.group_codes
            window = int(proto.dlt_window_days)
            rows = s.execute(
                select(Patient, Allocation).join(Allocation, Allocation.patient_id == Patient.id)
                .order_by(Allocation.allocation_date, Allocation.id)
            ).all()
            first_inf = dict(s.execute(select(Administration.patient_id, func.min(Administration.actual_date)).group_by(Administration.patient_id)).all())
            dlt_events: dict[int, list[date]] = {}
            for pid, onset in s.execute(select(AdverseEvent.patient_id, AdverseEvent.onset).where(AdverseEvent.dlt.is_(True))).all():
                d = _onset_date(onset)
                if d is not None:
                    dlt_events.setdefault(pid, []).append(d)
    finally:
        engine.dispose()

    L = len(codes)
    n = [0] * L
    y = [0] * L
    pending: list[list[float]] = [[] for _ in range(L)]
    statuses: list[PatientStatus] = []
    order: list[tuple[int, int]] = []  # (level index, dlt flag) in allocation order
    for patient, alloc in rows:
        if alloc.group_code not in codes:
            raise InputError.single("group_code", alloc.group_code, "study-group",
                                    f"Patient {patient.subject_id} is allocated to a group the study does not define.")
        lev = codes.index(alloc.group_code)
        first = first_inf.get(patient.id)
        end = first + timedelta(days=window) if first else None
        onsets = sorted(d for d in dlt_events.get(patient.id, []) if first and first <= d <= end)
        frac = None
        if onsets:
            status = "dlt"
        elif first is None:
            status, frac = "pending", 0.0
        elif today < end:
            status = "pending"
            frac = max(0.0, min((today - first).days / window, 0.999))
        else:
            status = "complete"
        withdrawn = patient.status == "withdrawn" and patient.withdrawal_date is not None
        if status != "dlt" and withdrawn and (end is None or patient.withdrawal_date < end):
            status, frac = "not evaluable", None
        if status != "not evaluable":
            n[lev] += 1
            if status == "dlt":
                y[lev] += 1
            if status == "pending":
                pending[lev].append(frac)
            order.append((lev, 1 if status == "dlt" else 0))
        statuses.append(PatientStatus(
            subject_id=patient.subject_id, group=alloc.group_code, level=lev + 1, allocation_date=alloc.allocation_date,
            first_dose=first, window_end=end, status=status, dlt_onset=onsets[0] if onsets else None,
            follow_up_fraction=frac,
        ))
    if order:
        current = order[-1][0]
        cohort = int(proto.dose_finding.cohort_size)
        at_level = [d for lev, d in order if lev == current]
        last_dlt = sum(at_level[-cohort:])
    else:
        current, last_dlt = 0, 0
    return LiveCounts(
        study_id=rec.study_id, groups=tuple(codes), dlt_window_days=window, as_of=today, n=tuple(n), dlt=tuple(y),
        pending=tuple(tuple(p) for p in pending), current_level=current + 1, last_cohort_dlt=last_dlt,
        patients=tuple(statuses), target_dlt_rate=float(proto.dose_finding.target_dlt_rate), protocol=proto,
    )


def next_dose_from_database(url: str, design, *, study: str | None = None, as_of: date | None = None, tite: bool = False):
    """(counts, decision) for a live trial: ``design`` is a Design object."""
    counts = counts_from_database(url, study=study, as_of=as_of)
    decision = design.decide(list(counts.n), list(counts.dlt), counts.current_level,
                             last_cohort_dlt=counts.last_cohort_dlt, pending=[list(p) for p in counts.pending], tite=tite)
    return counts, decision
