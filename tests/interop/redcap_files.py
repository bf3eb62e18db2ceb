"""Where the REDCap test projects are (../shared/data/redcap beside the repository; CI provides them), and the
helpers the REDCap tests share."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = [REPO.parent / "shared" / "data" / "redcap", Path("/work/shared/data/redcap")]
PROJECTS = ["checkboxes-1", "clinical-trial-1", "dag", "longitudinal", "potentially-problematic-dictionary",
            "potentially-problematic-values", "repeating-instruments", "validation-types-1"]


def redcap_dir() -> Path:
    for candidate in CANDIDATES:
        if (candidate / "longitudinal" / "dictionary.csv").exists():
            return candidate
    pytest.skip("the REDCap test projects are not here (../shared/data/redcap); CI provides them")


def write_patients(records: Path, out: Path) -> list[str]:
    """A patients.csv enrolling every record of a REDCap records file (REDCap holds no Phase I enrolment: the
    person gives it); the data access group, when there is one, is the site."""
    with records.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    record_id = next(iter(rows[0]))
    ids = list(dict.fromkeys(r[record_id] for r in rows))
    site = {r[record_id]: r.get("redcap_data_access_group") or "SITE1" for r in rows}
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["subject_id", "site", "sex", "birth_year", "ecog", "consent_date"])
        for i in ids:
            writer.writerow([i, site[i], "F", 1970, 0, "2020-01-02"])
    return ids


def db_content(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (the audit log too), in key order."""
    from sqlalchemy import select

    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import Base

    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            return {table.name: [tuple(r) for r in session.execute(
                select(table).order_by(*table.primary_key.columns)).all()] for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()
