"""The seal of a dose-escalation decision: a hash of its content bound to who signed it and when.

Kept beside the tables so every layer that reads decisions (capture, which writes them; derive and the
report, which show them) checks a seal the same way.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from earlyphase.records.audit import canonical_json

# The fields of ``dose_decisions`` the content hash covers (everything the investigator seals).
SEALED_FIELDS = ("decision_date", "decision", "group_code", "level_opened", "level_closed", "rationale",
                 "decided_by", "investigator", "recommendation", "recommendation_text", "protocol_version")


def content_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 of a decision's sealed fields (canonical JSON, so SQLite and PostgreSQL agree)."""
    return hashlib.sha256(canonical_json({k: values.get(k) for k in SEALED_FIELDS}).encode("utf-8")).hexdigest()


def signature_hash(content: str, signer: str, at_utc: str) -> str:
    """The seal: SHA-256 over the content hash, who signed and when."""
    return hashlib.sha256(json.dumps([content, signer, at_utc], separators=(",", ":")).encode("utf-8")).hexdigest()


def seal_status(values: Mapping[str, Any]) -> str:
    """"sealed", "unsealed", or "broken" (the content or the seal no longer match) for one decision's values."""
    if values.get("signed_by") is None:
        return "unsealed"
    if content_hash(values) != values.get("content_hash"):
        return "broken"
    if values.get("signature_hash") != signature_hash(values["content_hash"], values["signed_by"],
                                                      values.get("signed_at") or ""):
        return "broken"
    return "sealed"
