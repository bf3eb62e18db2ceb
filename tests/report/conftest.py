"""Fixtures of the report tests: the twin loaded into a database (via capture) and its report."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def twin_db_path(tmp_path_factory):
    from earlyphase.capture import initialise
    from earlyphase.twin import load_twin

    path = tmp_path_factory.mktemp("report-twin") / "trial.db"
    initialise(path, "nk-hcc-ltx", "tester").close()
    load_twin(path)
    return path


@pytest.fixture(scope="session")
def report_dir(twin_db_path, tmp_path_factory):
    """The twin's identified report written through the database path, with the PDF when Chromium is there."""
    from earlyphase.report import report_from_database

    out = tmp_path_factory.mktemp("report-out")
    has_chromium = any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))
    # the identified report: these tests follow counts to the site's subject ids and dates in adam/
    report_from_database(str(twin_db_path), out, pdf=has_chromium or os.environ.get("CI", "").lower() == "true",
                         identified=True)
    return out
