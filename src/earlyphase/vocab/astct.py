"""ASTCT consensus grading of cytokine release syndrome (CRS) and of immune effector cell-associated
neurotoxicity syndrome (ICANS), derived from the recorded signs rather than typed in.

Source: Lee DW, Santomasso BD, Locke FL, et al. ASTCT Consensus Grading for Cytokine Release Syndrome and
Neurologic Toxicity Associated with Immune Effector Cells. BBMT (Biology of Blood and Marrow Transpl.) 2019;25:625-638:
the tables "ASTCT CRS Consensus Grading", "Encephalopathy Assessment Tools for Grading of ICANS" (the ICE
score), "ASTCT ICANS Consensus Grading for Adults" and "... for Children", with their footnotes.

CRS (``grade_crs``): fever >= 38.0 °C not attributable to another cause is required; once antipyretic or
anti-cytokine therapy (tocilizumab, steroids) has been given, fever is no longer required and the grade is
driven by hypotension and hypoxia (``fever_masked``). The grade is that of the more severe of:

============  ==========  ==================================  ===========================================
grade         fever       hypotension                         hypoxia (oxygen needed)
============  ==========  ==================================  ===========================================
1             >= 38 °C    none                                none
2             >= 38 °C    not needing vasopressors            low-flow nasal cannula (<= 6 L/min) or blow-by
3             >= 38 °C    one vasopressor +/- vasopressin     high-flow nasal cannula (> 6 L/min), facemask,
                                                              non-rebreather or Venturi mask
4             >= 38 °C    several vasopressors (vasopressin   positive pressure: CPAP, BiPAP, intubation
                          not counted)                        and mechanical ventilation
5             death due to CRS with no other principal cause
============  ==========  ==================================  ===========================================

ICANS (``grade_icans``): the grade of the most severe domain not attributable to another cause:

==========================  =======  =======  ===========================  ==================================
domain                      1        2        3                            4
==========================  =======  =======  ===========================  ==================================
ICE score (0-10)            7-9      3-6      0-2                          0: unarousable, cannot do ICE
CAPD (children < 12)        1-8      1-8      >= 9                         unable to perform CAPD
depressed consciousness     awakens  awakens  awakens only to tactile      unarousable, or vigorous/repetitive
                            spont.   to voice stimulus                     stimuli needed; stupor or coma
seizure                     -        -        any clinical seizure that    life-threatening prolonged (> 5 min),
                                              resolves rapidly, or         or repetitive without return to
                                              non-convulsive on EEG        baseline in between
                                              resolving with intervention
motor findings              -        -        -                            deep focal motor weakness
                                                                           (hemiparesis, paraparesis)
raised ICP / cerebral       -        -        focal/local oedema on        diffuse oedema on neuroimaging;
oedema                                        neuroimaging                 decerebrate/decorticate posturing;
                                                                           cranial nerve VI palsy;
                                                                           papilloedema; Cushing's triad
==========================  =======  =======  ===========================  ==================================

ICE and consciousness (footnote): an ICE score of 0 is grade 3 in a patient who is awake (global aphasia)
and grade 4 only in one who is unarousable, who therefore cannot perform ICE. The CAPD (Cornell Assessment
of Pediatric Delirium, 0-32) replaces ICE for children under 12: 1-8 is grade 1 or 2 (consciousness decides),
>= 9 grade 3. Tremor, myoclonus and intracranial haemorrhage do not count towards ICANS (grade them by
CTCAE). Death due to the syndrome with no other principal cause is grade 5.

Both functions check their inputs and raise ``InputError`` naming the field, value and rule of every
problem (an impossible combination, such as vasopressors without hypotension, is refused).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

FEVER_C = 38.0
TEMPERATURE_RANGE_C = (25.0, 45.0)  # plausible body temperatures; outside: a typing or unit error
LOW_FLOW_MAX_L_MIN = 6.0  # nasal cannula at <= 6 L/min is low flow, above it high flow (Lee 2019)
OXYGEN_FLOW_MAX_L_MIN = 80.0
MAX_VASOPRESSORS = 6
ICE_MAX = 10
CAPD_MAX = 32

# Oxygen support: code -> (label, CRS hypoxia grade); "nasal_cannula" takes its grade from the flow.
OXYGEN_SUPPORT: dict[str, tuple[str, int | None]] = {
    "none": ("no supplemental oxygen", 0),
    "low_flow_nasal_cannula": ("low-flow nasal cannula (<= 6 L/min)", 2),
    "blow_by": ("blow-by oxygen", 2),
    "nasal_cannula": ("nasal cannula (grade from the flow)", None),
    "high_flow_nasal_cannula": ("high-flow nasal cannula (> 6 L/min)", 3),
    "facemask": ("facemask", 3),
    "non_rebreather_mask": ("non-rebreather mask", 3),
    "venturi_mask": ("Venturi mask", 3),
    "cpap": ("CPAP (positive pressure)", 4),
    "bipap": ("BiPAP (positive pressure)", 4),
    "mechanical_ventilation": ("intubation and mechanical ventilation (positive pressure)", 4),
}
CONSCIOUSNESS: dict[str, tuple[str, int]] = {
    "alert": ("alert, not depressed", 0),
    "awakens_spontaneously": ("depressed, awakens spontaneously", 1),
    "awakens_to_voice": ("awakens to voice", 2),
    "awakens_to_tactile_stimulus": ("awakens only to tactile stimulus", 3),
    "unarousable": ("unarousable, or needs vigorous or repetitive tactile stimuli to arouse; stupor or coma", 4),
}
SEIZURE: dict[str, tuple[str, int]] = {
    "none": ("no seizure", 0),
    "resolved_rapidly": ("any clinical seizure, focal or generalised, that resolves rapidly, or non-convulsive "
                         "seizures on EEG that resolve with intervention", 3),
    "life_threatening": ("life-threatening prolonged seizure (> 5 min), or repetitive clinical or electrical "
                         "seizures without return to baseline in between", 4),
}
RAISED_ICP: dict[str, tuple[str, int]] = {
    "focal_edema": ("focal/local oedema on neuroimaging", 3),
    "diffuse_edema": ("diffuse cerebral oedema on neuroimaging", 4),
    "posturing": ("decerebrate or decorticate posturing", 4),
    "cranial_nerve_vi_palsy": ("cranial nerve VI palsy", 4),
    "papilledema": ("papilloedema", 4),
    "cushings_triad": ("Cushing's triad", 4),
}
# Findings the paper excludes from ICANS, with where they are graded instead.
NOT_ICANS = {
    "intracranial_hemorrhage": "intracranial haemorrhage, with or without oedema, is not an ICANS feature: grade it by "
                               "CTCAE (Intracranial hemorrhage)",
    "tremor": "tremor does not count towards ICANS: grade it by CTCAE (Tremor)",
    "myoclonus": "myoclonus does not count towards ICANS: grade it by CTCAE",
}


@dataclass(frozen=True)
class AstctGrade:
    """An ASTCT grade and how it was reached.

    ``grade`` 0 means no CRS (or no ICANS); ``drivers`` are the domains at that grade (the signs that
    decided it); ``domains`` gives every domain's own grade; ``reason`` says it in a sentence.
    """

    syndrome: str  # "CRS" or "ICANS"
    grade: int
    drivers: tuple[str, ...]
    domains: Mapping[str, int] = field(default_factory=dict)
    reason: str = ""

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        label = f"{self.syndrome} grade {self.grade}" if self.grade else f"no {self.syndrome}"
        return f"{label} (ASTCT 2019): {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"syndrome": self.syndrome, "grade": self.grade, "drivers": list(self.drivers),
                "domains": dict(self.domains), "reason": self.reason, "grading": "ASTCT consensus (Lee 2019)"}


class _Inputs:
    """Reads and checks keyword inputs, collecting every problem before raising one ``InputError``."""

    def __init__(self, what: str):
        self.what = what
        self.problems: list = []

    def fail(self, name: str, value: Any, rule: str, message: str) -> None:
        from earlyphase.errors import Problem

        self.problems.append(Problem(field=name, value=value, rule=rule, message=message))

    def raise_if_failed(self) -> None:
        if self.problems:
            from earlyphase.errors import InputError

            n = len(self.problems)
            raise InputError(self.problems, summary=f"{self.what}: {n} problem{'s' if n != 1 else ''} with the signs")

    def flag(self, name: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if value is None:
            return False
        self.fail(name, value, "yes-no", f"{name} is yes or no (True/False)")
        return False

    def number(self, name: str, value: Any, low: float, high: float, unit: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(float(value)):
            self.fail(name, value, "number", f"{name} must be a number in {unit}")
            return None
        if not low <= float(value) <= high:
            self.fail(name, value, "plausible-range", f"{name} {value} {unit} is outside {low:g}-{high:g} {unit}; "
                                                      "check the value and its unit")
            return None
        return float(value)

    def count(self, name: str, value: Any, low: int, high: int, what: str) -> int | None:
        if value is None:
            return None
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not integral:
            self.fail(name, value, "whole-number", f"{name} is a whole number ({what})")
            return None
        if not low <= int(value) <= high:
            self.fail(name, value, "range", f"{name} must be {low}-{high} ({what}); {value} given")
            return None
        return int(value)

    def choice(self, name: str, value: Any, choices: Mapping[str, tuple[str, Any]]) -> str | None:
        code = _code(value)
        if code in choices:
            return code
        hint = NOT_ICANS.get(code or "")
        self.fail(name, value, "not-icans" if hint else "choice",
                  hint or f"{name} must be one of: {', '.join(choices)}")
        return None


def _code(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().casefold().replace("-", "_").replace(" ", "_").replace("'", "")
    return _ALIASES.get(text, text)


_ALIASES = {
    "hfnc": "high_flow_nasal_cannula", "high_flow": "high_flow_nasal_cannula", "low_flow": "low_flow_nasal_cannula",
    "lfnc": "low_flow_nasal_cannula", "nc": "nasal_cannula", "blowby": "blow_by", "face_mask": "facemask",
    "non_rebreather": "non_rebreather_mask", "nonrebreather": "non_rebreather_mask", "nrb": "non_rebreather_mask",
    "venturi": "venturi_mask", "intubation": "mechanical_ventilation", "ventilator": "mechanical_ventilation",
    "normal": "alert", "no": "none", "papilloedema": "papilledema", "focal_oedema": "focal_edema",
    "diffuse_oedema": "diffuse_edema", "intracranial_haemorrhage": "intracranial_hemorrhage",
    "cushing_triad": "cushings_triad", "cn_vi_palsy": "cranial_nerve_vi_palsy",
}


def _result(syndrome: str, domains: dict[str, int], texts: dict[str, str]) -> AstctGrade:
    grade = max(domains.values(), default=0)
    drivers = tuple(d for d, g in domains.items() if g == grade and g > 0)
    if grade == 0:
        return AstctGrade(syndrome, 0, (), domains, f"no sign of {syndrome} in any domain")
    decided = "; ".join(texts[d] for d in drivers)
    others = [f"{texts[d]} (grade {g})" for d, g in domains.items() if 0 < g < grade]
    reason = f"grade {grade} from {decided}" + (f"; also {', '.join(others)}" if others else "")
    return AstctGrade(syndrome, grade, drivers, domains, reason)


# -- CRS -------------------------------------------------------------------------------------------
def grade_crs(
    *,
    temperature_c: float | None = None,
    fever_masked: bool = False,
    hypotension: bool = False,
    vasopressors: int = 0,
    vasopressin: bool = False,
    oxygen: str = "none",
    oxygen_flow_l_min: float | None = None,
    died_of_crs: bool = False,
) -> AstctGrade:
    """ASTCT CRS grade from the signs at the worst point of an episode.

    ``temperature_c``: highest temperature (°C), not attributable to another cause. ``fever_masked``: the
    patient has had antipyretic or anti-cytokine therapy (tocilizumab, steroids) for this CRS, so fever is
    no longer required. ``hypotension``: hypotension not attributable to another cause; ``vasopressors``:
    how many vasopressors other than vasopressin it needs; ``vasopressin``: vasopressin given (alone it
    counts as one vasopressor). ``oxygen``: the support hypoxia needs (``OXYGEN_SUPPORT`` codes);
    ``oxygen_flow_l_min``: its flow, which decides low (<= 6 L/min) or high flow for ``nasal_cannula``.
    ``died_of_crs``: death due to CRS with no other principal cause (grade 5).
    Returns an ``AstctGrade`` whose drivers are among "death", "fever", "hypotension", "hypoxia".
    """
    inputs = _Inputs("ASTCT CRS grading")
    temperature = inputs.number("temperature_c", temperature_c, *TEMPERATURE_RANGE_C, "°C")
    masked = inputs.flag("fever_masked", fever_masked)
    low_bp = inputs.flag("hypotension", hypotension)
    pressors = inputs.count("vasopressors", vasopressors if vasopressors is not None else 0, 0, MAX_VASOPRESSORS,
                            "vasopressors other than vasopressin")
    with_vasopressin = inputs.flag("vasopressin", vasopressin)
    support = inputs.choice("oxygen", oxygen if oxygen is not None else "none", OXYGEN_SUPPORT)
    flow = inputs.number("oxygen_flow_l_min", oxygen_flow_l_min, 0.0, OXYGEN_FLOW_MAX_L_MIN, "L/min")
    died = inputs.flag("died_of_crs", died_of_crs)

    if temperature_c is None and not masked and not died:
        inputs.fail("temperature_c", None, "temperature-required",
                    "give the highest temperature (°C): CRS needs fever >= 38.0 °C unless antipyretic or "
                    "anti-cytokine therapy masks it (fever_masked)")
    if (pressors or with_vasopressin) and not low_bp:
        inputs.fail("hypotension", hypotension, "vasopressors-need-hypotension",
                    "vasopressors are given for hypotension: record hypotension as well, or remove the vasopressors")
    if support is not None:
        _check_flow(inputs, support, flow)
    inputs.raise_if_failed()

    texts: dict[str, str] = {}
    domains: dict[str, int] = {}
    if temperature is not None and temperature >= FEVER_C:
        domains["fever"], texts["fever"] = 1, f"fever {temperature:g} °C"
    elif masked:
        domains["fever"], texts["fever"] = 1, "fever masked by antipyretic or anti-cytokine therapy"
    else:
        domains["fever"] = 0
        texts["fever"] = "no fever" if temperature is None else f"temperature {temperature:g} °C (< {FEVER_C:g})"
    domains["hypotension"], texts["hypotension"] = _hypotension_grade(low_bp, pressors or 0, with_vasopressin)
    domains["hypoxia"], texts["hypoxia"] = _hypoxia_grade(support or "none", flow)
    if died:
        domains["death"], texts["death"] = 5, "death due to CRS"
        return _result("CRS", domains, texts)
    if domains["fever"] == 0:
        others = [texts[d] for d in ("hypotension", "hypoxia") if domains[d]]
        reason = (f"{texts['fever']}: not CRS by ASTCT, which needs fever >= {FEVER_C:g} °C unless antipyretic or "
                  "anti-cytokine therapy masks it" + (f" ({', '.join(others)} recorded)" if others else ""))
        return AstctGrade("CRS", 0, (), domains, reason)
    return _result("CRS", domains, texts)


def _check_flow(inputs: _Inputs, support: str, flow: float | None) -> None:
    if support == "none" and flow is not None:
        inputs.fail("oxygen_flow_l_min", flow, "flow-needs-oxygen", "an oxygen flow is given but no oxygen support")
    elif support == "nasal_cannula" and flow is None:
        inputs.fail("oxygen_flow_l_min", None, "flow-for-nasal-cannula",
                    f"give the nasal cannula flow (L/min): <= {LOW_FLOW_MAX_L_MIN:g} L/min is low flow (grade 2), "
                    "more is high flow (grade 3)")
    elif support != "none" and flow is not None and flow <= 0:
        inputs.fail("oxygen_flow_l_min", flow, "flow-positive", "an oxygen flow is more than 0 L/min")
    elif support == "low_flow_nasal_cannula" and flow is not None and flow > LOW_FLOW_MAX_L_MIN:
        inputs.fail("oxygen_flow_l_min", flow, "low-flow-max-6",
                    f"{flow:g} L/min by nasal cannula is high flow (> {LOW_FLOW_MAX_L_MIN:g} L/min), not low flow")
    elif support == "high_flow_nasal_cannula" and flow is not None and flow <= LOW_FLOW_MAX_L_MIN:
        inputs.fail("oxygen_flow_l_min", flow, "high-flow-over-6",
                    f"{flow:g} L/min by nasal cannula is low flow (<= {LOW_FLOW_MAX_L_MIN:g} L/min), not high flow")


def _hypotension_grade(low_bp: bool, pressors: int, vasopressin: bool) -> tuple[int, str]:
    if not low_bp:
        return 0, "no hypotension"
    if pressors == 0 and not vasopressin:
        return 2, "hypotension not needing vasopressors"
    if pressors >= 2:
        extra = " and vasopressin" if vasopressin else ""
        return 4, f"hypotension needing {pressors} vasopressors{extra} (several, vasopressin not counted)"
    if pressors == 1:
        return 3, "hypotension needing one vasopressor" + (" with vasopressin" if vasopressin else "")
    return 3, "hypotension needing one vasopressor (vasopressin alone)"


def _hypoxia_grade(support: str, flow: float | None) -> tuple[int, str]:
    label, grade = OXYGEN_SUPPORT[support]
    if support == "none":
        return 0, "no oxygen needed"
    if grade is None:  # a nasal cannula: the flow decides
        grade = 2 if flow is not None and flow <= LOW_FLOW_MAX_L_MIN else 3
        label = f"nasal cannula at {flow:g} L/min ({'low' if grade == 2 else 'high'} flow)"
    elif flow is not None:
        label = f"{label} at {flow:g} L/min"
    return grade, f"hypoxia needing {label}"


# -- ICANS -----------------------------------------------------------------------------------------
def ice_score(*, orientation: int, naming: int, commands: int, writing: int, attention: int) -> int:
    """The ICE score (0-10): orientation to year, month, city, hospital (0-4), naming three objects (0-3),
    following simple commands (0-1), writing a standard sentence (0-1), counting back from 100 by 10 (0-1)."""
    inputs = _Inputs("ICE score")
    parts = [inputs.count("orientation", orientation, 0, 4, "year, month, city, hospital"),
             inputs.count("naming", naming, 0, 3, "three objects named"),
             inputs.count("commands", commands, 0, 1, "follows simple commands"),
             inputs.count("writing", writing, 0, 1, "writes a standard sentence"),
             inputs.count("attention", attention, 0, 1, "counts backwards from 100 by 10")]
    for name, part in zip(("orientation", "naming", "commands", "writing", "attention"), parts):
        if part is None and not any(p.field == name for p in inputs.problems):
            inputs.fail(name, None, "required", f"{name} is required")
    inputs.raise_if_failed()
    return sum(p for p in parts if p is not None)


def grade_icans(
    *,
    ice_score: int | None = None,
    capd_score: int | None = None,
    consciousness: str = "alert",
    seizure: str = "none",
    motor_weakness: bool = False,
    raised_icp: Iterable[str] | str | None = (),
    died_of_icans: bool = False,
) -> AstctGrade:
    """ASTCT ICANS grade from the neurological signs, none of them attributable to another cause.

    ``ice_score`` (0-10) for adults and children from 12 years, or ``capd_score`` (CAPD 0-32) for children
    under 12; leave both empty only when the patient is unarousable and cannot be assessed.
    ``consciousness``, ``seizure``: codes of ``CONSCIOUSNESS`` and ``SEIZURE``; ``motor_weakness``: deep
    focal motor weakness (hemiparesis, paraparesis; tremor and myoclonus do not count); ``raised_icp``:
    codes of ``RAISED_ICP`` found (several allowed). ``died_of_icans``: death due to ICANS with no other
    principal cause (grade 5).
    Returns an ``AstctGrade`` whose drivers are among "death", "ice", "capd", "consciousness", "seizure",
    "motor", "raised_icp".
    """
    inputs = _Inputs("ASTCT ICANS grading")
    ice = inputs.count("ice_score", ice_score, 0, ICE_MAX, "ICE score")
    capd = inputs.count("capd_score", capd_score, 0, CAPD_MAX, "CAPD score")
    awake = inputs.choice("consciousness", consciousness if consciousness is not None else "alert", CONSCIOUSNESS)
    fit = inputs.choice("seizure", seizure if seizure is not None else "none", SEIZURE)
    motor = inputs.flag("motor_weakness", motor_weakness)
    if raised_icp is None:
        raised_icp = ()
    findings = [raised_icp] if isinstance(raised_icp, str) else list(raised_icp)
    icp_codes = [inputs.choice("raised_icp", f, RAISED_ICP) for f in findings]
    died = inputs.flag("died_of_icans", died_of_icans)

    if ice_score is not None and capd_score is not None:
        inputs.fail("capd_score", capd_score, "one-encephalopathy-score",
                    "give the ICE score (from 12 years) or the CAPD score (children under 12), not both")
    unarousable = awake == "unarousable"
    if unarousable and ice is not None and ice > 0:
        inputs.fail("ice_score", ice, "unarousable-cannot-score",
                    "an unarousable patient cannot perform ICE: leave the score empty (or 0)")
    if unarousable and capd is not None:
        inputs.fail("capd_score", capd, "unarousable-cannot-score",
                    "an unarousable child cannot be assessed with CAPD: leave the score empty")
    if awake is not None and not unarousable and ice_score is None and capd_score is None and not died:
        inputs.fail("ice_score", None, "encephalopathy-score-required",
                    "give the ICE score (0-10; CAPD for a child under 12): it can be missing only when the "
                    "patient is unarousable")
    inputs.raise_if_failed()

    domains: dict[str, int] = {}
    texts: dict[str, str] = {}
    if capd is not None:
        domains["capd"] = 3 if capd >= 9 else (1 if capd >= 1 else 0)
        texts["capd"] = f"CAPD score {capd}"
    elif unarousable and ice is None:
        domains["ice"], texts["ice"] = 4, "unable to perform ICE (unarousable)"
    elif ice is not None:
        if unarousable:  # ice == 0, the only score an unarousable patient can have
            domains["ice"], texts["ice"] = 4, "ICE score 0, unarousable"
        else:
            domains["ice"] = 0 if ice == ICE_MAX else 1 if ice >= 7 else 2 if ice >= 3 else 3
            texts["ice"] = f"ICE score {ice}" + (" while awake" if ice == 0 else "")
    label, domains["consciousness"] = CONSCIOUSNESS[awake or "alert"]
    texts["consciousness"] = f"consciousness: {label}"
    label, domains["seizure"] = SEIZURE[fit or "none"]
    texts["seizure"] = label
    domains["motor"] = 4 if motor else 0
    texts["motor"] = "deep focal motor weakness" if motor else "no focal motor weakness"
    icp = [c for c in icp_codes if c is not None]
    domains["raised_icp"] = max((RAISED_ICP[c][1] for c in icp), default=0)
    texts["raised_icp"] = ", ".join(RAISED_ICP[c][0] for c in icp) or "no raised ICP or cerebral oedema"
    if died:
        domains["death"], texts["death"] = 5, "death due to ICANS"
    return _result("ICANS", domains, texts)
