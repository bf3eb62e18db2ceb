"""Write a synthetic data set into an initialised, empty trial database, only through capture.

All records go through the capture actions a coordinator's entry would use (every edit check, every
write audited), in ONE transaction: the data set is loaded whole or not at all. The study is marked
synthetic first (an audited update), so every report and export says the data are synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from earlyphase.errors import InputError
from earlyphase.records import tables as t
from earlyphase.synthetic.generate import SyntheticData, generate_synthetic
from earlyphase.synthetic.profile import Profile, read_profile

SYNTHETIC_USERNAME = "synthetic-generator"


@dataclass(frozen=True)
class SyntheticLoadResult:
    """What was loaded: the study, seed, cut-off, record counts and the design's decisions."""

    data: SyntheticData

    def summary(self) -> str:
        lines = [f"{self.data.note}", f"Loaded {len(self.data.actions)} records of {self.data.study_id} (seed "
                 f"{self.data.seed}; data cut-off {self.data.data_cutoff}) through capture, in one audited "
                 "transaction:"]
        lines += [f"  {k:<24} {v:>6}" for k, v in self.data.counts().items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"synthetic": True, "note": self.data.note, "study_id": self.data.study_id, "seed": self.data.seed,
                "data_cutoff": self.data.data_cutoff.isoformat(), "counts": self.data.counts(),
                "decisions": [d.__dict__ for d in self.data.decisions], "mtd": self.data.mtd}


def _check_empty(session) -> None:
    n = session.execute(select(func.count()).select_from(t.Patient)).scalar_one()
    if n:
        raise InputError.single("db", f"{n} patients", "empty-trial",
                                "synthetic data are loaded only into a trial with no patients yet; use a new database")


def load_synthetic(target: str | Path | Engine, profile: Profile | str | None = None, *,
                   username: str = SYNTHETIC_USERNAME, progress: bool = False) -> SyntheticLoadResult:
    """Generate the synthetic data set of the study in ``target`` (a URL, SQLite path or Engine) from
    ``profile`` (a ``Profile``, a bundled profile name or a file; default: the bundled profile of the
    study) and load it through capture in one transaction."""
    from earlyphase.access.accounts import register_account
    from earlyphase.capture import Trial, mark_study_synthetic

    trial = Trial.open(target, username)
    try:
        chosen = profile if isinstance(profile, Profile) else read_profile(profile or trial.study.study_id)
        data = generate_synthetic(trial.study, chosen)
        with trial.batch() as batch:
            _check_empty(batch.session)
            if username == SYNTHETIC_USERNAME:
                # The generator writes under its own account, made here and audited (any other name must
                # already be a user: 'earlyphase user add').
                register_account(batch.session, username, actor=username,
                                 reason="the synthetic data generator's account (every record it writes is invented)")
            mark_study_synthetic(batch.context, chosen.note)
            actions = data.actions
            if progress:
                from tqdm import tqdm

                actions = tqdm(actions, desc=f"loading {data.study_id}", unit="record", leave=False)
            for action in actions:
                getattr(batch, action.name)(*action.args, **action.kwargs)
    finally:
        if not isinstance(target, Engine):
            trial.close()
    return SyntheticLoadResult(data)
