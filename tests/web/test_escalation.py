"""The dose-escalation page: counts per level, the design's recommendation, the committee's decision sealed by
the investigator (password and TOTP re-entered, checked again in capture), and meeting packs that do not change."""

from __future__ import annotations

import hashlib
import re
from html import unescape

import pytest
from escalation_helpers import IN_WINDOW, PATIENTS, build_meeting, fresh_code
from sqlalchemy import select
from web_helpers import TODAY, csrf_of, log_in

from earlyphase.capture import Trial
from earlyphase.design.live import counts_from_database
from earlyphase.errors import CheckFailed
from earlyphase.records import read_session
from earlyphase.records.audit_verify import verify_audit
from earlyphase.records.tables import AuditEntry, DoseDecision, MeetingPack


@pytest.fixture
def meeting(engine, tmp_path):
    return engine, build_meeting(engine, tmp_path)


@pytest.fixture
def web(meeting):
    from fastapi.testclient import TestClient

    from earlyphase.web.app import create_app

    engine, _ = meeting
    with TestClient(create_app(engine, today=TODAY)) as c:
        yield c


def enter(client, secrets, name):
    assert log_in(client, name, code=fresh_code(secrets[name])).status_code == 303


def level_rows(html):
    rows = re.findall(r"<tr(?: class=\"closed\")?><td>(\d)</td><td>([A-D])</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>"
                      r"<td>(\d+)</td><td>(open|closed)</td></tr>", html)
    return {g: tuple(map(int, (t, e, d, w))) + (o,) for _, g, t, e, d, w, o in rows}


def test_the_page_shows_each_level_and_the_designs_recommendation(web, meeting):
    engine, secrets = meeting
    enter(web, secrets, "committee")
    html = unescape(web.get("/escalation").text)
    counts = counts_from_database(engine.url.render_as_string(hide_password=False), as_of=TODAY)
    rows = level_rows(html)
    # what the live design reads, level by level, is what the page shows
    evaluable = [p for p in counts.patients if p.level == 1 and p.status in ("dlt", "complete")]
    assert rows["A"] == (len(PATIENTS), len(evaluable), counts.dlt[0], len(counts.pending[0]), "open")
    assert rows["A"] == (5, 3, 0, 2, "open") and rows["B"] == (0, 0, 0, 0, "closed")
    # 3+3 waits for the two patients inside the window (their outcome would change its decision)
    assert re.search(r'<span class="status">wait</span> 2 patient\(s\) are still inside the DLT window', html)
    assert "Design: 3+3, from the study file" in html and "Decision table" in html
    for subject in IN_WINDOW:  # the committee, at every site, sees who is inside the window and until when
        assert subject in html
    assert "2015-03-20" in html  # first dose 2015-02-20 + 28 days


def test_another_sites_patients_are_counted_never_named(web, meeting):
    _, secrets = meeting
    enter(web, secrets, "investigator1")
    html = web.get("/escalation").text
    assert "A-103" in html and "a patient at another site" in html
    for subject, (site, _, _) in PATIENTS.items():
        if site == "S02":
            assert subject not in html
    web.post("/logout", data={"csrf_token": csrf_of(html)})
    enter(web, secrets, "statistician1")  # reviews escalation, sees no subject anywhere
    html = web.get("/escalation").text
    assert all(subject not in html for subject in PATIENTS)
    assert "Record the committee" not in html  # the statistician reviews, does not decide


