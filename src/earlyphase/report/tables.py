"""The report's tables, built from the analysis datasets; every count and median is traced.

Each builder returns a ``TraceTable``. Percentages use the population named in the table
(safety population = patients who received at least one dose) per group as denominator. The words
(product, administration noun, dose unit, baseline variables, adverse events of special interest)
come from the study file.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from earlyphase.report.trace import Cell, TraceTable, count_cell, text
from earlyphase.report.words import administration, product_administrations

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.derive import AnalysisDatasets
    from earlyphase.report.survival import EndpointAnalysis

TOTAL = "Total"
GRADES = (1, 2, 3, 4, 5)


def _fmt(x: float | None, digits: int = 1) -> str:
    # NA where R prints NA: a median or confidence limit the curve does not reach is not estimable. The
    # point estimate and both limits use the same word, so "2.7 (NA–NA)" reads as R's output does.
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    return f"{x:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NA"
    if p < 0.0001:
        return "< 0.0001"
    return f"{p:.4f}"


def group_columns(ds: "AnalysisDatasets", population: str = "SAFFL") -> list[tuple[str, "pd.DataFrame"]]:
    """(label, ADSL rows) for each group present, in intensity order, then the total."""
    adsl = ds.adsl if population is None else ds.adsl[ds.adsl[population] == "Y"]
    cols = [(g, adsl[adsl["TRT01P"] == g]) for g in ds.study.group_codes if (ds.adsl["TRT01P"] == g).any()]
    cols.append((TOTAL, adsl[adsl["TRT01P"].notna()]))
    return cols


def _header(cols, what="n (%)") -> list[str]:
    return [f"{g} (N={len(rows)})" if g != TOTAL else f"Total (N={len(rows)})" for g, rows in cols]


def _patient_records(rows: "pd.DataFrame") -> dict[str, tuple[str, ...]]:
    return {u: (f"patients#{int(s)}",) for u, s in zip(rows["USUBJID"], rows["SRCSEQ"])}


def _ev(frame: "pd.DataFrame", users: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    """USUBJID -> ("table#id", ...) from a frame with USUBJID, SRCDOM, SRCSEQ."""
    out: dict[str, list[str]] = defaultdict(list)
    for u, dom, seq in zip(frame["USUBJID"], frame["SRCDOM"], frame["SRCSEQ"]):
        if users is not None and u not in users:
            continue
        out[u].append(f"{dom}#{int(seq)}" if seq is not None and not (isinstance(seq, float) and math.isnan(seq)) and str(seq) != "<NA>" else str(dom))
    return {k: tuple(v) for k, v in out.items()}


def _split(ev: Mapping[str, tuple[str, ...]], cols) -> list[Cell]:
    """One count cell per group column from patient evidence (dict filtering: fast)."""
    out = []
    for _, rows in cols:
        users = set(rows["USUBJID"])
        out.append(count_cell({u: v for u, v in ev.items() if u in users}, len(rows)))
    return out


# ---------------------------------------------------------------------------------------- disposition
def disposition_table(ds: "AnalysisDatasets") -> TraceTable:
    cols = group_columns(ds, population=None)
    adsl = ds.adsl
    inf = _dose_ids(ds)
    deaths = adsl[adsl["DTHFL"] == "Y"]
    noun, nouns = administration(ds.study), administration(ds.study, plural=True)

    def row(label, pick, records=None):
        cells = [text(label)]
        for _, rows in cols:
            chosen = rows[pick(rows)]
            ev = {u: records(u) if records else (f"patients#{int(s)}",) for u, s in zip(chosen["USUBJID"], chosen["SRCSEQ"])}
            cells.append(count_cell(ev, percent=False))
        return cells

    rows = [
        row("Enrolled", lambda r: r["ENRLFL"] == "Y"),
        row("Allocated", lambda r: r["ALLOCFL"] == "Y"),
        row(f"Treated (at least one {noun})", lambda r: r["SAFFL"] == "Y", lambda u: inf.get(u, ())),
        row(f"Completed all planned {nouns}", lambda r: r["EOTSTT"] == "COMPLETED", lambda u: inf.get(u, ())),
        row("Treatment ongoing at cut-off", lambda r: r["EOTSTT"] == "ONGOING"),
        row("Discontinued treatment", lambda r: r["EOTSTT"] == "DISCONTINUED"),
    ]
    for reason in sorted(adsl.loc[adsl["EOTSTT"] == "DISCONTINUED", "DCTREAS"].dropna().unique()):
        rows.append(row(f"   {reason}", lambda r, reason=reason: (r["EOTSTT"] == "DISCONTINUED") & (r["DCTREAS"] == reason)))
    death_ids = dict(zip(deaths["USUBJID"], deaths["DTHSEQ"]))
    rows.append(row("Died by the data cut-off", lambda r: r["DTHFL"] == "Y", lambda u: (f"deaths#{int(death_ids[u])}",)))
    rows.append(row("Alive at last contact", lambda r: r["DTHFL"] != "Y"))
    return TraceTable("disposition", "Disposition", ["Patients"] + _header(cols), rows,
                      notes=[f"Data cut-off {ds.cutoff} ({ds.cutoff_source})."])


def _dose_ids(ds: "AnalysisDatasets") -> dict[str, tuple[str, ...]]:
    inf = ds.source.tables["administrations"]
    subj = ds.adsl.set_index("SRCSEQ")["USUBJID"]
    out: dict[str, list[str]] = defaultdict(list)
    for pid, iid in zip(inf["patient_id"], inf["id"]):
        if pid in subj.index:
            out[subj[pid]].append(f"administrations#{int(iid)}")
    return {k: tuple(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------- baseline
def _median_range(values: "pd.Series", digits: int = 1) -> str:
    v = values.dropna().astype(float)
    if v.empty:
        return "—"
    return f"{v.median():.{digits}f} ({v.min():.{digits}f}–{v.max():.{digits}f})"


def baseline_table(ds: "AnalysisDatasets") -> TraceTable:
    cols = group_columns(ds, population=None)
    cols = [(g, r[r["ALLOCFL"] == "Y"]) for g, r in cols]
    rows: list[list[Cell]] = []

    def stat(label, col, digits=1):
        cells = [text(label)]
        for _, r in cols:
            ok = r[r[col].notna()]
            cells.append(Cell(_median_range(r[col], digits), _patient_records(ok)))
        rows.append(cells)

    def cat(label, col, levels):
        rows.append([text(label)] + [text("") for _ in cols])
        for lev, name in levels:
            cells = [text(f"   {name}")]
            for _, r in cols:
                chosen = r[r[col].astype(str) == str(lev)]
                cells.append(count_cell(_patient_records(chosen), len(r)))
            rows.append(cells)

    stat("Age, years: median (range)", "AGE", 0)
    cat("Sex, n (%)", "SEX", [("M", "Male"), ("F", "Female")])
    ecog = sorted(ds.adsl["ECOGBL"].dropna().astype(int).unique())
    cat("ECOG performance status, n (%)", "ECOGBL", [(e, str(e)) for e in ecog])
    # the baseline variables the study declares, each as its type suggests
    for _form, field in ds.study.adam_fields():
        if not field.adam.baseline_table or field.adam.variable not in ds.adsl:
            continue
        variable, label = field.adam.variable, field.adam.label
        unit = f", {field.unit}" if field.unit and field.unit not in label else ""
        if field.type in ("integer", "decimal"):
            stat(f"{label}{unit}: median (range)", variable, 0 if field.type == "integer" else 1)
        elif field.type in ("choice", "yesno"):
            if field.type == "yesno":
                levels = [("Y", "Yes"), ("N", "No")]
            else:
                present = set(ds.adsl[variable].dropna().astype(str))
                levels = [(c, lab) for c, lab in ds.study.codes_of(field) if c in present]
            cat(f"{label}, n (%)", variable, levels)
    return TraceTable("baseline", "Baseline characteristics (allocated patients)", ["Characteristic"] + _header(cols),
                      rows, section_rows=frozenset(), notes=["Age from year of birth (approximate)."])


# ---------------------------------------------------------------------------------------- exposure
def exposure_table(ds: "AnalysisDatasets") -> TraceTable:
    cols = group_columns(ds, population=None)
    cols = [(g, r[r["ALLOCFL"] == "Y"]) for g, r in cols]
    inf = _dose_ids(ds)
    rows = []
    study = ds.study
    nouns = administration(study, plural=True)
    unit = study.product.dose_unit
    scale, unit_text = _dose_scale(ds)

    def line(label, fn):
        cells = [text(label)]
        for _, r in cols:
            cells.append(Cell(fn(r), {u: inf.get(u, ()) for u in r["USUBJID"]}))
        rows.append(cells)

    def planned(r):
        vals = sorted(set(int(x) for x in r["NADMPL"].dropna()))
        return ", ".join(map(str, vals)) or "until progression"

    line(f"Planned {nouns} per patient", planned)
    line(f"{nouns.capitalize()} given / planned (%)", lambda r: (
        f"{int(r['NADM'].sum())} / {int(r['NADMPL'].sum())} ({100 * r['NADM'].sum() / r['NADMPL'].sum():.0f}%)"
        if r["NADMPL"].notna().all() and r["NADMPL"].sum() else "—"))
    line(f"{nouns.capitalize()} per patient: median (range)", lambda r: _median_range(r["NADM"], 0))
    line(f"Cumulative dose, {unit_text}: median (range)", lambda r: _median_range(r["CUMDOSE"] / scale, 1))
    line(f"Planned cumulative dose, {unit_text}",
         lambda r: ", ".join(f"{x / scale:g}" for x in sorted(set(r["CUMDOSPL"].dropna()))) or "—")
    line("Relative dose intensity, %: median (range)", lambda r: _median_range(100 * r["CUMDOSE"] / r["CUMDOSPL"], 0))
    comp = [text(f"Completed all planned {nouns}, n (%)")]
    for _, r in cols:
        chosen = r[r["EOTSTT"] == "COMPLETED"]
        comp.append(count_cell({u: inf.get(u, ()) for u in chosen["USUBJID"]}, len(r)))
    rows.append(comp)
    return TraceTable("exposure", f"Exposure to {product_administrations(study)} (allocated patients)",
                      ["Exposure"] + _header(cols), rows, notes=[f"Doses in {unit} ({study.product.name})."])


def _dose_scale(ds: "AnalysisDatasets") -> tuple[float, str]:
    """Cumulative doses are shown in powers of ten when they are large (10⁹ cells), else in the unit."""
    unit = ds.study.product.dose_unit
    largest = max([g.regimen.dose for g in ds.study.groups], default=1.0)
    if largest >= 1e5:
        power = int(math.floor(math.log10(largest)))
        superscript = str(power).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return 10.0 ** power, f"10{superscript} {unit}"
    return 1.0, unit


# ---------------------------------------------------------------------------------------- adverse events
def _teae(ds: "AnalysisDatasets", related: bool = False) -> "pd.DataFrame":
    ae = ds.adae
    ae = ae[(ae["TRTEMFL"] == "Y") & (ae["SAFFL"] == "Y")]
    if related:
        ae = ae[ae["RELFL"] == "Y"]
    from earlyphase.derive import term_labels

    return ae.assign(TERMLBL=term_labels(ae))


def _by_patient(ae: "pd.DataFrame") -> dict[str, tuple[str, ...]]:
    return _ev(ae)


def ae_overview_table(ds: "AnalysisDatasets") -> TraceTable:
    """Patients with at least one treatment-emergent AE, by worst grade and kind."""
    cols = group_columns(ds)
    teae = _teae(ds)
    worst = teae.groupby("USUBJID")["ATOXGR"].max()
    rows = []

    def line(label, subset_fn):
        rows.append([text(label)] + _split(_by_patient(subset_fn(teae)), cols))

    line("Any TEAE", lambda a: a)
    for k in GRADES:
        line(f"Worst grade {k}", lambda a, k=k: a[a["USUBJID"].map(worst) == k][lambda x: x["ATOXGR"] == k])
    line("Grade ≥2", lambda a: a[a["ATOXGR"] >= 2])
    line("Grade ≥3", lambda a: a[a["ATOXGR"] >= 3])
    line("Treatment-related TEAE (possible/probable/definite)", lambda a: a[a["RELFL"] == "Y"])
    line("Treatment-related, grade ≥2", lambda a: a[(a["RELFL"] == "Y") & (a["ATOXGR"] >= 2)])
    line("Treatment-related, grade ≥3", lambda a: a[(a["RELFL"] == "Y") & (a["ATOXGR"] >= 3)])
    line("Serious AE", lambda a: a[a["AESER"] == "Y"])
    line("Dose-limiting toxicity", lambda a: a[a["AEDLTFL"] == "Y"])
    line("Leading to discontinuation", lambda a: a[a["AEACN"].astype(str).str.contains("discontinu", case=False)])
    line("Fatal (grade 5)", lambda a: a[a["ATOXGR"] == 5])
    return TraceTable(
        "ae_overview", "Patients with treatment-emergent adverse events (safety population)",
        ["Patients with"] + _header(cols), rows,
        notes=[f"n (%) of patients; denominator: safety population of each group (received at least one "
               f"{administration(ds.study)}).",
               f"Grades by CTCAE v{ds.study.ctcae_version}. A patient counts once per row, at the highest grade."],
    )


def ae_soc_term_table(ds: "AnalysisDatasets", related: bool = False) -> TraceTable:
    """Patients by SOC and term, any grade and grade ≥3, per group."""
    cols = group_columns(ds)
    teae = _teae(ds, related)
    rows: list[list[Cell]] = []
    sections = set()
    columns = ["System organ class / term"]
    groups_hdr = [("", 1)]
    for g, r in cols:
        columns += ["Any grade", "Grade ≥3"]
        groups_hdr.append((f"{g} (N={len(r)})", 2))

    def cells_for(sub):
        any_grade = _split(_by_patient(sub), cols)
        high = _split(_by_patient(sub[sub["ATOXGR"] >= 3]), cols)
        return [c for pair in zip(any_grade, high) for c in pair]

    rows.append([text("Any TEAE" if not related else "Any treatment-related TEAE")] + cells_for(teae))
    for soc in sorted(teae["AEBODSYS"].dropna().unique()):
        s = teae[teae["AEBODSYS"] == soc]
        rows.append([text(soc)] + cells_for(s))
        sections.add(len(rows) - 1)
        order = s.groupby("TERMLBL")["USUBJID"].nunique().sort_values(ascending=False)
        for term in order.index:
            rows.append([text(f"   {term}")] + cells_for(s[s["TERMLBL"] == term]))
    what = "treatment-related (possible, probable, definite) " if related else ""
    return TraceTable(
        "ae_related_soc_term" if related else "ae_soc_term",
        f"Patients with {what}treatment-emergent adverse events by system organ class and term",
        columns, rows, header_groups=groups_hdr, bold_rows=frozenset(sections),
        notes=["n (%) of patients in the safety population; a patient counts once per term (and once per SOC)."],
    )


def ae_max_grade_table(ds: "AnalysisDatasets", related: bool = False) -> TraceTable:
    """Patients by term and their maximum grade for that term, per group."""
    cols = group_columns(ds)
    teae = _teae(ds, related)
    rows: list[list[Cell]] = []
    for term in sorted(teae["TERMLBL"].unique()):
        t = teae[teae["TERMLBL"] == term]
        maxg = t.groupby("USUBJID")["ATOXGR"].max()
        for k in GRADES:
            if not (maxg == k).any():
                continue
            label = f"{term} — max grade {k}"
            users = set(maxg[maxg == k].index)
            sub = t[t["USUBJID"].isin(users) & (t["ATOXGR"] == k)]
            rows.append([text(label)] + _split(_by_patient(sub), cols))
    if not rows:
        rows.append([text("None")] + [text("0", "right") for _ in cols])
    what = "treatment-related " if related else ""
    return TraceTable(
        "ae_related_max_grade" if related else "ae_max_grade",
        f"Patients with {what}treatment-emergent adverse events by term and maximum grade",
        ["Term — maximum grade"] + _header(cols), rows,
        notes=["Each patient counts once per term, at the highest grade of that term; denominator: safety population."],
    )


def dlt_table(ds: "AnalysisDatasets") -> TraceTable:
    cols = group_columns(ds)
    ae = ds.adae
    dlt = ae[(ae["AEDLTFL"] == "Y") & (ae["SAFFL"] == "Y")]
    rows = [[text("Patients with a DLT")] + [count_cell(_by_patient(dlt[dlt["USUBJID"].isin(r["USUBJID"])]), len(r)) for _, r in cols]]
    inwin = dlt[dlt["DLTWINFL"] == "Y"]
    rows.append([text(f"   within the {ds.study.dlt_window_days}-day DLT window")]
                + [count_cell(_by_patient(inwin[inwin["USUBJID"].isin(r["USUBJID"])]), len(r)) for _, r in cols])
    for d in dlt.itertuples(index=False):
        term = d.AEDECOD if d.AETERM == d.AEDECOD else f"{d.AEDECOD}: {d.AETERM}"
        rows.append([text(f"   {d.USUBJID} ({d.TRT01P}): {term}, grade {d.ATOXGR}, day {d.ASTDY}")]
                    + [Cell("1" if (g == d.TRT01P or g == TOTAL) else "", {d.USUBJID: (f"adverse_events#{int(d.SRCSEQ)}",)}
                            if (g == d.TRT01P or g == TOTAL) else None) for g, _ in cols])
    return TraceTable("dlt", "Dose-limiting toxicities (safety population)", ["DLT"] + _header(cols), rows,
                      notes=[f"DLT as recorded by the investigator; the DLT window starts at the first "
                             f"{administration(ds.study)}."])


def special_interest_tables(ds: "AnalysisDatasets") -> list[TraceTable]:
    """One table per adverse event of special interest the study declares (episodes, grades, time to resolution)."""
    return [special_interest_table(ds, aesi) for aesi in ds.study.adverse_events_of_special_interest]


def table_key(name: str) -> str:
    import re

    return "aesi_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def special_interest_table(ds: "AnalysisDatasets", aesi) -> TraceTable:
    """Episodes of one adverse event of special interest and the time they took to resolve."""
    cols = group_columns(ds)
    ae = _teae(ds)
    terms = {t.casefold() for t in aesi.terms}
    fev = ae[ae["AEDECOD"].str.casefold().isin(terms)]
    name = aesi.name
    rows = []
    rows.append([text(f"Patients with {name.lower()}, n (%)")] + [count_cell(_by_patient(fev[fev["USUBJID"].isin(r["USUBJID"])]), len(r)) for _, r in cols])

    def stat(label, fn):
        cells = [text(label)]
        for _, r in cols:
            f = fev[fev["USUBJID"].isin(r["USUBJID"])]
            cells.append(Cell(fn(f), _by_patient(f)))
        rows.append(cells)

    stat("Episodes", lambda f: str(len(f)))
    stat("Episodes of grade 1 / 2 / ≥3", lambda f: f"{(f['ATOXGR'] == 1).sum()} / {(f['ATOXGR'] == 2).sum()} / {(f['ATOXGR'] >= 3).sum()}")
    stat("Episodes with onset and resolution times", lambda f: str(int(f["ADURH"].notna().sum())))
    stat("Time to resolution, hours: median (range)", lambda f: _median_range(f["ADURH"], 1))
    stat("Resolved within 24 hours, n / timed episodes", lambda f: f"{int((f['ADURH'] <= 24).sum())} / {int(f['ADURH'].notna().sum())}")
    stat("Resolved by the next day (dates only), n / episodes", lambda f: f"{int((f['ADURN'] <= 2).sum())} / {int(f['ADURN'].notna().sum())}")
    return TraceTable(table_key(name), f"{name} episodes and time to resolution (treatment-emergent)",
                      [name] + _header(cols), rows,
                      notes=[f"Adverse event of special interest (study file): terms {', '.join(aesi.terms)}.",
                             "Time to resolution from the reported onset and resolution times (hours); "
                             "ADURN counts calendar days including both ends (ADaM convention)."])


# ---------------------------------------------------------------------------------------- response
def _exact_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for k/n."""
    from scipy.stats import beta

    a = 1 - level
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def best_response_table(ds: "AnalysisDatasets") -> TraceTable:
    cols = group_columns(ds)
    bor = ds.adrs[ds.adrs["PARAMCD"] == "BOR"]
    rows = []
    from earlyphase.derive import BEST_RESPONSE_ORDER

    criteria = ds.study.response_criteria
    cats = list(BEST_RESPONSE_ORDER[criteria])
    names = {"CR": "Complete response (CR)", "PR": "Partial response (PR)", "SD": "Stable disease (SD)",
             "NON-CR/NON-PD": "Non-CR/non-PD", "PD": "Progressive disease (PD)", "NE": "Not evaluable (NE)",
             "iCR": "Complete response (iCR)", "iPR": "Partial response (iPR)", "iSD": "Stable disease (iSD)",
             "NON-iCR/NON-iUPD": "Non-iCR/non-iUPD", "iUPD": "Unconfirmed progression (iUPD)",
             "iCPD": "Confirmed progression (iCPD)"}
    cr, pr, sd = ("iCR", "iPR", "iSD") if criteria == "iRECIST" else ("CR", "PR", "SD")

    def ev(sub):
        out = {}
        for u, seq, conf in zip(sub["USUBJID"], sub["SRCSEQ"], sub["CONFSEQ"]):
            recs = []
            for s in (seq, conf):
                if s is not None and str(s) != "<NA>" and not (isinstance(s, float) and math.isnan(s)):
                    recs.append(f"tumour_assessments#{int(s)}")
            out[u] = tuple(recs)
        return out

    for c in cats:
        if c.startswith("NON-") and not (bor["AVALC"] == c).any():
            continue
        rows.append([text(names[c])] + [count_cell(ev(bor[(bor["AVALC"] == c) & bor["USUBJID"].isin(r["USUBJID"])]), len(r)) for _, r in cols])
    for label, flag in ((f"Objective response ({cr} + {pr})", "RSPFL"), (f"Disease control ({cr} + {pr} + {sd})", "DCRFL")):
        cells = [text(label)]
        for _, r in cols:
            sub = bor[(bor[flag] == "Y") & bor["USUBJID"].isin(r["USUBJID"])]
            k, n = len(sub), len(r)
            if n:
                lo, hi = _exact_ci(k, n, ds.study.analysis.conf_level)
                cells.append(Cell(f"{k} ({100 * k / n:.0f}%; {100 * lo:.0f}–{100 * hi:.0f})", ev(sub)))
            else:
                cells.append(text("—"))
        rows.append(cells)
    return TraceTable(
        "best_response", f"Best overall response by {ds.study.response_criteria} (confirmed), safety population",
        ["Best overall response"] + _header(cols), rows,
        notes=[f"Computed from lesion measurements. {cr}/{pr} confirmed by the next evaluable assessment ≥28 days later "
               f"(one NE assessment in between is skipped); {sd} at least 42 days after the start. Objective response "
               f"and disease control with {ds.study.analysis.conf_level:.0%} Clopper-Pearson (exact) intervals."],
    )


