"""Data entry through the web: enrol, study forms from the dictionary, doses, adverse events, corrections.

Every save goes through capture; every refusal writes nothing and shows each problem beside its field.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from entry_helpers import entry_study
from sqlalchemy import func, select
from web_helpers import ELIGIBLE, PASSWORD, TODAY, csrf_of, log_in

from earlyphase.access import add_user
from earlyphase.capture import initialise
from earlyphase.records.database import read_session
from earlyphase.records.tables import AdverseEvent, AuditEntry, FormRecord, FormValue, Patient

XSS = '<script>alert("x")</script>'


@pytest.fixture
def desk(engine, tmp_path):
    """A trial with A-101 at S01 and B-201 at S02; 'coord' enters data at S01, 'mon' monitors S01."""
    from fastapi.testclient import TestClient

    from earlyphase.web.app import create_app

    trial = initialise(engine, entry_study(tmp_path), "founder", today=TODAY)
    for subject, site in (("A-101", "S01"), ("B-201", "S02")):
        trial.enrol_patient(subject_id=subject, site=site, sex="F", birth_year=1961, ecog=0,
                            consent_date="2015-01-10", eligibility=ELIGIBLE)
    add_user(engine, "coord", PASSWORD, roles=["coordinator@S01"], actor="founder")
    add_user(engine, "mon", PASSWORD, roles=["monitor@S01"], actor="founder")
    with TestClient(create_app(engine, today=TODAY)) as client:
        assert log_in(client, "coord").status_code == 303
        yield engine, client


def count(engine, model) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


def audit_count(engine) -> int:
    return count(engine, AuditEntry)


def post(client, path: str, data: dict, page: str | None = None):
    token = csrf_of(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def problem_of(html: str, field: str) -> str:
    """The text of the problems shown in a field's box."""
    found = re.search(rf'id="field-{field}".*?(?=<div class="field|</section>)', html, re.S)
    assert found, f"no field {field} on the page"
    return " ".join(re.findall(r'<p class="problem[^"]*" role="alert">(.*?)</p>', found.group(0), re.S))


# -- htmx --------------------------------------------------------------------------------------------------
def test_the_shipped_htmx_is_the_pinned_one(desk):
    _, client = desk
    root = Path(__file__).resolve().parents[2]
    script = (root / "scripts" / "fetch_htmx.sh").read_text()
    pinned = re.search(r"^SHA256=([0-9a-f]{64})$", script, re.M).group(1)
    version = re.search(r"^VERSION=(2\.0\.\d+)$", script, re.M).group(1)
    shipped = root / "src" / "earlyphase" / "web" / "static" / "htmx.min.js"
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == pinned
    assert (shipped.parent / "htmx.LICENSE.txt").read_text().startswith("Zero-Clause BSD")
    served = client.get("/static/htmx.min.js")
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == pinned
    assert f'version:"{version}"' in served.text
    page = client.get("/subjects").text
    assert '<script src="/static/htmx.min.js" defer></script>' in page
    assert "script-src 'self'" in client.get("/subjects").headers["content-security-policy"]


# -- enrolment ---------------------------------------------------------------------------------------------
ENROL = {"subject_id": "A-150", "site": "S01", "sex": "M", "birth_year": "1970", "ecog": "1",
         "consent_date": "2015-02-01", "eligibility_i1": "yes", "eligibility_i2": "yes", "eligibility_e1": "no"}


def test_enrol_form_is_rendered_from_the_study(desk):
    _, client = desk
    page = client.get("/enrol").text
    for criterion in ("I1", "I2", "E1"):
        assert f'name="eligibility_{criterion.lower()}"' in page
    assert 'value="S01"' in page and 'value="S02"' not in page  # only the sites the user enters data at
    for group in ("A", "B", "C", "D"):
        assert f'name="group" value="{group}"' in page


