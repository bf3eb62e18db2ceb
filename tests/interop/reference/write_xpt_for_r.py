"""Write our SAS XPORT v5 files from the CDISC pilot Dataset-JSON, for make_xpt_reference.R to read with R.

    python tests/interop/reference/write_xpt_for_r.py DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from earlyphase.interop.cdisc import convert

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from cdisc_files import msg_dir  # noqa: E402

# Small enough to keep R's reading beside the tests: a subject-level ADaM dataset and two SDTM domains.
DATASETS = ["adam/adsl", "sdtm/dm", "sdtm/ds"]

if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for stem in DATASETS:
        convert(msg_dir() / f"{stem}.json", out / f"{stem.split('/')[1]}.xpt")
