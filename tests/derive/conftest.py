"""Fixtures of the derive tests: the hand-made trial builder."""

from __future__ import annotations

import pytest

from derive_trial_builder import TrialBuilder, study_with  # noqa: F401  (re-exported for the tests)


@pytest.fixture
def trial():
    return TrialBuilder()
