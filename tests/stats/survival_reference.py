"""Shared helpers for the statistics tests: load the committed R reference files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference" / "data"
RTOL = 1e-10  # the tolerance for KM, Nelson-Aalen, log-rank family and RMST
ATOL = 1e-12  # for values that are exactly zero in R (O - E, variances of empty groups)


def load_reference(name: str) -> dict:
    path = REFERENCE_DIR / f"{name}.json"
    with path.open() as fh:
        data = json.load(fh)
    assert data["r_version"].startswith("R version")
    assert data["survival_version"]
    return data


def reference_names(prefix: str) -> list[str]:
    return sorted(p.stem for p in REFERENCE_DIR.glob(f"{prefix}_*.json"))


def assert_close(actual, expected, what: str = "") -> None:
    """Relative agreement to RTOL; NaN (R's NA/NaN) must match NaN; infinities must match."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


@pytest.fixture
def ref():
    return load_reference
