"""What an amended study file must keep with the data already stored (pure: the caller gives the facts).

A protocol amendment may grow the study: new forms, new optional fields, wider ranges, new codes, new
levels, sites, visits and criteria; new regimens for levels. It may not orphan or mistype stored data:
remove a form, field, code, level, site or visit that has data, change a field's type or unit, narrow a
range below a stored value, add a required field to a form already entered, make a form entered several
times per visit single, change the product's dose unit once doses are recorded, or change the study id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from earlyphase.protocol.forms import CHOICE_TYPES, FormField, Range


@dataclass
class StoredFacts:
    """What the database holds, as far as an amendment can break it.

    Form keys are study form names or core form names (for the fields a study adds to core forms).
    """

    records: dict[str, int] = field(default_factory=dict)  # form -> records entered
    values: dict[tuple[str, str], int] = field(default_factory=dict)  # (form, field) -> values stored
    codes: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (form, field) -> codes used
    bounds: dict[tuple[str, str], tuple[Any, Any]] = field(default_factory=dict)  # (form, field) -> (min, max)
    repeated: set[str] = field(default_factory=set)  # forms entered more than once per patient and visit
    groups: set[str] = field(default_factory=set)  # level codes with allocations
    sites: set[str] = field(default_factory=set)  # site codes with patients
    visits: set[str] = field(default_factory=set)  # visit codes records name
    administrations: int = 0


def compare_studies(old, new, facts: StoredFacts) -> list[tuple[str, str]]:
    """(what, why) for every change of ``new`` against ``old`` that the stored data cannot follow ([] = fine)."""
    problems: list[tuple[str, str]] = []
    if new.study_id != old.study_id:
        problems.append(("study_id", f"the database holds study {old.study_id}; an amendment keeps its study_id"))
    if new.product.dose_unit != old.product.dose_unit and facts.administrations:
        problems.append(("product.dose_unit", f"{facts.administrations} doses are recorded in {old.product.dose_unit}; "
                                              f"the unit cannot become {new.product.dose_unit}"))
    for code in sorted(facts.groups - set(new.group_codes)):
        problems.append(("groups", f"level {code} has allocated patients and cannot be removed"))
    for code in sorted(facts.sites - {s.code for s in new.sites}):
        problems.append(("sites", f"site {code} has patients and cannot be removed"))
    new_visits = {v.code for v in new.visits}
    for code in sorted(facts.visits - new_visits):
        problems.append(("visits", f"visit {code} is named by stored records and cannot be removed"))

    old_forms = _forms(old)
    new_forms = _forms(new)
    for name, (old_fields, _) in old_forms.items():
        if name not in new_forms:
            if facts.records.get(name):
                problems.append((f"forms.{name}", f"form {name} has {facts.records[name]} records and cannot be removed"))
            continue
        new_fields, repeating = new_forms[name]
        if not repeating and name in facts.repeated:
            problems.append((f"forms.{name}", f"form {name} is entered more than once per patient and visit; it must "
                                              "stay repeating"))
        for fname, old_field in old_fields.items():
            key = (name, fname)
            stored = facts.values.get(key, 0)
            new_field = new_fields.get(fname)
            where = f"forms.{name}.{fname}"
            if new_field is None:
                if stored:
                    problems.append((where, f"field {fname} holds {stored} values and cannot be removed"))
                continue
            if not stored:
                continue
            if new_field.type != old_field.type:
                problems.append((where, f"field {fname} holds {stored} {old_field.type} values; its type cannot become "
                                        f"{new_field.type}"))
                continue
            if (new_field.unit or "") != (old_field.unit or ""):
                problems.append((where, f"field {fname} holds {stored} values in {old_field.unit or 'no unit'}; its "
                                        f"unit cannot become {new_field.unit or 'none'}"))
            used = facts.codes.get(key, set())
            if used and new_field.type in CHOICE_TYPES:
                codes = {c for c, _ in new.codes_of(new_field)}
                lost = sorted(used - codes)
                if lost:
                    problems.append((where, f"stored values use the code(s) {', '.join(lost)}, which the new "
                                            f"codes of {fname} lack"))
            low, high = facts.bounds.get(key, (None, None))
            if new_field.range is not None and _outside_range(new_field.range, low, high):
                problems.append((where, f"stored values of {fname} run from {_t(low)} to {_t(high)}; the new range "
                                        f"({new_field.range.text()}) would leave some outside it"))
        if facts.records.get(name):
            for fname, new_field in new_fields.items():
                if fname not in old_fields and new_field.required:
                    problems.append((f"forms.{name}.{fname}", f"form {name} already has {facts.records[name]} "
                                                              f"records without {fname}; add it as an optional field"))
    return problems


def _forms(study) -> dict[str, tuple[dict[str, FormField], bool]]:
    out = {f.name: ({x.name: x for x in f.fields}, f.repeating) for f in study.forms}
    for core, ext in study.core_forms.items():
        out[core] = ({x.name: x for x in ext.fields}, False)
    return out


def _outside_range(bounds: Range, low: Any, high: Any) -> bool:
    today = date.today()

    def value(b):
        return today if b == "today" else b

    lo, hi = value(bounds.min), value(bounds.max)
    for stored in (low, high):
        if stored is None:
            continue
        if lo is not None and type(lo) is not str and _comparable(stored, lo) and stored < lo:
            return True
        if hi is not None and type(hi) is not str and _comparable(stored, hi) and stored > hi:
            return True
    return False


def _comparable(a: Any, b: Any) -> bool:
    if isinstance(a, date) or isinstance(b, date):
        return isinstance(a, date) and isinstance(b, date)
    return isinstance(a, (int, float)) and isinstance(b, (int, float))


def _t(x: Any) -> str:
    return x.isoformat() if isinstance(x, date) else f"{x:g}" if isinstance(x, float) else str(x)
