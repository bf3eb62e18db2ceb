"""SDTM domains from the trial's source tables: DM, EX, AE, DS, SV, TU, TR, RS, and SUPPDM/SUPPAE for the study's
own fields. One DataFrame per domain, keyed by STUDYID/USUBJID (``STUDYID-SUBJID``, as ADSL), variables as in
``derive/specs/<domain>.csv``; controlled terminology from :mod:`earlyphase.vocab.cdisc`.

Rules:

- Dates are ISO 8601 text (``--DTC``, as recorded: an AE onset may be partial or carry a time). Study days
  (``--DY``) count from RFSTDTC, the first dose (enrolment when never dosed): day 1 is that date, the day before
  is -1, there is no day 0; a partial date has no study day.
- EPOCH: SCREENING before the first dose, TREATMENT from the first dose to the last dose (inclusive),
  FOLLOW-UP after it; never dosed: SCREENING.
- AESEV from the CTCAE grade (1 MILD, 2 MODERATE, 3-5 SEVERE); AETOXGR the grade; outcome and action through
  CDISC's OUT and ACN codelists; AEREL the attribution in capitals.
- DS: informed consent (PROTOCOL MILESTONE), the end of treatment from ADSL's EOTSTT (COMPLETED, or the reason),
  and death (DEATH).
- SV: each visit a study form was recorded at (the schedule's code and label), and each administration.
- TU: each lesion when first seen (TUMIDENT: TARGET, NON-TARGET, NEW); TR: at each assessment a target lesion's
  longest diameter (LDIAM, a node's short axis SAXIS) in mm, a non-target or new lesion's state (TUMSTATE);
  RS: the investigator's overall response at each assessment (OVRLRESP).
- SUPPDM: the fields the study adds to the enrolment form and the fields of its own forms recorded once per
  patient (QNAM: the field's ADaM variable, else its name in capitals cut to 8); SUPPAE: the DLT flag, the CTCAE
  version and the fields the study adds to the adverse event form. A study form recorded more than once per
  patient has no SDTM place without a custom domain and is listed in ``NOT_IN_SDTM``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from earlyphase.vocab.cdisc import to_submission

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.derive.datasets import AnalysisDatasets
    from earlyphase.privacy import Pseudonymiser

DOMAINS = ("DM", "EX", "AE", "DS", "SV", "TU", "TR", "RS", "SUPPDM", "SUPPAE")
_QNAM_CHARS = re.compile(r"[^A-Z0-9]")


def _iso(value: Any) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value
    return pd.Timestamp(value).date().isoformat()


def _full_date(text: str):
    import pandas as pd

    if len(text) < 10:
        return None
    try:
        return pd.Timestamp(text[:10])
    except ValueError:
        return None


def study_day(text: str, reference) -> int | None:
    """CDISC study day of an ISO date text relative to ``reference`` (None for a partial or missing date)."""
    day = _full_date(text)
    if day is None or reference is None:
        return None
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta


class _Patients:
    """Per patient: USUBJID, reference date (RFSTDTC), first and last dose."""

    def __init__(self, ds: "AnalysisDatasets"):
        import pandas as pd

        from earlyphase.derive.adsl import usubjid

        tables = ds.source.tables
        self.study = ds.study
        self.frame = tables["patients"].sort_values("subject_id").reset_index(drop=True)
        self.usubjid = {r.id: usubjid(ds.study.study_id, r.subject_id) for r in self.frame.itertuples()}
        doses = tables["administrations"]
        firsts = doses.groupby("patient_id")["actual_date"].min() if len(doses) else pd.Series(dtype=object)
        lasts = doses.groupby("patient_id")["actual_date"].max() if len(doses) else pd.Series(dtype=object)
        self.first_dose = {k: pd.Timestamp(v) for k, v in firsts.items() if pd.notna(v)}
        self.last_dose = {k: pd.Timestamp(v) for k, v in lasts.items() if pd.notna(v)}
        self.reference = {r.id: self.first_dose.get(r.id, pd.Timestamp(r.enrolment_date)) for r in self.frame.itertuples()}

    def day(self, pid: int, text: str) -> int | None:
        return study_day(text, self.reference.get(pid))

    def epoch(self, pid: int, text: str) -> str:
        day = _full_date(text)
        first = self.first_dose.get(pid)
        if day is None:
            return ""
        if first is None or day < first:
            return "SCREENING"
        return "TREATMENT" if day <= self.last_dose[pid] else "FOLLOW-UP"


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> "pd.DataFrame":
    import pandas as pd

    out = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column.endswith(("SEQ", "DY", "NUM")) or column in ("AGE", "EXDOSE", "TRSTRESN"):
            if column == "EXDOSE" or column == "TRSTRESN":
                out[column] = pd.to_numeric(out[column]).astype(float)
            else:
                out[column] = pd.to_numeric(out[column]).astype("Int64")
    return out


def _with_seq(rows: list[dict[str, Any]], domain: str, order: tuple[str, ...]) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: tuple("" if r.get(k) is None else str(r.get(k)) for k in order))
    counters: dict[str, int] = {}
    for row in rows:
        counters[row["USUBJID"]] = counters.get(row["USUBJID"], 0) + 1
        row[f"{domain}SEQ"] = counters[row["USUBJID"]]
    return rows


def derive_dm(ds: "AnalysisDatasets", pts: _Patients) -> "pd.DataFrame":
    import pandas as pd

    tables = ds.source.tables
    sites = tables["sites"].set_index("id") if len(tables["sites"]) else None
    alloc = tables["allocations"].set_index("patient_id")
    deaths = tables["deaths"].set_index("patient_id")
    adsl = ds.adsl.set_index("SRCSEQ") if len(ds.adsl) else None
    groups = {g.code: g for g in ds.study.groups}
    rows = []
    for p in pts.frame.itertuples():
        group = alloc["group_code"].get(p.id) if p.id in alloc.index else None
        treated = p.id in pts.first_dose
        death = deaths["death_date"].get(p.id) if p.id in deaths.index else None
        last_alive = adsl["LSTALVDT"].get(p.id) if adsl is not None and p.id in adsl.index else None
        site = sites.loc[p.site_id] if sites is not None and p.site_id in sites.index else None
        rows.append({
            "STUDYID": ds.study.study_id, "DOMAIN": "DM", "USUBJID": pts.usubjid[p.id], "SUBJID": p.subject_id,
            "RFSTDTC": _iso(pts.first_dose.get(p.id)), "RFENDTC": _iso(pts.last_dose.get(p.id)),
            "RFXSTDTC": _iso(pts.first_dose.get(p.id)), "RFXENDTC": _iso(pts.last_dose.get(p.id)),
            "RFICDTC": _iso(p.consent_date), "RFPENDTC": _iso(death if death is not None else last_alive),
            "DTHDTC": _iso(death), "DTHFL": "Y" if death is not None and pd.notna(death) else "",
            "SITEID": site["code"] if site is not None else "",
            "AGE": p.enrolment_date.year - int(p.birth_year) if pd.notna(p.birth_year) else None,
            "AGEU": "YEARS" if pd.notna(p.birth_year) else "", "SEX": to_submission("SEX", p.sex),
            "ARMCD": group or "", "ARM": groups[group].label if group in groups else "",
            "ACTARMCD": (group or "") if treated else "", "ACTARM": groups[group].label if treated and group in groups
            else "", "ARMNRS": "" if group is not None else "NOT ASSIGNED",
            "ACTARMUD": "", "COUNTRY": site["country"] if site is not None and pd.notna(site["country"]) else "",
        })
    for row in rows:
        if row["ARMNRS"] == "" and not row["ACTARMCD"]:
            row["ARMNRS"] = "ASSIGNED, NOT TREATED"
    columns = ["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC",
               "RFPENDTC", "DTHDTC", "DTHFL", "SITEID", "AGE", "AGEU", "SEX", "ARMCD", "ARM", "ACTARMCD", "ACTARM",
               "ARMNRS", "ACTARMUD", "COUNTRY"]
    return _frame(rows, columns)


def derive_ex(ds: "AnalysisDatasets", pts: _Patients) -> "pd.DataFrame":
    product = ds.study.product
    rows = []
    for a in ds.source.tables["administrations"].itertuples():
        if a.patient_id not in pts.usubjid or a.actual_date is None:
            continue
        when = _iso(a.actual_date)
        rows.append({
            "STUDYID": ds.study.study_id, "DOMAIN": "EX", "USUBJID": pts.usubjid[a.patient_id],
            "EXTRT": product.short_name or product.name, "EXDOSE": float(a.dose), "EXDOSU": a.dose_unit,
            "EXROUTE": to_submission("ROUTE", a.route or product.route),
            "EXADJ": a.modification_reason or "", "VISITNUM": 100 + int(a.number), "EPOCH": "TREATMENT",
            "EXSTDTC": when, "EXENDTC": when, "EXSTDY": pts.day(a.patient_id, when),
            "EXENDY": pts.day(a.patient_id, when), "_order": int(a.number),
        })
    rows = _with_seq(rows, "EX", ("USUBJID", "EXSTDTC", "_order"))
    columns = ["STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXADJ", "VISITNUM",
               "EPOCH", "EXSTDTC", "EXENDTC", "EXSTDY", "EXENDY"]
    return _frame(rows, columns)


def derive_ae(ds: "AnalysisDatasets", pts: _Patients) -> tuple["pd.DataFrame", dict[int, int]]:
    """AE and the map adverse_events.id -> AESEQ (SUPPAE points at AESEQ)."""
    rows = []
    for e in ds.source.tables["adverse_events"].itertuples():
        if e.patient_id not in pts.usubjid:
            continue
        onset, end = _iso(e.onset), _iso(e.resolution)
        term = e.term if not e.term_specify else f"{e.term}: {e.term_specify}"
        rows.append({
            "STUDYID": ds.study.study_id, "DOMAIN": "AE", "USUBJID": pts.usubjid[e.patient_id], "AETERM": term,
            "AEDECOD": e.term, "AEBODSYS": e.soc or "", "AESEV": to_submission("AESEV", str(int(e.grade))),
            "AETOXGR": str(int(e.grade)), "AESER": "Y" if e.serious else "N",
            "AEREL": (e.attribution or "").upper(), "AEACN": to_submission("ACN", e.action),
            "AEOUT": to_submission("OUT", e.outcome), "EPOCH": pts.epoch(e.patient_id, onset),
            "AESTDTC": onset, "AEENDTC": end, "AESTDY": pts.day(e.patient_id, onset),
            "AEENDY": pts.day(e.patient_id, end), "_id": int(e.id),
        })
    rows = _with_seq(rows, "AE", ("USUBJID", "AESTDTC", "_id"))
    seq = {r["_id"]: r["AESEQ"] for r in rows}
    columns = ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AETOXGR", "AESER",
               "AEREL", "AEACN", "AEOUT", "EPOCH", "AESTDTC", "AEENDTC", "AESTDY", "AEENDY"]
    return _frame(rows, columns), seq


def derive_ds(ds: "AnalysisDatasets", pts: _Patients) -> "pd.DataFrame":
    import pandas as pd

    adsl = ds.adsl.set_index("SRCSEQ") if len(ds.adsl) else None
    deaths = ds.source.tables["deaths"].set_index("patient_id")
    rows = []
    for p in pts.frame.itertuples():
        base = {"STUDYID": ds.study.study_id, "DOMAIN": "DS", "USUBJID": pts.usubjid[p.id]}
        if p.consent_date is not None and pd.notna(p.consent_date):
            when = _iso(p.consent_date)
            rows.append({**base, "DSTERM": "INFORMED CONSENT OBTAINED", "DSDECOD": "INFORMED CONSENT OBTAINED",
                         "DSCAT": "PROTOCOL MILESTONE", "EPOCH": "SCREENING", "DSSTDTC": when,
                         "DSSTDY": pts.day(p.id, when)})
        status = adsl["EOTSTT"].get(p.id) if adsl is not None and p.id in adsl.index else None
        if status in ("COMPLETED", "DISCONTINUED"):
            reason = adsl["DCTREAS"].get(p.id) if status == "DISCONTINUED" else None
            decod = "COMPLETED" if status == "COMPLETED" else _ncomplt(reason, p.status)
            when = _iso(p.withdrawal_date if status == "DISCONTINUED" and p.status == "withdrawn"
                        else pts.last_dose.get(p.id))
            rows.append({**base, "DSTERM": (reason or status).upper()[:200], "DSDECOD": decod,
                         "DSCAT": "DISPOSITION EVENT", "EPOCH": "TREATMENT", "DSSTDTC": when,
                         "DSSTDY": pts.day(p.id, when)})
        if p.id in deaths.index:
            when = _iso(deaths["death_date"].get(p.id))
            rows.append({**base, "DSTERM": "DEATH", "DSDECOD": "DEATH", "DSCAT": "DISPOSITION EVENT",
                         "EPOCH": pts.epoch(p.id, when) or "FOLLOW-UP", "DSSTDTC": when, "DSSTDY": pts.day(p.id, when)})
    rows = _with_seq(rows, "DS", ("USUBJID", "DSSTDTC", "DSCAT"))
    columns = ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "EPOCH", "DSSTDTC", "DSSTDY"]
    return _frame(rows, columns)


def _ncomplt(reason: str | None, status: str | None) -> str:
    text = (reason or "").lower()
    if text == "death":
        return "DEATH"
    if "progress" in text:
        return "PROGRESSIVE DISEASE"
    if "adverse" in text or "toxic" in text:
        return "ADVERSE EVENT"
    if status == "withdrawn":
        return "WITHDRAWAL BY SUBJECT"
    return "OTHER"


def derive_sv(ds: "AnalysisDatasets", pts: _Patients) -> "pd.DataFrame":
    import pandas as pd

    schedule = {v.code: (i + 1, v.label) for i, v in enumerate(ds.study.visits)}
    noun = ds.study.product.administration.upper()
    seen: dict[tuple[int, str], dict[str, Any]] = {}
    records = ds.source.tables.get("form_records")
    if records is not None:
        for r in records.itertuples():
            if r.patient_id not in pts.usubjid or not r.visit or r.visit not in schedule:
                continue
            when = _iso(r.visit_date)
            key = (r.patient_id, r.visit)
            if key in seen and (not when or seen[key]["SVSTDTC"] and seen[key]["SVSTDTC"] <= when):
                continue
            number, label = schedule[r.visit]
            seen[key] = {"VISITNUM": number, "VISIT": label.upper(), "SVSTDTC": when}
    for a in ds.source.tables["administrations"].itertuples():
        if a.patient_id in pts.usubjid and a.actual_date is not None and pd.notna(a.actual_date):
            seen[(a.patient_id, f"#{a.number}")] = {"VISITNUM": 100 + int(a.number),
                                                    "VISIT": f"{noun} {int(a.number)}", "SVSTDTC": _iso(a.actual_date)}
    rows = []
    for (pid, _), visit in seen.items():
        when = visit["SVSTDTC"]
        rows.append({"STUDYID": ds.study.study_id, "DOMAIN": "SV", "USUBJID": pts.usubjid[pid], **visit,
                     "EPOCH": pts.epoch(pid, when), "SVENDTC": when, "SVSTDY": pts.day(pid, when),
                     "SVENDY": pts.day(pid, when)})
    rows.sort(key=lambda r: (r["USUBJID"], r["VISITNUM"]))
    columns = ["STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "VISIT", "EPOCH", "SVSTDTC", "SVENDTC", "SVSTDY", "SVENDY"]
    return _frame(rows, columns)


def derive_tumour(ds: "AnalysisDatasets", pts: _Patients) -> tuple["pd.DataFrame", "pd.DataFrame", "pd.DataFrame"]:
    """TU, TR and RS."""
    import pandas as pd

    tables = ds.source.tables
    assessments = tables["tumour_assessments"].sort_values(["patient_id", "assessment_date", "id"])
    lesions = tables["lesions"]
    criteria = ds.study.response_criteria if hasattr(ds.study, "response_criteria") else ""
    tu, tr, rs = [], [], []
    identified: set[tuple[int, str]] = set()
    for a in assessments.itertuples():
        if a.patient_id not in pts.usubjid:
            continue
        usubjid = pts.usubjid[a.patient_id]
        when = _iso(a.assessment_date)
        day = pts.day(a.patient_id, when)
        base = {"STUDYID": ds.study.study_id, "USUBJID": usubjid}
        for les in lesions[lesions["assessment_id"] == a.id].sort_values("lesion_label").itertuples():
            key = (a.patient_id, les.lesion_label)
            if key not in identified:
                identified.add(key)
                kind = to_submission("TUMIDENT", les.kind)
                tu.append({**base, "DOMAIN": "TU", "TULNKID": les.lesion_label, "TUTESTCD": "TUMIDENT",
                           "TUTEST": "Tumor Identification", "TUORRES": kind, "TUSTRESC": kind,
                           "TULOC": les.location or "", "TUMETHOD": a.modality or "", "TUDTC": when, "TUDY": day})
            if les.kind == "target":
                node = bool(les.node) and pd.notna(les.short_axis_mm)
                value = les.short_axis_mm if node else les.viable_diameter_mm
                if value is None or pd.isna(value):
                    continue
                code, test = ("SAXIS", "Short Axis") if node else ("LDIAM", "Longest Diameter")
                tr.append({**base, "DOMAIN": "TR", "TRLNKID": les.lesion_label, "TRTESTCD": code, "TRTEST": test,
                           "TRORRES": f"{float(value):g}", "TRORRESU": "mm", "TRSTRESC": f"{float(value):g}",
                           "TRSTRESN": float(value), "TRSTRESU": "mm", "TRMETHOD": a.modality or "",
                           "TRDTC": when, "TRDY": day})
            else:
                state = to_submission("TRSTATE", les.status or "present")
                tr.append({**base, "DOMAIN": "TR", "TRLNKID": les.lesion_label, "TRTESTCD": "TUMSTATE",
                           "TRTEST": "Tumor State", "TRORRES": state, "TRORRESU": "", "TRSTRESC": state,
                           "TRSTRESN": None, "TRSTRESU": "", "TRMETHOD": a.modality or "", "TRDTC": when,
                           "TRDY": day})
        if a.investigator_response is not None and pd.notna(a.investigator_response) and a.investigator_response:
            rs.append({**base, "DOMAIN": "RS", "RSTESTCD": "OVRLRESP", "RSTEST": "Overall Response",
                       "RSCAT": str(criteria or ""), "RSORRES": a.investigator_response,
                       "RSSTRESC": a.investigator_response, "RSEVAL": "INVESTIGATOR", "RSDTC": when, "RSDY": day})
    tu = _with_seq(tu, "TU", ("USUBJID", "TUDTC", "TULNKID"))
    tr = _with_seq(tr, "TR", ("USUBJID", "TRDTC", "TRLNKID"))
    rs = _with_seq(rs, "RS", ("USUBJID", "RSDTC"))
    return (
        _frame(tu, ["STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TULNKID", "TUTESTCD", "TUTEST", "TUORRES", "TUSTRESC",
                    "TULOC", "TUMETHOD", "TUDTC", "TUDY"]),
        _frame(tr, ["STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRLNKID", "TRTESTCD", "TRTEST", "TRORRES", "TRORRESU",
                    "TRSTRESC", "TRSTRESN", "TRSTRESU", "TRMETHOD", "TRDTC", "TRDY"]),
        _frame(rs, ["STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST", "RSCAT", "RSORRES", "RSSTRESC",
                    "RSEVAL", "RSDTC", "RSDY"]),
    )


# -- SUPPQUAL ---------------------------------------------------------------------------------------------------

SUPP_COLUMNS = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"]


def forms_not_in_sdtm(ds: "AnalysisDatasets") -> list[str]:
    """The study's own forms recorded more than once for some patient: SUPPDM cannot hold them (one value per
    subject and qualifier), and no custom domain is written for them."""
    from earlyphase.derive.forms import form_frame

    out = []
    for form in ds.study.forms:
        frame = form_frame(ds.source.tables, ds.study, form.name)
        if not frame.empty and frame["patient_id"].duplicated().any():
            out.append(form.name)
    return out


def qnam(field) -> str:
    """A study field's SUPPQUAL name: its ADaM variable, else its name in capitals without '_', cut to 8."""
    if getattr(field, "adam", None) is not None:
        return field.adam.variable
    name = _QNAM_CHARS.sub("", field.name.upper())
    return name[:8] if name[:1].isalpha() else ("Q" + name)[:8]


