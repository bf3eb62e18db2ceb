"""Where the CDISC MSG pilot files are (../shared/data/cdisc-msg beside the repository; CI provides them), and
the comparison the CDISC tests share."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = [REPO.parent / "shared" / "data" / "cdisc-msg", Path("/work/shared/data/cdisc-msg")]


def msg_dir() -> Path:
    for candidate in CANDIDATES:
        if (candidate / "schema" / "dataset.schema.json").exists():
            return candidate
    pytest.skip("the CDISC MSG pilot files are not here (../shared/data/cdisc-msg); CI provides them")


# Every pilot dataset shipped as both XPT and Dataset-JSON (relative to the cdisc-msg folder).
PILOT = ["adam/adsl", "adam/adae", "adam/adtte", "sdtm/dm", "sdtm/ae", "sdtm/ds", "sdtm/ex"]


def same_value(a, b) -> bool:
    """Equal values; a number equals the same number whatever its Python type (1 == 1.0), NaN never appears."""
    if isinstance(a, float) and math.isnan(a) or isinstance(b, float) and math.isnan(b):
        return False
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
        and not isinstance(b, bool) and a == b)


def value_differences(left, right) -> list[str]:
    """Every cell where two datasets differ (same columns in the same order assumed), as readable lines."""
    assert [c.name for c in left.columns] == [c.name for c in right.columns]
    assert left.records == right.records
    out = []
    for number, (a_row, b_row) in enumerate(zip(left.rows, right.rows), start=1):
        for column, a, b in zip(left.columns, a_row, b_row):
            if not same_value(a, b):
                out.append(f"row {number} {column.name}: {a!r} != {b!r}")
    return out
