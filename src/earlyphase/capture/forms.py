"""The generic case-report-form action for study-defined forms, driven by the study's data dictionary.

``record_form(ctx, subject_id, form, values, visit=..., instance=..., confirm_warnings=...)`` runs every
check its fields imply: the type of each value (text, integer, decimal, date, partial date, choice,
multiple choice, yes/no), hard ranges (refused), soft ranges (kept only with ``confirm_warnings``),
required fields, show-if conditions (a hidden field stays blank), the form's own checks, and the
visit's window (a visit date outside it is accepted and writes a protocol deviation). Every problem
is listed at once, each naming the form and field (``labs.haemoglobin``), the value
and the rule; nothing is written on error. The record and each value are audited.

The fields a study adds to a core form use the same checks (``validate_extension``) and are written
beside the core record (``write_extension``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from sqlalchemy import func, select

from earlyphase.capture.checks import Checks, PartialDate
from earlyphase.capture.common import enrolment_values, insert, known_patient, not_after_death, not_future
from earlyphase.capture.context import CaptureContext, ensure_user
from earlyphase.protocol.forms import CoreFormExtension, Form, FormField, Range
from earlyphase.records.audit import row_values, write_audit
from earlyphase.records.tables import FormRecord, FormValue, Patient, ProtocolDeviation

MAX_TEXT = 2000
MULTIPLE_SEPARATOR = "|"
VALUE_COLUMNS = ("value_text", "value_int", "value_num", "value_date", "value_bool")
_INT_LIMIT = 2**63 - 1
# A warning check's message ends with this; with the soft-range rule it marks problems a confirmation keeps.
WARNING_NOTE = "(a warning: confirm it to keep the values)"


@dataclass
class CleanValues:
    """The typed values of one form entry: field -> value (None = blank; a tuple for multiple choice),
    and the fields whose soft-range warning was confirmed."""

    values: dict[str, Any]
    confirmed: set[str]


def is_warning(problem) -> bool:
    """Whether a problem is a warning (a soft range or a warning check) that ``confirm_warnings`` keeps."""
    return problem.rule == "soft-range" or str(problem.message).endswith(WARNING_NOTE)


def value_column(field: FormField) -> str:
    """The ``form_values`` column a field's values are stored in."""
    return {"integer": "value_int", "decimal": "value_num", "date": "value_date", "yesno": "value_bool"}.get(
        field.type, "value_text")


def read_field(ctx: CaptureContext, checks: Checks, ref: str, field: FormField, raw: Any) -> Any:
    """One raw value as its field's type (None when blank or refused, after recording the problem)."""
    if _blank(raw):
        return None
    kind = field.type
    if kind == "text":
        return checks.text(ref, raw, required=False, max_length=field.max_length or MAX_TEXT)
    if kind == "integer":
        number = checks.integer(ref, raw, required=False)
        if number is not None and abs(number) > _INT_LIMIT:
            checks.fail(ref, raw, "integer", f"{ref} is too large to store")
            return None
        return number
    if kind == "decimal":
        return checks.number(ref, raw, required=False)
    if kind == "date":
        return checks.day(ref, raw, required=False)
    if kind == "partial_date":
        parsed = checks.partial(ref, raw, required=False)
        return parsed.text if parsed is not None else None
    if kind == "yesno":
        return checks.boolean(ref, raw, default=None)
    codes = [c for c, _ in ctx.study.codes_of(field)]
    if kind == "choice":
        return _code(checks, ref, raw, codes)
    items = _items(raw)
    chosen: list[str] = []
    for item in items:
        code = _code(checks, ref, item, codes)
        if code is not None and code not in chosen:
            chosen.append(code)
    return tuple(c for c in codes if c in chosen) or None  # codelist order, each once


def _blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, (list, tuple, set, frozenset)):
        return all(_blank(x) for x in raw)
    return False


def _items(raw: Any) -> list[Any]:
    if isinstance(raw, str):
        return [x.strip() for x in raw.split(MULTIPLE_SEPARATOR) if x.strip()]
    if isinstance(raw, (list, tuple, set, frozenset)):
        return [x for x in raw if not _blank(x)]
    return [raw]


