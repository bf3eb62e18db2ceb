"""Refresh the demo report's page images kept as test artefacts (tests/report/data/layout/).

Run from the repository root after a deliberate change to the report's layout, and look at the new pages
(they are PNG files) before committing them:

    python scripts/update_report_layout.py

It builds the seed study's synthetic twin in a temporary database, prints its report to PDF with headless
Chromium (as ``earlyphase demo`` does), renders every page with pdftoppm and writes page-NN.png and
layout.json. tests/report/test_report_layout.py compares a fresh rendering with these files.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "report"))

from page_layout import ARTEFACTS, render_pages, write_manifest  # noqa: E402


def main() -> int:
    from earlyphase.capture import initialise
    from earlyphase.report import report_from_database
    from earlyphase.twin import load_twin

    with tempfile.TemporaryDirectory(prefix="earlyphase-layout-") as tmp:
        db = Path(tmp) / "trial.db"
        initialise(db, "nk-hcc-ltx", "tester").close()  # as the tests' fixture
        load_twin(db)
        result = report_from_database(str(db), Path(tmp) / "report", pdf=True, identified=True)  # as the fixture
        pages = render_pages(result.pdf, ARTEFACTS)
    write_manifest(pages, ARTEFACTS, "the nk-hcc-ltx twin (default seed), report_from_database(pdf=True, identified=True)")
    print(f"{len(pages)} pages written to {ARTEFACTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