def test_committee_records_investigator_seals_and_allocation_follows(web, meeting):
    engine, secrets = meeting
    enter(web, secrets, "committee")
    page = web.get("/escalation").text
    form = {"csrf_token": csrf_of(page), "decision": "escalate", "level": "B", "rationale": "0/3 DLT at A <b>x</b>",
            "decided_by": "Safety review committee", "investigator": "pi", "pack": ""}
    skip = dict(form, level="C")
    refused = web.post("/escalation/decisions", data=skip)
    assert refused.status_code == 400 and "escalation opens the next level only" in unescape(refused.text)
    assert web.post("/escalation/decisions", data=form, follow_redirects=False).status_code == 303
    page = web.get("/escalation").text
    assert "awaits pi" in page and "Sign and seal" not in page  # only the investigator it names signs
    assert "0/3 DLT at A &lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page  # stored free text, escaped
    with read_session(engine) as s:
        decision = s.execute(select(DoseDecision)).scalar_one()
    assert decision.decided_by == "Safety review committee" and "3+3 (study file), as of 2015-03-01: wait" in decision.recommendation_text
    coordinator = Trial.open(engine, "coordinator1", today=TODAY)
    coordinator.enrol_patient(subject_id="A-104", site="S01", sex="F", birth_year=1960, ecog=0,
                              consent_date="2015-02-25", eligibility={"I1": True, "I2": True, "E1": False})
    with pytest.raises(CheckFailed):  # recorded, not sealed: level 2 stays closed
        coordinator.allocate_patient("A-104", "B", "2015-03-01")

    web.post("/logout", data={"csrf_token": csrf_of(page)})
    enter(web, secrets, "pi")
    page = web.get("/escalation").text
    assert "Sign and seal" in page
    sign = f"/escalation/decisions/{decision.id}/sign"
    wrong = web.post(sign, data={"csrf_token": csrf_of(page), "password": "not it", "code": "000000"})
    assert wrong.status_code == 403 and "Not sealed" in wrong.text
    no_csrf = web.post(sign, data={"password": "correct horse battery", "code": "000000"})
    assert no_csrf.status_code == 403
    with read_session(engine) as s:
        assert s.execute(select(DoseDecision.signed_by)).scalar_one() is None
    ok = web.post(sign, data={"csrf_token": csrf_of(page), "password": "correct horse battery",
                              "code": fresh_code(secrets["pi"])}, follow_redirects=False)
    assert ok.status_code == 303
    page = unescape(web.get("/escalation").text)
    assert "sealed" in page and "by pi at" in page
    with read_session(engine) as s:
        events = s.execute(select(AuditEntry.table_name).where(AuditEntry.username == "pi",
                                                               AuditEntry.action == "event")).scalars().all()
    assert "reauth_failed" in events and "reauthenticated" in events

    coordinator.allocate_patient("A-104", "B", "2015-03-01")  # level 2 open now
    coordinator.enrol_patient(subject_id="A-105", site="S01", sex="F", birth_year=1960, ecog=0,
                              consent_date="2015-02-25", eligibility={"I1": True, "I2": True, "E1": False})
    with pytest.raises(CheckFailed) as err:
        coordinator.allocate_patient("A-105", "C", "2015-03-01")
    assert f"decision {decision.id} of 2015-03-01 (escalate) leaves levels 1 to 2 open" in str(err.value)
    # the web's enrolment (with allocation in the same save) is refused the same way, naming the decision
    web.post("/logout", data={"csrf_token": csrf_of(web.get("/escalation").text)})
    enter(web, secrets, "coordinator1")
    enrol = {"subject_id": "A-150", "site": "S01", "sex": "M", "birth_year": "1970", "ecog": "1",
             "consent_date": "2015-02-25", "eligibility_i1": "yes", "eligibility_i2": "yes", "eligibility_e1": "no",
             "group": "C", "allocation_date": "2015-03-01", "csrf_token": csrf_of(web.get("/enrol").text)}
    refused = web.post("/enrol", data=enrol)
    assert refused.status_code == 400
    assert f"decision {decision.id} of 2015-03-01 (escalate) leaves levels 1 to 2 open" in unescape(refused.text)
    assert web.post("/enrol", data={**enrol, "group": "B"}, follow_redirects=False).status_code == 303
    assert verify_audit(engine).ok


