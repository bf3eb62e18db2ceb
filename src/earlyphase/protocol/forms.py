"""The study's data dictionary: its own forms, the fields it adds to core forms, its codelists.

A field has a name, a label, a type (text, integer, decimal, date, partial date, single choice,
multiple choice, yes/no), and optionally a unit, a hard range (values outside are refused), a
soft range (values outside are kept only when the person confirms them), a show-if condition on
other fields of the form, help text, and flags: required, identifying (dropped by de-identified
exports). A form may repeat (labs, concomitant medication). Form checks are conditions on the
form's values that must hold. Conditions use :mod:`earlyphase.protocol.expressions`.

The same definition renders the web form, runs the edit checks in capture, types the stored values
and names the export columns: nothing about a study's form is written twice.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field as PydanticField, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
FieldType = Literal["text", "integer", "decimal", "date", "partial_date", "choice", "multiple_choice", "yesno"]
NUMERIC_TYPES = ("integer", "decimal")
DATE_TYPES = ("date",)
CHOICE_TYPES = ("choice", "multiple_choice")

# The core forms (kept as tables because the analysis needs them): form name -> (table, the values a
# condition on that form may read). A study adds fields to the forms in EXTENSIBLE_CORE_FORMS.
CORE_FORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "enrolment": ("patients", ("subject_id", "site", "sex", "birth_year", "age", "ecog", "consent_date",
                               "enrolment_date")),
    "eligibility": ("eligibility_answers", ()),
    "allocation": ("allocations", ("group", "allocation_date")),
    "administration": ("administrations", ("number", "cycle", "cycle_day", "actual_date", "planned_date", "dose",
                                           "dose_unit", "route", "weight_kg", "height_cm", "bsa_m2", "amount",
                                           "amount_unit", "lot")),
    "adverse_event": ("adverse_events", ("term", "grade", "onset", "resolution", "attribution", "outcome",
                                         "action", "serious", "dlt")),
    "tumour_assessment": ("tumour_assessments", ("assessment_date", "modality", "baseline",
                                                 "investigator_response")),
    "other_therapy": ("other_therapies", ("therapy", "start_date", "end_date", "new_anticancer")),
    "follow_up": ("follow_ups", ("contact_date", "status")),
    "death": ("deaths", ("death_date", "cause")),
    "withdrawal": ("patients", ("withdrawal_date", "withdrawal_reason")),
    "protocol_deviation": ("protocol_deviations", ("deviation_date", "category", "description")),
}
EXTENSIBLE_CORE_FORMS = ("enrolment", "allocation", "administration", "adverse_event", "tumour_assessment",
                         "other_therapy", "follow_up", "death")
# What every condition may read besides its own form: the patient's enrolment values.
ENROLMENT_VALUES = CORE_FORMS["enrolment"][1]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


RangeBound = Union[float, date, Literal["today"], None]


class Range(_Strict):
    """Inclusive bounds: numbers for integer and decimal fields, dates (or ``today``) for date fields."""

    min: RangeBound = PydanticField(default=None, description="Smallest value allowed (inclusive); omit for none.")
    max: RangeBound = PydanticField(default=None, description="Largest value allowed (inclusive); omit for none.")

    def text(self) -> str:
        lo, hi = _bound_text(self.min), _bound_text(self.max)
        if lo and hi:
            return f"between {lo} and {hi}"
        return f"at least {lo}" if lo else f"at most {hi}"


def _bound_text(x: RangeBound) -> str:
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return x.isoformat() if isinstance(x, date) else str(x)


class Code(_Strict):
    code: str = PydanticField(min_length=1, max_length=60, description="The value stored.")
    label: str = PydanticField(min_length=1, description="What people read.")

    @field_validator("code", mode="before")
    @classmethod
    def _code_text(cls, v):
        # YAML reads 0 or 1.5 as numbers; a code is always text.
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class CodelistDef(_Strict):
    """A codelist defined in the study file (beside the bundled ones in ``vocab/codelists``)."""

    name: str = PydanticField(pattern=NAME_PATTERN, description="The name a field's codelist key uses.")
    label: str = PydanticField(min_length=1, description="What people read.")
    codes: list[Code] = PydanticField(min_length=1, description="The codes, in the order forms show them.")


class AdamVariable(_Strict):
    """The ADSL variable a field's baseline value becomes (CDISC: 8 characters, label up to 40)."""

    variable: str = PydanticField(pattern=r"^[A-Z][A-Z0-9]{0,7}$", description="ADSL column name, e.g. LDHBL.")
    label: str = PydanticField(min_length=1, max_length=40, description="Variable label, e.g. 'Baseline LDH (U/L)'.")
    baseline_table: bool = PydanticField(
        default=True, description="Show it in the report's baseline table (numbers: median and range; codes: n (%)).")


