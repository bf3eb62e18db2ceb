"""Helpers of the report tests (a uniquely named module: several test folders have a conftest)."""

from __future__ import annotations

import os

import pytest


def chromium_or_skip() -> str:
    """Path of headless Chromium; in CI (CI=true) a missing Chromium is a failure, elsewhere a skip."""
    from earlyphase.errors import ConfigurationError
    from earlyphase.report.pdf import find_chromium

    try:
        return find_chromium()
    except ConfigurationError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium is required in CI: {exc}")
        pytest.skip(f"Chromium not installed (outside CI): {exc}")
