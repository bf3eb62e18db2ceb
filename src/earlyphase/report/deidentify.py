"""The report's two modes: identified, and de-identified (the default of ``report_from_database`` and the CLI).

De-identified means, for everything the report writes:

- patients are named by keyed pseudonyms (``P-...``, :mod:`earlyphase.privacy.pseudonym`) in every table,
  figure, hover title and appendix entry; the appendix does not name the database's patient rows;
- counts of 1 to k-1 patients (k = 3 by default) in the aggregate tables are shown as ``<k``, without a
  percentage and without the patients behind them (:func:`earlyphase.privacy.small_cell_rule`);
- ``adam/`` holds study days instead of dates (``ADT`` -> ``ADY``, ``TRTSDT`` -> ``TRTSDY``: the day
  relative to the patient's first dose, or enrolment if never dosed, CDISC convention, no day 0) and the
  age band (``AGEGR1``) instead of the age; its ``README.txt`` says so;
- ``manifest.json`` beside the report states the mode, the rules, the suppressed cells and the share of
  patients unique on sex, age band, site and group.

The identified report is labelled as such on its first page, in ``adam/README.txt`` and in the manifest.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from earlyphase.privacy import (
    DEFAULT_SMALL_CELL,
    Pseudonymiser,
    age_band,
    complementary_cells,
    is_small,
    small_cell_rule,
    uniqueness,
)
from earlyphase.derive.deidentify import adam_reference_dates, deidentified_frame
from earlyphase.privacy.scrub import scrub_dates
from earlyphase.report.trace import Cell, TraceTable

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive import AnalysisDatasets

MANIFEST_NAME = "manifest.json"
IDENTIFIED_LABEL = ("IDENTIFIED REPORT: patients are named by the site's subject ids and the analysis datasets "
                    "(adam/) hold calendar dates. Keep it as you keep the trial database.")
DEIDENTIFIED_LABEL = ("De-identified report: patients are named by pseudonyms, small counts are suppressed "
                      "(<{k}), and the analysis datasets (adam/) hold study days instead of dates.")
LISTINGS_NOTE = ("Patient-level listings and figures (the DLT listing, swimmer, waterfall and spider plots) show "
                 "patients by pseudonym; together with them a suppressed count can be recounted. Share tables/ "
                 "alone where small cells must not be recoverable.")
_LEADING_COUNT = re.compile(r"^(\d+)(?=$|\s*\()")  # "2", "2 (11%)", "2 (11%; 1–35)": a count of patients
_AT_RISK = re.compile(r"\bn=(\d+)\b")


@dataclass
class ReportPrivacy:
    """How one report is written: identified, or de-identified with its pseudonyms and small-cell threshold."""

    identified: bool = True
    pseudonyms: Pseudonymiser | None = None
    small_cells: int = DEFAULT_SMALL_CELL
    suppressed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return IDENTIFIED_LABEL if self.identified else DEIDENTIFIED_LABEL.format(k=self.small_cells)

    # -- tables -----------------------------------------------------------------------------------------
    def apply(self, sections: list[tuple[str, str, list]]) -> list[tuple[str, str, list]]:
        """The sections with every table de-identified (identified mode: unchanged)."""
        if self.identified:
            return sections
        return [(a, h, [self.table(i) if isinstance(i, TraceTable) else i for i in items]) for a, h, items in sections]

    def table(self, table: TraceTable) -> TraceTable:
        rows = []
        changed = False
        for i, row in enumerate(table.rows):
            new_row = []
            for j, cell in enumerate(row):
                new = self._cell(cell)
                if new is not cell:
                    changed = True
                    if new.text.startswith("<") or "n<" in new.text:
                        label = " / ".join(c.text for c in row[:1] if c.text) or f"row {i + 1}"
                        self.suppressed.append({"table": table.key, "row": label.strip(),
                                                "column": str(table.columns[j]) if j < len(table.columns) else j})
                new_row.append(new)
            rows.append(new_row)
        changed |= self._complement(table, rows)
        notes = tuple(scrub_dates(n).text.replace("[date]", "[date withheld]") for n in table.notes)
        if not changed and notes == tuple(table.notes):
            return table
        if any(s["table"] == table.key for s in self.suppressed):
            notes += (f"Counts of 1 to {self.small_cells - 1} patients are shown as <{self.small_cells} "
                      "(de-identified report)" + (f"; a second count in the same row or column as >={self.small_cells}, "
                                                  "so neither can be worked out from a total."
                                                  if any(s.get("complementary") for s in self.suppressed
                                                         if s["table"] == table.key) else "."),)
        return dataclasses.replace(table, rows=rows, notes=notes)

    def _complement(self, table: TraceTable, rows: list[list[Cell]]) -> bool:
        """Complementary suppression (:func:`earlyphase.privacy.complementary_cells`): a row or column of
        counts with one ``<k`` cell gets a second cell suppressed, shown as ``>=k``. True if any was."""
        k = self.small_cells
        counts: list[list[int | None]] = []
        hidden = set()
        for i, row in enumerate(rows):
            line: list[int | None] = []
            for j, cell in enumerate(row):
                if cell.text == f"<{k}":
                    hidden.add((i, j))
                    line.append(None if i in table.section_rows else 1)
                    continue
                match = _LEADING_COUNT.match(cell.text)
                line.append(int(match.group(1)) if match and cell.traced and i not in table.section_rows else None)
            counts.append(line)
        hidden = {c for c in hidden if counts[c[0]][c[1]] is not None}
        extra = complementary_cells(counts, hidden)
        for i, j in sorted(extra):
            row = rows[i]
            row[j] = Cell(f">={k}", None, row[j].align)
            label = " / ".join(c.text for c in row[:1] if c.text) or f"row {i + 1}"
            self.suppressed.append({"table": table.key, "row": label.strip(),
                                    "column": str(table.columns[j]) if j < len(table.columns) else j,
                                    "complementary": True})
        return bool(extra)

    def _cell(self, cell: Cell) -> Cell:
        dated = scrub_dates(cell.text).text  # a date in a table names a patient's day (the last enrolment ...)
        if dated != cell.text:
            return Cell(dated, None, cell.align)
        if not cell.traced:
            return cell
        k = self.small_cells
        match = _LEADING_COUNT.match(cell.text)
        if match and is_small(int(match.group(1)), k):
            return Cell(f"<{k}", None, cell.align)
        text = _AT_RISK.sub(lambda m: f"n<{k}" if is_small(int(m.group(1)), k) else m.group(0), cell.text)
        if text != cell.text:
            return Cell(text, None, cell.align)
        if cell.evidence and any(r.startswith("patients#") for recs in cell.evidence.values() for r in recs):
            # the database's patient rows would give the enrolment order (and the site's ids) away
            return Cell(cell.text, {u: tuple(r for r in recs if not r.startswith("patients#"))
                                    for u, recs in cell.evidence.items()}, cell.align)
        return cell

    def methods(self, paragraphs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The methods text, with calendar dates (the data cut-off) withheld in the de-identified mode."""
        if self.identified:
            return paragraphs
        return [(head, scrub_dates(text).text.replace("[date]", "[date withheld]")) for head, text in paragraphs]

    # -- manifest ---------------------------------------------------------------------------------------
    def manifest(self, ds: "AnalysisDatasets", files: Sequence[Path], out: Path) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": "earlyphase report",
            "mode": "identified" if self.identified else "de-identified",
            "label": self.label,
            "synthetic": bool(ds.synthetic),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": sorted(_relative(p, out) for p in files),
        }
        if self.identified:
            return body
        adsl = ds.adsl
        rows = [{"sex": s, "age_band": age_band(a), "site": site, "group": g}
                for s, a, site, g in zip(adsl.get("SEX", []), adsl.get("AGE", []), adsl.get("SITEID", []),
                                         adsl.get("TRT01P", []))]
        body["deidentification"] = {
            "pseudonyms": {"subjects": "P- + 10 characters of HMAC-SHA256(key, subject id)",
                           "key": self.pseudonyms.source if self.pseudonyms else None},
            "adam": "study days instead of dates (relative to the first dose, or enrolment if never dosed; "
                    "CDISC: day 1 is the reference date, no day 0), AGEGR1 (10-year bands) instead of AGE, "
                    "pseudonyms in USUBJID and SUBJID, no database row ids of patients",
            "small_cells": {"threshold": self.small_cells, "rule": small_cell_rule(self.small_cells),
                            "suppressed": self.suppressed, "listings": LISTINGS_NOTE},
            "reidentification": uniqueness(rows, ("sex", "age_band", "site", "group")).to_dict(),
        }
        return body


