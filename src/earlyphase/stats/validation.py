"""Input validation shared by every statistics function.

Each checker takes what a caller passed (lists, numpy arrays, pandas Series), returns clean numpy
arrays, and raises :class:`earlyphase.errors.InputError` naming the argument, the offending value
and the rule when something is wrong. All problems found in one call are reported together.

Public helpers:

* ``check_time_event(time, event, name_time="time", name_event="event") -> (float64, int8)``
* ``check_same_length(n, value, name)``
* ``check_entry(entry, time, name="entry") -> float64 or None``
* ``check_weights(weights, n, name="weights") -> int64 or None`` (integer case weights >= 0)
* ``check_labels(values, n, name, levels=None) -> (codes int64, levels list[str])`` for groups and strata

Row numbers in messages count from 1 (the first value is row 1).
* ``check_conf_level(level)``, ``check_choice(value, choices, name)``
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError, Problem
from earlyphase.stats.labels import encode_labels, format_label

__all__ = [
    "check_time_event",
    "check_same_length",
    "check_entry",
    "check_weights",
    "check_labels",
    "check_conf_level",
    "check_choice",
    "check_positive_finite",
]


def _first_bad(values: np.ndarray, mask: np.ndarray) -> tuple[int, Any]:
    idx = int(np.flatnonzero(mask)[0])
    v = values[idx]
    return idx, (v.item() if hasattr(v, "item") else v)


def _as_1d(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except Exception as exc:  # pragma: no cover - numpy accepts nearly anything
        raise InputError.single(name, repr(values)[:60], "array", f"{name} could not be read as an array: {exc}")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError.single(name, f"shape {arr.shape}", "one-dimensional", f"{name} must be a one-dimensional array.")
    return arr


def _as_float(values: Any, name: str) -> np.ndarray:
    arr = _as_1d(values, name)
    if arr.dtype == np.float64:
        return arr
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError.single(name, repr(arr[:3].tolist()), "numeric", f"{name} must hold numbers.")


def check_time_event(
    time: Any,
    event: Any,
    name_time: str = "time",
    name_event: str = "event",
    allow_empty: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate follow-up times and event indicators.

    Returns ``(time as float64, event as int8 with values 0/1)``. Times must be finite and >= 0;
    events must be 0/1 (booleans accepted); both must have the same length and, unless
    ``allow_empty``, at least one element.
    """
    problems: list[Problem] = []
    t = _as_float(time, name_time)
    e_raw = _as_1d(event, name_event)
    if t.shape[0] != e_raw.shape[0]:
        raise InputError.single(
            name_event, f"length {e_raw.shape[0]}", "same length",
            f"{name_event} has {e_raw.shape[0]} values but {name_time} has {t.shape[0]}; they must match.",
        )
    if t.shape[0] == 0 and not allow_empty:
        raise InputError.single(name_time, "[]", "non-empty", f"{name_time} is empty; at least one subject is needed.")
    # Fast path first (large data): one pass tells whether every time is finite and >= 0.
    # min/max propagate NaN, so NaN, negative and infinite times all fail this check.
    if t.shape[0] and not (t.min() >= 0 and t.max() < np.inf):
        bad = ~np.isfinite(t)
        if bad.any():
            i, v = _first_bad(t, bad)
            problems.append(Problem(name_time, v, "finite", f"{name_time} must be a finite number (NaN/inf at row {i + 1}, {int(bad.sum())} in all); "
                                             "na_action='omit' (CLI: --na-action omit) leaves rows with a missing value out, as R does.", row=i + 1))
        neg = t < 0
        if neg.any():
            i, v = _first_bad(t, neg)
            problems.append(Problem(name_time, v, ">= 0", f"{name_time} must not be negative (row {i + 1}, {int(neg.sum())} in all).", row=i + 1))
    if e_raw.dtype == np.bool_:
        e = e_raw.view(np.int8)
    elif e_raw.dtype.kind in "iu":
        if e_raw.shape[0] and (e_raw.min() < 0 or e_raw.max() > 1):
            badev = (e_raw != 0) & (e_raw != 1)
            i, v = _first_bad(e_raw, badev)
            problems.append(Problem(name_event, v, "0/1", f"{name_event} must be 0 (censored) or 1 (event); row {i + 1} is not.", row=i + 1))
            e = np.zeros(e_raw.shape[0], dtype=np.int8)
        else:
            e = e_raw.astype(np.int8, copy=False)
    else:
        try:
            ef = e_raw.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError.single(name_event, repr(e_raw[:3].tolist()), "0/1", f"{name_event} must be 0 (censored) or 1 (event).")
        badev = ~((ef == 0) | (ef == 1))
        if badev.any():
            i, v = _first_bad(ef, badev)
            problems.append(Problem(name_event, v, "0/1", f"{name_event} must be 0 (censored) or 1 (event); row {i + 1} is not.", row=i + 1))
            e = np.zeros(ef.shape[0], dtype=np.int8)
        else:
            e = ef.astype(np.int8)
    if problems:
        raise InputError(problems)
    return t, e


