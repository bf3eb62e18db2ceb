"""Convert NCI's CTCAE v5.0 Excel file into the data files earlyphase ships (run once; re-run to check).

    python scripts/build_ctcae.py [PATH/TO/CTCAE_v5.0_2017-11-27.xlsx] [--check]

Writes ``src/earlyphase/vocab/ctcae_v5.0.csv`` (every term: MedDRA code, SOC and SOC code, the text of
grades 1-5 with ``-`` where a grade does not exist, definition, navigational note) and
``src/earlyphase/vocab/meddra_soc_codes.csv`` (SOC name -> code, from the "Other, specify" rows, which
NCI codes with their SOC's MedDRA code). ``--check`` writes nothing and exits 1 when the shipped files
differ from what the Excel file gives. The default source is ``../shared/data/`` beside the repository
(or beside the folder that holds it, for a git worktree).

NCI's CTCAE is a work of the US government; the column "CTCAE v5.0 Change" (what changed since v4.03)
is left out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VOCAB = REPO / "src" / "earlyphase" / "vocab"
NCI_FILE = "CTCAE_v5.0_2017-11-27.xlsx"
# ../shared beside the repository (or beside the folder of git worktrees that holds it)
CANDIDATES = [REPO.parent / "shared" / "data" / NCI_FILE, REPO.parent.parent / "shared" / "data" / NCI_FILE]
DEFAULT_SOURCE = next((p for p in CANDIDATES if p.is_file()), CANDIDATES[0])

TERMS_HEADER = [
    "NCI Common Terminology Criteria for Adverse Events (CTCAE) v5.0, published 2017-11-27: every term.",
    "Source: NCI's CTCAE_v5.0_2017-11-27.xlsx (sheet 'CTCAE v5.0 Clean Copy'), converted by scripts/build_ctcae.py;",
    "do not edit by hand. CTCAE is a work of the US government (National Cancer Institute), not under copyright.",
    "grade_1..grade_5: NCI's text of each grade, '-' where the term defines no such grade; white space made single.",
    "soc_code: the MedDRA code NCI gives the SOC's 'Other, specify' term (the SOC's own MedDRA code).",
]
SOC_HEADER = [
    "MedDRA system organ classes used by CTCAE v5.0 and their codes.",
    "Taken by scripts/build_ctcae.py from the MedDRA code NCI's CTCAE_v5.0_2017-11-27.xlsx gives each SOC's",
    "'<SOC> - Other, specify' term; do not edit by hand.",
]


def build(source: Path) -> dict[Path, str]:
    """The files and their text, converted from NCI's Excel file at ``source``."""
    sys.path.insert(0, str(REPO / "src"))
    from earlyphase.vocab.ctcae import load_ctcae_excel, write_ctcae_csv, write_soc_codes_csv

    dictionary = load_ctcae_excel(source, version="5.0")
    return {
        VOCAB / "ctcae_v5.0.csv": write_ctcae_csv(dictionary, TERMS_HEADER),
        VOCAB / "meddra_soc_codes.csv": write_soc_codes_csv(dictionary, SOC_HEADER),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE, help="NCI's CTCAE v5.0 Excel file")
    parser.add_argument("--check", action="store_true", help="compare with the shipped files; write nothing")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"no CTCAE Excel file at {args.source}", file=sys.stderr)
        return 2
    files = build(args.source)
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(REPO)} differs from {args.source.name}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path.relative_to(REPO)} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
