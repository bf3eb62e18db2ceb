"""Write our identified CDISC export of the digital twin's database, for make_xpt_reference.R to read with R.

    python tests/interop/reference/write_export_for_r.py DIR     # DIR/sdtm/*.xpt and DIR/adam/*.xpt

The twin is deterministic, so the files (and what R reads from them) are the same on every run; the test
test_cdisc_export.py::test_r_reads_our_export_equal builds the same export and compares with R's reading.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

# The datasets R's reading is kept for (small enough to keep beside the tests).
DATASETS = ["sdtm/dm", "sdtm/ae", "sdtm/suppae", "adam/adsl", "adam/adtte"]

if __name__ == "__main__":
    from earlyphase.capture import initialise
    from earlyphase.interop.cdisc.export import export_cdisc
    from earlyphase.records import make_engine
    from earlyphase.twin import load_twin

    out = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/trial.db"
        initialise(url, "nk-hcc-ltx", "coordinator1").close()
        load_twin(url, username="coordinator1")
        engine = make_engine(url)
        export_cdisc(engine, Path(work) / "sub", identified=True, file_format="xpt", username="coordinator1")
        engine.dispose()
        for stem in DATASETS:
            target = out / stem.split("/")[0]
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{stem.split('/')[1]}.xpt").write_bytes((Path(work) / "sub" / f"{stem}.xpt").read_bytes())
