"""Where the ClinicalTrials.gov files are (../shared/data/ctgov beside the repository; CI provides them), and the
databases the ClinicalTrials.gov and ODM tests share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = [REPO.parent / "shared" / "data" / "ctgov", Path("/work/shared/data/ctgov")]
RECORD = "NCT02513394.json"
SPEC = "ctg-oas-v2.yaml"
USER = "coordinator1"


def ctgov_dir() -> Path:
    for candidate in CANDIDATES:
        if (candidate / SPEC).exists() and (candidate / RECORD).exists():
            return candidate
    pytest.skip("the ClinicalTrials.gov files are not here (../shared/data/ctgov); CI provides them")


def spec():
    from earlyphase.interop.ctgov import read_spec

    return read_spec(ctgov_dir() / SPEC)


def record() -> dict:
    return json.loads((ctgov_dir() / RECORD).read_text(encoding="utf-8"))


def build_study_db(directory: Path, study: str) -> str:
    """A SQLite trial of a bundled study holding its synthetic data (the twin for the seed study), through
    capture; returns its URL."""
    from earlyphase.capture import initialise

    url = f"sqlite:///{directory / 'trial.db'}"
    trial = initialise(url, study, USER)
    try:
        if study == "nk-hcc-ltx":
            from earlyphase.twin import load_twin

            load_twin(trial.engine, username=USER)
        else:
            from earlyphase.synthetic import load_synthetic, read_profile

            load_synthetic(trial.engine, read_profile(study))
    finally:
        trial.close()
    return url


def row_counts_and_audit_head(url: str) -> tuple[dict[str, int], str | None]:
    """Rows of every table and the newest audit hash: what 'the database is unchanged' compares."""
    from sqlalchemy import func, select

    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import AuditEntry, Base

    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            counts = {t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
                      for t in Base.metadata.sorted_tables}
            head = session.execute(select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    finally:
        engine.dispose()
    return counts, head
