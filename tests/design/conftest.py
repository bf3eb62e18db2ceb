import csv
from pathlib import Path

import pytest

REFERENCE = Path(__file__).parent / "reference"


def read_reference(name: str) -> list[dict[str, str]]:
    """Rows of a reference CSV written by reference/make_reference.R (comment lines skipped)."""
    lines = [ln for ln in (REFERENCE / name).read_text().splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(lines))


@pytest.fixture
def reference():
    return read_reference
