"""derive reads SQLite and PostgreSQL alike: the twin's analysis datasets are identical on both."""

from __future__ import annotations

import pandas as pd


def test_twin_datasets_from_database(db_url):
    from earlyphase.capture import initialise
    from earlyphase.derive import derive_datasets
    from earlyphase.records import make_engine
    from earlyphase.twin import load_twin

    initialise(db_url, "nk-hcc-ltx", "tester").close()
    engine = make_engine(db_url)
    try:
        load_twin(engine)
        ds = derive_datasets(engine)
    finally:
        engine.dispose()
    assert len(ds.adsl) == 18 and ds.synthetic
    assert ds.adsl.groupby("TRT01P").size().to_dict() == {"A": 3, "B": 5, "C": 6, "D": 4}
    tte = ds.adtte.sort_values(["PARAMCD", "USUBJID"])
    # every patient progresses in the twin; one is alive at the cut-off, censored at it
    pfs = tte[tte.PARAMCD == "PFS"]
    assert (pfs.CNSR == 0).all() and set(pfs.RULE) == {"PROGRESSION"}
    os_ = tte[tte.PARAMCD == "OS"]
    assert int(os_.CNSR.sum()) == 1
    assert os_.loc[os_.CNSR == 1, "ADT"].iloc[0].date() == ds.cutoff
    assert pd.api.types.is_datetime64_any_dtype(ds.adsl["TRTSDT"])
