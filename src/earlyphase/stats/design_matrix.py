"""Turn named covariates into a numeric design matrix, the way R's ``model.matrix`` does.

A numeric column stays one column with its own name. A text, boolean or categorical column
becomes treatment contrasts: the first level in sorted order is the reference and every other
level gets a 0/1 column named ``<name><level>`` (``group`` with levels A, B, C gives ``groupB``,
``groupC``), as R does for a factor built from a character vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from earlyphase.errors import InputError


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


def _categorical_levels(name: str, values: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return (level codes, sorted level labels) for a categorical column; missing values refused."""
    dtype = getattr(values, "dtype", None)
    if dtype is not None and str(dtype) == "category":
        values = np.asarray(values.astype(object))
    arr = np.asarray(values)
    if arr.dtype.kind == "b":
        arr = np.where(arr, "TRUE", "FALSE")
    if arr.dtype.kind == "O":
        # elementwise on object arrays: None == None, and NaN is the only value unequal to itself
        missing = np.equal(arr, None) | (arr != arr)
        if missing.any():
            first = int(np.flatnonzero(missing)[0])
            raise InputError.single(
                f"covariates[{name!r}]", None, "no_missing",
                f"covariate {name!r} has {int(missing.sum())} missing value(s) (first at position "
                f"{first}); remove those rows or fill them in before fitting.",
            )
        arr = arr.astype(str)
    if arr.dtype.kind == "U" and arr.dtype.itemsize in (4, 8):
        # one or two characters: as big-endian integers they sort exactly like the strings, and
        # integers sort several times faster than unicode
        as_int = np.ascontiguousarray(arr.astype(f">U{arr.dtype.itemsize // 4}")).view(f">u{arr.dtype.itemsize}")
        uniq, codes = np.unique(as_int, return_inverse=True)
        labels = uniq.astype(as_int.dtype).view(f">U{arr.dtype.itemsize // 4}")
        return codes.reshape(-1), tuple(str(x) for x in labels)
    labels, codes = np.unique(arr, return_inverse=True)
    return codes.reshape(-1), tuple(str(x) for x in labels)


def build_design_matrix(
    covariates: Mapping[str, Any] | np.ndarray | Sequence[Sequence[float]],
    n: int,
    names: Sequence[str] | None = None,
) -> DesignMatrix:
    """Build the design matrix of ``covariates`` for ``n`` subjects.

    ``covariates`` is a mapping name -> 1-D array (numeric columns kept, text/boolean/categorical
    columns expanded to treatment contrasts), or a 2-D numeric array of shape (n, p) with
    ``names`` (default ``x1..xp``). Raises ``InputError`` naming the covariate for a wrong length,
    a non-finite number, or a categorical covariate with a single level.
    """
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

    for name, values in items:
        length = len(values)
        if length != n:
            raise InputError.single(
                f"covariates[{name!r}]", f"length {length}", "same_length",
                f"covariate {name!r} has {length} values but time has {n}; every column needs one value per subject.",
            )
        if _is_categorical(values):
            codes, labels = _categorical_levels(name, values)
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
                    f"position {first}); remove those rows or fill them in before fitting.",
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
