"""What the dose-escalation meeting looks at, as data: per level, the patients treated, DLT-evaluable, with
a DLT, and still inside their DLT window (with the window's dates); the study design's recommendation with
its reason and rule; the decisions recorded so far and the levels they leave open.

``escalation_view(engine, as_of)`` gathers it (design.live's counts and recommendation, capture's
decisions) as JSON-ready data; the web page shows it and a meeting pack freezes it
(``meeting_pack_files``: the content's SHA-256, the pack as HTML with the hash printed on it, and its PDF).
Every patient row carries its site, so a door can hide another site's subject identifiers.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from earlyphase.records.audit import canonical_json

PACK_TEMPLATE = "escalation_pack.html"


class _Everything:
    def __contains__(self, item: object) -> bool:
        return True


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def escalation_view(engine: Engine, as_of: date) -> dict[str, Any]:
    """The dose-escalation page's content on ``as_of`` (JSON-ready; see the module docstring)."""
    from earlyphase.capture.decisions import dose_decisions
    from earlyphase.derive.roster import subject_roster
    from earlyphase.design.live import counts_from_database
    from earlyphase.design.live_recommendation import recommend, study_design
    from earlyphase.errors import InputError
    from earlyphase.records import read_session

    counts = counts_from_database(_url(engine), as_of=as_of)
    sites = {row.subject_id: row.site for row in subject_roster(engine, _Everything())}
    levels = []
    for i, code in enumerate(counts.groups):
        at = [p for p in counts.patients if p.level == i + 1]
        levels.append({"level": i + 1, "group": code,
                       "treated": sum(p.first_dose is not None for p in at),
                       "evaluable": sum(p.evaluable for p in at),
                       "dlt": sum(p.status == "dlt" for p in at),
                       "in_window": sum(p.status == "pending" for p in at),
                       "open": counts.open_highest is None or i + 1 <= counts.open_highest})
    window = [{"subject_id": p.subject_id, "site": sites.get(p.subject_id), "level": p.level, "group": p.group,
               "first_dose": p.first_dose.isoformat() if p.first_dose else None,
               "window_end": p.window_end.isoformat() if p.window_end else None,
               "followed": p.follow_up_fraction, "exposure": p.exposure, "note": p.note}
              for p in counts.patients if p.status == "pending"]
    try:
        chosen, choice = study_design(counts.protocol)
        rec = recommend(counts, chosen, choice)
        recommendation = {"design": choice.design, "choice": choice.summary(), "decision": rec.decision.decision,
                          "next_level": rec.decision.next_level, "reason": rec.decision.reason,
                          "requires_decision": bool(rec.decision.details.get("requires_decision")),
                          "rule_kind": rec.rule.get("kind"), "rule_text": rec.rule.get("text") or "",
                          "record": _recommendation_record(rec, choice, as_of)}
    except InputError as exc:  # a fixed-allocation study has no design deciding
        recommendation = {"design": None, "none": exc.problems[0].message if exc.problems else str(exc)}
    with read_session(engine) as session:
        decisions = [d.to_dict() for d in dose_decisions(session, counts.protocol)]
    return {"study_id": counts.study_id, "as_of": as_of.isoformat(), "dlt_window_days": counts.dlt_window_days,
            "evaluable_rule": f"a DLT inside the window, or the window completed with at least "
                              f"{counts.min_exposure} administration(s) inside it",
            "levels": levels, "in_window": window, "open_levels": counts.open_note,
            "recommendation": recommendation, "decisions": decisions}


def _recommendation_record(rec, choice, as_of: date) -> dict[str, Any]:
    """The recommendation as a decision keeps it (the same shape ``design decide`` stores)."""
    out = rec.decision.to_dict()
    out["design_choice"] = choice.to_dict()
    out["counts"] = {k: v for k, v in rec.counts.to_dict().items()
                     if k in ("as_of", "n", "dlt", "pending", "current_level")}
    nxt = rec.decision.next_level
    word = rec.decision.decision
    out["summary_line"] = (f"{choice.design} (study file), as of {as_of}: {word}"
                           + (f" to level {nxt}" if nxt is not None and word not in ("stay", "stop") else "")
                           + (f" at level {nxt}" if nxt is not None and word == "stay" else "")
                           + f"; {rec.decision.reason}")
    return out


def content_sha256(content: dict[str, Any]) -> str:
    """SHA-256 of the content's canonical JSON (what a meeting pack prints and stores)."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MeetingPackFiles:
    content: dict[str, Any]
    content_sha256: str
    html: str
    pdf: bytes | None


def render_pack_html(content: dict[str, Any], sha: str, pack_id: int | None = None) -> str:
    """The meeting pack as a standalone HTML page, the content's SHA-256 printed on it."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                      autoescape=select_autoescape(["html"]))
    return env.get_template(PACK_TEMPLATE).render(view=content, sha=sha, pack_id=pack_id)


def meeting_pack_files(content: dict[str, Any], *, pdf: bool = True) -> MeetingPackFiles:
    """Freeze ``content``: its hash, the HTML with the hash printed, and the PDF printed from that HTML
    by headless Chromium (``report.pdf``; ``pdf=False`` skips it)."""
    from earlyphase.report.pdf import html_to_pdf

    sha = content_sha256(content)
    html = render_pack_html(content, sha)
    body = None
    if pdf:
        with tempfile.TemporaryDirectory(prefix="earlyphase-pack-") as folder:
            page = Path(folder) / "pack.html"
            page.write_text(html, encoding="utf-8")
            body = html_to_pdf(page, Path(folder) / "pack.pdf").read_bytes()
    return MeetingPackFiles(content, sha, html, body)
