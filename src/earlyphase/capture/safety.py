"""Case-report-form action: record an adverse event (CTCAE term and grade, attribution, dates, DLT)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from earlyphase.capture.checks import Checks, PartialDate
from earlyphase.capture.common import insert, known_patient, not_after_death, not_before_consent, not_future
from earlyphase.capture.context import CaptureContext, death_of, ensure_user, first_infusion_date
from earlyphase.records.tables import AdverseEvent, Patient
from earlyphase.vocab import AE_ACTIONS, AE_ENDED_OUTCOMES, AE_OUTCOMES, ATTRIBUTIONS, RELATED_ATTRIBUTIONS


def validate_adverse_event(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                           current: AdverseEvent | None = None) -> dict:
    """Check an adverse event; return clean column values (term spelled as CTCAE, SOC and version filled in)."""
    out: dict[str, Any] = {"ctcae_version": ctx.ctcae.version}
    term_text = checks.text("term", v.get("term"), max_length=200)
    term = None
    if term_text is not None:
        term = ctx.ctcae.get(term_text)
        if term is None:
            hint = ctx.ctcae.suggestions(term_text)
            checks.fail("term", term_text, "ctcae-term",
                        f"{term_text!r} is not a CTCAE v{ctx.ctcae.version} term in this study's dictionary"
                        + (f" (did you mean {', '.join(hint)}?)" if hint else ""))
    out["term"] = term.term if term else term_text
    out["soc"] = term.soc if term else None
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
        for same in ctx.session.execute(query).scalars():
            if current is None or same.id != current.id:
                checks.fail("term", out["term"], "unique-adverse-event",
                            f"{out['term']} starting {onset.text} is already recorded for patient "
                            f"{patient.subject_id}; correct that record instead")
    if out["attribution"] in RELATED_ATTRIBUTIONS and onset is not None:
        # Judged only once the first infusion is on file (infusions may be entered after the AE form).
        first = first_infusion_date(ctx, patient)
        if first is not None and onset.latest < first:
            checks.fail("attribution", out["attribution"], "related-after-exposure",
                        f"an event that began {onset.text}, before the first infusion on {first}, cannot be "
                        "related to the study product; use 'unrelated' or 'unlikely'")
    if dlt:
        _check_dlt(ctx, checks, patient, onset, out["attribution"])
    return out


def _check_dlt(ctx: CaptureContext, checks: Checks, patient: Patient, onset: PartialDate | None,
               attribution: str | None) -> None:
    window = ctx.study.dlt_window_days
    first = first_infusion_date(ctx, patient)
    if first is None:
        checks.fail("dlt", True, "dlt-window",
                    "a DLT can only follow a first infusion, and none is recorded for this patient")
        return
    end = first + timedelta(days=window)
    if onset is not None:
        if onset.precision in ("year", "month"):
            checks.fail("onset", onset, "dlt-onset-full-date",
                        "a DLT needs its full onset date (YYYY-MM-DD) to place it in the DLT window")
        elif not (first <= onset.earliest <= end):
            checks.fail("dlt", True, "dlt-window",
                        f"a DLT must begin within the {window}-day DLT window after the first infusion "
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
) -> AdverseEvent:
    """Record an adverse event: CTCAE ``term`` and ``grade`` (1-5), ``onset``/``resolution`` as ISO 8601
    dates that may be partial (``2015-03``), attribution on the 5-point scale, outcome and action taken.
    """
    checks = Checks(f"record adverse event {term!r} of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_adverse_event(ctx, checks, patient, dict(
        term=term, grade=grade, onset=onset, resolution=resolution, attribution=attribution, outcome=outcome,
        serious=serious, action=action, dlt=dlt,
    ))
    checks.raise_if_failed()
    ensure_user(ctx)
    return insert(ctx, AdverseEvent(patient_id=patient.id, **values), patient.subject_id)
