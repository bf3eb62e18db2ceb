"""The report's appendix as a compact listing that works on paper as well as on screen.

On screen a traced number shows its patients on hover and links here; on paper there is no hover, so the
listing must be findable by what a reader sees: table number, row, column. It has two parts:

- *Patients behind each number*: one line per table row, the patients of each column (by subject id),
  a column with the same patients as an earlier one says so instead of repeating them.
- *Records of each patient*: every source record the numbers rest on, once per patient.

Every traced cell keeps its own anchor (``ev-<table>-r<i>c<j>``), so no link in the HTML or the PDF is dead.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from earlyphase.report.trace import TraceTable


@dataclass(frozen=True)
class Span:
    """One column's patients in a row of the listing."""

    anchor: str
    column: str
    value: str
    subjects: tuple[str, ...]  # USUBJIDs
    same_as: str | None = None  # an earlier column of the row with exactly these patients
    everyone: bool = False  # every patient of the column (its header's N): no need to list them again


@dataclass(frozen=True)
class Line:
    table: int  # the table's number in the report
    row: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class PatientRecords:
    subject: str  # USUBJID
    records: tuple[tuple[str, str], ...]  # (source table, "#3, #5") or ("", a described record), first seen first


# a set of at least this many patients is written out once per table; later cells with the same set refer to it
LIST_ONCE = 3


def short_column(column: str) -> str:
    """'A (N=3)' -> 'A', 'A (N=3) Any grade' -> 'A any grade': the column as a reader names it."""
    m = re.fullmatch(r"(.*?)\s*\(N=\d+\)\s*(.*)", column)
    if m is None:
        return column
    head, rest = m.group(1), m.group(2)
    return f"{head} {rest[:1].lower()}{rest[1:]}" if rest else head


def column_labels(table: TraceTable) -> list[str]:
    """Each column's header as a reader sees it, with its group header in front ('A (N=3) Any grade')."""
    cols = list(table.columns)
    if table.header_groups:
        tops: list[str] = []
        for label, span in table.header_groups:
            tops.extend([label] * span)
        cols = [f"{t} {c}".strip() if t else c for t, c in zip(tops, cols)]
    return cols


def column_size(label: str) -> int | None:
    """The N a column header states ('B (N=5)' -> 5), else None."""
    m = re.search(r"\(N=(\d+)\)", label)
    return int(m.group(1)) if m else None


def number_lines(tables: Sequence[TraceTable]) -> list[Line]:
    """The lines of 'patients behind each number', table by table (numbered 1.. in the given order)."""
    lines = []
    for number, table in enumerate(tables, start=1):
        labels = column_labels(table)
        section = ""  # a sub-heading row ('ECOG performance status') names the rows under it ('0', '1')
        parent = ""
        listed: dict[tuple[str, ...], str] = {}  # patient sets written out in this table -> where
        for i, row in enumerate(table.rows):
            first = row[0].text if row else ""
            if i in table.section_rows:
                section = first.strip()
                continue
            # an indented row belongs to the row above it ('Sex, n (%)' then '   Male')
            indented = first.startswith(" ")
            if not indented and first.strip():
                parent = first.strip()
            label = " · ".join(c.text.strip() for c in row[:1 if table.columns[0] != "Endpoint" else 2] if c.text)
            label = label or f"row {i + 1}"
            if indented and parent:
                label = f"{parent}: {label}"
            label = f"{section}: {label}" if section else label
            spans: list[Span] = []
            seen: dict[tuple[str, ...], str] = {}
            for j, cell in enumerate(row):
                if not (cell.traced and cell.evidence):
                    continue
                subjects = tuple(cell.subjects)
                column = short_column(labels[j])
                earlier = set().union(*(sp.subjects for sp in spans)) if len(spans) >= 2 else None
                same = seen.get(subjects) or ("all of the above" if earlier == set(subjects) else None)
                everyone = column_size(labels[j]) == len(subjects)
                if same is None and not everyone and subjects in listed:
                    same = listed[subjects]  # listed in full on an earlier row of this table
                spans.append(Span(f"{table.key}-r{i}c{j}", column, cell.text, subjects, same, everyone))
                seen.setdefault(subjects, column)
                if same is None and not everyone and len(subjects) >= LIST_ONCE:
                    listed.setdefault(subjects, f"{label}, {column}")
            if spans:
                lines.append(Line(number, label, tuple(spans)))
    return lines


def patient_records(tables: Sequence[TraceTable]) -> list[PatientRecords]:
    """Every record behind any number, once per patient, grouped by source table (``adverse_events #3, #5``)."""
    by_patient: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for table in tables:
        for row in table.rows:
            for cell in row:
                for subject, records in (cell.evidence or {}).items():
                    groups = by_patient[subject]
                    for rec in records:
                        m = re.fullmatch(r"([a-z_]+)#(\d+)", rec)
                        kind, item = (m.group(1), f"#{m.group(2)}") if m else (rec.split(" ", 1)[0], rec)
                        items = groups.setdefault(kind, [])
                        if item not in items:
                            items.append(item)
    out = []
    for subject in sorted(by_patient):
        groups = by_patient[subject]
        records = []
        for kind, items in groups.items():
            if all(i.startswith("#") for i in items):
                items = sorted(items, key=lambda s: int(s[1:]))
            if all(i.startswith("#") for i in items):
                records.append((kind, compact_ids(items)))
            else:  # a described record (e.g. an ADTTE row) speaks for itself
                records.append(("", "; ".join(items)))
        out.append(PatientRecords(subject, tuple(records)))
    return out


def display_id(subject: str, study_id: str) -> str:
    """The subject id as a reader sees it: without the study prefix every USUBJID shares."""
    prefix = f"{study_id}-"
    return subject[len(prefix):] if subject.startswith(prefix) else subject


def compact_ids(ids: Sequence[str]) -> str:
    """'SYN-001, SYN-002, SYN-003, SYN-005' -> 'SYN-001–003, SYN-005': runs of three or more consecutive numbers
    with the same prefix and width are written as a range (ids sort as text, so a run is also a text run)."""
    out: list[str] = []
    run: list[tuple[str, str, int]] = []  # (id, prefix, number) of the current run

    def flush():
        if len(run) >= 3:
            out.append(f"{run[0][0]}–{run[-1][0][len(run[-1][1]):]}")
        else:
            out.extend(r[0] for r in run)
        run.clear()

    for subject in ids:
        m = re.fullmatch(r"(.*?)(\d+)", subject)
        if m is None:
            flush()
            out.append(subject)
            continue
        prefix, digits = m.group(1), m.group(2)
        if run and (run[-1][1] != prefix or len(run[-1][0]) != len(subject) or run[-1][2] + 1 != int(digits)):
            flush()
        run.append((subject, prefix, int(digits)))
    flush()
    return ", ".join(out)