def test_enrol_writes_the_subject_attributed_to_the_user(desk):
    engine, client = desk
    response = post(client, "/enrol", ENROL)
    assert response.status_code == 303 and response.headers["location"] == "/subjects/A-150"
    with read_session(engine) as s:
        assert s.execute(select(Patient).where(Patient.subject_id == "A-150")).scalar_one().sex == "M"
        who = s.execute(select(AuditEntry.username).where(AuditEntry.subject_id == "A-150")).scalars().all()
    assert who and set(who) == {"coord"}
    assert "A-150" in client.get("/subjects/A-150").text


def test_enrol_refusals_are_shown_by_field_and_nothing_is_written(desk):
    engine, client = desk
    before = audit_count(engine)
    bad = {**ENROL, "subject_id": "", "birth_year": "19x0", "consent_date": "2015-13-45", "eligibility_e1": "yes",
           "sex": "Q"}
    response = post(client, "/enrol", bad)
    assert response.status_code == 400
    html = response.text
    assert "Nothing was saved" in html
    assert "subject_id" in problem_of(html, "subject_id")
    assert problem_of(html, "birth_year") and problem_of(html, "consent_date") and problem_of(html, "sex")
    assert "exclusion criterion E1 applies" in problem_of(html, "eligibility_e1")
    assert audit_count(engine) == before


def test_enrol_at_another_site_is_refused(desk):
    engine, client = desk
    before = audit_count(engine)
    response = post(client, "/enrol", {**ENROL, "site": "S02"})
    assert response.status_code == 400 and "choose one of your sites: S01" in problem_of(response.text, "site")
    assert audit_count(engine) == before


def test_an_id_in_use_at_another_site_is_not_named(desk):
    engine, client = desk
    response = post(client, "/enrol", {**ENROL, "subject_id": "b-201"})
    assert response.status_code == 400
    assert "already in use" in problem_of(response.text, "subject_id")
    assert "B-201" not in response.text  # the other site's id, as spelled there, is never shown


def test_allocation_refused_at_enrolment_writes_nothing(desk):
    engine, client = desk
    before = count(engine, Patient)
    response = post(client, "/enrol", {**ENROL, "group": "Z", "allocation_date": "2015-02-02"})
    assert response.status_code == 400 and "Z" in problem_of(response.text, "group")
    assert count(engine, Patient) == before  # the enrolment in the same save is not kept either
    ok = post(client, "/enrol", {**ENROL, "group": "A", "allocation_date": "2015-02-02"})
    assert ok.status_code == 303
    assert ">A<" in client.get("/subjects/A-150").text.replace(" ", "")


def test_stored_xss_in_enrolment_free_text_is_escaped(desk):
    engine, client = desk
    # A refused save shows the typed text again: escaped, never as markup.
    response = post(client, "/enrol", {**ENROL, "initials": "<b>x</b>", "hospital_number": XSS,
                                       "subject_id": XSS, "birth_year": XSS})
    assert response.status_code == 400
    assert XSS not in response.text and "<b>x</b>" not in response.text
    assert response.text.count("&lt;script&gt;") >= 3


def test_a_monitor_cannot_enrol(desk):
    _, client = desk
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/subjects").text)})
    log_in(client, "mon")
    assert client.get("/enrol").status_code == 403
    assert client.post("/enrol", data=ENROL).status_code == 403  # no CSRF token, no role: refused either way


# -- study forms from the dictionary ----------------------------------------------------------------------
VITALS = {"taken_on": "2015-02-20", "temperature": "37.1", "pulse": "72", "position": "sitting",
          "symptoms": ["chills", "rash"], "abnormal": "no", "last_illness": "2014-11", "note": "calm"}
FORM = "/subjects/A-101/forms/vitals?visit=SCR"


