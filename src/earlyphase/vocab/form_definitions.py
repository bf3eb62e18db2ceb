"""Form definitions shipped as data (``vocab/forms/*.yaml``), in a neutral shape a study can include.

Bundled: ``astct_crs`` and ``astct_icans`` (ASTCT consensus grading, Lee et al. 2019), whose grade is derived
from the recorded signs. The study-file form model (``earlyphase.protocol``) maps this shape onto its own.

The shape of a form file (YAML; unknown keys are refused)::

    name: astct_crs                 # identifier: lower case letters, digits, underscores
    label: Cytokine release syndrome (ASTCT consensus grading)
    reference: Lee DW et al. ...    # optional: where the definition comes from
    repeating: true                 # optional (default false): a patient may have many
    fields:                         # in display order
      - name: temperature_c         # identifier, unique in the form
        label: Highest temperature
        type: decimal               # text | integer | decimal | date | partial_date | choice | multichoice | yesno
        unit: "°C"                  # optional
        range: {min: 25, max: 45}   # optional, numbers only: a hard range (outside is refused)
        soft_range: {min: .., max: ..}  # optional: outside is accepted with a warning to confirm
        choices:                    # choice and multichoice only: stored code and label shown
          - {code: none, label: no supplemental oxygen}
        required: true              # optional (default false)
        show_if: hypotension == yes # optional: FIELD == VALUE or FIELD != VALUE (yes/no for yesno fields)
        identifying: false          # optional (default false): dropped from de-identified exports
        help: ...                   # optional
    derived:                        # optional: a value computed from the fields, never typed in
      name: crs_grade
      label: CRS grade (ASTCT)
      function: earlyphase.vocab.astct.grade_crs   # a function of earlyphase.vocab, called with keywords
      inputs: [temperature_c, ...]  # the fields passed to it, by name (keyword = field name)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

FIELD_TYPES = ("text", "integer", "decimal", "date", "partial_date", "choice", "multichoice", "yesno")
_FORM_KEYS = {"name", "label", "reference", "description", "repeating", "fields", "derived"}
_FIELD_KEYS = {"name", "label", "type", "unit", "range", "soft_range", "choices", "required", "show_if",
               "identifying", "help"}
_DERIVED_KEYS = {"name", "label", "function", "inputs"}
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,59}")
_SHOW_IF = re.compile(r"\s*([a-z][a-z0-9_]*)\s*(==|!=)\s*(\S.*?)\s*")


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


@dataclass(frozen=True)
class FieldDefinition:
    """One field of a form (see the module docstring for each attribute)."""

    name: str
    label: str
    type: str
    unit: str | None = None
    range: tuple[float | None, float | None] | None = None
    soft_range: tuple[float | None, float | None] | None = None
    choices: tuple[Choice, ...] = ()
    required: bool = False
    show_if: str | None = None
    identifying: bool = False
    help: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": self.label, "type": self.type}
        for key in ("unit", "show_if", "help"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("range", "soft_range"):
            if getattr(self, key) is not None:
                out[key] = {"min": getattr(self, key)[0], "max": getattr(self, key)[1]}
        if self.choices:
            out["choices"] = [{"code": c.code, "label": c.label} for c in self.choices]
        out["required"], out["identifying"] = self.required, self.identifying
        return out


@dataclass(frozen=True)
class DerivedValue:
    name: str
    label: str
    function: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class FormDefinition:
    """A form: its fields, and optionally a value derived from them (``derive``)."""

    name: str
    label: str
    fields: tuple[FieldDefinition, ...]
    reference: str | None = None
    description: str | None = None
    repeating: bool = False
    derived: DerivedValue | None = None
    source: str = ""
    _by_name: dict[str, FieldDefinition] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({f.name: f for f in self.fields})

    def field_named(self, name: str) -> FieldDefinition:
        return self._by_name[name]

    def derive(self, values: Mapping[str, Any]) -> Any:
        """The derived value (e.g. an ``AstctGrade``) from field ``values`` (by field name; missing ones are
        left to the function's defaults). The function checks the values and raises ``InputError``."""
        if self.derived is None:
            raise ValueError(f"form {self.name} derives no value")
        kwargs = {name: values[name] for name in self.derived.inputs if values.get(name) is not None}
        return _function(self.derived.function)(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": self.label, "repeating": self.repeating,
                               "fields": [f.to_dict() for f in self.fields]}
        if self.reference:
            out["reference"] = self.reference
        if self.derived:
            out["derived"] = {"name": self.derived.name, "label": self.derived.label,
                              "function": self.derived.function, "inputs": list(self.derived.inputs)}
        return out


BUNDLED_FORMS = ("astct_crs", "astct_icans")


@lru_cache(maxsize=8)
def bundled_form(name: str) -> FormDefinition:
    """A form definition shipped with earlyphase (``BUNDLED_FORMS``)."""
    if name not in BUNDLED_FORMS:
        raise ValueError(f"no bundled form {name!r}; bundled: {', '.join(BUNDLED_FORMS)}")
    text = (resources.files("earlyphase.vocab") / "forms" / f"{name}.yaml").read_text(encoding="utf-8")
    return parse_form(text, source=f"bundled:{name}")


def parse_form(text: str, source: str = "<text>") -> FormDefinition:
    """Read a form definition from YAML text; ``InputError`` lists every problem with its path."""
    import yaml

    from earlyphase.errors import InputError, Problem

    problems: list[Problem] = []

    def fail(path: str, value: Any, rule: str, message: str) -> None:
        problems.append(Problem(field=path, value=value, rule=rule, message=message, file=source))

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError.single("(file)", None, "yaml", f"not valid YAML: {str(exc).splitlines()[0]}", file=source) from None
    if not isinstance(data, dict):
        raise InputError.single("(file)", None, "form-mapping", "a form file is a mapping with name, label and fields",
                                file=source)
    for key in sorted(set(data) - _FORM_KEYS):
        fail(str(key), data[key], "unknown-key", f"unknown key; a form has {', '.join(sorted(_FORM_KEYS))}")
    name = _identifier(data.get("name"), "name", fail)
    label = _text(data.get("label"), "label", fail, required=True)
    raw_fields = data.get("fields")
    fields: list[FieldDefinition] = []
    if not isinstance(raw_fields, list) or not raw_fields:
        fail("fields", raw_fields, "fields-list", "fields is a non-empty list of fields")
        raw_fields = []
    for i, raw in enumerate(raw_fields):
        parsed = _field(raw, f"fields[{i}]", fail)
        if parsed is not None:
            fields.append(parsed)
    names = [f.name for f in fields]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        fail("fields", dup, "unique-field-name", f"field {dup} is defined more than once")
    by_name = {f.name: f for f in fields}
    for f in fields:
        if f.show_if is not None:
            _check_show_if(f, by_name, fail)
    derived = _derived(data.get("derived"), by_name, fail)
    repeating = data.get("repeating", False)
    if not isinstance(repeating, bool):
        fail("repeating", repeating, "yes-no", "repeating is true or false")
    if problems:
        raise InputError(problems, summary=f"form definition {source}: {len(problems)} problem(s)")
    return FormDefinition(name=name, label=label, fields=tuple(fields), reference=data.get("reference"),
                          description=data.get("description"), repeating=bool(repeating), derived=derived,
                          source=source)


def _identifier(value: Any, path: str, fail) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        fail(path, value, "identifier", "a name is 1-60 lower-case letters, digits or underscores, starting with a letter")
        return str(value)
    return value


def _text(value: Any, path: str, fail, required: bool = False) -> str | None:
    if value is None:
        if required:
            fail(path, value, "required", f"{path} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        fail(path, value, "text", f"{path} is text")
        return None
    return value.strip()


def _range(value: Any, path: str, fail) -> tuple[float | None, float | None] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"min", "max"} or not value:
        fail(path, value, "range", "a range is {min: number, max: number} (either may be left out)")
        return None
    low, high = value.get("min"), value.get("max")
    for key, bound in (("min", low), ("max", high)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            fail(f"{path}.{key}", bound, "number", "a range bound is a number")
            return None
    if low is not None and high is not None and low > high:
        fail(path, value, "range-order", "min is above max")
        return None
    return (low, high)


def _field(raw: Any, path: str, fail) -> FieldDefinition | None:
    if not isinstance(raw, dict):
        fail(path, raw, "field-mapping", "a field is a mapping with name, label and type")
        return None
    for key in sorted(set(raw) - _FIELD_KEYS):
        fail(f"{path}.{key}", raw[key], "unknown-key", f"unknown key; a field has {', '.join(sorted(_FIELD_KEYS))}")
    name = _identifier(raw.get("name"), f"{path}.name", fail)
    label = _text(raw.get("label"), f"{path}.label", fail, required=True) or name
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        fail(f"{path}.type", kind, "field-type", f"type is one of {', '.join(FIELD_TYPES)}")
    numeric = kind in ("integer", "decimal")
    limits = _range(raw.get("range"), f"{path}.range", fail)
    soft = _range(raw.get("soft_range"), f"{path}.soft_range", fail)
    if (limits or soft) and not numeric:
        fail(f"{path}.range", raw.get("range") or raw.get("soft_range"), "range-numeric",
             "only integer and decimal fields have a range")
    choices: list[Choice] = []
    raw_choices = raw.get("choices")
    if kind in ("choice", "multichoice"):
        if not isinstance(raw_choices, list) or not raw_choices:
            fail(f"{path}.choices", raw_choices, "choices-list", "a choice field lists its choices ({code, label})")
            raw_choices = []
        for j, c in enumerate(raw_choices):
            if not isinstance(c, dict) or set(c) != {"code", "label"} or not isinstance(c.get("code"), str) \
                    or not isinstance(c.get("label"), str):
                fail(f"{path}.choices[{j}]", c, "choice", "a choice is {code: text, label: text}")
                continue
            choices.append(Choice(c["code"], c["label"]))
        codes = [c.code for c in choices]
        for dup in sorted({c for c in codes if codes.count(c) > 1}):
            fail(f"{path}.choices", dup, "unique-choice-code", f"choice code {dup} appears more than once")
    elif raw_choices is not None:
        fail(f"{path}.choices", raw_choices, "choices-for-choice-fields", "only choice and multichoice fields have choices")
    flags = {}
    for key in ("required", "identifying"):
        value = raw.get(key, False)
        if not isinstance(value, bool):
            fail(f"{path}.{key}", value, "yes-no", f"{key} is true or false")
        flags[key] = bool(value)
    return FieldDefinition(
        name=name, label=label, type=str(kind), unit=_text(raw.get("unit"), f"{path}.unit", fail),
        range=limits, soft_range=soft, choices=tuple(choices), required=flags["required"],
        show_if=_text(raw.get("show_if"), f"{path}.show_if", fail), identifying=flags["identifying"],
        help=_text(raw.get("help"), f"{path}.help", fail),
    )


def show_if_parts(condition: str) -> tuple[str, str, str] | None:
    """(field, operator, value) of a ``show_if`` condition, or None when it is not of that form."""
    found = _SHOW_IF.fullmatch(condition)
    return (found.group(1), found.group(2), found.group(3)) if found else None


def _check_show_if(f: FieldDefinition, by_name: Mapping[str, FieldDefinition], fail) -> None:
    parts = show_if_parts(f.show_if or "")
    path = f"fields.{f.name}.show_if"
    if parts is None:
        fail(path, f.show_if, "show-if-form", "show_if is FIELD == VALUE or FIELD != VALUE")
        return
    other, _, value = parts
    target = by_name.get(other)
    if target is None or other == f.name:
        fail(path, f.show_if, "show-if-field", f"show_if names {other}, which is not another field of this form")
    elif target.type == "yesno" and value not in ("yes", "no"):
        fail(path, f.show_if, "show-if-value", f"{other} is a yes/no field: compare it with yes or no")
    elif target.type in ("choice", "multichoice") and value not in {c.code for c in target.choices}:
        fail(path, f.show_if, "show-if-value", f"{value} is not a choice code of {other}")


def _derived(raw: Any, by_name: Mapping[str, FieldDefinition], fail) -> DerivedValue | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        fail("derived", raw, "derived-mapping", "derived is a mapping with name, label, function and inputs")
        return None
    for key in sorted(set(raw) - _DERIVED_KEYS):
        fail(f"derived.{key}", raw[key], "unknown-key", f"unknown key; derived has {', '.join(sorted(_DERIVED_KEYS))}")
    name = _identifier(raw.get("name"), "derived.name", fail)
    label = _text(raw.get("label"), "derived.label", fail, required=True) or name
    function = raw.get("function")
    if not isinstance(function, str) or not function.startswith("earlyphase.vocab.") or _function(function) is None:
        fail("derived.function", function, "derived-function",
             "function names a function of earlyphase.vocab, e.g. earlyphase.vocab.astct.grade_crs")
    inputs = raw.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        fail("derived.inputs", inputs, "derived-inputs", "inputs is a list of field names")
        inputs = []
    for i in inputs:
        if i not in by_name:
            fail("derived.inputs", i, "derived-input-field", f"{i} is not a field of this form")
    return DerivedValue(name, label, str(function), tuple(inputs))


def _function(dotted: str):
    """The function ``earlyphase.vocab.MODULE.NAME``, or None (only vocab functions may be named)."""
    import importlib

    module, _, attr = dotted.rpartition(".")
    if not module.startswith("earlyphase.vocab"):
        return None
    try:
        found = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None
    return found if callable(found) else None
