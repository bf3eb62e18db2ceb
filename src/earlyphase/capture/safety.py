"""Case-report-form action: record an adverse event (CTCAE term and grade, attribution, dates, DLT)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from earlyphase.capture.checks import Checks, PartialDate
from earlyphase.capture.common import insert, known_patient, not_after_death, not_before_consent, not_future
from earlyphase.capture.context import CaptureContext, death_of, ensure_user, first_dose_date
from earlyphase.records.tables import AdverseEvent, Patient
from earlyphase.vocab import (
    AE_ACTIONS,
    AE_ENDED_OUTCOMES,
    AE_OUTCOMES,
    ATTRIBUTIONS,
    RELATED_ATTRIBUTIONS,
    CtcaeTerm,
)


def validate_adverse_event(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                           current: AdverseEvent | None = None) -> dict:
    """Check an adverse event; return clean column values (term spelled as CTCAE, SOC and version filled in)."""
    out: dict[str, Any] = {"ctcae_version": ctx.ctcae.version}
    term_text = checks.text("term", v.get("term"), max_length=200)
    term = None
    if term_text is not None:
        term = ctx.ctcae.get(term_text)
        if term is None:
            checks.fail("term", term_text, "ctcae-term", unknown_term_message(ctx, term_text))
    out["term"] = term.term if term else term_text
    out["soc"] = term.soc if term else None
    out["term_specify"] = _term_specify(ctx, checks, term, v.get("term_specify"))
    grade = checks.integer("grade", v.get("grade"), low=1, high=5, rule="grade-1-5", what=" (CTCAE grade)")
    out["grade"] = grade
    if term is not None and grade is not None and not term.has_grade(grade):
        checks.fail("grade", grade, "grade-exists",
                    f"CTCAE v{ctx.ctcae.version} defines no grade {grade} for {term.term} "
                    f"(its grades are {term.grades_text()})")
    out["attribution"] = checks.choice("attribution", v.get("attribution"), ATTRIBUTIONS)
    outcome = checks.choice("outcome", v.get("outcome"), AE_OUTCOMES)
    out["outcome"] = outcome
    out["action"] = checks.choice("action", v.get("action") or "none", AE_ACTIONS)
    serious = checks.boolean("serious", v.get("serious"), default=False)
    dlt = checks.boolean("dlt", v.get("dlt"), default=False)
    out["serious"], out["dlt"] = serious, dlt
    onset = checks.partial("onset", v.get("onset"))
    resolution = checks.partial("resolution", v.get("resolution"), required=False)
    out["onset"] = onset.text if onset else None
    out["resolution"] = resolution.text if resolution else None

    not_future(ctx, checks, "onset", onset)
    not_future(ctx, checks, "resolution", resolution)
    if onset and resolution and resolution.latest < onset.earliest:
        checks.fail("resolution", resolution, "resolution-after-onset",
                    f"resolution {resolution.text} is before onset {onset.text}")
    if onset and resolution and onset.precision == "minute" and resolution.precision == "minute" \
            and resolution.text < onset.text:
        checks.fail("resolution", resolution, "resolution-after-onset",
                    f"resolution {resolution.text} is before onset {onset.text}")
    if outcome in AE_ENDED_OUTCOMES and resolution is None:
        checks.fail("resolution", None, "resolution-for-ended-event",
                    f"an event with outcome {outcome!r} has ended: give its resolution date")
    if outcome in ("recovering", "not recovered") and resolution is not None:
        checks.fail("resolution", resolution, "no-resolution-while-ongoing",
                    f"an event with outcome {outcome!r} is still going on: leave the resolution date empty")
    if grade is not None and outcome is not None and (grade == 5) != (outcome == "fatal"):
        checks.fail("outcome", outcome, "grade-5-is-fatal",
                    "grade 5 means the event caused death: grade 5 goes with outcome 'fatal' and only with it")
    if grade == 5 and serious is False:
        checks.fail("serious", serious, "grade-5-is-serious", "an adverse event that caused death is serious")

    if patient is None:
        return out
    not_before_consent(checks, patient, "onset", onset, "onset")
    death = death_of(ctx, patient)
    if grade == 5:
        if death is None:
            checks.fail("grade", grade, "grade-5-needs-death",
                        f"grade 5 (death) needs the death of patient {patient.subject_id} recorded first")
        elif resolution is not None and not (resolution.earliest <= death.death_date <= resolution.latest):
            checks.fail("resolution", resolution, "grade-5-ends-at-death",
                        f"a fatal event ends on the day of death ({death.death_date}); resolution is {resolution.text}")
    not_after_death(ctx, checks, patient, "onset", onset, "onset")
    not_after_death(ctx, checks, patient, "resolution", resolution, "resolution")

    if out["term"] and onset is not None:
        query = select(AdverseEvent).where(AdverseEvent.patient_id == patient.id, AdverseEvent.term == out["term"],
                                           AdverseEvent.onset == onset.text)
        specified = (out["term_specify"] or "").casefold()
        for same in ctx.session.execute(query).scalars():
            # two "Other, specify" events of one SOC on one day are different events when their terms differ
            if (current is None or same.id != current.id) and (same.term_specify or "").casefold() == specified:
                what = f"{out['term']} ({out['term_specify']})" if out["term_specify"] else out["term"]
                checks.fail("term", out["term"], "unique-adverse-event",
                            f"{what} starting {onset.text} is already recorded for patient "
                            f"{patient.subject_id}; correct that record instead")
    if out["attribution"] in RELATED_ATTRIBUTIONS and onset is not None:
        # Judged only once the first dose is on file (doses may be entered after the AE form).
        first = first_dose_date(ctx, patient)
        if first is not None and onset.latest < first:
            checks.fail("attribution", out["attribution"], "related-after-exposure",
                        f"an event that began {onset.text}, before the first {ctx.study.product.noun} on {first}, cannot be "
                        "related to the study product; use 'unrelated' or 'unlikely'")
    if dlt:
        _check_dlt(ctx, checks, patient, onset, out["attribution"])
    return out


def unknown_term_message(ctx: CaptureContext, term_text: str) -> str:
    """Why ``term_text`` is refused, with the closest CTCAE terms (synonyms first) and what else to do."""
    dictionary = ctx.ctcae
    hint = dictionary.suggestions(term_text)
    message = f"{term_text!r} is not a CTCAE v{dictionary.version} term"
    if hint:
        message += f"; did you mean {' or '.join(repr(h) for h in hint)}?"
    if not dictionary.complete:
        message += (f" The bundled CTCAE v{dictionary.version} is a subset of {len(dictionary)} terms: name NCI's "
                    "Excel file in the study's ctcae_file for all of them.")
    elif any(t.is_other_specify for t in dictionary):
        message += (" If no term fits, record '<system organ class> - Other, specify' with the event's own words "
                    "in term_specify.")
    return message


def _term_specify(ctx: CaptureContext, checks: Checks, term: CtcaeTerm | None, value: Any) -> str | None:
    """The verbatim term: required for a SOC's "Other, specify" term, refused for any other term."""
    specified = checks.text("term_specify", value, required=False, max_length=200)
    if term is None:
        return specified
    if term.is_other_specify and specified is None and not checks.has_field("term_specify"):
        checks.fail("term_specify", value, "specify-other-term",
                    f"{term.term} needs the event's own term in term_specify (what the investigator reported)")
    elif not term.is_other_specify and specified is not None:
        checks.fail("term_specify", specified, "specify-only-for-other",
                    f"term_specify is only for a system organ class's 'Other, specify' term; {term.term} is a CTCAE "
                    "term of its own: leave term_specify empty")
    elif specified is not None and specified in ctx.ctcae:
        named = ctx.ctcae.lookup(specified)
        checks.fail("term_specify", specified, "specify-not-a-ctcae-term",
                    f"{named.term} is a CTCAE term ({named.soc}): record it as that term, not as 'Other, specify'")
    return specified


