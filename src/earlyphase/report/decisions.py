"""The report's section on dose-escalation decisions: each decision beside the design's recommendation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from earlyphase.report.trace import TraceTable, text

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive.datasets import AnalysisDatasets

SEAL_WORDS = {"sealed": "sealed by {by} ({at} UTC)", "unsealed": "NOT SEALED",
              "broken": "SEAL BROKEN: changed after sealing"}


def decisions_table(ds: "AnalysisDatasets") -> TraceTable | None:
    """One row per decision (None when the study allocates by a fixed plan and has no decisions)."""
    from earlyphase.derive.decisions import decision_listing

    listing = decision_listing(ds.source)
    if listing.empty and ds.study.dose_finding.design == "fixed-allocation":
        return None
    rows = []
    for r in listing.itertuples(index=False):
        level = "" if r.GROUP is None else f"{r.LEVEL} ({r.GROUP})"
        seal = SEAL_WORDS[r.SEAL].format(by=r.SIGNEDBY, at=(r.SIGNEDAT or "")[:16].replace("T", " "))
        rows.append([text(f"{r.DECDT} (no. {r.DECNUM})"), text(r.DECISION), text(level), text(r.CHANGE),
                     text(r.DECIDEDBY), text(r.RATIONALE), text(r.RECOMMENDATION or "none recorded"), text(seal)])
    notes = [f"Design: {ds.study.dose_finding.design} (study file). Level 1 is open by the protocol; a sealed "
             "decision opens or closes the levels above it, and allocation is refused above the highest open level.",
             "The seal binds a hash of the decision's content to the investigator and the time; it is checked "
             "again for this report."]
    if not rows:
        notes.insert(0, "No dose-escalation decision has been recorded.")
    return TraceTable("dose_decisions", "Dose-escalation decisions",
                      ["Date (no.)", "Decision", "Level", "Opens / closes", "Decided by", "Rationale",
                       "Design's recommendation", "Seal"], rows, notes=notes)
