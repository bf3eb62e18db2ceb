"""Case-report-form action: record a tumour assessment (imaging visit) with its lesions."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import select

from earlyphase.capture.checks import Checks
from earlyphase.capture.common import insert, known_patient, not_after_death, not_future
from earlyphase.capture.context import CaptureContext, ensure_user, first_dose_date
from earlyphase.records.tables import Lesion, Patient, TumourAssessment
from earlyphase.vocab import LESION_KINDS, MODALITIES, NON_TARGET_STATUSES, RESPONSE_CATEGORIES

MAX_DIAMETER_MM = 400.0
MAX_TARGETS = 5  # RECIST 1.1 and mRECIST: at most 5 target lesions ...
MAX_TARGETS_PER_ORGAN = 2  # ... and at most 2 per organ (Eisenhauer 2009; Lencioni & Llovet 2010)


# RECIST 1.1 measurability at baseline (Eisenhauer 2009, section 3.2): a lesion at least 10 mm long on CT/MRI;
# a lymph node at least 15 mm in short axis to be a target, 10 to < 15 mm a non-target; under 10 mm it is normal.
MIN_TARGET_MM = 10.0
MIN_TARGET_NODE_MM = 15.0
NODE_NORMAL_MM = 10.0


@dataclass(frozen=True)
class LesionInput:
    """One lesion at one visit. ``label`` is stable across visits (T1, T2, N1 ...); ``kind`` is
    target / non-target / new; a target needs its (viable, for mRECIST) diameter in mm, or for a lymph
    node (``node``) its short axis (``short_axis_mm``); a non-target needs its status (present / absent /
    increased (iRECIST) / unequivocal progression)."""

    label: str
    kind: str
    viable_diameter_mm: float | None = None
    location: str | None = None
    status: str | None = None
    node: bool = False
    short_axis_mm: float | None = None


def _lesion_dict(lesion: LesionInput | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(lesion, LesionInput):
        return asdict(lesion)
    d = dict(lesion)
    if "lesion_label" in d and "label" not in d:
        d["label"] = d.pop("lesion_label")
    if "diameter_mm" in d and "viable_diameter_mm" not in d:
        d["viable_diameter_mm"] = d.pop("diameter_mm")
    return d


def validate_lesion(checks: Checks, v: Mapping[str, Any], prefix: str, baseline: bool | None,
                    criteria: str | None = None) -> dict:
    """Check one lesion; ``criteria`` is the study's response criteria (the status 'increased' is iRECIST's)."""
    out: dict[str, Any] = {}
    out["lesion_label"] = checks.text(f"{prefix}label", v.get("label"), max_length=20)
    kind = checks.choice(f"{prefix}kind", v.get("kind"), LESION_KINDS)
    out["kind"] = kind
    out["location"] = checks.text(f"{prefix}location", v.get("location"), required=False, max_length=100)
    node = checks.boolean(f"{prefix}node", v.get("node"), default=False)
    out["node"] = node
    diameter = checks.number(f"{prefix}viable_diameter_mm", v.get("viable_diameter_mm"),
                             required=kind == "target" and not node, low=0, high=MAX_DIAMETER_MM,
                             rule="diameter-0-400-mm", what=" mm")
    out["viable_diameter_mm"] = diameter
    short_axis = checks.number(f"{prefix}short_axis_mm", v.get("short_axis_mm"),
                               required=kind == "target" and node is True, low=0, high=MAX_DIAMETER_MM,
                               rule="short-axis-0-400-mm", what=" mm")
    out["short_axis_mm"] = short_axis
    status = checks.choice(f"{prefix}status", v.get("status"), NON_TARGET_STATUSES, required=kind == "non-target")
    out["status"] = status
    if kind == "target" and v.get("status") not in (None, ""):
        checks.fail(f"{prefix}status", v.get("status"), "target-has-diameter",
                    "a target lesion is measured (viable_diameter_mm, or short_axis_mm for a lymph node), not given "
                    "a status")
    if kind == "new" and baseline:
        checks.fail(f"{prefix}kind", kind, "no-new-lesion-at-baseline",
                    "a baseline scan defines the lesions; 'new' lesions appear only at later visits")
    if status == "increased" and criteria is not None and criteria != "iRECIST":
        checks.fail(f"{prefix}status", status, "increased-is-irecist",
                    f"'increased' (growth short of unequivocal progression) is recorded under iRECIST only; under "
                    f"{criteria} record 'present' or 'unequivocal progression'")
    _check_node(checks, prefix, kind, node, diameter, short_axis, status, baseline)
    if baseline and kind == "target" and not node and diameter is not None and diameter < MIN_TARGET_MM:
        checks.fail(f"{prefix}viable_diameter_mm", diameter, "target-10-mm",
                    f"a target lesion measures at least {MIN_TARGET_MM:g} mm at baseline (RECIST 1.1 measurability); "
                    "record a smaller lesion as non-target")
    return out


def _check_node(checks: Checks, prefix: str, kind: str | None, node: bool | None, diameter: float | None,
                short_axis: float | None, status: str | None, baseline: bool | None) -> None:
    """RECIST 1.1's lymph-node rule: nodes are measured by their short axis, 15 mm makes a target, < 10 mm is normal."""
    if node is False and short_axis is not None:
        checks.fail(f"{prefix}short_axis_mm", short_axis, "short-axis-for-nodes",
                    "a short axis is measured for lymph nodes only (node = yes); measure other lesions by their "
                    "longest diameter")
    if node is not True:
        return
    if diameter is not None:
        checks.fail(f"{prefix}viable_diameter_mm", diameter, "node-short-axis",
                    "a lymph node is measured by its short axis (short_axis_mm), not its longest diameter")
    if baseline and kind == "target" and short_axis is not None and short_axis < MIN_TARGET_NODE_MM:
        checks.fail(f"{prefix}short_axis_mm", short_axis, "target-node-15-mm",
                    f"a lymph node is a target only with a short axis of at least {MIN_TARGET_NODE_MM:g} mm at "
                    f"baseline (RECIST 1.1); {NODE_NORMAL_MM:g} to {MIN_TARGET_NODE_MM:g} mm: record it as non-target; "
                    f"under {NODE_NORMAL_MM:g} mm it is not pathological")
    if kind == "non-target" and short_axis is not None:
        if baseline and short_axis < NODE_NORMAL_MM:
            checks.fail(f"{prefix}short_axis_mm", short_axis, "nontarget-node-10-mm",
                        f"a lymph node under {NODE_NORMAL_MM:g} mm short axis is not pathological: it is not a lesion")
        elif status == "absent" and short_axis >= NODE_NORMAL_MM:
            checks.fail(f"{prefix}status", status, "node-status-matches-short-axis",
                        f"a lymph node of {short_axis:g} mm short axis is still pathological: it is not 'absent'")
        elif status in ("present", "increased") and short_axis < NODE_NORMAL_MM:
            checks.fail(f"{prefix}status", status, "node-status-matches-short-axis",
                        f"a lymph node under {NODE_NORMAL_MM:g} mm short axis is non-pathological: record it as "
                        "'absent'")


