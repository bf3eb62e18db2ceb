"""The in-memory dataset both file formats are read into and written from.

Values are held as Dataset-JSON 1.1 holds them, so a JSON file round-trips untouched and an XPT file is
converted once, at its own door:

- ``string`` (and character ``date``/``datetime``/``time``, e.g. SDTM ``--DTC``): ``str``, blank is ``""``;
- ``integer``: ``int`` or ``None``; ``float``/``double``: ``float`` or ``None``; ``decimal``: ``str`` or ``None``
  (Dataset-JSON keeps decimals as text so no digit is lost); ``boolean``: ``bool`` or ``None``;
- numeric dates and times (``targetDataType`` ``integer``, SAS numbers with a date format): ISO 8601 text
  (``2014-01-02``, ``2014-01-02T08:30:00``, ``08:30:00``) or ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DATA_TYPES = ("string", "integer", "decimal", "float", "double", "boolean", "datetime", "date", "time", "URI")
TARGET_DATA_TYPES = ("integer", "decimal")
NUMERIC_TYPES = ("integer", "decimal", "float", "double", "boolean")
DATE_TYPES = ("date", "datetime", "time")


@dataclass(frozen=True)
class Column:
    """One variable: name, label, type (Dataset-JSON ``dataType``), character length, display format."""

    name: str
    label: str
    data_type: str
    length: int | None = None
    item_oid: str | None = None
    target_data_type: str | None = None
    display_format: str | None = None
    key_sequence: int | None = None

    @property
    def is_numeric(self) -> bool:
        """Stored as a number in XPT (a SAS numeric variable) rather than as characters."""
        return self.data_type in NUMERIC_TYPES or self.target_data_type is not None

    def to_dict(self) -> dict[str, Any]:
        """The column as Dataset-JSON writes it (only the keys that are set)."""
        out: dict[str, Any] = {"itemOID": self.item_oid, "name": self.name, "label": self.label,
                               "dataType": self.data_type}
        if self.target_data_type is not None:
            out["targetDataType"] = self.target_data_type
        if self.length is not None:
            out["length"] = self.length
        if self.display_format is not None:
            out["displayFormat"] = self.display_format
        if self.key_sequence is not None:
            out["keySequence"] = self.key_sequence
        return out


@dataclass
class Dataset:
    """A CDISC dataset: name (e.g. ``ADSL``), label, columns, rows (lists in column order), file metadata."""

    name: str
    label: str
    columns: list[Column]
    rows: list[list[Any]]
    item_group_oid: str | None = None
    # Dataset-JSON's file-level keys besides the ones above (studyOID, originator, sourceSystem, ...), kept
    # so a JSON file written back out carries them.
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def values(self, name: str) -> list[Any]:
        """All values of one column, in row order."""
        index = [c.name for c in self.columns].index(name)
        return [row[index] for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """A summary for ``--format json``: name, label, records and the variables (no data values)."""
        return {
            "name": self.name,
            "label": self.label,
            "records": self.records,
            "variables": [
                {"name": c.name, "label": c.label, "type": c.data_type, "target_type": c.target_data_type,
                 "length": c.length, "display_format": c.display_format, "numeric": c.is_numeric}
                for c in self.columns
            ],
        }

    def summary(self) -> str:
        lines = [f"{self.name}: {self.label} ({self.records} records, {len(self.columns)} variables)"]
        width = max((len(c.name) for c in self.columns), default=4)
        for c in self.columns:
            kind = c.data_type + (f"->{c.target_data_type}" if c.target_data_type else "")
            length = "" if c.length is None else str(c.length)
            fmt = c.display_format or ""
            lines.append(f"  {c.name:<{width}}  {kind:<16} {length:>4}  {fmt:<10} {c.label}")
        return "\n".join(lines)