def _check_dlt(ctx: CaptureContext, checks: Checks, patient: Patient, onset: PartialDate | None,
               attribution: str | None) -> None:
    window = ctx.study.dlt_window_days
    first = first_dose_date(ctx, patient)
    if first is None:
        checks.fail("dlt", True, "dlt-window",
                    f"a DLT can only follow a first {ctx.study.product.noun}, and none is recorded for this patient")
        return
    end = first + timedelta(days=window)
    if onset is not None:
        if onset.precision in ("year", "month"):
            checks.fail("onset", onset, "dlt-onset-full-date",
                        "a DLT needs its full onset date (YYYY-MM-DD) to place it in the DLT window")
        elif not (first <= onset.earliest <= end):
            checks.fail("dlt", True, "dlt-window",
                        f"a DLT must begin within the {window}-day DLT window after the first {ctx.study.product.noun} "
                        f"({first} to {end}); this event began {onset.text}. Record it without the DLT flag")
    if attribution is not None and attribution not in RELATED_ATTRIBUTIONS:
        checks.fail("attribution", attribution, "dlt-related",
                    "a DLT is an event at least possibly related to the study product; "
                    f"attribution {attribution!r} contradicts the DLT flag")


def record_adverse_event(
    ctx: CaptureContext,
    subject_id: str,
    term: str,
    grade: int,
    onset: str,
    attribution: str,
    outcome: str,
    *,
    resolution: str | None = None,
    serious: bool = False,
    action: str = "none",
    dlt: bool = False,
    term_specify: str | None = None,
) -> AdverseEvent:
    """Record an adverse event: CTCAE ``term`` and ``grade`` (1-5), ``onset``/``resolution`` as ISO 8601
    dates that may be partial (``2015-03``), attribution on the 5-point scale, outcome and action taken.

    ``term_specify`` is the event's own term when ``term`` is a system organ class's "Other, specify"
    term (``Gastrointestinal disorders - Other, specify``); it is required then and refused otherwise.
    """
    checks = Checks(f"record adverse event {term!r} of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_adverse_event(ctx, checks, patient, dict(
        term=term, grade=grade, onset=onset, resolution=resolution, attribution=attribution, outcome=outcome,
        serious=serious, action=action, dlt=dlt, term_specify=term_specify,
    ))
    checks.raise_if_failed()
    ensure_user(ctx)
    return insert(ctx, AdverseEvent(patient_id=patient.id, **values), patient.subject_id)
