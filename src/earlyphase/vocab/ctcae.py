"""CTCAE: adverse-event terms, their MedDRA codes and system organ class (SOC), and each grade's text.

Sources:
- CTCAE v5.0, complete: ``ctcae_v5.0.csv``, converted once from NCI's official Excel file
  (``CTCAE_v5.0_2017-11-27.xlsx``) by ``scripts/build_ctcae.py``; every term with its grade texts,
  definition, navigational note, MedDRA code, SOC and SOC code. NCI's CTCAE is a work of the US
  government (see ``NOTICE.md`` beside the data files).
- CTCAE v4.03, a subset (``ctcae_v4.03.csv``: the terms a cell-therapy trial needs, without grade
  texts); a study wanting all of v4.03 names NCI's Excel file (``ctcae_file``), read by
  ``load_ctcae_excel``.

Grades are 1 (mild) to 5 (death); a term defines only some of them (Nausea 1-3, Alopecia 1-2):
NCI writes ``-`` where a grade does not exist, and so do the bundled files.

Each SOC has an "Other, specify" term (``Gastrointestinal disorders - Other, specify``) for an event
no term names; an adverse event recorded with one needs its verbatim term. NCI gives those rows the
SOC's own MedDRA code, which is where the SOC codes come from (``meddra_soc_codes.csv``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

CTCAE_VERSIONS = ("4.03", "5.0")
ALL_GRADES = (1, 2, 3, 4, 5)
OTHER_SPECIFY = "Other, specify"
NO_GRADE = "-"  # NCI's mark for a grade a term does not define

# The columns of the bundled CSV files, in order.
CSV_COLUMNS = ("meddra_code", "soc_code", "soc", "term", "grade_1", "grade_2", "grade_3", "grade_4", "grade_5",
               "definition", "navigational_note")
_BUNDLED_FILES = {"5.0": "ctcae_v5.0.csv", "4.03": "ctcae_v4.03.csv"}


@dataclass(frozen=True)
class CtcaeTerm:
    """One CTCAE term: its name, MedDRA code, SOC (name and code), and the grades (1-5) it defines.

    ``grade_texts`` holds the text of grades 1..5 (None where the grade does not exist, or where the
    source gave no texts, as in the bundled v4.03 subset).
    """

    term: str
    soc: str
    grades: tuple[int, ...]
    meddra_code: int | None = None
    version: str = "5.0"
    soc_code: int | None = None
    grade_texts: tuple[str | None, ...] = (None, None, None, None, None)
    definition: str | None = None
    navigational_note: str | None = None

    def has_grade(self, grade: int) -> bool:
        return grade in self.grades

    def grade_text(self, grade: int) -> str | None:
        """NCI's description of ``grade`` for this term (None when the grade does not exist or is not known)."""
        if grade not in ALL_GRADES:
            return None
        return self.grade_texts[grade - 1]

    def grades_text(self) -> str:
        """The grades as a short range text, e.g. ``1-3`` or ``1, 3-5``."""
        return _ranges(self.grades)

    @property
    def is_other_specify(self) -> bool:
        """True for a SOC's "Other, specify" term, which needs the verbatim term of the event."""
        return is_other_specify(self.term)

    def to_dict(self) -> dict:
        return {"term": self.term, "soc": self.soc, "soc_code": self.soc_code, "grades": list(self.grades),
                "meddra_code": self.meddra_code, "version": self.version,
                "grade_texts": {str(g): self.grade_text(g) for g in ALL_GRADES},
                "definition": self.definition, "navigational_note": self.navigational_note,
                "other_specify": self.is_other_specify}


def is_other_specify(term: str) -> bool:
    """True for a term of the form ``<SOC> - Other, specify``."""
    return _key(term).endswith(" - " + OTHER_SPECIFY.casefold())


