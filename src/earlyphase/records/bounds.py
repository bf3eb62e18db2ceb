"""The same limits on both backends: lengths, integer range and NUL, checked before a flush.

SQLite stores a 300-character name in VARCHAR(200), an integer of any size and a NUL byte in text;
PostgreSQL refuses all three, with an error naming neither the form nor the field. Capture checks
what people type; this is the net under it, so a value that slipped past a check is refused the
same way on both backends, as an ``InputError`` naming the table, column and limit.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Float, Integer, String, inspect
from sqlalchemy.orm import Session

from earlyphase.errors import InputError, Problem
from earlyphase.limits import INT_MAX, INT_MIN


def check_pending(session: Session, _context: Any = None, _instances: Any = None) -> None:
    """``before_flush`` hook: raise ``InputError`` if a new or changed row breaks a column's bound."""
    problems: list[Problem] = []
    for obj in list(session.new) + list(session.dirty):
        try:
            mapper = inspect(obj).mapper
        except Exception:  # not a mapped object
            continue
        table = getattr(mapper, "local_table", None)
        if table is None:
            continue
        for column in table.columns:
            attr = mapper.get_property_by_column(column).key if column in mapper.columns.values() else None
            if attr is None:
                continue
            value = getattr(obj, attr, None)
            problem = _broken(column, value)
            if problem:
                problems.append(Problem(field=f"{table.name}.{column.name}", value=_short(value), rule=problem[0],
                                        message=problem[1]))
    if problems:
        raise InputError(problems, summary="a value is beyond what the database column holds; nothing was written")


def _broken(column: Any, value: Any) -> tuple[str, str] | None:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, String) and isinstance(value, str):
        if kind.length and len(value) > kind.length:
            return "max-length", f"may hold at most {kind.length} characters ({len(value)} given)"
        if "\x00" in value:
            return "control-character", "may not hold a NUL character"
    if isinstance(kind, Integer) and not isinstance(value, bool) and isinstance(value, int):
        if kind.__class__.__name__ != "BigInteger" and not INT_MIN <= value <= INT_MAX:
            return "integer-range", f"must be between {INT_MIN} and {INT_MAX}"
    if isinstance(kind, Float) and isinstance(value, float) and math.isnan(value):
        return "number", "must be a number (not NaN)"
    return None


def _short(value: Any) -> Any:
    return value[:60] + f"... ({len(value)} chars)" if isinstance(value, str) and len(value) > 80 else value
