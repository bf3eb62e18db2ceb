"""Write the fixture of the upgrade test: a trial database made by earlyphase 0.1.0 (commit d9a574c), dumped.

It must run with the 0.1.0 code on the path, not this checkout's::

    git archive d9a574c src | tar -x -C /tmp/v010
    PYTHONPATH=/tmp/v010/src python tests/records/upgrade/make_v010_fixture.py

The database is what a 0.1.0 user had: the seed study initialised, its twin loaded through capture, then a
correction and two queries (one on an infusion, one on a disease field) and a withdrawal-free patient
history. Timestamps are made deterministic, so the same code writes the same file. Every table, the audit
log included, is written to ``v010_twin.json.gz`` (rows as the database holds them; dates as ISO text).
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).with_name("v010_twin.json.gz")
TODAY = date(2026, 1, 15)


def main() -> int:
    import earlyphase
    from earlyphase.records import audit, head_revision

    if head_revision() != "0001":
        sys.exit(f"this script needs earlyphase 0.1.0 on the path (found {earlyphase.__file__}, head "
                 f"{head_revision()}); see the module docstring")
    clock = iter(datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc) + timedelta(milliseconds=n) for n in range(10**7))
    audit.utc_now = lambda: next(clock).isoformat(timespec="microseconds")
    from earlyphase.capture import queries

    queries._now = lambda: next(clock).isoformat(timespec="seconds")

    from sqlalchemy import MetaData, select

    from earlyphase.capture import Trial, initialise
    from earlyphase.records import make_engine
    from earlyphase.twin import load_twin

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trial.db"
        initialise(path, "nk-hcc-ltx", "coordinator", today=TODAY).close()
        load_twin(path)
        trial = Trial.open(path, "monitor", today=TODAY)
        trial.correct_record("infusions", 3, {"lot": "SYN-LOT-001-03B"}, "label reprinted by the pharmacy")
        trial.raise_query("infusions", 5, "Does the dose match the pharmacy log?", field="dose_cells")
        trial.raise_query("patients", 2, "AFP from the screening visit?", field="afp_ng_ml")
        trial.close()
        engine = make_engine(path)
        meta = MetaData()
        meta.reflect(engine)
        dump = {}
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
                dump[table.name] = [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
                                    for r in rows]
        engine.dispose()
    dump["_made_by"] = {"earlyphase": "0.1.0 (commit d9a574c)", "alembic_revision": "0001",
                        "script": "tests/records/upgrade/make_v010_fixture.py"}
    OUT.write_bytes(gzip.compress(json.dumps(dump, sort_keys=True, separators=(",", ":")).encode("utf-8"), mtime=0))
    print(f"wrote {OUT}: " + ", ".join(f"{k} {len(v)}" for k, v in dump.items() if isinstance(v, list)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
