"""Which rows are analysed and how their event is read: R's conventions, in one place.

* **Missing values** (``na_action``): ``"fail"`` refuses a missing value in any column the analysis
  uses, naming the first row; ``"omit"`` leaves out every row with one, as R's default
  ``na.omit`` does, and the result says how many (R prints "n observations deleted due to
  missingness"). A row whose delayed-entry time is not before its exit time is left out too under
  ``"omit"`` (R's ``Surv(entry, exit)`` makes it missing). Missing means None, NaN, pandas NA/NaT.
* **Event coding** (``event_value``): by default events are 0 (censored) / 1 (event), or booleans,
  or 1 / 2 with 2 the event (R's ``Surv`` rule for a status whose largest value is 2). With
  ``event_value`` the rows equal to it are events and every other value is censored (``event_value=2``
  for R's ``pbc``, where 0 = censored, 1 = a competing event, 2 = death; text works too: ``"dead"``).
* **Tied times** (``timefix``): times closer than R's tolerance are made equal, as R's
  ``aeqSurv`` does by default in survfit, survdiff, coxph and concordance: the distinct times y
  (exits and entries) are sorted and neighbours merged when ``diff(y) <= tol`` or
  ``diff(y) / mean(abs(y)) <= tol``, with ``tol = sqrt(machine epsilon)`` = 1.49e-8; each time
  becomes the first of its run.
* **Row numbers** in every message count from 1 and refer to the input as given, before any row was
  left out.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from earlyphase.errors import InputError, Problem
from earlyphase.stats.labels import format_label, is_missing_value

__all__ = ["Cases", "prepare_cases", "apply_timefix", "NA_ACTIONS", "TIMEFIX_TOLERANCE"]

NA_ACTIONS = ("fail", "omit")
TIMEFIX_TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))


@dataclass(frozen=True)
class Cases:
    """The analysed rows: cleaned ``time``, ``event`` and other columns, rows left out and notes."""

    time: np.ndarray
    event: Any
    columns: dict[str, Any]
    n_omitted: int
    notes: tuple[str, ...]
    kept_rows: np.ndarray | None  # 0-based input rows of the kept rows; None when none was left out

    @contextmanager
    def input_rows(self) -> Iterator[None]:
        """Translate row numbers of errors raised inside into rows of the input as given."""
        try:
            yield
        except InputError as exc:
            if self.kept_rows is None:
                raise
            raise _renumber(exc, self.kept_rows) from None


def _renumber(exc: InputError, kept: np.ndarray) -> InputError:
    def fix(row: int | None) -> int | None:
        if row is None or not 1 <= row <= kept.shape[0]:
            return row
        return int(kept[row - 1]) + 1

    def fix_text(text: str) -> str:
        return re.sub(r"\brow (\d+)", lambda m: f"row {fix(int(m.group(1)))}", text)

    problems = [Problem(p.field, p.value, p.rule, fix_text(p.message), p.file, fix(p.row)) for p in exc.problems]
    new = type(exc).__new__(type(exc))
    InputError.__init__(new, problems, exc.summary)
    return new


def _numeric(values: Any) -> Any:
    """Float array with NaN for missing values, or the input unchanged when it does not read as numbers."""
    if values is None:
        return None
    if hasattr(values, "to_numpy") and not _is_categorical(values):
        try:
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            return values
    arr = np.asarray(values)
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64, copy=False) if arr.dtype.kind != "f" else arr
    if arr.dtype.kind == "O":
        try:
            return np.array([np.nan if is_missing_value(v) else float(v) for v in arr.ravel()], dtype=np.float64).reshape(arr.shape)
        except (TypeError, ValueError):
            return values
    return values


def _is_categorical(values: Any) -> bool:
    dtype = getattr(values, "dtype", None)
    return dtype is not None and type(dtype).__name__ == "CategoricalDtype"


def _missing(values: Any) -> np.ndarray | None:
    """Boolean mask of missing values (rows of a 2-D array: any missing), or None when it cannot tell."""
    if values is None:
        return None
    if _is_categorical(values):
        cat = values.cat if hasattr(values, "cat") else values
        return np.asarray(cat.codes) < 0
    if hasattr(values, "isna"):
        return np.asarray(values.isna())
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        miss = np.isnan(arr)
        return miss.any(axis=1) if miss.ndim == 2 else miss
    if arr.dtype.kind == "O":
        flat = np.fromiter((is_missing_value(v) for v in arr.ravel()), dtype=bool, count=arr.size).reshape(arr.shape)
        return flat.any(axis=1) if flat.ndim == 2 else flat
    return np.zeros(arr.shape[0] if arr.ndim else 1, dtype=bool)


def _subset(values: Any, keep: np.ndarray) -> Any:
    if values is None:
        return None
    if _is_categorical(values) or hasattr(values, "iloc"):
        out = values[keep]
        return out.reset_index(drop=True) if hasattr(out, "reset_index") else out
    return np.asarray(values)[keep]


def code_events(event: Any, event_value: Any = None, name: str = "event") -> tuple[Any, str | None]:
    """Events as 0/1 (NaN stays missing), and a note when a coding other than 0/1 was read.

    Without ``event_value``: 0/1 and booleans pass; a status of only 1 and 2 becomes 0/1 (2 = event,
    R's ``Surv`` rule); anything else is refused with a message that says how to fix it.
    """
    if event_value is not None:
        arr = np.asarray(event.to_numpy() if hasattr(event, "to_numpy") else event)
        if arr.dtype.kind not in "fiub":
            arr = arr.astype(object)
        if arr.dtype.kind in "fiub":
            try:
                target = float(event_value)
            except (TypeError, ValueError):
                raise InputError.single(name, event_value, "a value of the event column",
                                        f"event_value {event_value!r} is not a number, but {name} holds numbers.") from None
            values = arr.astype(np.float64)
            miss = np.isnan(values)
            hit = values == target
        else:
            target_text = format_label(event_value)
            miss = np.fromiter((is_missing_value(v) for v in arr), dtype=bool, count=arr.shape[0])
            hit = np.fromiter((not m and format_label(v) == target_text for v, m in zip(arr, miss)), dtype=bool, count=arr.shape[0])
        if arr.shape[0] and not hit.any():
            seen = sorted({format_label(v) for v, m in zip(arr.tolist(), miss) if not m})[:10]
            raise InputError.single(
                name, event_value, "occurs in the event column",
                f"no row of {name} equals the event value {format_label(event_value)!r} (values seen: {', '.join(seen)}).",
            )
        out = hit.astype(np.float64)
        out[miss] = np.nan
        return out, f"events: {name} = {format_label(event_value)}; every other value is censored"
    if isinstance(event, np.ndarray) and event.dtype.kind in "iubf" and event.ndim == 1:
        # fast path (large data): 0/1 passes through untouched, without a converted copy
        if event.dtype.kind == "b" or event.shape[0] == 0:
            return event, None
        with np.errstate(invalid="ignore"):
            lo, hi = (np.nanmin(event), np.nanmax(event)) if event.dtype.kind == "f" else (event.min(), event.max())
        if lo >= 0 and hi <= 1:
            return event, None
    arr = _numeric(event)
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiub":
        return event, None  # text: the validator explains
    if arr.dtype.kind == "b" or arr.shape[0] == 0:
        return arr, None
    finite = arr[~np.isnan(arr)] if arr.dtype.kind == "f" else arr
    if finite.shape[0] == 0:
        return arr, None
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0 and hi <= 1:
        return arr, None
    if lo >= 1 and hi == 2 and np.all((finite == 1) | (finite == 2)):
        return arr - 1.0, f"events: {name} coded 1/2 read as R's Surv does (1 = censored, 2 = event)"
    values = sorted({format_label(v) for v in np.unique(finite)[:10].tolist()})
    bad = (finite != 0) & (finite != 1)
    first = int(np.flatnonzero(~np.isnan(arr))[int(np.flatnonzero(bad)[0])]) if arr.dtype.kind == "f" else int(np.flatnonzero(bad)[0])
    raise InputError.single(
        name, format_label(finite[bad][0]), "0/1",
        f"{name} must be 0 (censored) or 1 (event), or 1/2 as R's Surv reads it; it holds {', '.join(values)} "
        f"(row {first + 1}). Say which value is the event with event_value= (CLI: --event-value), e.g. 2 for a "
        f"0/1/2 status where 2 = death; for ADaM's CNSR (0 = event) use the CLI's --censor CNSR.", row=first + 1,
    )


def apply_timefix(time: np.ndarray, entry: np.ndarray | None = None, tolerance: float = TIMEFIX_TOLERANCE):
    """R's ``aeqSurv``: merge times closer than ``tolerance`` (absolute or relative to the mean time).

    Returns ``(time, entry, n_changed)``; the arrays are the inputs themselves when nothing changes.
    """
    t = np.asarray(time, dtype=np.float64)
    values = t if entry is None else np.concatenate([t, np.asarray(entry, dtype=np.float64)])
    finite = values[np.isfinite(values)]
    if finite.shape[0] < 2:
        return time, entry, 0
    big = float(np.abs(finite).max())
    # Whole numbers below 1/tol apart by >= 1 can never be merged: skip the sort (the common case).
    if big < 0.5 / tolerance and np.array_equal(finite, np.floor(finite)):
        return time, entry, 0
    y = np.unique(finite)
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return time, entry, 0
    cuts = y[np.concatenate([[True], ~tied])]

    def snap(x: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(cuts, x, side="right") - 1
        out = cuts[np.clip(idx, 0, None)]
        return np.where(np.isfinite(x), out, x)

    new_t = snap(t)
    new_e = None
    if entry is not None:
        e = np.asarray(entry, dtype=np.float64)
        new_e = snap(e)
        collapsed = (new_e >= new_t) & (e < t)
        if collapsed.any():
            i = int(np.flatnonzero(collapsed)[0])
            raise InputError.single(
                "entry", format_label(e[i]), "interval longer than the tolerance",
                f"at row {i + 1} entry and exit ({format_label(e[i])}, {format_label(t[i])}) differ by less than the "
                f"timefix tolerance ({tolerance:.3g}); R stops here too (aeqSurv). Fix the times or use timefix=False.",
                row=i + 1,
            )
    changed = int(np.count_nonzero(new_t != t)) + (0 if new_e is None else int(np.count_nonzero(new_e != np.asarray(entry, dtype=np.float64))))
    return new_t, new_e, changed


def prepare_cases(
    time: Any,
    event: Any,
    columns: Mapping[str, Any] | None = None,
    *,
    event_value: Any = None,
    na_action: str = "fail",
    timefix: bool = False,
    name_time: str = "time",
    name_event: str = "event",
) -> Cases:
    """Apply the conventions of this module: event coding, missing values, timefix.

    ``columns`` maps names to the other per-row inputs (group, strata, entry, weights, a covariate
    mapping under its own key, ...; None is skipped). ``entry`` (if present) takes part in the
    missing rule (entry >= exit) and in timefix. Returns a :class:`Cases`.
    """
    from earlyphase.stats.validation import check_choice

    na_action = check_choice(na_action, NA_ACTIONS, "na_action")
    cols = {k: v for k, v in dict(columns or {}).items()}
    t = _numeric(time)
    e, note = code_events(event, event_value, name_event)
    notes: list[str] = [note] if note else []
    n_omitted = 0
    kept = None
    if na_action == "omit":
        n = len(t) if hasattr(t, "__len__") else 1
        miss = np.zeros(n, dtype=bool)
        reasons: list[tuple[str, np.ndarray]] = []
        for label, values in [(name_time, t), (name_event, e)] + list(cols.items()):
            if values is None:
                continue
            if isinstance(values, Mapping):  # covariates
                parts = [m for m in (_missing(v) for v in values.values()) if m is not None]
                m = np.any(parts, axis=0) if parts else None
            else:
                m = _missing(values) if label not in ("entry", "weights") else _missing(_numeric(values))
            if m is not None and m.shape[0] == n:
                miss |= m
        entry = cols.get("entry")
        if entry is not None and isinstance(t, np.ndarray) and t.dtype.kind == "f":
            x = _numeric(entry)
            if isinstance(x, np.ndarray) and x.shape == t.shape:
                with np.errstate(invalid="ignore"):
                    miss |= x >= t
        if miss.any():
            keep = ~miss
            kept = np.flatnonzero(keep)
            n_omitted = int(miss.sum())
            t = _subset(t, keep)
            e = _subset(e, keep)
            for k, v in list(cols.items()):
                if isinstance(v, Mapping):
                    cols[k] = {name: _subset(x, keep) for name, x in v.items()}
                else:
                    cols[k] = _subset(v, keep)
    if timefix and isinstance(t, np.ndarray) and t.dtype.kind == "f" and t.shape[0]:
        entry = cols.get("entry")
        x = _numeric(entry) if entry is not None else None
        if x is None or (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
            try:
                new_t, new_e, changed = apply_timefix(t, x)
            except InputError as exc:
                raise (_renumber(exc, kept) if kept is not None else exc) from None
            if changed:
                t = new_t
                if new_e is not None:
                    cols["entry"] = new_e
                notes.append(f"timefix: {changed} time(s) within {TIMEFIX_TOLERANCE:.3g} of a neighbour made equal, "
                             "as R's survival does (aeqSurv)")
    return Cases(time=t, event=e, columns=cols, n_omitted=n_omitted, notes=tuple(notes), kept_rows=kept)


def omitted_line(n_omitted: int) -> str | None:
    """R's wording for rows left out, or None."""
    if not n_omitted:
        return None
    return f"  ({n_omitted} observation{'s' if n_omitted != 1 else ''} deleted due to missingness)"
