"""Constants and helpers shared by the capture tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from earlyphase.records.tables import DATA_TABLES, AuditEntry

TODAY = date(2024, 6, 1)
CONSENT = date(2015, 1, 10)
ALLOCATED = date(2015, 1, 12)
FIRST_INFUSION = date(2015, 1, 15)

# The seed study's eligibility: both inclusion criteria met, the exclusion criterion absent.
ELIGIBLE = {"I1": True, "I2": True, "E1": False}
PATIENT = dict(
    subject_id="P01", site="SYSU", sex="M", birth_year=1960, ecog=1, consent_date="2015-01-10", eligibility=ELIGIBLE,
)
# The seed study's own form (its study file), as a coordinator enters it at screening.
DISEASE = dict(transplant_date="2012-03-01", recurrence_date="2014-11-20", child_pugh_class="A", child_pugh_score=5,
               afp=35.0, weight=65.0)


def counts(engine) -> dict[str, int]:
    """Row count of every data table and of the audit log."""
    from earlyphase.records import transaction

    with transaction(engine) as session:
        out = {m.__tablename__: session.execute(select(func.count()).select_from(m)).scalar_one() for m in DATA_TABLES}
        out["audit_log"] = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    return out


def rules(exc) -> list[str]:
    return [p.rule for p in exc.problems]




def ctcae_v5_path():
    """NCI's CTCAE v5.0 Excel beside the repository (``../shared/data``), or None when absent."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    for path in (repo.parent / "shared" / "data" / "CTCAE_v5.0_2017-11-27.xlsx",
                 Path("/work/shared/data/CTCAE_v5.0_2017-11-27.xlsx")):
        if path.is_file():
            return path
    return None


def open_level(trial, group: str, on: str) -> None:
    """Record and seal (as the trial's own user) the dose-escalation decision that opens ``group`` on ``on``:
    a dose-finding study allocates above level 1 only to levels a sealed decision opened (issue 12)."""
    decision = trial.record_dose_decision(on, "escalate", group, "escalation per the protocol's design",
                                          "Safety review committee")
    from signing_helpers import sign

    sign(trial, decision.id)