def _supp_value(value: Any, field) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if field.type == "date":
        return _iso(value)
    if field.type == "yesno":
        return "Y" if bool(value) else "N"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _qlabel(field) -> str:
    label = field.adam.label if getattr(field, "adam", None) is not None else field.label
    return label if len(label) <= 40 else label[:37].rstrip() + "..."


def derive_supp(ds: "AnalysisDatasets", pts: _Patients, ae_seq: dict[int, int]) -> tuple["pd.DataFrame", "pd.DataFrame",
                                                                                          list[str]]:
    """SUPPDM, SUPPAE and the study forms SDTM has no place for (recorded more than once per patient)."""
    from earlyphase.derive.forms import extension_frame, form_frame

    study, tables = ds.study, ds.source.tables
    suppdm, suppae, left_out = [], [], []
    used: dict[str, str] = {}

    def name_of(field, where: str) -> str:
        name = qnam(field)
        base, n = name, 1
        while name in used and used[name] != where:
            n += 1
            name = f"{base[:8 - len(str(n))]}{n}"
        used[name] = where
        return name

    def add_dm(pid, field, value, where):
        text = _supp_value(value, field)
        if text and pid in pts.usubjid:
            suppdm.append({"STUDYID": study.study_id, "RDOMAIN": "DM", "USUBJID": pts.usubjid[pid], "IDVAR": "",
                           "IDVARVAL": "", "QNAM": name_of(field, where), "QLABEL": _qlabel(field), "QVAL": text,
                           "QORIG": "CRF", "QEVAL": "", "_type": field.type, "_identifying": field.identifying})

    for form in study.forms:
        frame = form_frame(tables, study, form.name)
        if frame.empty:
            continue
        if frame["patient_id"].duplicated().any():
            left_out.append(form.name)
            continue
        for row in frame.itertuples():
            for field in form.fields:
                add_dm(row.patient_id, field, getattr(row, field.name), f"{form.name}.{field.name}")
    enrolment = study.extension("enrolment")
    if enrolment is not None:
        frame = extension_frame(tables, study, "enrolment")
        for row in frame.itertuples():
            for field in enrolment.fields:
                add_dm(row.patient_id, field, getattr(row, field.name), f"enrolment.{field.name}")

    events = tables["adverse_events"].set_index("id")
    for aid, seq in ae_seq.items():
        pid = events.loc[aid, "patient_id"]
        base = {"STUDYID": study.study_id, "RDOMAIN": "AE", "USUBJID": pts.usubjid[pid], "IDVAR": "AESEQ",
                "IDVARVAL": str(seq), "QORIG": "CRF", "QEVAL": "", "_type": "text", "_identifying": False}
        suppae.append({**base, "QNAM": "AEDLT", "QLABEL": "Dose-Limiting Toxicity",
                       "QVAL": "Y" if events.loc[aid, "dlt"] else "N"})
        suppae.append({**base, "QNAM": "AETOXGRV", "QLABEL": "CTCAE Version",
                       "QVAL": str(events.loc[aid, "ctcae_version"])})
    extension = study.extension("adverse_event")
    if extension is not None:
        frame = extension_frame(tables, study, "adverse_event")
        for row in frame.itertuples():
            if row.core_id not in ae_seq:
                continue
            for field in extension.fields:
                text = _supp_value(getattr(row, field.name), field)
                if text:
                    suppae.append({"STUDYID": study.study_id, "RDOMAIN": "AE", "USUBJID": pts.usubjid[row.patient_id],
                                   "IDVAR": "AESEQ", "IDVARVAL": str(ae_seq[row.core_id]),
                                   "QNAM": name_of(field, f"adverse_event.{field.name}"), "QLABEL": _qlabel(field),
                                   "QVAL": text, "QORIG": "CRF", "QEVAL": "", "_type": field.type,
                                   "_identifying": field.identifying})
    suppdm.sort(key=lambda r: (r["USUBJID"], r["QNAM"]))
    suppae.sort(key=lambda r: (r["USUBJID"], int(r["IDVARVAL"]), r["QNAM"]))
    import pandas as pd

    columns = SUPP_COLUMNS + ["_type", "_identifying"]
    return pd.DataFrame(suppdm, columns=columns), pd.DataFrame(suppae, columns=columns), left_out