def _code(checks: Checks, ref: str, raw: Any, codes: list[str]) -> str | None:
    text = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw).strip()
    for code in codes:
        if code == text:
            return code
    for code in codes:  # 'a' for 'A': the code as the codelist spells it
        if code.casefold() == text.casefold():
            return code
    checks.fail(ref, raw, "code", f"{ref} must be one of the codes {', '.join(codes)}")
    return None


def _outside(value: Any, bounds: Range, today: date) -> bool:
    if value is None:
        return False

    def bound(b):
        return today if b == "today" else b

    lo, hi = bound(bounds.min), bound(bounds.max)
    if isinstance(value, date):
        return (isinstance(lo, date) and value < lo) or (isinstance(hi, date) and value > hi)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (isinstance(lo, (int, float)) and value < lo) or (isinstance(hi, (int, float)) and value > hi)
    return False


def _unit(field: FormField) -> str:
    return f" {field.unit}" if field.unit else ""


def check_values(ctx: CaptureContext, checks: Checks, where: str, fields: list[FormField], checks_of, raw: Mapping[str, Any],
                 context_values: Mapping[str, Any], *, confirm_warnings: bool = False,
                 already_confirmed: Mapping[str, Any] | None = None) -> CleanValues:
    """Every check the fields and form checks imply; ``where`` prefixes field names in problems
    (``form.`` for a study form, '' for fields added to a core form).

    ``context_values`` are the other values conditions may read (enrolment, the core record).
    ``already_confirmed`` maps fields to values confirmed before (a correction keeps them confirmed).
    """
    by_name = {f.name: f for f in fields}
    for name in raw:
        if name not in by_name:
            checks.fail(f"{where}{name}", raw[name], "known-field",
                        f"{where.rstrip('.') or 'the form'} has no field {name!r} (fields: {', '.join(by_name)})")
    values: dict[str, Any] = {}
    for f in fields:
        values[f.name] = read_field(ctx, checks, f"{where}{f.name}", f, raw.get(f.name))
    confirmed: set[str] = set()
    scope = {**context_values, **values}
    from earlyphase.protocol.expressions import parse_expression

    for f in fields:
        ref, value = f"{where}{f.name}", values[f.name]
        shown = True
        if f.show_if:
            shown = parse_expression(f.show_if).evaluate(scope, today=ctx.today) is True
        if not shown:
            if value is not None:
                checks.fail(ref, raw.get(f.name), "hidden-field",
                            f"{ref} is asked only when {f.show_if}; leave it blank")
                values[f.name] = None
            continue
        if value is None:
            if f.required and not checks.has_field(ref):
                checks.fail(ref, raw.get(f.name), "required", f"{ref} is required ({f.label})")
            continue
        if f.type == "date" and not f.allow_future and value > ctx.today:
            checks.fail(ref, value, "not-in-future", f"{ref} {value} is in the future (today is {ctx.today})")
        if f.range is not None and _outside(value, f.range, ctx.today):
            checks.fail(ref, raw.get(f.name), "range", f"{ref} must be {f.range.text()}{_unit(f)}")
            continue
        if f.soft_range is not None and _outside(value, f.soft_range, ctx.today):
            before = (already_confirmed or {}).get(f.name, _NOT_GIVEN)
            if confirm_warnings or before == value:
                confirmed.add(f.name)
            else:
                checks.fail(ref, raw.get(f.name), "soft-range",
                            f"{ref} = {_shown(value)}{_unit(f)} is outside the expected range "
                            f"({f.soft_range.text()}{_unit(f)}): check it, and confirm it to keep it")
    _derive(checks, where, fields, values, raw)
    scope = {**context_values, **values}
    for c in checks_of:
        expression = parse_expression(c.expression)
        read = expression.names()
        wrong = {p.field for p in checks.problems if p.rule != "soft-range"}
        if any(f"{where}{name}" in wrong for name in read & set(by_name)):
            continue  # a value it reads is already wrong: that problem says enough
        if expression.evaluate(scope, today=ctx.today) is not False:
            continue
        target = (c.fields or sorted(read & set(by_name)) or sorted(read))[0]
        ref = f"{where}{target}" if target in by_name else target
        value = scope.get(target)
        if c.warning:
            own = read & set(by_name)
            before = already_confirmed or {}
            if confirm_warnings or (own and all(name in before and before[name] == values[name] for name in own)):
                confirmed.update(name for name in own if values[name] is not None)
                continue
            checks.fail(ref, _shown(value), c.name, f"{c.message} {WARNING_NOTE}")
        else:
            checks.fail(ref, _shown(value), c.name, c.message)
    return CleanValues(values, confirmed)


