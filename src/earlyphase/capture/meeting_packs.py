"""Meeting packs: the dose-escalation page frozen for a committee meeting (content, its SHA-256, HTML, PDF).

``freeze_meeting_pack(ctx, as_of, content, content_sha256, html, pdf)`` stores a pack once (audited); the
hash is checked against the content, and the HTML must print it, so the pack people read names the
content it froze. ``attach_meeting_pack(ctx, pack_id, decision_id)`` links a pack to the decision it was
reviewed for (once). ``meeting_pack(session, pack_id)`` and ``list_meeting_packs(session)`` read them back with its hashes rechecked.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from earlyphase.capture.checks import Checks
from earlyphase.capture.common import insert, not_future
from earlyphase.capture.context import CaptureContext, ensure_user
from earlyphase.records.audit import canonical_json, row_values, utc_now, write_audit
from earlyphase.records.tables import DoseDecision, MeetingPack

MAX_PACK_BYTES = 20_000_000  # a pack is a page of tables: far below this


@dataclass(frozen=True)
class PackView:
    """A stored pack as read back: ``intact`` is False when content, HTML or PDF no longer match their hashes."""

    id: int
    as_of: date
    created_at: str
    created_by: str
    content: dict[str, Any]
    content_sha256: str
    html: str
    pdf: bytes | None
    pdf_sha256: str | None
    decision_id: int | None
    intact: bool


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def freeze_meeting_pack(ctx: CaptureContext, as_of: date | str, content: dict[str, Any], content_sha256: str,
                        html: str, pdf: bytes | None) -> MeetingPack:
    """Store a meeting pack (audited); ``content_sha256`` must be the SHA-256 of ``content``'s canonical JSON
    and ``html`` must print it."""
    checks = Checks("freeze meeting pack")
    when = checks.day("as_of", as_of)
    not_future(ctx, checks, "as_of", when)
    text = None
    if not isinstance(content, dict):
        checks.fail("content", type(content).__name__, "content", "a meeting pack's content is a JSON object")
    else:
        try:
            text = canonical_json(content)
        except (TypeError, ValueError) as exc:
            checks.fail("content", None, "content", f"a meeting pack's content must be JSON data: {exc}")
    if text is not None and _sha(text.encode("utf-8")) != content_sha256:
        checks.fail("content_sha256", content_sha256, "content-hash", "the hash is not the SHA-256 of the content")
    if not isinstance(html, str) or not isinstance(content_sha256, str) or content_sha256 not in html:
        checks.fail("html", None, "hash-printed", "the pack's HTML must print the content's SHA-256")
    if pdf is not None and (not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF")):
        checks.fail("pdf", None, "pdf", "the pack's PDF is not a PDF file")
    size = len(text or "") + len(html if isinstance(html, str) else "") + len(pdf or b"")
    if size > MAX_PACK_BYTES:
        checks.fail("content", size, "size", f"a meeting pack holds at most {MAX_PACK_BYTES} bytes")
    checks.raise_if_failed()
    ensure_user(ctx)
    record = MeetingPack(as_of=when, created_at=utc_now(), created_by=ctx.username, content=text,
                         content_sha256=content_sha256, html=html,
                         pdf_base64=base64.b64encode(pdf).decode("ascii") if pdf is not None else None,
                         pdf_sha256=_sha(pdf) if pdf is not None else None)
    return insert(ctx, record, None, reason=f"meeting pack frozen, content SHA-256 {content_sha256}")


def attach_meeting_pack(ctx: CaptureContext, pack_id: int, decision_id: int) -> MeetingPack:
    """Name the decision a pack was reviewed for (once; audited)."""
    checks = Checks(f"attach meeting pack {pack_id}")
    number = checks.integer("pack", pack_id, low=1)
    decision = checks.integer("decision_id", decision_id, low=1)
    record = ctx.session.get(MeetingPack, number) if number is not None else None
    if number is not None and record is None:
        checks.fail("pack", number, "pack-known", f"there is no meeting pack {number}")
    if decision is not None and ctx.session.get(DoseDecision, decision) is None:
        checks.fail("decision_id", decision, "decision-known", f"there is no dose decision {decision}")
    if record is not None and record.decision_id is not None:
        checks.fail("pack", number, "pack-unattached",
                    f"meeting pack {number} was reviewed for decision {record.decision_id} already")
    checks.raise_if_failed()
    old = row_values(record)
    record.decision_id = decision
    ctx.session.flush()
    write_audit(ctx.session, "update", record, username=ctx.username, reason=f"reviewed for decision {decision}",
                old_values=old)
    return record


def _view(record: MeetingPack) -> PackView:
    pdf = base64.b64decode(record.pdf_base64) if record.pdf_base64 is not None else None
    intact = (_sha(record.content.encode("utf-8")) == record.content_sha256 and record.content_sha256 in record.html
              and (pdf is None or _sha(pdf) == record.pdf_sha256))
    return PackView(record.id, record.as_of, record.created_at, record.created_by, json.loads(record.content),
                    record.content_sha256, record.html, pdf, record.pdf_sha256, record.decision_id, intact)


def meeting_pack(session, pack_id: int) -> PackView | None:
    """One stored pack (None when there is none by that number)."""
    record = session.get(MeetingPack, pack_id)
    return _view(record) if record is not None else None


def list_meeting_packs(session) -> list[PackView]:
    """Every stored pack, oldest first."""
    return [_view(r) for r in session.execute(select(MeetingPack).order_by(MeetingPack.id)).scalars()]
