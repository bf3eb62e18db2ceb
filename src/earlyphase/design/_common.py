"""Pieces every design shares: decision codes, the decision result, input checks.

Levels are 1-based at the public surface (as clinicians count: level 1 is the lowest
dose) and 0-based inside the array code. Counts are numbers of patients and numbers of
patients with a dose-limiting toxicity (DLT) per level.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from earlyphase.errors import InputError, Problem
from earlyphase.limits import MAX_LEVELS, MAX_SAMPLE_SIZE

# Decision codes used inside the vectorised code.
ESCALATE = 1
STAY = 0
DEESCALATE = -1

DECISION_WORDS = {ESCALATE: "escalate", STAY: "stay", DEESCALATE: "de-escalate"}


@dataclass(frozen=True)
class Decision:
    """The next-dose decision after the data seen so far.

    ``decision`` is one of "escalate", "stay", "de-escalate", "stop" or "wait" (pending
    patients could still change the decision, so accrual waits). ``next_level`` and
    ``current_level`` are 1-based; ``next_level`` is None when the trial stops.
    ``eliminated`` lists the 1-based levels excluded for safety. ``mtd`` is the selected
    MTD (1-based) when the decision is "stop" and a level can be selected, else None.
    """

    design: str
    decision: str
    current_level: int
    next_level: int | None
    eliminated: tuple[int, ...]
    reason: str
    mtd: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "decision": self.decision,
            "next_level": self.next_level,
            "eliminated": list(self.eliminated),
            "reason": self.reason,
            "design": self.design,
            "current_level": self.current_level,
            "mtd": self.mtd,
        }
        out.update(self.details)
        return out

    def summary(self) -> str:
        lines = [f"Design: {self.design}", f"Current level: {self.current_level}"]
        if self.next_level is not None:
            nxt = str(self.next_level)
        else:
            nxt = "none (wait for pending patients)" if self.decision == "wait" else "none (trial stops)"
        lines.append(f"Decision: {self.decision}; next level: {nxt}")
        if self.eliminated:
            lines.append("Eliminated levels: " + ", ".join(map(str, self.eliminated)))
        if self.decision == "stop":
            lines.append("Selected MTD: " + ("none" if self.mtd is None else str(self.mtd)))
        lines.append(f"Reason: {self.reason}")
        for key, value in self.details.items():
            if isinstance(value, (list, tuple)):
                value = " ".join("NA" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v)) for v in value)
            lines.append(f"{key}: {value}")
        return "\n".join(lines)

    def to_frame(self):
        """One row: the decision and its reason."""
        import pandas as pd

        d = self.to_dict()
        d["eliminated"] = ",".join(map(str, self.eliminated))
        return pd.DataFrame([{k: v for k, v in d.items() if not isinstance(v, (list, dict))}])

    def __str__(self) -> str:
        return self.summary()


def check_probability(name: str, value: float, *, open_interval: bool = True) -> float:
    """Return ``value`` as float if it lies in (0, 1); raise InputError naming ``name`` otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError.single(name, value, "probability", f"{name} must be a number between 0 and 1.") from None
    ok = 0.0 < v < 1.0 if open_interval else 0.0 <= v <= 1.0
    if not ok or not np.isfinite(v):
        raise InputError.single(name, value, "probability", f"{name} must lie strictly between 0 and 1.")
    return v


def api_door(fn):
    """The design package's public functions end in our errors, whatever a caller passes them.

    Each entry point checks its arguments and names the one at fault; this is the last line behind those
    checks (the Python API's counterpart of the CLI's single error path): a ``TypeError``, ``ValueError``
    or ``OverflowError`` that still escapes (a string where a number belongs, an infinity turned into an
    int) becomes an ``InputError`` naming the function and what Python objected to. The original stays
    chained (``__cause__``) for whoever debugs it.
    """

    @functools.wraps(fn)
    def door(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError, OverflowError) as exc:
            name = getattr(fn, "__qualname__", "the call").replace(".__post_init__", "")
            raise InputError.single("arguments", f"{type(exc).__name__}: {exc}"[:200], "argument-types",
                                    f"{name}: an argument has the wrong type or an impossible value ({exc}); "
                                    f"see help({name.split('.')[0]}) for what each takes.") from exc

    return door