def test_only_the_investigator_role_signs_even_when_named(web, meeting):
    engine, secrets = meeting
    enter(web, secrets, "committee")
    page = web.get("/escalation").text
    # the committee names itself as the one who seals: capture refuses the seal (no investigator role)
    web.post("/escalation/decisions", data={"csrf_token": csrf_of(page), "decision": "escalate", "level": "B",
                                            "rationale": "r", "decided_by": "c", "investigator": "committee"})
    with read_session(engine) as s:
        decision_id = s.execute(select(DoseDecision.id)).scalar_one()
    refused = web.post(f"/escalation/decisions/{decision_id}/sign",
                       data={"csrf_token": csrf_of(page), "password": "correct horse battery",
                             "code": fresh_code(secrets["committee"])})
    assert refused.status_code == 400 and "does not hold a role that may sign" in unescape(refused.text)
    with read_session(engine) as s:
        assert s.execute(select(DoseDecision.signed_by)).scalar_one() is None


def test_a_meeting_pack_is_frozen_and_does_not_change(web, meeting):
    engine, secrets = meeting
    enter(web, secrets, "committee")
    page = web.get("/escalation").text
    made = web.post("/escalation/packs", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert made.status_code == 303
    with read_session(engine) as s:
        pack = s.execute(select(MeetingPack)).scalar_one()
    assert hashlib.sha256(pack.content.encode()).hexdigest() == pack.content_sha256
    html = web.get(f"/escalation/packs/{pack.id}.html")
    pdf = web.get(f"/escalation/packs/{pack.id}.pdf")
    assert html.status_code == 200 and pack.content_sha256 in html.text and "B-202" in html.text
    assert "script-src" not in html.headers["content-security-policy"]
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == pack.pdf_sha256
    # new data arrives: the page changes, the pack does not
    before = level_rows(web.get("/escalation").text)["A"]
    coordinator = Trial.open(engine, "coordinator1", today=TODAY)
    coordinator.enrol_patient(subject_id="A-106", site="S01", sex="F", birth_year=1960, ecog=0,
                              consent_date="2015-02-25", eligibility={"I1": True, "I2": True, "E1": False})
    coordinator.allocate_patient("A-106", "A", "2015-03-01")
    coordinator.record_administration("A-106", 1, "2015-03-01", 2.5e9)
    assert level_rows(web.get("/escalation").text)["A"] != before
    assert web.get(f"/escalation/packs/{pack.id}.html").content == html.content
    assert web.get(f"/escalation/packs/{pack.id}.pdf").content == pdf.content
    # the decision is recorded with the pack it was reviewed with, and links to it
    page = web.get("/escalation").text
    web.post("/escalation/decisions", data={"csrf_token": csrf_of(page), "decision": "escalate", "level": "B",
                                            "rationale": "0/3 at A", "decided_by": "SRC", "investigator": "pi",
                                            "pack": str(pack.id)})
    page = web.get("/escalation").text
    assert f'reviewed with <a href="/escalation/packs/{pack.id}.html">meeting pack {pack.id}</a>' in page
    with read_session(engine) as s:
        reasons = s.execute(select(AuditEntry.reason).where(AuditEntry.table_name == "meeting_packs")).scalars().all()
    assert reasons[0] == f"meeting pack frozen, content SHA-256 {pack.content_sha256}"
    assert reasons[1].startswith("reviewed for decision")
    assert verify_audit(engine).ok


def test_packs_open_only_for_reviewers_at_every_site(web, meeting):
    _, secrets = meeting
    enter(web, secrets, "committee")
    page = web.get("/escalation").text
    web.post("/escalation/packs", data={"csrf_token": csrf_of(page)})
    web.post("/logout", data={"csrf_token": csrf_of(page)})
    enter(web, secrets, "investigator1")  # reviews escalation, but at S01 only
    assert web.get("/escalation/packs/1.html").status_code == 403
    assert web.get("/escalation/packs/1.pdf").status_code == 403
    assert web.post("/escalation/packs", data={"csrf_token": csrf_of(web.get("/escalation").text)}).status_code == 403
