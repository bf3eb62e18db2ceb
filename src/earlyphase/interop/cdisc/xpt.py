"""SAS XPORT version 5 (the transport format FDA asks for), read and written through pyreadstat.

XPORT keeps two physical types only, character (with a length in bytes) and numeric (8-byte IBM floats), plus
a name, label and display format per variable. So on reading, the Dataset-JSON type is worked out: a number
with a date/datetime/time format is that kind of date (``targetDataType`` ``integer``), a column whose numbers
are all whole is ``integer``, any other numeric column ``float``, and every character column ``string``.

Version 5 limits, checked before writing: names of 1-8 letters, digits or underscores (not starting with a
digit), labels of at most 40 characters, character values ASCII and at most 200 bytes.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from earlyphase.errors import ConfigurationError, InputError, Problem
from earlyphase.interop.cdisc.dataset import Column, Dataset
from earlyphase.interop.cdisc.sas_dates import DEFAULT_FORMATS, iso_to_sas_number, kind_of_format, sas_number_to_iso

XPT_RECORD = 80  # an XPORT file is a sequence of 80-byte records
V5_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,7}$")
V5_LABEL_MAX = 40
V5_CHAR_MAX = 200
MAX_PROBLEMS = 20  # enough to show the pattern, short enough to read


def _pyreadstat():
    try:
        import pyreadstat
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigurationError("reading and writing SAS XPORT needs pyreadstat: pip install 'earlyphase[cdisc]'") \
            from exc
    return pyreadstat


def _refuse(path: Path, rule: str, message: str) -> InputError:
    return InputError.single("file", str(path), rule, message, file=str(path))


def read_xpt(path: Path) -> Dataset:
    """Read one dataset from a SAS XPORT file (v5; v8 is read too)."""
    size = path.stat().st_size
    if size == 0:
        raise _refuse(path, "xpt", "is empty; expected a SAS XPORT file")
    if size % XPT_RECORD:
        raise _refuse(path, "xpt", f"is {size} bytes, not a whole number of 80-byte XPORT records: "
                                   "the file is truncated or not a SAS XPORT file")
    with path.open("rb") as handle:
        head = handle.read(XPT_RECORD)
    if not head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD") and \
            not head.startswith(b"HEADER RECORD*******LIBV8   HEADER RECORD"):
        raise _refuse(path, "xpt", "does not start with a SAS XPORT library header; not a SAS XPORT file")
    pyreadstat = _pyreadstat()
    try:
        frame, meta = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    except Exception as exc:  # pyreadstat's own errors name the byte-level problem
        raise _refuse(path, "xpt", f"cannot be read as SAS XPORT ({exc}); the file is truncated or damaged") \
            from exc
    _refuse_partial_row(path, sum(int(w) for w in meta.variable_storage_width.values()))
    name = (meta.table_name or path.stem).upper()
    columns: list[Column] = []
    value_columns: list[list[Any]] = []
    for variable in frame.columns:
        raw = frame[variable].tolist()
        label = meta.column_names_to_labels.get(variable) or ""
        display_format = meta.original_variable_types.get(variable) or None
        if meta.readstat_variable_types[variable] == "string":
            values = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in raw]
            column = Column(variable, label, "string", length=int(meta.variable_storage_width[variable]),
                            item_oid=f"IT.{name}.{variable}", display_format=display_format)
        else:
            numbers = [None if v is None or math.isnan(v) else float(v) for v in raw]
            kind = kind_of_format(display_format)
            if kind is not None:
                values = [None if v is None else sas_number_to_iso(v, kind) for v in numbers]
                column = Column(variable, label, kind, item_oid=f"IT.{name}.{variable}", target_data_type="integer",
                                display_format=display_format)
            elif all(v is None or (v.is_integer() and abs(v) < 2 ** 53) for v in numbers) and \
                    any(v is not None for v in numbers):
                values = [None if v is None else int(v) for v in numbers]
                column = Column(variable, label, "integer", item_oid=f"IT.{name}.{variable}",
                                display_format=display_format)
            else:
                values = numbers
                column = Column(variable, label, "float", item_oid=f"IT.{name}.{variable}",
                                display_format=display_format)
        columns.append(column)
        value_columns.append(values)
    rows = [list(row) for row in zip(*value_columns)] if value_columns else []
    return Dataset(name=name, label=meta.file_label or "", columns=columns, rows=rows, item_group_oid=f"IG.{name}")


def _refuse_partial_row(path: Path, row_length: int) -> None:
    """Refuse a file cut inside its observations, which pyreadstat would read as a shorter dataset.

    XPORT records no row count: after the last observation, the final 80-byte record is padded with blanks.
    So the bytes after the last whole observation must be fewer than 80 and all blanks. (A cut exactly between
    two observations on a record boundary leaves a valid shorter file; the format cannot show it.)
    """
    content = path.read_bytes()
    marker = content.find(b"HEADER RECORD*******OBS")
    if marker < 0 or row_length <= 0 or content.find(b"HEADER RECORD*******MEMB", marker) >= 0:
        return  # no observations header, or several datasets in one file: nothing to measure against
    data = content[marker + XPT_RECORD:]
    rest = data[len(data) - len(data) % row_length:] if len(data) % row_length else b""
    if len(rest) >= XPT_RECORD or rest.strip(b" "):
        raise _refuse(path, "xpt", f"ends inside an observation ({len(data) % row_length} of {row_length} bytes "
                                   "present): the file is truncated")


def _v5_problems(dataset: Dataset) -> list[Problem]:
    problems: list[Problem] = []
    if not V5_NAME.match(dataset.name or ""):
        problems.append(Problem("name", dataset.name, "xpt-v5-name",
                                "a SAS XPORT v5 dataset name is 1-8 letters, digits or underscores"))
    if len(dataset.label) > V5_LABEL_MAX:
        problems.append(Problem("label", dataset.label, "xpt-v5-label",
                                f"a SAS XPORT v5 dataset label has at most {V5_LABEL_MAX} characters"))
    seen: set[str] = set()
    for column in dataset.columns:
        where = f"column {column.name}"
        if not V5_NAME.match(column.name):
            problems.append(Problem(where, column.name, "xpt-v5-name",
                                    "a SAS XPORT v5 variable name is 1-8 letters, digits or underscores"))
        if column.name.upper() in seen:
            problems.append(Problem(where, column.name, "unique", "two variables have this name"))
        seen.add(column.name.upper())
        if len(column.label) > V5_LABEL_MAX or not column.label.isascii():
            problems.append(Problem(f"{where} label", column.label, "xpt-v5-label",
                                    f"a SAS XPORT v5 variable label is ASCII, at most {V5_LABEL_MAX} characters"))
        if column.length is not None and not column.is_numeric and not 1 <= column.length <= V5_CHAR_MAX:
            problems.append(Problem(f"{where} length", column.length, "xpt-v5-length",
                                    f"a SAS XPORT v5 character variable is 1-{V5_CHAR_MAX} bytes long"))
    return problems


def _character_values(column: Column, values: list[Any], problems: list[Problem]) -> tuple[list[str], int]:
    texts = ["" if v is None else str(v) for v in values]
    longest = max((len(t.encode("utf-8")) for t in texts), default=0)
    length = column.length if column.length is not None else max(longest, 1)
    for row, text in enumerate(texts, start=1):
        if len(problems) >= MAX_PROBLEMS:
            break
        if not text.isascii():
            problems.append(Problem(f"column {column.name}", text, "xpt-v5-ascii",
                                    "SAS XPORT v5 holds ASCII text only", row=row))
        elif len(text) > length:
            problems.append(Problem(f"column {column.name}", text, "length",
                                    f"is {len(text)} characters, longer than the variable's length {length}",
                                    row=row))
    # XPORT stores character values blank-padded to the variable's length; padding them here is what makes
    # the written variable exactly that long (readers strip the blanks again).
    return [t.ljust(length) for t in texts], length


def _numeric_values(column: Column, values: list[Any], problems: list[Problem]) -> list[float]:
    kind = column.data_type if column.data_type in DEFAULT_FORMATS else None
    numbers: list[float] = []
    for row, value in enumerate(values, start=1):
        if value is None or value == "":
            numbers.append(math.nan)
            continue
        try:
            if kind is not None:
                numbers.append(iso_to_sas_number(str(value), kind))
            elif isinstance(value, bool):
                numbers.append(1.0 if value else 0.0)
            else:
                numbers.append(float(value))
        except (TypeError, ValueError):
            numbers.append(math.nan)
            if len(problems) < MAX_PROBLEMS:
                expected = f"an ISO 8601 {kind}" if kind else "a number"
                problems.append(Problem(f"column {column.name}", value, "type", f"is not {expected}", row=row))
    return numbers


def check_v5(dataset: Dataset) -> None:
    """Refuse a dataset SAS XPORT v5 cannot hold (names, labels, lengths, ASCII), before anything is written."""
    problems = _v5_problems(dataset)
    for index, column in enumerate(dataset.columns):
        if not column.is_numeric and len(problems) < MAX_PROBLEMS:
            _character_values(column, [row[index] for row in dataset.rows], problems)
    if problems:
        raise InputError(problems[:MAX_PROBLEMS], summary=f"{dataset.name} cannot be written as SAS XPORT v5 "
                                                          f"({len(problems)} problem(s))")


def write_xpt(dataset: Dataset, path: Path) -> None:
    """Write ``dataset`` as SAS XPORT v5; every problem is reported before anything is written."""
    import pandas as pd

    problems = _v5_problems(dataset)
    data: dict[str, Any] = {}
    formats: dict[str, str] = {}
    for index, column in enumerate(dataset.columns):
        values = [row[index] for row in dataset.rows]
        if column.is_numeric:
            data[column.name] = pd.Series(_numeric_values(column, values, problems), dtype="float64")
            display_format = column.display_format or DEFAULT_FORMATS.get(column.data_type)
        else:
            texts, _ = _character_values(column, values, problems)
            data[column.name] = pd.Series(texts, dtype=object)
            display_format = column.display_format
        if display_format:
            formats[column.name] = display_format
    if problems:
        raise InputError(problems, summary=f"{dataset.name} cannot be written as SAS XPORT v5 "
                                           f"({len(problems)} problem(s))")
    frame = pd.DataFrame(data, columns=[c.name for c in dataset.columns])
    pyreadstat = _pyreadstat()
    pyreadstat.write_xport(frame, str(path), file_label=dataset.label,
                           column_labels={c.name: c.label for c in dataset.columns}, table_name=dataset.name,
                           file_format_version=5, variable_format=formats)
