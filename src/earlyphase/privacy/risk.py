"""Re-identification risk of a de-identified table, and the small-cell rule of aggregate tables.

``uniqueness(rows, quasi_identifiers)``: how many subjects share their combination of quasi-identifiers
with nobody else (an outsider who knows a patient's sex, age band, site and group picks them out). The
manifest of every de-identified output states it.

Small cells: a count of 1 to ``threshold - 1`` patients in an aggregate table is shown as ``<threshold``
(zero is shown: it names nobody); its percentage and the patients behind it are removed too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

DEFAULT_SMALL_CELL = 3
SMALL_CELL_RULE = ("In aggregate tables, a count of 1 to {k_minus} patients is shown as '<{k}' with no percentage "
                   "and no list of the patients behind it; zero counts, denominators (N) and continuous summaries "
                   "are shown. Threshold k = {k}. A suppressed cell may still be worked out from a total beside it "
                   "(no complementary suppression).")


def small_cell_rule(threshold: int) -> str:
    return SMALL_CELL_RULE.format(k=threshold, k_minus=threshold - 1)


def is_small(count: int, threshold: int) -> bool:
    return 0 < count < threshold


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
