"""A readable description of a study as designed: the product, the dose levels with their regimens,
forms, visits and eligibility criteria, assumed values flagged (what ``earlyphase study show`` prints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from earlyphase.capture.treatment import dose_text
from earlyphase.protocol import Study


@dataclass(frozen=True)
class StudyDescription:
    study: Study
    source: str
    fingerprint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        s = self.study
        return {
            "study_id": s.study_id,
            "title": s.title,
            "registry_id": s.registry_id,
            "sponsor": s.sponsor,
            "phase": s.phase,
            "synthetic": s.synthetic,
            "source": self.source,
            "protocol_sha256": self.fingerprint,
            "ctcae_version": s.ctcae_version,
            "ctcae_file": s.ctcae_file,
            "response_criteria": s.response_criteria,
            "dlt_window_days": s.dlt_window_days,
            "enrolment_period": [s.enrolment_start, s.enrolment_end],
            "sites": [site.model_dump() for site in s.sites],
            "product": s.product.model_dump(),
            "levels": [
                {
                    "level": s.level_of(g.code),
                    "group": g.code,
                    "label": g.label,
                    "planned_n": g.planned_n,
                    "dose": g.regimen.dose,
                    "dose_unit": s.product.dose_unit,
                    "route": g.regimen.route or s.product.route,
                    "schedule": g.regimen.schedule.model_dump(exclude_none=True),
                    "schedule_text": g.regimen.schedule.describe(),
                    "administrations": g.regimen.administrations,
                    "step_up_doses": g.regimen.step_up_doses,
                    "doses": ([g.regimen.planned_dose(k) for k in range(1, g.regimen.administrations + 1)]
                              if g.regimen.administrations is not None else None),
                    "dose_reductions": g.regimen.dose_reductions,
                    "cumulative_dose": g.regimen.cumulative_dose,
                    "dose_tolerance_percent": g.regimen.dose_tolerance_percent,
                    "interval_window_days": g.regimen.interval_window_days,
                    "dose_source": g.regimen.dose_source,
                    "assumed": g.regimen.dose_source == "assumed",
                    "dose_note": g.regimen.dose_note,
                }
                for g in s.groups
            ],
            "forms": [{"name": f.name, "label": f.label, "repeating": f.repeating,
                       "fields": [x.name for x in f.fields]} for f in s.forms],
            "core_forms": {k: [x.name for x in v.fields] for k, v in s.core_forms.items()},
            "visits": [v.model_dump() for v in s.visits],
            "eligibility": s.eligibility.model_dump(),
            "imaging": s.imaging.model_dump(),
            "dose_finding": s.dose_finding.model_dump(),
            "assumptions": list(s.assumptions),
            **self.extra,
        }

    def summary(self) -> str:
        s = self.study
        lines = [f"{s.study_id}: {' '.join(s.title.split())}"]
        if s.synthetic:
            lines.append("  SYNTHETIC DATA: this study's database holds synthetic (made-up) patients")
        lines.append(f"  registry {s.registry_id or '-'} | sponsor {s.sponsor} | phase {s.phase}")
        lines.append(f"  CTCAE v{s.ctcae_version}{' from ' + s.ctcae_file if s.ctcae_file else ' (bundled terms)'}"
                     f" | response {s.response_criteria} | DLT window {s.dlt_window_days} days"
                     f" | imaging every {s.imaging.interval_days} days ({', '.join(s.imaging.modalities)})")
        if s.enrolment_start or s.enrolment_end:
            lines.append(f"  enrolment {s.enrolment_start or '?'} to {s.enrolment_end or '?'}")
        lines.append(f"  sites: {', '.join(f'{x.code} ({x.name})' for x in s.sites)}")
        lines.append(f"  source: {self.source}" + (f"  sha256 {self.fingerprint[:16]}..." if self.fingerprint else ""))
        lines.append("")
        p = s.product
        lines.append(f"  product: {p.name}; dose in {p.dose_unit} per {p.noun}, route {p.route}")
        lines.append(f"  {'level':>5}  {'group':<5}  {'n':<3} {'schedule':<44} {'dose per ' + p.noun + ' (' + p.dose_unit + ')':<34} "
                     f"{'total':<10} source")
        for g in s.groups:
            r = g.regimen
            flag = "ASSUMED*" if r.dose_source == "assumed" else r.dose_source
            total = dose_text(r.cumulative_dose) if r.cumulative_dose is not None else "open"
            lines.append(f"  {s.level_of(g.code):>5}  {g.code:<5}  {g.planned_n if g.planned_n is not None else '-':<3} "
                         f"{r.schedule.describe():<44} {r.doses_text(dose_text):<34} {total:<10} {flag}")
            if r.dose_reductions:
                lines.append(f"{'':>18}planned reductions: {', '.join(dose_text(d) for d in r.dose_reductions)}")
        lines.append("  (dose on schedule within ± tolerance %, date within ± window days; levels in escalation order)")
        if s.eligibility.criteria:
            lines.append("")
            lines.append("  eligibility: " + "; ".join(f"{c.code} {c.text}" for _, c in s.eligibility.criteria))
        if s.forms or s.core_forms:
            lines.append("")
            for f in s.forms:
                lines.append(f"  form {f.name}{' (repeating)' if f.repeating else ''}: {', '.join(f.field_names)}")
            for core, ext in s.core_forms.items():
                lines.append(f"  added to core form {core}: {', '.join(ext.field_names)}")
        if s.visits:
            lines.append("")
            for v in s.visits:
                when = f"{v.anchor} {'+' if v.offset_days >= 0 else ''}{v.offset_days} d"
                again = f", every {v.repeat_every_days} d" if v.repeat_every_days else ""
                lines.append(f"  visit {v.code} ({v.label}): {when} (-{v.window.before}/+{v.window.after}){again}: "
                             f"{', '.join(v.forms)}")
        notes = [(g.code, g.regimen.dose_note) for g in s.groups if g.regimen.dose_source == "assumed" and g.regimen.dose_note]
        if notes or s.assumptions:
            lines.append("")
            lines.append("  * assumed values (not public; replace before a real analysis):")
            for code, note in notes:
                lines.append(f"    - group {code}: {note}")
            for text in s.assumptions:
                lines.append(f"    - {text}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def describe_study(study: Study, source: str = "", fingerprint: str | None = None) -> StudyDescription:
    return StudyDescription(study=study, source=source, fingerprint=fingerprint)


# -- a record's history, field by field, from the audit log -------------------------------------------
@dataclass(frozen=True)
class FieldChange:
    """One change of one field: who, when (the audit's clock), old -> new, the reason given."""

    at_utc: str
    username: str
    action: str  # insert / update / delete
    old: Any
    new: Any
    reason: str | None


# Bookkeeping columns, not values anyone entered: a field history leaves them out.
_NOT_FIELDS = frozenset({"id", "patient_id", "record_id", "protocol_version", "created_at", "position", "confirmed",
                         "core_table", "core_id"})


def field_history(session, table: str, record_id: int) -> dict[str, list[FieldChange]]:
    """Field -> its changes, oldest first, for one record of ``table`` (a core table or ``form_records``).

    A study form's values are rows of ``form_values`` (one per field, one per code of a multiple choice);
    their entries are gathered under the field's name (a multiple choice's codes one entry each).
    The fields a study adds to a core record are gathered too (they live in a form record beside it).
    """
    import json

    from sqlalchemy import select

    from earlyphase.records.tables import AuditEntry, FormRecord

    history: dict[str, list[FieldChange]] = {}

    def add(name: str, entry, old, new) -> None:
        history.setdefault(name, []).append(FieldChange(entry.at_utc, entry.username, entry.action, old, new,
                                                        entry.reason))

    own = session.execute(select(AuditEntry).where(AuditEntry.table_name == table, AuditEntry.record_id == record_id)
                          .order_by(AuditEntry.id)).scalars().all()
    for entry in own:
        old = json.loads(entry.old_values) if entry.old_values else {}
        new = json.loads(entry.new_values) if entry.new_values else {}
        for name in [k for k in {**old, **new} if k not in _NOT_FIELDS]:
            if entry.action == "update" and old.get(name) == new.get(name):
                continue
            add(name, entry, old.get(name), new.get(name))
    # The record holding its form values: the form record itself, or the one beside a core record.
    if table == "form_records":
        holder = record_id
    else:
        holder = session.execute(select(FormRecord.id).where(FormRecord.core_table == table,
                                                             FormRecord.core_id == record_id)).scalar()
    if holder is None:
        return history
    subject = next((e.subject_id for e in own if e.subject_id), None)
    query = select(AuditEntry).where(AuditEntry.table_name == "form_values").order_by(AuditEntry.id)
    if subject is not None:
        query = query.where(AuditEntry.subject_id == subject)
    for entry in session.execute(query).scalars():
        old = json.loads(entry.old_values) if entry.old_values else None
        new = json.loads(entry.new_values) if entry.new_values else None
        row = new or old or {}
        if row.get("record_id") != holder:
            continue
        add(str(row.get("field")), entry, _form_value(old), _form_value(new))
    return history


def _form_value(row: dict | None) -> Any:
    if not row:
        return None
    return next((row[c] for c in ("value_text", "value_int", "value_num", "value_date", "value_bool")
                 if row.get(c) is not None), None)


@dataclass(frozen=True)
class RecordView:
    """One stored record as a correction form shows it: whose, which form and visit, its values by field name
    (as the capture action names them; the study's own fields of a form record or added to a core record)."""

    subject_id: str
    table: str
    record_id: int
    form: str | None  # the study form of a form record; None for a core record
    visit: str | None
    values: dict[str, Any]


def record_view(ctx, table: str, record_id: Any) -> RecordView | None:
    """The record ``record_id`` of correctable ``table`` with its current values, or None when there is none
    (or it belongs to no patient). ``ctx`` is a ``CaptureContext`` on a read session."""
    from earlyphase.capture.checks import Checks
    from earlyphase.capture.corrections import CORRECTABLE, _inputs, find_record, patient_of
    from earlyphase.capture.forms import extension_values, stored_values
    from earlyphase.records.tables import FormRecord

    if table not in CORRECTABLE:
        return None
    record = find_record(ctx, Checks("read"), table, record_id)
    patient = patient_of(ctx, record) if record is not None else None
    if record is None or patient is None:
        return None
    if isinstance(record, FormRecord):
        if record.core_table is not None:
            return None
        try:
            form = ctx.study.form(record.form)
        except KeyError:
            return None
        values = {"visit_date": record.visit_date, **stored_values(ctx, record, form.fields)[0]}
        return RecordView(patient.subject_id, table, record.id, form.name, record.visit, values)
    values = _inputs(ctx, table, record)
    core_form = CORRECTABLE[table].core_form
    if core_form is not None:
        values.update(extension_values(ctx, core_form, record))
    return RecordView(patient.subject_id, table, record.id, None, None, values)


def subject_records(ctx, subject_id: str) -> list[tuple[str, int, str, Any]]:
    """(table, id, what, date) of a patient's allocation, doses, adverse events, study-form records, follow-ups and
    death, for the
    casebook's list of what has been entered beside the schedule; [] for an unknown subject."""
    from sqlalchemy import select

    from earlyphase.capture.context import find_patient
    from earlyphase.records.tables import Administration, AdverseEvent, Allocation, Death, FollowUp, FormRecord

    patient = find_patient(ctx, subject_id)
    if patient is None:
        return []
    rows: list[tuple[str, int, str, Any]] = []
    for a in ctx.session.execute(select(Allocation).where(Allocation.patient_id == patient.id)).scalars():
        rows.append(("allocations", a.id, f"allocation to level {a.group_code}", a.allocation_date))
    for a in ctx.session.execute(select(Administration).where(Administration.patient_id == patient.id)
                                 .order_by(Administration.number)).scalars():
        rows.append(("administrations", a.id, f"{ctx.study.product.noun} {a.number}", a.actual_date))
    for e in ctx.session.execute(select(AdverseEvent).where(AdverseEvent.patient_id == patient.id)
                                 .order_by(AdverseEvent.id)).scalars():
        rows.append(("adverse_events", e.id, f"adverse event: {e.term}, grade {e.grade}", e.onset))
    for r in ctx.session.execute(select(FormRecord).where(FormRecord.patient_id == patient.id,
                                                          FormRecord.core_table.is_(None))
                                 .order_by(FormRecord.id)).scalars():
        where = f" at {r.visit}" if r.visit else ""
        rows.append(("form_records", r.id, f"{r.form}{where}" + (f" #{r.instance}" if r.instance and r.instance > 1
                                                                   else ""), r.visit_date))
    for f in ctx.session.execute(select(FollowUp).where(FollowUp.patient_id == patient.id)
                                 .order_by(FollowUp.contact_date)).scalars():
        rows.append(("follow_ups", f.id, f"follow-up: {f.status}", f.contact_date))
    for d in ctx.session.execute(select(Death).where(Death.patient_id == patient.id)).scalars():
        rows.append(("deaths", d.id, "death", d.death_date))
    return rows
