"""ADAE: one row per adverse event record, with imputed dates and analysis flags.

Columns: STUDYID, USUBJID, TRT01A, TRT01P, SAFFL, AESEQ (order within patient by onset),
AETERM (the reported term: the verbatim term of an "Other, specify" event, else the CTCAE term),
AEDECOD (CTCAE term, e.g. "Gastrointestinal disorders - Other, specify"), AEBODSYS (system organ
class), AETOXGR/ATOXGR (CTCAE grade, 1-5),
AESER, AEREL (attribution as reported), AREL ("RELATED" when possible/probable/definite, else
"NOT RELATED"), RELFL, AEDLTFL (DLT as recorded), DLTWINFL (onset inside the study's DLT
window from first dose), AESTDTC/AEENDTC (as reported), ASTDT/AENDT (imputed dates),
ASTDTF/AENDTF (imputation flags D/M/Y), ASTDTM/AENDTM (date-times when times were reported),
ASTDY (study day, first dose = day 1), ADURN (days, AENDT - ASTDT + 1, the ADaM convention
for dates), ADURU ("DAYS"), ADURH (hours between reported onset and resolution times, when
both were reported to the minute or hour), TRTEMFL, AEOUT, AEACN, SRCDOM ("adverse_events"),
SRCSEQ (the record id).

Treatment-emergent (TRTEMFL = "Y"): onset on or after the first dose, unless the same
term was already present before the first dose, still ongoing at this onset, at the same or
a higher grade (then it is a continuation, not a new or worsened event). A pre-existing event
recorded again at a higher grade after the first dose is therefore treatment-emergent
(worsened). Patients never treated have no treatment-emergent events. Events whose earliest
possible onset is after the data cut-off are dropped.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Mapping

from earlyphase.derive.dates import impute_end, impute_start, parse_partial

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.protocol import Study

RELATED_ATTRIBUTIONS = ("possible", "probable", "definite")


def is_related(attribution: str | None) -> bool:
    """Treatment-related means possibly, probably or definitely related (CTCAE attribution)."""
    return str(attribution or "").strip().lower() in RELATED_ATTRIBUTIONS


def term_labels(ae: "pd.DataFrame") -> "pd.Series":
    """The term to show for each ADAE row: AEDECOD, or for a system organ class's "Other, specify" term the
    event's own words (``Other, specify: gastric varices``), so that different events are not counted as one."""
    from earlyphase.vocab import is_other_specify

    other = ae["AEDECOD"].map(lambda t: isinstance(t, str) and is_other_specify(t)) & (ae["AETERM"] != ae["AEDECOD"])
    return ae["AEDECOD"].where(~other, "Other, specify: " + ae["AETERM"].astype(str))