# ---------------------------------------------------------------------------------------- survival
_TTE_CACHE: dict[int, tuple[object, dict[str, tuple[str, ...]]]] = {}


def _tte_evidence(ea: "EndpointAnalysis", users: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    """USUBJID -> ("PFS 49 d (1.6 mo), event, PROGRESSION: tumour_assessments#10",) for ``users`` (all if None)."""
    cached = _TTE_CACHE.get(id(ea))
    if cached is None or cached[0] is not ea:
        cached = (ea, _tte_evidence_all(ea))
        if len(_TTE_CACHE) > 16:
            _TTE_CACHE.clear()
        _TTE_CACHE[id(ea)] = cached
    full = cached[1]
    if users is None:
        return dict(full)
    keep = set(users)
    return {u: v for u, v in full.items() if u in keep}


def _tte_evidence_all(ea: "EndpointAnalysis") -> dict[str, tuple[str, ...]]:
    out = {}
    for r in ea.data.itertuples(index=False):
        src = f"{r.SRCDOM}#{int(r.SRCSEQ)}" if str(r.SRCSEQ) != "<NA>" else str(r.SRCDOM)
        kind = "event" if r.CNSR == 0 else "censored"
        out[r.USUBJID] = (f"{ea.paramcd} {int(r.AVAL)} d ({r.AVALM:.1f} mo), {kind}, {r.RULE}: {src}",)
    return out


def median_table(analyses: Sequence["EndpointAnalysis"], ds: "AnalysisDatasets") -> TraceTable:
    pct = f"{ds.study.analysis.conf_level * 100:g}%"
    rows = []
    for ea in analyses:
        for g in [None] + list(ea.groups):
            c = ea.curve(g)
            users = ea.data["USUBJID"] if g is None else ea.data.loc[ea.data["TRT01P"] == g, "USUBJID"]
            med, lo, up = c.median
            ev = _tte_evidence(ea, users)
            events = {u: v for u, v in ev.items() if "event" in v[0]}
            rows.append([
                text(ea.paramcd), text("All" if g is None else g),
                Cell(str(c.n), ev), Cell(str(c.events), events),
                Cell(f"{_fmt(med)} ({_fmt(lo)}–{_fmt(up)})", ev),
            ])
        if ea.logrank is not None:
            for label, p in (("log-rank", ea.logrank.p_value), ("log-rank trend", ea.trend.p_value),
                             ("permutation log-rank", ea.permutation.permutation_p_value)):
                rows.append([text(ea.paramcd), text(f"P ({label})"), text("", "right"), text("", "right"),
                             Cell(_fmt_p(p), _tte_evidence(ea))])
    return TraceTable(
        "medians", "Median progression-free and overall survival (months)",
        ["Endpoint", "Group", "N", "Events", f"Median ({pct} CI)"], rows,
        notes=[f"Kaplan-Meier; median as R's survival (the curve reaches 0.5 on a step: midpoint to the next event time); "
               f"{pct} CI {ds.study.analysis.conf_type} (Brookmeyer-Crowley). NA where R's survival prints NA: the curve (median) or "
               f"the confidence band (limit) never falls to 0.5, so it is not estimated. Months = days / "
               f"{ds.study.analysis.days_per_month}."],
    )


def landmark_table(analyses: Sequence["EndpointAnalysis"], ds: "AnalysisDatasets") -> TraceTable:
    marks = list(ds.study.analysis.landmarks_months)
    rows = []
    for ea in analyses:
        for g in [None] + list(ea.groups):
            c = ea.curve(g)
            at = c.at(marks)
            data = ea.data if g is None else ea.data[ea.data["TRT01P"] == g]
            cells = [text(ea.paramcd), text("All" if g is None else g)]
            for i, m in enumerate(marks):
                months = data["AVAL"] / ds.study.analysis.days_per_month
                at_risk = data[months >= m]["USUBJID"]
                lo, up = at["lower"][i], at["upper"][i]
                ci = "NA" if math.isnan(lo) or math.isnan(up) else f"{100 * lo:.0f}–{100 * up:.0f}"
                if at["beyond"][i]:  # after the group's last follow-up: not estimated (R leaves it out)
                    cells.append(Cell(f"NA (after follow-up); n={int(at['n_risk'][i])}", _tte_evidence(ea, at_risk)))
                    continue
                cells.append(Cell(f"{100 * at['survival'][i]:.0f}% ({ci}); n={int(at['n_risk'][i])}",
                                  _tte_evidence(ea, at_risk)))
            rows.append(cells)
    pct = f"{ds.study.analysis.conf_level * 100:g}%"
    return TraceTable(
        "landmarks", "Landmark survival rates",
        ["Endpoint", "Group"] + [f"{m:g} months" for m in marks], rows,
        notes=[f"Kaplan-Meier estimate ({pct} CI, {ds.study.analysis.conf_type}); n = patients still at risk at the landmark "
               "(linked: who they are). NA: no interval where the estimate is 0 or 1 (as R's survival); "
               "NA (after follow-up): the landmark is after the group's last follow-up, where R gives no estimate."],
    )


def cox_table(analyses: Sequence["EndpointAnalysis"], ds: "AnalysisDatasets") -> TraceTable:
    from earlyphase.report.survival import cox_group

    rows = []
    ref = ds.study.group_codes[0]
    for ea in analyses:
        events = ea.data.loc[ea.data["CNSR"] == 0, "TRT01P"]
        # a group without events makes its hazard ratio infinite or zero (the fit runs away, as R warns):
        # say so instead of printing a number like 1615474845.87 (0.00-inf)
        if ea.cox is None or any(not (events == g).any() for g in ea.groups):
            rows.append([text(ea.paramcd), text(f"no model: {_no_cox_reason(ea)}", "left"), text(""), text(""),
                         Cell(str(len(ea.data)), _tte_evidence(ea))])
            continue
        rows.append([text(ea.paramcd), text(f"{ea.groups[0]} (reference)"), text("1", "right"), text(""),
                     Cell(str(int((ea.data["TRT01P"] == ea.groups[0]).sum())), _tte_evidence(ea, ea.data.loc[ea.data["TRT01P"] == ea.groups[0], "USUBJID"]))])
        for coef in ea.cox.coefficients:
            g = cox_group(coef.name)
            users = ea.data.loc[ea.data["TRT01P"] == g, "USUBJID"]
            rows.append([text(ea.paramcd), text(g),
                         text(f"{coef.hr:.2f} ({coef.hr_lower:.2f}–{coef.hr_upper:.2f})", "right"),
                         text(_fmt_p(coef.p_value), "right"), Cell(str(len(users)), _tte_evidence(ea, users))])
    n_min = int(ds.adsl[ds.adsl["SAFFL"] == "Y"].groupby("TRT01P").size().min()) if len(ds.adsl) else 0
    return TraceTable(
        "cox", f"Cox proportional hazards: hazard ratio of each group versus group {ref}",
        ["Endpoint", "Group", "HR (95% CI)", "P (Wald)", "N"], rows,
        notes=[f"CAVEAT: groups of {n_min} to {int(ds.adsl.groupby('TRT01P').size().max())} patients. Hazard ratios from so few "
               "patients are very imprecise, rest on the proportional-hazards assumption, and are descriptive only; "
               "the study was not powered to compare groups. Efron ties."],
    )


def _no_cox_reason(ea: "EndpointAnalysis") -> str:
    """Why there is no Cox model, in the reader's words (not the fitting code's)."""
    if len(ea.groups) < 2:
        return "only one group has patients"
    events = ea.data[ea.data["CNSR"] == 0]
    if events.empty:
        return "no events yet"
    without = [g for g in ea.groups if not (events["TRT01P"] == g).any()]
    if without:
        return (f"no events in group{'s' if len(without) > 1 else ''} {', '.join(without)}, so "
                f"{'their' if len(without) > 1 else 'its'} hazard ratio cannot be estimated")
    return "the model could not be fitted to so few events (hazard ratios not estimable)"


def followup_table(analyses: Sequence["EndpointAnalysis"], ds: "AnalysisDatasets") -> TraceTable:
    rows = []
    for ea in analyses:
        if ea.paramcd != "OS":
            continue
        if ea.followup is None:  # say why instead of printing a header without rows
            why = next((w for w in ea.warnings if w.startswith("median follow-up")), "median follow-up not estimable")
            rows.append([text("All"), Cell(str(int((ea.data["CNSR"] == 1).sum())), _tte_evidence(ea)),
                         text(f"NA ({why.removeprefix('median follow-up not estimable: ')})", "left")])
            continue
        fu = ea.followup
        all_fu = ea.followup_all
        entries = [("All", all_fu.median[0], all_fu.lower[0], all_fu.upper[0], ea.data)]
        for g, m, lo, up in zip(fu.groups, fu.median, fu.lower, fu.upper):
            entries.append((g, m, lo, up, ea.data[ea.data["TRT01P"] == g]))
        order = {g: i for i, g in enumerate(["All"] + list(ds.study.group_codes))}
        for g, m, lo, up, d in sorted(entries, key=lambda e: order.get(e[0], 99)):
            cens = d[d["CNSR"] == 1]
            shown = f"{_fmt(m)} ({_fmt(lo)}–{_fmt(up)})" + ("; nobody censored" if cens.empty else "")
            rows.append([text(g), Cell(str(len(cens)), _tte_evidence(ea, cens["USUBJID"])),
                         Cell(shown, _tte_evidence(ea, d["USUBJID"]))])
    return TraceTable(
        "followup", "Median follow-up (reverse Kaplan-Meier, overall survival)",
        ["Group", "Censored (alive)", "Median follow-up, months (95% CI)"], rows,
        notes=["Reverse Kaplan-Meier (R: quantile(survfit(Surv(time, 1 - event) ~ group), 0.5)): censoring treated "
               "as the event, deaths censor follow-up. NA where R prints NA: the reverse curve or its confidence band "
               "never falls to 0.5 (e.g. nobody in the group is censored, or only one patient is)."],
    )


def dose_schedule_table(ds: "AnalysisDatasets") -> TraceTable | None:
    """DLT and response over the dose x administrations grid of a study whose groups vary in both
    (rows in grid order: dose, then number of administrations; step-up groups after the grid)."""
    from earlyphase.capture.treatment import dose_text
    from earlyphase.protocol.regimen_order import regimen_grid

    study = ds.study
    grid = regimen_grid(study)
    if not grid["doses"]:
        return None
    safety = ds.adsl[ds.adsl["SAFFL"] == "Y"]
    ae = ds.adae
    dlt = ae[(ae["AEDLTFL"] == "Y") & (ae["SAFFL"] == "Y") & (ae["DLTWINFL"] == "Y")]
    bor = ds.adrs[(ds.adrs["PARAMCD"] == "BOR") & (ds.adrs["RSPFL"] == "Y")]
    unit = study.product.dose_unit
    nouns = administration(study, plural=True)
    order: list[tuple[str, str, str]] = []
    for dose, row in zip(grid["doses"], grid["cells"]):
        for count, code in zip(grid["administrations"], row):
            if code is not None:
                order.append((code, f"{dose_text(dose)} {unit}", f"{count}"))
    for code in grid["off_grid"]:
        g = study.group(code)
        order.append((code, f"{g.regimen.doses_text(dose_text)} {unit}", f"{g.regimen.administrations or '—'}"))
    rows: list[list[Cell]] = []
    for code, doses, count_text in order:
        ids = set(safety.loc[safety["TRT01P"] == code, "USUBJID"])
        d = dlt[dlt["USUBJID"].isin(ids)]
        r = bor[bor["USUBJID"].isin(ids)]
        d_ev: dict[str, tuple[str, ...]] = defaultdict(tuple)
        for u, s in zip(d["USUBJID"], d["SRCSEQ"]):
            d_ev[u] += (f"adverse_events#{int(s)}",)
        r_ev = {u: ((f"tumour_assessments#{int(s)}",) if s is not None and str(s) != "<NA>" and not
                    (isinstance(s, float) and math.isnan(s)) else ()) for u, s in zip(r["USUBJID"], r["SRCSEQ"])}
        n = len(ids)
        rows.append([text(study.group(code).label), text(doses, "right"), text(count_text, "right"),
                     count_cell(dict(d_ev), n) if n else text("—", "right"),
                     count_cell(r_ev, n) if n else text("—", "right")])
    return TraceTable(
        "dose_schedule", "DLT and objective response over dose and schedule (safety population)",
        ["Group", "Dose per " + administration(study), "Number of " + nouns, "Patients with a DLT in the window",
         "Objective response"], rows,
        notes=["The groups vary in dose and in the number of " + nouns + "; they are listed dose by dose, then by "
               "number, and a group with step-up doses after them. Only some pairs are ordered in toxicity: "
               + ", ".join(f"{a} < {b}" for a, b in _toxicity_pairs(study)) + "."],
    )


def _toxicity_pairs(study) -> list[tuple[str, str]]:
    from earlyphase.protocol.regimen_order import toxicity_relations

    return toxicity_relations(study)
