"""CDISC Dataset-JSON 1.1, read and written (the standard's JSON form; the NDJSON form is not handled yet).

Reading checks what the standard's schema requires (the top-level keys, each column's ``itemOID``, ``name``,
``label`` and ``dataType`` from the allowed list) and, beyond the schema, what the data must agree with: each
row has one value per column, each value has its column's type, ``records`` equals the number of rows. Every
problem is listed with its row and column, up to a readable number.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from earlyphase.errors import InputError, Problem
from earlyphase.interop.cdisc.dataset import DATA_TYPES, DATE_TYPES, TARGET_DATA_TYPES, Column, Dataset
from earlyphase.interop.cdisc.sas_dates import iso_to_sas_number

VERSION = "1.1.0"
REQUIRED = ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name", "label",
            "columns")
COLUMN_REQUIRED = ("itemOID", "name", "label", "dataType")
# Keys read into Dataset's own fields or rebuilt on writing; every other top-level key is kept as metadata.
OWN_KEYS = ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name", "label",
            "columns", "rows")
MAX_PROBLEMS = 20


def _problem(path: Path, where: str, value: Any, rule: str, message: str, row: int | None = None) -> Problem:
    return Problem(where, value, rule, message, file=str(path), row=row)


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([_problem(path, "file", str(path), "utf-8",
                                   f"is not UTF-8 text (byte {exc.start}); Dataset-JSON is UTF-8")]) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([_problem(path, "file", str(path), "json",
                                   f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]) \
            from exc


def _column(path: Path, index: int, raw: Any, problems: list[Problem]) -> Column | None:
    where = f"columns[{index}]"
    if not isinstance(raw, dict):
        problems.append(_problem(path, where, raw, "column", "must be an object with itemOID, name, label, dataType"))
        return None
    found = len(problems)
    for key in COLUMN_REQUIRED:
        if key not in raw:
            problems.append(_problem(path, f"{where}.{key}", None, "required", f"the column has no '{key}'"))
        elif not isinstance(raw[key], str):
            problems.append(_problem(path, f"{where}.{key}", raw[key], "type", "must be a string"))
    if isinstance(raw.get("dataType"), str) and raw["dataType"] not in DATA_TYPES:
        problems.append(_problem(path, f"{where}.dataType", raw["dataType"], "dataType",
                                 f"must be one of {', '.join(DATA_TYPES)}"))
    target = raw.get("targetDataType")
    if target is not None and target not in TARGET_DATA_TYPES:
        problems.append(_problem(path, f"{where}.targetDataType", target, "targetDataType",
                                 f"must be one of {', '.join(TARGET_DATA_TYPES)}"))
    for key in ("length", "keySequence"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            problems.append(_problem(path, f"{where}.{key}", value, "type", "must be a whole number of at least 1"))
    if raw.get("displayFormat") is not None and not isinstance(raw["displayFormat"], str):
        problems.append(_problem(path, f"{where}.displayFormat", raw["displayFormat"], "type", "must be a string"))
    unknown = sorted(set(raw) - {*COLUMN_REQUIRED, "targetDataType", "length", "displayFormat", "keySequence"})
    if unknown:
        problems.append(_problem(path, where, unknown, "keys", "has keys Dataset-JSON 1.1 does not define"))
    if len(problems) > found:
        return None
    return Column(name=raw["name"], label=raw["label"], data_type=raw["dataType"], length=raw.get("length"),
                  item_oid=raw["itemOID"], target_data_type=target, display_format=raw.get("displayFormat"),
                  key_sequence=raw.get("keySequence"))


def _value(column: Column, value: Any) -> tuple[Any, str | None]:
    """The value as the dataset holds it, or the reason it does not fit its column."""
    kind = column.data_type
    if kind in DATE_TYPES and column.target_data_type is not None:
        if value is None or value == "":
            return None, None
        if not isinstance(value, str):
            return None, f"must be an ISO 8601 {kind} text"
        try:
            iso_to_sas_number(value, kind)
        except ValueError:
            return None, f"is not a complete ISO 8601 {kind}"
        return value, None
    if kind in ("string", "URI") or kind in DATE_TYPES:
        if value is None:
            return "", None  # XPORT cannot tell a null text from a blank one; both are read as ""
        return (value, None) if isinstance(value, str) else (None, "must be text")
    if value is None:
        return None, None
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind == "decimal":
        text = value if isinstance(value, str) else None
        if text is None and isinstance(value, (int, float)) and not isinstance(value, bool):
            text = repr(value)
        try:
            if text is None or not math.isfinite(float(text)):
                raise ValueError
        except ValueError:
            return None, "must be a decimal number (as text)"
        return text, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, "must be a number"
    if kind == "integer":
        if isinstance(value, float) and not value.is_integer():
            return None, "must be a whole number"
        return int(value), None
    return float(value), None


def read_dataset_json(path: Path) -> Dataset:
    """Read a Dataset-JSON 1.1 file; every problem found is reported at once (up to 20)."""
    document = _load(path)
    if not isinstance(document, dict):
        raise InputError([_problem(path, "file", type(document).__name__, "object",
                                   "must hold one JSON object (a Dataset-JSON dataset)")])
    problems: list[Problem] = []
    for key in REQUIRED:
        if key not in document:
            problems.append(_problem(path, key, None, "required", f"the dataset has no '{key}'"))
    version = document.get("datasetJSONVersion")
    if version is not None and (not isinstance(version, str) or not (version == "1.1" or version.startswith("1.1."))):
        problems.append(_problem(path, "datasetJSONVersion", version, "version", "only Dataset-JSON 1.1 is read"))
    for key in ("name", "label", "itemGroupOID"):
        if key in document and not isinstance(document[key], str):
            problems.append(_problem(path, key, document[key], "type", "must be a string"))
    records = document.get("records")
    if records is not None and (not isinstance(records, int) or isinstance(records, bool) or records < 0):
        problems.append(_problem(path, "records", records, "type", "must be a whole number, 0 or more"))
    raw_columns = document.get("columns")
    if raw_columns is not None and not isinstance(raw_columns, list):
        problems.append(_problem(path, "columns", type(raw_columns).__name__, "type", "must be a list of columns"))
        raw_columns = None
    columns = [_column(path, i, c, problems) for i, c in enumerate(raw_columns or [])]
    names = [c.name for c in columns if c is not None]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(_problem(path, "columns", name, "unique", "two columns have this name"))
    raw_rows = document.get("rows", [])
    if not isinstance(raw_rows, list):
        problems.append(_problem(path, "rows", type(raw_rows).__name__, "type", "must be a list of rows"))
        raw_rows = []
    if problems:
        raise InputError(problems[:MAX_PROBLEMS], summary=f"{path} is not a valid Dataset-JSON 1.1 dataset")
    if records != len(raw_rows):
        problems.append(_problem(path, "records", records, "records", f"says {records} but the file has "
                                                                      f"{len(raw_rows)} rows"))
    rows: list[list[Any]] = []
    for number, raw in enumerate(raw_rows, start=1):
        if len(problems) >= MAX_PROBLEMS:
            break
        if not isinstance(raw, list) or len(raw) != len(columns):
            size = len(raw) if isinstance(raw, list) else type(raw).__name__
            problems.append(_problem(path, "rows", size, "row",
                                     f"must be a list of {len(columns)} values, one per column", row=number))
            continue
        row = []
        for column, value in zip(columns, raw):
            kept, reason = _value(column, value)
            if reason is not None and len(problems) < MAX_PROBLEMS:
                problems.append(_problem(path, column.name, value, "type", f"{reason} (dataType {column.data_type})",
                                         row=number))
            row.append(kept)
        rows.append(row)
    if problems:
        raise InputError(problems[:MAX_PROBLEMS], summary=f"{path} is not a valid Dataset-JSON 1.1 dataset")
    metadata = {k: v for k, v in document.items() if k not in OWN_KEYS}
    return Dataset(name=document["name"], label=document["label"], columns=columns, rows=rows,
                   item_group_oid=document["itemGroupOID"], metadata=metadata)


def to_document(dataset: Dataset, created: datetime | None = None) -> dict[str, Any]:
    """The dataset as a Dataset-JSON 1.1 object (creation time now, in UTC, unless given)."""
    created = created or datetime.now(timezone.utc)
    document: dict[str, Any] = {
        "datasetJSONCreationDateTime": created.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "datasetJSONVersion": VERSION,
    }
    document.update(dataset.metadata)
    document.update({
        "itemGroupOID": dataset.item_group_oid or f"IG.{dataset.name}",
        "records": dataset.records,
        "name": dataset.name,
        "label": dataset.label,
        "columns": [dict(c.to_dict(), itemOID=c.item_oid or f"IT.{dataset.name}.{c.name}")
                    for c in dataset.columns],
        "rows": [[_json_value(v) for v in row] for row in dataset.rows],
    })
    return document


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # a missing number; JSON has no NaN
    return value


def write_dataset_json(dataset: Dataset, path: Path) -> None:
    """Write ``dataset`` as Dataset-JSON 1.1 (UTF-8, one line, as the standard's examples are)."""
    document = to_document(dataset)
    with path.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
