"""The generated methods section: what was computed and how, read from the study's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive import AnalysisDatasets

from earlyphase.report.survival import PERMUTATION_SEED, PERMUTATIONS
from earlyphase.report.words import administration, time_origin


def _dose(x: float) -> str:
    from earlyphase.capture.treatment import dose_text

    return dose_text(x)


def methods_paragraphs(ds: "AnalysisDatasets") -> list[tuple[str, str]]:
    """(heading, text) pairs describing the analysis as configured."""
    s = ds.study
    a = s.analysis
    r = a.pfs
    start = time_origin(s, article=True)
    noun = administration(s)
    pct = f"{a.conf_level * 100:g}%"
    ci = {"log-log": "log-log (complementary log-log) transformed", "log": "log transformed", "plain": "untransformed (plain)"}[a.conf_type]
    on = lambda flag: "applied" if flag else "not applied (switched off in the study file)"  # noqa: E731
    missed = (f"applied: progression or death more than {r.missed_assessments_limit} scheduled assessments "
              f"({r.missed_assessments_limit} × {s.imaging.interval_days} + {s.imaging.window_days} days) after the last "
              "adequate assessment is censored at that assessment") if r.missed_assessments_limit else \
        "not applied (switched off in the study file)"
    cutoff = f"{ds.cutoff} ({ds.cutoff_source})"
    return [
        ("Data", f"All records up to the data cut-off {cutoff} were analysed; later records were ignored, and patients known "
                 f"alive after it were censored at it. {_synthetic_sentence(ds)}"),
        ("Populations", f"Enrolled: every registered patient. Safety population: patients who received at least one {noun} "
                        "(denominator of every safety percentage). Time-to-event population: "
                        + (f"treated patients, from the first {noun}." if r.start == "first_dose" else "allocated patients, from allocation.")),
        ("Study product", f"{s.product.name}, doses in {s.product.dose_unit} ({s.product.route}); "
                          + "; ".join(f"level {s.level_of(g.code)} ({g.code}): {g.regimen.doses_text(_dose)} "
                                      f"{s.product.dose_unit}, {g.regimen.schedule.describe()}" for g in s.groups) + "."),
        ("Adverse events", f"Graded by CTCAE v{s.ctcae_version}. Treatment-emergent: onset on or after the first {noun}, or a "
                           "pre-existing event recorded again at a higher grade. Treatment-related: attribution possible, probable "
                           "or definite. Partial dates were imputed (start: first of the missing period, but not before the first "
                           f"{noun} when it falls in that period; end: last of the period, capped at death and the cut-off) and "
                           "flagged (ASTDTF/AENDTF: D, M, Y). Durations in hours when onset and resolution times were recorded; "
                           "otherwise in days counting both ends. DLTs as recorded; the DLT window is "
                           f"{s.dlt_window_days} days from the first {noun}."),
        ("Tumour response", f"{s.response_criteria}, computed per visit from lesion measurements "
                            f"({'viable (enhancing) tumour diameters' if s.response_criteria == 'mRECIST' else 'longest diameters'}; "
                            "lymph nodes by their short axis): "
                            "partial response ≥30% decrease of the target sum from baseline; progression ≥20% increase over the "
                            "nadir" + (" and ≥5 mm absolute" if s.response_criteria != 'mRECIST' else "") + ", a new lesion or "
                            "unequivocal non-target progression; complete response: all lesions gone and every lymph node "
                            "under 10 mm. "
                            + ("Under iRECIST a first progression is unconfirmed (iUPD) and is confirmed (iCPD) by further "
                               "progression at the next assessment at least 4 weeks later; without it the iUPD is reset once "
                               "disease no longer progresses; progression is dated at the confirmed iUPD. "
                               if s.response_criteria == 'iRECIST' else "")
                            + "Best overall response needs confirmation of a response by the next evaluable assessment at "
                            "least 28 days later (one NE assessment in between is skipped); stable disease at least 42 days "
                            "after the start. Assessments without lesion measurements use the investigator's recorded "
                            "response."),
        ("Time to event", f"Times run from {start} (STARTDT) and are reported in months = days / {a.days_per_month:g}. "
                          "PFS: progression by the criteria above or death from any cause"
                          f"{'' if r.death_counts_as_event else ' (death not counted as an event: switched off)'}. "
                          "OS: death from any cause; survivors censored at the last date known alive."),
        ("PFS censoring (FDA 2018 guidance)", "No adequate post-baseline assessment and no death: censored at the start "
                                              f"({on(r.censor_no_post_baseline_at_start)}). New anticancer therapy: censored at the "
                                              f"last adequate assessment before it ({on(r.censor_at_new_anticancer_therapy)}). "
                                              f"Event after missed assessments: {missed}. No event: censored at the last adequate "
                                              "assessment. The rule that produced each patient's row is in ADTTE.RULE."),
        ("Estimation", f"Kaplan-Meier estimates with Greenwood variance; {pct} pointwise confidence intervals {ci}. The median "
                       "is the first time the curve falls below 0.5; when it sits exactly at 0.5, the midpoint to the next event "
                       "time (as R's survival). Its CI (Brookmeyer-Crowley) inverts the pointwise band. Landmark rates at "
                       f"{', '.join(f'{m:g}' for m in a.landmarks_months)} months. Median follow-up by reverse Kaplan-Meier "
                       "(censoring as the event). Number at risk under each curve = patients with time ≥ the tick (R's count)."),
        ("Tests", "Groups compared with the k-group log-rank test (chi-square, k − 1 df); the log-rank test for trend with "
                  "scores equal to the groups' intensity levels (1 = first group in the study file); and a permutation "
                  f"P of the k-group log-rank statistic from {PERMUTATIONS:,} random re-allocations of the group labels "
                  f"(seed {PERMUTATION_SEED}), which does not rely on large-sample theory. Cox proportional hazards "
                  "(Efron ties) give hazard ratios of each group versus the first, with Wald P values; with groups of "
                  "3 to 6 patients they are descriptive only. Objective response and disease control rates with "
                  f"{pct} Clopper-Pearson intervals."),
        ("Software", "earlyphase (numbers checked against R's survival package in its test suite); pandas, numpy, scipy, "
                     "matplotlib. Every count and median in this report links to the patients (USUBJID) and source "
                     "records (table#id in the trial database) behind it: hover over it, or follow the link to the appendix."),
    ]


def _synthetic_sentence(ds) -> str:
    if not ds.synthetic:
        return ""
    from earlyphase.report.document import synthetic_kind

    return f"The data are SYNTHETIC ({synthetic_kind(ds)}), not real patients."