def _relative(path: Path, out: Path) -> str:
    """``path`` as written under ``out`` (one may be relative, the other absolute: the PDF's path is)."""
    try:
        return str(Path(path).resolve().relative_to(Path(out).resolve()))
    except ValueError:
        return str(path)


def write_adam(ds: "AnalysisDatasets", directory: Path, privacy: ReportPrivacy) -> dict[str, Path]:
    """adsl.csv, adae.csv, adrs.csv, adtte.csv and README.txt saying which mode they are in."""
    directory.mkdir(parents=True, exist_ok=True)
    if privacy.identified:
        paths = ds.write_csv(directory)
    else:
        refs = adam_reference_dates(ds)
        paths = {}
        for name in ("adsl", "adae", "adrs", "adtte"):
            path = directory / f"{name}.csv"
            deidentified_frame(getattr(ds, name), refs).to_csv(path, index=False)
            paths[name] = path
    readme = directory / "README.txt"
    text = (IDENTIFIED_LABEL if privacy.identified else
            "DE-IDENTIFIED analysis datasets: USUBJID and SUBJID are pseudonyms; every date is a study day (*DY "
            "columns: day 1 = first dose, or enrolment if never dosed; the day before is -1); AGEGR1 is the age "
            "band; database row ids of patients are removed. The rules are in ../manifest.json.")
    readme.write_text(text + "\n", encoding="utf-8")
    return paths


def write_manifest(out: Path, body: dict[str, Any]) -> Path:
    path = out / MANIFEST_NAME
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
    return path
