"""Dose-escalation decisions: recorded, sealed by the investigator, and the levels they leave open.

The API other doors (CLI, web) build on:

* ``record_dose_decision(ctx, decision_date, decision, level, rationale, decided_by, ...)`` records a
  decision (escalate / stay / de-escalate / expand / stop) beside the design's recommendation;
* ``sign_dose_decision(ctx, decision_id, reauthentication)`` seals it: only the investigator the decision
  names may, holding the investigator's role and having just re-entered password and TOTP code
  (``access.reauthenticate``, checked here by ``capture.signing``); the seal binds a hash of the
  decision's content to the signer and the time;
* ``dose_decisions(session)`` lists them as ``DecisionView`` objects (seal checked), and
  ``open_levels(session, study, on=date)`` says which levels sealed decisions leave open on a date
  (level 1 is open by the protocol). Allocation uses it to refuse a level that is not open.

Only sealed decisions open or close levels. A new decision waits until the previous one is sealed, so
the decisions form one chain. A sealed decision is never changed; a later decision supersedes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from sqlalchemy import select

from earlyphase.capture.checks import Checks
from earlyphase.capture.common import insert, not_future
from earlyphase.capture.context import CaptureContext, ensure_user
from earlyphase.capture.signing import check_reauthentication, spent_reason
from earlyphase.records.audit import canonical_json, row_values, utc_now, write_audit
from earlyphase.records.seal import content_hash, seal_status, signature_hash
from earlyphase.records.tables import DoseDecision

DECISIONS = ("escalate", "stay", "de-escalate", "expand", "stop")


@dataclass(frozen=True)
class OpenLevels:
    """Which levels sealed decisions leave open on a date: levels 1..``highest`` (0 after a stop).

    ``by`` is the sealed decision that set it (None: level 1, open by the protocol); ``stopped`` is True
    after a stop decision; ``highest_ever`` is the highest level any decision opened.
    """

    highest: int
    by: "DecisionView | None"
    stopped: bool
    highest_ever: int

    def describe(self, codes: list[str]) -> str:
        if self.by is None:
            return f"only level 1 (group {codes[0]}) is open, by the protocol; no sealed decision has opened another"
        if self.stopped:
            return f"decision {self.by.id} of {self.by.decision_date} stopped dose finding"
        return (f"decision {self.by.id} of {self.by.decision_date} ({self.by.decision}) leaves levels 1 to "
                f"{self.highest} open (up to group {codes[self.highest - 1]})")


@dataclass(frozen=True)
class DecisionView:
    """A recorded decision as the doors show it, with its seal checked (``seal``: sealed / unsealed /
    broken, broken when the content no longer matches the hash the investigator sealed)."""

    id: int
    decision_date: date
    decision: str
    group: str | None
    level: int | None
    level_opened: str | None
    level_closed: str | None
    rationale: str
    decided_by: str
    investigator: str
    recommendation_text: str | None
    recommendation: dict[str, Any] | None
    signed_by: str | None
    signed_at: str | None
    seal: str

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["decision_date"] = self.decision_date.isoformat()
        return out


def _view(record: DoseDecision, codes: list[str]) -> DecisionView:
    seal = seal_status(row_values(record))
    return DecisionView(
        id=record.id, decision_date=record.decision_date, decision=record.decision, group=record.group_code,
        level=codes.index(record.group_code) + 1 if record.group_code in codes else None,
        level_opened=record.level_opened, level_closed=record.level_closed, rationale=record.rationale,
        decided_by=record.decided_by, investigator=record.investigator,
        recommendation_text=record.recommendation_text,
        recommendation=json.loads(record.recommendation) if record.recommendation else None,
        signed_by=record.signed_by, signed_at=record.signed_at, seal=seal)


def dose_decisions(session, study) -> list[DecisionView]:
    """Every recorded decision in order (date, then entry), with its seal checked."""
    rows = session.execute(select(DoseDecision).order_by(DoseDecision.decision_date, DoseDecision.id)).scalars()
    return [_view(r, study.group_codes) for r in rows]


def fold_decisions(decisions: list[DecisionView], codes: list[str], on: date | None = None) -> OpenLevels:
    """The open levels after the sealed decisions dated up to ``on`` (all when None), in order."""
    state = OpenLevels(highest=1, by=None, stopped=False, highest_ever=1)
    for d in decisions:
        if d.seal != "sealed" or (on is not None and d.decision_date > on):
            continue
        highest = state.highest
        if d.level_opened is not None:
            highest = codes.index(d.level_opened) + 1
        elif d.level_closed is not None:
            highest = codes.index(d.level_closed)  # the closed level and every one above it
        state = OpenLevels(highest=highest, by=d, stopped=d.decision == "stop",
                           highest_ever=max(state.highest_ever, highest))
    return state


def open_levels(session, study, on: date | None = None) -> OpenLevels:
    """Which levels sealed decisions leave open on ``on`` (see ``OpenLevels``)."""
    return fold_decisions(dose_decisions(session, study), study.group_codes, on)


def _level(checks: Checks, codes: list[str], value: Any, required: bool) -> int | None:
    code = checks.text("level", value, required=required, max_length=10)
    if code is None:
        return None
    found = [c for c in codes if c.casefold() == code.casefold()]
    if not found:
        checks.fail("level", code, "group-known", f"level {code} is not a group of this study (groups: {', '.join(codes)})")
        return None
    return codes.index(found[0]) + 1


def validate_dose_decision(ctx: CaptureContext, checks: Checks, v: dict[str, Any]) -> dict[str, Any]:
    """Check a decision against the chain of sealed decisions; return the column values."""
    codes = ctx.study.group_codes
    when = checks.day("decision_date", v.get("decision_date"))
    not_future(ctx, checks, "decision_date", when)
    word = checks.choice("decision", v.get("decision"), DECISIONS)
    level = _level(checks, codes, v.get("level"), required=word != "stop")
    rationale = checks.text("rationale", v.get("rationale"))
    decided_by = checks.text("decided_by", v.get("decided_by"), max_length=200)
    investigator = checks.text("investigator", v.get("investigator"), max_length=80)
    recommendation = v.get("recommendation")
    rec_json = rec_text = None
    if recommendation is not None:
        if isinstance(recommendation, Mapping):
            rec_json = canonical_json(dict(recommendation))
            rec_text = str(recommendation.get("summary_line") or _one_line(recommendation))
        elif isinstance(recommendation, str) and recommendation.strip():
            rec_text = recommendation.strip()
        else:
            checks.fail("recommendation", type(recommendation).__name__, "recommendation",
                        "give the design's recommendation as its JSON object or a line of text")
    decisions = dose_decisions(ctx.session, ctx.study)
    unsealed = [d for d in decisions if d.seal == "unsealed"]
    if unsealed:
        checks.fail("decision", word, "previous-sealed",
                    f"decision {unsealed[0].id} of {unsealed[0].decision_date} is not sealed yet; the investigator "
                    f"({unsealed[0].investigator}) seals it before the next decision is recorded")
    last = max((d.decision_date for d in decisions), default=None)
    if when is not None and last is not None and when < last:
        checks.fail("decision_date", when, "decisions-in-order",
                    f"the last decision is dated {last}; a decision cannot be dated before it")
    opened = closed = None
    if word is not None and (level is not None or word == "stop"):
        state = fold_decisions(decisions, codes)
        where = state.describe(codes)
        if state.stopped and word != "expand":
            checks.fail("decision", word, "after-stop", f"{where}; after a stop only an expansion of a level "
                        "already opened can be decided")
        elif word == "escalate":
            if level != state.highest + 1:
                checks.fail("level", codes[level - 1], "one-level-up",
                            f"escalation opens the next level only: {where}, so the level to open is "
                            + (f"{state.highest + 1} (group {codes[state.highest]})" if state.highest < len(codes)
                               else "none (the highest level is open)"))
            opened = codes[level - 1]
        elif word == "de-escalate":
            if level >= state.highest:
                checks.fail("level", codes[level - 1], "level-below",
                            f"de-escalation goes to a level below the highest open one: {where}")
            elif level >= 1:
                closed = codes[level]  # the level above the one returned to, and all above it
        elif word == "stay":
            if level > state.highest:
                checks.fail("level", codes[level - 1], "level-open", f"staying at a level needs it open: {where}")
        elif word == "expand":
            if level > state.highest_ever:
                checks.fail("level", codes[level - 1], "level-opened-before",
                            f"only a level that a decision opened can be expanded: {where}")
            opened = codes[level - 1]
        elif word == "stop":
            closed = codes[0]
    return {"decision_date": when, "decision": word, "group_code": codes[level - 1] if level else None,
            "level_opened": opened, "level_closed": closed, "rationale": rationale, "decided_by": decided_by,
            "investigator": investigator, "recommendation": rec_json, "recommendation_text": rec_text}


def _one_line(rec: Mapping[str, Any]) -> str:
    design = rec.get("design", "design")
    nxt = rec.get("next_level")
    return f"{design}: {rec.get('decision')}" + (f" (next level {nxt})" if nxt is not None else "") + (
        f"; {rec['reason']}" if rec.get("reason") else "")


def record_dose_decision(ctx: CaptureContext, decision_date: date | str, decision: str, level: str | None,
                         rationale: str, decided_by: str, *, investigator: str | None = None,
                         recommendation: Mapping[str, Any] | str | None = None, seal: bool = False,
                         reauthentication=None) -> DoseDecision:
    """Record a dose-escalation decision (unsealed until ``sign_dose_decision``).

    ``level`` is the group code the decision concerns (the level escalated to, stayed at, returned to or
    expanded; none for a stop). ``decided_by`` names who decided (a person or the safety committee);
    ``investigator`` is the user who must seal it (default: the acting user). ``recommendation`` is the
    design's recommendation the decision was made beside: the JSON of ``design next-dose`` (a mapping)
    or a line of text. Escalation opens exactly the next level above the highest open one; de-escalation
    returns to a lower level and closes those above; stay needs an open level; expand reopens a level a
    decision opened before (also after a stop); stop closes every level. ``seal=True`` seals it at once
    (``sign_dose_decision``, with ``reauthentication``): only when the acting user is the investigator.
    """
    checks = Checks("record dose decision")
    values = validate_dose_decision(ctx, checks, dict(
        decision_date=decision_date, decision=decision, level=level, rationale=rationale, decided_by=decided_by,
        investigator=investigator if investigator is not None else ctx.username, recommendation=recommendation))
    checks.raise_if_failed()
    ensure_user(ctx)
    values["protocol_version"] = ctx.protocol_version
    record = insert(ctx, DoseDecision(**values, content_hash=content_hash(values)), None)
    return sign_dose_decision(ctx, record.id, reauthentication) if seal else record


def sign_dose_decision(ctx: CaptureContext, decision_id: int, reauthentication=None) -> DoseDecision:
    """Seal a recorded decision: only the investigator it names may, once, holding the investigator's role
    and re-authenticated (``reauthentication`` from ``access.reauthenticate``, at most five minutes old and
    used once; a synthetic study is sealed without). The seal binds the hash of the decision's content to
    the signer and the UTC time (audited, naming the re-authentication)."""
    checks = Checks(f"seal dose decision {decision_id}")
    event_id = check_reauthentication(ctx, checks, reauthentication, "decide_escalation", DoseDecision.__tablename__)
    number = checks.integer("decision_id", decision_id, low=1)
    record = ctx.session.get(DoseDecision, number) if number is not None else None
    if number is not None and record is None:
        checks.fail("decision_id", number, "decision-known", f"there is no dose decision {number}")
    if record is not None:
        if record.signed_by is not None:
            checks.fail("decision_id", number, "not-sealed", f"decision {number} was sealed by {record.signed_by} "
                        f"at {record.signed_at}; a sealed decision is final (record a new decision instead)")
        if ctx.username != record.investigator:
            checks.fail("username", ctx.username, "investigator-signs",
                        f"decision {number} names {record.investigator} as the investigator who seals it; "
                        f"{ctx.username} cannot")
        if content_hash(row_values(record)) != record.content_hash:
            checks.fail("decision_id", number, "content-unchanged",
                        f"decision {number} no longer matches the content recorded; it cannot be sealed")
    checks.raise_if_failed()
    ensure_user(ctx)
    old = row_values(record)
    record.signed_by = ctx.username
    record.signed_at = utc_now()
    record.signature_hash = signature_hash(record.content_hash, record.signed_by, record.signed_at)
    ctx.session.flush()
    write_audit(ctx.session, "update", record, username=ctx.username,
                reason=spent_reason(event_id) if event_id is not None else "sealed by the investigator (synthetic study)",
                old_values=old)
    return record
