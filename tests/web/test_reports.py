"""The report page: who may build which report, the build's progress and files, and the audit of each step."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select
from web_helpers import PASSWORD, SUBJECTS, csrf_of, log_in

from earlyphase.access import add_user
from earlyphase.records import read_session
from earlyphase.records.tables import AuditEntry


@pytest.fixture
def reporting(world, client, tmp_path, monkeypatch):
    """Users at every site (statistician, sponsor, data manager) and builds run at once, into tmp_path."""
    engine, _ = world
    monkeypatch.setenv("EARLYPHASE_REPORTS_DIR", str(tmp_path / "builds"))
    for name, role in (("stat", "statistician"), ("spons", "sponsor"), ("dman", "data_manager")):
        add_user(engine, name, PASSWORD, roles=[f"{role}@ALL"], actor="admin1")
    client.app.state.reports_inline = True
    return engine


def _events(engine, kind):
    with read_session(engine) as session:
        rows = session.execute(select(AuditEntry.username, AuditEntry.new_values)
                               .where(AuditEntry.action == "event", AuditEntry.table_name == kind)
                               .order_by(AuditEntry.id)).all()
    return [(user, json.loads(values) if isinstance(values, str) else values) for user, values in rows]


def _build(client, **fields):
    token = csrf_of(client.get("/reports").text)
    return client.post("/reports", data={"csrf_token": token, **fields}, follow_redirects=False)


def _links(page):
    import re

    return re.findall(r'href="(/reports/[0-9a-f]{16}/[a-z.]+)"', page)


def test_statistician_gets_the_deidentified_report_and_datasets(client, reporting):
    log_in(client, "stat")
    page = client.get("/reports").text
    assert 'value="de-identified"' in page and 'value="identified"' not in page
    assert _build(client, mode="de-identified").status_code == 303
    links = _links(client.get("/reports").text)
    assert [link.rsplit("/", 1)[1] for link in links] == ["report.html", "adam.zip"]
    html = client.get(links[0])
    assert html.status_code == 200 and "attachment" in html.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(client.get(links[1]).content))
    adsl = archive.read("adam/adsl.csv").decode()
    assert "USUBJID" in adsl or "usubjid" in adsl.lower()
    for subjects in SUBJECTS.values():  # pseudonyms only: no subject id as entered
        assert not any(s in adsl or s in html.text for s in subjects)
    (request,) = _events(reporting, "report_request")
    assert request[0] == "stat" and request[1]["mode"] == "de-identified"
    assert [e[1]["file"] for e in _events(reporting, "report_download")] == ["report.html", "adam.zip"]
    assert _events(reporting, "report_build")[-1][1]["mode"] == "de-identified"


def test_sponsor_gets_aggregates_only_and_cannot_reach_others_builds(client, reporting):
    log_in(client, "stat")
    _build(client, mode="de-identified")
    stat_links = _links(client.get("/reports").text)
    log_in(client, "spons")
    page = client.get("/reports").text
    assert 'value="aggregates"' in page and 'value="de-identified"' not in page
    assert _build(client, mode="de-identified").status_code == 400  # not among the sponsor's kinds
    assert _build(client, mode="aggregates").status_code == 303
    links = _links(client.get("/reports").text)
    assert [link.rsplit("/", 1)[1] for link in links] == ["report.html"]
    build = links[0].split("/")[2]
    assert client.get(f"/reports/{build}/adam.zip").status_code == 404  # no patient-level file kept
    assert client.get(stat_links[1]).status_code == 404  # another person's build does not exist for them
    assert client.get("/reports/../../etc/passwd").status_code == 404


def test_identified_needs_the_explicit_choice_and_a_reason(client, reporting):
    log_in(client, "dman")
    refused = _build(client, mode="identified", reason="site audit needs names")
    assert refused.status_code == 400 and "tick the box" in refused.text
    refused = _build(client, mode="identified", confirm_identified="yes", reason="short")
    assert refused.status_code == 400 and "Say why" in refused.text
    assert _events(reporting, "report_request") == []
    xss = "<script>alert(1)</script> needed for the site audit"
    assert _build(client, mode="identified", confirm_identified="yes", reason=xss).status_code == 303
    (request,) = _events(reporting, "report_request")
    assert request[1]["mode"] == "identified" and request[1]["reason"] == xss
    links = _links(client.get("/reports").text)
    adsl = zipfile.ZipFile(io.BytesIO(client.get(links[-1]).content)).read("adam/adsl.csv").decode()
    assert SUBJECTS["S01"][0] in adsl and SUBJECTS["S02"][0] in adsl  # as entered, both sites


def test_site_users_build_nothing(client, reporting):
    log_in(client, "coordinator1")
    assert client.get("/reports").status_code == 403
    token = csrf_of(client.get("/subjects").text)
    assert client.post("/reports", data={"csrf_token": token, "mode": "aggregates"}).status_code == 403
    log_in(client, "stat")
    assert client.post("/reports", data={"csrf_token": "wrong", "mode": "aggregates"}).status_code == 403
    assert _events(reporting, "report_request") == []
