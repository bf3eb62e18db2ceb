"""Correct or delete a record already captured: the same edit checks as at entry, a reason always,
and an audit entry holding the old and new values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from sqlalchemy import select

from earlyphase.capture.assessments import (
    baseline_node_flags,
    baseline_target_labels,
    validate_assessment,
    validate_lesion,
)
from earlyphase.capture.checks import Checks
from earlyphase.capture.context import CaptureContext, ensure_user
from earlyphase.capture.outcomes import (
    validate_death,
    validate_deviation,
    validate_follow_up,
    validate_other_therapy,
)
from earlyphase.capture.patients import validate_allocation, validate_patient, validate_withdrawal
from earlyphase.capture.safety import validate_adverse_event
from earlyphase.capture.treatment import validate_infusion, write_deviations
from earlyphase.records.audit import row_values, write_audit
from earlyphase.records.tables import (
    AdverseEvent,
    Allocation,
    Base,
    Death,
    FollowUp,
    Infusion,
    Lesion,
    OtherTherapy,
    Patient,
    ProtocolDeviation,
    SiteRecord,
    TumourAssessment,
)


@dataclass(frozen=True)
class _Table:
    model: type[Base]
    fields: tuple[str, ...]  # the names a correction may change (as the capture action names them)
    aliases: Mapping[str, str]  # column name -> action argument name, where they differ


CORRECTABLE: dict[str, _Table] = {
    "patients": _Table(Patient, (
        "subject_id", "site", "sex", "birth_year", "ecog", "child_pugh", "child_pugh_score", "afp_ng_ml", "weight_kg",
        "transplant_date", "recurrence_date", "consent_date", "enrolment_date", "initials", "hospital_number",
        "withdrawal_date", "withdrawal_reason"), {"site_id": "site"}),
    "allocations": _Table(Allocation, ("group", "allocation_date"), {"group_code": "group"}),
    "infusions": _Table(Infusion, ("number", "actual_date", "planned_date", "dose_cells", "dose_cells_per_kg",
                                   "lot", "deviation"), {}),
    "adverse_events": _Table(AdverseEvent, ("term", "term_specify", "grade", "onset", "resolution", "attribution",
                                            "outcome", "action", "serious", "dlt"), {}),
    "tumour_assessments": _Table(TumourAssessment, ("assessment_date", "modality", "baseline",
                                                    "investigator_response"), {}),
    "lesions": _Table(Lesion, ("label", "kind", "viable_diameter_mm", "location", "status", "node", "short_axis_mm"),
                      {"lesion_label": "label"}),
    "other_therapies": _Table(OtherTherapy, ("therapy", "start_date", "end_date", "new_anticancer"), {}),
    "follow_ups": _Table(FollowUp, ("contact_date", "status"), {}),
    "deaths": _Table(Death, ("death_date", "cause"), {}),
    "protocol_deviations": _Table(ProtocolDeviation, ("deviation_date", "category", "description"), {}),
}


def patient_of(ctx: CaptureContext, record: Base) -> Patient | None:
    """The patient a record belongs to (for the audit's subject id)."""
    if isinstance(record, Patient):
        return record
    if isinstance(record, Lesion):
        assessment = ctx.session.get(TumourAssessment, record.assessment_id)
        return ctx.session.get(Patient, assessment.patient_id) if assessment else None
    patient_id = getattr(record, "patient_id", None)
    return ctx.session.get(Patient, patient_id) if patient_id is not None else None


def find_record(ctx: CaptureContext, checks: Checks, table: str, record_id: Any) -> Base | None:
    """The record ``record_id`` of a correctable table, or None after recording a problem."""
    if table not in CORRECTABLE:
        checks.fail("table", table, "table-known", f"records of {table!r} cannot be corrected here; "
                    f"tables: {', '.join(CORRECTABLE)}")
        return None
    number = checks.integer("record_id", record_id, low=1)
    if number is None:
        return None
    record = ctx.session.get(CORRECTABLE[table].model, number)
    if record is None:
        checks.fail("record_id", number, "record-known", f"there is no record {number} in {table}")
    return record


def _inputs(ctx: CaptureContext, table: str, record: Base) -> dict[str, Any]:
    spec = CORRECTABLE[table]
    values = {spec.aliases.get(k, k): v for k, v in row_values_raw(record).items()}
    if table == "patients":
        site = ctx.session.get(SiteRecord, record.site_id)
        values["site"] = site.code if site else None
    return values


def row_values_raw(record: Base) -> dict[str, Any]:
    """Column values as Python objects (dates stay dates)."""
    from sqlalchemy import inspect

    return {c.key: getattr(record, c.key) for c in inspect(type(record)).column_attrs}


def correct_record(ctx: CaptureContext, table: str, record_id: int, changes: Mapping[str, Any], reason: str) -> Base:
    """Change fields of one record; every edit check of its entry form runs again on the new values.

    ``changes`` maps field names (as the capture action names them, e.g. ``site``, ``group``, ``label``;
    column names are accepted too) to new values. ``reason`` is required and kept in the audit trail.
    """
    checks = Checks(f"correct {table} record {record_id}")
    reason_text = checks.text("reason", reason)
    record = find_record(ctx, checks, table, record_id)
    if record is None:
        checks.raise_if_failed()
    spec = CORRECTABLE[table]
    wanted: dict[str, Any] = {}
    for key, value in dict(changes).items():
        name = spec.aliases.get(key, key)
        if name not in spec.fields:
            checks.fail(key, value, "correctable-field",
                        f"{key} is not a field of {table} that can be corrected (fields: {', '.join(spec.fields)})")
        else:
            wanted[name] = value
    if not changes:
        checks.fail("changes", None, "no-change", "give at least one field to correct")
    merged = _inputs(ctx, table, record)
    merged.update(wanted)
    patient = patient_of(ctx, record)
    deviations: list[tuple[str, str]] = []
    validator = _VALIDATORS[table]
    clean = validator(ctx, checks, patient, merged, record)
    if isinstance(clean, tuple):
        clean, deviations = clean
    old = row_values(record)
    diff = {k: v for k, v in clean.items() if k in old and _differs(getattr(record, k), v)}
    if not checks and not diff:
        checks.fail("changes", dict(changes), "no-change", "the new values are the same as the recorded ones")
    checks.raise_if_failed()
    ensure_user(ctx)
    for key, value in diff.items():
        setattr(record, key, value)
    ctx.session.flush()
    subject = patient.subject_id if patient is not None else None
    write_audit(ctx.session, "update", record, username=ctx.username, reason=reason_text, old_values=old,
                subject_id=subject)
    if table == "infusions" and deviations and set(diff) & {"dose_cells", "actual_date", "planned_date", "deviation"}:
        write_deviations(ctx, patient, record.actual_date, deviations, record)
    return record


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, (int, float)):
        return abs(old - new) > 1e-9 * max(1.0, abs(old))
    return old != new


