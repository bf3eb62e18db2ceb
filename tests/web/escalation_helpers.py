"""A two-site dose-finding trial (3+3) at the moment of an escalation meeting, for the web tests.

On TODAY (2015-03-01), with a 28-day DLT window: three patients (A-101, A-102 at S01, B-201 at S02) have
completed the window at level 1 without a DLT; A-103 (S01) and B-202 (S02) are still inside it, so 3+3
waits for them. Level 2 is not open until a sealed decision opens it.
"""

from __future__ import annotations

import time

import yaml
from web_helpers import ELIGIBLE, PASSWORD, TODAY

from earlyphase.access import add_user
from earlyphase.access.totp import STEP_SECONDS, totp_now
from earlyphase.capture import initialise
from earlyphase.protocol.loader import read_study_text

DOSE = 2.5e9
# subject -> (site, allocation and first dose date, doses inside the window)
PATIENTS = {
    "A-101": ("S01", "2015-01-15", ["2015-01-15", "2015-01-29"]),
    "A-102": ("S01", "2015-01-16", ["2015-01-16", "2015-01-30"]),
    "B-201": ("S02", "2015-01-17", ["2015-01-17", "2015-01-31"]),
    "A-103": ("S01", "2015-02-20", ["2015-02-20"]),
    "B-202": ("S02", "2015-02-22", ["2015-02-22"]),
}
IN_WINDOW = {"A-103": "S01", "B-202": "S02"}
# users: the committee and the investigator at every site, and one role per site-limited user at S01
USERS = {"committee": "safety_reviewer@ALL", "pi": "investigator@ALL", "investigator1": "investigator@S01",
         "coordinator1": "coordinator@S01", "statistician1": "statistician@S01", "reviewer1": "safety_reviewer@S01",
         "sponsor1": "sponsor@S01", "monitor1": "monitor@S01"}


def dose_finding_study(directory, enrolment_end: str | None = None) -> str:
    text, _ = read_study_text("nk-hcc-ltx")
    data = yaml.safe_load(text)
    if enrolment_end:  # the browser test's server judges on the real date
        data["enrolment_end"] = enrolment_end
    data["sites"] = [{"code": code, "name": f"Site {code}", "country": "GB"} for code in ("S01", "S02")]
    data["dose_finding"] = {"design": "3+3", "target_dlt_rate": 0.3, "cohort_size": 3}
    path = directory / "two-site-3plus3.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def build_meeting(engine, directory, enrolment_end: str | None = None) -> dict[str, str | None]:
    """The trial above; returns each user's TOTP secret (None for those without one)."""
    trial = initialise(engine, dose_finding_study(directory, enrolment_end), "founder", today=TODAY)
    for subject, (site, day, doses) in PATIENTS.items():
        trial.enrol_patient(subject_id=subject, site=site, sex="F", birth_year=1961, ecog=0,
                            consent_date="2015-01-10", eligibility=ELIGIBLE)
        trial.allocate_patient(subject, "A", day)
        for number, given in enumerate(doses, start=1):
            trial.record_administration(subject, number, given, DOSE)
    secrets = {}
    for name, grant in USERS.items():
        secrets[name] = add_user(engine, name, PASSWORD, roles=[grant], actor="founder", with_totp=True).totp_secret
    return secrets


_next_step: dict[str, int] = {}


def fresh_code(secret: str) -> str:
    """A code of a later time step than any used before for ``secret`` (each code is accepted once, and
    one step either side of now is accepted): the first is the previous step's, then now's, then the next's."""
    step = _next_step.get(secret, int(time.time() // STEP_SECONDS) - 1)
    _next_step[secret] = step + 1
    return totp_now(secret, at=step * STEP_SECONDS)
