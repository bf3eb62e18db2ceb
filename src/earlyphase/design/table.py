"""Decision tables: the decision for every (patients n, DLTs y) at the current level.

Letters: E escalate, S stay, D de-escalate, DU de-escalate and eliminate the level (and
all above). Interval designs (BOIN, mTPI-2, i3+3, user tables) are fully described by
such a table; 3+3 is shown for n = 3 and 6; CRM depends on all levels and has none.
A user can also supply a table (CSV with columns n, y, decision) and run or simulate it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from earlyphase.design._common import DEESCALATE, ESCALATE, STAY, api_door, whole
from earlyphase.design.base import Design
from earlyphase.design.interval import IntervalDesign, TableDesign
from earlyphase.design.three_plus_three import ThreePlusThreeDesign
from earlyphase.errors import InputError, Problem
from earlyphase.limits import MAX_SAMPLE_SIZE

LETTERS = {ESCALATE: "E", STAY: "S", DEESCALATE: "D"}
WORDS = {"E": "escalate", "S": "stay", "D": "de-escalate", "DU": "eliminate"}
_PARSE = {
    "e": ("E", False), "escalate": ("E", False), "s": ("S", False), "stay": ("S", False),
    "d": ("D", False), "de-escalate": ("D", False), "deescalate": ("D", False),
    "du": ("D", True), "eliminate": ("D", True), "de-escalate and eliminate": ("D", True),
}


@dataclass(frozen=True)
class DecisionTable:
    """Decision letter for n = 1..max_n patients and y = 0..n DLTs."""

    design: str
    max_n: int
    letters: tuple[tuple[str, ...], ...]  # letters[n-1][y]

    def rows(self) -> list[dict[str, Any]]:
        return [{"n": n, "y": y, "decision": WORDS[letter], "code": letter}
                for n, row in enumerate(self.letters, start=1) for y, letter in enumerate(row)]

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design, "max_n": self.max_n, "table": self.rows()}

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["n", "y", "decision"])
        for r in self.rows():
            w.writerow([r["n"], r["y"], r["code"]])
        return buf.getvalue()

    def summary(self) -> str:
        ns = [n for n in range(1, self.max_n + 1) if self.letters[n - 1]]
        w = 4
        lines = [f"Decision table: {self.design} (E escalate, S stay, D de-escalate, DU de-escalate and eliminate)",
                 "DLTs \\ patients" + "".join(f"{n:>{w}}" for n in ns)]
        for y in range(0, self.max_n + 1):
            cells = []
            for n in ns:
                row = self.letters[n - 1]
                cells.append(f"{row[y]:>{w}}" if y < len(row) else " " * w)
            if any(c.strip() for c in cells):
                lines.append(f"{y:>15}" + "".join(cells))
        return "\n".join(lines)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows())

    def __str__(self) -> str:
        return self.summary()

    def plot(self, path: str | Path | None = None):
        """Draw the table as a coloured grid (patients across, DLTs up); save to ``path`` if given.
        Returns the matplotlib Figure."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        codes = {"E": 0, "S": 1, "D": 2, "DU": 3}
        grid = np.full((self.max_n + 1, self.max_n), np.nan)
        for n, row in enumerate(self.letters, start=1):
            for y, letter in enumerate(row):
                grid[y, n - 1] = codes[letter]
        cmap = ListedColormap(["#4daf4a", "#ffd92f", "#ff7f00", "#e41a1c"])
        fig, ax = plt.subplots(figsize=(max(4, 0.45 * self.max_n + 1.5), max(3, 0.35 * self.max_n + 1.5)))
        ax.imshow(np.ma.masked_invalid(grid), origin="lower", cmap=cmap, vmin=-0.5, vmax=3.5, aspect="auto")
        for n, row in enumerate(self.letters, start=1):
            for y, letter in enumerate(row):
                ax.text(n - 1, y, letter, ha="center", va="center", fontsize=7)
        ax.set_xticks(range(self.max_n), [str(n) for n in range(1, self.max_n + 1)])
        ax.set_xlabel("patients treated at the current level")
        ax.set_ylabel("patients with a DLT")
        ax.set_title(f"Decision table: {self.design}")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=150)
            plt.close(fig)
        return fig


