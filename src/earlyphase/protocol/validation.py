"""Checks across a study file's sections (each section checks itself in its own model).

``study_problems(study)`` returns (path in the file, message) pairs: unique codes and names, codelists
that exist, conditions that read known fields and compare choice fields with their own codes,
visits that name known forms, ADaM variables that are unique, dose limits in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from earlyphase.protocol.forms import CHOICE_TYPES, CORE_FORMS, ENROLMENT_VALUES, EXTENSIBLE_CORE_FORMS, FormField

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.protocol.model import Study


def _dupes(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


def study_problems(study: "Study") -> list[tuple[str, str]]:
    from earlyphase.protocol.model import RESERVED_ADSL_VARIABLES
    from earlyphase.protocol.schedule import VISIT_CORE_FORMS
    from earlyphase.vocab import bundled_codelists

    problems: list[tuple[str, str]] = []
    for what, codes in (("groups", [g.code for g in study.groups]), ("sites", [s.code for s in study.sites]),
                        ("forms", [f.name for f in study.forms]), ("visits", [v.code for v in study.visits]),
                        ("codelists", [c.name for c in study.codelists]),
                        ("adverse_events_of_special_interest",
                         [a.name for a in study.adverse_events_of_special_interest]),
                        ("eligibility", [c.code for _, c in study.eligibility.criteria])):
        repeated = _dupes(codes)
        if repeated:
            problems.append((what, f"{what} must be unique; repeated: {', '.join(repeated)}"))
    if study.enrolment_start and study.enrolment_end and study.enrolment_end < study.enrolment_start:
        problems.append(("enrolment_end", "enrolment_end is before enrolment_start"))

    # forms and core-form extensions
    known_codelists = {c.name for c in study.codelists} | set(bundled_codelists())
    for i, form in enumerate(study.forms):
        if form.name in CORE_FORMS:
            problems.append((f"forms[{i}].name", f"{form.name} is a core form; give the study's form another name, "
                                                 "or add fields to the core form under core_forms"))
        problems += _field_problems(study, f"forms[{i}]", form.fields, form.checks, ENROLMENT_VALUES,
                                    known_codelists)
    for core, ext in study.core_forms.items():
        where = f"core_forms.{core}"
        if core not in EXTENSIBLE_CORE_FORMS:
            problems.append((where, f"fields can be added to the core forms {', '.join(EXTENSIBLE_CORE_FORMS)}, "
                                    f"not to {core!r}"))
            continue
        core_values = CORE_FORMS[core][1]
        clash = sorted(set(ext.field_names) & (set(core_values) | set(ENROLMENT_VALUES)))
        if clash:
            problems.append((where, f"field name(s) {', '.join(clash)} are values of the core form itself; "
                                    "choose other names"))
        problems += _field_problems(study, where, ext.fields, ext.checks,
                                    tuple(dict.fromkeys(core_values + ENROLMENT_VALUES)), known_codelists)
    # ADaM variables
    variables = [(f.adam.variable, form) for form, f in study.adam_fields()]
    names = [v for v, _ in variables]
    for v in _dupes(names):
        problems.append(("forms", f"ADaM variable {v} is named by more than one field"))
    for v, form in variables:
        if v in RESERVED_ADSL_VARIABLES:
            problems.append((f"forms.{form}", f"ADaM variable {v} is one earlyphase derives itself; choose another"))

    # dosing
    cyclic = any(g.regimen.schedule.cyclic for g in study.groups)
    limits = study.product.dose_limits
    if limits is not None and limits.min is not None and limits.max is not None and limits.min >= limits.max:
        problems.append(("product.dose_limits", "min must be below max"))
    if limits is not None:
        for i, g in enumerate(study.groups):
            doses = [g.regimen.dose] + list(g.regimen.step_up_doses or []) + list(g.regimen.dose_reductions or [])
            outside = [d for d in doses if (limits.min is not None and d < limits.min)
                       or (limits.max is not None and d > limits.max)]
            if outside:
                problems.append((f"groups[{i}].regimen", f"planned dose(s) {', '.join(f'{d:g}' for d in outside)} lie "
                                                         "outside product.dose_limits"))

    # visits
    form_names = {f.name for f in study.forms}
    for i, visit in enumerate(study.visits):
        for name in visit.forms:
            if name not in form_names and name not in VISIT_CORE_FORMS:
                problems.append((f"visits[{i}].forms", f"{name} is neither a form of the study nor a core form a visit "
                                                       f"can expect ({', '.join(VISIT_CORE_FORMS)})"))
        if visit.anchor == "cycle_start" and not cyclic:
            problems.append((f"visits[{i}].anchor", "cycle_start needs a regimen with cycles"))
        if visit.anchor == "cycle_start" and visit.repeat_every_days is not None:
            problems.append((f"visits[{i}]", "a cycle_start visit repeats with each cycle; drop repeat_every_days"))
        if visit.repeat_times is not None and not visit.repeats:
            problems.append((f"visits[{i}].repeat_times", "repeat_times needs repeat_every_days"))
        if visit.cycles is not None and visit.anchor != "cycle_start":
            problems.append((f"visits[{i}].cycles", "cycles applies to cycle_start visits only"))
    for i, endpoint in enumerate(study.endpoints):
        if endpoint.paramcd is not None and endpoint.paramcd not in ("PFS", "OS"):
            problems.append((f"endpoints[{i}].paramcd", "earlyphase derives PFS and OS; paramcd must be one of them"))
    problems.extend(_dose_finding_problems(study))
    return problems


def _dose_finding_problems(study) -> list[tuple[str, str]]:
    """The design's parameters must fit the study's levels (one skeleton value per group, increasing)."""
    problems: list[tuple[str, str]] = []
    skeleton = study.dose_finding.parameters.skeleton
    if skeleton is not None:
        where = "dose_finding.parameters.skeleton"
        if len(skeleton) != len(study.groups):
            problems.append((where, f"give one prior DLT probability per group: {len(study.groups)} groups, "
                                    f"{len(skeleton)} values"))
        if any(not 0 < p < 1 for p in skeleton):
            problems.append((where, "every prior DLT probability must lie strictly between 0 and 1"))
        elif any(b <= a for a, b in zip(skeleton, skeleton[1:])):
            problems.append((where, "prior DLT probabilities must increase from the lowest level to the highest"))
    order = study.dose_finding.toxicity_order
    if order is not None:
        from earlyphase.protocol.regimen_order import find_cycle, toxicity_relations

        codes = [g.code for g in study.groups]
        before = len(problems)
        for j, (a, b) in enumerate(order):
            for code in (a, b):
                if code not in codes:
                    problems.append((f"dose_finding.toxicity_order[{j}]", f"no group {code!r} (groups: {', '.join(codes)})"))
            if a == b:
                problems.append((f"dose_finding.toxicity_order[{j}]", "a pair names two different groups"))
        if len(problems) == before:
            cycle = find_cycle(codes, toxicity_relations(study))
            if cycle:
                problems.append(("dose_finding.toxicity_order", "the pairs contradict each other: " + " < ".join(cycle)))
    regimens = [g.regimen.administrations for g in study.groups]
    need = study.dose_finding.evaluable_min_administrations
    short = [g.code for g, planned in zip(study.groups, regimens) if planned is not None and planned < need]
    if short:
        problems.append(("dose_finding.evaluable_min_administrations",
                         f"group(s) {', '.join(short)} plan fewer than {need} administrations: no patient there "
                         "could ever be evaluable"))
    return problems


def _field_problems(study, where: str, fields: list[FormField], checks, extra_names: tuple[str, ...],
                    known_codelists: set[str]) -> list[tuple[str, str]]:
    from earlyphase.protocol.expressions import ExpressionError, parse_expression

    problems: list[tuple[str, str]] = []
    by_name = {f.name: f for f in fields}
    for j, f in enumerate(fields):
        if f.codelist is not None and f.codelist not in known_codelists:
            problems.append((f"{where}.fields[{j}].codelist",
                             f"no codelist {f.codelist!r} in the study or bundled ({', '.join(sorted(known_codelists))})"))
    expressions = [(f"{where}.fields[{j}].show_if", f.show_if) for j, f in enumerate(fields) if f.show_if]
    expressions += [(f"{where}.checks[{j}].expression", c.expression) for j, c in enumerate(checks)]
    for path, text in expressions:
        try:
            expr = parse_expression(text)
        except ExpressionError:
            continue  # reported by the field's own model
        for name, literal in expr.comparisons():
            field = by_name.get(name)
            if field is None or field.type not in CHOICE_TYPES or literal == "":
                continue
            codes = [c for c, _ in study.codes_of(field)]
            if codes and str(literal) not in codes:
                problems.append((path, f"{literal!r} is not a code of field {name} (codes: {', '.join(codes)})"))
    return problems
