"""The web tests' world: a two-site trial (SQLite and PostgreSQL), subjects at each site, one user per role."""

from __future__ import annotations

import pytest
from web_helpers import ELIGIBLE, PASSWORD, SUBJECTS, TODAY, two_site_study

from earlyphase.access import ROLES, add_user
from earlyphase.capture import initialise


@pytest.fixture
def world(engine, tmp_path):
    """The engine, with subjects at S01 and S02 and users '<role>1' holding ROLE@S01 (TOTP secrets returned)."""
    trial = initialise(engine, two_site_study(tmp_path), "founder", today=TODAY)
    for site, subjects in SUBJECTS.items():
        for subject in subjects:
            trial.enrol_patient(subject_id=subject, site=site, sex="F", birth_year=1961, ecog=0,
                                consent_date="2015-01-10", eligibility=ELIGIBLE)
    secrets = {}
    for role in ROLES:
        account = add_user(engine, f"{role.replace('_', '')}1", PASSWORD, roles=[f"{role}@S01"], actor="founder")
        secrets[account.username] = account.totp_secret
    add_user(engine, "roaming", PASSWORD, roles=["monitor@ALL"], actor="admin1")
    return engine, secrets


@pytest.fixture
def client(world):
    from fastapi.testclient import TestClient

    from earlyphase.web.app import create_app

    engine, _ = world
    with TestClient(create_app(engine, today=TODAY)) as c:
        yield c
