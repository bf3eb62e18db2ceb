"""Import through capture: an "Other, specify" adverse event with its verbatim term, lymph nodes with their short
axis, and the same checks (all or nothing) as at entry; the export carries the new columns and imports back."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from earlyphase.errors import InputError

USER = "coordinator1"


def _write(path: Path, text: str) -> None:
    path.write_text(text.strip() + "\n", encoding="utf-8")


def _crf(d: Path, ae_rows: str, lesion_rows: str) -> None:
    d.mkdir(exist_ok=True)
    _write(d / "patients.csv", """
subject_id,site,sex,birth_year,ecog,consent_date,enrolment_date
P-01,SYSU,M,1960,0,2016-01-05,2016-01-06
""")
    _write(d / "eligibility_answers.csv", "subject_id,criterion,answer\nP-01,I1,yes\nP-01,I2,yes\nP-01,E1,no")
    _write(d / "baseline_disease.csv", """
subject_id,transplant_date,recurrence_date,child_pugh_class
P-01,2012-03-01,2015-12-01,A
""")
    _write(d / "allocations.csv", "subject_id,group_code,allocation_date\nP-01,A,2016-01-06")
    _write(d / "administrations.csv", "subject_id,number,actual_date,dose\nP-01,1,2016-01-10,2.5e9")
    _write(d / "adverse_events.csv", "subject_id,term,term_specify,grade,onset,resolution,attribution,outcome\n"
           + ae_rows.strip())
    _write(d / "tumour_assessments.csv", "subject_id,assessment_date,modality,baseline\nP-01,2016-01-07,CT,true")
    _write(d / "lesions.csv", "subject_id,assessment_date,lesion_label,kind,location,viable_diameter_mm,node,"
           "short_axis_mm,status\n" + lesion_rows.strip())


GOOD_AES = """
P-01,Gastrointestinal disorders - Other, specify,Gastric varices,2,2016-01-12,2016-01-20,possible,recovered
P-01,Fever,,1,2016-01-11,2016-01-12,possible,recovered
"""
GOOD_LESIONS = """
P-01,2016-01-07,T1,target,lung,30,no,,
P-01,2016-01-07,L1,target,mediastinal node,,yes,17,
P-01,2016-01-07,L2,non-target,hilar node,,yes,12,present
"""


def _quoted(rows: str) -> str:
    # the "Other, specify" term holds a comma: quote it as a spreadsheet would
    return rows.replace("Gastrointestinal disorders - Other, specify", '"Gastrointestinal disorders - Other, specify"')


def test_other_specify_and_nodes_import_and_export(tmp_path):
    from earlyphase.capture import initialise
    from earlyphase.interop import export_trial, import_trial
    from earlyphase.records import make_engine

    _crf(tmp_path / "crf", _quoted(GOOD_AES), GOOD_LESIONS)
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    initialise(url, "nk-hcc-ltx", USER).close()
    result = import_trial(url, tmp_path / "crf", username=USER)
    assert result.written["adverse_events"] == 2 and result.written["lesions"] == 3
    engine = make_engine(url)
    try:
        export_trial(engine, tmp_path / "out", identified=True)
    finally:
        engine.dispose()
    with (tmp_path / "out" / "adverse_events.csv").open(newline="", encoding="utf-8") as handle:
        aes = {r["term"]: r for r in csv.DictReader(handle)}
    assert aes["Gastrointestinal disorders - Other, specify"]["term_specify"] == "Gastric varices"
    assert aes["Fever"]["term_specify"] == ""
    with (tmp_path / "out" / "lesions.csv").open(newline="", encoding="utf-8") as handle:
        lesions = {r["lesion_label"]: r for r in csv.DictReader(handle)}
    assert lesions["L1"]["short_axis_mm"] in ("17", "17.0") and lesions["L1"]["node"].lower() in ("true", "1")
    # and the export imports back into a new database
    url2 = f"sqlite:///{tmp_path / 'again.db'}"
    initialise(url2, "nk-hcc-ltx", USER).close()
    assert import_trial(url2, tmp_path / "out", username=USER).written["lesions"] == 3


@pytest.mark.parametrize("aes, lesions, field, rule", [
    ("P-01,\"Gastrointestinal disorders - Other, specify\",,2,2016-01-12,2016-01-20,possible,recovered",
     GOOD_LESIONS, "term_specify", "specify-other-term"),
    ("P-01,Fever,high,1,2016-01-11,2016-01-12,possible,recovered", GOOD_LESIONS, "term_specify",
     "specify-only-for-other"),
    (_quoted(GOOD_AES), GOOD_LESIONS.replace("yes,17,", "yes,14,"), "short_axis_mm", "target-node-15-mm"),
])
def test_bad_rows_write_nothing_and_name_the_rule(tmp_path, aes, lesions, field, rule):
    from earlyphase.capture import initialise
    from earlyphase.interop import import_trial

    _crf(tmp_path / "crf", aes, lesions)
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    initialise(url, "nk-hcc-ltx", USER).close()
    with pytest.raises(InputError) as info:
        import_trial(url, tmp_path / "crf", username=USER)
    assert (field, rule) in [(p.field, p.rule) for p in info.value.problems]
