"""Turn named covariates into a numeric design matrix, the way R's ``model.matrix`` does.

A numeric column stays one column with its own name. A text, boolean or categorical column (or
one named in ``levels``) becomes treatment contrasts: the first level is the reference and every
other level gets a 0/1 column named ``<name><level>`` (``group`` with levels A, B, C gives
``groupB``, ``groupC``; an ECOG score 0-3 gives ``ecog1``, ``ecog2``, ``ecog3``), as R does for a
factor. Level order as R's ``factor``: explicit levels, else a pandas Categorical's order, else
numbers numerically, else text alphabetically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from earlyphase.errors import InputError
from earlyphase.stats.labels import encode_labels


@dataclass(frozen=True)
class DesignMatrix:
    """A numeric design matrix with R-style column names.

    ``matrix`` is float64 with shape (n, p); ``columns`` are the column names; ``terms`` maps each
    input covariate name to the indices of its columns (one for numeric, levels-1 for categorical);
    ``levels`` holds the sorted levels of each categorical term (the first is the reference).
    """

    matrix: np.ndarray
    columns: tuple[str, ...]
    terms: dict[str, tuple[int, ...]]
    levels: dict[str, tuple[str, ...]]


def _is_categorical(values: Any) -> bool:
    dtype = getattr(values, "dtype", None)
    if dtype is not None and str(dtype) == "category":
        return True
    arr = np.asarray(values)
    return arr.dtype.kind in "OUSb"


def _categorical_levels(name: str, values: Any, levels: Sequence[Any] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return (level codes, level labels) of a categorical column, levels ordered as R's ``factor``.

    Explicit ``levels`` first (the first is the reference), else a pandas Categorical's order, else
    numbers numerically, else text alphabetically (see :mod:`earlyphase.stats.labels`). Missing
    values are refused.
    """
    lv = encode_labels(values, len(values), f"covariates[{name!r}]", levels=levels)
    return lv.codes, tuple(lv.labels)


def build_design_matrix(
    covariates: Mapping[str, Any] | np.ndarray | Sequence[Sequence[float]],
    n: int,
    names: Sequence[str] | None = None,
    levels: Mapping[str, Sequence[Any]] | None = None,
) -> DesignMatrix:
    """Build the design matrix of ``covariates`` for ``n`` subjects.

    ``covariates`` is a mapping name -> 1-D array (numeric columns kept, text/boolean/categorical
    columns expanded to treatment contrasts), or a 2-D numeric array of shape (n, p) with
    ``names`` (default ``x1..xp``). Raises ``InputError`` naming the covariate for a wrong length,
    a non-finite number, or a categorical covariate with a single level. ``levels`` maps a covariate
    name to its levels in order (the first is the reference), as R's ``factor(x, levels = ...)``;
    a covariate named there is categorical even when it holds numbers.
    """
    wanted_levels = dict(levels or {})
    columns: list[np.ndarray] = []
    colnames: list[str] = []
    terms: dict[str, tuple[int, ...]] = {}
    levels: dict[str, tuple[str, ...]] = {}

    if isinstance(covariates, Mapping):
        items = list(covariates.items())
    else:
        arr = np.asarray(covariates)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise InputError.single(
                "covariates", f"array with shape {arr.shape}", "two_dimensional",
                "covariates must be a mapping name -> values or a 2-D array (subjects x covariates).",
            )
        if names is None:
            names = [f"x{i + 1}" for i in range(arr.shape[1])]
        if len(names) != arr.shape[1]:
            raise InputError.single(
                "names", list(names), "one_name_per_column",
                f"{len(names)} name(s) given for {arr.shape[1]} covariate column(s).",
            )
        items = [(str(nm), arr[:, i]) for i, nm in enumerate(names)]

    if not items:
        raise InputError.single("covariates", "{}", "not_empty", "at least one covariate is needed.")
    unknown = sorted(set(wanted_levels) - {str(k) for k, _ in items})
    if unknown:
        raise InputError.single("levels", unknown[0], "a covariate", f"levels are given for {unknown[0]!r}, which is not a covariate.")

    for name, values in items:
        length = len(values)
        if length != n:
            raise InputError.single(
                f"covariates[{name!r}]", f"length {length}", "same_length",
                f"covariate {name!r} has {length} values but time has {n}; every column needs one value per subject.",
            )
        if _is_categorical(values) or name in wanted_levels:
            codes, labels = _categorical_levels(name, values, wanted_levels.get(name))
            if len(labels) < 2:
                raise InputError.single(
                    f"covariates[{name!r}]", labels[0] if labels else None, "at_least_two_levels",
                    f"categorical covariate {name!r} has a single level; it carries no contrast, drop it.",
                )
            start = len(colnames)
            for k in range(1, len(labels)):
                columns.append((codes == k).astype(np.float64))
                colnames.append(f"{name}{labels[k]}")
            terms[name] = tuple(range(start, len(colnames)))
            levels[name] = labels
        else:
            col = np.asarray(values, dtype=np.float64).reshape(-1)
            bad = ~np.isfinite(col)
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise InputError.single(
                    f"covariates[{name!r}]", float(col[first]), "finite",
                    f"covariate {name!r} has {int(bad.sum())} missing or infinite value(s) (first at "
                    f"row {first + 1}); remove those rows, fill them in, or use na_action='omit' "
                    f"(CLI: --na-action omit) to leave them out as R does.", row=first + 1,
                )
            terms[name] = (len(colnames),)
            columns.append(col)
            colnames.append(name)

    if len(set(colnames)) != len(colnames):
        dup = sorted({c for c in colnames if colnames.count(c) > 1})
        raise InputError.single(
            "covariates", dup, "unique_column_names",
            f"expanded covariate names collide ({', '.join(dup)}); rename a covariate.",
        )
    matrix = np.column_stack(columns) if columns else np.empty((n, 0))
    return DesignMatrix(matrix=np.ascontiguousarray(matrix, dtype=np.float64),
                        columns=tuple(colnames), terms=terms, levels=levels)
