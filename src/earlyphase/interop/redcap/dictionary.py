"""The REDCap data dictionary: its 18 columns, read and checked, and written.

A dictionary is a CSV file with one row per field, in the order REDCap shows them; the first field is
the record id. :func:`read_dictionary` checks every row (column names, field names, field types,
choices, validation types and their min/max) and reports every problem at once, each naming the file,
the row, the field, the value and the rule; :func:`write_dictionary` writes rows back in the same shape.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field as dc_field
from datetime import date
from pathlib import Path
from typing import Any

from earlyphase.errors import InputError, Problem

# The 18 columns, spelled as REDCap writes them (its "Download the current Data Dictionary").
COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
FIELD_TYPES = ("text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc", "file", "slider",
               "descriptive", "sql")
CHOICE_TYPES = ("dropdown", "radio", "checkbox")
# REDCap's built-in text validation types (Control Center > Field Validation Types).
VALIDATIONS = (
    "date_dmy", "date_mdy", "date_ymd", "datetime_dmy", "datetime_mdy", "datetime_ymd", "datetime_seconds_dmy",
    "datetime_seconds_mdy", "datetime_seconds_ymd", "email", "integer", "alpha_only", "mrn_10d", "mrn_generic",
    "number", "number_1dp", "number_2dp", "number_3dp", "number_4dp", "number_comma_decimal",
    "number_1dp_comma_decimal", "number_2dp_comma_decimal", "number_3dp_comma_decimal", "number_4dp_comma_decimal",
    "phone", "phone_australia", "postalcode_australia", "postalcode_canada", "postalcode_french",
    "postalcode_germany", "ssn", "time", "time_hh_mm_ss", "time_mm_ss", "vmrn", "zipcode", "signature",
)
NUMBER_VALIDATIONS = tuple(v for v in VALIDATIONS if v.startswith("number"))
DATE_VALIDATIONS = ("date_dmy", "date_mdy", "date_ymd")
VARIABLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
FORM_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
CODE_PATTERN = re.compile(r"^-?[A-Za-z0-9_.]+$")
MAX_VARIABLE = 100  # REDCap's limit on a variable name
MAX_DICTIONARY_BYTES = 20 * 1024 * 1024
MAX_PROBLEMS = 50


@dataclass
class DictionaryField:
    """One row of a data dictionary (choices parsed; everything else as written)."""

    row: int
    name: str
    form: str
    type: str
    label: str
    section: str = ""
    choices: list[tuple[str, str]] = dc_field(default_factory=list)
    calculation: str = ""
    slider_labels: list[str] = dc_field(default_factory=list)
    note: str = ""
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    branching: str = ""
    required: bool = False
    alignment: str = ""
    question_number: str = ""
    matrix_group: str = ""
    matrix_ranking: str = ""
    annotation: str = ""

    @property
    def is_checkbox(self) -> bool:
        return self.type == "checkbox"

    def columns(self) -> list[str]:
        """The data columns REDCap's flat export gives this field (a checkbox: one per code)."""
        if self.type == "descriptive":
            return []
        if self.is_checkbox:
            return [checkbox_column(self.name, code) for code, _ in self.choices]
        return [self.name]


def checkbox_column(name: str, code: str) -> str:
    """REDCap's column of one checkbox code: ``name___code`` (a '-' in the code becomes '_', letters lower)."""
    return f"{name}___{code.replace('-', '_').replace('.', '_').lower()}"


def choices_text(choices: list[tuple[str, str]]) -> str:
    """``1, Yes | 0, No``."""
    return " | ".join(f"{code}, {label}" for code, label in choices)