@api_door
def decision_table(design: Design, max_n: int = 12) -> DecisionTable:
    """The decision table of ``design`` for n = 1..max_n."""
    max_n = whole("max_n", max_n, 1, MAX_SAMPLE_SIZE)
    if isinstance(design, IntervalDesign):
        rule, elim = design.decision_codes(max_n)
        letters = tuple(
            tuple("DU" if elim[n, y] else LETTERS[int(rule[n, y])] for y in range(n + 1)) for n in range(1, max_n + 1)
        )
        return DecisionTable(design=design.name, max_n=max_n, letters=letters)
    if isinstance(design, ThreePlusThreeDesign):
        letters = []
        for n in range(1, max_n + 1):
            if n == 3:
                letters.append(tuple(["E", "S"] + ["DU"] * (n - 1)))
            elif n == 6:
                letters.append(tuple(["E", "E"] + ["DU"] * (n - 1)))
            else:
                letters.append(())
        return DecisionTable(design=design.name, max_n=max_n, letters=tuple(letters))
    raise InputError.single("design", design.name, "has-table",
                            f"The {design.name} design decides from all levels at once; it has no per-level decision table.")


@api_door
def read_decision_table(source: str | Path, target: float, *, label: str | None = None, **options: Any) -> TableDesign:
    """A design from a user CSV with columns n, y, decision (E/S/D/DU or the words).

    Every (n, y) with 1 <= n <= max n in the file and 0 <= y <= n must be present.
    ``target`` is used for the final MTD selection (and for elimination when the table
    has no DU entries)."""
    path = Path(source)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError.single("table", str(source), "readable-file", f"Cannot read the decision table: {exc}.") from None
    reader = csv.DictReader(io.StringIO(text))
    need = {"n", "y", "decision"}
    if reader.fieldnames is None or not need <= {f.strip().lower() for f in reader.fieldnames}:
        raise InputError.single("table", reader.fieldnames, "columns n,y,decision", "The table needs columns n, y and decision.", file=str(path))
    entries: dict[tuple[int, int], tuple[str, bool]] = {}
    problems: list[Problem] = []
    for i, row in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        try:
            n, y = int(row["n"]), int(row["y"])
        except ValueError:
            problems.append(Problem("n/y", (row.get("n"), row.get("y")), "integer", "n and y must be whole numbers.", file=str(path), row=i))
            continue
        dec = _PARSE.get(row["decision"].lower())
        if dec is None:
            problems.append(Problem("decision", row["decision"], "E|S|D|DU", "Use E, S, D or DU (or escalate/stay/de-escalate/eliminate).", file=str(path), row=i))
            continue
        if not (n >= 1 and 0 <= y <= n):
            problems.append(Problem("y", y, "0<=y<=n", f"y must lie between 0 and n = {n}.", file=str(path), row=i))
            continue
        entries[(n, y)] = dec
    if problems:
        raise InputError(problems)
    if not entries:
        raise InputError.single("table", str(source), "non-empty", "The decision table has no rows.", file=str(path))
    max_n = max(n for n, _ in entries)
    missing = [(n, y) for n in range(1, max_n + 1) for y in range(n + 1) if (n, y) not in entries]
    if missing:
        raise InputError.single("table", missing[:5], "complete", f"The table lacks {len(missing)} (n, y) entries, e.g. {missing[:5]}.", file=str(path))
    code = {"E": ESCALATE, "S": STAY, "D": DEESCALATE}
    codes = [tuple([STAY])] + [tuple(code[entries[(n, y)][0]] for y in range(n + 1)) for n in range(1, max_n + 1)]
    has_du = any(e for _, e in entries.values())
    elim = None
    if has_du:
        elim = tuple([(False,)] + [tuple(entries[(n, y)][1] for y in range(n + 1)) for n in range(1, max_n + 1)])
    return TableDesign(target=target, codes=tuple(codes), eliminate=elim, label=label or path.stem, **options)
