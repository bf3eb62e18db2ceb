"""Correct or delete a record already captured: the same edit checks as at entry, a reason always
(a category from the controlled list and a few words, ``capture.reasons``), and an audit entry holding
the old and new values.

Core records are corrected field by field (the fields a study adds to a core form too); a study form's
record (``form_records``) by its field names (and ``visit_date``); every check of the form runs again on
the whole record.
"""

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
from earlyphase.capture.common import enrolment_values, insert
from earlyphase.capture.context import CaptureContext, ensure_user
from earlyphase.capture.locks import refuse_if_locked
from earlyphase.capture.forms import (
    check_values,
    extension_record,
    stored_values,
    update_values,
    validate_extension,
    write_extension,
)
from earlyphase.capture.outcomes import (
    validate_death,
    validate_deviation,
    validate_follow_up,
    validate_other_therapy,
)
from earlyphase.capture.patients import validate_allocation, validate_patient, validate_withdrawal
from earlyphase.capture.reasons import reason_for_change
from earlyphase.capture.safety import validate_adverse_event
from earlyphase.capture.treatment import validate_administration, write_deviations
from earlyphase.records.audit import row_values, write_audit
from earlyphase.records.tables import (
    Administration,
    AdverseEvent,
    Allocation,
    Base,
    Death,
    EligibilityAnswer,
    FollowUp,
    FormNotDone,
    FormRecord,
    FormValue,
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
    core_form: str | None = None  # the core form whose study-added fields live beside these records


CORRECTABLE: dict[str, _Table] = {
    "patients": _Table(Patient, (
        "subject_id", "site", "sex", "birth_year", "ecog", "consent_date", "enrolment_date", "initials",
        "hospital_number", "withdrawal_date", "withdrawal_reason"), {"site_id": "site"}, "enrolment"),
    "eligibility_answers": _Table(EligibilityAnswer, ("answer",), {}),
    "allocations": _Table(Allocation, ("group", "allocation_date"), {"group_code": "group"}, "allocation"),
    "administrations": _Table(Administration, (
        "number", "cycle", "cycle_day", "actual_date", "planned_date", "dose", "route", "weight_kg", "height_cm",
        "bsa_m2", "amount", "amount_unit", "modification_reason", "lot", "deviation"), {}, "administration"),
    "adverse_events": _Table(AdverseEvent, ("term", "term_specify", "grade", "onset", "resolution", "attribution",
                                            "outcome", "action", "serious", "dlt"), {}, "adverse_event"),
    "tumour_assessments": _Table(TumourAssessment, ("assessment_date", "modality", "baseline",
                                                    "investigator_response"), {}, "tumour_assessment"),
    "lesions": _Table(Lesion, ("label", "kind", "viable_diameter_mm", "location", "status", "node", "short_axis_mm"),
                      {"lesion_label": "label"}),
    "other_therapies": _Table(OtherTherapy, ("therapy", "start_date", "end_date", "new_anticancer"), {},
                              "other_therapy"),
    "follow_ups": _Table(FollowUp, ("contact_date", "status"), {}, "follow_up"),
    "deaths": _Table(Death, ("death_date", "cause"), {}, "death"),
    "protocol_deviations": _Table(ProtocolDeviation, ("deviation_date", "category", "description"), {}),
    "form_records": _Table(FormRecord, ("visit_date",), {}),
    "forms_not_done": _Table(FormNotDone, ("reason",), {}),
}


def patient_of(ctx: CaptureContext, record: Base) -> Patient | None:
    """The patient a record belongs to (for the audit's subject id)."""
    if isinstance(record, Patient):
        return record
    if isinstance(record, Lesion):
        assessment = ctx.session.get(TumourAssessment, record.assessment_id)
        return ctx.session.get(Patient, assessment.patient_id) if assessment else None
    if isinstance(record, FormValue):
        parent = ctx.session.get(FormRecord, record.record_id)
        return ctx.session.get(Patient, parent.patient_id) if parent else None
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


def record_fields(ctx: CaptureContext, table: str, record: Base | None) -> tuple[str, ...]:
    """The fields of one record a correction (or a query) may name: its own, and the study's added ones."""
    spec = CORRECTABLE[table]
    fields = spec.fields
    if table == "form_records" and isinstance(record, FormRecord):
        form = _form_of(ctx, record)
        return fields + tuple(form.field_names) if form is not None else fields
    extension = ctx.study.extension(spec.core_form) if spec.core_form else None
    return fields + (tuple(extension.field_names) if extension is not None else ())


def _form_of(ctx: CaptureContext, record: FormRecord):
    if record.core_table is not None:
        return None
    try:
        return ctx.study.form(record.form)
    except KeyError:
        return None


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


def correct_record(ctx: CaptureContext, table: str, record_id: int, changes: Mapping[str, Any], reason: str, *,
                   confirm_warnings: bool = False, deviation: str | None = None) -> Base:
    """Change fields of one record; every edit check of its entry form runs again on the new values.

    ``changes`` maps field names (as the capture action names them, e.g. ``site``, ``group``, ``label``;
    column names are accepted too; the study's own fields by their names) to new values. ``reason`` is
    required, ``"category: detail"`` (``capture.reasons``), and kept in the audit trail. ``confirm_warnings`` keeps
    new values outside a soft range. Moving a patient who has been dosed to another level is refused unless
    ``deviation`` gives the reason it is recorded as a protocol deviation (written with the correction).
    """
    checks = Checks(f"correct {table} record {record_id}")
    reason_text = reason_for_change(checks, reason)
    record = find_record(ctx, checks, table, record_id)
    if record is None:
        checks.raise_if_failed()
    refuse_if_locked(ctx, record, patient_of(ctx, record))
    if not isinstance(changes, Mapping):
        checks.fail("changes", type(changes).__name__, "mapping", "give the changes as field name -> new value")
        checks.raise_if_failed()
    if table == "form_records":
        return _correct_form(ctx, checks, record, dict(changes), reason_text, confirm_warnings)
    spec = CORRECTABLE[table]
    allowed = record_fields(ctx, table, record)
    extension = ctx.study.extension(spec.core_form) if spec.core_form else None
    own: dict[str, Any] = {}
    added: dict[str, Any] = {}
    for key, value in dict(changes).items():
        name = spec.aliases.get(key, key)
        if extension is not None and key in extension.field_names:
            added[key] = value
        elif name not in allowed:
            checks.fail(key, value, "correctable-field",
                        f"{key} is not a field of {table} that can be corrected (fields: {', '.join(allowed)})")
        else:
            own[name] = value
    if not changes:
        checks.fail("changes", None, "no-change", "give at least one field to correct")
    merged = _inputs(ctx, table, record)
    merged.update(own)
    patient = patient_of(ctx, record)
    deviations: list[tuple[str, str]] = []
    validator = _VALIDATORS[table]
    clean = validator(ctx, checks, patient, merged, record)
    if isinstance(clean, tuple):
        clean, deviations = clean
    moved = _level_moved_after_dosing(ctx, checks, table, record, clean, patient, deviation)
    extension_clean = None
    existing_extension = extension_record(ctx, record) if extension is not None else None
    if extension is not None and (added or existing_extension is not None):
        core_values = {spec.aliases.get(k, k): v for k, v in clean.items()}
        enrol = enrolment_values(ctx, patient) if table != "patients" else None
        extension_clean = validate_extension(ctx, checks, spec.core_form, added, core_values, patient,
                                             existing_extension, confirm_warnings=confirm_warnings, enrolment=enrol)
    old = row_values(record)
    diff = {k: v for k, v in clean.items() if k in old and _differs(getattr(record, k), v)}
    extension_changes = _extension_differs(ctx, existing_extension, extension, extension_clean)
    if not checks and not diff and not extension_changes:
        checks.fail("changes", dict(changes), "no-change", "the new values are the same as the recorded ones")
    checks.raise_if_failed()
    ensure_user(ctx)
    subject = patient.subject_id if patient is not None else None
    if diff:
        for key, value in diff.items():
            setattr(record, key, value)
        ctx.session.flush()
        write_audit(ctx.session, "update", record, username=ctx.username, reason=reason_text, old_values=old,
                    subject_id=subject)
    if extension_changes:
        if existing_extension is None:
            write_extension(ctx, spec.core_form, record, extension_clean, patient, reason=reason_text)
        else:
            update_values(ctx, existing_extension, extension.fields, extension_clean, subject, reason_text)
    if table == "administrations" and deviations and set(diff) & {"dose", "actual_date", "planned_date", "deviation",
                                                                  "route"}:
        write_deviations(ctx, patient, record.actual_date, deviations, record)
    if table == "eligibility_answers" and "answer" in diff:
        _eligibility_deviation(ctx, record, patient, reason_text)
    if moved is not None and "group_code" in diff:
        insert(ctx, ProtocolDeviation(patient_id=patient.id, deviation_date=ctx.today, category="dose",
                                      description=f"{moved}; {deviation.strip()}", source_table="allocations",
                                      source_id=record.id), patient.subject_id, reason=reason_text)
    return record


def _level_moved_after_dosing(ctx: CaptureContext, checks: Checks, table: str, record: Base, clean: dict,
                              patient: Patient | None, deviation: str | None) -> str | None:
    """A dosed patient's level changes only as a recorded protocol deviation: refuse without a reason; return
    the deviation's description when it goes ahead (None when the correction moves no dosed patient)."""
    if table != "allocations" or patient is None or clean.get("group_code") in (None, record.group_code):
        if deviation is not None and table != "allocations":
            checks.fail("deviation", deviation, "deviation-applies",
                        "a deviation reason goes with a correction of a dosed patient's level (allocations) only")
        return None
    doses = ctx.session.execute(select(Administration).where(Administration.patient_id == patient.id)
                                .order_by(Administration.number)).scalars().all()
    if not doses:
        return None
    noun = ctx.study.product.noun if len(doses) == 1 else ctx.study.product.nouns
    what = (f"patient {patient.subject_id} moved from group {record.group_code} to group {clean['group_code']} after "
            f"{len(doses)} {noun} at group {record.group_code} (first on {doses[0].actual_date})")
    if deviation is None or not str(deviation).strip():
        checks.fail("group", clean["group_code"], "level-after-dosing",
                    f"{what}: refused; a dosed patient changes level only as a protocol deviation; give its "
                    "reason (deviation) to record it")
        return None
    return what


def _extension_differs(ctx, existing, extension, clean) -> bool:
    if extension is None or clean is None:
        return False
    before = stored_values(ctx, existing, extension.fields)[0] if existing is not None else {}
    after = {k: v for k, v in clean.values.items() if v is not None}
    confirmed_before = stored_values(ctx, existing, extension.fields)[1] if existing is not None else {}
    return before != after or set(confirmed_before) != (clean.confirmed & set(after))


def _correct_form(ctx: CaptureContext, checks: Checks, record: FormRecord, changes: dict[str, Any],
                  reason: str | None, confirm_warnings: bool) -> FormRecord:
    form = _form_of(ctx, record)
    if form is None:
        what = (f"it holds the study's fields of {record.core_table} #{record.core_id}; correct that record"
                if record.core_table else f"the study no longer defines form {record.form}")
        checks.fail("record_id", record.id, "form-record", f"form record {record.id} cannot be corrected here: {what}")
        checks.raise_if_failed()
    patient = ctx.session.get(Patient, record.patient_id)
    stored, confirmed = stored_values(ctx, record, form.fields)
    # a derived field (a grade from the signs) is derived again from the corrected values, not carried over
    derived = {f.name for f in form.fields if f.derived_from is not None}
    merged = {**{k: v for k, v in stored.items() if k not in derived},
              **{k: v for k, v in changes.items() if k != "visit_date"}}
    clean = check_values(ctx, checks, f"{form.name}.", form.fields, form.checks, merged,
                         enrolment_values(ctx, patient), confirm_warnings=confirm_warnings, already_confirmed=confirmed)
    visit_date = record.visit_date
    if "visit_date" in changes:
        visit_date = checks.day("visit_date", changes["visit_date"], required=False)
    elif form.date_field is not None and form.date_field in changes:
        visit_date = clean.values.get(form.date_field)
    if not changes:
        checks.fail("changes", None, "no-change", "give at least one field to correct")
    after = {k: v for k, v in clean.values.items() if v is not None}
    unchanged = after == stored and visit_date == record.visit_date and set(confirmed) == (clean.confirmed & set(after))
    if not checks and unchanged:
        checks.fail("changes", changes, "no-change", "the new values are the same as the recorded ones")
    checks.raise_if_failed()
    ensure_user(ctx)
    if visit_date != record.visit_date:
        old = row_values(record)
        record.visit_date = visit_date
        ctx.session.flush()
        write_audit(ctx.session, "update", record, username=ctx.username, reason=reason, old_values=old,
                    subject_id=patient.subject_id)
    update_values(ctx, record, form.fields, clean, patient.subject_id, reason)
    return record


def _eligibility_deviation(ctx: CaptureContext, answer: EligibilityAnswer, patient: Patient, reason: str) -> None:
    """A corrected answer that fails the criterion: the patient was enrolled ineligible, a protocol deviation."""
    failed = (answer.kind == "inclusion" and not answer.answer) or (answer.kind == "exclusion" and answer.answer)
    if not failed:
        return
    verb = "is not met" if answer.kind == "inclusion" else "applies"
    text = next((c.text for _, c in ctx.study.eligibility.criteria if c.code == answer.criterion), "")
    insert(ctx, ProtocolDeviation(patient_id=patient.id, deviation_date=ctx.today, category="eligibility",
                                  description=f"{answer.kind} criterion {answer.criterion} {verb} ({text}); "
                                              f"corrected after enrolment: {reason}",
                                  source_table="eligibility_answers", source_id=answer.id), patient.subject_id)


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


def _validate_answer(ctx, checks, patient, merged, record):
    return {"answer": checks.boolean("answer", merged.get("answer"), default=None)}


def _validate_not_done(ctx, checks, patient, merged, record):
    return {"reason": checks.text("reason", merged.get("reason"))}


_VALIDATORS: dict[str, Callable[..., Any]] = {
    "patients": _validate_patient,
    "eligibility_answers": _validate_answer,
    "allocations": validate_allocation,
    "administrations": validate_administration,
    "adverse_events": validate_adverse_event,
    "tumour_assessments": validate_assessment,
    "lesions": _validate_lesion,
    "other_therapies": validate_other_therapy,
    "follow_ups": validate_follow_up,
    "deaths": validate_death,
    "protocol_deviations": validate_deviation,
    "forms_not_done": _validate_not_done,
}


def delete_record(ctx: CaptureContext, table: str, record_id: int, reason: str) -> None:
    """Delete a record entered by mistake (audited with its values and the reason).

    Refused while other records depend on it (a patient's data, an allocation's doses, a death that
    a fatal adverse event or a 'dead' contact refers to). An assessment's lesions, a form record's
    values and the study's fields of a core record go with it.
    """
    checks = Checks(f"delete {table} record {record_id}")
    reason_text = reason_for_change(checks, reason)
    record = find_record(ctx, checks, table, record_id)
    dependents: list[Base] = []
    if record is not None:
        refuse_if_locked(ctx, record, patient_of(ctx, record))
        dependents = _dependents(ctx, checks, table, record)
    checks.raise_if_failed()
    ensure_user(ctx)
    patient = patient_of(ctx, record)
    subject = patient.subject_id if patient is not None else None
    for child in dependents + [record]:
        ctx.session.delete(child)
        write_audit(ctx.session, "delete", child, username=ctx.username, reason=reason_text, subject_id=subject)


def _values_of(ctx: CaptureContext, form_record: FormRecord | None) -> list[Base]:
    if form_record is None:
        return []
    values = list(ctx.session.execute(select(FormValue).where(FormValue.record_id == form_record.id)).scalars())
    return values + [form_record]


def _dependents(ctx: CaptureContext, checks: Checks, table: str, record: Base) -> list[Base]:
    s = ctx.session
    added = _values_of(ctx, extension_record(ctx, record)) if CORRECTABLE[table].core_form else []
    noun = ctx.study.product.nouns
    if table == "patients":
        for model in (Allocation, Administration, AdverseEvent, TumourAssessment, OtherTherapy, FollowUp, Death,
                      ProtocolDeviation, EligibilityAnswer, FormNotDone):
            if s.execute(select(model.id).where(model.patient_id == record.id)).first() is not None:
                checks.fail("record_id", record.id, "no-dependents",
                            f"patient {record.subject_id} has {model.__tablename__} records; delete those first")
        if s.execute(select(FormRecord.id).where(FormRecord.patient_id == record.id,
                                                 FormRecord.core_table.is_(None))).first() is not None:
            checks.fail("record_id", record.id, "no-dependents",
                        f"patient {record.subject_id} has form records; delete those first")
        return added
    if table == "allocations":
        if s.execute(select(Administration.id).where(Administration.patient_id == record.patient_id)).first() is not None:
            checks.fail("record_id", record.id, "no-dependents", f"the patient has {noun} under this allocation")
        return added
    if table == "administrations":
        later = s.execute(select(Administration.number).where(
            Administration.patient_id == record.patient_id, Administration.number > record.number)).first()
        if later is not None:
            checks.fail("record_id", record.id, "no-dependents",
                        f"{ctx.study.product.noun} {later[0]} follows {ctx.study.product.noun} {record.number}; "
                        "delete or correct the later ones first")
        return added + list(s.execute(select(ProtocolDeviation).where(
            ProtocolDeviation.source_table == "administrations", ProtocolDeviation.source_id == record.id)).scalars())
    if table == "tumour_assessments":
        return added + list(s.execute(select(Lesion).where(Lesion.assessment_id == record.id)).scalars())
    if table == "form_records":
        if record.core_table is not None:
            checks.fail("record_id", record.id, "form-record",
                        f"this record holds the study's fields of {record.core_table} #{record.core_id}; "
                        "delete or correct that record")
        values = list(s.execute(select(FormValue).where(FormValue.record_id == record.id)).scalars())
        return values + list(s.execute(select(ProtocolDeviation).where(
            ProtocolDeviation.source_table == "form_records", ProtocolDeviation.source_id == record.id)).scalars())
    if table == "eligibility_answers":
        checks.fail("record_id", record.id, "correct-not-delete",
                    "an eligibility answer is part of the enrolment; correct it instead of deleting it")
        return []
    if table == "deaths":
        if s.execute(select(AdverseEvent.id).where(
                AdverseEvent.patient_id == record.patient_id, AdverseEvent.grade == 5)).first() is not None:
            checks.fail("record_id", record.id, "no-dependents", "a grade 5 adverse event refers to this death")
        if s.execute(select(FollowUp.id).where(
                FollowUp.patient_id == record.patient_id, FollowUp.status == "dead")).first() is not None:
            checks.fail("record_id", record.id, "no-dependents", "a 'dead' follow-up contact refers to this death")
    return added
