"""The reason for a change: a category from a controlled list and a detail in a few words of free text.

Written ``"category: detail"`` (``"data-entry error: grade 3 typed for grade 2"``). A reason that does not
start with a known category and a colon is refused with the list named (``"other: ..."`` is there for what
fits no category, chosen on purpose rather than by leaving the category out). The categories
follow REDCap's usual reasons for change; the detail must say something (at least two words, eight
letters or digits), so ``"."``, ``"x"`` and ``"fix"`` are refused. The audit log keeps the normalised text.
"""

from __future__ import annotations

import re

from earlyphase.capture.checks import Checks

REASON_CATEGORIES = (
    "data-entry error",
    "source document updated",
    "query answered",
    "late entry",
    "protocol amendment",
    "other",
)
MIN_DETAIL_WORDS = 2
MIN_DETAIL_CHARACTERS = 8
MAX_REASON_LENGTH = 2000

_SPELLINGS = {re.sub(r"[\s_-]+", " ", c): c for c in REASON_CATEGORIES}


def _category(text: str) -> str | None:
    return _SPELLINGS.get(re.sub(r"[\s_-]+", " ", text.strip().lower()))


def split_reason(reason: str) -> tuple[str | None, str]:
    """(category, detail) of a reason's text; category None when no known category leads it."""
    head, colon, tail = reason.partition(":")
    category = _category(head) if colon else None
    return (category, tail.strip()) if category else (None, reason.strip())


def reason_for_change(checks: Checks, reason: object, field: str = "reason", *,
                      default_category: str | None = None) -> str | None:
    """Check a reason for change and return it as ``"category: detail"`` (None when it failed; the checks say why).

    ``default_category``: where the door itself says what kind of change this is (a query's answer is
    ``query answered``), a text without a known category is that category's detail; a text naming another
    known category keeps it."""
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        checks.fail(field, reason, "required", "give the reason for the change: " + _how())
        return None
    if not isinstance(reason, str):
        checks.fail(field, reason, "reason-for-change", "give the reason as text: " + _how())
        return None
    if len(reason) > MAX_REASON_LENGTH or any(ord(c) < 32 and c not in "\t\n" for c in reason):
        checks.fail(field, reason[:80], "reason-for-change",
                    f"a reason is at most {MAX_REASON_LENGTH} characters of plain text: " + _how())
        return None
    category, detail = split_reason(reason)
    if category is None and default_category is not None:
        category = default_category
    if category is None:
        checks.fail(field, reason, "reason-category", "start the reason with its category and a colon: " + _how())
        return None
    words = re.findall(r"\w+", detail)
    if len(words) < MIN_DETAIL_WORDS or sum(c.isalnum() for c in detail) < MIN_DETAIL_CHARACTERS:
        checks.fail(field, reason, "reason-for-change",
                    "say what changed and why in a few words (at least two words): " + _how())
        return None
    return f"{category}: {' '.join(detail.split())}"


def _how() -> str:
    return ("'CATEGORY: detail', the category one of " + ", ".join(REASON_CATEGORIES)
            + " (e.g. 'data-entry error: grade 3 typed for grade 2')")
