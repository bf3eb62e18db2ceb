"""ADRS: tumour response per visit (computed from lesion measurements) and best overall response.

The rules live in ``earlyphase.derive.response`` (RECIST 1.1 with its lymph-node rule, mRECIST, iRECIST, and
the best overall response with confirmation); this module applies them to the lesion records of each patient
under the study's ``response_criteria``.

Rows: PARAMCD ``OVRLRESP``, one per post-baseline assessment; PARAMCD ``BOR``, one per treated patient.
Columns: STUDYID, USUBJID, SUBJID, TRT01P, TRT01PN, PARAMCD, PARAM, AVALC (the criteria's own category: CR ...
under RECIST 1.1 and mRECIST, iCR ... iUPD, iCPD under iRECIST), AVAL (rank, 1 = best), ADT, ADY, TSUM (target
sum, mm: longest, or viable for mRECIST, diameters; lymph nodes by short axis), BASE, PCHG (% change of TSUM from
BASE), RSCRIT (the criteria used), RULE (the named rule that gave AVALC), RSREAS (the rule in words), RSSRC
("LESIONS", or "INVESTIGATOR" for a visit without lesion records, which takes the investigator's response),
INVRESP, ANL01FL, PROGFL ("Y" on the visit that dates progression: a PD; under iRECIST the iUPD that a later iCPD
confirmed), RSPFL (BOR: confirmed CR/PR), DCRFL (BOR: disease control), CONFSEQ (BOR: the confirming assessment;
a confirmed iUPD: the confirming iCPD assessment), SRCDOM, SRCSEQ.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Mapping

from earlyphase.derive.response import (
    BestResponse,
    IrecistVisit,
    LesionMeasure,
    VisitResponse,
    best_overall_response,
    findings_response,
    irecist_responses,
    summarise_visit,
    visit_response,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.protocol import Study

__all__ = ["VisitResponse", "best_overall_response", "derive_adrs", "visit_response", "BestResponse"]

COLUMNS = [
    "STUDYID", "USUBJID", "SUBJID", "TRT01P", "TRT01PN", "PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", "ADY",
    "TSUM", "BASE", "PCHG", "RSCRIT", "RULE", "RSREAS", "RSSRC", "INVRESP", "ANL01FL", "PROGFL", "RSPFL", "DCRFL",
    "CONFSEQ", "SRCDOM", "SRCSEQ",
]


def response_codes(criteria: str) -> dict[str, int]:
    """AVAL of each category of ``criteria``: its rank, best first (1 = CR or iCR)."""
    from earlyphase.vocab import BEST_RESPONSE_ORDER

    return {r: i + 1 for i, r in enumerate(BEST_RESPONSE_ORDER[criteria])}


def _measures(frame: "pd.DataFrame") -> list[LesionMeasure]:
    import pandas as pd

    out = []
    for r in frame.itertuples(index=False):
        node = bool(getattr(r, "node", False)) if pd.notna(getattr(r, "node", None)) else False
        size = getattr(r, "short_axis_mm", None) if node else r.viable_diameter_mm
        out.append(LesionMeasure(
            label=str(r.lesion_label), kind=str(r.kind), size_mm=float(size) if pd.notna(size) else None, node=node,
            status=r.status if isinstance(r.status, str) else None,
        ))
    return out


def derive_adrs(
    tables: Mapping[str, "pd.DataFrame"],
    adsl: "pd.DataFrame",
    study: "Study",
    cutoff: date | None,
    confirm_days: int = 28,
    sd_min_days: int = 42,
) -> "pd.DataFrame":
    """Derive ADRS (OVRLRESP rows per post-baseline visit, one BOR row per treated patient)."""
    import numpy as np
    import pandas as pd

    criteria = study.response_criteria
    codes = response_codes(criteria)
    ta = tables["tumour_assessments"]
    if cutoff is not None:
        ta = ta[ta["assessment_date"] <= pd.Timestamp(cutoff)]
    les = tables["lesions"]
    empty_les = les.iloc[0:0]
    les_by = {aid: frame for aid, frame in les.groupby("assessment_id")}
    ta_by = {pid: frame for pid, frame in ta.groupby("patient_id")}
    rows: list[dict] = []
    for s in adsl.itertuples(index=False):
        pid = int(s.SRCSEQ)
        pta = ta_by.get(pid, ta.iloc[0:0]).sort_values("assessment_date")
        start = s.TRTSDT if s.SAFFL == "Y" else s.RANDDT
        if pd.isna(start) or pta.empty:
            if s.SAFFL == "Y":
                rows.append(_bor_row(s, study, codes, BestResponse("NE", None, None, "NO_TUMOUR_ASSESSMENT"), None, None,
                                     confirm_days, sd_min_days))
            continue
        base = pta[pta["baseline"] == True]  # noqa: E712 - nullable column
        if base.empty:
            base = pta[pta["assessment_date"] <= start]
        base_row = base.iloc[-1] if not base.empty else None
        base_les = les_by.get(base_row["id"], empty_les) if base_row is not None else empty_les
        baseline = _measures(base_les)
        targets = [m for m in baseline if m.kind == "target"]
        baseline_sum = float(sum(m.size_mm or 0.0 for m in targets)) if targets else None
        after = pta[pta["assessment_date"] > (base_row["assessment_date"] if base_row is not None else start)]
        after = after[after["assessment_date"] >= start]
        assessed = list(after.itertuples(index=False))
        findings = []
        for a in assessed:
            al = les_by.get(a.id, empty_les)
            findings.append(None if al.empty or base_les.empty else summarise_visit(baseline, _measures(al)))
        responses = _responses(criteria, assessed, findings, baseline_sum, confirm_days)
        visit_rows = []
        for a, f, vr in zip(assessed, findings, responses):
            tsum = f.target_sum if f is not None else None
            pchg = 100.0 * (tsum - baseline_sum) / baseline_sum if tsum is not None and baseline_sum else np.nan
            visit_rows.append({
                "STUDYID": study.study_id, "USUBJID": s.USUBJID, "SUBJID": s.SUBJID, "TRT01P": s.TRT01P,
                "TRT01PN": s.TRT01PN, "PARAMCD": "OVRLRESP", "PARAM": f"Overall response by {criteria}",
                "AVALC": vr.response, "AVAL": codes.get(vr.response, codes["NE"]), "ADT": a.assessment_date,
                "ADY": (a.assessment_date - start).days + 1, "TSUM": tsum, "BASE": baseline_sum, "PCHG": pchg,
                "RSCRIT": criteria, "RULE": vr.rule, "RSREAS": vr.reason,
                "RSSRC": "LESIONS" if f is not None else "INVESTIGATOR", "INVRESP": a.investigator_response,
                "ANL01FL": "Y", "PROGFL": None, "RSPFL": None, "DCRFL": None, "CONFSEQ": None,
                "SRCDOM": "tumour_assessments", "SRCSEQ": int(a.id),
            })
        _flag_progression(criteria, responses, visit_rows)
        rows.extend(visit_rows)
        if s.SAFFL == "Y":
            visits = [(a.assessment_date.date(), vr.response) for a, vr in zip(assessed, responses)]
            bor = best_overall_response(visits, start.date(), confirm_days, sd_min_days, criteria=criteria)
            src_row = visit_rows[bor.index] if bor.index is not None else None
            conf_row = visit_rows[bor.confirm_index] if bor.confirm_index is not None else None
            rows.append(_bor_row(s, study, codes, bor, src_row, conf_row, confirm_days, sd_min_days))
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["ADT"] = pd.to_datetime(out["ADT"]).astype("datetime64[ns]")
    for c in ("SRCSEQ", "CONFSEQ", "ADY"):
        out[c] = pd.to_numeric(out[c]).astype("Int64")
    return out


def _responses(criteria: str, assessed: list, findings: list, baseline_sum: float | None,
               confirm_days: int) -> list[VisitResponse]:
    """Each assessment's response: iRECIST's sequence rules, or RECIST 1.1 / mRECIST visit by visit."""
    if criteria == "iRECIST":
        visits = [IrecistVisit(a.assessment_date.date(), f, a.investigator_response) for a, f in zip(assessed, findings)]
        return irecist_responses(visits, baseline_sum, confirm_days)
    out = []
    nadir = baseline_sum
    for a, f in zip(assessed, findings):
        if f is None:
            said = (a.investigator_response or "NE").upper()
            out.append(VisitResponse(said, None, "investigator response (no lesion measurements)", "INVESTIGATOR",
                                     ("investigator",) if said == "PD" else ()))
            continue
        vr = findings_response(criteria, baseline_sum, nadir, f)
        if not f.targets_missing and f.target_sum is not None and nadir is not None:
            nadir = min(nadir, f.target_sum)
        out.append(vr)
    return out


def _flag_progression(criteria: str, responses: list[VisitResponse], rows: list[dict]) -> None:
    """PROGFL on the visits that date progression; CONFSEQ on a confirmed iUPD (the iCPD visit confirming it)."""
    for i, vr in enumerate(responses):
        if vr.response == "PD":
            rows[i]["PROGFL"] = "Y"
        elif vr.response == "iCPD" and vr.confirms is not None and vr.rule != "AFTER_ICPD":
            rows[vr.confirms]["PROGFL"] = "Y"
            if vr.confirms != i:
                rows[vr.confirms]["CONFSEQ"] = rows[i]["SRCSEQ"]


def _bor_row(s, study, codes, bor: BestResponse, src_row, conf_row, confirm_days: int, sd_min_days: int) -> dict:
    from earlyphase.vocab import DISEASE_CONTROL, OBJECTIVE_RESPONSES

    criteria = study.response_criteria
    return {
        "STUDYID": study.study_id,
        "USUBJID": s.USUBJID,
        "SUBJID": s.SUBJID,
        "TRT01P": s.TRT01P,
        "TRT01PN": s.TRT01PN,
        "PARAMCD": "BOR",
        "PARAM": f"Best overall response by {criteria} (confirmed)",
        "AVALC": bor.response,
        "AVAL": codes[bor.response],
        "ADT": src_row["ADT"] if src_row else None,
        "ADY": src_row["ADY"] if src_row else None,
        "TSUM": None,
        "BASE": None,
        "PCHG": None,
        "RSCRIT": criteria,
        "RULE": bor.rule,
        "RSREAS": _BOR_REASONS.get(bor.rule, bor.rule.replace("_", " ").lower()).format(
            confirm=confirm_days, sd=sd_min_days),
        "RSSRC": src_row["RSSRC"] if src_row else None,
        "INVRESP": None,
        "ANL01FL": "Y",
        "PROGFL": None,
        "RSPFL": "Y" if bor.response in OBJECTIVE_RESPONSES else "N",
        "DCRFL": "Y" if bor.response in DISEASE_CONTROL else "N",
        "CONFSEQ": conf_row["SRCSEQ"] if conf_row else None,
        "SRCDOM": "tumour_assessments" if src_row else None,
        "SRCSEQ": src_row["SRCSEQ"] if src_row else None,
    }


_BOR_REASONS = {
    "CONFIRMED_CR": "CR confirmed by the next evaluable assessment at least {confirm} days later",
    "CONFIRMED_CR_AFTER_NE": "CR confirmed by the next evaluable assessment at least {confirm} days later, after "
                             "an NE visit",
    "CONFIRMED_PR": "PR (or CR) confirmed by the next evaluable assessment at least {confirm} days later",
    "CONFIRMED_PR_AFTER_NE": "PR (or CR) confirmed by the next evaluable assessment at least {confirm} days later, "
                             "after an NE visit",
    "SD_MIN_DURATION": "stable disease at least {sd} days after the start",
    "UNCONFIRMED_CR_AS_SD": "CR not confirmed; stable disease at least {sd} days after the start",
    "UNCONFIRMED_PR_AS_SD": "PR not confirmed; stable disease at least {sd} days after the start",
    "PROGRESSION": "progression before any qualifying response or stable disease",
    "IUPD_UNCONFIRMED": "unconfirmed progression (iUPD) not yet confirmed or reset at the last assessment",
    "NO_EVALUABLE_VISIT": "no evaluable assessment",
    "SD_TOO_EARLY": "no response, and stable disease too early (< {sd} days after the start) to count",
    "NO_TUMOUR_ASSESSMENT": "no tumour assessment",
}
