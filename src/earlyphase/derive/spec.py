"""The metadata of every CDISC dataset derive builds, kept as data: ``specs/datasets.csv`` (one row per dataset:
standard, label, class, structure, keys) and ``specs/<dataset>.csv`` (one row per variable: name, label, type,
longest length, codelist, origin).

Types: ``text``; ``integer``; ``float``; ``date`` / ``datetime`` (SAS numeric dates, as ADaM keeps them);
``isodate`` / ``isodatetime`` (ISO 8601 text, possibly partial, as SDTM's ``--DTC`` keeps them). The length of a
text variable is the longest value allowed; the files record the longest value present.

A study adds variables of its own: ADSL's baseline variables (each form field with an ``adam`` variable) and
the study-defined fields that go to SUPPQUAL; :func:`dataset_spec` adds those from the study file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from earlyphase.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.protocol import Study

TYPES = ("text", "integer", "float", "date", "datetime", "isodate", "isodatetime")
ORIGINS = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor")
# A form field's type -> the variable type it becomes (choice and yes/no codes are text).
FIELD_TYPES = {"integer": "integer", "decimal": "float", "date": "date", "partial_date": "isodate"}
TEXT_MAX = 200  # SAS XPORT v5's longest character variable


@dataclass(frozen=True)
class VariableSpec:
    """One variable: name (<= 8), label (<= 40), type (see TYPES), longest text length, codelist, origin."""

    name: str
    label: str
    type: str
    length: int | None = None
    codelist: str | None = None
    origin: str = "Derived"

    @property
    def is_text(self) -> bool:
        return self.type in ("text", "isodate", "isodatetime")


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: name, standard (SDTM or ADaM), label, class, structure, key variables, variables in order."""

    name: str
    standard: str
    label: str
    dataset_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[VariableSpec, ...]

    def variable(self, name: str) -> VariableSpec:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)

    def names(self) -> list[str]:
        return [v.name for v in self.variables]


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("earlyphase.derive").joinpath("specs", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _variable(dataset: str, row: dict[str, str]) -> VariableSpec:
    where = f"derive/specs/{dataset.lower()}.csv variable {row.get('variable')}"
    if row["type"] not in TYPES:
        raise ConfigurationError(f"{where}: type {row['type']!r} is not one of {', '.join(TYPES)}")
    if row["origin"] not in ORIGINS:
        raise ConfigurationError(f"{where}: origin {row['origin']!r} is not one of {', '.join(ORIGINS)}")
    return VariableSpec(row["variable"], row["label"], row["type"], int(row["length"]) if row["length"] else None,
                        row["codelist"] or None, row["origin"])


@lru_cache(maxsize=None)
def _base_spec(name: str) -> DatasetSpec:
    rows = {r["dataset"]: r for r in _read_csv("datasets.csv")}
    if name not in rows:
        raise ConfigurationError(f"no dataset {name} in derive/specs/datasets.csv; known: {', '.join(rows)}")
    row = rows[name]
    variables = tuple(_variable(name, r) for r in _read_csv(f"{name.lower()}.csv"))
    return DatasetSpec(name, row["standard"], row["label"], row["class"], row["structure"], tuple(row["keys"].split()),
                       variables)


def dataset_names(standard: str | None = None) -> list[str]:
    """Every dataset with a spec, in datasets.csv order (only SDTM or ADaM when ``standard`` is given)."""
    return [r["dataset"] for r in _read_csv("datasets.csv") if standard is None or r["standard"] == standard]


def field_variable_type(field_type: str) -> str:
    """The variable type a study form field's values take."""
    return FIELD_TYPES.get(field_type, "text")


def dataset_spec(name: str, study: "Study | None" = None) -> DatasetSpec:
    """The spec of dataset ``name`` (e.g. ``ADSL``), with the study's own ADSL variables when ``study`` is given
    (placed after ECOGBL, where derive_adsl puts them)."""
    spec = _base_spec(name)
    if name != "ADSL" or study is None:
        return spec
    extra = tuple(VariableSpec(f.adam.variable, f.adam.label, field_variable_type(f.type),
                               TEXT_MAX if field_variable_type(f.type) == "text" else None,
                               f.codelist.upper() if f.codelist else None, "Collected")
                  for _, f in study.adam_fields())
    names = spec.names()
    at = names.index("ECOGBL") + 1
    return replace(spec, variables=spec.variables[:at] + extra + spec.variables[at:])


def study_day_variable(source: VariableSpec, name: str) -> VariableSpec:
    """The study-day variable that replaces a date in a de-identified dataset (``TRTSDT`` -> ``TRTSDY``)."""
    label = f"Study Day of {source.label}"
    if len(label) > 40:
        label = f"Study Day of {source.name}"
    return VariableSpec(name, label, "integer", None, None, "Derived")
