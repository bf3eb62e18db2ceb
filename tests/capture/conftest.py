"""Fixtures for capture tests: an initialised trial (on SQLite and PostgreSQL via ``engine``)
with a fixed 'today', and a patient at each stage of the case report form."""

from __future__ import annotations

import pytest
from capture_helpers import ALLOCATED, FIRST_INFUSION, PATIENT, TODAY

from earlyphase.capture import initialise


@pytest.fixture
def trial(engine):
    t = initialise(engine, "nk-hcc-ltx", "tester", today=TODAY)
    return t


@pytest.fixture
def enrolled(trial):
    """P01 enrolled (consent 2015-01-10)."""
    trial.enrol_patient(**PATIENT)
    return trial


@pytest.fixture
def allocated(enrolled):
    """P01 allocated to group B (4 x 5e9 cells every 14 days) on 2015-01-12."""
    enrolled.allocate_patient("P01", "B", ALLOCATED)
    return enrolled


@pytest.fixture
def treated(allocated):
    """P01 with administration 1 of group B on 2015-01-15."""
    allocated.record_administration("P01", 1, FIRST_INFUSION, 5e9)
    return allocated


@pytest.fixture(scope="session")
def ctcae_v5_xlsx():
    from capture_helpers import ctcae_v5_path

    path = ctcae_v5_path()
    if path is None:
        pytest.skip("NCI's CTCAE v5.0 Excel is not here (../shared/data/CTCAE_v5.0_2017-11-27.xlsx); CI provides it")
    return path