def test_form_page_renders_every_field_type_from_the_dictionary(desk):
    _, client = desk
    html = client.get(FORM).text
    assert 'type="date" name="taken_on"' in html
    assert 'inputmode="decimal" name="temperature"' in html and "(C)" in html
    assert "allowed between 30 and 45" in html and "expected between 35 and 38.5" in html
    assert 'inputmode="numeric" name="pulse"' in html
    assert 'type="radio" name="position" value="supine"' in html
    assert html.count('type="checkbox" name="symptoms"') == 3
    assert 'name="abnormal" value="yes"' in html
    assert "asked only when abnormal = &#39;Y&#39;" in html
    assert 'placeholder="YYYY, YYYY-MM or YYYY-MM-DD"' in html
    assert '<textarea name="note"' in html  # longer text gets a text area


def test_a_form_is_saved_through_capture_with_every_value(desk):
    engine, client = desk
    response = post(client, FORM, VITALS)
    assert response.status_code == 303, response.text[:3000]
    assert re.fullmatch(r"/subjects/A-101/records/form_records/\d+\?saved=1", response.headers["location"])
    with read_session(engine) as s:
        record = s.execute(select(FormRecord).where(FormRecord.form == "vitals")).scalar_one()
        values = {(v.field, v.position): v for v in s.execute(select(FormValue)).scalars()}
        who = set(s.execute(select(AuditEntry.username).where(AuditEntry.table_name == "form_values")).scalars())
    assert record.visit == "SCR" and str(record.visit_date) == "2015-02-20"
    assert values[("temperature", 0)].value_num == pytest.approx(37.1)
    assert values[("pulse", 0)].value_int == 72 and values[("abnormal", 0)].value_bool is False
    assert {values[("symptoms", 1)].value_text, values[("symptoms", 2)].value_text} == {"chills", "rash"}
    assert values[("last_illness", 0)].value_text == "2014-11"
    assert who == {"coord"}
    page = client.get(response.headers["location"]).text
    assert "Saved." in page and 'value="37.1"' in page


def test_every_problem_beside_its_field_and_nothing_saved(desk):
    engine, client = desk
    before = audit_count(engine)
    bad = {"taken_on": "2015-02-31", "temperature": "warm", "pulse": "7.5", "position": "standing",
           "symptoms": ["chills", "'; DROP TABLE form_values; --"], "abnormal": "perhaps",
           "last_illness": "2014-13", "note": "x" * 600}
    response = post(client, FORM, bad)
    assert response.status_code == 400
    html = response.text
    for name in bad:
        assert problem_of(html, name), name
    assert audit_count(engine) == before and count(engine, FormRecord) == 0
    missing = post(client, FORM, {"temperature": "37"})
    assert "required" in problem_of(missing.text, "taken_on") and problem_of(missing.text, "position")
    assert problem_of(missing.text, "abnormal")
    hard = post(client, FORM, {**VITALS, "temperature": "50"})
    assert "between 30 and 45" in problem_of(hard.text, "temperature") and "Confirm and save" not in hard.text
    shown = post(client, FORM, {**VITALS, "abnormal": "yes"})
    assert "required" in problem_of(shown.text, "abnormal_text")
    hidden = post(client, FORM, {**VITALS, "abnormal_text": "tremor"})
    assert "leave it blank" in problem_of(hidden.text, "abnormal_text")
    assert audit_count(engine) == before


