"""ADRS: tumour response per visit (computed from lesion measurements) and best overall response.

Per visit (PARAMCD ``OVRLRESP``), by the study's ``response_criteria``:
- target sum (TSUM, mm): mRECIST sums the *viable* (arterially enhancing) diameters; RECIST 1.1
  sums longest diameters. Both come from ``lesions.viable_diameter_mm`` of the target lesions
  chosen at baseline.
- PD: any new lesion; unequivocal progression of a non-target lesion; or TSUM >= 1.2 x nadir
  (smallest sum so far, baseline included) and above it; RECIST 1.1 also needs an absolute
  increase of at least 5 mm over the nadir (Eisenhauer 2009, section 4.3.1).
- CR: every target lesion gone (sum 0) and every non-target lesion absent.
- PR: TSUM <= 0.7 x baseline sum (or target CR with non-target disease present).
- SD: neither. NE: a baseline target lesion not measured at that visit (and no PD).
- No target lesion at baseline: CR if all non-target lesions absent, else NON-CR/NON-PD.
- A visit without any lesion rows falls back to the investigator's recorded response
  (RSSRC = "INVESTIGATOR"); otherwise RSSRC = "LESIONS".

Best overall response (PARAMCD ``BOR``, one row per treated patient): visits up to the first PD;
CR and PR need confirmation by a later visit at least ``confirm_days`` (28) later showing CR
(for CR) or CR/PR (for PR); SD needs a visit at least ``sd_min_days`` (42) after the start.
Order: CR > PR > SD > NON-CR/NON-PD > PD > NE. RSPFL = Y for confirmed CR/PR (objective
response), DCRFL = Y for CR/PR/SD/NON-CR/NON-PD (disease control).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.protocol import Study

RESPONSE_ORDER = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
RESPONSE_CODE = {r: i + 1 for i, r in enumerate(RESPONSE_ORDER)}
ADEQUATE = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD")  # an assessment that can show progression or not


@dataclass(frozen=True)
class VisitResponse:
    """One visit's computed overall response and the numbers behind it."""

    response: str
    target_sum: float | None
    reason: str


def visit_response(
    *,
    criteria: str,
    baseline_sum: float | None,
    nadir: float | None,
    target_sum: float | None,
    targets_missing: bool,
    nontarget_status: Sequence[str],
    new_lesion: bool,
) -> VisitResponse:
    """Overall response at one visit from its measurements (see module docstring for the rules).

    ``baseline_sum``/``nadir``/``target_sum`` in mm (None when there are no target lesions);
    ``nontarget_status`` holds each non-target lesion's status (present/absent/unequivocal progression).
    """
    statuses = [str(s or "").strip().lower() for s in nontarget_status]
    if new_lesion:
        return VisitResponse("PD", target_sum, "new lesion")
    if any(s.startswith("unequivocal") for s in statuses):
        return VisitResponse("PD", target_sum, "unequivocal progression of non-target disease")
    has_targets = baseline_sum is not None
    if has_targets and not targets_missing and target_sum is not None and nadir is not None:
        rise = target_sum - nadir
        if target_sum >= 1.2 * nadir and rise > 0:
            if criteria == "RECIST 1.1" and rise < 5.0:
                pass  # the 5 mm absolute rule of RECIST 1.1 is not met
            else:
                return VisitResponse("PD", target_sum, f"target sum {target_sum:g} mm >= 120% of nadir {nadir:g} mm")
    if has_targets and targets_missing:
        return VisitResponse("NE", target_sum, "a baseline target lesion was not measured")
    nt_all_absent = all(s == "absent" for s in statuses)
    if not has_targets:
        if not statuses:
            return VisitResponse("NE", None, "no target or non-target lesion assessed")
        if nt_all_absent:
            return VisitResponse("CR", None, "all non-target lesions absent")
        return VisitResponse("NON-CR/NON-PD", None, "non-target disease present, no progression")
    if target_sum == 0:
        if nt_all_absent:
            return VisitResponse("CR", 0.0, "all target and non-target lesions gone")
        return VisitResponse("PR", 0.0, "target lesions gone, non-target disease present")
    if baseline_sum and target_sum <= 0.7 * baseline_sum:
        return VisitResponse("PR", target_sum, f"target sum {target_sum:g} mm <= 70% of baseline {baseline_sum:g} mm")
    return VisitResponse("SD", target_sum, "neither 30% decrease nor 20% increase")


