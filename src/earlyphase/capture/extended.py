"""Adverse events and tumour assessments with the fields a study adds to their forms.

The two actions themselves live in ``safety`` and ``assessments``; these wrappers check the added
fields together with the core ones (every problem at once, nothing written on error) and store them
beside the core record. Without added fields they are the core actions.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping

from earlyphase.capture import assessments, safety
from earlyphase.capture.checks import Checks
from earlyphase.capture.common import known_patient
from earlyphase.capture.context import CaptureContext
from earlyphase.capture.forms import validate_extension, write_extension
from earlyphase.records.tables import AdverseEvent, TumourAssessment


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
    extra: dict[str, Any] | None = None,
    confirm_warnings: bool = False,
) -> AdverseEvent:
    """Record an adverse event (see :func:`earlyphase.capture.safety.record_adverse_event`); ``extra`` holds
    the fields the study adds to the adverse-event form."""
    core = dict(resolution=resolution, serious=serious, action=action, dlt=dlt, term_specify=term_specify)
    if extra is None and ctx.study.extension("adverse_event") is None:
        return safety.record_adverse_event(ctx, subject_id, term, grade, onset, attribution, outcome, **core)
    checks = Checks(f"record adverse event {term!r} of patient {subject_id}")
    patient = known_patient(ctx, checks, subject_id)
    values = safety.validate_adverse_event(ctx, checks, patient, dict(
        term=term, grade=grade, onset=onset, attribution=attribution, outcome=outcome, **core))
    clean = validate_extension(ctx, checks, "adverse_event", extra, values, patient, confirm_warnings=confirm_warnings)
    checks.raise_if_failed()
    record = safety.record_adverse_event(ctx, subject_id, term, grade, onset, attribution, outcome, **core)
    write_extension(ctx, "adverse_event", record, clean, patient)
    return record


def record_tumour_assessment(
    ctx: CaptureContext,
    subject_id: str,
    assessment_date: date | str,
    modality: str,
    lesions: Iterable[assessments.LesionInput | Mapping[str, Any]] = (),
    *,
    baseline: bool = False,
    investigator_response: str | None = None,
    extra: dict[str, Any] | None = None,
    confirm_warnings: bool = False,
) -> TumourAssessment:
    """Record an imaging visit and its lesions (see :func:`earlyphase.capture.assessments.record_tumour_assessment`);
    ``extra`` holds the fields the study adds to the tumour-assessment form."""
    lesions = list(lesions)
    core = dict(baseline=baseline, investigator_response=investigator_response)
    if extra is None and ctx.study.extension("tumour_assessment") is None:
        return assessments.record_tumour_assessment(ctx, subject_id, assessment_date, modality, lesions, **core)
    checks = Checks(f"record tumour assessment of patient {subject_id} on {assessment_date}")
    patient = known_patient(ctx, checks, subject_id)
    values = assessments.validate_assessment(ctx, checks, patient, dict(
        assessment_date=assessment_date, modality=modality, **core))
    assessments.validate_lesions(ctx, checks, patient, lesions, values["baseline"])
    clean = validate_extension(ctx, checks, "tumour_assessment", extra, values, patient,
                               confirm_warnings=confirm_warnings)
    checks.raise_if_failed()
    record = assessments.record_tumour_assessment(ctx, subject_id, assessment_date, modality, lesions, **core)
    write_extension(ctx, "tumour_assessment", record, clean, patient)
    return record
