"""Fixtures of the external-evidence tests: a trial database (the seed study's synthetic twin, loaded via capture)
and an external arm rebuilt from the published CheckMate 067 curve."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def trial_db(tmp_path_factory):
    from earlyphase.capture import initialise
    from earlyphase.twin import load_twin

    path = tmp_path_factory.mktemp("external-twin") / "trial.db"
    initialise(path, "nk-hcc-ltx", "tester").close()
    load_twin(path)
    return path


@pytest.fixture(scope="session")
def external_ipd(tmp_path_factory):
    from earlyphase.external import reconstruct_ipd
    from earlyphase.external.readers import read_curve_csv, read_risk_table_csv

    result = reconstruct_ipd(read_curve_csv(DATA / "checkmate067-nivolumab-curve.csv"),
                             read_risk_table_csv(DATA / "checkmate067-at-risk.csv"), arm="nivolumab")
    path = tmp_path_factory.mktemp("external-ipd") / "nivolumab.csv"
    result.to_frame().to_csv(path, index=False)
    return path
