"""What every response carries, and the check every state-changing request passes."""

from __future__ import annotations

import hmac

# Pages are server-rendered; scripts and styles come only from this server (no inline script at all).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def same_token(expected: str | None, given: object) -> bool:
    """Constant-time comparison of a CSRF token; a missing or non-text token never matches."""
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())