def parse_choices(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(code, label) pairs of ``1, Yes | 0, No``, and what is wrong with the text (empty when fine)."""
    pairs: list[tuple[str, str]] = []
    wrong: list[str] = []
    # REDCap also accepts choices one per line (the Online Designer writes them so)
    items = [p for p in re.split(r"\s*\|\s*|\n", text.strip()) if p.strip()]
    if not items:
        return [], ["no choices given (write them '1, Yes | 0, No')"]
    for item in items:
        code, comma, label = item.partition(",")
        code, label = code.strip(), label.strip()
        if not comma or not code or not label:
            wrong.append(f"choice {item.strip()!r} is not 'code, label'")
        elif not CODE_PATTERN.match(code):
            wrong.append(f"choice code {code!r} may hold only letters, digits, '_' and '.'")
        else:
            pairs.append((code, label))
    codes = [c for c, _ in pairs]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        wrong.append(f"choice code(s) repeated: {', '.join(repeated)}")
    return pairs, wrong


def bound_value(text: str, validation: str) -> Any:
    """A Text Validation Min/Max as a number or date (``today`` kept); ValueError when it does not fit."""
    text = text.strip()
    if validation in DATE_VALIDATIONS:
        if text in ("today", "now"):
            return "today"
        return date.fromisoformat(text)
    if validation == "integer":
        return int(text)
    number = float(text.replace(",", ".") if "comma" in validation else text)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return number


def read_dictionary(path: str | Path, encoding: str | None = None) -> list[DictionaryField]:
    """The fields of a REDCap data dictionary CSV, checked (``InputError`` listing every problem)."""
    from earlyphase.textfile import decode_text

    p = Path(path)
    name = p.name
    if not p.is_file():
        raise InputError.single("dictionary", str(p), "exists", "no such file (give the data dictionary CSV)")
    data = p.read_bytes()
    if len(data) > MAX_DICTIONARY_BYTES:
        raise InputError.single("dictionary", str(p), "size",
                                f"a data dictionary of more than {MAX_DICTIONARY_BYTES // 2**20} MB is not one",
                                file=name)
    text = decode_text(data, name, encoding, hint="give --encoding")
    return parse_dictionary(text, name)


def parse_dictionary(text: str, name: str = "dictionary.csv") -> list[DictionaryField]:
    if "\x00" in text:
        raise InputError.single("file", name, "no-nul", "the file holds a NUL character: it is not a text CSV",
                                file=name)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or not any(c.strip() for c in rows[0]):
        raise InputError.single("header", "", "header", "the data dictionary is empty: its first row must name "
                                "the 18 REDCap columns", file=name, row=1)
    header = [c.strip() for c in rows[0]]
    if tuple(header) != COLUMNS:
        missing = [c for c in COLUMNS if c not in header]
        extra = [c for c in header if c not in COLUMNS]
        what = []
        if missing:
            what.append(f"missing {', '.join(repr(c) for c in missing)}")
        if extra:
            what.append(f"unknown {', '.join(repr(c) for c in extra)}")
        if not what:
            what.append("the columns are out of REDCap's order")
        raise InputError.single("header", ",".join(header)[:200], "redcap-columns",
                                f"a REDCap data dictionary has exactly the 18 columns {', '.join(COLUMNS)}: "
                                + "; ".join(what), file=name, row=1)
    problems: list[Problem] = []
    fields: list[DictionaryField] = []

    def fail(row: int, where: str, value: Any, rule: str, message: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(field=where, value=value, rule=rule, message=message, file=name, row=row))

    seen: dict[str, int] = {}
    form_order: list[str] = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            fail(number, "(row)", len(cells), "column-count",
                 f"the row has {len(cells)} cells; a dictionary row has {len(COLUMNS)}")
            continue
        v = dict(zip(COLUMNS, cells))
        var = v["Variable / Field Name"].strip()
        form = v["Form Name"].strip()
        kind = v["Field Type"].strip()
        where = var or "(field)"
        if not VARIABLE_PATTERN.match(var) or len(var) > MAX_VARIABLE:
            fail(number, where, var, "variable-name", "a variable name is lower-case letters, digits and '_', "
                 f"starting with a letter, at most {MAX_VARIABLE} characters")
        elif var in seen:
            fail(number, where, var, "unique-variable", f"variable {var} is already defined on row {seen[var]}")
        else:
            seen[var] = number
        if "___" in var:
            fail(number, where, var, "variable-name", "'___' is kept for checkbox columns (field___code)")
        if not FORM_PATTERN.match(form):
            fail(number, where, form, "form-name", "a form (instrument) name is lower-case letters, digits and "
                 "'_', starting with a letter")
        elif form in form_order and form_order[-1] != form:
            fail(number, where, form, "form-contiguous",
                 f"the fields of form {form} must be listed together (it began earlier and another form followed)")
        elif form not in form_order:
            form_order.append(form)
        if kind not in FIELD_TYPES:
            fail(number, where, kind, "field-type", f"{kind!r} is not a REDCap field type "
                 f"({', '.join(FIELD_TYPES)})")
            continue
        f = DictionaryField(row=number, name=var, form=form, type=kind, label=v["Field Label"].strip(),
                            section=v["Section Header"].strip(), note=v["Field Note"].strip(),
                            validation=v["Text Validation Type OR Show Slider Number"].strip(),
                            minimum=v["Text Validation Min"].strip(), maximum=v["Text Validation Max"].strip(),
                            branching=v["Branching Logic (Show field only if...)"].strip(),
                            alignment=v["Custom Alignment"].strip(),
                            question_number=v["Question Number (surveys only)"].strip(),
                            matrix_group=v["Matrix Group Name"].strip(), matrix_ranking=v["Matrix Ranking?"].strip(),
                            annotation=v["Field Annotation"].strip())
        choices = v["Choices, Calculations, OR Slider Labels"]
        for flag, column in (("identifier", "Identifier?"), ("required", "Required Field?")):
            text = v[column].strip().lower()
            if text not in ("", "y", "n"):
                fail(number, where, v[column], "flag-y", f"{column} is 'y' or blank")
            setattr(f, flag, text == "y")
        if kind in CHOICE_TYPES:
            f.choices, wrong = parse_choices(choices)
            for text in wrong:
                fail(number, where, choices, "choices", f"{kind} field {var}: {text}")
            if kind == "checkbox":
                columns = [checkbox_column(var, c) for c, _ in f.choices]
                if len(set(columns)) != len(columns):
                    fail(number, where, choices, "choices", f"checkbox {var}: two codes give the same column "
                         "(codes differ only by case, '-' or '.')")
        elif kind == "calc":
            f.calculation = choices.strip()
            if not f.calculation:
                fail(number, where, choices, "calculation", f"calc field {var} has no calculation")
        elif kind == "sql":
            f.calculation = choices.strip()
        elif kind == "slider":
            f.slider_labels = [x.strip() for x in choices.split("|")] if choices.strip() else []
        elif choices.strip():
            fail(number, where, choices, "choices", f"a {kind} field has no choices or calculation "
                 "(only dropdown, radio, checkbox, calc, sql and slider fields do)")
        if f.validation:
            if kind == "slider":
                if f.validation != "number":
                    fail(number, where, f.validation, "validation", "a slider's only setting is 'number' "
                         "(show the number)")
            elif kind == "file" and f.validation == "signature":
                pass
            elif kind != "text":
                fail(number, where, f.validation, "validation",
                     f"only text fields have a validation type (this is {kind})")
            elif f.validation not in VALIDATIONS or f.validation == "signature":
                fail(number, where, f.validation, "validation",
                     f"{f.validation!r} is not a REDCap validation type ({', '.join(VALIDATIONS[:-1])})")
        bounded = kind == "slider" or f.validation in NUMBER_VALIDATIONS + DATE_VALIDATIONS + ("integer",)
        low = high = None
        for which, text in (("Text Validation Min", f.minimum), ("Text Validation Max", f.maximum)):
            if not text:
                continue
            if not bounded:
                fail(number, where, text, "validation-bounds",
                     f"{which} applies to integer, number and date validations and sliders")
                continue
            try:
                value = bound_value(text, f.validation if kind == "text" else "number")
            except ValueError:
                want = "a date YYYY-MM-DD or today" if f.validation in DATE_VALIDATIONS else "a number"
                fail(number, where, text, "validation-bounds", f"{which} must be {want}")
                continue
            if which.endswith("Min"):
                low = value
            else:
                high = value
        if low is not None and high is not None and low != "today" and high != "today" and low > high:
            fail(number, where, f"{f.minimum} > {f.maximum}", "validation-bounds", "the minimum is above the maximum")
        fields.append(f)
    if not fields and not problems:
        fail(2, "(rows)", "", "has-fields", "the data dictionary defines no fields")
    if fields and fields[0].type != "text":
        fail(fields[0].row, fields[0].name, fields[0].type, "record-id",
             "the first field is the record id: a text field")
    if problems:
        raise InputError(problems, summary=f"data dictionary {name} refused: {len(problems)} problem"
                                           f"{'s' if len(problems) != 1 else ''}; nothing was converted")
    return fields


def write_dictionary(path: Path, fields: list[DictionaryField]) -> None:
    """Write ``fields`` as a REDCap data dictionary CSV (UTF-8, the 18 columns)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for f in fields:
            if f.type in CHOICE_TYPES:
                choices = choices_text(f.choices)
            elif f.type in ("calc", "sql"):
                choices = f.calculation
            elif f.type == "slider":
                choices = " | ".join(f.slider_labels)
            else:
                choices = ""
            writer.writerow([f.name, f.form, f.section, f.type, f.label, choices, f.note, f.validation, f.minimum,
                             f.maximum, "y" if f.identifier else "", f.branching, "y" if f.required else "",
                             f.alignment, f.question_number, f.matrix_group, f.matrix_ranking, f.annotation])
