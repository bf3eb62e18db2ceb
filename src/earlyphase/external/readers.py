"""Digitised curves and numbers-at-risk tables from the files people have.

Curves: WebPlotDigitizer's CSV export (one dataset: two columns without a header; "all datasets": a row of
dataset names over a row of X,Y, shorter datasets padded with empty cells) or any two-column file, with or
without a header, comma, semicolon or tab separated (a semicolon file may use decimal commas). Survival on
the percent scale (0–100) or as a proportion (0–1): ``scale="auto"`` takes percent when a value exceeds 1.5.

Risk tables: a column of times and a column of numbers at risk (header optional; names such as ``time``,
``trisk``, ``n_risk``, ``nrisk``, ``at_risk`` are recognised, other columns ignored), or the table as printed
under a figure: two rows, times then numbers.
"""

from __future__ import annotations

import csv
from pathlib import Path

from earlyphase.errors import InputError, Problem
from earlyphase.external.curve import DigitisedCurve, RiskTable

__all__ = ["read_curve_csv", "read_risk_table_csv"]

_TIME_NAMES = {"time", "t", "x", "trisk", "months", "month", "times", "at_risk_time", "time_months"}
_SURV_NAMES = {"survival", "surv", "s", "y", "prob", "probability", "km", "proportion", "percent"}
_RISK_NAMES = {"n_risk", "nrisk", "at_risk", "n", "number_at_risk", "n_at_risk", "risk"}


