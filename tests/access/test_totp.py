"""The second factor against the RFCs' own test vectors (RFC 4226 appendix D, RFC 6238 appendix B, SHA-1)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from earlyphase.access import totp

SEED = b"12345678901234567890"  # the secret both RFCs use

# RFC 4226, appendix D: HOTP values for counts 0..9 (6 digits).
RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

# RFC 6238, appendix B: (Unix time, TOTP with SHA-1, 8 digits, 30-second steps).
RFC6238_SHA1 = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
                (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]


@pytest.mark.parametrize("count,expected", list(enumerate(RFC4226)))
def test_hotp_matches_rfc4226(count, expected):
    assert totp.hotp(SEED, count) == expected


@pytest.mark.parametrize("moment,expected", RFC6238_SHA1)
def test_totp_matches_rfc6238(moment, expected):
    assert totp.hotp(SEED, moment // 30, digits=8, digest=hashlib.sha1) == expected


def test_verify_accepts_one_step_of_drift_and_no_more():
    secret = base64.b32encode(SEED).decode()
    at = 1234567890
    code = totp.totp_now(secret, at=at)
    assert totp.verify_totp(secret, code, at=at)
    assert totp.verify_totp(secret, code, at=at + 30)
    assert totp.verify_totp(secret, code, at=at - 30)
    assert not totp.verify_totp(secret, code, at=at + 90)


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", None, "12 34 5x"])
def test_verify_refuses_malformed_codes(bad):
    assert not totp.verify_totp(totp.new_secret(), bad, at=1000)


def test_new_secrets_differ_and_make_a_provisioning_uri():
    a, b = totp.new_secret(), totp.new_secret()
    assert a != b and len(base64.b32decode(a)) == 20
    uri = totp.provisioning_uri(a, "ana")
    assert uri.startswith("otpauth://totp/earlyphase:ana?") and f"secret={a}" in uri
