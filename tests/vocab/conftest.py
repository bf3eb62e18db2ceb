"""Where NCI's official CTCAE v5.0 Excel file is (shared beside the repository, never copied into it)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = [REPO.parent / "shared" / "data" / "CTCAE_v5.0_2017-11-27.xlsx",
              Path("/work/shared/data/CTCAE_v5.0_2017-11-27.xlsx")]


@pytest.fixture(scope="session")
def ctcae_v5_xlsx() -> Path:
    for path in CANDIDATES:
        if path.is_file():
            return path
    pytest.skip("NCI's CTCAE v5.0 Excel is not here (../shared/data/CTCAE_v5.0_2017-11-27.xlsx); CI provides it")
