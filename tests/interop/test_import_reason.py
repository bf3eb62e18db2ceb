"""An import's reason for change says something, and the import is an audited event with its files' SHA-256."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from earlyphase.cli import app
from earlyphase.cli.common import run_app
from earlyphase.errors import InputError

USER = "coordinator1"
PATIENT = "subject_id,site,sex,birth_year,ecog,consent_date\nP-01,SYSU,M,1960,1,2016-01-05\n"
ELIGIBILITY = "subject_id,criterion,answer\nP-01,I1,yes\nP-01,I2,yes\nP-01,E1,no\n"


def _trial(tmp_path):
    from earlyphase.capture import initialise

    url = f"sqlite:///{tmp_path / 'trial.db'}"
    initialise(url, "nk-hcc-ltx", USER).close()
    return url


def _entries(url):
    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import AuditEntry

    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
            s.expunge_all()
        return rows
    finally:
        engine.dispose()


def test_an_import_is_an_event_with_the_files_sha256_and_the_reason(tmp_path):
    from earlyphase.interop import import_trial
    from earlyphase.records import make_engine, verify_audit

    url = _trial(tmp_path)
    data = tmp_path / "crf"
    data.mkdir()
    (data / "patients.csv").write_text(PATIENT, encoding="utf-8")
    (data / "eligibility_answers.csv").write_text(ELIGIBILITY, encoding="utf-8")
    import_trial(url, data, username=USER)
    (data / "patients.csv").write_text(PATIENT.replace("M,1960,1", "M,1960,0"), encoding="utf-8")
    import_trial(url, data, username=USER, reason="source document updated: ECOG 0 at screening")
    events = [e for e in _entries(url) if e.action == "event" and e.table_name == "import"]
    assert len(events) == 2 and {e.username for e in events} == {USER}
    sha = hashlib.sha256((data / "patients.csv").read_bytes()).hexdigest()
    last = json.loads(events[-1].new_values)
    assert last["files"] == {"patients.csv": sha, "eligibility_answers.csv":
                             hashlib.sha256(ELIGIBILITY.encode()).hexdigest()}
    assert last["reason"] == "source document updated: ECOG 0 at screening"
    assert last["corrected"] == {"patients": 1} and json.loads(events[0].new_values)["reason"] is None
    correction = next(e for e in _entries(url) if e.action == "update" and e.table_name == "patients")
    assert correction.reason == f"source document updated: ECOG 0 at screening (import of patients.csv, sha256 {sha})"
    engine = make_engine(url)
    assert verify_audit(engine).ok
    engine.dispose()


@pytest.mark.parametrize("reason,rule", [(".", "reason-category"), ("x", "reason-category"), ("typo", "reason-category"),
                                         ("ECOG corrected at screening", "reason-category"),
                                         ("data-entry error: .", "reason-for-change")])
def test_a_reason_that_says_nothing_is_refused_before_anything_is_read(tmp_path, reason, rule, capsys):
    from earlyphase.interop import import_trial

    url = _trial(tmp_path)
    data = tmp_path / "crf"
    data.mkdir()
    (data / "patients.csv").write_text(PATIENT, encoding="utf-8")
    before = len(_entries(url))
    with pytest.raises(InputError) as caught:
        import_trial(url, data, username=USER, reason=reason)
    assert [p.rule for p in caught.value.problems] == [rule]
    code = run_app(app, ["import", str(data), "--db", url, "--reason", reason, "--user", USER])
    _, err = capsys.readouterr()
    assert code == 1 and "data-entry error" in err and "Traceback" not in err
    assert len(_entries(url)) == before
