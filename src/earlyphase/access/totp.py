"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), the second factor.

Written here rather than taken from a library because it is twenty lines and the RFC's own test
vectors (RFC 6238 appendix B) check it. Secrets are base32 text, as authenticator apps expect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6
# One step either side: a phone clock a little off, or a code typed as it rolled over.
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh random secret (160 bits, the size RFC 4226 recommends), as base32 text."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 4226: HMAC of the 8-byte counter, dynamically truncated to ``digits`` decimal digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def _key(secret: str) -> bytes:
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def totp_now(secret: str, at: float | None = None) -> str:
    """The code an authenticator shows for ``secret`` at Unix time ``at`` (default: now)."""
    moment = time.time() if at is None else at
    return hotp(_key(secret), int(moment // STEP_SECONDS))


def verify_totp(secret: str, code: str, at: float | None = None) -> bool:
    """Whether ``code`` is the code for ``secret`` at ``at``, allowing ``DRIFT_STEPS`` either side."""
    if not isinstance(code, str):
        return False
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return False
    moment = time.time() if at is None else at
    step = int(moment // STEP_SECONDS)
    key = _key(secret)
    return any(hmac.compare_digest(hotp(key, step + d), code) for d in range(-DRIFT_STEPS, DRIFT_STEPS + 1))


def provisioning_uri(secret: str, username: str, issuer: str = "earlyphase") -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or typed in)."""
    return (f"otpauth://totp/{quote(issuer)}:{quote(username)}?secret={secret}&issuer={quote(issuer)}"
            f"&digits={DIGITS}&period={STEP_SECONDS}")