def test_a_soft_range_warning_is_confirmed_by_a_second_submit(desk):
    engine, client = desk
    first = post(client, FORM, {**VITALS, "temperature": "39.2"})
    assert first.status_code == 400 and "Confirm and save" in first.text
    assert "outside the expected range" in problem_of(first.text, "temperature")
    assert count(engine, FormRecord) == 0
    digest = re.search(r'name="confirm_digest" value="([0-9a-f]{64})"', first.text).group(1)
    token = csrf_of(first.text)
    # A confirmation of other values than those warned about is no confirmation.
    changed = client.post(FORM, data={**VITALS, "temperature": "39.9", "confirm": "1", "confirm_digest": digest,
                                      "csrf_token": token}, follow_redirects=False)
    assert changed.status_code == 400 and count(engine, FormRecord) == 0
    done = client.post(FORM, data={**VITALS, "temperature": "39.2", "confirm": "1", "confirm_digest": digest,
                                   "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    with read_session(engine) as s:
        value = s.execute(select(FormValue).where(FormValue.field == "temperature")).scalar_one()
    assert value.confirmed is True and value.value_num == pytest.approx(39.2)


def test_stored_xss_in_form_free_text_is_escaped(desk):
    _, client = desk
    response = post(client, FORM, {**VITALS, "abnormal": "yes", "abnormal_text": XSS, "note": XSS})
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert XSS not in page and page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 2


def test_another_sites_subject_and_unknown_forms_are_not_found(desk):
    _, client = desk
    for path in ("/subjects/B-201/forms/vitals", "/subjects/A-101/forms/no_such", "/subjects/B-201/ae",
                 "/subjects/B-201/core/administration", "/subjects/A-101/core/nothing",
                 "/subjects/A-101/records/form_records/999", "/subjects/A-101/records/users/1",
                 "/subjects/A-101/records/form_records/1'%20OR%201=1"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "B-201" not in response.text
    token = csrf_of(client.get(FORM).text)
    refused = client.post("/subjects/B-201/forms/vitals", data={**VITALS, "csrf_token": token})
    assert refused.status_code == 404 and "B-201" not in refused.text


def test_saving_without_the_csrf_token_is_refused(desk):
    engine, client = desk
    response = client.post(FORM, data=VITALS)
    assert response.status_code == 403 and count(engine, FormRecord) == 0


# -- adverse events ---------------------------------------------------------------------------------------
AE = {"term": "Alopecia", "grade": "2", "onset": "2015-02", "attribution": "possible", "outcome": "recovering",
      "serious": "no", "dlt": "no"}


def test_term_search_with_and_without_javascript(desk):
    _, client = desk
    fragment = client.get("/subjects/A-101/ae/terms?q=alop", headers={"HX-Request": "true"}).text
    assert "Alopecia" in fragment and "<html" not in fragment  # htmx swaps this in under the box
    plain = client.get("/subjects/A-101/ae?q=alop").text  # the same search as a plain form
    assert 'href="/subjects/A-101/ae?term=Alopecia"' in plain and "<html" in plain
    for hostile in ("' OR '1'='1", "%", "_", XSS, "x" * 5000):
        response = client.get("/subjects/A-101/ae", params={"q": hostile})
        assert response.status_code == 200 and XSS not in response.text


def test_only_the_grades_the_term_has_are_offered(desk):
    _, client = desk
    html = client.get("/subjects/A-101/ae?term=Alopecia").text
    grades = re.findall(r'name="grade" value="(\d)"', html)
    assert grades == ["1", "2"]
    death = client.get("/subjects/A-101/ae?term=Death NOS").text
    assert re.findall(r'name="grade" value="(\d)"', death) == ["5"]


def test_an_adverse_event_is_saved_and_a_missing_grade_refused(desk):
    engine, client = desk
    bad = post(client, "/subjects/A-101/ae", {**AE, "grade": "3"}, "/subjects/A-101/ae?term=Alopecia")
    assert bad.status_code == 400 and "no grade 3 for Alopecia" in problem_of(bad.text, "grade")
    wrong = post(client, "/subjects/A-101/ae", {**AE, "term": "Headache-ish", "onset": "someday",
                                                "attribution": "maybe", "outcome": ""},
                 "/subjects/A-101/ae?term=Alopecia")
    assert wrong.status_code == 400 and "Headache-ish" in wrong.text
    assert problem_of(wrong.text, "onset") and problem_of(wrong.text, "attribution") and problem_of(wrong.text, "outcome")
    assert count(engine, AdverseEvent) == 0
    ok = post(client, "/subjects/A-101/ae", AE, "/subjects/A-101/ae?term=Alopecia")
    assert ok.status_code == 303
    with read_session(engine) as s:
        event = s.execute(select(AdverseEvent)).scalar_one()
    assert (event.term, event.grade, event.onset) == ("Alopecia", 2, "2015-02")
    assert "adverse event: Alopecia, grade 2" in client.get("/subjects/A-101").text


def test_stored_xss_in_adverse_event_free_text_is_escaped(desk):
    _, client = desk
    page = "/subjects/A-101/ae?term=Skin and subcutaneous tissue disorders - Other, specify"
    ok = post(client, "/subjects/A-101/ae", {**AE, "term": "Skin and subcutaneous tissue disorders - Other, specify",
                                             "term_specify": XSS, "grade": "1"}, page)
    assert ok.status_code == 303, ok.text[:2000]
    html = client.get(ok.headers["location"]).text
    assert XSS not in html and "&lt;script&gt;" in html


# -- doses (a core form) ----------------------------------------------------------------------------------
def test_a_dose_is_recorded_through_capture(desk):
    engine, client = desk
    assert post(client, "/enrol", {**ENROL, "group": "A", "allocation_date": "2015-02-02"}).status_code == 303
    path = "/subjects/A-150/core/administration"
    page = client.get(path).text
    assert 'name="dose"' in page and "(cells)" in page
    bad = post(client, path, {"number": "one", "actual_date": "2015-02-30", "dose": "lots", "lot": XSS})
    assert bad.status_code == 400
    assert problem_of(bad.text, "number") and problem_of(bad.text, "actual_date") and problem_of(bad.text, "dose")
    assert XSS not in bad.text
    ok = post(client, path, {"number": "1", "actual_date": "2015-02-03", "dose": "2.5e9", "lot": XSS})
    assert ok.status_code == 303, ok.text[:3000]
    shown = client.get(ok.headers["location"]).text
    assert XSS not in shown and "&lt;script&gt;" in shown
    assert "/records/administrations/" in client.get("/subjects/A-150").text


# -- corrections and history ------------------------------------------------------------------------------
def test_a_correction_needs_a_reason_and_shows_in_the_history(desk):
    engine, client = desk
    saved = post(client, FORM, VITALS)
    record = saved.headers["location"].split("?")[0]
    before = audit_count(engine)
    no_reason = post(client, record, {**VITALS, "pulse": "80"})
    assert no_reason.status_code == 400 and "category" in problem_of(no_reason.text, "reason")
    thin = post(client, record, {**VITALS, "pulse": "80", "reason_category": "data-entry error",
                                 "reason_detail": "x"})
    assert thin.status_code == 400 and "at least two words" in problem_of(thin.text, "reason")
    out_of_range = post(client, record, {**VITALS, "pulse": "400", "reason_category": "data-entry error",
                                         "reason_detail": "typed from the wrong sheet"})
    assert out_of_range.status_code == 400 and "between 20 and 250" in problem_of(out_of_range.text, "pulse")
    assert audit_count(engine) == before
    done = post(client, record, {**VITALS, "pulse": "80", "reason_category": "data-entry error",
                                 "reason_detail": "typed from the wrong sheet " + XSS})
    assert done.status_code == 303
    html = client.get(record).text
    history = re.search(r"History of pulse.*?</details>", html, re.S).group(0)
    assert "72 &rarr; 80" in history and "coord" in history
    assert "data-entry error: typed from the wrong sheet" in history
    assert XSS not in html and "&lt;script&gt;" in history
    assert "blank &rarr; 72" in history  # the first entry, then the correction


def test_a_monitor_reads_a_record_but_cannot_correct_it(desk):
    engine, client = desk
    record = post(client, FORM, VITALS).headers["location"].split("?")[0]
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/subjects").text)})
    log_in(client, "mon")
    html = client.get(record).text
    assert "Temperature" in html and 'name="reason_category"' not in html
    assert client.get(FORM).status_code == 403
    token = csrf_of(client.get("/subjects").text)
    refused = client.post(record, data={**VITALS, "pulse": "90", "reason_category": "other",
                                        "reason_detail": "monitor tries a change", "csrf_token": token})
    assert refused.status_code == 403


# -- allocation, follow-up, withdrawal, death ---------------------------------------------------------------
def test_allocation_refused_above_the_open_levels_then_allowed(engine, tmp_path):
    """A dose-finding study: level 2 is not open until a sealed decision opens it; the refusal says why."""
    import yaml
    from fastapi.testclient import TestClient

    from earlyphase.web.app import create_app

    path = entry_study(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["dose_finding"] = {"design": "3+3", "cohort_size": 3}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    trial = initialise(engine, path, "founder", today=TODAY)
    trial.enrol_patient(subject_id="A-101", site="S01", sex="F", birth_year=1961, ecog=0, consent_date="2015-01-10",
                        eligibility=ELIGIBLE)
    add_user(engine, "coord", PASSWORD, roles=["coordinator@S01"], actor="founder")
    with TestClient(create_app(engine, today=TODAY)) as client:
        log_in(client, "coord")
        page = "/subjects/A-101/core/allocation"
        assert 'name="group" value="B"' in client.get(page).text
        refused = post(client, page, {"group": "B", "allocation_date": "2015-01-12"})
        assert refused.status_code == 400
        assert "not open" in problem_of(refused.text, "group") and "decision" in problem_of(refused.text, "group")
        ok = post(client, page, {"group": "A", "allocation_date": "2015-01-12"})
        assert ok.status_code == 303 and "/records/allocations/" in ok.headers["location"]
        assert "allocation to level A" in client.get("/subjects/A-101").text


def test_follow_up_withdrawal_and_death_go_through_capture(desk):
    engine, client = desk
    with read_session(engine) as s:
        start = s.execute(select(func.max(AuditEntry.id))).scalar()
    follow = post(client, "/subjects/A-101/core/follow_up", {"contact_date": "2015-02-10", "status": "sleeping"})
    assert follow.status_code == 400 and problem_of(follow.text, "status")
    assert post(client, "/subjects/A-101/core/follow_up",
                {"contact_date": "2015-02-10", "status": "alive"}).status_code == 303
    early = post(client, "/subjects/A-101/core/withdrawal", {"withdrawal_date": "2014-01-01", "reason": XSS})
    assert early.status_code == 400 and problem_of(early.text, "withdrawal_date") and XSS not in early.text
    withdrawn = post(client, "/subjects/A-101/core/withdrawal", {"withdrawal_date": "2015-02-11", "reason": XSS})
    assert withdrawn.status_code == 303 and withdrawn.headers["location"] == "/subjects/A-101"
    casebook = client.get("/subjects/A-101").text
    assert "withdrawn" in casebook and XSS not in casebook
    death = post(client, "/subjects/A-101/core/death", {"death_date": "2015-02-20", "cause": "other: " + XSS})
    assert death.status_code == 303, death.text[:2000]
    shown = client.get(death.headers["location"]).text
    assert XSS not in shown and "&lt;script&gt;" in shown
    with read_session(engine) as s:
        who = set(s.execute(select(AuditEntry.username).where(AuditEntry.subject_id == "A-101",
                                                              AuditEntry.id > start)).scalars())
    assert who == {"coord"}  # every write of the follow-up, the withdrawal and the death


def test_show_if_fields_are_hidden_while_their_condition_does_not_hold(desk):
    _, client = desk
    html = client.get(FORM).text
    assert 'hx-post="/subjects/A-101/forms/vitals/shown?visit=SCR"' in html
    token = csrf_of(html)
    closed = client.post("/subjects/A-101/forms/vitals/shown?visit=SCR", data={"abnormal": "no", "csrf_token": token})
    assert closed.status_code == 200
    assert re.search(r'id="field-abnormal_text"[^>]* hidden hx-swap-oob="true"', closed.text)
    assert "<fieldset disabled" in closed.text and 'id="field-pulse"' not in closed.text  # only show-if fields
    opened = client.post("/subjects/A-101/forms/vitals/shown?visit=SCR",
                         data={"abnormal": "yes", "abnormal_text": XSS, "csrf_token": token})
    assert re.search(r'id="field-abnormal_text"[^>]*hx-swap-oob="true"', opened.text)
    assert " hidden" not in opened.text.split('id="field-abnormal_text"')[1].split(">")[0]
    assert XSS not in opened.text
    assert client.post("/subjects/A-101/forms/vitals/shown", data={"abnormal": "yes"}).status_code == 403
    assert client.post("/subjects/B-201/forms/vitals/shown", data={"csrf_token": token}).status_code == 404


def test_the_enrolment_is_corrected_from_the_casebook_with_a_reason(desk):
    engine, client = desk
    casebook = client.get("/subjects/A-101").text
    link = re.search(r'href="(/subjects/A-101/records/patients/\d+)">enrolment</a>', casebook).group(1)
    page = client.get(link).text
    assert 'name="birth_year"' in page and 'value="1961"' in page and 'value="S02"' not in page
    moved = post(client, link, {"subject_id": "A-101", "site": "S02", "sex": "F", "birth_year": "1961", "ecog": "0",
                                "consent_date": "2015-01-10", "reason_category": "data-entry error",
                                "reason_detail": "wrong site chosen at entry"})
    assert moved.status_code == 400 and "choose one of your sites: S01" in problem_of(moved.text, "site")
    assert "A-101" in client.get("/subjects").text  # still at S01, still this user's
    done = post(client, link, {"subject_id": "A-101", "site": "S01", "sex": "F", "birth_year": "1962", "ecog": "0",
                               "consent_date": "2015-01-10", "hospital_number": XSS,
                               "reason_category": "source document updated", "reason_detail": "birth year from passport"})
    assert done.status_code == 303, done.text[:2000]
    html = client.get(link).text
    assert "1961 &rarr; 1962" in html and "source document updated: birth year from passport" in html
    assert XSS not in html and "&lt;script&gt;" in html


def test_an_expected_form_is_recorded_as_not_done_with_its_reason(desk):
    _, client = desk
    casebook = client.get("/subjects/A-101").text
    assert "/subjects/A-101/not-done?visit=SCR&amp;form=baseline_disease" in casebook
    path = "/subjects/A-101/not-done?visit=SCR&form=baseline_disease"
    empty = post(client, path, {"reason": ""})
    assert empty.status_code == 400 and problem_of(empty.text, "reason")
    wrong = post(client, "/subjects/A-101/not-done?visit=NOPE&form=baseline_disease", {"reason": "no time"},
                 path)
    assert wrong.status_code == 400 and "NOPE" in wrong.text
    done = post(client, path, {"reason": "patient declined the blood test " + XSS})
    assert done.status_code == 303
    casebook = client.get("/subjects/A-101").text
    assert "not done" in casebook and XSS not in casebook and "&lt;script&gt;" in casebook


def test_a_repeating_form_offers_another_entry(desk):
    _, client = desk
    saved = post(client, FORM, VITALS)
    page = client.get(saved.headers["location"]).text
    assert 'href="/subjects/A-101/forms/vitals?visit=SCR">Enter another' in page
    second = post(client, FORM, {**VITALS, "taken_on": "2015-02-21"})
    assert second.status_code == 303 and second.headers["location"] != saved.headers["location"]


def test_the_casebook_title_is_only_the_subject(desk):
    _, client = desk
    html = client.get("/subjects/A-101").text
    assert re.search(r"<title>(.*?)</title>", html, re.S).group(1) == "A-101 · earlyphase"
    assert html.count("<h2>Entered</h2>") == 1
