"""Fixtures of the twin tests: the bundled study, the default-seed twin, and a database holding it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def study():
    from earlyphase.protocol import load_study

    return load_study("nk-hcc-ltx")


@pytest.fixture(scope="session")
def twin(study):
    """The twin of the default seed, as generated (not yet loaded)."""
    from earlyphase.twin import DEFAULT_SEED, generate_twin

    return generate_twin(study, DEFAULT_SEED)


@pytest.fixture(scope="session")
def twin_db(tmp_path_factory):
    """A SQLite trial database initialised with nk-hcc-ltx and holding the default-seed twin (loaded via capture)."""
    from earlyphase.capture import initialise
    from earlyphase.twin import load_twin

    path = tmp_path_factory.mktemp("twin") / "trial.db"
    initialise(path, "nk-hcc-ltx", "tester").close()
    load_twin(path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def twin_rows(twin_db):
    """Every data table of ``twin_db`` read back from the database, as ORM objects per table name."""
    from earlyphase.records import make_engine, read_session
    from earlyphase.twin.summary import _read

    engine = make_engine(twin_db)
    try:
        with read_session(engine) as session:
            rows = _read(session)
            for objs in rows.values():
                for o in objs:
                    if o in session:  # "infusions" names the administrations list too
                        session.expunge(o)
    finally:
        engine.dispose()
    return rows
