"""Write the default-seed twin's PFS/OS times (read back from a database loaded through capture).

Run from the repository root:  .venv/bin/python tests/twin/make_twin_times.py
Writes tests/twin/data/twin_times.csv, the input of make_twin_reference.R. Re-run both whenever the
twin generator changes on purpose (test_twin_reference then checks the new data against R again).
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from earlyphase.capture import initialise
from earlyphase.records import make_engine, read_session
from earlyphase.twin import DEFAULT_SEED, load_twin
from earlyphase.twin.summary import _read, subject_outcomes

OUT = Path("tests/twin/data/twin_times.csv")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "trial.db"
        initialise(db, "nk-hcc-ltx", "reference").close()
        load_twin(db, DEFAULT_SEED)
        engine = make_engine(db)
        with read_session(engine) as session:
            outcomes = subject_outcomes(_read(session))
        engine.dispose()
    with OUT.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["subject_id", "group", "pfs_days", "pfs_event", "os_days", "os_event"])
        for o in outcomes:
            writer.writerow([o.subject_id, o.group, o.pfs_days, int(o.pfs_event), o.os_days, int(o.os_event)])
    print(f"wrote {OUT} (seed {DEFAULT_SEED})")


if __name__ == "__main__":
    main()
