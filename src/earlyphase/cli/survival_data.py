"""Reading survival data for the ``earlyphase survival`` commands.

* :func:`read_columns`: CSV or Parquet (a file or a directory of files) into arrays in memory. A CSV
  below 2 MB is read with the standard library (no pandas import: a small call starts fast); a
  larger one with pandas. Both read the same values: an empty field or ``NA`` is missing (what R's
  ``write.csv`` writes), every other field is text until a column is asked for as numbers.
* :func:`reduce_to_counts`: Parquet too large for memory reduced out of core by DuckDB to one row
  per stratum × group × time (events, censorings), which :meth:`earlyphase.stats.RiskSet.from_counts`
  turns into the same risk set the raw rows give.

Row numbers in messages count data rows from 1 (the line after the header is row 1).
Times stay in the file's own unit.
"""

from __future__ import annotations

import csv
import stat
from pathlib import Path
from typing import Any, Optional, Sequence

from earlyphase.errors import InputError, Problem

__all__ = ["is_parquet", "read_columns", "reduce_to_counts", "as_numbers", "as_values", "SMALL_CSV_BYTES"]

SMALL_CSV_BYTES = 2_000_000
MISSING_TOKENS = ("", "NA")


def require_extra(module: str, extra: str, feature: str):
    """Import ``module`` or stop with a message naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        from earlyphase.errors import ConfigurationError

        raise ConfigurationError(
            f"{feature} needs the optional package {module.split('.')[0]!r}, which is not installed. "
            f"Install it with: pip install 'earlyphase[{extra}]'"
        ) from None


def _check_path(path: Path) -> Path:
    if not path.exists():
        raise InputError.single("DATA", str(path), "exists", f"the data file {str(path)!r} does not exist.")
    # a named pipe or device would block or never end: only a regular file, or a directory of Parquet files
    if not (path.is_dir() or stat.S_ISREG(path.stat().st_mode)):
        raise InputError.single("DATA", str(path), "regular-file",
                                f"{str(path)!r} is a named pipe or device, not a data file: give a CSV or Parquet file.")
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


def _check_columns(have: Sequence[str], wanted: Sequence[str], path: Path) -> None:
    if any(not c for c in wanted):
        raise InputError.single("column", "", "a column name",
                                "an empty column name was given: name a column of the file "
                                f"(columns: {', '.join(list(have)[:30])})", file=str(path))
    missing = [c for c in wanted if c not in have]
    if missing:
        import difflib

        close = difflib.get_close_matches(missing[0], list(have), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InputError.single(
            missing[0], None, "column present",
            f"column {missing[0]!r} is not in {path.name!r}.{hint} (columns: {', '.join(list(have)[:30])})", file=str(path),
        )


def read_columns(path: Path, columns: Sequence[str], where: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """Read ``columns`` (and the ``where`` filter columns) from a CSV or Parquet file.

    CSV: each column is a list of text (None where missing). Parquet: numpy arrays, or a pandas
    Categorical for a dictionary-encoded column (its order is kept). ``where``: (column, value) pairs;
    only the rows whose text equals every value are kept. Raises InputError naming a missing column.
    """
    path = _check_path(Path(path))
    wanted = list(dict.fromkeys(list(columns) + [c for c, _ in where]))
    if is_parquet(path):
        data = _read_parquet(path, wanted)
    else:
        data = _read_csv(path, wanted)
    n = len(next(iter(data.values()))) if data else 0
    data["__row__"] = list(range(1, n + 1))  # 1-based data rows of the file (line = row + 1)
    if where:
        data = _filter(data, where, path)
    return data


def _read_csv(path: Path, wanted: list[str]) -> dict[str, Any]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError.single("DATA", str(path), "readable CSV", f"could not read {str(path)!r} as CSV: {exc}") from None
    if not header:
        raise InputError.single("DATA", str(path), "a header line", f"{str(path)!r} is empty: a CSV needs a header line naming its columns.")
    _check_columns(header, wanted, path)
    if path.stat().st_size > SMALL_CSV_BYTES:
        import pandas as pd

        frame = pd.read_csv(path, usecols=wanted, dtype=str, keep_default_na=False, na_values=list(MISSING_TOKENS),
                            encoding="utf-8-sig")
        return {c: [None if v is None or v != v else v for v in frame[c].tolist()] for c in wanted}
    index = [header.index(c) for c in wanted]
    out: dict[str, list] = {c: [] for c in wanted}
    lists = [out[c] for c in wanted]
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        next(reader)
        try:
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) < len(header):
                    raise InputError.single("DATA", str(path), "as many fields as the header",
                                            f"line {line} of {path.name!r} has {len(row)} fields; the header has {len(header)}.",
                                            file=str(path), row=line - 1)
                for target, j in zip(lists, index):
                    v = row[j].strip()
                    target.append(None if v in MISSING_TOKENS else v)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError.single("DATA", str(path), "readable CSV", f"could not read {str(path)!r} as CSV: {exc}") from None
    return out


def _read_parquet(path: Path, wanted: list[str]) -> dict[str, Any]:
    ds = require_extra("pyarrow.dataset", "parquet", "Reading Parquet")
    dataset = ds.dataset(str(path), format="parquet")
    _check_columns(dataset.schema.names, wanted, path)
    frame = dataset.to_table(columns=wanted).to_pandas()
    out: dict[str, Any] = {}
    for c in wanted:
        series = frame[c]
        if str(series.dtype) == "category":
            out[c] = series.reset_index(drop=True)
        elif series.dtype.kind in "fiub":
            out[c] = series.to_numpy(dtype="float64", na_value=float("nan")) if series.dtype.kind != "b" else series.to_numpy()
        else:
            out[c] = [None if v is None or v != v else (v if isinstance(v, str) else str(v)) for v in series.tolist()]
    return out


def _text(value: Any) -> str | None:
    if value is None or value != value:
        return None
    from earlyphase.stats.labels import format_label

    return value if isinstance(value, str) else format_label(value)


def _filter(data: dict[str, Any], where: Sequence[tuple[str, str]], path: Path) -> dict[str, Any]:
    import numpy as np

    n = len(next(iter(data.values())))
    keep = np.ones(n, dtype=bool)
    for col, value in where:
        texts = [_text(v) for v in (data[col].tolist() if hasattr(data[col], "tolist") else data[col])]
        match = np.array([t == value for t in texts], dtype=bool)
        if not match.any():
            seen = sorted({t for t in texts if t is not None})[:12]
            raise InputError.single(col, value, "a value of the column",
                                    f"no row has {col} = {value!r} (values: {', '.join(seen)}).", file=str(path))
        keep &= match
    out = {}
    for c, v in data.items():
        if isinstance(v, list):
            out[c] = [x for x, k in zip(v, keep) if k]
        elif hasattr(v, "iloc"):
            out[c] = v[keep].reset_index(drop=True)
        else:
            out[c] = v[keep]
    return out


def as_numbers(name: str, values: Any, path: Path):
    """A float array (NaN where missing) from a column; InputError naming the row of a non-number."""
    import numpy as np

    if not isinstance(values, list):
        arr = np.asarray(values)
        if arr.dtype.kind in "fiub":
            return arr.astype(np.float64)
        values = [_text(v) for v in arr.tolist()]
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if v is None:
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except ValueError:
            raise InputError.single(name, v, "number", f"column {name!r} must hold numbers; row {i + 1} holds {v!r}.",
                                    file=str(path), row=i + 1) from None
    return out


def as_values(values: Any):
    """Numbers when every present value reads as one (as R's read.csv), else the text (None = missing).

    A pandas Categorical passes through (its level order is kept).
    """
    import numpy as np

    if not isinstance(values, list):
        return values
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=object)


def reduce_to_counts(
    path: Path,
    time: str,
    event: str,
    group: Optional[str] = None,
    strata: Optional[str] = None,
    memory_limit: str = "1GB",
    *,
    event_value: Any = None,
    na_action: str = "fail",
) -> dict[str, Any]:
    """Reduce a Parquet file or directory to counts per (stratum, group, time) with DuckDB, out of core.

    Returns arrays ``time``, ``n_event``, ``n_censor`` and, when asked, ``group`` / ``strata``
    (strings), plus ``n_omitted`` (rows left out for a missing value, ``na_action="omit"``) and
    ``notes``. Validates the raw rows first (times finite and >= 0, events 0/1, 1/2 or
    ``event_value``, labels present) and raises InputError with counts of offending rows.
    """
    import numpy as np

    duckdb = require_extra("duckdb", "parquet", "Reading Parquet out of core")
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
        used = [c for c in (time, event, group, strata) if c]
        n_omitted = 0
        if na_action == "omit":
            missing = " OR ".join(f"{_q(c)} IS NULL" for c in used) + f" OR isnan(CAST({t} AS DOUBLE))"
            n_omitted = int(con.execute(f"SELECT count(*) FROM {rel} WHERE {missing}").fetchone()[0])
            rel = f"(SELECT * FROM {rel} WHERE NOT ({missing}))"
        notes: list[str] = []
        if event_value is not None:
            ev = _event_match(e, event_value)
            if not con.execute(f"SELECT count(*) FROM {rel} WHERE {ev} = 1").fetchone()[0]:
                raise InputError.single(event, event_value, "occurs in the event column",
                                        f"no row of {event} equals the event value {event_value!r}.", file=str(path))
            notes.append(f"events: {event} = {event_value}; every other value is censored")
            bad_event = f"{e} IS NULL"
        else:
            lo, hi = con.execute(f"SELECT min(CAST({e} AS DOUBLE)), max(CAST({e} AS DOUBLE)) FROM {rel}").fetchone()
            ev = f"CAST({e} AS INTEGER)"
            bad_event = f"{e} IS NULL OR CAST({e} AS DOUBLE) NOT IN (0, 1)"
            if lo is not None and lo >= 1 and hi == 2:
                ev = f"CAST({e} AS INTEGER) - 1"
                bad_event = f"{e} IS NULL OR CAST({e} AS DOUBLE) NOT IN (1, 2)"
                notes.append(f"events: {event} coded 1/2 read as R's Surv does (1 = censored, 2 = event)")
        label_checks = ", ".join(f"count(*) FILTER (WHERE {_q(c)} IS NULL)" for c in (group, strata) if c) or "0"
        checks = con.execute(
            f"SELECT count(*), "
            f"count(*) FILTER (WHERE {t} IS NULL OR isnan(CAST({t} AS DOUBLE)) OR isinf(CAST({t} AS DOUBLE))), "
            f"count(*) FILTER (WHERE CAST({t} AS DOUBLE) < 0), "
            f"count(*) FILTER (WHERE {bad_event}), "
            f"{label_checks} FROM {rel}"
        ).fetchone()
        n, n_nan, n_neg, n_badev = checks[:4]
        problems = []
        hint = " (--na-action omit leaves such rows out, as R does)"
        if n == 0:
            problems.append(Problem(time, None, "non-empty", "the data has no rows.", file=str(path)))
        if n_nan:
            problems.append(Problem(time, None, "finite", f"{n_nan} row(s) have a missing or infinite time.{hint}", file=str(path)))
        if n_neg:
            problems.append(Problem(time, None, ">= 0", f"{n_neg} row(s) have a negative time.", file=str(path)))
        if n_badev:
            problems.append(Problem(event, None, "0/1", f"{n_badev} row(s) have an event value other than 0 or 1 (or R's 1/2); "
                                    "say which value is the event with --event-value.", file=str(path)))
        for col, cnt in zip([c for c in (group, strata) if c], checks[4:]):
            if cnt:
                problems.append(Problem(col, None, "not missing", f"{cnt} row(s) have no {col}.{hint}", file=str(path)))
        if problems:
            raise InputError(problems)
        keys = []
        if strata:
            keys.append(f"CAST({_q(strata)} AS VARCHAR) AS s")
        if group:
            keys.append(f"CAST({_q(group)} AS VARCHAR) AS g")
        keys.append(f"CAST({t} AS DOUBLE) AS t")
        sql = (
            f"SELECT {', '.join(keys)}, CAST(sum({ev}) AS BIGINT) AS d, count(*) AS n "
            f"FROM {rel} GROUP BY ALL"
        )
        res = con.execute(sql).fetchnumpy()
    finally:
        con.close()
    d = np.asarray(res["d"], dtype=np.int64)
    out: dict[str, Any] = {"time": np.asarray(res["t"], dtype=np.float64) + 0.0, "n_event": d,
                           "n_censor": np.asarray(res["n"], dtype=np.int64) - d, "n_omitted": n_omitted, "notes": tuple(notes)}
    if group:
        out["group"] = np.asarray(res["g"], dtype=object)
    if strata:
        out["strata"] = np.asarray(res["s"], dtype=object)
    return out


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _event_match(column_sql: str, value: Any) -> str:
    """SQL that is 1 where the event column equals ``value`` (as a number when it reads as one)."""
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return f"CAST(CAST({column_sql} AS VARCHAR) = '" + text.replace("'", "''") + "' AS INTEGER)"
    return f"CAST(TRY_CAST({column_sql} AS DOUBLE) = {number!r} AS INTEGER)"
