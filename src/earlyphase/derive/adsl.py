"""ADSL: one row per patient (subject-level analysis dataset).

Columns (CDISC ADaM names): STUDYID, USUBJID, SUBJID, SITEID, TRT01P, TRT01PN (level in the
study's intensity order), TRT01A, RANDDT (allocation date), TRTSDT/TRTEDT (first/last dose),
NADM/NADMPL (administrations given/planned; planned is missing for treatment until progression),
CUMDOSE/CUMDOSPL (dose given/planned, in DOSEU, the study's dose unit), ENRLFL, ALLOCFL, SAFFL
(received at least one dose), COMPLFL (all planned administrations given), EOTSTT/DCTREAS (end of
treatment status and why), AGE (years, from birth year), SEX, ECOGBL, then the baseline variables the
study declares (each field with an ``adam`` variable; rules in :mod:`earlyphase.derive.forms`), DTHFL,
DTHDT, DTHCAUS, DTHSEQ (deaths.id), LSTALVDT (last known alive), DCUTDT (data cut-off), SRCSEQ
(patients.id). Dates are ``datetime64`` at midnight.

Records after the data cut-off are ignored; a patient known alive after the cut-off (or dead
after it) is known alive at it, so LSTALVDT is then the cut-off date.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.protocol import Study


def usubjid(study_id: str, subject_id: str) -> str:
    """Unique subject id across studies: ``STUDYID-SUBJID``."""
    return f"{study_id}-{subject_id}"


def derive_adsl(tables: Mapping[str, "pd.DataFrame"], study: "Study", cutoff: date | None) -> "pd.DataFrame":
    """Derive ADSL from the source frames (see module docstring for the columns)."""
    import numpy as np
    import pandas as pd

    cut = pd.Timestamp(cutoff) if cutoff is not None else pd.Timestamp.max.normalize()
    pts = tables["patients"].copy()
    pts = pts[pts["enrolment_date"] <= cut]
    sites = tables["sites"].set_index("id")["code"] if not tables["sites"].empty else pd.Series(dtype=object)
    alloc = tables["allocations"]
    alloc = alloc[alloc["allocation_date"] <= cut].set_index("patient_id")
    inf = tables["administrations"]
    inf = inf[inf["actual_date"] <= cut]
    from earlyphase.derive.forms import baseline_values

    first_dose = inf.groupby("patient_id")["actual_date"].min().to_dict() if not inf.empty else {}
    study_baseline = baseline_values(tables, study, first_dose)
    deaths = tables["deaths"].set_index("patient_id")
    levels = {g.code: i + 1 for i, g in enumerate(study.groups)}

    rows = []
    for p in pts.itertuples(index=False):
        pid = p.id
        group = alloc["group_code"].get(pid) if pid in alloc.index else None
        pinf = inf[inf["patient_id"] == pid]
        regimen = study.group(group).regimen if group in levels else None
        ninf = int(len(pinf))
        planned_count = regimen.administrations if regimen else None
        ninfpl = planned_count if planned_count is not None else np.nan
        death_date = deaths["death_date"].get(pid) if pid in deaths.index else pd.NaT
        dead = pd.notna(death_date) and death_date <= cut
        withdrawn = str(p.status or "") == "withdrawn" and (pd.isna(p.withdrawal_date) or p.withdrawal_date <= cut)
        if ninf == 0:
            eot, reason = "NOT TREATED", (p.withdrawal_reason if withdrawn else ("Death" if dead else None))
        elif planned_count is not None and ninf >= planned_count:
            eot, reason = "COMPLETED", None
        elif withdrawn:
            eot, reason = "DISCONTINUED", p.withdrawal_reason or "Withdrawn (reason not recorded)"
        elif dead:
            eot, reason = "DISCONTINUED", "Death"
        elif regimen and pinf["actual_date"].max() + pd.Timedelta(days=_gap(regimen) + regimen.interval_window_days) > cut:
            eot, reason = "ONGOING", None
        else:
            eot, reason = "DISCONTINUED", "Not recorded"
        rows.append(
            {
                "STUDYID": study.study_id,
                "USUBJID": usubjid(study.study_id, p.subject_id),
                "SUBJID": p.subject_id,
                "SITEID": sites.get(p.site_id),
                "TRT01P": group,
                "TRT01PN": levels.get(group, np.nan),
                "TRT01A": group if ninf > 0 else None,
                "RANDDT": alloc["allocation_date"].get(pid) if pid in alloc.index else pd.NaT,
                "TRTSDT": pinf["actual_date"].min() if ninf else pd.NaT,
                "TRTEDT": pinf["actual_date"].max() if ninf else pd.NaT,
                "NADM": ninf,
                "NADMPL": ninfpl,
                "CUMDOSE": float(pinf["dose"].sum()) if ninf else 0.0,
                "CUMDOSPL": regimen.cumulative_dose if regimen and regimen.cumulative_dose is not None else np.nan,
                "DOSEU": study.product.dose_unit,
                "ENRLFL": "Y",
                "ALLOCFL": "Y" if group is not None else "N",
                "SAFFL": "Y" if ninf > 0 else "N",
                "COMPLFL": "Y" if eot == "COMPLETED" else "N",
                "EOTSTT": eot,
                "DCTREAS": reason,
                "AGE": (p.enrolment_date.year - int(p.birth_year)) if pd.notna(p.birth_year) else np.nan,
                "AGEU": "YEARS",
                "SEX": p.sex,
                "ECOGBL": p.ecog,
                **{variable: values.get(int(pid)) for variable, values in study_baseline.items()},
                "DTHFL": "Y" if dead else "N",
                "DTHDT": death_date if dead else pd.NaT,
                "DTHCAUS": deaths["cause"].get(pid) if dead else None,
                "DTHSEQ": int(deaths["id"].get(pid)) if dead else None,
                "LSTALVDT": _last_alive(tables, pid, p, cut, death_date if dead else pd.NaT, death_date),
                "DCUTDT": pd.Timestamp(cutoff) if cutoff is not None else pd.NaT,
                "SRCDOM": "patients",
                "SRCSEQ": int(pid),
            }
        )
    cols = [
        "STUDYID", "USUBJID", "SUBJID", "SITEID", "TRT01P", "TRT01PN", "TRT01A", "RANDDT", "TRTSDT", "TRTEDT",
        "NADM", "NADMPL", "CUMDOSE", "CUMDOSPL", "DOSEU", "ENRLFL", "ALLOCFL", "SAFFL", "COMPLFL", "EOTSTT",
        "DCTREAS", "AGE", "AGEU", "SEX", "ECOGBL", *study_baseline, "DTHFL", "DTHDT", "DTHCAUS",
        "DTHSEQ", "LSTALVDT", "DCUTDT", "SRCDOM", "SRCSEQ",
    ]
    out = pd.DataFrame(rows, columns=cols)
    for (form_name, field) in study.adam_fields():
        out[field.adam.variable] = _adam_type(out[field.adam.variable], field)
    for c in ("RANDDT", "TRTSDT", "TRTEDT", "DTHDT", "LSTALVDT", "DCUTDT"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    out["DTHSEQ"] = pd.to_numeric(out["DTHSEQ"]).astype("Int64")
    out["_order"] = out["TRT01PN"].fillna(1e9)
    return out.sort_values(["_order", "SUBJID"]).drop(columns="_order").reset_index(drop=True)


def _gap(regimen) -> int:
    """Days from one administration to the next when on schedule (to tell ongoing from stopped)."""
    schedule = regimen.schedule
    if schedule.cyclic:
        return schedule.cycle_days
    return schedule.every_days or 0


def _adam_type(values: "pd.Series", field) -> "pd.Series":
    import pandas as pd

    if field.type == "integer":
        return pd.to_numeric(values).astype("Int64")
    if field.type == "decimal":
        return pd.to_numeric(values).astype(float)
    if field.type == "date":
        return pd.to_datetime(values).astype("datetime64[ns]")
    if field.type == "yesno":
        return values.map(lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                          else ("Y" if v else "N"))
    return values.astype(object).where(values.notna(), None)


def _last_alive(tables, pid, p, cut, dthdt, any_death) -> "pd.Timestamp":
    """Last date the patient is known alive, on or before the cut-off (death date if died)."""
    import pandas as pd

    if pd.notna(dthdt):
        return dthdt
    dates = [p.enrolment_date]
    for name, col, extra in (
        ("allocations", "allocation_date", None),
        ("administrations", "actual_date", None),
        ("tumour_assessments", "assessment_date", None),
        ("follow_ups", "contact_date", ("status", "alive")),
        ("other_therapies", "start_date", None),
        ("other_therapies", "end_date", None),
    ):
        f = tables[name]
        f = f[f["patient_id"] == pid]
        if extra is not None:
            f = f[f[extra[0]] == extra[1]]
        dates.extend(d for d in f[col] if pd.notna(d))
    ae = tables["adverse_events"]
    ae = ae[ae["patient_id"] == pid]
    for c in ("onset", "resolution"):
        full = pd.to_datetime(ae[c].astype("string").str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        dates.extend(d for d in full if pd.notna(d))
    if pd.notna(any_death):  # died after the cut-off: alive at it
        dates.append(any_death)
    best = max(dates)
    return min(best, cut)
