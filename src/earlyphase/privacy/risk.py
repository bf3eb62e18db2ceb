"""Re-identification risk of a de-identified table, and the small-cell rule of aggregate tables.

``uniqueness(rows, quasi_identifiers)``: how many subjects share their combination of quasi-identifiers
with nobody else (an outsider who knows a patient's sex, age band, site and group picks them out). The
manifest of every de-identified output states it.

Small cells: a count of 1 to ``threshold - 1`` patients in an aggregate table is shown as ``<threshold``
(zero is shown: it names nobody); its percentage and the patients behind it are removed too.

Complementary suppression (``complementary_cells``): a row or column holding exactly one suppressed count
would give it back by subtraction from a total beside it (the row's "Total" column, or a total the reader
knows); so a second count in that row or column is suppressed too, the smallest there, shown as ``>=k``
(true: it was not small, and together with the ``<k`` cell it no longer pins either down). Repeated until
no row or column holds a single suppressed count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

DEFAULT_SMALL_CELL = 3
SMALL_CELL_RULE = ("In aggregate tables, a count of 1 to {k_minus} patients is shown as '<{k}' with no percentage "
                   "and no list of the patients behind it; zero counts, denominators (N) and continuous summaries "
                   "are shown. Threshold k = {k}. Complementary suppression: where a row or column of a table holds one "
                   "suppressed count, its smallest other count is shown as '>={k}' too, so neither can be worked out "
                   "from a total.")


def small_cell_rule(threshold: int) -> str:
    return SMALL_CELL_RULE.format(k=threshold, k_minus=threshold - 1)


def is_small(count: int, threshold: int) -> bool:
    return 0 < count < threshold


def complementary_cells(counts: Sequence[Sequence[int | None]], suppressed: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Cells (row, column) to suppress besides ``suppressed`` so that no row or column holds exactly one.

    ``counts[i][j]`` is the count shown in a cell, None where the cell holds no count (a label, a
    median). A complement is the smallest unsuppressed non-zero count of the row or column (a zero is
    used only when there is no other: a known zero would give nothing away, but an unknown one would);
    a row or column with no other count cannot be protected and is left as it is.
    """
    hidden = set(suppressed)
    extra: set[tuple[int, int]] = set()
    n_rows = len(counts)
    n_cols = max((len(r) for r in counts), default=0)

    def cells(line: int, by_row: bool) -> list[tuple[int, int]]:
        if by_row:
            return [(line, j) for j in range(len(counts[line])) if counts[line][j] is not None]
        return [(i, line) for i in range(n_rows) if line < len(counts[i]) and counts[i][line] is not None]

    changed = True
    while changed:
        changed = False
        for by_row, size in ((True, n_rows), (False, n_cols)):
            for line in range(size):
                members = cells(line, by_row)
                if sum(c in hidden for c in members) != 1:
                    continue
                free = [c for c in members if c not in hidden]
                if not free:
                    continue
                pick = min(free, key=lambda c: (counts[c[0]][c[1]] == 0, counts[c[0]][c[1]], c))
                hidden.add(pick)
                extra.add(pick)
                changed = True
    return extra


@dataclass(frozen=True)
class Uniqueness:
    """Subjects unique on ``quasi_identifiers``, and the smallest group sharing one combination (k)."""

    quasi_identifiers: tuple[str, ...]
    subjects: int
    unique: int
    smallest_group: int

    @property
    def share(self) -> float:
        return self.unique / self.subjects if self.subjects else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"quasi_identifiers": list(self.quasi_identifiers), "subjects": self.subjects,
                "unique_subjects": self.unique, "unique_share": round(self.share, 4),
                "smallest_group_k": self.smallest_group}


def uniqueness(rows: Iterable[Mapping[str, Any]], quasi_identifiers: Sequence[str]) -> Uniqueness:
    keys = [tuple(r.get(q) for q in quasi_identifiers) for r in rows]
    sizes = Counter(keys)
    unique = sum(1 for k in keys if sizes[k] == 1)
    return Uniqueness(tuple(quasi_identifiers), len(keys), unique, min(sizes.values()) if sizes else 0)


