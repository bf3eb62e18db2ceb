"""An "Other, specify" adverse event keeps its own words: AETERM in ADAE, its own row in the AE tables."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "derive"))
from derive_trial_builder import TrialBuilder, study_with  # noqa: E402  (shared with the derive tests)

from earlyphase.derive import derive_from_source
from earlyphase.report import tables as T

GI = "Gastrointestinal disorders"
GI_OTHER = f"{GI} - Other, specify"
START = date(2015, 1, 10)


def _trial():
    t = TrialBuilder()
    a = t.patient("001", "A", start=START)
    b = t.patient("002", "A", start=START)
    for pid, words, grade in ((a, "Gastric varices", 3), (b, "Rectal prolapse", 1), (b, "Gastric varices", 2)):
        t.ae(pid, term=GI_OTHER, soc=GI, grade=grade, onset="2015-01-12")
        t.rows["adverse_events"][-1]["term_specify"] = words
    t.ae(a, term="Nausea", soc=GI, onset="2015-01-13")
    return derive_from_source(t.source(study_with()))


def test_adae_has_the_verbatim_and_the_coded_term():
    adae = _trial().adae
    other = adae[adae["AEDECOD"] == GI_OTHER]
    assert sorted(other["AETERM"]) == ["Gastric varices", "Gastric varices", "Rectal prolapse"]
    nausea = adae[adae["AEDECOD"] == "Nausea"].iloc[0]
    assert nausea["AETERM"] == "Nausea" and nausea["AEBODSYS"] == GI


def test_ae_tables_count_each_specified_event_on_its_own_row():
    ds = _trial()
    rows = {r[0].text.strip(): r for r in T.ae_soc_term_table(ds).rows}
    assert {"Other, specify: Gastric varices", "Other, specify: Rectal prolapse", "Nausea"} <= set(rows)
    assert GI_OTHER not in rows
    # Gastric varices: both patients of group A (any grade)
    assert rows["Other, specify: Gastric varices"][1].text.startswith("2")
    assert rows["Other, specify: Rectal prolapse"][1].text.startswith("1")
    labels = [r[0].text for r in T.ae_max_grade_table(ds).rows]
    assert "Other, specify: Gastric varices — max grade 3" in labels
    assert "Other, specify: Gastric varices — max grade 2" in labels
