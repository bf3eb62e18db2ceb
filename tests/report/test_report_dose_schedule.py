"""The dose x schedule panel: DLT and response per group laid out by dose and number of
administrations, counted as the DLT and best-response tables count them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def datasets(twin_db_path):
    from earlyphase.derive import derive_datasets

    return derive_datasets(twin_db_path)


def _count(cell) -> int:
    return int(cell.text.split()[0])


def test_panel_counts_agree_with_the_dlt_and_response_tables(datasets):
    from earlyphase.report import tables as T

    panel = T.dose_schedule_table(datasets)
    labels = [r[0].text for r in panel.rows]
    # grid order: low dose x4 (A); normal x4 (B), x8 (C); the step-up group after the grid
    assert [datasets.study.group(c).label for c in "ABCD"] == labels
    assert panel.rows[3][1].text.count(",") >= 1  # the step-up doses are written out
    dlt = T.dlt_table(datasets)
    within = dlt.rows[1]  # patients with a DLT inside the window, per group then total
    bor = T.best_response_table(datasets)
    orr = next(r for r in bor.rows if r[0].text.startswith("Objective response"))
    groups = [h.split(" ")[0] for h in dlt.columns[1:-1]]
    assert groups == list("ABCD")
    for i, code in enumerate(groups):
        row = panel.rows["ABCD".index(code)]
        assert _count(row[3]) == _count(within[i + 1])
        assert _count(row[4]) == int(orr[i + 1].text.split()[0])
    total_resp = sum(_count(r[4]) for r in panel.rows)
    assert total_resp >= 1  # the twin has responders: the check above compared something


def test_the_document_shows_the_panel_only_when_the_study_declares_dose_by_schedule(report_dir, datasets, tmp_path):
    import dataclasses

    import yaml

    from earlyphase.protocol import parse_study, read_study_text
    from earlyphase.report.document import build_report

    html = next(report_dir.glob("*.html")).read_text()
    assert "over dose and schedule" not in html  # nk-hcc-ltx keeps its listed order
    d = yaml.safe_load(read_study_text("nk-hcc-ltx")[0])
    d["dose_finding"]["order_from_regimens"] = True
    declared = dataclasses.replace(datasets, study=parse_study(yaml.safe_dump(d), "declared.yaml"))
    build_report(declared, tmp_path)
    html = next(tmp_path.glob("*.html")).read_text()
    assert "DLT and objective response over dose and schedule" in html
    assert "A &lt; B" in html or "A < B" in html
