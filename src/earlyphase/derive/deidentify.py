"""De-identified analysis datasets: pseudonyms for subjects, study days for dates, age bands for ages.

Used by the report (its ``adam/`` folder) and by the CDISC export (SDTM and ADaM files), so both write the same
de-identified values:

- ``pseudonymise_datasets``: every USUBJID and SUBJID becomes the patient's keyed pseudonym (``P-...``);
- ``deidentified_frame``: each date column (``...DT``, ``...DTM``, ``...DTC``) becomes the study day column
  (``...DY``; CDISC: the reference date is day 1, the day before is day -1, no day 0), ``AGE`` becomes the
  age band ``AGEGR1``, database row ids of patients are removed and dates inside text are scrubbed;
- ``adam_reference_dates``: each subject's day 1 (first dose, else enrolment).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from earlyphase.privacy import Pseudonymiser, age_band
from earlyphase.privacy.scrub import scrub_dates

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive.datasets import AnalysisDatasets

DATE_SUFFIX = re.compile(r"(DTM|DTC|DT)$")


def pseudonymise_datasets(ds: "AnalysisDatasets", pseudonyms: Pseudonymiser) -> "AnalysisDatasets":
    """The same datasets with every USUBJID and SUBJID replaced by the patient's pseudonym."""
    frames = {}
    for name in ("adsl", "adae", "adrs", "adtte"):
        frame = getattr(ds, name).copy()
        if "SUBJID" in frame.columns:
            codes = frame["SUBJID"].map(lambda s: pseudonyms.subject(str(s)))
            frame["USUBJID"] = codes
            frame["SUBJID"] = codes
        frames[name] = frame
    return dataclasses.replace(ds, **frames)


def adam_reference_dates(ds: "AnalysisDatasets"):
    """USUBJID -> study day 1 (first dose, else enrolment), as the de-identified export uses."""
    import pandas as pd

    tables = ds.source.tables
    patients = tables["patients"]
    refs = dict(zip(patients["id"], pd.to_datetime(patients["enrolment_date"])))
    doses = tables.get("administrations")
    if doses is not None and len(doses):
        firsts = pd.to_datetime(doses["actual_date"]).groupby(doses["patient_id"]).min()
        refs.update({k: v for k, v in firsts.items() if pd.notna(v)})
    by_subject = dict(zip(ds.adsl["SRCSEQ"], ds.adsl["USUBJID"]))
    return {by_subject[pid]: ref for pid, ref in refs.items() if pid in by_subject}


def study_days(values, refs):
    import pandas as pd

    def one(value, ref):
        if value is None or ref is None or pd.isna(value) or pd.isna(ref):
            return None
        delta = (pd.Timestamp(value).normalize() - pd.Timestamp(ref).normalize()).days
        return delta + 1 if delta >= 0 else delta

    return [one(v, r) for v, r in zip(values, refs)]


def deidentified_frame(frame, refs: dict[str, Any]):
    """One ADaM frame with study days for dates, an age band for the age, no patient row ids."""
    import pandas as pd

    out = frame.copy()
    subject_refs = [refs.get(u) for u in out["USUBJID"]] if "USUBJID" in out.columns else [None] * len(out)
    for col in list(out.columns):
        is_date = str(out[col].dtype).startswith("datetime64") or col.endswith("DTC")
        if not is_date or not DATE_SUFFIX.search(col):
            continue
        if col.endswith("DTC"):
            values = pd.to_datetime(out[col].astype("string").str.slice(0, 10), errors="coerce")
        else:
            values = out[col]
        target = DATE_SUFFIX.sub("DY", col)
        if target not in out.columns:
            out.insert(out.columns.get_loc(col), target, pd.array(study_days(values, subject_refs), dtype="Int64"))
        out = out.drop(columns=col)
    if "AGE" in out.columns:
        out.insert(out.columns.get_loc("AGE"), "AGEGR1", [age_band(a) for a in out["AGE"]])
        out = out.drop(columns=["AGE"])
    if "SRCDOM" in out.columns and "SRCSEQ" in out.columns and (out["SRCDOM"] == "patients").any():
        out["SRCSEQ"] = out["SRCSEQ"].astype("Int64").mask(out["SRCDOM"] == "patients")
    for col in out.columns:  # the safety net: no date written inside a text value
        if out[col].dtype == object:
            out[col] = [scrub_dates(v).text if isinstance(v, str) else v for v in out[col]]
    return out
