"""Reading import files: CSV files, directories of them and Excel workbooks, each with its SHA-256.

A CSV file is named after its table (``patients.csv``) or study form (``labs.csv``); a workbook has one
sheet per table or form. The first row holds the column names. Whether a name is a table or a form of
the study is decided later, by the importer, which knows the study.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from earlyphase.errors import InputError, Problem
from earlyphase.limits import MAX_CELL_CHARS, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, control_character
from earlyphase.textfile import decode_text, known_encoding


@dataclass(frozen=True)
class SourceRow:
    """One row of input: where it came from and its cells (column name -> raw cell)."""

    file: str
    row: int
    cells: dict[str, Any]


@dataclass(frozen=True)
class SourceFile:
    """One file read: its name, SHA-256, and rows by table or form name."""

    path: Path
    sha256: str
    tables: dict[str, list[SourceRow]]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_files(paths: str | Path | Iterable[str | Path], encoding: str | None = None) -> list[SourceFile]:
    """Every file of ``paths`` (files, directories of CSV files, workbooks), in the order given.

    CSV files are read as UTF-8 (with or without a byte-order mark) unless ``encoding`` names another
    (``cp1252``, ``latin-1``, ...). Each file is checked against the bounds of :mod:`earlyphase.limits`
    (size, rows, columns, cell length), for duplicate column names and for characters no text may
    hold (NUL); every problem names the file, row, column and value.
    """
    if encoding is not None:
        encoding = known_encoding(encoding)
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[SourceFile] = []
    seen: set[Path] = set()
    for given in paths:
        p = Path(given)
        if p.is_dir():
            _refuse_deidentified(p)
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".csv", ".xlsx", ".xlsm"))
            if not files:
                raise InputError.single("path", str(p), "has-csv-files",
                                        "the directory holds no .csv or .xlsx files to import")
        elif p.exists():
            files = [p]
        else:
            raise InputError.single("path", str(p), "exists", "no such file or directory")
        for f in files:
            if f.resolve() in seen:
                continue
            seen.add(f.resolve())
            out.append(_read_file(f, encoding))
    if not out:
        raise InputError.single("path", "", "has-files", "give at least one file or directory to import")
    return out


def _check_regular_file(path: Path) -> None:
    """Refuse before opening: a directory, FIFO or device named like a data file, an unreadable or huge file."""
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError.single("path", str(path), "readable", f"cannot read the file ({exc.strerror})",
                                file=path.name) from None
    if not stat.S_ISREG(info.st_mode):
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode)
                else "a device or socket")
        raise InputError.single("path", str(path), "regular-file",
                                f"this is {kind}, not a data file; import reads regular .csv and .xlsx files",
                                file=path.name)
    if info.st_size > MAX_FILE_BYTES:
        raise InputError.single("path", str(path), "max-file-size",
                                f"the file has {info.st_size} bytes; import reads files of at most {MAX_FILE_BYTES} "
                                "bytes: split it", file=path.name)
    if not os.access(path, os.R_OK):
        raise InputError.single("path", str(path), "readable", "the file is not readable by you (permissions)",
                                file=path.name)


def _read_file(path: Path, encoding: str | None = None) -> SourceFile:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise InputError.single("path", path.name, "csv-or-xlsx",
                                "import reads .csv files named after their table or form, directories of them, "
                                "or .xlsx workbooks")
    _check_regular_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError.single("path", str(path), "readable", f"cannot read the file ({exc.strerror})",
                                file=path.name) from None
    if suffix == ".csv":
        tables = {_name(path.stem): _read_csv(path, data, encoding)}
    else:
        tables = _read_excel(path, data)
    return SourceFile(path, hashlib.sha256(data).hexdigest(), tables)


def _name(stem: str) -> str:
    return stem.strip().lower()


def _refuse_deidentified(directory: Path) -> None:
    manifest = directory / "manifest.json"
    if manifest.is_file():
        try:
            mode = json.loads(manifest.read_text(encoding="utf-8")).get("mode")
        except (ValueError, AttributeError, OSError):
            return
        if mode == "de-identified":
            raise InputError.single(
                "manifest.json", mode, "identified-export",
                "this is a de-identified export (dates replaced by study days); it cannot be imported. "
                "Export with --identified to move a trial between databases")


class _CellProblems:
    """Problems with the cells of one file, collected so that all are reported at once (up to a cap)."""

    CAP = 50

    def __init__(self, name: str):
        self.name = name
        self.problems: list[Problem] = []

    def add(self, field: str, value: Any, rule: str, message: str, row: int | None) -> None:
        if len(self.problems) < self.CAP:
            shown = value if not isinstance(value, str) or len(value) <= 80 else value[:60] + f"... ({len(value)} chars)"
            self.problems.append(Problem(field=field, value=shown, rule=rule, message=message, file=self.name, row=row))

    def header(self, header: list[str]) -> None:
        if len(header) > MAX_COLUMNS:
            self.add("(header)", f"{len(header)} columns", "max-columns",
                     f"a file may have at most {MAX_COLUMNS} columns", 1)
        first: dict[str, int] = {}
        for i, h in enumerate(header):
            self.cell(h, h or f"column {i + 1}", 1)
            key = h.casefold()
            if not h:
                continue
            if key in first:
                self.add(h, h, "unique-column",
                         f"column {i + 1} has the same name as column {first[key] + 1}; each column may appear once "
                         "(which of the two holds the value?)", 1)
            else:
                first[key] = i

    def cell(self, value: Any, column: str, row: int) -> None:
        if not isinstance(value, str):
            return
        if len(value) > MAX_CELL_CHARS:
            self.add(column, value, "max-cell-length",
                     f"the cell holds {len(value)} characters; a cell may hold at most {MAX_CELL_CHARS}", row)
        at = control_character(value)
        if at is not None:
            self.add(column, value, "control-character",
                     f"character {at + 1} is a control character (code {ord(value[at])}, e.g. a NUL byte), "
                     "which no text may hold; remove it", row)

    def rows(self, count: int, row: int) -> bool:
        if count > MAX_ROWS:
            self.add("(rows)", f"more than {MAX_ROWS} rows", "max-rows",
                     f"a file or sheet may hold at most {MAX_ROWS} data rows; split it", row)
            return False
        return True

    def raise_if_any(self) -> None:
        if self.problems:
            n = len(self.problems)
            raise InputError(self.problems, summary=f"{self.name}: {n} problem{'s' if n != 1 else ''} "
                                                    "reading the file; nothing was written")


def _read_csv(path: Path, data: bytes, encoding: str | None = None) -> list[SourceRow]:
    text = decode_text(data, path.name, encoding, hint="--encoding")
    problems = _CellProblems(path.name)
    # Our own cell limit is checked below with row and column; the csv module's lower default would
    # otherwise stop at the first long cell with a message that names neither.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))
    rows: list[SourceRow] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader)
        except StopIteration:
            return []
        header = [h.strip() for h in header]
        problems.header(header)
        problems.raise_if_any()
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                problems.add("(row)", f"{len(cells)} cells", "row-length",
                             f"the header has {len(header)} columns but this row has {len(cells)}", number)
                continue
            if not problems.rows(len(rows) + 1, number):
                break
            for column, value in zip(header, cells):
                problems.cell(value, column, number)
            rows.append(SourceRow(path.name, number, dict(zip(header, cells))))
    except csv.Error as exc:
        raise InputError.single("file", path.name, "csv", f"the file is not readable CSV: {exc}",
                                file=path.name) from None
    problems.raise_if_any()
    return rows


def _read_excel(path: Path, data: bytes) -> dict[str, list[SourceRow]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError.single("file", path.name, "xlsx", f"the file is not a readable Excel workbook ({exc})",
                                file=path.name) from None
    out: dict[str, list[SourceRow]] = {}
    try:
        for sheet in workbook.worksheets:
            where = f"{path.name}[{sheet.title}]"
            problems = _CellProblems(where)
            name = _name(sheet.title)
            rows_iter = sheet.iter_rows(values_only=True)
            header_cells = next(rows_iter, None)
            if header_cells is None:
                out[name] = []
                continue
            header = [str(h).strip() if h is not None else "" for h in header_cells]
            while header and header[-1] == "":
                header.pop()
            problems.header(header)
            problems.raise_if_any()
            rows = []
            for number, cells in enumerate(rows_iter, start=2):
                cells = list(cells[: len(header)]) + [None] * max(0, len(header) - len(cells))
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue
                if not problems.rows(len(rows) + 1, number):
                    break
                for column, value in zip(header, cells):
                    problems.cell(value, column, number)
                rows.append(SourceRow(where, number, dict(zip(header, cells))))
            problems.raise_if_any()
            out[name] = rows
    except InputError:
        raise
    except Exception as exc:  # a damaged sheet inside a readable zip
        raise InputError.single("file", path.name, "xlsx", f"the workbook is damaged and cannot be read ({exc})",
                                file=path.name) from None
    finally:
        workbook.close()
    return out