_NOT_GIVEN = object()


def _derive(checks: Checks, where: str, fields: list[FormField], values: dict[str, Any], raw: Mapping[str, Any]) -> None:
    """Compute each derived field (a grade from the recorded signs) into ``values``.

    A value given for a derived field is accepted only when it equals the derived one (a correction or a
    re-import carries the stored grade back); any other is refused, naming the grade and why.
    """
    from earlyphase.errors import InputError
    from earlyphase.protocol.standard_forms import derive_value

    for f in fields:
        if f.derived_from is None:
            continue
        ref = f"{where}{f.name}"
        given = values.get(f.name)
        values[f.name] = None
        wrong = {p.field for p in checks.problems if p.rule != "soft-range"}
        if any(f"{where}{other.name}" in wrong for other in fields if other is not f):
            continue  # a sign is already refused: that problem says enough
        try:
            result = derive_value(f.derived_from, {k: v for k, v in values.items() if k != f.name})
        except InputError as exc:
            for problem in exc.problems:
                checks.fail(f"{where}{problem.field}", problem.value, problem.rule,
                            f"{where.rstrip('.') or 'the form'}: {problem.message}")
            continue
        values[f.name] = result.grade
        if given is not None and given != result.grade:
            checks.fail(ref, raw.get(f.name), "derived",
                        f"{ref} is derived from the recorded signs ({result.summary()}); leave it blank")


