"""Traceable tables: every number knows the patients and source records behind it.

A ``Cell`` carries its text and, for counts and medians, the USUBJIDs and the source records
(``table#id``, e.g. ``adverse_events#12``) that produced it. A ``TraceTable`` renders to HTML with
each traced cell linked to an appendix entry (and a hover ``title``) listing them, and to CSV
(plain values) for reuse.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Cell:
    """One table cell: ``text``; ``evidence`` maps USUBJID -> source records (empty: not traced)."""

    text: str
    evidence: Mapping[str, tuple[str, ...]] | None = None
    align: str = "right"

    @property
    def traced(self) -> bool:
        return self.evidence is not None

    @property
    def subjects(self) -> list[str]:
        return sorted(self.evidence or {})


def text(value: object, align: str = "left") -> Cell:
    return Cell("" if value is None else str(value), None, align)


def count_cell(evidence: Mapping[str, Sequence[str]], denominator: int | None = None, percent: bool = True) -> Cell:
    """``n`` or ``n (x%)`` of the patients in ``evidence`` (USUBJID -> records)."""
    n = len(evidence)
    if denominator and percent:
        label = f"{n} ({100.0 * n / denominator:.0f}%)"
    else:
        label = str(n)
    return Cell(label, {k: tuple(v) for k, v in evidence.items()})


@dataclass(frozen=True)
class TraceTable:
    """A titled table of cells; ``header`` rows may span columns ((text, colspan) pairs)."""

    key: str  # file name and anchor prefix: e.g. "ae_overview"
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    header_groups: Sequence[tuple[str, int]] = ()
    notes: Sequence[str] = ()
    section_rows: frozenset[int] = field(default_factory=frozenset)  # rows rendered as sub-headings
    bold_rows: frozenset[int] = field(default_factory=frozenset)  # rows rendered bold (e.g. a SOC above its terms)

    def to_frame(self):
        import pandas as pd

        cols = list(self.columns)
        if self.header_groups:
            tops = []
            for label, span in self.header_groups:
                tops.extend([label] * span)
            cols = [f"{t} {c}".strip() if t else c for t, c in zip(tops, cols)]
        return pd.DataFrame([[c.text for c in row] for row in self.rows], columns=cols)

    def write_csv(self, path) -> None:
        self.to_frame().to_csv(path, index=False)

    def evidence_entries(self) -> list[tuple[str, str, Cell]]:
        """(anchor id, description, cell) for every traced cell."""
        out = []
        for i, row in enumerate(self.rows):
            label = " / ".join(c.text for c in row[:1] if c.text) or f"row {i + 1}"
            for j, cell in enumerate(row):
                if cell.traced and cell.evidence:
                    out.append((f"{self.key}-r{i}c{j}", f"{self.title}: {label}, {self.columns[j]}", cell))
        return out

    def to_html(self, anchor_map: Mapping[str, str] | None = None) -> str:
        """HTML table; traced cells link to ``#ev-<anchor>`` (``anchor_map`` merges identical evidence)."""
        e = html.escape
        anchor_map = anchor_map or {}
        parts = [f'<table class="data" id="tbl-{e(self.key)}">', "<thead>"]
        if self.header_groups:
            parts.append("<tr>" + "".join(f'<th colspan="{span}">{e(label)}</th>' for label, span in self.header_groups) + "</tr>")
        parts.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in self.columns) + "</tr></thead><tbody>")
        for i, row in enumerate(self.rows):
            if i in self.section_rows:
                parts.append(f'<tr class="section"><td colspan="{len(self.columns)}">{e(row[0].text)}</td></tr>')
                continue
            tds = []
            for j, cell in enumerate(row):
                cls = f' class="{cell.align}"'
                if cell.traced and cell.evidence:
                    anchor = anchor_map.get(f"{self.key}-r{i}c{j}", f"{self.key}-r{i}c{j}")
                    subjects = cell.subjects
                    title = (f"{len(subjects)} patient(s): " + ", ".join(subjects)) if subjects else "no patients"
                    tds.append(f'<td{cls}><a class="trace" href="#ev-{anchor}" title="{e(title)}">{e(cell.text)}</a></td>')
                elif cell.traced:
                    tds.append(f'<td{cls} title="no patients">{e(cell.text)}</td>')
                else:
                    tds.append(f"<td{cls}>{e(cell.text)}</td>")
            open_tr = '<tr class="bold">' if i in self.bold_rows else "<tr>"
            parts.append(open_tr + "".join(tds) + "</tr>")
        parts.append("</tbody></table>")
        for note in self.notes:
            parts.append(f'<p class="note">{e(note)}</p>')
        return "\n".join(parts)