class FormField(_Strict):
    """One field (item) of a form."""

    name: str = PydanticField(pattern=NAME_PATTERN, description="Variable name: lower case, digits, _ (as REDCap).")
    label: str = PydanticField(min_length=1, description="The question as the form shows it.")
    type: FieldType = PydanticField(description="text, integer, decimal, date, partial_date, choice, "
                                                "multiple_choice or yesno.")
    unit: str | None = PydanticField(default=None, description="Unit of a number, shown beside it (e.g. ng/mL).")
    codes: list[Code] | None = PydanticField(default=None, description="The codes of a choice field, listed here.")
    codelist: str | None = PydanticField(default=None, description="Or: the name of a codelist (study or bundled).")
    range: Range | None = PydanticField(default=None, description="Hard range: a value outside is refused.")
    soft_range: Range | None = PydanticField(
        default=None, description="Expected range: a value outside is kept only when the person confirms it.")
    required: bool = PydanticField(default=False, description="A value must be given (when the field is shown).")
    show_if: str | None = PydanticField(default=None, description="Condition on other fields: the field is asked "
                                                                  "only when it holds (otherwise it stays blank).")
    identifying: bool = PydanticField(default=False, description="Identifies the patient: de-identified exports "
                                                                 "drop it (dates become study days).")
    help: str | None = PydanticField(default=None, description="Help text shown with the field.")
    max_length: int | None = PydanticField(default=None, ge=1, le=10000, description="Longest text allowed.")
    allow_future: bool = PydanticField(default=False, description="A date may lie after the day of entry.")
    adam: AdamVariable | None = PydanticField(default=None, description="ADSL variable holding the baseline value.")
    derived_from: str | None = PydanticField(
        default=None, description="A grading that computes this integer field from the form's other fields when "
                                  "the form is saved (astct_crs, astct_icans); it is never typed in.")

    @model_validator(mode="after")
    def _consistent(self) -> "FormField":
        problems = []
        if self.derived_from is not None:
            from earlyphase.protocol.standard_forms import derivations

            if self.derived_from not in derivations():
                problems.append(f"field {self.name}: derived_from {self.derived_from!r} is not a known grading "
                                f"({', '.join(derivations())})")
            if self.type != "integer" or self.required:
                problems.append(f"field {self.name}: a derived field is an integer field, not required")
        if self.type in CHOICE_TYPES:
            if (self.codes is None) == (self.codelist is None):
                problems.append(f"field {self.name}: a {self.type} field needs codes or a codelist (exactly one)")
            if self.codes is not None:
                seen = [c.code for c in self.codes]
                dupes = sorted({c for c in seen if seen.count(c) > 1})
                if dupes:
                    problems.append(f"field {self.name}: codes repeated: {', '.join(dupes)}")
        elif self.codes is not None or self.codelist is not None:
            problems.append(f"field {self.name}: only choice fields have codes (this is {self.type})")
        for which in ("range", "soft_range"):
            bounds = getattr(self, which)
            if bounds is None:
                continue
            if self.type not in NUMERIC_TYPES + DATE_TYPES:
                problems.append(f"field {self.name}: {which} applies to integer, decimal and date fields only")
                continue
            for b in (bounds.min, bounds.max):
                if b is None:
                    continue
                numeric = isinstance(b, (int, float))
                if (self.type in NUMERIC_TYPES) != numeric:
                    want = "numbers" if self.type in NUMERIC_TYPES else "dates (YYYY-MM-DD) or today"
                    problems.append(f"field {self.name}: the bounds of {which} must be {want}")
            if _comparable(bounds.min, bounds.max) and bounds.min > bounds.max:
                problems.append(f"field {self.name}: {which} has min above max")
        if self.range is not None and self.soft_range is not None:
            for soft, hard, side in ((self.soft_range.min, self.range.min, "min"),
                                     (self.soft_range.max, self.range.max, "max")):
                if _comparable(soft, hard) and (soft < hard if side == "min" else soft > hard):
                    problems.append(f"field {self.name}: soft_range {side} lies outside the hard range")
        if self.max_length is not None and self.type != "text":
            problems.append(f"field {self.name}: max_length applies to text fields only")
        if self.show_if is not None:
            _parse(self.show_if, f"field {self.name}: show_if", problems)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _comparable(a, b) -> bool:
    return (isinstance(a, (int, float)) and isinstance(b, (int, float))) or \
        (isinstance(a, date) and isinstance(b, date))


def _parse(text: str, where: str, problems: list[str]):
    from earlyphase.protocol.expressions import ExpressionError, parse_expression

    try:
        return parse_expression(text)
    except ExpressionError as exc:
        problems.append(f"{where}: {exc}")
        return None