WITHHELD = None  # a quasi-identifier withheld from one row (written empty): it matches any value


def matches(published: Sequence[Mapping[str, Any]], true_rows: Sequence[Mapping[str, Any]],
            quasi_identifiers: Sequence[str]) -> list[int]:
    """Per subject, how many published rows an outsider who knows the subject's (generalised) values cannot
    tell apart from theirs: rows equal on every quasi-identifier, a withheld value matching anything."""
    out = []
    for truth in true_rows:
        out.append(sum(all(row.get(q) is WITHHELD or row.get(q) == truth.get(q) for q in quasi_identifiers)
                       for row in published))
    return out


@dataclass(frozen=True)
class Anonymity:
    """What ``k_anonymise`` did and achieved: the target k, the smallest number of rows a subject is hidden
    among (achieved k), the subjects still unique, and the rows whose values were withheld."""

    quasi_identifiers: tuple[str, ...]
    target_k: int
    subjects: int
    achieved_k: int
    unique: int
    withheld_rows: int
    withheld_fields: tuple[str, ...]

    @property
    def share(self) -> float:
        return self.unique / self.subjects if self.subjects else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"quasi_identifiers": list(self.quasi_identifiers), "subjects": self.subjects,
                "unique_subjects": self.unique, "unique_share": round(self.share, 4),
                "smallest_group_k": self.achieved_k, "target_k": self.target_k,
                "target_met": self.achieved_k >= self.target_k or self.subjects < self.target_k,
                "rows_with_values_withheld": self.withheld_rows, "fields_withheld": list(self.withheld_fields)}


def k_anonymise(rows: Sequence[Mapping[str, Any]], quasi_identifiers: Sequence[str], k: int,
                withhold: Sequence[str]) -> tuple[list[dict[str, Any]], Anonymity]:
    """Withhold the ``withhold`` fields of as few rows as this greedy rule finds until every subject is hidden
    among at least ``k`` rows (``matches``).

    Rule: while some subject is hidden among fewer than ``k`` rows, withhold the fields of those subjects;
    then, within each combination of the fields that are never withheld (the group, say), withhold as many
    more rows (the ones in the smallest combinations first, then in table order) as make at least ``k``
    withheld rows there, so a withheld row cannot be recognised as the only one of its kind. Fields not in
    ``withhold`` are kept as they are: a subject alone on them stays unique (the result says so).
    """
    published = [dict(r) for r in rows]
    kept = [q for q in quasi_identifiers if q not in withhold]
    for _ in range(len(published) + 1):
        counts = matches(published, rows, quasi_identifiers)
        exposed = [i for i, c in enumerate(counts) if c < k and any(published[i][f] is not WITHHELD for f in withhold)]
        if not exposed:
            break
        for i in exposed:
            for f in withhold:
                published[i][f] = WITHHELD
        by_kept: dict[tuple, list[int]] = {}
        for i, row in enumerate(published):
            by_kept.setdefault(tuple(row.get(q) for q in kept), []).append(i)
        for members in by_kept.values():
            hidden = [i for i in members if all(published[i][f] is WITHHELD for f in withhold)]
            if not hidden or len(hidden) >= k:
                continue
            rest = sorted((i for i in members if i not in hidden), key=lambda i: (counts[i], i))
            for i in rest[:k - len(hidden)]:
                for f in withhold:
                    published[i][f] = WITHHELD
    counts = matches(published, rows, quasi_identifiers)
    withheld = sum(1 for row, before in zip(published, rows)
                   if any(row[f] is WITHHELD and before.get(f) is not WITHHELD for f in withhold))
    result = Anonymity(tuple(quasi_identifiers), k, len(rows), min(counts) if counts else 0,
                       sum(1 for c in counts if c == 1), withheld, tuple(withhold))
    return published, result
