"""Reading survival data for the ``earlyphase survival`` commands.

* :func:`load_columns`: CSV or Parquet (file or directory of files) into numpy arrays in memory.
* :func:`reduce_to_counts`: Parquet too large for memory reduced out of core by DuckDB to one row
  per stratum × group × time (events, censorings), which :meth:`earlyphase.stats.RiskSet.from_counts`
  turns into the same risk set the raw rows give.

Group and stratum values are read as strings. Times stay in the file's own unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from earlyphase.errors import InputError

__all__ = ["is_parquet", "load_columns", "reduce_to_counts"]


def _check_path(path: Path) -> Path:
    if not path.exists():
        raise InputError.single("DATA", str(path), "exists", f"the data file {str(path)!r} does not exist.")
    return path


def is_parquet(path: Path) -> bool:
    """A ``.parquet``/``.pq`` file, or a directory (read as a Parquet dataset)."""
    path = _check_path(Path(path))
    return path.is_dir() or path.suffix.lower() in (".parquet", ".pq")


def _parquet_glob(path: Path) -> str:
    if path.is_dir():
        files = list(path.rglob("*.parquet")) + list(path.rglob("*.pq"))
        if not files:
            raise InputError.single("DATA", str(path), "contains .parquet files", f"the directory {str(path)!r} holds no .parquet files.")
        return str(path / "**" / "*.parquet")
    return str(path)


def load_columns(path: Path, numeric: dict[str, str], labels: dict[str, Optional[str]]) -> dict[str, np.ndarray]:
    """Read columns into arrays. ``numeric``: {key: column}; ``labels``: {key: column or None} (as strings).

    Raises InputError naming a missing column.
    """
    import pandas as pd

    path = _check_path(Path(path))
    wanted = list(numeric.values()) + [c for c in labels.values() if c]
    if is_parquet(path):
        import pyarrow.dataset as ds

        dataset = ds.dataset(str(path), format="parquet")
        _check_columns(dataset.schema.names, wanted, path)
        frame = dataset.to_table(columns=sorted(set(wanted))).to_pandas()
    else:
        try:
            header = pd.read_csv(path, nrows=0).columns.tolist()
        except Exception as exc:
            raise InputError.single("DATA", str(path), "readable CSV", f"could not read {str(path)!r} as CSV: {exc}") from None
        _check_columns(header, wanted, path)
        frame = pd.read_csv(path, usecols=sorted(set(wanted)), dtype={c: str for c in labels.values() if c})
    out: dict[str, np.ndarray] = {}
    for key, col in numeric.items():
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() & frame[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError.single(col, str(frame[col].iloc[i]), "number", f"column {col!r} must hold numbers (row {i + 1}).", file=str(path), row=i + 1)
        out[key] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    for key, col in labels.items():
        if col:
            series = frame[col]
            if series.isna().any():
                i = int(np.flatnonzero(series.isna().to_numpy())[0])
                raise InputError.single(col, None, "not missing", f"column {col!r} is empty at row {i + 1}.", file=str(path), row=i + 1)
            out[key] = series.astype(str).to_numpy(dtype=object)
    return out


def _check_columns(have: list[str], wanted: list[str], path: Path) -> None:
    missing = [c for c in wanted if c not in have]
    if missing:
        raise InputError.single(
            missing[0], None, "column present",
            f"column {missing[0]!r} is not in {path.name!r} (columns: {', '.join(have[:20])}).", file=str(path),
        )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def reduce_to_counts(
    path: Path,
    time: str,
    event: str,
    group: Optional[str] = None,
    strata: Optional[str] = None,
    memory_limit: str = "1GB",
) -> dict[str, np.ndarray]:
    """Reduce a Parquet file or directory to counts per (stratum, group, time) with DuckDB, out of core.

    Returns arrays ``time``, ``n_event``, ``n_censor`` and, when asked, ``group`` / ``strata`` (strings).
    Validates the raw rows first (times finite and >= 0, events 0/1, labels present) and raises
    InputError with counts of offending rows.
    """
    import duckdb

    path = _check_path(Path(path))
    src = _parquet_glob(path)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        rel = f"read_parquet({src!r}, union_by_name = true)"
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
        _check_columns(cols, [c for c in (time, event, group, strata) if c], path)
        t, e = _q(time), _q(event)
        label_checks = ", ".join(f"count(*) FILTER (WHERE {_q(c)} IS NULL)" for c in (group, strata) if c) or "0"
        checks = con.execute(
            f"SELECT count(*), "
            f"count(*) FILTER (WHERE {t} IS NULL OR isnan(CAST({t} AS DOUBLE)) OR isinf(CAST({t} AS DOUBLE))), "
            f"count(*) FILTER (WHERE CAST({t} AS DOUBLE) < 0), "
            f"count(*) FILTER (WHERE {e} IS NULL OR CAST({e} AS DOUBLE) NOT IN (0, 1)), "
            f"{label_checks} FROM {rel}"
        ).fetchone()
        n, n_nan, n_neg, n_badev = checks[:4]
        problems = []
        from earlyphase.errors import Problem

        if n == 0:
            problems.append(Problem(time, None, "non-empty", "the data has no rows.", file=str(path)))
        if n_nan:
            problems.append(Problem(time, None, "finite", f"{n_nan} row(s) have a missing or infinite time.", file=str(path)))
        if n_neg:
            problems.append(Problem(time, None, ">= 0", f"{n_neg} row(s) have a negative time.", file=str(path)))
        if n_badev:
            problems.append(Problem(event, None, "0/1", f"{n_badev} row(s) have an event value other than 0 or 1.", file=str(path)))
        for col, cnt in zip([c for c in (group, strata) if c], checks[4:]):
            if cnt:
                problems.append(Problem(col, None, "not missing", f"{cnt} row(s) have no {col}.", file=str(path)))
        if problems:
            raise InputError(problems)
        keys = []
        if strata:
            keys.append(f"CAST({_q(strata)} AS VARCHAR) AS s")
        if group:
            keys.append(f"CAST({_q(group)} AS VARCHAR) AS g")
        keys.append(f"CAST({t} AS DOUBLE) AS t")
        key_names = (["s"] if strata else []) + (["g"] if group else []) + ["t"]
        sql = (
            f"SELECT {', '.join(keys)}, CAST(sum(CAST({e} AS INTEGER)) AS BIGINT) AS d, count(*) AS n "
            f"FROM {rel} GROUP BY ALL"
        )
        res = con.execute(sql).fetchnumpy()
    finally:
        con.close()
    d = np.asarray(res["d"], dtype=np.int64)
    out = {"time": np.asarray(res["t"], dtype=np.float64) + 0.0, "n_event": d, "n_censor": np.asarray(res["n"], dtype=np.int64) - d}
    if group:
        out["group"] = np.asarray(res["g"], dtype=object)
    if strata:
        out["strata"] = np.asarray(res["s"], dtype=object)
    return out
