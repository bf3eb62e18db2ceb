"""The report's section on dose-escalation decisions: each decision beside the design's recommendation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from earlyphase.report.trace import TraceTable, text

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive.datasets import AnalysisDatasets

SEAL_WORDS = {"sealed": "sealed by {by} ({at} UTC)", "unsealed": "NOT SEALED",
              "broken": "SEAL BROKEN: changed after sealing"}


def decisions_table(ds: "AnalysisDatasets", identified: bool = True) -> TraceTable | None:
    """One row per decision (None when the study allocates by a fixed plan and has no decisions).

    A de-identified report withholds the calendar dates and who decided or sealed, and scrubs the free
    text (rationale, the recommendation's line), as the rest of the report does."""
    from earlyphase.derive.decisions import decision_listing

    listing = decision_listing(ds.source)
    if listing.empty and ds.study.dose_finding.design == "fixed-allocation":
        return None
    if identified:
        def free(value):
            return value
    else:
        from earlyphase.privacy import scrub_text

        def free(value):
            return scrub_text(value).text if value else value
    rows = []
    for r in listing.itertuples(index=False):
        level = "" if r.GROUP is None else f"{r.LEVEL} ({r.GROUP})"
        if identified:
            when, who = f"{r.DECDT} (no. {r.DECNUM})", r.DECIDEDBY
            seal = SEAL_WORDS[r.SEAL].format(by=r.SIGNEDBY, at=(r.SIGNEDAT or "")[:16].replace("T", " "))
        else:
            when, who = f"no. {r.DECNUM} (date withheld)", "(withheld)"
            seal = SEAL_WORDS[r.SEAL].split(" by ")[0]
        rows.append([text(when), text(r.DECISION), text(level), text(r.CHANGE), text(who), text(free(r.RATIONALE)),
                     text(free(r.RECOMMENDATION) or "none recorded"), text(seal)])
    notes = [f"Design: {ds.study.dose_finding.design} (study file). Level 1 is open by the protocol; a sealed "
             "decision opens or closes the levels above it, and allocation is refused above the highest open level.",
             "The seal binds a hash of the decision's content to the investigator and the time; it is checked "
             "again for this report."]
    if not rows:
        notes.insert(0, "No dose-escalation decision has been recorded.")
    return TraceTable("dose_decisions", "Dose-escalation decisions",
                      ["Date (no.)", "Decision", "Level", "Opens / closes", "Decided by", "Rationale",
                       "Design's recommendation", "Seal"], rows, notes=notes)