def _validate_patient(ctx, checks, patient, merged, record):
    out = validate_patient(ctx, checks, merged, current=record)
    if record.status == "withdrawn":
        out.update(validate_withdrawal(ctx, checks, record, merged, correcting=True))
    else:
        for key in ("withdrawal_date", "withdrawal_reason"):
            if merged.get(key) not in (None, ""):
                checks.fail(key, merged[key], "withdraw-action",
                            "the patient is not withdrawn; use the withdraw action to withdraw")
    return out


def _validate_lesion(ctx, checks, patient, merged, record):
    assessment = ctx.session.get(TumourAssessment, record.assessment_id)
    out = validate_lesion(checks, merged, "", assessment.baseline, ctx.study.response_criteria)
    label = out["lesion_label"]
    if label is not None:
        same = ctx.session.execute(select(Lesion).where(
            Lesion.assessment_id == assessment.id, Lesion.lesion_label == label, Lesion.id != record.id)).first()
        if same is not None:
            checks.fail("label", label, "unique-lesion-label", f"lesion {label} is already listed in this assessment")
    if not assessment.baseline and patient is not None and out["node"] is not None:
        was_node = baseline_node_flags(ctx, patient).get(label)
        if was_node is not None and was_node != out["node"]:
            checks.fail("node", out["node"], "node-as-at-baseline",
                        f"lesion {label} was {'a lymph node' if was_node else 'not a lymph node'} at baseline")
    if out["kind"] == "target" and not assessment.baseline and patient is not None:
        base = baseline_target_labels(ctx, patient)
        if base is not None and label not in base:
            checks.fail("label", label, "targets-from-baseline",
                        f"target lesion {label} was not a target at baseline; a lesion appearing later is 'new'")
    return out


