"""A two-site trial database for the access tests (SQLite and PostgreSQL via the shared ``engine``)."""

from __future__ import annotations

import pytest
from access_helpers import TODAY, two_site_study

from earlyphase.capture import initialise


@pytest.fixture
def trial(engine, tmp_path):
    return initialise(engine, two_site_study(tmp_path), "founder", today=TODAY)
