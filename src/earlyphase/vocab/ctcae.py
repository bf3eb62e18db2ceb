"""CTCAE: adverse-event terms, their MedDRA system organ class, and which grades exist.

Two sources: the terms bundled with earlyphase (``ctcae_terms.csv``, written from NCI's
CTCAE v4.03 and v5.0 documents; enough for a cell-therapy trial), and NCI's official Excel
file, read with ``load_ctcae_excel`` when a study wants the full dictionary.
Grades are 1 (mild) to 5 (death); a term defines only some of them (Nausea 1-3, Alopecia 1-2).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterator

CTCAE_VERSIONS = ("4.03", "5.0")
ALL_GRADES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class CtcaeTerm:
    """One CTCAE term: its name, MedDRA code and SOC, and the grades (1-5) it defines."""

    term: str
    soc: str
    grades: tuple[int, ...]
    meddra_code: int | None = None
    version: str = "5.0"

    def has_grade(self, grade: int) -> bool:
        return grade in self.grades

    def grades_text(self) -> str:
        """The grades as a short range text, e.g. ``1-3`` or ``1, 3-5``."""
        return _ranges(self.grades)

    def to_dict(self) -> dict:
        return {"term": self.term, "soc": self.soc, "grades": list(self.grades),
                "meddra_code": self.meddra_code, "version": self.version}


@dataclass(frozen=True)
class CtcaeDictionary:
    """The CTCAE terms of one version, looked up by name (case and spacing ignored)."""

    version: str
    terms: tuple[CtcaeTerm, ...]
    source: str = "bundled"
    _index: dict[str, CtcaeTerm] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for t in self.terms:
            self._index[_key(t.term)] = t

    def __len__(self) -> int:
        return len(self.terms)

    def __iter__(self) -> Iterator[CtcaeTerm]:
        return iter(self.terms)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and _key(term) in self._index

    def get(self, term: str) -> CtcaeTerm | None:
        """The term, or None when the dictionary does not hold it."""
        return self._index.get(_key(term))

    def lookup(self, term: str) -> CtcaeTerm:
        """The term; ``KeyError`` when unknown."""
        found = self.get(term)
        if found is None:
            raise KeyError(term)
        return found

    def suggestions(self, term: str, n: int = 3) -> list[str]:
        """Closest term names, to help someone who mistyped."""
        import difflib

        names = {_key(t.term): t.term for t in self.terms}
        return [names[k] for k in difflib.get_close_matches(_key(term), list(names), n=n, cutoff=0.6)]

    @property
    def socs(self) -> list[str]:
        return sorted({t.soc for t in self.terms})


def _key(term: str) -> str:
    return re.sub(r"\s+", " ", term.replace("\xa0", " ")).strip().casefold()


def _ranges(grades: tuple[int, ...]) -> str:
    parts, run = [], []
    for g in sorted(grades):
        if run and g == run[-1] + 1:
            run.append(g)
        else:
            if run:
                parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
            run = [g]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(parts)


@lru_cache(maxsize=4)
def bundled_ctcae(version: str = "5.0") -> CtcaeDictionary:
    """The terms shipped with earlyphase for CTCAE ``version`` ("4.03" or "5.0")."""
    if version not in CTCAE_VERSIONS:
        raise ValueError(f"unknown CTCAE version {version!r}; known: {', '.join(CTCAE_VERSIONS)}")
    text = (resources.files("earlyphase.vocab") / "ctcae_terms.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    terms = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        if row["version"] != version:
            continue
        terms.append(CtcaeTerm(
            term=row["term"], soc=row["soc"], grades=tuple(int(c) for c in row["grades"]),
            meddra_code=int(row["meddra_code"]) if row["meddra_code"] else None, version=version,
        ))
    return CtcaeDictionary(version=version, terms=tuple(terms), source=f"bundled CTCAE v{version}")


def load_ctcae_excel(path: str | Path, version: str | None = None) -> CtcaeDictionary:
    """Read NCI's official CTCAE Excel file (e.g. ``CTCAE_v5.0_2017-11-27.xlsx``).

    The first sheet holds one row per term with columns ``MedDRA Code``, ``MedDRA SOC``,
    ``CTCAE Term`` and ``Grade 1`` .. ``Grade 5``; a grade exists when its cell is not ``-``.
    The version is taken from the file name or sheet title unless given.
    """
    from openpyxl import load_workbook

    from earlyphase.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError.single("ctcae_file", str(path), "exists", f"no CTCAE Excel file at {path}")
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [(_key(str(c)) if c is not None else "") for c in next(rows)]
        columns = _excel_columns(header, path)
        if version is None:
            found = re.search(r"v?(\d+\.\d+)", f"{path.name} {sheet.title}")
            version = found.group(1) if found else "unknown"
        terms: dict[str, CtcaeTerm] = {}
        for row in rows:
            name = row[columns["term"]] if columns["term"] < len(row) else None
            if name is None or not str(name).strip():
                continue
            name = re.sub(r"\s+", " ", str(name).replace("\xa0", " ")).strip()
            grades = tuple(
                g for g in ALL_GRADES
                if columns[g] < len(row) and not _is_dash(row[columns[g]])
            )
            code = row[columns["code"]] if columns.get("code") is not None else None
            soc = str(row[columns["soc"]]).replace("\xa0", " ").strip()
            terms.setdefault(_key(name), CtcaeTerm(
                term=name, soc=soc, grades=grades,
                meddra_code=int(code) if isinstance(code, (int, float)) or (isinstance(code, str) and code.isdigit()) else None,
                version=version,
            ))
    finally:
        workbook.close()
    return CtcaeDictionary(version=version, terms=tuple(terms.values()), source=str(path))


def _excel_columns(header: list[str], path: Path) -> dict:
    from earlyphase.errors import InputError

    def find(*names: str) -> int | None:
        for i, h in enumerate(header):
            if h in names:
                return i
        return None

    columns: dict = {"code": find("meddra code"), "soc": find("meddra soc", "soc"), "term": find("ctcae term", "term")}
    for g in ALL_GRADES:
        columns[g] = find(f"grade {g}")
    missing = [k if isinstance(k, str) else f"Grade {k}" for k, v in columns.items() if v is None and k != "code"]
    if missing:
        raise InputError.single(
            "ctcae_file", str(path), "ctcae-columns",
            f"the first sheet lacks the column(s) {', '.join(missing)}; is this NCI's CTCAE Excel file?",
        )
    return columns


def _is_dash(cell: object) -> bool:
    # NCI writes a grade that does not exist as "-" (sometimes with spaces around it).
    return cell is None or str(cell).replace("\xa0", " ").strip() in ("", "-", "\u2013", "\u2014")
