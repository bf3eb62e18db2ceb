"""Fixtures for the records tests (helpers live in records_helpers.py)."""

from __future__ import annotations

import pytest

from records_helpers import write_sample_trial


@pytest.fixture
def sample_trial(engine):
    """(engine, ids) with the sample trial written and audited."""
    return engine, write_sample_trial(engine)
