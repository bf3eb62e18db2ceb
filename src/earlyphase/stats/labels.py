"""Group, stratum and factor labels: their text and their order, following R's factors.

* The text of a label is the value as it appears in the data: whole-number floats print without
  ".0" (1.0 -> "1", as R's ``as.character``), other numbers with up to 15 significant digits,
  booleans as ``TRUE``/``FALSE``.
* The order of the levels (which decides the reference level and the default trend scores):
  1. ``levels=`` when given (the first is the reference);
  2. a pandas Categorical keeps its category order (unused categories are dropped);
  3. numbers, and text that all reads as numbers ("1", "2", "10"), sort numerically;
  4. any other text sorts as text.
  Only 1, 2 (ordered Categorical) and 3 are an *order* a trend test may use; unordered text is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError

__all__ = ["format_label", "Levels", "encode_labels", "is_missing_value"]

# How the level order was decided.
EXPLICIT, CATEGORICAL_ORDERED, CATEGORICAL, NUMERIC, TEXT = "explicit", "ordered categorical", "categorical", "numeric", "text"
ORDERED_KINDS = (EXPLICIT, CATEGORICAL_ORDERED, NUMERIC)


def format_label(value: Any) -> str:
    """The text of one label as R would print it (1.0 -> "1", 2.5 -> "2.5", True -> "TRUE")."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    return str(value)


def is_missing_value(v: Any) -> bool:
    """None, NaN, pandas NA or NaT (without importing pandas)."""
    if v is None:
        return True
    if isinstance(v, float):
        return v != v
    name = type(v).__name__
    return name in ("NAType", "NaTType") or (isinstance(v, np.floating) and bool(np.isnan(v)))


@dataclass(frozen=True)
class Levels:
    """Codes 0..k-1 per row, the level labels in order, and how that order was decided (``kind``)."""

    codes: np.ndarray
    labels: list[str]
    kind: str

    @property
    def ordered(self) -> bool:
        """Whether the order means something (explicit, ordered categorical or numeric), as a trend test needs."""
        return self.kind in ORDERED_KINDS


def _as_number(text: str) -> float | None:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _order_labels(labels: list[str], numeric_values: list[float] | None) -> list[int]:
    if numeric_values is not None:
        return sorted(range(len(labels)), key=lambda j: (numeric_values[j], labels[j]))
    return sorted(range(len(labels)), key=lambda j: labels[j])


def _missing_error(name: str, index: int, count: int) -> InputError:
    return InputError.single(
        name, None, "not missing",
        f"{name} is missing at row {index + 1} ({count} missing in all); drop those rows or use "
        f"na_action='omit' (CLI: --na-action omit) to leave them out as R does.", row=index + 1,
    )


def _categorical(values: Any) -> tuple[np.ndarray, list[Any], bool] | None:
    """(codes with -1 for missing, categories, ordered) of a pandas Categorical or categorical Series."""
    dtype = getattr(values, "dtype", None)
    if dtype is None or type(dtype).__name__ != "CategoricalDtype":
        return None
    cat = values.cat if hasattr(values, "cat") else values
    codes = np.asarray(cat.codes, dtype=np.int64)
    return codes, list(dtype.categories), bool(dtype.ordered)