@dataclass(frozen=True)
class CtcaeDictionary:
    """The CTCAE terms of one version, looked up by name (case and spacing ignored).

    ``complete`` is False for the bundled v4.03 subset, so messages can say a term may exist in NCI's
    full file. ``suggestions`` proposes terms for a name it does not hold: synonyms first
    (``Pyrexia`` -> Fever, ``ALT increased``), then spelling.
    """

    version: str
    terms: tuple[CtcaeTerm, ...]
    source: str = "bundled"
    complete: bool = True
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

    def by_meddra_code(self, code: int) -> CtcaeTerm | None:
        """The term with MedDRA code ``code`` (an "Other, specify" term carries its SOC's code)."""
        return next((t for t in self.terms if t.meddra_code == code), None)

    def suggestions(self, term: str, n: int = 3) -> list[str]:
        """Up to ``n`` term names for someone who typed ``term``: synonyms and abbreviations first, then
        British/American spelling, then the closest spellings."""
        from earlyphase.vocab.synonyms import suggest_terms

        return suggest_terms(self, term, n)

    def other_specify(self, soc: str) -> CtcaeTerm | None:
        """The "Other, specify" term of system organ class ``soc``."""
        wanted = _key(soc)
        return next((t for t in self.terms if t.is_other_specify and _key(t.soc) == wanted), None)

    def in_soc(self, soc: str) -> list[CtcaeTerm]:
        """The terms of one system organ class, in the dictionary's order."""
        wanted = _key(soc)
        return [t for t in self.terms if _key(t.soc) == wanted]

    @property
    def socs(self) -> list[str]:
        return sorted({t.soc for t in self.terms})

    def describe(self) -> str:
        """One line naming the dictionary, e.g. ``CTCAE v5.0 (bundled, 837 terms)``."""
        extent = f"{len(self)} terms" if self.complete else f"a subset of {len(self)} terms"
        return f"CTCAE v{self.version} ({self.source}, {extent})"


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


# -- the bundled files ---------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def bundled_ctcae(version: str = "5.0") -> CtcaeDictionary:
    """The terms shipped with earlyphase for CTCAE ``version``: all of v5.0, a subset of v4.03."""
    if version not in CTCAE_VERSIONS:
        raise ValueError(f"unknown CTCAE version {version!r}; known: {', '.join(CTCAE_VERSIONS)}")
    text = (resources.files("earlyphase.vocab") / _BUNDLED_FILES[version]).read_text(encoding="utf-8")
    terms = tuple(_term_from_row(row, version) for row in read_ctcae_csv(text))
    complete = version == "5.0"
    return CtcaeDictionary(version=version, terms=terms, source="bundled", complete=complete)


@lru_cache(maxsize=1)
def meddra_soc_codes() -> dict[str, int]:
    """MedDRA SOC name -> SOC code, as NCI's CTCAE v5.0 gives them (on each SOC's "Other, specify" row)."""
    try:
        text = (resources.files("earlyphase.vocab") / "meddra_soc_codes.csv").read_text(encoding="utf-8")
    except FileNotFoundError:  # only while scripts/build_ctcae.py writes it for the first time
        return {}
    rows = csv.DictReader(io.StringIO("\n".join(line for line in text.splitlines() if not line.startswith("#"))))
    return {row["soc"]: int(row["soc_code"]) for row in rows}


