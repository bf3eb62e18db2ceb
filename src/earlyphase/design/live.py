"""Per-level counts of a live trial, read from the trial database, as of a date.

The only part of ``earlyphase.design`` that knows about trials: it reads the study stored in the
database (its groups, in intensity order, are the dose levels; its DLT window in days; the protocol's
minimum exposure) and the records, and returns plain per-level counts for the pure decision rules.
``earlyphase.records`` and ``earlyphase.protocol`` are imported lazily, so the rules and the simulator
stay usable without a database.

What "as of D" sees (``BASIS`` says it for every part, and the output repeats it):

* clinical dates: a patient counts from the enrolment date, an allocation from its date, a dose from
  the day it was given, an adverse event from its onset, a withdrawal from its date; nothing dated
  after D is seen, and DLT windows are judged on D;
* ``as_recorded=True`` adds the audit log's timestamps: only records entered by the end of D (UTC)
  are seen, with the values they had then (corrections made later are not applied). Without it the
  current values are used, and the result counts the records entered after D that describe events
  up to D (a trial entered late, or imported).

Per allocated patient (``PatientStatus.status``):

* ``dlt``: an adverse event flagged ``dlt`` whose onset lies within the DLT window, from the first dose
  (day 0) to first dose + window days: evaluable;
* ``pending``: no DLT yet and D < first dose + window (or not dosed yet); the follow-up fraction is
  (days since first dose) / window, 0 before the first dose;
* ``complete``: the window is over with no DLT and at least the protocol's minimum exposure
  (``dose_finding.evaluable_min_administrations`` administrations inside the window): evaluable;
* ``not evaluable``: the window is over with less than the minimum exposure, or the patient was
  withdrawn before its end without a DLT; such patients are left out of the counts (the protocol
  replaces them).

The current level is the level of the most recently allocated patient; the last cohort is the most
recent ``cohort_size`` evaluable or pending patients at that level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from earlyphase.errors import InputError

# Which date each part of an as-of view is judged by.
BASIS = {
    "enrolments": "enrolment date",
    "allocations": "allocation date",
    "doses": "date given",
    "adverse events": "onset date",
    "withdrawals": "withdrawal date",
    "DLT windows": "first dose date + window, compared with the as-of date",
}
RECORDED_BASIS = "and entered by the end of the as-of date (UTC, audit log), with the values recorded then"
CURRENT_BASIS = "with the values recorded now (corrections included), whenever they were entered"


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
    exposure: int = 0  # administrations given inside the DLT window (up to the as-of date)
    note: str = ""  # why a patient is not evaluable, or what a pending patient waits for

    @property
    def evaluable(self) -> bool:
        return self.status in ("dlt", "complete")

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id, "group": self.group, "level": self.level,
            "allocation_date": self.allocation_date.isoformat(),
            "first_dose": self.first_dose.isoformat() if self.first_dose else None,
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "status": self.status, "evaluable": self.evaluable,
            "dlt_onset": self.dlt_onset.isoformat() if self.dlt_onset else None,
            "follow_up_fraction": self.follow_up_fraction, "exposure": self.exposure, "note": self.note,
        }


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
    as_recorded: bool = False
    min_exposure: int = 1
    #: records entered after the as-of date that describe events up to it (clinical basis only)
    entered_later: int = 0
    #: levels 1..open_highest are open on the as-of date (sealed dose-escalation decisions; 0 after a stop);
    #: None when the study allocates by a fixed plan (no decisions open levels)
    open_highest: int | None = None
    open_note: str = ""
    open_by: int | None = None

    @property
    def basis(self) -> dict[str, str]:
        tail = RECORDED_BASIS if self.as_recorded else CURRENT_BASIS
        return {part: f"{rule} {tail}" if part != "DLT windows" else rule for part, rule in BASIS.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "groups": list(self.groups),
            "dlt_window_days": self.dlt_window_days,
            "as_of": self.as_of.isoformat(),
            "as_recorded": self.as_recorded,
            "basis": self.basis,
            "entered_later": self.entered_later,
            "evaluable_min_administrations": self.min_exposure,
            "n": list(self.n),
            "dlt": list(self.dlt),
            "pending": [list(p) for p in self.pending],
            "current_level": self.current_level,
            "last_cohort_dlt": self.last_cohort_dlt,
            "open_levels": self.open_highest,
            "open_by_decision": self.open_by,
            "open_note": self.open_note,
            "patients": [p.to_dict() for p in self.patients],
        }

    def summary(self) -> str:
        by_date = ", ".join(f"{part} ({rule})" for part, rule in BASIS.items() if part != "DLT windows")
        lines = [f"Study {self.study_id}: DLT window {self.dlt_window_days} days, as of {self.as_of.isoformat()}",
                 f"Seen by clinical date up to then: {by_date}; DLT windows judged on that date",
                 "Values: " + ("only records entered by the end of that date (UTC, audit log), as recorded then"
                               if self.as_recorded else "as recorded now (corrections included), whenever entered")]
        if self.entered_later:
            lines.append(f"  {self.entered_later} record(s) describing events up to {self.as_of} were entered "
                         "later; --as-recorded leaves them out")
        lines.append(f"Evaluable: a DLT inside the window, or the window completed with at least {self.min_exposure} "
                     "administration(s) inside it")
        lines.append(f"{'level':>6} {'group':>6} {'n':>4} {'DLT':>4} {'pending':>8}")
        for i, g in enumerate(self.groups):
            lines.append(f"{i + 1:>6} {g:>6} {self.n[i]:>4} {self.dlt[i]:>4} {len(self.pending[i]):>8}")
        lines.append(f"Current level: {self.current_level} (group {self.groups[self.current_level - 1]})")
        if self.open_note:
            lines.append(f"Open levels: {self.open_note}")
        waiting = [p for p in self.patients if p.status == "pending"]
        if waiting:
            lines.append("Pending (inside the DLT window, no DLT yet):")
            for p in waiting:
                if p.first_dose is None:
                    lines.append(f"  {p.subject_id} level {p.level}: allocated {p.allocation_date}, not dosed yet")
                else:
                    lines.append(f"  {p.subject_id} level {p.level}: window {p.first_dose} to {p.window_end}, "
                                 f"{p.follow_up_fraction:.0%} followed, {p.exposure} administration(s)")
        out = [p for p in self.patients if p.status == "not evaluable"]
        if out:
            lines.append("Not evaluable (left out of the counts):")
            lines += [f"  {p.subject_id} level {p.level}: {p.note}" for p in out]
        return "\n".join(lines)

    def to_frame(self):
        """One row per patient: group, level, window, status."""
        import pandas as pd

        return pd.DataFrame(self.to_dict()["patients"])

    def __str__(self) -> str:
        return self.summary()


def _day(value: Any) -> date | None:
    """A full calendar date from a date or ISO text; None for a partial date (it cannot be placed in a window)."""
    if value is None or isinstance(value, date):
        return value
    text = str(value)
    if len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _rows(session, table, model, cutoff: str | None) -> dict[int, dict[str, Any]]:
    """Rows of ``model`` as plain dicts by id: the table now, or replayed from the audit log up to ``cutoff``."""
    from sqlalchemy import select

    from earlyphase.records.audit import row_values
    from earlyphase.records.tables import AuditEntry

    if cutoff is None:
        return {r.id: row_values(r) for r in session.execute(select(model)).scalars()}
    import json

    rows: dict[int, dict[str, Any]] = {}
    entries = session.execute(
        select(AuditEntry.action, AuditEntry.record_id, AuditEntry.new_values)
        .where(AuditEntry.table_name == table, AuditEntry.at_utc < cutoff).order_by(AuditEntry.id)).all()
    for action, record_id, new_values in entries:
        if action == "delete":
            rows.pop(record_id, None)
        elif new_values:
            rows[record_id] = json.loads(new_values)
    return rows


def _inserted_after(session, cutoff: str) -> dict[tuple[str, int], bool]:
    from sqlalchemy import select

    from earlyphase.records.tables import AuditEntry

    found = session.execute(select(AuditEntry.table_name, AuditEntry.record_id).where(
        AuditEntry.action == "insert", AuditEntry.at_utc >= cutoff)).all()
    return {(t, r): True for t, r in found}


def counts_from_database(url: str, *, study: str | None = None, as_of: date | None = None,
                         as_recorded: bool = False) -> LiveCounts:
    """Read per-level counts (patients, DLTs, pending follow-up) from the trial database at ``url`` as of
    ``as_of`` (default today): see the module docstring for what each part is judged by."""
    from sqlalchemy import select

    from earlyphase.protocol import parse_study
    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import AdverseEvent, Administration, Allocation, Patient, StudyRecord

    today = as_of or date.today()
    cutoff = (today + timedelta(days=1)).isoformat() + "T00:00:00"  # audit timestamps are UTC ISO text
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
            at = cutoff if as_recorded else None
            patients = _rows(s, "patients", Patient, at)
            allocations = _rows(s, "allocations", Allocation, at)
            doses = _rows(s, "administrations", Administration, at)
            events = _rows(s, "adverse_events", AdverseEvent, at)
            late = {} if as_recorded else _inserted_after(s, cutoff)
            opened = _open_levels(s, proto, today, cutoff if as_recorded else None)
    finally:
        engine.dispose()
    counts = _count(proto, rec.study_id, today, patients, allocations, doses, events, late, as_recorded)
    if opened is None:
        return counts
    import dataclasses

    return dataclasses.replace(counts, open_highest=opened.highest, open_by=opened.by.id if opened.by else None,
                               open_note=opened.describe(list(proto.group_codes)))


def _open_levels(session, proto, today: date, sealed_before: str | None):
    """The levels sealed dose-escalation decisions leave open on ``today`` (capture's read side); with
    ``sealed_before`` only seals made before that UTC time count. None for a fixed-allocation study."""
    if proto.dose_finding.design == "fixed-allocation":
        return None
    import dataclasses

    from earlyphase.capture.decisions import dose_decisions, fold_decisions

    views = dose_decisions(session, proto)
    if sealed_before is not None:
        views = [v if v.signed_at is None or v.signed_at < sealed_before else dataclasses.replace(v, seal="unsealed")
                 for v in views]
    return fold_decisions(views, list(proto.group_codes), on=today)


def _count(proto, study_id: str, today: date, patients, allocations, doses, events, late, as_recorded) -> LiveCounts:
    codes = proto.group_codes
    window = int(proto.dlt_window_days)
    need = int(proto.dose_finding.evaluable_min_administrations)
    entered_later = 0

    def seen(table: str, rid: int, when: date | None) -> bool:
        nonlocal entered_later
        if when is None or when > today:
            return False
        if (table, rid) in late:
            entered_later += 1
        return True

    enrolled = {pid: p for pid, p in patients.items() if seen("patients", pid, _day(p["enrolment_date"]))}
    given: dict[int, list[date]] = {}
    for rid, a in doses.items():
        when = _day(a["actual_date"])
        if a["patient_id"] in enrolled and seen("administrations", rid, when):
            given.setdefault(a["patient_id"], []).append(when)
    dlt_onsets: dict[int, list[date]] = {}
    for rid, ae in events.items():
        onset = _day(ae["onset"])
        if ae.get("dlt") and ae["patient_id"] in enrolled and seen("adverse_events", rid, onset):
            dlt_onsets.setdefault(ae["patient_id"], []).append(onset)
    allocated = sorted(
        ((_day(a["allocation_date"]), rid, a) for rid, a in allocations.items()
         if a["patient_id"] in enrolled and seen("allocations", rid, _day(a["allocation_date"]))),
        key=lambda t: (t[0], t[1]))

    L = len(codes)
    n, y = [0] * L, [0] * L
    pending: list[list[float]] = [[] for _ in range(L)]
    statuses: list[PatientStatus] = []
    order: list[tuple[int, int]] = []  # (level index, dlt flag) in allocation order
    for alloc_date, _, alloc in allocated:
        patient = enrolled[alloc["patient_id"]]
        if alloc["group_code"] not in codes:
            raise InputError.single("group_code", alloc["group_code"], "study-group",
                                    f"Patient {patient['subject_id']} is allocated to a group the study does not define.")
        lev = codes.index(alloc["group_code"])
        status = _status(sorted(given.get(alloc["patient_id"], [])), dlt_onsets.get(alloc["patient_id"], []),
                         _day(patient.get("withdrawal_date")), today, window, need)
        if status["status"] != "not evaluable":
            n[lev] += 1
            if status["status"] == "dlt":
                y[lev] += 1
            if status["status"] == "pending":
                pending[lev].append(status["follow_up_fraction"])
            order.append((lev, 1 if status["status"] == "dlt" else 0))
        statuses.append(PatientStatus(subject_id=patient["subject_id"], group=alloc["group_code"], level=lev + 1,
                                      allocation_date=alloc_date, **status))
    if order:
        current = order[-1][0]
        cohort = int(proto.dose_finding.cohort_size)
        at_level = [d for lev, d in order if lev == current]
        last_dlt = sum(at_level[-cohort:])
    elif statuses:
        current, last_dlt = statuses[-1].level - 1, 0
    else:
        current, last_dlt = 0, 0
    return LiveCounts(
        study_id=study_id, groups=tuple(codes), dlt_window_days=window, as_of=today, n=tuple(n), dlt=tuple(y),
        pending=tuple(tuple(p) for p in pending), current_level=current + 1, last_cohort_dlt=last_dlt,
        patients=tuple(statuses), target_dlt_rate=float(proto.dose_finding.target_dlt_rate), protocol=proto,
        as_recorded=as_recorded, min_exposure=need, entered_later=entered_later,
    )


def _status(doses: list[date], onsets: list[date], withdrawn: date | None, today: date, window: int,
            need: int) -> dict[str, Any]:
    """One patient's DLT evaluability on ``today`` (see the module docstring)."""
    first = doses[0] if doses else None
    end = first + timedelta(days=window) if first else None
    inside = sorted(d for d in onsets if first and first <= d <= end)
    exposure = sum(1 for d in doses if end and d < end)
    out: dict[str, Any] = dict(first_dose=first, window_end=end, dlt_onset=inside[0] if inside else None,
                               follow_up_fraction=None, exposure=exposure, note="")
    if inside:
        return {**out, "status": "dlt", "note": f"DLT on {inside[0]}"}
    if withdrawn is not None and withdrawn <= today and (end is None or withdrawn < end):
        return {**out, "status": "not evaluable",
                "note": f"withdrawn on {withdrawn}, before the end of the DLT window, without a DLT"}
    if first is None:
        return {**out, "status": "pending", "follow_up_fraction": 0.0, "note": "not dosed yet"}
    if today < end:
        frac = max(0.0, min((today - first).days / window, 0.999))
        return {**out, "status": "pending", "follow_up_fraction": frac, "note": f"window ends {end}"}
    if exposure < need:
        return {**out, "status": "not evaluable",
                "note": f"{exposure} administration(s) inside the DLT window; the protocol's minimum exposure is {need}"}
    return {**out, "status": "complete"}


def next_dose_from_database(url: str, design, *, study: str | None = None, as_of: date | None = None, tite: bool = False,
                            as_recorded: bool = False):
    """(counts, decision) for a live trial: ``design`` is a Design object."""
    counts = counts_from_database(url, study=study, as_of=as_of, as_recorded=as_recorded)
    decision = design.decide(list(counts.n), list(counts.dlt), counts.current_level,
                             last_cohort_dlt=counts.last_cohort_dlt, pending=[list(p) for p in counts.pending], tite=tite)
    return counts, decision
