"""Bundled form definitions a study file takes by name (``forms: - {standard: astct_crs}``).

The bundled definitions (``earlyphase.vocab``: ASTCT grading of CRS and ICANS) are written in a neutral
shape; this module maps one onto the study-file form model. Its derived value (the grade) becomes an
integer field marked ``derived_from``: capture computes it from the recorded signs and never takes it
typed in. A study may rename the form, relabel it, and add fields after the bundled ones.
"""

from __future__ import annotations

import re
from typing import Any

_SHOW_IF = re.compile(r"\s*([a-z][a-z0-9_]*)\s*(==|!=)\s*(\S.*?)\s*")
_TYPES = {"multichoice": "multiple_choice"}


def standard_forms() -> tuple[str, ...]:
    """The names a study file's ``standard`` key accepts."""
    from earlyphase.vocab import BUNDLED_FORMS

    return tuple(BUNDLED_FORMS)


def derivations() -> tuple[str, ...]:
    """The names a field's ``derived_from`` accepts (bundled forms that derive a value)."""
    from earlyphase.vocab import bundled_form

    return tuple(name for name in standard_forms() if bundled_form(name).derived is not None)


def _show_if(text: str | None) -> str | None:
    # the neutral shape writes 'field == value'; the study-file grammar quotes text: field = 'value'
    if text is None:
        return None
    m = _SHOW_IF.fullmatch(text)
    if m is None:
        return text
    name, op, value = m.groups()
    return f"{name} {'=' if op == '==' else '!='} '{value}'"


def _bounds(pair) -> dict[str, Any] | None:
    if pair is None:
        return None
    low, high = pair
    return {k: v for k, v in (("min", low), ("max", high)) if v is not None}


def expand_standard_form(data: dict[str, Any]) -> dict[str, Any]:
    """A study-file form mapping with ``standard: NAME`` turned into a full form mapping.

    ``name`` and ``label`` default to the bundled ones; ``fields`` given are added after the bundled fields.
    Unknown names raise ``ValueError`` listing the bundled forms.
    """
    from earlyphase.vocab import bundled_form

    name = data.get("standard")
    if name not in standard_forms():
        raise ValueError(f"unknown standard form {name!r}; bundled forms: {', '.join(standard_forms())}")
    definition = bundled_form(name)
    fields: list[dict[str, Any]] = []
    for f in definition.fields:
        item: dict[str, Any] = {"name": f.name, "label": f.label, "type": _TYPES.get(f.type, f.type),
                                "required": f.required, "identifying": f.identifying}
        if f.unit:
            item["unit"] = f.unit
        if f.help:
            item["help"] = f.help
        if f.choices:
            item["codes"] = [{"code": c.code, "label": c.label} for c in f.choices]
        for key in ("range", "soft_range"):
            bounds = _bounds(getattr(f, key))
            if bounds:
                item[key] = bounds
        if f.show_if:
            item["show_if"] = _show_if(f.show_if)
        fields.append(item)
    if definition.derived is not None:
        fields.append({"name": definition.derived.name, "label": definition.derived.label, "type": "integer",
                       "derived_from": name,
                       "help": "Derived from the recorded signs when the form is saved; never typed in."})
    out = {k: v for k, v in data.items() if k != "fields"}
    out.setdefault("name", definition.name)
    out.setdefault("label", definition.label)
    out.setdefault("repeating", definition.repeating)
    dated = [f for f in definition.fields if f.type == "date"]
    if dated and "date_field" not in out:
        out["date_field"] = dated[0].name
    out["fields"] = fields + list(data.get("fields") or [])
    return out


def derive_value(derivation: str, values: dict[str, Any]):
    """The derived value (an ``AstctGrade``) of bundled form ``derivation`` from typed field values.

    Raises ``InputError`` (from the grading) naming each sign that cannot be graded.
    """
    from earlyphase.vocab import bundled_form

    return bundled_form(derivation).derive(values)