def encode_labels(values: Any, n: int, name: str, levels: Sequence[Any] | None = None, copy: bool = True) -> Levels:
    """Encode labels as codes over their levels (see the module docstring for the order).

    Missing labels are refused (drop them first, see :mod:`earlyphase.stats.missing`). With ``levels``
    every value must be one of them; levels that do not occur are left out, except the first (the
    reference), which must occur. ``copy=False`` lets an int64 array already holding 0..k-1 through
    without a copy (large data).
    """
    from earlyphase.stats.validation import check_same_length

    cat = _categorical(values)
    if cat is not None:
        codes, categories, ordered = cat
        if codes.shape[0] != n:
            check_same_length(n, codes, name)
        if (codes < 0).any():
            miss = codes < 0
            raise _missing_error(name, int(np.flatnonzero(miss)[0]), int(miss.sum()))
        if levels is None:
            used = np.bincount(codes, minlength=len(categories)) > 0
            remap = np.cumsum(used) - 1
            labels = [format_label(c) for c, u in zip(categories, used) if u]
            return Levels(remap[codes].astype(np.int64), labels, CATEGORICAL_ORDERED if ordered else CATEGORICAL)
        values = np.asarray(categories, dtype=object)[codes]
    arr = check_same_length(n, values, name)
    if levels is not None:
        return _explicit(arr, name, levels)
    if arr.dtype.kind == "f":
        miss = np.isnan(arr)
        if miss.any():
            raise _missing_error(name, int(np.flatnonzero(miss)[0]), int(miss.sum()))
        if np.all(arr == np.floor(arr)) and arr.shape[0] and np.abs(arr).max() < 2**53:
            arr = arr.astype(np.int64)
        else:
            uniq, codes = np.unique(arr, return_inverse=True)
            return Levels(codes.astype(np.int64).ravel(), [format_label(u) for u in uniq.tolist()], NUMERIC)
    if arr.dtype.kind in "iub":
        if arr.dtype.kind == "b":
            codes = arr.astype(np.int64)
            present = sorted(set(np.unique(codes).tolist()))
            remap = np.zeros(2, dtype=np.int64)
            remap[present] = np.arange(len(present))
            return Levels(remap[codes], [("TRUE" if p else "FALSE") for p in present], NUMERIC)
        codes, uniq = _integer_codes(arr)
        return Levels(codes.astype(np.int64, copy=copy), [str(u) for u in uniq.tolist()], NUMERIC)
    if arr.dtype.kind == "O":
        miss = np.fromiter((is_missing_value(v) for v in arr), dtype=bool, count=arr.shape[0])
        if miss.any():
            raise _missing_error(name, int(np.flatnonzero(miss)[0]), int(miss.sum()))
        text = np.array([format_label(v) for v in arr], dtype=str) if arr.shape[0] else np.array([], dtype=str)
    else:
        text = arr.astype(str)
    uniq, codes = np.unique(text, return_inverse=True)
    labels = [str(u) for u in uniq]
    numbers = [_as_number(lab) for lab in labels]
    kind = TEXT
    if labels and all(x is not None for x in numbers):
        kind = NUMERIC
        order = _order_labels(labels, numbers)  # type: ignore[arg-type]
        if order != list(range(len(labels))):
            remap = np.empty(len(labels), dtype=np.int64)
            remap[np.array(order)] = np.arange(len(labels))
            codes = remap[codes]
            labels = [labels[j] for j in order]
    return Levels(codes.astype(np.int64).ravel(), labels, kind)


def _integer_codes(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 of integers in numeric order; counting instead of sorting for a small range."""
    lo, hi = (int(arr.min()), int(arr.max())) if arr.shape[0] else (0, 0)
    if hi - lo <= max(1024, 4 * arr.shape[0]):
        seen = np.bincount(arr - lo if lo else arr, minlength=hi - lo + 1) > 0
        uniq = np.flatnonzero(seen) + lo
        if lo == 0 and seen.all() and arr.dtype == np.int64:
            return arr, uniq  # already 0..k-1: no copy (large data)
        lookup = np.cumsum(seen) - 1
        return lookup[arr - lo if lo else arr], uniq
    uniq, codes = np.unique(arr, return_inverse=True)
    return codes.ravel(), uniq


def _explicit(arr: np.ndarray, name: str, levels: Sequence[Any]) -> Levels:
    wanted = [format_label(v) for v in levels]
    if not wanted:
        raise InputError.single(f"{name} levels", [], "at least one level", f"the levels of {name} must list at least one value.")
    dup = sorted({w for w in wanted if wanted.count(w) > 1})
    if dup:
        raise InputError.single(f"{name} levels", wanted, "no duplicates", f"the levels of {name} list {dup[0]!r} more than once.")
    if arr.dtype.kind == "O":
        miss = np.fromiter((is_missing_value(v) for v in arr), dtype=bool, count=arr.shape[0])
    elif arr.dtype.kind == "f":
        miss = np.isnan(arr)
    else:
        miss = np.zeros(arr.shape[0], dtype=bool)
    if miss.any():
        raise _missing_error(name, int(np.flatnonzero(miss)[0]), int(miss.sum()))
    if arr.dtype.kind == "O":  # mixed Python objects: compare their text
        arr = np.array([format_label(v) for v in arr], dtype=str)
    uniq, inverse = np.unique(arr, return_inverse=True)
    text = [format_label(u) for u in uniq.tolist()]
    position = {w: j for j, w in enumerate(wanted)}
    unknown = [t for t in text if t not in position]
    if unknown:
        row = int(np.flatnonzero(inverse.ravel() == text.index(unknown[0]))[0])
        raise InputError.single(
            name, unknown[0], "one of the levels",
            f"{name} has the value {unknown[0]!r} (row {row + 1}), which is not among the levels given "
            f"({', '.join(wanted)}); list every value that occurs.", row=row + 1,
        )
    present = sorted({position[t] for t in text})
    if present[0] != 0:
        raise InputError.single(
            f"{name} levels", wanted[0], "the reference occurs",
            f"the first level, {wanted[0]!r}, is the reference, but no row of {name} has it.",
        )
    new_index = {old: new for new, old in enumerate(present)}
    lookup = np.array([new_index[position[t]] for t in text], dtype=np.int64)
    return Levels(lookup[inverse.ravel()], [wanted[j] for j in present], EXPLICIT)