def _read_rows(path: str | Path, what: str) -> tuple[list[list[str]], str]:
    p = Path(path)
    if not p.is_file():
        raise InputError.single(what, str(path), "file_exists", f"no such file: {path}")
    raw = p.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError.single(what, str(path), "text_file", "the file is not a text (CSV) file", file=str(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ("\t" if sample.count("\t") > sample.count(",") else ",")
    try:
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError.single(what, str(path), "csv", f"the file is not readable as CSV ({exc})",
                                file=str(path)) from None
    decimal_comma = delimiter != "," and any("," in cell for row in rows for cell in row)
    cleaned = []
    for row in rows:
        cells = [c.strip() for c in row]
        if decimal_comma:
            cells = [c.replace(",", ".") for c in cells]
        cleaned.append(cells)
    if not any(any(c for c in row) for row in cleaned):
        raise InputError.single(what, str(path), "not_empty", "the file is empty", file=str(path))
    return cleaned, str(path)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _is_data_row(row: list[str]) -> bool:
    return len(row) >= 2 and _number(row[0]) is not None and _number(row[1]) is not None


def _column(header: list[str], names: set[str]) -> int | None:
    for i, h in enumerate(header):
        if h.strip().lower().replace(" ", "_").replace("-", "_").replace(".", "_") in names:
            return i
    return None


def read_curve_csv(path: str | Path, *, scale: str = "auto", dataset: str | None = None) -> DigitisedCurve:
    """Read one digitised curve (see the module docstring). ``dataset``: the curve's name in a
    WebPlotDigitizer "all datasets" export holding several curves."""
    if scale not in ("auto", "percent", "proportion"):
        raise InputError.single("scale", scale, "choice", "scale must be 'auto', 'percent' or 'proportion'")
    rows, source = _read_rows(path, "curve")
    rows_numbered = [(i + 1, r) for i, r in enumerate(rows) if any(r)]
    header_rows = []
    # Header rows hold no number at all (names, or WebPlotDigitizer's X,Y row).
    while rows_numbered and not any(_number(c) is not None for c in rows_numbered[0][1]) and len(header_rows) < 2:
        header_rows.append(rows_numbered.pop(0)[1])
    if not rows_numbered:
        raise InputError.single("curve", source, "has_points", "the file holds no (time, survival) pairs of numbers",
                                file=source)
    tcol, scol = 0, 1
    names = _dataset_names(header_rows)
    if dataset is not None:
        if dataset not in names:
            raise InputError.single("dataset", dataset, "known_dataset",
                                    f"no dataset of that name in the file; it has: {', '.join(names) or 'no named datasets'}",
                                    file=source)
        tcol = names.index(dataset) * 2
        scol = tcol + 1
    elif len(names) > 1:
        raise InputError.single("dataset", None, "choose_one",
                                f"the file holds {len(names)} curves ({', '.join(names)}): name the one to use",
                                file=source)
    elif header_rows and len(names) <= 1:
        header = header_rows[-1]
        tc, sc = _column(header, _TIME_NAMES), _column(header, _SURV_NAMES)
        if tc is not None and sc is not None:
            tcol, scol = tc, sc
    times, survs, problems = [], [], []
    for line, row in rows_numbered:
        a = row[tcol] if tcol < len(row) else ""
        b = row[scol] if scol < len(row) else ""
        if a == "" and b == "":
            continue  # a shorter dataset padded with empty cells
        ta, sb = _number(a), _number(b)
        if ta is None or sb is None:
            bad, value = ("time", a) if ta is None else ("survival", b)
            problems.append(Problem(bad, value, "number", "expected a number", file=source, row=line))
            if len(problems) >= 20:
                break
            continue
        times.append(ta)
        survs.append(sb)
    if problems:
        raise InputError(problems, summary=f"{len(problems)} unreadable row(s) in the curve file (row = line of the file)")
    if scale == "auto":
        scale = "percent" if survs and max(survs) > 1.5 else "proportion"
    return DigitisedCurve.from_points(times, survs, scale=scale, source=source)


def _dataset_names(header_rows: list[list[str]]) -> list[str]:
    """Dataset names of a WebPlotDigitizer "all datasets" export: a names row over an X,Y row."""
    if len(header_rows) < 2:
        return []
    names_row, xy_row = header_rows[0], header_rows[1]
    if not all(c.upper() in ("X", "Y", "") for c in xy_row):
        return []
    return [names_row[i] for i in range(0, len(names_row), 2) if names_row[i]]


def read_risk_table_csv(path: str | Path) -> RiskTable:
    """Read a numbers-at-risk table (see the module docstring)."""
    rows, source = _read_rows(path, "at_risk")
    rows = [r for r in rows if any(r)]
    # Printed under a figure: a row of times over a row of numbers.
    numeric = [r for r in rows if r and all(_number(c) is not None for c in r[1:] if c)]
    if len(rows) == 2 and len(rows[0]) > 2 and len(numeric) == 2:
        first = 0 if _number(rows[0][0]) is not None else 1
        t = [rows[0][i] for i in range(first, len(rows[0])) if rows[0][i]]
        n = [rows[1][i] for i in range(first, len(rows[1])) if rows[1][i]]
        return _table(t, n, source, [1] * len(t))
    header = None
    if rows and not _is_data_row(rows[0]):
        header = rows.pop(0)
    tcol, ncol = 0, 1
    if header is not None:
        tc, nc = _column(header, _TIME_NAMES), _column(header, _RISK_NAMES)
        if (tc is None) != (nc is None) or (tc is None and len(header) > 2):
            raise InputError.single("at_risk", ", ".join(header), "columns",
                                    "name the columns time and n_risk (or give two columns only)", file=source)
        if tc is not None:
            tcol, ncol = tc, nc
    offset = 2 if header is not None else 1
    t = [r[tcol] if tcol < len(r) else "" for r in rows]
    n = [r[ncol] if ncol < len(r) else "" for r in rows]
    return _table(t, n, source, list(range(offset, offset + len(rows))))


def _table(t: list[str], n: list[str], source: str, lines: list[int]) -> RiskTable:
    problems = []
    tv, nv = [], []
    for a, b, line in zip(t, n, lines):
        ta, nb = _number(a), _number(b)
        if ta is None:
            problems.append(Problem("at_risk_time", a, "number", "expected a number", file=source, row=line))
        if nb is None:
            problems.append(Problem("n_risk", b, "number", "expected a whole number", file=source, row=line))
        tv.append(ta)
        nv.append(nb)
    if len(t) != len(n):
        problems.append(Problem("n_risk", len(n), "same_length", f"{len(t)} times but {len(n)} numbers at risk",
                                file=source))
    if problems:
        raise InputError(problems[:20])
    return RiskTable.from_rows(tv, nv, source=source)