_VALIDATORS: dict[str, Callable[..., Any]] = {
    "patients": _validate_patient,
    "allocations": validate_allocation,
    "infusions": validate_infusion,
    "adverse_events": validate_adverse_event,
    "tumour_assessments": validate_assessment,
    "lesions": _validate_lesion,
    "other_therapies": validate_other_therapy,
    "follow_ups": validate_follow_up,
    "deaths": validate_death,
    "protocol_deviations": validate_deviation,
}


def delete_record(ctx: CaptureContext, table: str, record_id: int, reason: str) -> None:
    """Delete a record entered by mistake (audited with its values and the reason).

    Refused while other records depend on it (a patient's data, an allocation's infusions, a death that
    a fatal adverse event or a 'dead' contact refers to). An assessment's lesions go with it.
    """
    checks = Checks(f"delete {table} record {record_id}")
    reason_text = checks.text("reason", reason)
    record = find_record(ctx, checks, table, record_id)
    dependents: list[Base] = []
    if record is not None:
        dependents = _dependents(ctx, checks, table, record)
    checks.raise_if_failed()
    ensure_user(ctx)
    patient = patient_of(ctx, record)
    subject = patient.subject_id if patient is not None else None
    for child in dependents + [record]:
        ctx.session.delete(child)
        write_audit(ctx.session, "delete", child, username=ctx.username, reason=reason_text, subject_id=subject)


def _dependents(ctx: CaptureContext, checks: Checks, table: str, record: Base) -> list[Base]:
    s = ctx.session
    if table == "patients":
        for model in (Allocation, Infusion, AdverseEvent, TumourAssessment, OtherTherapy, FollowUp, Death,
                      ProtocolDeviation):
            if s.execute(select(model.id).where(model.patient_id == record.id)).first() is not None:
                checks.fail("record_id", record.id, "no-dependents",
                            f"patient {record.subject_id} has {model.__tablename__} records; delete those first")
        return []
    if table == "allocations":
        if s.execute(select(Infusion.id).where(Infusion.patient_id == record.patient_id)).first() is not None:
            checks.fail("record_id", record.id, "no-dependents", "the patient has infusions under this allocation")
        return []
    if table == "infusions":
        later = s.execute(select(Infusion.number).where(
            Infusion.patient_id == record.patient_id, Infusion.number > record.number)).first()
        if later is not None:
            checks.fail("record_id", record.id, "no-dependents",
                        f"infusion {later[0]} follows infusion {record.number}; delete or correct the later ones first")
        return list(s.execute(select(ProtocolDeviation).where(
            ProtocolDeviation.source_table == "infusions", ProtocolDeviation.source_id == record.id)).scalars())
    if table == "tumour_assessments":
        return list(s.execute(select(Lesion).where(Lesion.assessment_id == record.id)).scalars())
    if table == "deaths":
        if s.execute(select(AdverseEvent.id).where(
                AdverseEvent.patient_id == record.patient_id, AdverseEvent.grade == 5)).first() is not None:
            checks.fail("record_id", record.id, "no-dependents", "a grade 5 adverse event refers to this death")
        if s.execute(select(FollowUp.id).where(
                FollowUp.patient_id == record.patient_id, FollowUp.status == "dead")).first() is not None:
            checks.fail("record_id", record.id, "no-dependents", "a 'dead' follow-up contact refers to this death")
    return []