def derive_sdtm(ds: "AnalysisDatasets") -> dict[str, "pd.DataFrame"]:
    """Every SDTM domain of the study, by name (DOMAINS order). SUPP frames keep two private columns,
    ``_type`` and ``_identifying`` (the field's type, and whether it identifies the patient), for
    :func:`deidentify_sdtm`; :func:`public` drops them."""
    pts = _Patients(ds)
    ae, ae_seq = derive_ae(ds, pts)
    tu, tr, rs = derive_tumour(ds, pts)
    suppdm, suppae, left_out = derive_supp(ds, pts, ae_seq)
    return {"DM": derive_dm(ds, pts), "EX": derive_ex(ds, pts), "AE": ae, "DS": derive_ds(ds, pts),
            "SV": derive_sv(ds, pts), "TU": tu, "TR": tr, "RS": rs, "SUPPDM": suppdm, "SUPPAE": suppae}


def public(frames: dict[str, "pd.DataFrame"]) -> dict[str, "pd.DataFrame"]:
    """The frames without the private columns (``_...``)."""
    return {n: f[[c for c in f.columns if not c.startswith("_")]] for n, f in frames.items()}


def deidentify_sdtm(frames: dict[str, "pd.DataFrame"], pseudonyms: "Pseudonymiser") -> dict[str, "pd.DataFrame"]:
    """The de-identified domains: pseudonyms for USUBJID/SUBJID, no ``--DTC`` (the ``--DY`` stay; DM gets RFSTDY
    and the rest as study days), AGE replaced by the age band in SUPPDM (AGEGR1), identifying or date study fields
    left out of SUPPQUAL, dates in text scrubbed."""
    import pandas as pd

    from earlyphase.privacy import age_band
    from earlyphase.privacy.scrub import scrub_dates

    dm = frames["DM"]
    subject = dict(zip(dm["USUBJID"], dm["SUBJID"]))
    code = {u: pseudonyms.subject(str(s)) for u, s in subject.items()}
    reference = {u: _full_date(r) for u, r in zip(dm["USUBJID"], dm["RFSTDTC"])}
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        if name.startswith("SUPP"):
            keep = ~frame["_identifying"].astype(bool) & (frame["_type"] != "date")
            frame = frame[keep].reset_index(drop=True)
        if name == "DM":
            for column in [c for c in frame.columns if c.endswith("DTC")]:
                if column != "RFSTDTC":
                    target = column[:-3] + "DY"
                    frame.insert(frame.columns.get_loc(column), target, pd.array(
                        [study_day(v, reference.get(u)) for v, u in zip(frame[column], frame["USUBJID"])],
                        dtype="Int64"))
            frame = frame.drop(columns=["AGE", "AGEU"])
            if "RFSTDTC" in frame.columns:
                frame.insert(frame.columns.get_loc("RFSTDTC"), "RFSTDY", pd.array(
                    [1 if v else None for v in frame["RFSTDTC"]], dtype="Int64"))
        frame = frame.drop(columns=[c for c in frame.columns if c.endswith("DTC")])
        if "USUBJID" in frame.columns:
            if name == "SUPPDM":
                bands = [{"STUDYID": s, "RDOMAIN": "DM", "USUBJID": u, "IDVAR": "", "IDVARVAL": "", "QNAM": "AGEGR1",
                          "QLABEL": "Pooled Age Group 1", "QVAL": age_band(None if pd.isna(a) else int(a)) or "", "QORIG": "DERIVED", "QEVAL": "",
                          "_type": "text", "_identifying": False}
                         for u, a, s in zip(frames["DM"]["USUBJID"], frames["DM"]["AGE"], frames["DM"]["STUDYID"])
                         if not pd.isna(a)]
                frame = pd.concat([frame, pd.DataFrame(bands, columns=frame.columns)], ignore_index=True)
            frame["USUBJID"] = frame["USUBJID"].map(code)
        if "SUBJID" in frame.columns:
            frame["SUBJID"] = frame["USUBJID"]
        for column in frame.columns:
            if frame[column].dtype == object and not column.startswith("_"):
                frame[column] = [scrub_dates(v).text if isinstance(v, str) else v for v in frame[column]]
        if "USUBJID" in frame.columns:
            frame = frame.sort_values([c for c in ("USUBJID", f"{name}SEQ", "VISITNUM", "QNAM")
                                       if c in frame.columns], kind="stable").reset_index(drop=True)
        out[name] = frame
    return out