def whole(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int if it is a whole number in ``low..high``; raise InputError naming ``name`` otherwise.

    The Python API holds the same bounds as the CLI (``earlyphase.limits``), so a call with ``trials=1e12``
    or a NaN count gets a message naming the limit, not a run that never ends or a numpy traceback.
    """
    ok = not isinstance(value, (bool, np.bool_))
    try:
        f = float(value) if ok else 0.0
        ok = ok and math.isfinite(f) and f == int(f) and low <= int(f) <= high
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError.single(name, value, f"whole number {low}..{high}", f"{name} must be a whole number from {low} to {high}.")
    return int(f)


def check_counts(n: Sequence[int], y: Sequence[int], current: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate per-level patient and DLT counts; return them as int64 arrays.

    Rules: same length, at least one level, whole numbers, 0 <= dlt <= patients,
    and (if given) 1 <= current <= number of levels.
    """
    problems: list[Problem] = []
    n_arr = _as_int_array("n", n, problems)
    y_arr = _as_int_array("dlt", y, problems)
    if problems:
        raise InputError(problems)
    if n_arr.size == 0:
        raise InputError.single("n", list(n), "non-empty", "Give the number of patients for at least one level.")
    if n_arr.size > MAX_LEVELS:
        raise InputError.single("n", f"{n_arr.size} levels", f"at most {MAX_LEVELS} levels", f"A design has at most {MAX_LEVELS} dose levels.")
    if n_arr.size != y_arr.size:
        raise InputError.single(
            "dlt", list(y), "same-length", f"n has {n_arr.size} levels but dlt has {y_arr.size}; give one value per level."
        )
    for i, (ni, yi) in enumerate(zip(n_arr, y_arr), start=1):
        if ni < 0:
            problems.append(Problem(f"n[{i}]", int(ni), "non-negative", "A number of patients cannot be negative."))
        if yi < 0 or yi > ni:
            problems.append(
                Problem(f"dlt[{i}]", int(yi), "0<=dlt<=n", f"Level {i} has {ni} patients, so its DLT count must be 0..{ni}.")
            )
    if current is not None and not (1 <= int(current) <= n_arr.size):
        problems.append(
            Problem("current", current, "valid-level", f"The current level must be between 1 and {n_arr.size} (levels count from 1).")
        )
    if problems:
        raise InputError(problems)
    return n_arr, y_arr


def _as_int_array(name: str, values: Sequence[Any], problems: list[Problem]) -> np.ndarray:
    out = []
    for i, v in enumerate(values, start=1):
        try:
            f = float(v)
        except (TypeError, ValueError):
            problems.append(Problem(f"{name}[{i}]", v, "integer", f"{name} values must be whole numbers."))
            continue
        if not np.isfinite(f) or f != int(f):
            problems.append(Problem(f"{name}[{i}]", v, "integer", f"{name} values must be whole numbers."))
            continue
        if abs(f) > MAX_SAMPLE_SIZE:
            problems.append(Problem(f"{name}[{i}]", v, f"at most {MAX_SAMPLE_SIZE}",
                                    f"{name} values are numbers of patients, at most {MAX_SAMPLE_SIZE} per level."))
            continue
        out.append(int(f))
    return np.asarray(out, dtype=np.int64)


def check_pending(pending: Sequence[Sequence[float]] | None, n: np.ndarray, y: np.ndarray) -> list[list[float]] | None:
    """Validate pending patients: per level, the follow-up fraction (0 <= t/T < 1) of each
    patient still inside the DLT window without a DLT. They are included in ``n``."""
    if pending is None:
        return None
    if len(pending) != n.size:
        raise InputError.single("pending", pending, "same-length", "Give one list of pending patients per level.")
    out = []
    for i, lev in enumerate(pending, start=1):
        fr = [float(v) for v in lev]
        if any(not (0.0 <= f < 1.0) for f in fr):
            raise InputError.single(
                f"pending[{i}]", lev, "0<=fraction<1", "Follow-up fractions of pending patients must lie in [0, 1)."
            )
        if len(fr) > n[i - 1] - y[i - 1]:
            raise InputError.single(
                f"pending[{i}]", lev, "pending<=n-dlt",
                f"Level {i} has {n[i-1]} patients and {y[i-1]} DLTs, so at most {n[i-1]-y[i-1]} can be pending.",
            )
        out.append(fr)
    return out


def levels_1based(mask: np.ndarray) -> tuple[int, ...]:
    """1-based level numbers where ``mask`` is true."""
    return tuple(int(i) + 1 for i in np.flatnonzero(mask))


def row_keys(M: np.ndarray) -> np.ndarray | None:
    """One int64 per row of non-negative integer counts (mixed radix), or None if the
    rows are too wide for 63 bits."""
    base = int(M.max(initial=0)) + 1
    if M.shape[1] * math.log2(base) >= 62:
        return None
    weights = base ** np.arange(M.shape[1], dtype=np.int64)
    return M.astype(np.int64) @ weights
