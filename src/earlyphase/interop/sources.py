"""Reading import files: CSV files, directories of them and Excel workbooks, each with its SHA-256.

A CSV file is named after its table (``patients.csv``) or study form (``labs.csv``); a workbook has one
sheet per table or form. The first row holds the column names. Whether a name is a table or a form of
the study is decided later, by the importer, which knows the study.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from earlyphase.errors import InputError


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


def read_files(paths: str | Path | Iterable[str | Path]) -> list[SourceFile]:
    """Every file of ``paths`` (files, directories of CSV files, workbooks), in the order given."""
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
        elif p.is_file():
            files = [p]
        else:
            raise InputError.single("path", str(p), "exists", "no such file or directory")
        for f in files:
            if f.resolve() in seen:
                continue
            seen.add(f.resolve())
            out.append(_read_file(f))
    if not out:
        raise InputError.single("path", "", "has-files", "give at least one file or directory to import")
    return out


def _read_file(path: Path) -> SourceFile:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        tables = {_name(path.stem): _read_csv(path)}
    elif suffix in (".xlsx", ".xlsm"):
        tables = _read_excel(path)
    else:
        raise InputError.single("path", path.name, "csv-or-xlsx",
                                "import reads .csv files named after their table or form, directories of them, "
                                "or .xlsx workbooks")
    return SourceFile(path, file_sha256(path), tables)


def _name(stem: str) -> str:
    return stem.strip().lower()


def _refuse_deidentified(directory: Path) -> None:
    manifest = directory / "manifest.json"
    if manifest.is_file():
        try:
            mode = json.loads(manifest.read_text(encoding="utf-8")).get("mode")
        except (ValueError, AttributeError):
            return
        if mode == "de-identified":
            raise InputError.single(
                "manifest.json", mode, "identified-export",
                "this is a de-identified export (dates replaced by study days); it cannot be imported. "
                "Export with --identified to move a trial between databases")


def _read_csv(path: Path) -> list[SourceRow]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader)
            except StopIteration:
                return []
            header = [h.strip() for h in header]
            rows = []
            for number, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    raise InputError.single("(row)", f"{len(cells)} cells", "row-length",
                                            f"the header has {len(header)} columns but this row has {len(cells)}",
                                            file=path.name, row=number)
                rows.append(SourceRow(path.name, number, dict(zip(header, cells))))
    except UnicodeDecodeError:
        raise InputError.single("file", path.name, "utf-8", "the file is not UTF-8 text; save it as CSV (UTF-8)",
                                file=path.name) from None
    except csv.Error as exc:
        raise InputError.single("file", path.name, "csv", f"the file is not readable CSV: {exc}",
                                file=path.name) from None
    return rows


def _read_excel(path: Path) -> dict[str, list[SourceRow]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError.single("file", path.name, "xlsx", f"the file is not a readable Excel workbook ({exc})",
                                file=path.name) from None
    out: dict[str, list[SourceRow]] = {}
    try:
        for sheet in workbook.worksheets:
            where = f"{path.name}[{sheet.title}]"
            name = _name(sheet.title)
            rows_iter = sheet.iter_rows(values_only=True)
            header_cells = next(rows_iter, None)
            if header_cells is None:
                out[name] = []
                continue
            header = [str(h).strip() if h is not None else "" for h in header_cells]
            while header and header[-1] == "":
                header.pop()
            rows = []
            for number, cells in enumerate(rows_iter, start=2):
                cells = list(cells[: len(header)]) + [None] * max(0, len(header) - len(cells))
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                    continue
                rows.append(SourceRow(where, number, dict(zip(header, cells))))
            out[name] = rows
    finally:
        workbook.close()
    return out
