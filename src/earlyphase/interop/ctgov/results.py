"""The results section of the study's ClinicalTrials.gov record, from the trial database.

Groups are the study's dose levels (arms) that allocated at least one patient, in the study's intensity order;
their ids follow the registry (``FG000`` flow, ``BG000`` baseline with one more for the total, ``OG000``
outcomes, ``EG000`` adverse events). Titles are the level's ``registry_arm`` when the study file names one, else
its ``label``. Everything is counted from the analysis datasets (:mod:`earlyphase.derive`) at the data
cut-off:

- **Participant flow**, one period "Overall Study": STARTED = allocated; COMPLETED = every planned administration
  given (ADSL ``EOTSTT`` = COMPLETED); NOT COMPLETED = the others, each under a withdrawal reason: the reason
  treatment stopped (``DCTREAS``), "Treatment ongoing at data cut-off", "Never treated", or "Reason not recorded"
  (so the reasons add up to NOT COMPLETED, as the registry checks).
- **Baseline** (allocated patients, per group and total): age (median, full range, years), sex (female, male),
  ethnicity and race when the study's forms capture them (a field with ADaM variable ``ETHNIC`` or ``RACE``), and
  region of enrollment (the site's country).
- **Outcome measures**: patients with a dose-limiting toxicity inside the DLT window, per level (treated
  patients, count of participants); then PFS and OS: median in months with its 95% (the study's level) CI, per
  group (Kaplan-Meier, the study's CI type); "NA" where the median or a limit is not reached, with the comment the
  registry asks for; and the k-group log-rank test as an analysis (``pValue``), when two or more groups have data
  and there are events.
- **Adverse events**: treatment-emergent events (safety population) by organ system (``AEBODSYS``) and CTCAE
  term; serious events (``AESER``) all listed, other (non-serious) events listed when they reach the frequency
  threshold (default 0%: all); ``numEvents``/``numAffected``/``numAtRisk`` per group; all-cause deaths by the
  cut-off per group; source vocabulary ``CTCAE v<version>``; systematic assessment (every visit asks).

Numbers are strings as the registry types them (``"12"``, ``"5.3"``); a measurement that cannot be given is
``"NA"`` with a comment. Only counts and summaries leave the database: no patient-level row, no date but the
cut-off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from earlyphase.interop.ctgov.model import (
    AdverseEvent,
    AdverseEventsModule,
    BaselineCharacteristicsModule,
    BaselineMeasure,
    Denom,
    DenomCount,
    DropWithdraw,
    EventGroup,
    EventStats,
    FlowGroup,
    FlowMilestone,
    FlowPeriod,
    FlowStats,
    MeasureAnalysis,
    MeasureCategory,
    MeasureClass,
    MeasureGroup,
    Measurement,
    OutcomeMeasure,
    OutcomeMeasuresModule,
    ParticipantFlowModule,
    ResultsSection,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.derive import AnalysisDatasets

NOT_REACHED = "NA"
_NA_MEDIAN = "Median not reached: fewer than half of the participants had the event by the data cut-off."
_NA_LIMIT = "Confidence limit not reached (too few events to estimate it)."
_NA_NO_DATA = "No participant of this group has data for this outcome."
_ETHNICITY_VARIABLE, _RACE_VARIABLE = "ETHNIC", "RACE"


@dataclass(frozen=True)
class ResultsDocument:
    """The results section and where it came from."""

    study_id: str
    registry_id: str | None
    cutoff: str | None
    section: ResultsSection
    protocol: dict[str, Any]  # our study as the registry's protocolSection (draft.protocol_section)

    def to_dict(self) -> dict[str, Any]:
        return self.section.to_dict()

    def to_record(self) -> dict[str, Any]:
        """A whole registry record: protocol section, results section, ``hasResults``."""
        return {"protocolSection": self.protocol, "resultsSection": self.to_dict(), "hasResults": True}

    def summary(self) -> str:
        s = self.section
        groups = len(s.participantFlowModule.groups or ())
        outcomes = len(s.outcomeMeasuresModule.outcomeMeasures or ())
        serious = len(s.adverseEventsModule.seriousEvents or ())
        other = len(s.adverseEventsModule.otherEvents or ())
        return (f"ClinicalTrials.gov results section of {self.study_id} ({self.registry_id or 'no NCT id'}), data "
                f"cut-off {self.cutoff}: {groups} groups, {len(s.baselineCharacteristicsModule.measures or ())} "
                f"baseline measures, {outcomes} outcome measures, {serious} serious and {other} other adverse-event "
                "terms")


def _n(x: int | float) -> str:
    return str(int(x))


def _num(x: float, digits: int = 2) -> str:
    return NOT_REACHED if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _groups(ds: "AnalysisDatasets") -> list[tuple[str, str, str]]:
    """(code, title, description) of each level that allocated a patient, in intensity order."""
    study = ds.study
    allocated = set(ds.adsl.loc[ds.adsl["ALLOCFL"] == "Y", "TRT01P"].dropna().astype(str))
    product = study.product.short_name or study.product.name
    out = []
    for g in study.groups:
        if g.code in allocated:
            title = g.registry_arm or g.label
            out.append((g.code, title, f"{product}, {g.label} (dose level {study.level_of(g.code)})."))
    return out


def build_results(ds: "AnalysisDatasets", *, frequency_threshold: float = 0.0) -> ResultsDocument:
    """The results section of the study in ``ds`` (see the module docstring for every rule)."""
    from earlyphase.errors import InputError

    if not 0 <= frequency_threshold <= 5:
        raise InputError.single("frequency_threshold", frequency_threshold, "0-5",
                                "the registry's threshold for other adverse events is a percentage from 0 to 5")
    groups = _groups(ds)
    if not groups:
        raise InputError.single("allocations", 0, "allocated-patients",
                                "no patient is allocated to a dose level: there are no results to report")
    section = ResultsSection(
        participantFlowModule=_flow(ds, groups),
        baselineCharacteristicsModule=_baseline(ds, groups),
        outcomeMeasuresModule=OutcomeMeasuresModule(outcomeMeasures=tuple(_outcomes(ds, groups))),
        adverseEventsModule=_adverse_events(ds, groups, frequency_threshold),
    )
    from earlyphase.interop.ctgov.draft import protocol_section

    return ResultsDocument(ds.study.study_id, ds.study.registry_id,
                           ds.cutoff.isoformat() if ds.cutoff else None, section, protocol_section(ds.study))


# ------------------------------------------------------------------------------------------- participant flow
def _flow(ds, groups) -> ParticipantFlowModule:
    adsl = ds.adsl[ds.adsl["ALLOCFL"] == "Y"]
    ids = {code: f"FG{i:03d}" for i, (code, _, _) in enumerate(groups)}
    by = {code: adsl[adsl["TRT01P"] == code] for code, _, _ in groups}

    def reason(row) -> str:
        if row["EOTSTT"] == "ONGOING":
            return "Treatment ongoing at data cut-off"
        if row["SAFFL"] != "Y":
            return "Never treated"
        text = row["DCTREAS"]
        return str(text).strip().capitalize() if isinstance(text, str) and text.strip() else "Reason not recorded"

    reasons: dict[str, dict[str, int]] = {}
    for code, rows in by.items():
        for _, row in rows[rows["EOTSTT"] != "COMPLETED"].iterrows():
            reasons.setdefault(reason(row), {}).setdefault(code, 0)
            reasons[reason(row)][code] += 1

    def stats(count) -> tuple[FlowStats, ...]:
        return tuple(FlowStats(groupId=ids[code], numSubjects=_n(count(code))) for code in by)

    milestones = (
        FlowMilestone(type="STARTED", achievements=stats(lambda c: len(by[c]))),
        FlowMilestone(type="COMPLETED", achievements=stats(lambda c: (by[c]["EOTSTT"] == "COMPLETED").sum())),
        FlowMilestone(type="NOT COMPLETED", achievements=stats(lambda c: (by[c]["EOTSTT"] != "COMPLETED").sum())),
    )
    drops = tuple(DropWithdraw(type=name, reasons=stats(lambda c, name=name: reasons[name].get(c, 0)))
                  for name in sorted(reasons))
    return ParticipantFlowModule(
        recruitmentDetails=f"Patients allocated to a dose level by the data cut-off ({ds.cutoff}).",
        groups=tuple(FlowGroup(id=ids[c], title=t, description=d) for c, t, d in groups),
        periods=(FlowPeriod(title="Overall Study", milestones=milestones, dropWithdraws=drops or None),),
    )


# ------------------------------------------------------------------------------------------- baseline
def _baseline(ds, groups) -> BaselineCharacteristicsModule:
    adsl = ds.adsl[ds.adsl["ALLOCFL"] == "Y"]
    columns = [(f"BG{i:03d}", adsl[adsl["TRT01P"] == code]) for i, (code, _, _) in enumerate(groups)]
    columns.append((f"BG{len(groups):03d}", adsl[adsl["TRT01P"].isin([c for c, _, _ in groups])]))
    denoms = (Denom(units="Participants", counts=tuple(DenomCount(groupId=g, value=_n(len(r))) for g, r in columns)),)

    def counts(title, variable, levels, description=None) -> BaselineMeasure:
        categories = tuple(
            MeasureCategory(title=name, measurements=tuple(
                Measurement(groupId=g, value=_n((r[variable].astype(str) == str(code)).sum())) for g, r in columns))
            for code, name in levels)
        return BaselineMeasure(title=title, description=description, paramType="COUNT_OF_PARTICIPANTS",
                               unitOfMeasure="Participants", classes=(MeasureClass(categories=categories),))

    ages = []
    for g, r in columns:
        a = r["AGE"].dropna().astype(float)
        ages.append(Measurement(groupId=g, value=_num(a.median(), 1), lowerLimit=_num(a.min(), 0),
                                upperLimit=_num(a.max(), 0)) if len(a) else
                    Measurement(groupId=g, value=NOT_REACHED, comment=_NA_NO_DATA))
    measures = [
        BaselineMeasure(title="Age, Continuous", description="Age at enrolment from the year of birth (approximate).",
                        paramType="MEDIAN", dispersionType="FULL_RANGE", unitOfMeasure="years",
                        classes=(MeasureClass(categories=(MeasureCategory(measurements=tuple(ages)),)),)),
        counts("Sex: Female, Male", "SEX", [("F", "Female"), ("M", "Male")]),
    ]
    study = ds.study
    for form, field in study.adam_fields():
        variable = field.adam.variable
        if variable not in (_ETHNICITY_VARIABLE, _RACE_VARIABLE) or variable not in adsl:
            continue
        title = "Ethnicity, Customized" if variable == _ETHNICITY_VARIABLE else "Race/Ethnicity, Customized"
        present = set(adsl[variable].dropna().astype(str))
        levels = [(c, label) for c, label in study.codes_of(field) if c in present]
        measures.append(counts(title, variable, levels, description=f"As captured on the form {form.name}."))
    if "SITEID" in adsl:
        country = {s.code: s.country for s in study.sites}
        with_country = adsl.assign(_COUNTRY=adsl["SITEID"].map(country))
        columns = [(g, with_country.loc[r.index]) for g, r in columns]
        present = sorted(set(with_country["_COUNTRY"].dropna()))
        if present:
            measures.append(counts("Region of Enrollment", "_COUNTRY", [(c, c) for c in present],
                                   description="Country of the enrolling site (ISO 3166 code)."))
    return BaselineCharacteristicsModule(
        populationDescription="Allocated participants.", groups=tuple(
            [MeasureGroup(id=f"BG{i:03d}", title=t, description=d) for i, (_, t, d) in enumerate(groups)]
            + [MeasureGroup(id=f"BG{len(groups):03d}", title="Total", description="Total of all reporting groups")]),
        denoms=denoms, measures=tuple(measures))


# ------------------------------------------------------------------------------------------- outcomes
def _endpoint(study, paramcd: str | None, words: tuple[str, ...]):
    for e in study.endpoints:
        if paramcd and e.paramcd == paramcd:
            return e
        if not paramcd and any(w in e.name.lower() for w in words):
            return e
    return None


_KIND = {"primary": "PRIMARY", "secondary": "SECONDARY", "exploratory": "OTHER_PRE_SPECIFIED"}


def _outcomes(ds, groups) -> list[OutcomeMeasure]:
    study = ds.study
    ids = {code: f"OG{i:03d}" for i, (code, _, _) in enumerate(groups)}
    measure_groups = tuple(MeasureGroup(id=ids[c], title=t, description=d) for c, t, d in groups)
    safety = ds.adsl[ds.adsl["SAFFL"] == "Y"]
    treated = {c: set(safety.loc[safety["TRT01P"] == c, "USUBJID"]) for c in ids}
    ae = ds.adae
    dlt = ae[(ae["AEDLTFL"] == "Y") & (ae["DLTWINFL"] == "Y") & (ae["SAFFL"] == "Y")] if len(ae) else ae
    with_dlt = set(dlt["USUBJID"]) if len(dlt) else set()
    endpoint = _endpoint(study, None, ("dose-limiting", "dlt"))
    out = [OutcomeMeasure(
        type=_KIND[endpoint.kind] if endpoint else "PRIMARY",
        title=f"Participants With a Dose-limiting Toxicity (DLT), by Dose Level",
        description=(endpoint.description + " " if endpoint else "") +
                    f"DLT as recorded by the investigator, with onset within the {study.dlt_window_days}-day DLT "
                    "window from the first dose; the DLT rate of a level is the count over the participants treated "
                    "at that level.",
        populationDescription="Participants who received at least one dose (safety population).",
        reportingStatus="POSTED", paramType="COUNT_OF_PARTICIPANTS", unitOfMeasure="Participants",
        timeFrame=f"{study.dlt_window_days} days from the first dose",
        groups=measure_groups,
        denoms=(Denom(units="Participants", counts=tuple(DenomCount(groupId=ids[c], value=_n(len(treated[c])))
                                                         for c in ids)),),
        classes=(MeasureClass(categories=(MeasureCategory(measurements=tuple(
            Measurement(groupId=ids[c], value=_n(len(treated[c] & with_dlt))) for c in ids)),)),),
    )]
    for paramcd, label in (("PFS", "Progression-free Survival"), ("OS", "Overall Survival")):
        measure = _survival_outcome(ds, paramcd, label, ids, measure_groups)
        if measure is not None:
            out.append(measure)
    return out


def _survival_outcome(ds, paramcd, label, ids, measure_groups) -> OutcomeMeasure | None:
    from earlyphase.stats import kaplan_meier, logrank_test

    study, a = ds.study, ds.study.analysis
    data = ds.adtte[(ds.adtte["PARAMCD"] == paramcd) & ds.adtte["TRT01P"].isin(list(ids))] if len(ds.adtte) else None
    if data is None or data.empty:
        return None
    t = data["AVAL"].to_numpy(dtype=float) / a.days_per_month
    e = 1 - data["CNSR"].to_numpy(dtype=int)
    g = data["TRT01P"].astype(str).to_numpy()
    km = kaplan_meier(t, e, group=g, conf_type=a.conf_type, conf_level=a.conf_level)
    level = a.conf_level * 100
    measurements, counts = [], []
    for code, gid in ids.items():
        n = int((g == code).sum())
        counts.append(DenomCount(groupId=gid, value=_n(n)))
        if n == 0:
            measurements.append(Measurement(groupId=gid, value=NOT_REACHED, comment=_NA_NO_DATA))
            continue
        median, lower, upper = km[code].median
        comments = [c for c, x in ((_NA_MEDIAN, median), (_NA_LIMIT, lower if math.isfinite(median) else math.nan),
                                   (_NA_LIMIT, upper if math.isfinite(median) else math.nan)) if not math.isfinite(x)]
        measurements.append(Measurement(groupId=gid, value=_num(median), lowerLimit=_num(lower),
                                        upperLimit=_num(upper), comment=comments[0] if comments else None))
    present = [c for c in ids if (g == c).any()]
    analyses = None
    if len(present) >= 2 and e.sum() > 0:
        test = logrank_test(t, e, g, levels=present)
        analyses = (MeasureAnalysis(
            groupIds=tuple(ids[c] for c in present), statisticalMethod="Log Rank", pValue=_p(test.p_value),
            pValueComment=f"{len(present)}-group log-rank test, chi-square {test.statistic:.2f} on {test.df} df, "
                          "not adjusted for multiple comparisons.",
            testedNonInferiority=False, nonInferiorityType="SUPERIORITY",
            groupDescription="All dose levels compared at once (equality of the survival curves)."),)
    endpoint = _endpoint(study, paramcd, ())
    return OutcomeMeasure(
        type=_KIND[endpoint.kind] if endpoint else "OTHER_PRE_SPECIFIED",
        title=f"{label} (Median)",
        description=(endpoint.description + " " if endpoint else "") +
                    f"Kaplan-Meier median in months (days / {a.days_per_month:g}); {a.conf_type} confidence "
                    "interval.",
        populationDescription="Allocated participants with data for this endpoint.",
        reportingStatus="POSTED", paramType="MEDIAN", dispersionType=f"{level:g}% Confidence Interval",
        unitOfMeasure="months", timeFrame=f"From the start of treatment to the data cut-off ({ds.cutoff})",
        groups=measure_groups, denoms=(Denom(units="Participants", counts=tuple(counts)),),
        classes=(MeasureClass(categories=(MeasureCategory(measurements=tuple(measurements)),)),),
        analyses=analyses)


def _p(p: float) -> str:
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


# ------------------------------------------------------------------------------------------- adverse events
def _adverse_events(ds, groups, threshold: float) -> AdverseEventsModule:
    study = ds.study
    ids = {code: f"EG{i:03d}" for i, (code, _, _) in enumerate(groups)}
    safety = ds.adsl[ds.adsl["SAFFL"] == "Y"]
    at_risk = {c: int((safety["TRT01P"] == c).sum()) for c in ids}
    deaths = {c: int(((safety["TRT01P"] == c) & (safety["DTHFL"] == "Y")).sum()) for c in ids}
    ae = ds.adae
    if len(ae):
        ae = ae[(ae["TRTEMFL"] == "Y") & (ae["SAFFL"] == "Y") & ae["TRT01A"].isin(list(ids))]
    serious_rows = ae[ae["AESER"] == "Y"] if len(ae) else ae
    other_rows = ae[ae["AESER"] != "Y"] if len(ae) else ae
    vocabulary = f"CTCAE v{study.ctcae_version}"

    def affected(rows, code) -> int:
        return int(rows.loc[rows["TRT01A"] == code, "USUBJID"].nunique()) if len(rows) else 0

    def terms(rows, keep) -> tuple[AdverseEvent, ...]:
        if not len(rows):
            return ()
        out = []
        for (soc, term), sub in sorted(rows.groupby(["AEBODSYS", "AEDECOD"]), key=lambda kv: kv[0]):
            stats = tuple(EventStats(groupId=ids[c], numEvents=int((sub["TRT01A"] == c).sum()),
                                     numAffected=affected(sub, c), numAtRisk=at_risk[c]) for c in ids)
            if keep(stats):
                out.append(AdverseEvent(term=str(term), organSystem=str(soc), sourceVocabulary=vocabulary,
                                        assessmentType="SYSTEMATIC_ASSESSMENT", stats=stats))
        return tuple(out)

    def frequent(stats) -> bool:
        # the registry's threshold: listed when, in some group, affected / at risk reaches it
        return any(s.numAtRisk and 100.0 * s.numAffected / s.numAtRisk >= threshold for s in stats)

    return AdverseEventsModule(
        frequencyThreshold=f"{threshold:g}",
        timeFrame=f"From the first dose to the data cut-off ({ds.cutoff})",
        description=(f"Treatment-emergent adverse events of the safety population, graded by CTCAE "
                     f"v{study.ctcae_version}; terms are CTCAE terms under their MedDRA system organ class. "
                     "Serious: as recorded by the investigator."),
        allCauseMortalityComment="Deaths from any cause by the data cut-off, safety population.",
        eventGroups=tuple(EventGroup(
            id=ids[c], title=t, description=d, deathsNumAffected=deaths[c], deathsNumAtRisk=at_risk[c],
            seriousNumAffected=affected(serious_rows, c), seriousNumAtRisk=at_risk[c],
            otherNumAffected=affected(other_rows, c), otherNumAtRisk=at_risk[c]) for c, t, d in groups),
        seriousEvents=terms(serious_rows, lambda stats: True),
        otherEvents=terms(other_rows, frequent),
    )


def results_from_database(engine: Any, *, frequency_threshold: float = 0.0) -> ResultsDocument:
    """Read the trial database (engine, URL or SQLite path), derive its datasets and build the results section."""
    from earlyphase.derive import derive_datasets

    return build_results(derive_datasets(engine), frequency_threshold=frequency_threshold)