def _shown(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return MULTIPLE_SEPARATOR.join(value)
    return value


# -- storing -------------------------------------------------------------------------------------------
def _value_rows(fields: list[FormField], clean: CleanValues) -> list[dict[str, Any]]:
    rows = []
    for f in fields:
        value = clean.values.get(f.name)
        if value is None:
            continue
        column = value_column(f)
        items = list(value) if f.type == "multiple_choice" else [value]
        for position, item in enumerate(items, start=1 if f.type == "multiple_choice" else 0):
            rows.append({"field": f.name, "position": position, column: item,
                         "confirmed": f.name in clean.confirmed})
    return rows


def stored_values(ctx: CaptureContext, record: FormRecord, fields: list[FormField]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(field -> typed value, field -> value as confirmed before) of a stored form record."""
    by_name = {f.name: f for f in fields}
    values: dict[str, Any] = {}
    confirmed: dict[str, Any] = {}
    rows = ctx.session.execute(select(FormValue).where(FormValue.record_id == record.id)
                               .order_by(FormValue.field, FormValue.position)).scalars()
    for row in rows:
        f = by_name.get(row.field)
        if f is None:
            continue
        value = getattr(row, value_column(f))
        if f.type == "multiple_choice":
            values[f.name] = tuple(values.get(f.name, ())) + (value,)
        else:
            values[f.name] = value
        if row.confirmed:
            confirmed[f.name] = values[f.name]
    return values, confirmed


def write_values(ctx: CaptureContext, record: FormRecord, fields: list[FormField], clean: CleanValues,
                 subject_id: str, reason: str | None = None) -> None:
    for row in _value_rows(fields, clean):
        insert(ctx, FormValue(record_id=record.id, **row), subject_id, reason=reason)


def update_values(ctx: CaptureContext, record: FormRecord, fields: list[FormField], clean: CleanValues,
                  subject_id: str, reason: str) -> int:
    """Bring the stored values of ``record`` to ``clean`` (audited updates, inserts, deletes); changes made."""
    from earlyphase.capture.locks import refuse_if_locked

    refuse_if_locked(ctx, record, ctx.session.get(Patient, record.patient_id))
    wanted = {(r["field"], r["position"]): r for r in _value_rows(fields, clean)}
    current = {(v.field, v.position): v for v in ctx.session.execute(
        select(FormValue).where(FormValue.record_id == record.id)).scalars()}
    changes = 0
    for key, row in current.items():
        target = wanted.get(key)
        if target is None:
            ctx.session.delete(row)
            write_audit(ctx.session, "delete", row, username=ctx.username, reason=reason, subject_id=subject_id)
            changes += 1
            continue
        new = {c: target.get(c) for c in VALUE_COLUMNS} | {"confirmed": target["confirmed"]}
        if any(_differs(getattr(row, c), v) for c, v in new.items()):
            old = row_values(row)
            for c, v in new.items():
                setattr(row, c, v)
            ctx.session.flush()
            write_audit(ctx.session, "update", row, username=ctx.username, reason=reason, old_values=old,
                        subject_id=subject_id)
            changes += 1
    for key, row in wanted.items():
        if key not in current:
            insert(ctx, FormValue(record_id=record.id, **row), subject_id, reason=reason)
            changes += 1
    return changes


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, (int, float)) and not isinstance(new, bool):
        return abs(old - new) > 1e-12 * max(1.0, abs(old))
    return old != new


# -- study forms ---------------------------------------------------------------------------------------
def study_form(ctx: CaptureContext, checks: Checks, name: Any) -> Form | None:
    if not isinstance(name, str) or not name.strip():
        checks.fail("form", name, "required", "name the form")
        return None
    try:
        return ctx.study.form(name.strip())
    except KeyError:
        known = ", ".join(ctx.study.form_names) or "none"
        checks.fail("form", name, "form-known", f"the study has no form {name!r} (its forms: {known})")
        return None


def parse_visit(ctx: CaptureContext, checks: Checks, form: Form | None, visit: Any):
    """(visit, occurrence number) of a visit key such as ``SCR`` or ``SCAN-3``; (None, None) for no visit."""
    if visit is None or (isinstance(visit, str) and not visit.strip()):
        return None, None
    key = str(visit).strip()
    code, _, number = key.partition("-")
    try:
        definition = ctx.study.visit(code)
    except KeyError:
        known = ", ".join(v.code for v in ctx.study.visits) or "none"
        checks.fail("visit", key, "visit-known", f"the study has no visit {code!r} (visits: {known})")
        return None, None
    if definition.repeats:
        if not number.isdigit() or int(number) < 1:
            checks.fail("visit", key, "visit-occurrence",
                        f"visit {code} repeats: name the occurrence, e.g. {code}-1, {code}-2")
            return None, None
        occurrence = int(number)
    else:
        if number:
            checks.fail("visit", key, "visit-occurrence", f"visit {code} happens once: write {code}")
            return None, None
        occurrence = 1
    if form is not None and form.name not in definition.forms:
        checks.fail("visit", key, "form-at-visit",
                    f"form {form.name} is not expected at visit {code} ({definition.label}); "
                    f"its forms: {', '.join(definition.forms)}")
    return definition, occurrence


def default_visit(ctx: CaptureContext, form: Form) -> str | None:
    """The visit a form belongs to when it is expected at exactly one single (non-repeating) visit."""
    visits = [v for v in ctx.study.visits if form.name in v.forms]
    if len(visits) == 1 and not visits[0].repeats:
        return visits[0].code
    return None


def _instance(ctx: CaptureContext, checks: Checks, patient: Patient, form: Form, visit_key: str | None,
              instance: Any, current: FormRecord | None = None) -> int | None:
    query = select(FormRecord).where(FormRecord.patient_id == patient.id, FormRecord.form == form.name,
                                     FormRecord.core_table.is_(None))
    query = query.where(FormRecord.visit.is_(None) if visit_key is None else FormRecord.visit == visit_key)
    others = [r for r in ctx.session.execute(query).scalars() if current is None or r.id != current.id]
    where = f" at visit {visit_key}" if visit_key else ""
    if not form.repeating:
        if instance not in (None, 1, "1"):
            checks.fail("instance", instance, "single-form", f"form {form.name} is entered once{where}; "
                                                             "it has no instances")
        if others:
            checks.fail("form", form.name, "unique-form",
                        f"form {form.name} is already entered for patient {patient.subject_id}{where} "
                        f"(record {others[0].id}); correct that record instead")
        return 1
    if instance is None:
        return max((r.instance for r in others), default=0) + 1
    number = checks.integer("instance", instance, low=1, high=100000, rule="instance")
    if number is not None and any(r.instance == number for r in others):
        checks.fail("instance", number, "unique-instance",
                    f"instance {number} of form {form.name} is already entered for patient {patient.subject_id}{where}")
    return number


def record_form(
    ctx: CaptureContext,
    subject_id: str,
    form: str,
    values: Mapping[str, Any],
    *,
    visit: str | None = None,
    instance: int | None = None,
    visit_date: date | str | None = None,
    confirm_warnings: bool = False,
) -> FormRecord:
    """Enter a study-defined form for a patient: ``values`` maps field names to values (dates as
    ``date`` or ``YYYY-MM-DD``; multiple choice as a list or ``a|b``; yes/no as yes/no/true/false).

    ``visit`` is a visit key of the schedule (``SCR``, ``SCAN-2``; default: the one visit that expects
    the form, if there is exactly one); ``instance`` numbers repeats of a repeating form (default: the
    next); ``visit_date`` is when the data were collected (default: the form's date field). A visit date
    outside the visit's window is accepted and writes a protocol deviation. ``confirm_warnings`` keeps
    values outside a soft range (and warning checks) that would otherwise be refused.
    """
    checks = Checks(f"record form {form} of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    definition = study_form(ctx, checks, form)
    if not isinstance(values, Mapping):
        checks.fail("values", type(values).__name__, "mapping", "give the values as field name -> value")
        values = {}
    clean = None
    visit_key = None
    deviations: list[str] = []
    when = None
    if definition is not None:
        context = enrolment_values(ctx, patient)
        clean = check_values(ctx, checks, f"{definition.name}.", definition.fields, definition.checks, values,
                             context, confirm_warnings=confirm_warnings)
        if visit is None:
            visit = default_visit(ctx, definition)
        visit_def, occurrence = parse_visit(ctx, checks, definition, visit)
        visit_key = visit_def.key(occurrence) if visit_def is not None else None
        when = checks.day("visit_date", visit_date, required=False)
        if when is None and definition.date_field is not None:
            when = clean.values.get(definition.date_field)
        not_future(ctx, checks, "visit_date", when)
        if patient is not None:
            not_after_death(ctx, checks, patient, "visit_date", when, "the visit")
            number = _instance(ctx, checks, patient, definition, visit_key, instance)
            if visit_def is not None and when is not None:
                deviations = visit_window_deviations(ctx, patient, visit_def, occurrence, when)
        else:
            number = None
    checks.raise_if_failed()
    ensure_user(ctx)
    record = insert(ctx, FormRecord(patient_id=patient.id, form=definition.name, visit=visit_key, instance=number,
                                    visit_date=when, core_table=None, core_id=None), patient.subject_id)
    write_values(ctx, record, definition.fields, clean, patient.subject_id)
    for text in deviations:
        insert(ctx, ProtocolDeviation(patient_id=patient.id, deviation_date=when, category="schedule",
                                      description=text, source_table="form_records", source_id=record.id),
               patient.subject_id)
    return record


def visit_window_deviations(ctx: CaptureContext, patient: Patient, visit, occurrence: int, when: date) -> list[str]:
    """The deviation text when ``when`` lies outside the visit occurrence's window ([] when inside or
    when the occurrence cannot be placed yet, e.g. before the first dose)."""
    from earlyphase.capture.visits import patient_anchors
    from earlyphase.protocol.schedule import visit_occurrences

    anchors = patient_anchors(ctx, patient)
    for occ in visit_occurrences(visit, anchors, horizon=max(when, ctx.today), ignore_stops=True):
        if occ.number != occurrence:
            continue
        if occ.earliest <= when <= occ.latest:
            return []
        days = (when - occ.planned).days
        return [f"visit {visit.label} ({occ.key}) on {when}: planned {occ.planned}, {abs(days)} days "
                f"{'late' if days > 0 else 'early'} (window -{visit.window.before}/+{visit.window.after} days)"]
    return []


# -- fields a study adds to core forms -----------------------------------------------------------------
def validate_extension(ctx: CaptureContext, checks: Checks, core_form: str, extra: Mapping[str, Any] | None,
                       core_values: Mapping[str, Any], patient: Patient | None,
                       current: FormRecord | None = None, *, confirm_warnings: bool = False,
                       enrolment: Mapping[str, Any] | None = None) -> CleanValues | None:
    """Check the study's fields of core form ``core_form`` (None when the study adds none and none are given)."""
    extension: CoreFormExtension | None = ctx.study.extension(core_form)
    extra = dict(extra or {})
    if extension is None:
        for name, value in extra.items():
            checks.fail(name, value, "known-field", f"the study adds no field {name!r} to the {core_form} form")
        return None
    confirmed_before: dict[str, Any] = {}
    if current is not None:
        stored, confirmed_before = stored_values(ctx, current, extension.fields)
        extra = {**stored, **extra}
    context = dict(enrolment if enrolment is not None else enrolment_values(ctx, patient))
    context.update(core_values)
    return check_values(ctx, checks, "", extension.fields, extension.checks, extra, context,
                        confirm_warnings=confirm_warnings, already_confirmed=confirmed_before)


def write_extension(ctx: CaptureContext, core_form: str, core_record, clean: CleanValues | None,
                    patient: Patient, reason: str | None = None) -> FormRecord | None:
    """Store the study's fields of a core record (nothing when all are blank)."""
    extension = ctx.study.extension(core_form)
    if extension is None or clean is None or all(v is None for v in clean.values.values()):
        return None
    record = insert(ctx, FormRecord(patient_id=patient.id, form=core_form, visit=None, instance=1, visit_date=None,
                                    core_table=core_record.__tablename__, core_id=core_record.id),
                    patient.subject_id, reason=reason)
    write_values(ctx, record, extension.fields, clean, patient.subject_id, reason=reason)
    return record


def extension_record(ctx: CaptureContext, core_record) -> FormRecord | None:
    """The form record holding the study's fields of a core record, if any."""
    return ctx.session.execute(select(FormRecord).where(
        FormRecord.core_table == core_record.__tablename__, FormRecord.core_id == core_record.id)).scalars().first()


def extension_values(ctx: CaptureContext, core_form: str, core_record) -> dict[str, Any]:
    extension = ctx.study.extension(core_form)
    record = extension_record(ctx, core_record) if extension is not None else None
    if record is None:
        return {}
    return stored_values(ctx, record, extension.fields)[0]


def next_instance(ctx: CaptureContext, patient: Patient, form: str) -> int:
    found = ctx.session.execute(select(func.max(FormRecord.instance)).where(
        FormRecord.patient_id == patient.id, FormRecord.form == form)).scalar()
    return int(found or 0) + 1


def form_values_as_inputs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored typed values as a correction merges them (multiple choice as a list)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}


def partial_text(value: Any) -> str | None:
    parsed = PartialDate.parse(value)
    return parsed.text if parsed else None


def shown_fields(ctx: CaptureContext, subject_id: str, form: Form, raw: Mapping[str, Any]) -> set[str]:
    """The fields of ``form`` asked with these (raw, possibly unfinished) values: those without a show-if
    condition and those whose condition holds. A door uses it to hide the others while the form is filled;
    the save checks the same conditions again."""
    from earlyphase.capture.context import find_patient
    from earlyphase.protocol.expressions import parse_expression

    checks = Checks("preview")  # values that do not parse count as blank here; the save names them
    values = {f.name: read_field(ctx, checks, f.name, f, raw.get(f.name)) for f in form.fields}
    patient = find_patient(ctx, subject_id)
    scope = {**enrolment_values(ctx, patient), **values}
    return {f.name for f in form.fields
            if not f.show_if or parse_expression(f.show_if).evaluate(scope, today=ctx.today) is True}
