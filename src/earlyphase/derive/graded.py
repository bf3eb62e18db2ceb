"""Grades a study's forms derive from recorded signs (e.g. ASTCT CRS and ICANS), per patient.

A study form with a derived field (``derived_from``, such as the ASTCT grade of a CRS episode computed
from temperature, blood pressure and oxygen need) is a graded form. ``graded_episodes`` gives one row per
treated patient and graded form: the number of episodes recorded up to the data cut-off and the
highest grade among them (0 with no episode). Episodes are dated by the form's date field, else by
the visit date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.derive.datasets import AnalysisDatasets

COLUMNS = ["SUBJID", "TRT01P", "TRT01PN", "FORM", "PARAM", "EPISODES", "MAXGR", "SRCSEQS"]


@dataclass(frozen=True)
class GradedForm:
    """A form with a derived grade: the form's name and label, the grade field and its grading."""

    form: str
    label: str
    field: str
    field_label: str
    grading: str


def graded_forms(study) -> list[GradedForm]:
    """The study's forms that derive a grade, in study-file order."""
    out = []
    for form in study.forms:
        for f in form.fields:
            if f.derived_from is not None:
                out.append(GradedForm(form.name, form.label, f.name, f.label, f.derived_from))
    return out


def graded_episodes(ds: "AnalysisDatasets") -> "pd.DataFrame":
    """One row per treated (SAFFL) patient and graded form: EPISODES, MAXGR and the records (SRCSEQS)."""
    import pandas as pd

    from earlyphase.derive.forms import form_frame

    study, tables = ds.study, ds.source.tables
    safety = ds.adsl[ds.adsl["SAFFL"] == "Y"] if "SAFFL" in ds.adsl else ds.adsl
    subject_of = dict(zip(tables["patients"]["id"], tables["patients"]["subject_id"]))
    rows = []
    for g in graded_forms(study):
        frame = form_frame(tables, study, g.form)
        date_field = study.form(g.form).date_field
        when = frame[date_field] if date_field else frame["visit_date"]
        if ds.cutoff is not None and len(frame):
            frame = frame[when.isna() | (when <= pd.Timestamp(ds.cutoff))]
        frame = frame.assign(SUBJID=frame["patient_id"].map(subject_of))
        for _, s in safety.iterrows():
            mine = frame[frame["SUBJID"] == s["SUBJID"]]
            grades = mine[g.field].dropna()
            rows.append({"SUBJID": s["SUBJID"], "TRT01P": s["TRT01P"], "TRT01PN": s["TRT01PN"], "FORM": g.form,
                         "PARAM": g.field_label, "EPISODES": int(len(mine)),
                         "MAXGR": int(grades.max()) if len(grades) else 0,
                         "SRCSEQS": tuple(int(x) for x in mine["SRCSEQ"])})
    return pd.DataFrame(rows, columns=COLUMNS)
