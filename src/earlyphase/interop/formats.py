"""How database values are written to and read from CSV cells and Excel cells.

One rule everywhere, so an export read back gives the same values and a second export is
byte-identical to the first:
- empty cell = no value (NULL);
- dates ``YYYY-MM-DD``; booleans ``true`` / ``false``;
- integers as digits; floats in Python's shortest round-trip form (``5000000000.0``, ``44.3``);
- text as is (the csv module quotes what needs quoting).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, Integer, Table

from earlyphase.limits import INT_MAX, INT_MIN, MAX_ABS_FLOAT, ascii_float, ascii_int, in_int_range, is_iso_date_text
from earlyphase.records import tables as t

# Tables an export writes and an import reads, parents first (the order rows must be loaded in). The study's
# forms are written one CSV per form (and the fields added to core forms as columns of their table), not as
# the storage tables form_records / form_values. Meeting packs (frozen pages of the dose-escalation meeting,
# HTML and PDF inside) stay in the trial's database: they are documents, not data to exchange.
EXPORT_TABLES: list[type[t.Base]] = [cls for cls in t.DATA_TABLES
                                     if cls not in (t.FormRecord, t.FormValue, t.MeetingPack)]
TABLES_BY_NAME: dict[str, type[t.Base]] = {cls.__tablename__: cls for cls in EXPORT_TABLES}
# table -> the core form whose study-added fields its rows carry
CORE_FORM_OF_TABLE = {"patients": "enrolment", "allocations": "allocation", "administrations": "administration",
                      "adverse_events": "adverse_event", "tumour_assessments": "tumour_assessment",
                      "other_therapies": "other_therapy", "follow_ups": "follow_up", "deaths": "death"}
_VALUE_COLUMN = {"integer": "value_int", "decimal": "value_num", "date": "value_date", "yesno": "value_bool"}


def _values(session, records: list, fields) -> dict[int, tuple[dict[str, Any], bool]]:
    """record id -> (field -> value, any value confirmed); a multiple choice as 'a|b'."""
    from sqlalchemy import select

    by_name = {f.name: f for f in fields}
    out: dict[int, tuple[dict[str, Any], bool]] = {r.id: ({f.name: None for f in fields}, False) for r in records}
    if not records:
        return out
    ids = [r.id for r in records]
    rows = session.execute(select(t.FormValue).where(t.FormValue.record_id.in_(ids))
                           .order_by(t.FormValue.record_id, t.FormValue.field, t.FormValue.position)).scalars()
    for v in rows:
        f = by_name.get(v.field)
        if f is None:
            continue
        values, confirmed = out[v.record_id]
        value = getattr(v, _VALUE_COLUMN.get(f.type, "value_text"))
        if f.type == "multiple_choice":
            value = value if values[f.name] is None else f"{values[f.name]}|{value}"
        values[f.name] = value
        out[v.record_id] = (values, confirmed or bool(v.confirmed))
    return out


def form_records(session, study, form) -> list[tuple[Any, dict[str, Any], bool]]:
    """(record, field -> value, confirmed) of every record of a study form, in id order."""
    from sqlalchemy import select

    records = list(session.execute(select(t.FormRecord).where(
        t.FormRecord.form == form.name, t.FormRecord.core_table.is_(None)).order_by(t.FormRecord.id)).scalars())
    values = _values(session, records, form.fields)
    return [(r, *values[r.id]) for r in records]


def study_values(session, study, core_form: str | None, core_table: str) -> dict[int, dict[str, Any]]:
    """core record id -> the values of the fields the study adds to its form."""
    from sqlalchemy import select

    extension = study.extension(core_form) if core_form else None
    if extension is None:
        return {}
    records = list(session.execute(select(t.FormRecord).where(
        t.FormRecord.core_table == core_table).order_by(t.FormRecord.id)).scalars())
    values = _values(session, records, extension.fields)
    return {r.core_id: values[r.id][0] for r in records}

def column_kind(table: Table, column: str) -> str:
    """'date', 'bool', 'int', 'float' or 'text' for a column of ``table``."""
    col_type = table.columns[column].type
    if isinstance(col_type, Date):
        return "date"
    if isinstance(col_type, Boolean):
        return "bool"
    if isinstance(col_type, Integer):
        return "int"
    if isinstance(col_type, Float):
        return "float"
    return "text"


def format_cell(value: Any) -> str:
    """A database value as CSV text (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


class CellError(ValueError):
    """A cell that cannot be read as its column's type (the message says which type was wanted)."""


def parse_cell(value: Any, kind: str) -> Any:
    """A CSV or Excel cell as a Python value of ``kind`` (see :func:`column_kind`); '' -> None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = str(value)
        if not is_iso_date_text(text):
            raise CellError("a date written YYYY-MM-DD")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise CellError("a calendar date written YYYY-MM-DD (this day does not exist)") from None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "y", "t"):
            return True
        if text in ("false", "no", "0", "n", "f"):
            return False
        raise CellError("true or false")
    if kind == "int":
        if isinstance(value, bool):
            raise CellError("a whole number")
        if isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                raise CellError("a whole number")
            value = int(value)
        number = value if isinstance(value, int) else ascii_int(str(value))
        if number is None:
            raise CellError("a whole number written in digits 0-9")
        if not in_int_range(number):
            raise CellError(f"a whole number between {INT_MIN} and {INT_MAX}")
        return number
    if kind == "float":
        if isinstance(value, bool):
            raise CellError("a number")
        number = float(value) if isinstance(value, (int, float)) else ascii_float(str(value))
        if number is None or not math.isfinite(number):
            raise CellError("a finite number written in digits 0-9 (with '.' and an optional exponent)")
        if abs(number) > MAX_ABS_FLOAT:
            raise CellError(f"a number of at most {MAX_ABS_FLOAT:g} in size")
        return number
    if isinstance(value, datetime):
        # Excel turns ISO text like 2015-03-04T14:30 into a datetime; keep the text form we store
        return value.strftime("%Y-%m-%dT%H:%M") if (value.hour or value.minute) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
