"""The live next-dose recommendation: the study's own design, its parameters, the counts and the rule.

``study_design`` builds the design the study file names (``dose_finding.design`` with its
``parameters``); another design is used only when the caller asks for it by name (an override), and
the result says so. ``recommend`` puts the counts, the decision and what the rule looked like together:
the decision table for interval designs (BOIN, mTPI-2, i3+3), the 3+3 table, or CRM's posterior.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from earlyphase.design._common import Decision
from earlyphase.design.base import Design
from earlyphase.errors import InputError

STUDY_FILE = "study file"
OVERRIDE = "override"


@dataclass(frozen=True)
class DesignChoice:
    """Which design decides, and where it and its parameters come from.

    ``source`` is "study file" or "override"; ``study_design`` is what the study file names;
    ``parameters`` are the options the design was built with (target included);
    ``overridden`` maps each option that differs from the study file to (study file value, value used).
    """

    design: str
    source: str
    study_design: str
    parameters: dict[str, Any]
    overridden: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    tite: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design, "source": self.source, "study_design": self.study_design,
                "parameters": dict(self.parameters), "tite": self.tite,
                "overridden": {k: {"study_file": a, "used": b} for k, (a, b) in self.overridden.items()}}

    def summary(self) -> str:
        params = ", ".join(f"{k} {_text(v)}" for k, v in self.parameters.items()) or "none"
        pending = "weighted by follow-up (TITE)" if self.tite else "waited for"
        if self.source == STUDY_FILE:
            head = f"Design: {self.design}, from the study file (dose_finding.design)"
        else:
            head = (f"Design: {self.design}, OVERRIDE given on the command line; the study file's design is "
                    f"{self.study_design}: this is not the protocol's recommendation")
        lines = [head, f"Parameters: {params}; patients inside the DLT window are {pending}"]
        for k, (a, b) in self.overridden.items():
            lines.append(f"  {k}: {_text(b)} used instead of the study file's {_text(a)}")
        return "\n".join(lines)


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "default" if value is None else str(value)


def study_design(study: Any, *, override: Design | None = None, override_tite: bool | None = None) -> tuple[Design, DesignChoice]:
    """The design that decides for ``study`` (a protocol ``Study``), and how it was chosen.

    Without ``override`` it is the study file's ``dose_finding.design`` built with its ``parameters``
    and ``target_dlt_rate``. ``override`` (a Design built by the caller) replaces it and is marked as
    an override; ``override_tite`` replaces the protocol's choice of waiting for or weighting pending
    patients. A study allocated by a fixed plan has no design: that is an InputError naming the way out.
    """
    from earlyphase.design.registry import make_design

    df = study.dose_finding
    protocol_options: dict[str, Any] = {"target": float(df.target_dlt_rate), **df.parameters.given()}
    if override is None:
        if df.design == "fixed-allocation":
            raise InputError.single(
                "dose_finding.design", df.design, "dose-finding-design",
                f"study {study.study_id} allocates patients to its groups by a fixed plan; no design recommends a "
                "dose. To see what a design would recommend, name one (e.g. --design boin); the output marks it as "
                "an override.")
        if override_tite:
            raise InputError.single("tite", True, "override", "the study file decides whether pending patients are "
                                    "weighted (dose_finding.parameters.tite); name a design to override it")
        target = None if df.design == "3+3" else protocol_options["target"]
        options = {k: v for k, v in protocol_options.items() if k != "target"}
        if df.design == "pocrm":  # regimens only partially ordered: the study file's known pairs
            options["partial_order"] = study.toxicity_pairs()
        design = make_design(df.design, target, **options)
        used = ({"target": target} if target is not None else {}) | options
        return design, DesignChoice(design=design.name, source=STUDY_FILE, study_design=df.design,
                                    parameters=used, tite=bool(df.parameters.tite))
    used = _design_options(override)
    overridden = {k: (protocol_options.get(k), v) for k, v in used.items()
                  if k in protocol_options and _differs(protocol_options[k], v)}
    tite = bool(df.parameters.tite) if override_tite is None else bool(override_tite)
    return override, DesignChoice(design=override.name, source=OVERRIDE, study_design=df.design,
                                  parameters=used, overridden=overridden, tite=tite)


def _design_options(design: Design) -> dict[str, Any]:
    """The fields of a design dataclass as plain values (the options it was built with)."""
    from dataclasses import fields, is_dataclass

    if not is_dataclass(design):
        return {}
    out: dict[str, Any] = {}
    for f in fields(design):
        if f.name.startswith("_"):
            continue
        value = getattr(design, f.name)
        if isinstance(value, (int, float, str, bool)) or value is None:
            out[f.name] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
            out[f.name] = [float(v) for v in value]
    return out


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) != len(b) or any(abs(float(x) - float(y)) > 1e-12 for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) > 1e-12
        except (TypeError, ValueError):
            return True
    return a != b


@dataclass(frozen=True)
class LiveRecommendation:
    """The next-dose recommendation for a live trial: the counts it rests on, the design and how it was
    chosen, its decision with the reason, and the rule itself (``rule``: a decision table, or CRM's
    posterior)."""

    counts: Any  # earlyphase.design.live.LiveCounts
    choice: DesignChoice
    decision: Decision
    rule: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out = self.decision.to_dict()
        out["design_choice"] = self.choice.to_dict()
        out["rule"] = self.rule
        out["counts"] = self.counts.to_dict()
        return out

    def summary(self) -> str:
        parts = [self.counts.summary(), self.choice.summary(), self.decision.summary()]
        text = self.rule.get("text")
        if text:
            parts.append(text)
        return "\n\n".join(parts)

    def to_frame(self):
        return self.decision.to_frame()

    def __str__(self) -> str:
        return self.summary()


def rule_of(design: Design, decision: Decision, n: tuple[int, ...]) -> dict[str, Any]:
    """What the rule looks like where the trial stands: the decision table of an interval design or of
    3+3 (n up to the largest count at a level, at least 12), or the posterior of a model-based design."""
    from earlyphase.design.interval import IntervalDesign
    from earlyphase.design.three_plus_three import ThreePlusThreeDesign

    max_n = max(12, max(n) if n else 0)
    if isinstance(design, IntervalDesign):
        from earlyphase.design.boin import boundary_rows

        rows = boundary_rows(design, max_n)
        return {"kind": "decision table", "table": rows, "text": _boundaries_text(design.name, rows)}
    if isinstance(design, ThreePlusThreeDesign):
        from earlyphase.design.table import decision_table

        table = decision_table(design, 6)
        return {"kind": "decision table", "table": table.rows(), "text": table.summary()}
    posterior = {k: v for k, v in decision.details.items() if k in ("ptox", "beta_mean", "beta_sd", "p_overdose_level1",
                                                                       "model_recommended_level", "effective_n")}
    skeleton = getattr(design, "skeleton", None)
    if skeleton is not None:
        posterior["skeleton"] = [float(v) for v in skeleton]
    lines = ["Posterior (model-based design):"]
    if "ptox" in posterior:
        lines.append("  level            " + "".join(f"{i + 1:>8}" for i in range(len(posterior["ptox"]))))
        if skeleton is not None:
            lines.append("  prior (skeleton) " + "".join(f"{v:>8.3f}" for v in posterior["skeleton"]))
        lines.append("  posterior mean   " + "".join(f"{v:>8.3f}" for v in posterior["ptox"]))
    return {"kind": "posterior", **posterior, "text": "\n".join(lines)}


def _boundaries_text(name: str, rows: list[dict[str, Any]]) -> str:
    def f(v):
        return "NA" if v is None else str(v)

    w = max(3, len(str(rows[-1]["n"])) + 1)
    return "\n".join([
        f"Decision table ({name}):",
        "Number of patients treated  " + "".join(f"{r['n']:>{w}}" for r in rows),
        "Escalate if # of DLT <=     " + "".join(f"{f(r['escalate_if_at_most']):>{w}}" for r in rows),
        "De-escalate if # of DLT >=  " + "".join(f"{f(r['deescalate_if_at_least']):>{w}}" for r in rows),
        "Eliminate if # of DLT >=    " + "".join(f"{f(r['eliminate_if_at_least']):>{w}}" for r in rows),
    ])


def recommend(counts: Any, design: Design, choice: DesignChoice) -> LiveRecommendation:
    """The decision of ``design`` on the live ``counts`` (waiting for pending patients or weighting them,
    as ``choice.tite`` says)."""
    tite = choice.tite and design.supports_tite
    decision = design.decide(list(counts.n), list(counts.dlt), counts.current_level,
                             last_cohort_dlt=counts.last_cohort_dlt, pending=[list(p) for p in counts.pending],
                             tite=tite)
    rule = rule_of(design, decision, counts.n)
    decision = within_open_levels(decision, counts.open_highest, counts.open_by, counts.open_note)
    return LiveRecommendation(counts=counts, choice=choice, decision=decision, rule=rule)


def within_open_levels(decision: Decision, open_highest: int | None, open_by: int | None = None,
                       note: str = "") -> Decision:
    """The design's decision limited by the sealed dose-escalation decisions: a level above the open ones
    is recommended only as the one next level up, to be opened by a new sealed decision
    (``details["requires_decision"]``); anything higher is brought down to the highest open level; after a
    stop decision the recommendation is to stop. ``open_highest`` None (fixed allocation) leaves it as is."""
    import dataclasses

    if open_highest is None or decision.next_level is None:
        return decision
    by = f"decision {open_by}" if open_by is not None else "the protocol"
    if open_highest == 0:
        return dataclasses.replace(decision, decision="stop", next_level=None, mtd=None,
                                   reason=f"dose finding was stopped ({note or by}); the design would have said: "
                                          f"{decision.decision} ({decision.reason})")
    nxt = decision.next_level
    if nxt <= open_highest:
        return dataclasses.replace(decision, details={**decision.details, "requires_decision": False})
    if decision.decision == "escalate" and nxt == open_highest + 1:
        return dataclasses.replace(decision, details={**decision.details, "requires_decision": True},
                                   reason=f"{decision.reason}; level {nxt} is not open yet: a sealed dose-escalation "
                                          f"decision opens it (open now: {note or by})")
    limited = open_highest
    word = "stay" if limited == decision.current_level else ("de-escalate" if limited < decision.current_level
                                                              else "escalate")
    return dataclasses.replace(
        decision, decision=word, next_level=limited, details={**decision.details, "requires_decision": False},
        reason=f"{decision.reason}; level {nxt} is not open ({note or by}), so level {limited}, the highest open one")
