"""The subject page shows the subject's visit schedule as the expected-forms ledger has it."""

from __future__ import annotations

import re
from html import unescape

from web_helpers import SUBJECTS, TODAY, log_in

from earlyphase.derive import ledger_from_database

ROW = re.compile(r"<td>(?:<a href=\"[^\"]*\">)?([a-z_]+)(?:</a>)?</td>\s*<td>(\d{4}-\d\d-\d\d)</td>\s*<td>[^<]*</td>\s*<td><span class=\"form-status[^\"]*\">"
                 r"([a-z ]+)</span>")


def test_every_expected_form_of_the_subject_is_shown_with_its_status(client, world):
    engine, _ = world
    subject = SUBJECTS["S01"][0]
    log_in(client, "coordinator1")
    html = client.get(f"/subjects/{subject}").text
    shown = sorted((form, planned, status) for form, planned, status in ROW.findall(unescape(html)))
    expected = sorted((e.form, e.planned.isoformat(), e.status)
                      for e in ledger_from_database(engine, TODAY).entries if e.subject_id == subject)
    assert expected and shown == expected
    assert ("enrolment", "2015-01-10", "entered") in shown
    assert any(status == "overdue" for _, _, status in shown)  # the study form left unentered at screening
    assert f"as of {TODAY}" in html
