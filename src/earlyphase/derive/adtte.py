"""ADTTE: time-to-event parameters PFS and OS, one row per patient and parameter.

Columns: STUDYID, USUBJID, SUBJID, TRT01P, TRT01PN, PARAMCD (PFS/OS), PARAM, STARTDT, ADT, AVAL
(days, ADT - STARTDT), AVALU ("DAYS"), AVALM (months = days / analysis.days_per_month), CNSR
(0 = event, 1 = censored), EVNTDESC, CNSDTDSC, RULE (the named rule that produced the row),
SRCDOM/SRCSEQ (source table and record id of the date used), EVNTDT (the event date when a rule
censored an observed event).

The event and censoring *sources* are data (``TteSource``, admiral's event_source/censor_source):
each names the dataset it reads, the rows that qualify (a pandas query), the date column and the
description. ``derive_param_tte`` takes the earliest event; without one, the latest censoring date.
The PFS censoring *rules* (FDA guidance, Clinical Trial Endpoints for the Approval of Cancer
Drugs and Biologics, 2018, table of PFS censoring) are applied after it: ``PFS_RULES`` lists them,
in this order, as (name, function) pairs; each is switchable in the study file (``analysis.pfs``):

1. NO_POST_BASELINE: no adequate post-baseline assessment and no death -> censored at STARTDT.
2. NEW_ANTICANCER_THERAPY: a new anticancer therapy starting after STARTDT and on or before
   the event (or with no event) -> censored at the last adequate assessment before it.
3. MISSED_ASSESSMENTS: progression or death more than ``missed_assessments_limit`` x the imaging
   interval (+ window) after the last adequate assessment -> censored at that assessment.
4. PROGRESSION / DEATH: otherwise the earliest event is the event.
5. LAST_ADEQUATE_ASSESSMENT: no event -> censored at the last adequate assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.protocol import Study


@dataclass(frozen=True)
class TteSource:
    """Where an event or censoring date comes from (a row of data, not a code path)."""

    name: str  # the RULE written into rows it produces
    kind: Literal["event", "censor"]
    dataset: str  # key into the datasets mapping: "ADSL", "ADRS", ...
    where: str  # pandas query selecting qualifying rows
    date: str  # the date column
    description: str  # EVNTDESC (events) or CNSDTDSC (censoring)
    srcdom: str
    srcseq: str | None  # column holding the source record id
    pick: Literal["first", "last"] = "first"


# An adequate assessment without progression, under RECIST 1.1 / mRECIST and iRECIST alike (an iUPD, confirmed
# or not, is not one).
ADEQUATE_NON_PD = ("PARAMCD == 'OVRLRESP' and AVALC in ('CR', 'PR', 'SD', 'NON-CR/NON-PD', 'iCR', 'iPR', 'iSD', "
                   "'NON-iCR/NON-iUPD')")

PFS_EVENTS: tuple[TteSource, ...] = (
    # PROGFL marks the visit that dates progression (a PD; under iRECIST the iUPD a later iCPD confirmed)
    TteSource("PROGRESSION", "event", "ADRS", "PARAMCD == 'OVRLRESP' and PROGFL == 'Y'", "ADT",
              "DISEASE PROGRESSION", "tumour_assessments", "SRCSEQ", "first"),
    TteSource("DEATH", "event", "ADSL", "DTHFL == 'Y'", "DTHDT", "DEATH", "deaths", "DTHSEQ", "first"),
)
PFS_CENSORS: tuple[TteSource, ...] = (
    TteSource("LAST_ADEQUATE_ASSESSMENT", "censor", "ADRS", ADEQUATE_NON_PD, "ADT",
              "LAST ADEQUATE TUMOUR ASSESSMENT", "tumour_assessments", "SRCSEQ", "last"),
    TteSource("NO_POST_BASELINE", "censor", "ADSL", "USUBJID == USUBJID", "STARTDT",
              "START OF ANALYSIS (NO POST-BASELINE ASSESSMENT)", "ADSL", None, "first"),
)
OS_EVENTS: tuple[TteSource, ...] = (
    TteSource("DEATH", "event", "ADSL", "DTHFL == 'Y'", "DTHDT", "DEATH", "deaths", "DTHSEQ", "first"),
)
OS_CENSORS: tuple[TteSource, ...] = (
    TteSource("LAST_KNOWN_ALIVE", "censor", "ADSL", "DTHFL != 'Y'", "LSTALVDT", "LAST KNOWN ALIVE DATE",
              "ADSL", None, "first"),
)

COLUMNS = [
    "STUDYID", "USUBJID", "SUBJID", "TRT01P", "TRT01PN", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALU",
    "AVALM", "CNSR", "EVNTDESC", "CNSDTDSC", "RULE", "SRCDOM", "SRCSEQ", "EVNTDT",
]


def analysis_population(adsl: "pd.DataFrame", study: "Study") -> "pd.DataFrame":
    """Patients in the time-to-event analysis, with STARTDT set per ``analysis.pfs.start``:
    treated patients from first dose (default), or allocated patients from allocation."""
    frame = adsl.copy()
    if study.analysis.pfs.start == "allocation":
        frame = frame[frame["ALLOCFL"] == "Y"]
        frame["STARTDT"] = frame["RANDDT"]
    else:
        frame = frame[frame["SAFFL"] == "Y"]
        frame["STARTDT"] = frame["TRTSDT"]
    return frame.reset_index(drop=True)


def derive_param_tte(
    population: "pd.DataFrame",
    datasets: Mapping[str, "pd.DataFrame"],
    events: Sequence[TteSource],
    censors: Sequence[TteSource],
    paramcd: str,
    param: str,
    days_per_month: float,
) -> "pd.DataFrame":
    """One row per patient of ``population`` (needs USUBJID, STARTDT): the earliest event among
    ``events`` on/after STARTDT, else the latest censoring date among ``censors`` (ties: the source
    listed first wins)."""
    import pandas as pd

    data = dict(datasets)
    data["ADSL"] = population
    picked = {}
    for src in list(events) + list(censors):
        frame = data[src.dataset].query(src.where, engine="python")
        frame = frame[frame[src.date].notna()]
        frame = frame.merge(population[["USUBJID", "STARTDT"]].rename(columns={"STARTDT": "_START"}), on="USUBJID")
        frame = frame[frame[src.date] >= frame["_START"]]
        frame = frame.sort_values(src.date, kind="stable")
        frame = frame.groupby("USUBJID").head(1) if src.pick == "first" else frame.groupby("USUBJID").tail(1)
        picked[src.name + "/" + src.kind] = (src, frame.set_index("USUBJID"))
    rows = []
    for s in population.itertuples(index=False):
        best = None
        for kind, better in (("event", lambda a, b: a < b), ("censor", lambda a, b: a > b)):
            for src in events if kind == "event" else censors:
                _, frame = picked[src.name + "/" + src.kind]
                if s.USUBJID not in frame.index:
                    continue
                rec = frame.loc[s.USUBJID]
                d = rec[src.date]
                if best is None or better(d, best[1]):
                    best = (src, d, rec)
            if best is not None:
                break
        rows.append(_row(s, paramcd, param, best, days_per_month))
    return _frame(rows)


def _row(s, paramcd, param, best, days_per_month, rule=None, evntdt=None) -> dict:
    import pandas as pd

    src, d, rec = best
    seq = rec[src.srcseq] if src.srcseq else None
    return {
        "STUDYID": s.STUDYID,
        "USUBJID": s.USUBJID,
        "SUBJID": s.SUBJID,
        "TRT01P": s.TRT01P,
        "TRT01PN": s.TRT01PN,
        "PARAMCD": paramcd,
        "PARAM": param,
        "STARTDT": s.STARTDT,
        "ADT": d,
        "CNSR": 0 if src.kind == "event" else 1,
        "EVNTDESC": src.description if src.kind == "event" else None,
        "CNSDTDSC": src.description if src.kind == "censor" else None,
        "RULE": rule or src.name,
        "SRCDOM": src.srcdom,
        "SRCSEQ": None if seq is None or pd.isna(seq) else int(seq),
        "EVNTDT": evntdt,
        "_DPM": days_per_month,
    }


def _frame(rows: list[dict]) -> "pd.DataFrame":
    import pandas as pd

    if not rows:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
        return out
    out = pd.DataFrame(rows)
    for c in ("STARTDT", "ADT", "EVNTDT"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    out["AVAL"] = (out["ADT"] - out["STARTDT"]).dt.days.astype(float)
    out["AVALU"] = "DAYS"
    out["AVALM"] = out["AVAL"] / out["_DPM"]
    out["CNSR"] = out["CNSR"].astype(int)
    out["SRCSEQ"] = out["SRCSEQ"].astype("Int64")
    return out[COLUMNS]


@dataclass(frozen=True)
class PfsContext:
    """What the censoring rules look at for one patient (dates are pandas Timestamps)."""

    row: dict  # the row derive_param_tte made (earliest event, else latest censoring)
    start: Any  # STARTDT
    adequate: "pd.DataFrame"  # adequate non-PD assessments on/after start, in date order (ADRS rows)
    has_post_baseline: bool  # any evaluable (not NE) assessment after start, PD included
    therapies: "pd.DataFrame"  # new anticancer therapies starting after start (other_therapies rows)
    last_alive: Any  # LSTALVDT

    @property
    def is_event(self) -> bool:
        return self.row["CNSR"] == 0

    def censor_at_last_adequate(self, limit, rule: str, desc: str, evntdt=None) -> dict:
        """Censor at the last adequate assessment on or before ``limit`` (all of them if None), or at start."""
        prior = self.adequate if limit is None else self.adequate[self.adequate["ADT"] <= limit]
        if prior.empty:
            return _censor(self.row, self.start, None, "ADSL", rule, desc + " (none: censored at start)", evntdt)
        last = prior.iloc[-1]
        return _censor(self.row, last["ADT"], int(last["SRCSEQ"]), "tumour_assessments", rule, desc, evntdt)


def rule_no_post_baseline(ctx: PfsContext, study: "Study") -> dict | None:
    """No evaluable post-baseline assessment and no death: censored at the start (FDA), or, with the rule
    switched off, at the last date known alive."""
    if ctx.has_post_baseline or (ctx.is_event and ctx.row["RULE"] == "DEATH"):
        return None
    if study.analysis.pfs.censor_no_post_baseline_at_start:
        return _censor(ctx.row, ctx.start, None, "ADSL", "NO_POST_BASELINE",
                       "START OF ANALYSIS (NO POST-BASELINE ASSESSMENT)", None)
    return _censor(ctx.row, ctx.last_alive, None, "ADSL", "NO_POST_BASELINE_LAST_CONTACT",
                   "LAST KNOWN ALIVE (NO POST-BASELINE ASSESSMENT)", None)


def rule_new_anticancer_therapy(ctx: PfsContext, study: "Study") -> dict | None:
    """A new anticancer therapy before the event (or with no event): censored at the last adequate
    assessment before the therapy started."""
    if not study.analysis.pfs.censor_at_new_anticancer_therapy:
        return None
    th = ctx.therapies
    if ctx.is_event:
        th = th[th["start_date"] <= ctx.row["ADT"]]
    if th.empty:
        return None
    return ctx.censor_at_last_adequate(th["start_date"].min(), "NEW_ANTICANCER_THERAPY",
                                       "LAST ADEQUATE ASSESSMENT BEFORE NEW ANTICANCER THERAPY",
                                       ctx.row["ADT"] if ctx.is_event else None)


def rule_missed_assessments(ctx: PfsContext, study: "Study") -> dict | None:
    """Progression or death more than ``limit`` scheduled assessments after the last adequate one
    (limit x interval + window days): censored at that assessment."""
    limit = study.analysis.pfs.missed_assessments_limit
    if limit is None or not ctx.is_event:
        return None
    gap_days = limit * study.imaging.interval_days + study.imaging.window_days
    prior = ctx.adequate[ctx.adequate["ADT"] < ctx.row["ADT"]]
    last = prior["ADT"].max() if not prior.empty else ctx.start
    if (ctx.row["ADT"] - last).days <= gap_days:
        return None
    return ctx.censor_at_last_adequate(last, "MISSED_ASSESSMENTS",
                                       f"LAST ADEQUATE ASSESSMENT BEFORE {limit} OR MORE MISSED ASSESSMENTS",
                                       ctx.row["ADT"])


# The PFS censoring rules in the order they are tried (FDA 2018 precedence); the first that returns a
# row decides it. Without any, the row of derive_param_tte stands (PROGRESSION, DEATH or
# LAST_ADEQUATE_ASSESSMENT). Each rule reads its switch from ``study.analysis.pfs``.
PFS_RULES: tuple[tuple[str, Callable[[PfsContext, "Study"], dict | None]], ...] = (
    ("NO_POST_BASELINE", rule_no_post_baseline),
    ("NEW_ANTICANCER_THERAPY", rule_new_anticancer_therapy),
    ("MISSED_ASSESSMENTS", rule_missed_assessments),
)


def derive_pfs(adsl: "pd.DataFrame", adrs: "pd.DataFrame", tables: Mapping[str, "pd.DataFrame"], study: "Study",
               cutoff: date | None) -> "pd.DataFrame":
    """PFS with the FDA censoring rules configured in ``study.analysis.pfs`` (module docstring)."""
    import pandas as pd

    rules = study.analysis.pfs
    dpm = study.analysis.days_per_month
    pop = analysis_population(adsl, study)
    events = PFS_EVENTS if rules.death_counts_as_event else PFS_EVENTS[:1]
    base = derive_param_tte(pop, {"ADRS": adrs}, events, PFS_CENSORS, "PFS", "Progression-free survival", dpm)
    if base.empty:
        return base
    adequate = adrs.query(ADEQUATE_NON_PD, engine="python")
    therapies = tables["other_therapies"]
    if "new_anticancer" in therapies:
        therapies = therapies[therapies["new_anticancer"] == True]  # noqa: E712 - nullable column
    if cutoff is not None:
        therapies = therapies[therapies["start_date"] <= pd.Timestamp(cutoff)]
    subj_pid = adsl.set_index("USUBJID")["SRCSEQ"]
    adequate_by = {u: f for u, f in adequate.groupby("USUBJID")}
    visits = adrs[(adrs["PARAMCD"] == "OVRLRESP") & (adrs["AVALC"] != "NE")]
    visits_by = {u: f for u, f in visits.groupby("USUBJID")}
    therapies_by = {pid: f for pid, f in therapies.groupby("patient_id")}
    rows = []
    for r, s in zip(base.to_dict("records"), pop.itertuples(index=False)):
        start = s.STARTDT
        mine = adequate_by.get(s.USUBJID, adequate.iloc[0:0])
        post = visits_by.get(s.USUBJID, visits.iloc[0:0])
        th = therapies_by.get(subj_pid.get(s.USUBJID), therapies.iloc[0:0])
        ctx = PfsContext(
            row=r, start=start, adequate=mine[mine["ADT"] >= start].sort_values("ADT"),
            has_post_baseline=bool((post["ADT"] > start).any()), therapies=th[th["start_date"] > start],
            last_alive=s.LSTALVDT,
        )
        decided = None
        for _name, rule in PFS_RULES:
            decided = rule(ctx, study)
            if decided is not None:
                break
        rows.append(decided if decided is not None else r)
    out = pd.DataFrame(rows)
    for c in ("STARTDT", "ADT", "EVNTDT"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    out["AVAL"] = (out["ADT"] - out["STARTDT"]).dt.days.astype(float)
    out["AVALM"] = out["AVAL"] / dpm
    out["SRCSEQ"] = out["SRCSEQ"].astype("Int64")
    return out[COLUMNS]


def _censor(r: dict, adt, seq, srcdom, rule, desc, evntdt) -> dict:
    out = dict(r)
    out.update({"ADT": adt, "CNSR": 1, "EVNTDESC": None, "CNSDTDSC": desc, "RULE": rule, "SRCDOM": srcdom,
                "SRCSEQ": seq, "EVNTDT": evntdt})
    return out


def derive_os(adsl: "pd.DataFrame", study: "Study") -> "pd.DataFrame":
    """OS: death is the event; otherwise censored at the last known alive date (LSTALVDT)."""
    pop = analysis_population(adsl, study)
    return derive_param_tte(pop, {}, OS_EVENTS, OS_CENSORS, "OS", "Overall survival", study.analysis.days_per_month)


def derive_adtte(adsl, adrs, tables, study, cutoff) -> "pd.DataFrame":
    """PFS and OS rows stacked (PFS first)."""
    import pandas as pd

    parts = [derive_pfs(adsl, adrs, tables, study, cutoff), derive_os(adsl, study)]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _frame([])
    return pd.concat(parts, ignore_index=True)