class FormCheck(_Strict):
    """A condition on a form's values that must hold (evaluated on every entry and correction)."""

    name: str = PydanticField(pattern=r"^[a-z0-9][a-z0-9\-]{0,59}$",
                              description="The rule's name, reported with every failure (e.g. biopsy-before-consent).")
    expression: str = PydanticField(min_length=1, description="The condition that must hold (see the expression grammar).")
    message: str = PydanticField(min_length=1, description="What a coordinator reads when it does not hold.")
    fields: list[str] | None = PydanticField(
        default=None, description="The field(s) a failure is reported on; default: the first field the condition reads.")
    warning: bool = PydanticField(
        default=False, description="A warning: the values are kept when the person confirms them.")

    @model_validator(mode="after")
    def _parses(self) -> "FormCheck":
        problems: list[str] = []
        _parse(self.expression, f"check {self.name}", problems)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Form(_Strict):
    """A study-defined form (case report form page), written out or taken from a bundled definition."""

    standard: str | None = PydanticField(
        default=None, description="A bundled form to take (astct_crs, astct_icans): its fields, and the grade "
                                  "derived from them; name and label default to the bundled ones, fields given "
                                  "here are added after them.")
    name: str = PydanticField(pattern=NAME_PATTERN, description="Form name (also the import sheet/CSV name).")
    label: str = PydanticField(min_length=1, description="Title shown to people.")
    repeating: bool = PydanticField(default=False, description="Entered any number of times (labs, con-meds).")
    date_field: str | None = PydanticField(
        default=None, description="The date field that dates each record (orders repeats; the visit date).")
    help: str | None = PydanticField(default=None, description="Help text shown with the form.")
    fields: list[FormField] = PydanticField(min_length=1, description="The fields, in the order the form asks them.")
    checks: list[FormCheck] = PydanticField(default_factory=list, description="Conditions across the form's fields.")

    @model_validator(mode="before")
    @classmethod
    def _take_standard(cls, data):
        if isinstance(data, dict) and data.get("standard") is not None:
            from earlyphase.protocol.standard_forms import expand_standard_form

            return expand_standard_form(data)
        return data

    @model_validator(mode="after")
    def _names(self) -> "Form":
        derived = [f for f in self.fields if f.derived_from is not None]
        if len(derived) > 1:
            raise ValueError(f"form {self.name}: at most one derived field ({', '.join(f.name for f in derived)})")
        if derived and derived[0].derived_from is not None:
            from earlyphase.vocab import bundled_form

            grading = bundled_form(derived[0].derived_from).derived
            missing = [n for n in (grading.inputs if grading else ()) if n not in self.field_names]
            if missing:
                raise ValueError(f"form {self.name}: field {derived[0].name} is derived by {derived[0].derived_from}, "
                                 f"which reads fields the form lacks: {', '.join(missing)}")
        return _check_fields(self, self.name, self.fields, self.checks, extra_names=ENROLMENT_VALUES)

    def field(self, name: str) -> FormField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


class CoreFormExtension(_Strict):
    """Fields (and checks) a study adds to a core form."""

    fields: list[FormField] = PydanticField(min_length=1, description="The fields added, after the core ones.")
    checks: list[FormCheck] = PydanticField(default_factory=list,
                                            description="Conditions on the added and the core values.")

    def field(self, name: str) -> FormField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def _check_fields(form, form_name: str, fields: list[FormField], checks: list[FormCheck],
                  extra_names: tuple[str, ...]):
    problems: list[str] = []
    names = [f.name for f in fields]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"form {form_name}: field names repeated: {', '.join(dupes)}")
    clash = sorted(set(names) & set(extra_names))
    if clash:
        problems.append(f"form {form_name}: field name(s) {', '.join(clash)} are core values a condition reads; "
                        "choose other names")
    known = set(names) | set(extra_names)
    by_name = {f.name: f for f in fields}
    for f in fields:
        if f.show_if:
            expr = _parse(f.show_if, f"field {f.name}: show_if", [])
            if expr is not None:
                unknown = sorted(expr.names() - known)
                if unknown:
                    problems.append(f"form {form_name}, field {f.name}: show_if reads unknown field(s) "
                                    f"{', '.join(unknown)}")
                if f.name in expr.names():
                    problems.append(f"form {form_name}, field {f.name}: show_if cannot depend on the field itself")
    check_names = [c.name for c in checks]
    dupes = sorted({n for n in check_names if check_names.count(n) > 1})
    if dupes:
        problems.append(f"form {form_name}: check names repeated: {', '.join(dupes)}")
    for c in checks:
        expr = _parse(c.expression, f"check {c.name}", [])
        if expr is None:
            continue
        unknown = sorted(expr.names() - known)
        if unknown:
            problems.append(f"form {form_name}, check {c.name}: reads unknown field(s) {', '.join(unknown)}")
        for target in c.fields or []:
            if target not in known:
                problems.append(f"form {form_name}, check {c.name}: reports on unknown field {target}")
    date_field = getattr(form, "date_field", None)
    if date_field is not None and (date_field not in by_name or by_name[date_field].type != "date"):
        problems.append(f"form {form_name}: date_field {date_field} must name a date field of the form")
    if problems:
        raise ValueError("; ".join(problems))
    return form
