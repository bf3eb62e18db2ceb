"""How database values are written to and read from CSV cells and Excel cells.

One rule everywhere, so an export read back gives the same values and a second export is
byte-identical to the first:
- empty cell = no value (NULL);
- dates ``YYYY-MM-DD``; booleans ``true`` / ``false``;
- integers as digits; floats in Python's shortest round-trip form (``5000000000.0``, ``44.3``);
- text as is (the csv module quotes what needs quoting).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, Integer, Table

from earlyphase.records import tables as t

# Tables an export writes and an import reads, parents first (the order rows must be loaded in).
EXPORT_TABLES: list[type[t.Base]] = list(t.DATA_TABLES)
TABLES_BY_NAME: dict[str, type[t.Base]] = {cls.__tablename__: cls for cls in EXPORT_TABLES}

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
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise CellError("a date written YYYY-MM-DD") from None
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
        if isinstance(value, int):
            return value
        try:
            number = float(str(value))
        except ValueError:
            raise CellError("a whole number") from None
        if not number.is_integer():
            raise CellError("a whole number")
        return int(number)
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value))
        except ValueError:
            raise CellError("a number") from None
    if isinstance(value, datetime):
        # Excel turns ISO text like 2015-03-04T14:30 into a datetime; keep the text form we store
        return value.strftime("%Y-%m-%dT%H:%M") if (value.hour or value.minute) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