def validate_assessment(ctx: CaptureContext, checks: Checks, patient: Patient | None, v: dict[str, Any],
                        current: TumourAssessment | None = None) -> dict:
    """Check a tumour assessment's own fields (not its lesions); return clean column values."""
    out: dict[str, Any] = {}
    when = checks.day("assessment_date", v.get("assessment_date"))
    out["assessment_date"] = when
    modality = checks.choice("modality", v.get("modality"), MODALITIES)
    if modality is not None and modality not in ctx.study.imaging.modalities:
        checks.fail("modality", modality, "study-modality",
                    f"the study's imaging schedule uses {', '.join(ctx.study.imaging.modalities)}, not {modality}")
    out["modality"] = modality
    baseline = checks.boolean("baseline", v.get("baseline"), default=False)
    out["baseline"] = baseline
    response = checks.choice("investigator_response", v.get("investigator_response"),
                             RESPONSE_CATEGORIES[ctx.study.response_criteria], required=False)
    out["investigator_response"] = response
    if baseline and response is not None:
        checks.fail("investigator_response", response, "no-response-at-baseline",
                    "a baseline scan has no response; responses are judged against it")
    not_future(ctx, checks, "assessment_date", when)
    if patient is None:
        return out
    not_after_death(ctx, checks, patient, "assessment_date", when, "the assessment")
    others = [a for a in ctx.session.execute(
        select(TumourAssessment).where(TumourAssessment.patient_id == patient.id)).scalars()
        if current is None or a.id != current.id]
    if when is not None and any(a.assessment_date == when for a in others):
        checks.fail("assessment_date", when, "unique-assessment-date",
                    f"an assessment on {when} is already recorded for patient {patient.subject_id}")
    base = [a for a in others if a.baseline]
    if baseline and base:
        checks.fail("baseline", True, "unique-baseline",
                    f"patient {patient.subject_id} already has a baseline assessment (on {base[0].assessment_date})")
    first = first_dose_date(ctx, patient)
    if when is not None and baseline:
        earliest = patient.consent_date - timedelta(days=ctx.study.imaging.baseline_window_days)
        if when < earliest:
            checks.fail("assessment_date", when, "baseline-window",
                        f"a baseline scan on {when} is more than {ctx.study.imaging.baseline_window_days} days before "
                        f"consent ({patient.consent_date})")
        if first is not None and when > first:
            checks.fail("assessment_date", when, "baseline-before-treatment",
                        f"a baseline scan on {when} is after the first {ctx.study.product.noun} on {first}")
    if when is not None and baseline is False:
        if first is None:
            checks.fail("baseline", False, "post-baseline-after-treatment",
                        f"a follow-up scan needs the first {ctx.study.product.noun} recorded first (or mark this "
                        "scan as baseline)")
        elif when <= first:
            checks.fail("assessment_date", when, "post-baseline-after-treatment",
                        f"a follow-up scan on {when} is not after the first {ctx.study.product.noun} on {first}; mark it as baseline "
                        "if it is the pre-treatment scan")
        if base and when <= base[0].assessment_date:
            checks.fail("assessment_date", when, "after-baseline",
                        f"a follow-up scan on {when} is not after the baseline scan on {base[0].assessment_date}")
    return out


