"""Trials for the live-design tests: the bundled seed study with a dose-finding design of our choosing
(groups A < B < C < D are levels 1..4, DLT window 28 days, 4 administrations every 14 days at A and B)."""

from __future__ import annotations

from known_users import add_users
from pathlib import Path

import yaml

from earlyphase.protocol.loader import read_study_text


def study_file(tmp_path: Path, design: str = "3+3", parameters: dict | None = None, **dose_finding) -> Path:
    """The seed study file with ``dose_finding`` set to ``design`` and ``parameters``, written to tmp_path."""
    text, _ = read_study_text("nk-hcc-ltx")
    data = yaml.safe_load(text)
    data["dose_finding"] = {"design": design, "target_dlt_rate": 0.3, "cohort_size": 3, **dose_finding}
    if parameters:
        data["dose_finding"]["parameters"] = parameters
    path = tmp_path / f"study-{design.replace('+', 'plus')}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def patient(subject: str, consent: str = "2015-01-10") -> dict:
    return dict(subject_id=subject, site="SYSU", sex="M", birth_year=1960, ecog=1, consent_date=consent,
                eligibility={"I1": True, "I2": True, "E1": False})


def treat(trial, subject: str, group: str, consent: str, allocated: str, doses: list[str], dose: float) -> None:
    """Enrol, allocate and give ``doses`` (dates) of ``dose``."""
    trial.enrol_patient(**patient(subject, consent))
    trial.allocate_patient(subject, group, allocated)
    for i, day in enumerate(doses, start=1):
        trial.record_administration(subject, i, day, dose)


def open_level(trial, group: str, on: str, investigator: str = "dr.li") -> None:
    """Record and seal the decision to escalate to ``group`` on ``on`` (dose-finding studies allocate only
    to levels a sealed decision opened)."""
    from earlyphase.capture import Trial

    add_users(trial, investigator)
    pi = Trial(trial.engine, trial.study, investigator, today=trial.today)
    from signing_helpers import sign

    sign(pi, pi.record_dose_decision(on, "escalate", group, "escalation per the design", investigator).id)
