"""Dashboards count only the sites a user may see: no other site's enrolment, events, DLTs, forms or queries,
in the tables or in the plots."""

from __future__ import annotations

import base64
import re
from html import unescape

import pytest
from escalation_helpers import build_meeting, fresh_code
from web_helpers import TODAY, log_in

from earlyphase.access import add_user
from earlyphase.capture import Trial
from earlyphase.derive.dashboards import dashboard_data
from earlyphase.derive.ledger import ledger_from_database


@pytest.fixture
def clinic(engine, tmp_path):
    secrets = build_meeting(engine, tmp_path)
    trial = Trial.open(engine, "founder", today=TODAY)
    # S01: one fever (grade 1) and one DLT at level A; S02: fatigue grade 3 and a query
    trial.record_adverse_event("A-101", "Fever", 1, "2015-01-20", "possible", "recovered", resolution="2015-01-21")
    trial.record_adverse_event("A-102", "Nausea", 3, "2015-01-20", "probable", "recovered", resolution="2015-01-25",
                               dlt=True)
    trial.record_adverse_event("B-201", "Fatigue", 3, "2015-01-22", "probable", "recovered", resolution="2015-01-30",
                               dlt=True)
    event = trial.record_adverse_event("B-201", "Vomiting", 2, "2015-01-23", "possible", "recovered",
                                       resolution="2015-01-24")
    Trial.open(engine, "monitor1", today=TODAY).raise_query("adverse_events", event.id, "Is the grade right?")
    add_user(engine, "sponsor2", "correct horse battery", roles=["sponsor@S02"], actor="founder")
    return engine, secrets


def figures_text(html: str) -> str:
    """The page with every inline plot decoded (the plots are data: images)."""
    plots = [base64.b64decode(m).decode("utf-8") for m in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
    return unescape(html) + "\n".join(plots)


def test_a_site_user_sees_only_their_sites_numbers(clinic):
    from fastapi.testclient import TestClient

    from earlyphase.web.app import create_app

    engine, secrets = clinic
    with TestClient(create_app(engine, today=TODAY)) as web:
        log_in(web, "coordinator1", code=fresh_code(secrets["coordinator1"]))
        page = web.get("/dashboards")
        assert page.status_code == 200
        text = figures_text(page.text)
        assert "S01, as of 2015-03-01" in text
        assert "Fever" in text and "Nausea" in text
        for other in ("S02", "Fatigue", "Vomiting", "B-201", "B-202"):
            assert other not in text, other
        assert text.count("<svg") >= 3  # enrolment, adverse events, DLTs (no open query at S01: no plot)
        assert "<td><strong>All</strong></td><td><strong>0</strong></td>" in text
        # DLTs at A: one at S01 (the S02 one is not counted here)
        assert re.search(r"<tr><td>A</td><td>1</td><td>1</td></tr>", text)

    board = dashboard_data(engine, {"S02"}, TODAY)
    # raised today (the real date, after the fixed TODAY): counted as new
    assert board.open_queries == 1 and board.query_ages["0-7 days"] == 1
    assert set(board.ae_by_term) == {"Fatigue", "Vomiting"} and board.dlt_by_level["A"] == 1
    everywhere = dashboard_data(engine, {"S01", "S02"}, TODAY)
    assert everywhere.dlt_by_level["A"] == 2 and everywhere.dlt_patients["A"] == 2
    assert everywhere.enrolled == {"S01": {"A": 3}, "S02": {"A": 2}}
    overdue = [e for e in ledger_from_database(engine, TODAY).entries if e.status == "overdue"]
    assert everywhere.overdue_total == len(overdue)
    assert board.overdue_total == sum(e.site == "S02" for e in overdue)


def test_sponsor_sees_aggregates_of_their_site_and_admin_none(clinic):
    from fastapi.testclient import TestClient

    from earlyphase.web.app import create_app

    engine, _ = clinic
    with TestClient(create_app(engine, today=TODAY)) as web:
        log_in(web, "sponsor2")
        text = figures_text(web.get("/dashboards").text)
        assert "Fatigue" in text and "Fever" not in text and "S01" not in text
