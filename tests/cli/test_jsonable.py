"""The one JSON rule the CLI's --format json and the demo's summary.json share."""

from __future__ import annotations

import json
from datetime import date

import numpy as np

from earlyphase.jsonable import to_jsonable


def test_numpy_dates_and_non_finite_numbers_become_json():
    data = {"median": np.float64("nan"), "upper": float("inf"), "n": np.int64(3), "times": np.array([1.5, 2.0]),
            "cutoff": date(2025, 6, 20), 4: (np.int8(1), float("-inf"))}
    out = to_jsonable(data)
    assert out == {"median": None, "upper": None, "n": 3, "times": [1.5, 2.0], "cutoff": "2025-06-20", "4": [1, None]}
    assert type(out["n"]) is int
    json.dumps(out, allow_nan=False)  # strict JSON: would raise on any NaN left behind
