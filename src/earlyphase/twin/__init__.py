"""earlyphase.twin: the seed trial's digital twin (18 synthetic patients matching the published abstract).

- ``generate_twin(study, seed)``: the data set as CRF records (plain dicts), seeded and reproducible;
- ``load_twin(engine, seed)``: write it through capture into an initialised database, one transaction;
- ``summarise_trial(engine)``: enrolment, exposure, AEs and PFS/OS medians beside the published values;
- ``run_demo(out_dir)``: the main job (fresh SQLite database, study, twin, summary files).
"""

from earlyphase.twin.generate import DEFAULT_SEED, SYNTHETIC_NOTE, TwinData, generate_twin
from earlyphase.twin.load import TwinLoadResult, load_twin
from earlyphase.twin.summary import SYNTHETIC_BANNER, TrialSummary, summarise_trial

__all__ = [
    "DEFAULT_SEED", "SYNTHETIC_BANNER", "SYNTHETIC_NOTE", "TrialSummary", "TwinData", "TwinLoadResult",
    "generate_twin", "load_twin", "summarise_trial",
]
