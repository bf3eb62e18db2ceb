"""A plain summary of a trial database of any study, in the study's own words.

Read from the analysis datasets (``earlyphase.derive``), so it shows what was captured: enrolment and
exposure per level (the product, its administration noun and dose unit from the study file), DLTs per
level and the dose-finding decisions the synthetic trial took, adverse events by grade, the grades the
study's forms derive (e.g. ASTCT CRS and ICANS), best overall response by the study's criteria, and
the PFS and OS medians under the study's endpoint names. Times are months = days / days_per_month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from earlyphase.report.words import endpoint_label, time_origin


@dataclass(frozen=True)
class StudySummary:
    """The demo's summary of a study's database (see the module docstring)."""

    study_id: str
    title: str
    synthetic: bool
    banner: str | None
    product: str
    dose_unit: str
    levels: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    adverse_events: dict[str, Any]
    graded: list[dict[str, Any]]
    response: dict[str, Any]
    survival: dict[str, Any]
    words: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"study_id": self.study_id, "title": self.title, "synthetic": self.synthetic, "banner": self.banner,
                "product": self.product, "dose_unit": self.dose_unit, "levels": self.levels,
                "decisions": self.decisions, "adverse_events": self.adverse_events, "graded": self.graded,
                "response": self.response, "survival": self.survival}

    def summary(self) -> str:
        w = self.words
        lines: list[str] = []
        if self.banner:
            lines += [f"*** {self.banner} ***", ""]
        lines += [f"Study {self.study_id}: {self.title}", ""]
        lines.append(f"Dose levels ({self.product}; dose in {self.dose_unit}; {w['nouns']} per patient)")
        lines.append(f"  {'level':<6} {'dose':>10} {'n':>3} {'DLT':>4} {w['nouns']:>12} {'cumulative':>12}  label")
        for lv in self.levels:
            lines.append(f"  {lv['group']:<6} {lv['dose']:>10g} {lv['n']:>3} {lv['dlt']:>4} {lv['administrations']:>12} "
                         f"{_g(lv['cumulative_dose_median']):>12}  {lv['label']}")
        if self.decisions:
            lines += ["", f"Dose-finding decisions ({w['design']})"]
            for d in self.decisions:
                lines.append(f"  cohort {d['cohort']} at level {d['level']}: {d['dlts']} DLT -> {d['decision']}: "
                             f"{d['reason']}")
        ae = self.adverse_events
        lines += ["", f"Adverse events (CTCAE v{w['ctcae']}; events by grade)"]
        lines.append("  " + " ".join(f"G{g}={n}" for g, n in ae["by_grade"].items())
                     + f"; {ae['patients']} patients with any; {ae['dlt_patients']} with a DLT")
        lines.append("  Top terms: " + ", ".join(f"{t['term']} {t['events']}" for t in ae["top_terms"]))
        for g in self.graded:
            lines += ["", f"{g['label']} ({g['field_label']}: patients by highest grade)"]
            for lv, counts in g["by_level"].items():
                lines.append(f"  {lv:<6} " + " ".join(f"G{k}={v}" for k, v in counts.items()))
        r = self.response
        lines += ["", f"Best overall response ({r['criteria']})"]
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in r["counts"].items()))
        for key in ("PFS", "OS"):
            s = self.survival.get(key)
            if s is None:
                continue
            lines += ["", f"{s['label']} (months from {w['origin']})"]
            lines.append(f"  {'level':<8} {'n':>3} {'events':>7} {'median':>8}")
            for row in s["medians"]:
                lines.append(f"  {row['group']:<8} {row['n']:>3} {row['events']:>7} {_m(row['median_months']):>8}")
        if self.banner:
            lines += ["", f"*** {self.banner} ***"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"  # 11550 mg, 2.96e+06 cells/kg


def _m(x: float | None) -> str:
    return "NR" if x is None or x != x else f"{x:.2f}"


def summarise_study(engine, decisions: list[dict[str, Any]] | None = None, banner: str | None = None) -> StudySummary:
    """Summarise the trial behind ``engine`` (a URL, path or Engine); ``decisions`` are the design's cohort
    decisions when known (a synthetic load returns them); ``banner`` labels synthetic data."""
    import numpy as np

    from earlyphase.derive import derive_datasets
    from earlyphase.derive.graded import graded_episodes, graded_forms
    from earlyphase.stats import kaplan_meier

    ds = derive_datasets(engine)
    study, adsl, adae = ds.study, ds.adsl, ds.adae
    safety = adsl[adsl["SAFFL"] == "Y"]
    levels = []
    for g in study.groups:
        rows = safety[safety["TRT01P"] == g.code]
        dlt = adae[(adae["AEDLTFL"] == "Y") & adae["TRT01P"].eq(g.code)]["USUBJID"].nunique() if len(adae) else 0
        levels.append({"group": g.code, "label": g.label, "dose": g.regimen.dose, "n": int(len(rows)),
                       "dlt": int(dlt), "administrations": int(rows["NADM"].sum()) if len(rows) else 0,
                       "cumulative_dose_median": float(rows["CUMDOSE"].median()) if len(rows) else None})
    by_grade = {str(k): int((adae["ATOXGR"] == k).sum()) if len(adae) else 0 for k in range(1, 6)}
    top = adae["AEDECOD"].value_counts().head(6) if len(adae) else {}
    adverse = {"by_grade": by_grade, "patients": int(adae["USUBJID"].nunique()) if len(adae) else 0,
               "dlt_patients": int(adae.loc[adae["AEDLTFL"] == "Y", "USUBJID"].nunique()) if len(adae) else 0,
               "top_terms": [{"term": t, "events": int(n)} for t, n in dict(top).items()]}
    graded = []
    if graded_forms(study):
        episodes = graded_episodes(ds)
        for gf in graded_forms(study):
            mine = episodes[episodes["FORM"] == gf.form]
            by_level = {}
            for g in study.group_codes:
                grades = mine[mine["TRT01P"] == g]["MAXGR"]
                if len(grades):
                    by_level[g] = {str(k): int((grades == k).sum()) for k in range(0, max(3, int(grades.max())) + 1)}
            graded.append({"form": gf.form, "label": gf.label, "field_label": gf.field_label, "by_level": by_level})
    bor = ds.adrs[ds.adrs["PARAMCD"] == "BOR"]["AVALC"].value_counts() if len(ds.adrs) else {}
    response = {"criteria": study.response_criteria, "counts": {k: int(v) for k, v in dict(bor).items()}}
    survival: dict[str, Any] = {}
    dpm = study.analysis.days_per_month
    for paramcd, default in (("PFS", "Progression-free survival"), ("OS", "Overall survival")):
        data = ds.adtte[ds.adtte["PARAMCD"] == paramcd] if len(ds.adtte) else ds.adtte
        if data is None or not len(data):
            continue
        rows = []
        for code in ["overall"] + study.group_codes:
            sub = data if code == "overall" else data[data["TRT01P"] == code]
            if not len(sub):
                continue
            months = sub["AVAL"].to_numpy(float) / dpm
            events = 1 - sub["CNSR"].to_numpy(int)
            median = float(kaplan_meier(months, events).curves[0].median[0])
            rows.append({"group": code, "n": int(len(sub)), "events": int(events.sum()),
                         "median_months": None if np.isnan(median) else median})
        survival[paramcd] = {"label": endpoint_label(study, paramcd, default), "medians": rows}
    words = {"nouns": study.product.nouns, "design": study.dose_finding.design, "ctcae": study.ctcae_version,
             "origin": time_origin(study)}
    return StudySummary(study.study_id, study.title, ds.synthetic, banner if ds.synthetic else None,
                        study.product.label, study.product.dose_unit, levels, decisions or [], adverse, graded,
                        response, survival, words)
