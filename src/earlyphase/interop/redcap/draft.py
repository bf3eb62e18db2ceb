"""A REDCap project as a study-file draft: its instruments become forms, its events visits, its arms groups,
its data access groups sites.

REDCap knows nothing of the Phase I parts of a study (the product and its dose levels, the DLT window,
the sponsor); the draft fills each with a placeholder and lists it under ``assumptions`` as
``TODO (REDCap import): ...``, so that ``earlyphase study show`` prints every one of them under the
assumed values. The draft is a valid study file (``study show`` and ``init`` accept it, flags and all): a
person completes the TODO items before a real analysis.

How each REDCap field type becomes a field (what is lost is stated in docs/redcap.md): text -> text, or
integer / decimal / date by its validation (min/max become the soft range: REDCap only warns); notes -> text; dropdown and
radio -> choice; checkbox -> multiple choice; yesno -> yes/no; truefalse -> choice (1 True, 0 False);
slider -> integer 0-100 (or its min/max, a hard range); calc -> decimal (the value as REDCap computed it; the formula is
kept in the help text, not run); file and sql -> text (the file's name; the query's answer);
descriptive -> no field. Identifier -> identifying; required -> required; field note -> help (a leading
``Unit: x.`` -> the unit); branching logic -> show-if.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from earlyphase.errors import InputError, Problem
from earlyphase.interop.redcap.branching import BranchingError, from_redcap
from earlyphase.interop.redcap.dictionary import (DATE_VALIDATIONS, NUMBER_VALIDATIONS, DictionaryField,
                                                  bound_value)
from earlyphase.interop.redcap.project import Event, Project
from earlyphase.protocol.forms import ENROLMENT_VALUES

TODO = "TODO (REDCap import)"
ANNOTATION = re.compile(r"earlyphase:\s*([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)")
UNIT_NOTE = re.compile(r"^Unit:\s*([^.]+?)\.(?:\s+|$)(.*)$", re.S)
MAX_NAME = 40  # our field and form names (protocol.forms.NAME_PATTERN)
_TEXT_VALIDATION_HELP = {"email": "an e-mail address", "phone": "a phone number", "zipcode": "a ZIP code",
                         "ssn": "a social security number", "alpha_only": "letters only", "time": "a time HH:MM",
                         "time_hh_mm_ss": "a time HH:MM:SS", "time_mm_ss": "a time MM:SS"}


@dataclass
class Conversion:
    """How a REDCap project maps onto a study: names, skipped fields and the TODO items."""

    record_id: str
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)   # instrument -> our form (as a dict)
    field_of: dict[str, tuple[str, str]] = field(default_factory=dict)  # variable -> (form, field)
    core: dict[str, tuple[str, str]] = field(default_factory=dict)  # variable -> (table, column): our own export
    types: dict[str, str] = field(default_factory=dict)  # variable -> REDCap field type
    fields: dict[str, DictionaryField] = field(default_factory=dict)
    visit_of_event: dict[str, str] = field(default_factory=dict)  # unique event name -> visit code
    meta: dict[str, str] = field(default_factory=dict)  # variable -> visit_date / confirm_warnings (our export)
    skipped: dict[str, str] = field(default_factory=dict)  # variable -> why it has no field
    todo: list[str] = field(default_factory=list)

    @property
    def own_export(self) -> bool:
        """True when the dictionary was written by earlyphase (its annotations name our tables and forms)."""
        return bool(self.core)


def _field_name(var: str) -> str:
    # the enrolment values are names every condition may read: a form field may not take them
    return f"rc_{var}" if var in ENROLMENT_VALUES else var


def _label(text: str, fallback: str) -> str:
    text = re.sub(r"<[^>]+>", "", text or "").strip()  # REDCap labels may hold HTML
    return " ".join(text.split()) or fallback


def _help(f: DictionaryField) -> tuple[str | None, str | None]:
    """(unit, help text) from the field note and section header."""
    unit = None
    note = f.note
    m = UNIT_NOTE.match(note)
    if m:
        unit, note = m.group(1).strip(), m.group(2).strip()
    parts = []
    if f.section:
        parts.append(f"Section: {_label(f.section, '')}.")
    if note:
        parts.append(note)
    return unit, (" ".join(parts) or None)


def _range(f: DictionaryField, kind: str) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key, text in (("min", f.minimum), ("max", f.maximum)):
        if text:
            value = bound_value(text, f.validation if f.type == "text" else "number")
            out[key] = value if not isinstance(value, (int, float)) else float(value)
    if kind == "integer" and f.type == "slider":
        out.setdefault("min", 0.0)
        out.setdefault("max", 100.0)
    return out or None


def convert_field(f: DictionaryField, todo: list[str]) -> dict[str, Any] | None:
    """Our field (as a study-file dict) for one REDCap field; None for one that holds no data."""
    if f.type == "descriptive":
        return None
    name = _field_name(f.name)
    out: dict[str, Any] = {"name": name, "label": _label(f.label, f.name)}
    unit, help_text = _help(f)
    kind = "text"
    if f.type == "text":
        if f.validation == "integer":
            kind = "integer"
        elif f.validation in NUMBER_VALIDATIONS:
            kind = "decimal"
        elif f.validation in DATE_VALIDATIONS:
            kind = "date"
        elif f.validation:
            what = _TEXT_VALIDATION_HELP.get(f.validation, f"REDCap validation {f.validation}")
            help_text = " ".join(x for x in (help_text, f"({what}; REDCap checked it, here it is text)") if x)
    elif f.type in ("dropdown", "radio"):
        kind = "choice"
    elif f.type == "checkbox":
        kind = "multiple_choice"
    elif f.type == "yesno":
        kind = "yesno"
    elif f.type == "truefalse":
        kind = "choice"
        out["codes"] = [{"code": "1", "label": "True"}, {"code": "0", "label": "False"}]
    elif f.type == "slider":
        kind = "integer"
        if f.slider_labels:
            help_text = " ".join(x for x in (help_text, "Slider: " + " | ".join(f.slider_labels)) if x)
    elif f.type == "calc":
        kind = "decimal"
        help_text = " ".join(x for x in (help_text, f"Calculated in REDCap as {f.calculation}") if x)
        todo.append(f"{TODO}: field {name} was a REDCap calculated field ({f.calculation}); its values are kept "
                    "as entered data, the formula is not run")
    elif f.type == "file":
        help_text = " ".join(x for x in (help_text, "The name of a file uploaded to REDCap (the file itself is "
                                                    "not imported)") if x)
    elif f.type == "sql":
        help_text = " ".join(x for x in (help_text, f"A REDCap SQL field ({f.calculation})") if x)
    out["type"] = kind
    if f.type in ("dropdown", "radio", "checkbox"):
        out["codes"] = [{"code": c, "label": _label(lab, c)} for c, lab in f.choices]
    if kind in ("integer", "decimal", "date"):
        bounds = _range(f, kind)
        if bounds:
            # a slider cannot leave its scale; a text validation's min/max only warns in REDCap: a soft range
            out["range" if f.type == "slider" else "soft_range"] = bounds
    if unit and kind in ("integer", "decimal"):
        out["unit"] = unit
    elif unit:
        help_text = " ".join(x for x in (f"Unit: {unit}.", help_text) if x)
    if help_text:
        out["help"] = help_text
    if f.required:
        out["required"] = True
    if f.identifier:
        out["identifying"] = True
    return out


def _visit_code(event: str, arms: int, taken: set[str]) -> str:
    m = re.match(r"^(.*)_arm_(\d+)$", event)
    base, arm = (m.group(1), m.group(2)) if m else (event, "")
    base = re.sub(r"[^A-Za-z0-9_]", "_", base) or "event"
    if not base[0].isalpha():
        base = "E" + base
    code = f"{base[:16]}_A{arm}" if arms > 1 and arm else base[:20]
    candidate, n = code, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = code[:20 - len(suffix)] + suffix, n + 1
    taken.add(candidate)
    return candidate


def convert(fields: list[DictionaryField], project: Project | None = None, *, name: str = "redcap-project",
            events_in_data: dict[str, list[str]] | None = None, repeating_in_data: set[str] | None = None,
            dags: list[str] | None = None) -> tuple[dict[str, Any], Conversion]:
    """(the study-file draft as a dict, the conversion) of a checked dictionary (``read_dictionary``).

    ``project`` adds events, arms and repeating instruments from the project XML; without it, events are
    taken from the records (``events_in_data``: event -> instruments with data there, offsets TODO),
    and so are the repeating instruments and the data access groups (``dags``, which become sites).
    """
    record_id = fields[0].name
    conv = Conversion(record_id=record_id)
    problems: list[Problem] = []
    todo = conv.todo
    repeating = set(project.repeating_forms if project else ()) | set(repeating_in_data or ())
    conv.types = {f.name: f.type for f in fields}
    conv.fields = {f.name: f for f in fields}
    rename = {f.name: _field_name(f.name) for f in fields if _field_name(f.name) != f.name}
    form_of = {f.name: f.form for f in fields}
    for f in fields:
        m = ANNOTATION.search(f.annotation)
        if m and m.group(1) in _CORE_TABLES:
            conv.core[f.name] = (m.group(1), m.group(2))
    by_form: dict[str, list[DictionaryField]] = {}
    for f in fields:
        by_form.setdefault(f.form, []).append(f)
    for form_name, items in by_form.items():
        if any(f.name in conv.core for f in items):
            continue  # one of our core tables (our own export): not a study form
        out_fields = []
        for f in items:
            if f.name == record_id:
                conv.skipped[f.name] = "the record id (the patient's subject id)"
                continue
            m = ANNOTATION.search(f.annotation)
            if m and m.group(1) == form_name and m.group(2) in ("visit_date", "confirm_warnings", "visit", "instance"):
                conv.meta[f.name] = m.group(2)
                continue
            if len(_field_name(f.name)) > MAX_NAME:
                problems.append(Problem(field=f.name, value=f.name, rule="name-length",
                                        message=f"a field name has at most {MAX_NAME} characters; shorten it",
                                        file="dictionary", row=f.row))
                continue
            converted = convert_field(f, todo)
            if converted is not None and m and m.group(1) == form_name:
                converted["name"] = m.group(2)  # our own export: the field's name in the study
            if converted is None:
                conv.skipped[f.name] = "a descriptive field (text shown on the form, no value)"
                continue
            if f.branching:
                try:
                    show_if = from_redcap(f.branching, conv.types, rename)
                except BranchingError as exc:
                    if "does not parse" in str(exc) or "not a field of the dictionary" in str(exc) \
                            or "not a checkbox" in str(exc):
                        problems.append(Problem(field=f.name, value=f.branching, rule="branching-logic",
                                                message=f"branching logic of {f.name}: {exc}", file="dictionary",
                                                row=f.row))
                        continue
                    todo.append(f"{TODO}: field {converted['name']} is shown in REDCap only if {f.branching}; "
                                f"{exc}, so it is always asked here")
                else:
                    others = sorted({n for n in re.findall(r"\[([a-z0-9_]+)\]", f.branching)
                                     if form_of.get(n) != form_name})
                    if others:
                        todo.append(f"{TODO}: field {converted['name']} is shown in REDCap only if {f.branching}, "
                                    f"which reads field(s) of other forms ({', '.join(others)}); it is always "
                                    "asked here")
                    else:
                        converted["show_if"] = show_if
            out_fields.append(converted)
            conv.field_of[f.name] = (form_name, converted["name"])
        if len(form_name) > MAX_NAME:
            problems.append(Problem(field=form_name, value=form_name, rule="name-length",
                                    message=f"a form name has at most {MAX_NAME} characters; shorten it",
                                    file="dictionary", row=items[0].row))
            continue
        if not out_fields:
            todo.append(f"{TODO}: instrument {form_name} holds no data field (only the record id or descriptive "
                        "text) and is not a form here")
            continue
        conv.forms[form_name] = {"name": form_name, "label": form_name.replace("_", " ").capitalize(),
                                 **({"repeating": True} if form_name in repeating else {}), "fields": out_fields}
    if problems:
        raise InputError(problems, summary=f"data dictionary refused: {len(problems)} problem"
                                           f"{'s' if len(problems) != 1 else ''}; nothing was converted")
    study = _study(name, conv, project, events_in_data or {}, dags or [])
    return study, conv


_CORE_TABLES = ("patients", "allocations", "administrations", "adverse_events", "tumour_assessments", "lesions",
                "other_therapies", "follow_ups", "deaths", "protocol_deviations", "forms_not_done",
                "eligibility_answers")


def _events(project: Project | None, events_in_data: dict[str, list[str]]) -> list[Event]:
    if project is not None and project.events:
        return project.events
    out = []
    for unique, forms in events_in_data.items():
        m = re.match(r"^(.*)_arm_(\d+)$", unique)
        out.append(Event(unique_name=unique, label=(m.group(1) if m else unique).replace("_", " ").capitalize(),
                         arm=int(m.group(2)) if m else 1, forms=list(forms)))
    return out


def _study(name: str, conv: Conversion, project: Project | None, events_in_data: dict[str, list[str]],
           dags: list[str]) -> dict[str, Any]:
    todo = conv.todo
    title = (project.name if project and project.name else name)
    study_id = re.sub(r"[^A-Za-z0-9_.\-]+", "-", title).strip("-.").lower()[:40] or "redcap-project"
    events = _events(project, events_in_data)
    arms: dict[int, str] = {}
    for ev in events:
        arms.setdefault(ev.arm, ev.arm_name or f"Arm {ev.arm}")
    if not arms:
        arms = {1: "Arm 1"}
    groups = []
    for number, arm_name in sorted(arms.items()):
        groups.append({"code": f"A{number}", "label": arm_name,
                       "regimen": {"dose": 1, "schedule": {"every_days": 1, "administrations": 1},
                                   "dose_source": "assumed", "dose_note": f"{TODO}: the arm's dose and schedule"}})
    todo.append(f"{TODO}: each REDCap arm is a group ({', '.join(g['code'] + ' ' + g['label'] for g in groups)}) "
                "with a placeholder regimen (dose 1, one administration): give the dose levels and their regimens, "
                "lowest first")
    visits = []
    taken: set[str] = set()
    for ev in events:
        forms = [f for f in ev.forms if f in conv.forms]
        code = _visit_code(ev.unique_name, len(arms), taken)
        conv.visit_of_event[ev.unique_name] = code
        if not forms:
            todo.append(f"{TODO}: REDCap event {ev.unique_name} holds no form kept here; it is not a visit")
            continue
        label = ev.label + (f" ({ev.arm_name or 'arm ' + str(ev.arm)})" if len(arms) > 1 else "")
        visits.append({"code": code, "label": label, "anchor": "enrolment", "offset_days": ev.day_offset,
                       "window": {"before": max(0, ev.offset_min), "after": max(0, ev.offset_max)},
                       "forms": forms})
        if ev.repeating:
            todo.append(f"{TODO}: REDCap event {ev.unique_name} repeats; give visit {code} its repeat_every_days")
    if visits and (project is None or not project.events):
        todo.append(f"{TODO}: the visits come from the events the records use; their days (offset_days) and "
                    "windows are not known: give them")
    sites = [{"code": d[:20], "name": f"Data access group {d}"} for d in dags] or \
        [{"code": "SITE1", "name": "The REDCap project's site"}]
    todo.append(f"{TODO}: sites " + ", ".join(s["code"] for s in sites) + (" are the REDCap data access groups"
                if dags else " is a placeholder") + "; give each site's name and country")
    todo.append(f"{TODO}: sponsor, product, dose unit, route and DLT window (28 days assumed) are not in REDCap")
    todo.append(f"{TODO}: eligibility criteria, endpoints and the dose-finding design (3+3 assumed) are not in "
                "REDCap")
    study: dict[str, Any] = {
        "study_id": study_id,
        "title": f"{title} (draft from a REDCap project)",
        "sponsor": f"{TODO}: sponsor",
        "phase": "I",
        "dlt_window_days": 28,
        "sites": sites,
        "product": {"name": f"{TODO}: the study product", "dose_unit": "mg", "route": "IV"},
        "groups": groups,
        "forms": list(conv.forms.values()),
        "visits": visits,
        "dose_finding": {"design": "3+3"},
        "assumptions": list(todo),
    }
    return study


def today_iso() -> str:
    return date.today().isoformat()