def derive_adae(
    tables: Mapping[str, "pd.DataFrame"], adsl: "pd.DataFrame", study: "Study", cutoff: date | None
) -> "pd.DataFrame":
    """Derive ADAE (see module docstring) from the ``adverse_events`` frame and ADSL."""
    import pandas as pd

    ae = tables["adverse_events"]
    subj = tables["patients"].set_index("id")["subject_id"]
    by_subj = adsl.set_index("SUBJID")
    rows = []
    for r in ae.itertuples(index=False):
        sid = subj.get(r.patient_id)
        if sid is None or sid not in by_subj.index:
            continue
        s = by_subj.loc[sid]
        earliest = parse_partial(r.onset, "adverse_events.onset")
        if cutoff is not None and earliest.year is not None:
            low = date(earliest.year, earliest.month or 1, earliest.day or 1)
            if low > cutoff:
                continue
        trtsdt = s["TRTSDT"].date() if pd.notna(s["TRTSDT"]) else None
        caps = [d for d in (cutoff, s["DTHDT"].date() if pd.notna(s["DTHDT"]) else None) if d is not None]
        start = impute_start(r.onset, min_date=trtsdt, field="adverse_events.onset")
        end = impute_end(r.resolution, max_date=min(caps) if caps else None, field="adverse_events.resolution")
        if start.date_flag and end.value is not None and end.date_flag is None and start.value and end.value < start.value:
            # the event ended before the first dose: the min-date rule cannot apply
            start = impute_start(r.onset, min_date=None, field="adverse_events.onset")
        if end.value is not None and start.value is not None and end.value < start.value:
            end = type(end)(start.value, end.time, end.date_flag, end.time_flag)
        hours = None
        if start.timestamp is not None and end.timestamp is not None:
            hours = (end.timestamp - start.timestamp).total_seconds() / 3600.0
        rows.append(
            {
                "STUDYID": study.study_id,
                "USUBJID": s["USUBJID"],
                "SUBJID": sid,
                "TRT01P": s["TRT01P"],
                "TRT01PN": s["TRT01PN"],
                "TRT01A": s["TRT01A"],
                "SAFFL": s["SAFFL"],
                "AETERM": r.term_specify if isinstance(r.term_specify, str) and r.term_specify else r.term,
                "AEDECOD": r.term,
                "AEBODSYS": r.soc,
                "AETOXGR": int(r.grade),
                "ATOXGR": int(r.grade),
                "AESER": "Y" if r.serious else "N",
                "AEREL": r.attribution,
                "AREL": "RELATED" if is_related(r.attribution) else "NOT RELATED",
                "RELFL": "Y" if is_related(r.attribution) else "N",
                "AEDLTFL": "Y" if r.dlt else "N",
                "AESTDTC": r.onset,
                "AEENDTC": r.resolution,
                "ASTDT": pd.Timestamp(start.value) if start.value else pd.NaT,
                "ASTDTF": start.date_flag,
                "ASTDTM": pd.Timestamp(start.timestamp) if start.timestamp else pd.NaT,
                "AENDT": pd.Timestamp(end.value) if end.value else pd.NaT,
                "AENDTF": end.date_flag,
                "AENDTM": pd.Timestamp(end.timestamp) if end.timestamp else pd.NaT,
                "ADURH": hours,
                "AEOUT": r.outcome,
                "AEACN": r.action,
                "SRCDOM": "adverse_events",
                "SRCSEQ": int(r.id),
                "TRTSDT": s["TRTSDT"],
            }
        )
    cols = [
        "STUDYID", "USUBJID", "SUBJID", "TRT01P", "TRT01PN", "TRT01A", "SAFFL", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS",
        "AETOXGR", "ATOXGR", "AESER", "AEREL", "AREL", "RELFL", "AEDLTFL", "DLTWINFL", "AESTDTC", "AEENDTC",
        "ASTDT", "ASTDTF", "ASTDTM", "AENDT", "AENDTF", "AENDTM", "ASTDY", "ADURN", "ADURU", "ADURH", "TRTEMFL",
        "AEOUT", "AEACN", "SRCDOM", "SRCSEQ",
    ]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    out = pd.DataFrame(rows)
    for c in ("ASTDT", "AENDT", "ASTDTM", "AENDTM", "TRTSDT"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    out["ASTDY"] = (out["ASTDT"] - out["TRTSDT"]).dt.days
    out.loc[out["ASTDY"] >= 0, "ASTDY"] += 1  # CDISC study day: no day 0
    out["ADURN"] = (out["AENDT"] - out["ASTDT"]).dt.days + 1
    out["ADURU"] = "DAYS"
    window = study.dlt_window_days
    out["DLTWINFL"] = ((out["ASTDY"] >= 1) & (out["ASTDY"] <= window)).map({True: "Y", False: "N"})
    out["TRTEMFL"] = _treatment_emergent(out)
    out = out.sort_values(["USUBJID", "ASTDT", "SRCSEQ"], na_position="last").reset_index(drop=True)
    out["AESEQ"] = out.groupby("USUBJID").cumcount() + 1
    return out[cols]


def _treatment_emergent(out: "pd.DataFrame") -> "pd.Series":
    import pandas as pd

    # pre-treatment records of each (patient, term): (end date or None, grade)
    pre: dict[tuple[str, str], list[tuple[object, int]]] = {}
    for u, term, start, end, trt, grade in zip(out["USUBJID"], out["AEDECOD"], out["ASTDT"], out["AENDT"],
                                               out["TRTSDT"], out["ATOXGR"]):
        if pd.notna(start) and pd.notna(trt) and start < trt:
            pre.setdefault((u, term), []).append((end, grade))
    flags = []
    for u, term, start, trt, grade in zip(out["USUBJID"], out["AEDECOD"], out["ASTDT"], out["TRTSDT"], out["ATOXGR"]):
        if pd.isna(trt) or pd.isna(start) or start < trt:
            flags.append("N")
            continue
        continuation = any((pd.isna(end) or end >= start) and g >= grade for end, g in pre.get((u, term), ()))
        flags.append("N" if continuation else "Y")
    return pd.Series(flags, index=out.index)
