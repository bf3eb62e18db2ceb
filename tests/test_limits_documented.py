"""docs/conventions.md states every bound of earlyphase.limits with the value the code uses."""

from __future__ import annotations

from pathlib import Path

from earlyphase import limits

DOC = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text(encoding="utf-8")
TABLE = DOC[DOC.index("## Limits at every door"):]


def test_every_bound_is_in_the_table_with_its_value():
    for name in ("MAX_FILE_BYTES", "MAX_ROWS", "MAX_COLUMNS", "MAX_CELL_CHARS", "MAX_STUDY_FILE_BYTES", "INT_MIN",
                 "INT_MAX", "MAX_SIM_TRIALS", "MAX_SAMPLE_SIZE", "MAX_PERMUTATIONS", "MAX_USERNAME_CHARS", "SEED_MAX"):
        assert str(getattr(limits, name)) in TABLE, f"{name} = {getattr(limits, name)} is not in docs/conventions.md"
    assert f"{limits.MAX_ABS_FLOAT:g}" in TABLE


def test_every_bounded_option_is_in_the_table_with_its_range():
    for option, (low, high) in limits.OPTION_BOUNDS.items():
        row = next((line for line in TABLE.splitlines() if f"`{option}`" in line), None)
        assert row is not None, f"{option} is bounded in limits.py but not documented"
        assert str(high) in row and str(low) in row, (option, row)