def read_ctcae_csv(text: str) -> list[dict[str, str]]:
    """The rows of a bundled CTCAE CSV (comment lines start with ``#``; cells never hold line breaks)."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def _term_from_row(row: dict[str, str], version: str) -> CtcaeTerm:
    texts = tuple(None if row[f"grade_{g}"] == NO_GRADE else (row[f"grade_{g}"] or None) for g in ALL_GRADES)
    grades = tuple(g for g in ALL_GRADES if row[f"grade_{g}"] != NO_GRADE)
    soc_code = row.get("soc_code") or None
    return CtcaeTerm(
        term=row["term"], soc=row["soc"], grades=grades,
        meddra_code=int(row["meddra_code"]) if row["meddra_code"] else None, version=version,
        soc_code=int(soc_code) if soc_code else meddra_soc_codes().get(row["soc"]),
        grade_texts=texts, definition=row.get("definition") or None,
        navigational_note=row.get("navigational_note") or None,
    )


def write_ctcae_csv(dictionary: CtcaeDictionary, header: Iterable[str] = ()) -> str:
    """The CSV text of ``dictionary`` in the bundled layout (``header`` lines become ``#`` comments).

    A grade that does not exist is written ``-``; texts are kept as NCI wrote them, with runs of
    white space (including line breaks inside a cell) made one space.
    """
    out = io.StringIO()
    for line in header:
        out.write(f"# {line}\n" if line else "#\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in dictionary.terms:
        grades = [t.grade_text(g) or "" if g in t.grades else NO_GRADE for g in ALL_GRADES]
        writer.writerow([t.meddra_code or "", t.soc_code or "", t.soc, t.term, *grades, t.definition or "",
                         t.navigational_note or ""])
    return out.getvalue()


def write_soc_codes_csv(dictionary: CtcaeDictionary, header: Iterable[str] = ()) -> str:
    """The CSV text of the SOC name -> code table taken from ``dictionary``'s "Other, specify" rows."""
    out = io.StringIO()
    for line in header:
        out.write(f"# {line}\n" if line else "#\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("soc_code", "soc"))
    for soc, code in sorted(_soc_codes_of(dictionary.terms).items(), key=lambda kv: kv[0]):
        writer.writerow((code, soc))
    return out.getvalue()


def _soc_codes_of(terms: Iterable[CtcaeTerm]) -> dict[str, int]:
    return {t.soc: t.meddra_code for t in terms if t.is_other_specify and t.meddra_code is not None}


# -- NCI's Excel file ------------------------------------------------------------------------------------
def load_ctcae_excel(path: str | Path, version: str | None = None) -> CtcaeDictionary:
    """Read NCI's official CTCAE Excel file (e.g. ``CTCAE_v5.0_2017-11-27.xlsx``).

    The first sheet holds one row per term with columns ``MedDRA Code``, ``MedDRA SOC``,
    ``CTCAE Term``, ``Grade 1`` .. ``Grade 5`` and (optionally) ``Definition`` and
    ``Navigational Note``; a grade exists when its cell is not ``-``. The version is taken from the
    file name or sheet title unless given. SOC codes come from the file's "Other, specify" rows,
    else from the bundled MedDRA SOC table.
    """
    from openpyxl import load_workbook

    from earlyphase.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError.single("ctcae_file", str(path), "exists", f"no CTCAE Excel file at {path}")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a file that is not a workbook
        raise InputError.single("ctcae_file", str(path), "ctcae-excel",
                                f"{path.name} cannot be read as an Excel workbook ({type(exc).__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        header = [(_key(str(c)) if c is not None else "") for c in (first or ())]
        columns = _excel_columns(header, path)
        if version is None:
            found = re.search(r"v?(\d+\.\d+)", f"{path.name} {sheet.title}")
            version = found.group(1) if found else "unknown"
        terms: dict[str, CtcaeTerm] = {}
        for row in rows:
            name = _cell(row, columns["term"])
            if not name:
                continue
            texts = tuple(None if _is_dash(_raw(row, columns[g])) else _cell(row, columns[g]) for g in ALL_GRADES)
            grades = tuple(g for g in ALL_GRADES if not _is_dash(_raw(row, columns[g])))
            code = _raw(row, columns["code"])
            definition = _cell(row, columns["definition"])
            terms.setdefault(_key(name), CtcaeTerm(
                term=name, soc=_cell(row, columns["soc"]) or "", grades=grades,
                meddra_code=_as_code(code), version=version, grade_texts=texts,
                definition=None if definition in (None, "-") else definition,
                navigational_note=_cell(row, columns["note"]),
            ))
    finally:
        workbook.close()
    codes = {**meddra_soc_codes(), **_soc_codes_of(terms.values())}
    with_codes = tuple(CtcaeTerm(**{**t.__dict__, "soc_code": codes.get(t.soc)}) for t in terms.values())
    return CtcaeDictionary(version=version, terms=with_codes, source=str(path), complete=True)


def _excel_columns(header: list[str], path: Path) -> dict:
    from earlyphase.errors import InputError

    def find(*names: str) -> int | None:
        for i, h in enumerate(header):
            if h in names:
                return i
        return None

    columns: dict = {"code": find("meddra code"), "soc": find("meddra soc", "soc"), "term": find("ctcae term", "term"),
                     "definition": find("definition"), "note": find("navigational note")}
    for g in ALL_GRADES:
        columns[g] = find(f"grade {g}")
    optional = ("code", "definition", "note")
    missing = [k if isinstance(k, str) else f"Grade {k}" for k, v in columns.items() if v is None and k not in optional]
    if missing:
        raise InputError.single(
            "ctcae_file", str(path), "ctcae-columns",
            f"the first sheet lacks the column(s) {', '.join(missing)}; is this NCI's CTCAE Excel file?",
        )
    return columns


def _raw(row: tuple, index: int | None) -> object:
    return row[index] if index is not None and index < len(row) else None


def _cell(row: tuple, index: int | None) -> str | None:
    """A text cell with non-breaking spaces and runs of white space (line breaks too) made one space."""
    value = _raw(row, index)
    if value is None:
        return None
    text = re.sub(r"\s+", " ", str(value).replace("\xa0", " ")).strip()
    return text or None


def _as_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _is_dash(cell: object) -> bool:
    # NCI writes a grade that does not exist as "-" (sometimes with spaces around it).
    return cell is None or str(cell).replace("\xa0", " ").strip() in ("", "-", "\u2013", "\u2014")