def best_overall_response(
    visits: Sequence[tuple[date, str]], start: date, confirm_days: int = 28, sd_min_days: int = 42
) -> tuple[str, int | None, int | None]:
    """Best overall response with confirmation.

    ``visits`` are (date, response) in date order. Returns (BOR, index of the visit that shows it,
    index of the confirming visit or None). Index None with BOR "NE" means no evaluable visit.
    """
    upto = []
    for v in visits:
        upto.append(v)
        if v[1] == "PD":
            break
    cands: list[tuple[str, int, int | None]] = []
    for i, (d, r) in enumerate(upto):
        later = [(j, dj, rj) for j, (dj, rj) in enumerate(upto) if j > i and (dj - d).days >= confirm_days]
        if r == "CR":
            conf = next((j for j, _, rj in later if rj == "CR"), None)
            if conf is not None:
                cands.append(("CR", i, conf))
                continue
        if r in ("CR", "PR"):
            conf = next((j for j, _, rj in later if rj in ("CR", "PR")), None)
            if conf is not None:
                cands.append(("PR", i, conf))
                continue
        if r in ("CR", "PR", "SD", "NON-CR/NON-PD") and (d - start).days >= sd_min_days:
            cands.append(("SD" if r != "NON-CR/NON-PD" else "NON-CR/NON-PD", i, None))
        elif r == "PD":
            cands.append(("PD", i, None))
    if not cands:
        return "NE", None, None
    best = min(cands, key=lambda c: (RESPONSE_CODE[c[0]], c[1]))
    return best


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
                rows.append(_bor_row(s, study, "NE", None, None, "no tumour assessment"))
            continue
        base = pta[pta["baseline"] == True]  # noqa: E712 - nullable column
        if base.empty:
            base = pta[pta["assessment_date"] <= start]
        base_row = base.iloc[-1] if not base.empty else None
        base_les = les_by.get(base_row["id"], empty_les) if base_row is not None else empty_les
        targets = list(base_les[base_les["kind"] == "target"]["lesion_label"])
        baseline_sum = float(base_les[base_les["kind"] == "target"]["viable_diameter_mm"].sum()) if targets else None
        after = pta[pta["assessment_date"] > (base_row["assessment_date"] if base_row is not None else start)]
        after = after[after["assessment_date"] >= start]
        nadir = baseline_sum
        visits = []
        visit_rows = []
        for a in after.itertuples(index=False):
            al = les_by.get(a.id, empty_les)
            if al.empty or base_les.empty:
                resp = (a.investigator_response or "NE").upper()
                vr = VisitResponse(resp, None, "investigator response (no lesion measurements)")
                src = "INVESTIGATOR"
                tsum = None
            else:
                t = al[al["kind"] == "target"].set_index("lesion_label")["viable_diameter_mm"]
                missing = any(lab not in t.index or pd.isna(t.get(lab)) for lab in targets)
                tsum = float(sum(float(t[lab]) for lab in targets if lab in t.index and pd.notna(t[lab]))) if targets else None
                vr = visit_response(
                    criteria=criteria,
                    baseline_sum=baseline_sum,
                    nadir=nadir,
                    target_sum=tsum,
                    targets_missing=missing,
                    nontarget_status=list(al[al["kind"] == "non-target"]["status"]),
                    new_lesion=bool((al["kind"] == "new").any()),
                )
                src = "LESIONS"
                if targets and not missing and tsum is not None:
                    nadir = min(nadir, tsum)
            visits.append((a.assessment_date.date(), vr.response))
            pchg = (
                100.0 * (tsum - baseline_sum) / baseline_sum
                if tsum is not None and baseline_sum not in (None, 0)
                else np.nan
            )
            visit_rows.append(
                {
                    "STUDYID": study.study_id,
                    "USUBJID": s.USUBJID,
                    "SUBJID": s.SUBJID,
                    "TRT01P": s.TRT01P,
                    "TRT01PN": s.TRT01PN,
                    "PARAMCD": "OVRLRESP",
                    "PARAM": f"Overall response by {criteria}",
                    "AVALC": vr.response,
                    "AVAL": RESPONSE_CODE.get(vr.response, RESPONSE_CODE["NE"]),
                    "ADT": a.assessment_date,
                    "ADY": (a.assessment_date - start).days + 1,
                    "TSUM": tsum,
                    "BASE": baseline_sum,
                    "PCHG": pchg,
                    "RSREAS": vr.reason,
                    "RSSRC": src,
                    "INVRESP": a.investigator_response,
                    "ANL01FL": "Y",
                    "RSPFL": None,
                    "DCRFL": None,
                    "CONFSEQ": None,
                    "SRCDOM": "tumour_assessments",
                    "SRCSEQ": int(a.id),
                }
            )
        rows.extend(visit_rows)
        if s.SAFFL == "Y":
            bor, idx, conf = best_overall_response(visits, start.date(), confirm_days, sd_min_days)
            src_row = visit_rows[idx] if idx is not None else None
            conf_row = visit_rows[conf] if conf is not None else None
            rows.append(_bor_row(s, study, bor, src_row, conf_row, "best overall response with confirmation"))
    cols = [
        "STUDYID", "USUBJID", "SUBJID", "TRT01P", "TRT01PN", "PARAMCD", "PARAM", "AVALC", "AVAL", "ADT", "ADY",
        "TSUM", "BASE", "PCHG", "RSREAS", "RSSRC", "INVRESP", "ANL01FL", "RSPFL", "DCRFL", "CONFSEQ", "SRCDOM", "SRCSEQ",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["ADT"] = pd.to_datetime(out["ADT"]).astype("datetime64[ns]")
    for c in ("SRCSEQ", "CONFSEQ", "ADY"):
        out[c] = pd.to_numeric(out[c]).astype("Int64")
    return out


def _bor_row(s, study, bor, src_row, conf_row, reason) -> dict:
    return {
        "STUDYID": study.study_id,
        "USUBJID": s.USUBJID,
        "SUBJID": s.SUBJID,
        "TRT01P": s.TRT01P,
        "TRT01PN": s.TRT01PN,
        "PARAMCD": "BOR",
        "PARAM": f"Best overall response by {study.response_criteria} (confirmed)",
        "AVALC": bor,
        "AVAL": RESPONSE_CODE[bor],
        "ADT": src_row["ADT"] if src_row else None,
        "ADY": src_row["ADY"] if src_row else None,
        "TSUM": None,
        "BASE": None,
        "PCHG": None,
        "RSREAS": reason,
        "RSSRC": src_row["RSSRC"] if src_row else None,
        "INVRESP": None,
        "ANL01FL": "Y",
        "RSPFL": "Y" if bor in ("CR", "PR") else "N",
        "DCRFL": "Y" if bor in ("CR", "PR", "SD", "NON-CR/NON-PD") else "N",
        "CONFSEQ": conf_row["SRCSEQ"] if conf_row else None,
        "SRCDOM": "tumour_assessments" if src_row else None,
        "SRCSEQ": src_row["SRCSEQ"] if src_row else None,
    }