def check_same_length(n: int, value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a 1-d array, raising if its length is not ``n``."""
    arr = _as_1d(value, name)
    if arr.shape[0] != n:
        raise InputError.single(name, f"length {arr.shape[0]}", "same length", f"{name} has {arr.shape[0]} values but there are {n} subjects.")
    return arr


def check_entry(entry: Any, time: np.ndarray, name: str = "entry") -> np.ndarray | None:
    """Validate delayed-entry (left-truncation) times: finite, >= 0 and strictly below the exit time."""
    if entry is None:
        return None
    arr = check_same_length(time.shape[0], entry, name)
    x = _as_float(arr, name)
    if not np.isfinite(x).all():
        i, v = _first_bad(x, ~np.isfinite(x))
        raise InputError.single(name, v, "finite", f"{name} must be a finite number (row {i + 1}).", row=i + 1)
    if (x < 0).any():
        i, v = _first_bad(x, x < 0)
        raise InputError.single(name, v, ">= 0", f"{name} must not be negative (row {i + 1}).", row=i + 1)
    late = x >= time
    if late.any():
        i, v = _first_bad(x, late)
        raise InputError.single(name, v, f"< time", f"{name} must be before the exit time ({format_label(time[i])}) at row {i + 1}; a subject enters before it leaves "
                                 "(na_action='omit' leaves such rows out, as R does).", row=i + 1)
    return x


def check_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray | None:
    """Validate integer case weights (frequency weights): whole numbers >= 0. Returns int64 or None."""
    if weights is None:
        return None
    arr = check_same_length(n, weights, name)
    w = _as_float(arr, name)
    bad = ~np.isfinite(w) | (w < 0) | (w != np.floor(w))
    if bad.any():
        i, v = _first_bad(w, bad)
        raise InputError.single(name, v, "whole number >= 0", f"{name} are case counts and must be whole numbers >= 0 (row {i + 1}).", row=i + 1)
    return w.astype(np.int64)


def check_labels(values: Any, n: int, name: str, copy: bool = True, levels: Sequence[Any] | None = None) -> tuple[np.ndarray, list[str]]:
    """Encode group or stratum labels as codes 0..k-1 over their levels, as R's ``factor``.

    Level order: ``levels`` when given, else a pandas Categorical's categories, else numbers (and
    text that all reads as numbers) numerically, else text alphabetically; see
    :mod:`earlyphase.stats.labels`. Missing labels are rejected. With ``copy=False`` an int64 array
    that already holds codes 0..k-1 is returned as is (no copy at 10^7 rows); the caller must then
    not modify it.
    """
    lv = encode_labels(values, n, name, levels=levels, copy=copy)
    return lv.codes, lv.labels


def check_conf_level(level: float, name: str = "conf_level") -> float:
    """Confidence level strictly between 0 and 1."""
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise InputError.single(name, level, "0 < level < 1", f"{name} must be a number between 0 and 1.")
    if not (0.0 < lv < 1.0):
        raise InputError.single(name, level, "0 < level < 1", f"{name} must be strictly between 0 and 1 (e.g. 0.95).")
    return lv


def check_choice(value: str, choices: Sequence[str], name: str) -> str:
    """``value`` must be one of ``choices`` (case-insensitive; '_' and '-' are the same)."""
    v = str(value).lower().replace("_", "-")
    norm = {c.lower().replace("_", "-"): c for c in choices}
    if v not in norm:
        raise InputError.single(name, value, "one of " + ", ".join(choices), f"{name} must be one of: {', '.join(choices)}.")
    return norm[v]


def check_positive_finite(value: Any, name: str, allow_zero: bool = False) -> float:
    """A single finite number > 0 (or >= 0 with ``allow_zero``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError.single(name, value, "number", f"{name} must be a number.")
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError.single(name, value, ">= 0" if allow_zero else "> 0", f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}.")
    return v
