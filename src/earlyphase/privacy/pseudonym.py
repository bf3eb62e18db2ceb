"""Pseudonymous ids for de-identified outputs: keyed, stable per key, never the site's own ids.

A pseudonym is ``P-`` (patients) or ``U-`` (users) and 10 base-32 characters of HMAC-SHA256(key, kind
+ id). The same key gives the same pseudonyms in every export (so a recipient can link two exports they
were given with one key), a different key gives unlinkable ones, and without the key nobody can go from a
pseudonym back to the site's id (or test a guessed id). The key is never written into an output; the
manifest holds only its fingerprint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from earlyphase.errors import InputError

KEY_ENV = "EARLYPHASE_EXPORT_KEY"
MIN_KEY_CHARS = 32  # a key short enough to guess would let anyone rebuild the pseudonyms from guessed ids


@dataclass
class Pseudonymiser:
    """Maps site subject ids and usernames to pseudonyms under one key (``source`` says where the key came from)."""

    key: bytes
    source: str = "random key for this output only (pseudonyms not linkable to any other output)"
    _seen: dict[str, str] = field(default_factory=dict, repr=False)

    def _code(self, kind: str, value: str) -> str:
        digest = hmac.new(self.key, f"{kind}\x00{value}".encode("utf-8"), hashlib.sha256).digest()
        code = f"{kind}-" + base64.b32encode(digest[:10]).decode("ascii")[:10]
        other = self._seen.setdefault(code, value)
        if other != value:  # 50 bits: a clash is astronomically unlikely, but never give two people one id
            raise RuntimeError(f"pseudonym clash between two {kind} ids; use another key")
        return code

    def subject(self, subject_id: str) -> str:
        return self._code("P", subject_id)

    def user(self, username: str) -> str:
        return self._code("U", username)

    def fingerprint(self) -> str:
        """Names the key without revealing it (HMAC of a fixed text, 16 hex characters)."""
        return hmac.new(self.key, b"earlyphase pseudonym key fingerprint", hashlib.sha256).hexdigest()[:16]


def random_pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser(secrets.token_bytes(32))


def _key_from_text(text: str, where: str) -> bytes:
    text = text.strip()
    if len(text) < MIN_KEY_CHARS:
        raise InputError.single("key", where, "key-length",
                                f"the pseudonym key in {where} has {len(text)} characters; it needs at least "
                                f"{MIN_KEY_CHARS} (a short key can be guessed, and with it every pseudonym undone)")
    return text.encode("utf-8")


def pseudonymiser_from(key_file: str | Path | None = None, *, environ: dict | None = None) -> Pseudonymiser:
    """The pseudonymiser for one output.

    ``key_file``: a file holding the key (created with a new random key, readable by its owner only, when it
    does not exist yet); else the environment variable ``EARLYPHASE_EXPORT_KEY``; else a random key used
    once (pseudonyms differ from every other output).
    """
    env = os.environ if environ is None else environ
    if key_file is not None:
        path = Path(key_file).expanduser()
        if path.is_dir():
            raise InputError.single("key_file", str(path), "key-file", f"{path} is a folder; give a file for the key")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            created = True
        else:
            created = False
            if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise InputError.single("key_file", str(path), "key-file-private",
                                        f"{path} can be read by other users; make it private (chmod 600 {path})")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError.single("key_file", str(path), "key-file",
                                    f"cannot read the pseudonym key from {path} ({exc.__class__.__name__})") from None
        p = Pseudonymiser(_key_from_text(text, str(path)))
        p.source = f"key file ({'created' if created else 'existing'}), fingerprint {p.fingerprint()}"
        return p
    if env.get(KEY_ENV):
        p = Pseudonymiser(_key_from_text(env[KEY_ENV], KEY_ENV))
        p.source = f"{KEY_ENV}, fingerprint {p.fingerprint()}"
        return p
    return random_pseudonymiser()
