"""Write the twin into an initialised trial database, only through capture, in one transaction.

Every record goes through the same capture action a coordinator's entry would (so every edit
check runs and every write is audited), all inside one transaction: the twin is loaded whole or
not at all. The study row is marked ``synthetic`` (an audited update) so every report and export
can say the data are synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from earlyphase.errors import InputError
from earlyphase.records import tables as t
from earlyphase.twin.generate import DEFAULT_SEED, TwinData, generate_twin

TWIN_USERNAME = "twin-generator"
DISEASE_FORM = "baseline_disease"  # the seed study's form with the disease history (its study file)


@dataclass(frozen=True)
class TwinLoadResult:
    """What was loaded: seed, study, data cut-off and record counts."""

    seed: int
    study_id: str
    data_cutoff: str
    counts: dict[str, int]

    def summary(self) -> str:
        lines = [f"SYNTHETIC DATA: loaded the digital twin of {self.study_id} (seed {self.seed}; data cut-off "
                 f"{self.data_cutoff}) through capture, in one audited transaction:"]
        lines += [f"  {k:<20} {v:>5}" for k, v in self.counts.items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"synthetic": True, "seed": self.seed, "study_id": self.study_id, "data_cutoff": self.data_cutoff,
                "counts": dict(self.counts)}


def write_twin(batch, data: TwinData) -> None:
    """Write ``data`` with capture actions on ``batch`` (a ``capture.Batch``: one transaction, the caller's)."""
    mark_synthetic(batch.context)
    by_subject = _by_subject(data)
    eligible = {c.code: kind == "inclusion" for kind, c in batch.context.study.eligibility.criteria}
    for p in data.patients:
        s = p["subject_id"]
        batch.enrol_patient(
            s, p["site_code"], p["sex"], p["birth_year"], p["ecog"], p["consent_date"],
            enrolment_date=p["enrolment_date"], initials=p["initials"], hospital_number=p["hospital_number"],
            eligibility=eligible,  # every twin patient meets the inclusion criteria and no exclusion one
        )
        # the seed study's own form: the disease history and liver function at screening
        batch.record_form(s, DISEASE_FORM, {
            "transplant_date": p["transplant_date"], "recurrence_date": p["recurrence_date"],
            "child_pugh_class": p["child_pugh"], "child_pugh_score": p["child_pugh_score"], "afp": p["afp_ng_ml"],
            "weight": p["weight_kg"]}, visit_date=p["enrolment_date"])
        a = by_subject["allocations"][s][0]
        batch.allocate_patient(s, a["group_code"], a["allocation_date"])
        # the CRF order of a real trial: treatment, then safety and imaging, then what came after
        for inf in by_subject["infusions"][s]:
            batch.record_administration(s, inf["number"], inf["actual_date"], inf["dose"],
                                        planned_date=inf["planned_date"], weight_kg=inf["weight_kg"],
                                        amount=inf["amount"], amount_unit=inf["amount_unit"], lot=inf["lot"],
                                        deviation=inf["deviation"])
        for ae in by_subject["adverse_events"][s]:
            batch.record_adverse_event(s, ae["term"], ae["grade"], ae["onset"], ae["attribution"], ae["outcome"],
                                       resolution=ae["resolution"], serious=ae["serious"], action=ae["action"],
                                       dlt=ae["dlt"])
        for scan in by_subject["tumour_assessments"][s]:
            batch.record_tumour_assessment(s, scan["assessment_date"], scan["modality"], scan["lesions"],
                                           baseline=scan["baseline"],
                                           investigator_response=scan["investigator_response"])
        for th in by_subject["other_therapies"][s]:
            batch.record_other_therapy(s, th["therapy"], th["start_date"], end_date=th["end_date"],
                                       new_anticancer=th["new_anticancer"])
        for fu in by_subject["follow_ups"][s]:
            batch.record_follow_up(s, fu["contact_date"], fu["status"])
        for d in by_subject["deaths"][s]:
            batch.record_death(s, d["death_date"], d["cause"])


def _by_subject(data: TwinData) -> dict[str, dict[str, list[dict[str, Any]]]]:
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in ("allocations", "infusions", "adverse_events", "tumour_assessments", "other_therapies",
                 "follow_ups", "deaths"):
        table: dict[str, list[dict[str, Any]]] = {p["subject_id"]: [] for p in data.patients}
        for row in getattr(data, name):
            table[row["subject_id"]].append(row)
        out[name] = table
    return out


def mark_synthetic(ctx) -> None:
    """Flag the study as synthetic, through capture (audited, with the reason)."""
    from earlyphase.capture import mark_study_synthetic

    mark_study_synthetic(ctx, "digital twin loaded: every patient in this database is synthetic")


def _check_target(session, study) -> None:
    record = session.execute(select(t.StudyRecord)).scalars().first()
    if record is None:
        raise InputError.single("db", "(no study)", "initialised",
                                "the database is not initialised; run `earlyphase init --db URL --study nk-hcc-ltx` first")
    n = session.execute(select(func.count()).select_from(t.Patient)).scalar_one()
    if n:
        raise InputError.single("db", f"{n} patients", "empty-trial",
                                "the twin is loaded only into a trial with no patients yet; use a new database")
    codes = set(study.group_codes)
    if not {"A", "B", "C", "D"} <= codes:
        raise InputError.single("study", record.study_id, "seed-trial-groups",
                                f"the twin needs the seed trial's groups A-D (this study has {sorted(codes)}); "
                                "initialise with --study nk-hcc-ltx")


def load_twin(target: str | Path | Engine, seed: int = DEFAULT_SEED, *,
              username: str = TWIN_USERNAME) -> TwinLoadResult:
    """Generate the twin from ``seed`` and load it into the initialised, empty trial database ``target``.

    ``target`` is a database URL, a SQLite file path or an Engine. All records are written in one
    capture batch (one transaction): the twin is loaded whole or not at all.
    """
    from earlyphase.access.accounts import register_account
    from earlyphase.capture import Trial

    trial = Trial.open(target, username)
    try:
        with trial.batch() as batch:
            _check_target(batch.session, trial.study)
            if username == TWIN_USERNAME:
                # The twin's generator writes under its own account, made here and audited.
                register_account(batch.session, username, actor=username,
                                 reason="the digital twin generator's account (every record it writes is invented)")
            data = generate_twin(trial.study, seed)
            write_twin(batch, data)
    finally:
        if not isinstance(target, Engine):
            trial.close()
    return TwinLoadResult(seed, trial.study.study_id, data.data_cutoff.isoformat(), data.counts())