def validate_lesions(ctx: CaptureContext, checks: Checks, patient: Patient | None,
                     lesions: Iterable[LesionInput | Mapping[str, Any]], baseline: bool | None) -> list[dict]:
    criteria = ctx.study.response_criteria
    rows = [validate_lesion(checks, _lesion_dict(les), f"lesions[{i}].", baseline, criteria)
            for i, les in enumerate(lesions)]
    labels = Counter(r["lesion_label"] for r in rows if r["lesion_label"])
    for label, n in labels.items():
        if n > 1:
            checks.fail("lesions", label, "unique-lesion-label", f"lesion {label} is listed {n} times in one assessment")
    targets = [r for r in rows if r["kind"] == "target"]
    if len(targets) > MAX_TARGETS:
        checks.fail("lesions", len(targets), "max-5-targets",
                    f"{len(targets)} target lesions; {ctx.study.response_criteria} allows at most {MAX_TARGETS}")
    per_organ = Counter(r["location"].casefold() for r in targets if r["location"])
    for organ, n in per_organ.items():
        if n > MAX_TARGETS_PER_ORGAN:
            checks.fail("lesions", organ, "max-2-targets-per-organ",
                        f"{n} target lesions in {organ}; at most {MAX_TARGETS_PER_ORGAN} per organ")
    if patient is not None and baseline is False:
        base_nodes = baseline_node_flags(ctx, patient)
        for i, r in enumerate(rows):
            was_node = base_nodes.get(r["lesion_label"])
            if was_node is not None and r["node"] is not None and r["node"] != was_node:
                checks.fail(f"lesions[{i}].node", r["node"], "node-as-at-baseline",
                            f"lesion {r['lesion_label']} was {'a lymph node' if was_node else 'not a lymph node'} at "
                            "baseline; a lesion keeps its label and its kind of measurement across visits")
        base_targets = baseline_target_labels(ctx, patient)
        if base_targets is not None:
            for r in targets:
                if r["lesion_label"] and r["lesion_label"] not in base_targets:
                    checks.fail("lesions", r["lesion_label"], "targets-from-baseline",
                                f"target lesion {r['lesion_label']} was not a target at baseline "
                                f"(baseline targets: {', '.join(sorted(base_targets)) or 'none'}); "
                                "a lesion appearing later is 'new'")
    return rows


def baseline_node_flags(ctx: CaptureContext, patient: Patient) -> dict[str, bool]:
    """Label -> lymph node or not, for the lesions of the patient's baseline assessment."""
    base = ctx.session.execute(select(TumourAssessment).where(
        TumourAssessment.patient_id == patient.id, TumourAssessment.baseline.is_(True))).scalars().first()
    if base is None:
        return {}
    found = ctx.session.execute(select(Lesion.lesion_label, Lesion.node).where(Lesion.assessment_id == base.id)).all()
    return {label: bool(node) for label, node in found}


def baseline_target_labels(ctx: CaptureContext, patient: Patient) -> set[str] | None:
    base = ctx.session.execute(select(TumourAssessment).where(
        TumourAssessment.patient_id == patient.id, TumourAssessment.baseline.is_(True))).scalars().first()
    if base is None:
        return None
    return set(ctx.session.execute(select(Lesion.lesion_label).where(
        Lesion.assessment_id == base.id, Lesion.kind == "target")).scalars())


def record_tumour_assessment(
    ctx: CaptureContext,
    subject_id: str,
    assessment_date: date | str,
    modality: str,
    lesions: Iterable[LesionInput | Mapping[str, Any]] = (),
    *,
    baseline: bool = False,
    investigator_response: str | None = None,
) -> TumourAssessment:
    """Record an imaging visit and its lesions (diameters in mm: viable tumour for mRECIST; lymph nodes by their
    short axis, RECIST 1.1).

    Lesions are ``LesionInput`` or mappings with keys label, kind, viable_diameter_mm, location, status, node,
    short_axis_mm.
    """
    checks = Checks(f"record tumour assessment of patient {subject_id} on {assessment_date}")
    patient = known_patient(ctx, checks, subject_id)
    values = validate_assessment(ctx, checks, patient, dict(
        assessment_date=assessment_date, modality=modality, baseline=baseline,
        investigator_response=investigator_response,
    ))
    lesion_rows = validate_lesions(ctx, checks, patient, list(lesions), values["baseline"])
    checks.raise_if_failed()
    ensure_user(ctx)
    assessment = insert(ctx, TumourAssessment(patient_id=patient.id, **values), patient.subject_id)
    for row in lesion_rows:
        insert(ctx, Lesion(assessment_id=assessment.id, **row), patient.subject_id)
    return assessment
