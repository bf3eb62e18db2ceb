"""The audit key: a secret held OUTSIDE the database that keys the audit chain (HMAC-SHA256).

Someone with only database access cannot compute a valid entry hash, so they cannot append an entry
that hides a data change, nor re-hash a rewritten log. The database keeps only the key's fingerprint
(``audit_keys`` table), so a writer or ``audit verify`` holding the wrong key is told so.

Where the key is found, first match wins:

1. a key given in code for this engine (``use_key``; the CLI's ``--key-file`` does this);
2. ``EARLYPHASE_AUDIT_KEY``: the key itself, 64 hexadecimal characters;
3. ``EARLYPHASE_AUDIT_KEY_FILE``: a file holding it;
4. the default file: beside a SQLite database (``trial.db`` -> ``trial.db.audit-key``), else in
   ``$XDG_CONFIG_HOME/earlyphase/audit/`` (``~/.config``) under a name derived from the database URL.

A key file is one line of 64 hexadecimal characters, created with mode 0600; one readable by
other users is refused. An in-memory SQLite database gets a key that lives as long as its engine.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import weakref
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from earlyphase.errors import ConfigurationError

KEY_ENV = "EARLYPHASE_AUDIT_KEY"
KEY_FILE_ENV = "EARLYPHASE_AUDIT_KEY_FILE"
KEY_SUFFIX = ".audit-key"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_FINGERPRINT_LABEL = b"earlyphase audit key fingerprint v1"


@dataclass(frozen=True)
class AuditKey:
    """A 32-byte secret and where it came from (a path, or the environment variable's name)."""

    secret: bytes
    source: str

    @property
    def fingerprint(self) -> str:
        """SHA-256 of a fixed label and the secret: names the key without revealing it."""
        return hashlib.sha256(_FINGERPRINT_LABEL + self.secret).hexdigest()

    def __repr__(self) -> str:  # never print the secret
        return f"AuditKey(source={self.source!r}, fingerprint={self.fingerprint[:16]})"


_given: "weakref.WeakKeyDictionary[Engine, AuditKey]" = weakref.WeakKeyDictionary()
_read_cache: dict[tuple, AuditKey] = {}


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "earlyphase" / "audit"


def sqlite_path(engine: Engine) -> Path | None:
    """The SQLite file behind ``engine`` (None for PostgreSQL or an in-memory database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).expanduser().resolve()


def default_path(engine: Engine, suffix: str) -> Path | None:
    """Where a per-database file (key or anchors) lives by default; None for an in-memory database."""
    if engine.dialect.name == "sqlite":
        path = sqlite_path(engine)
        return None if path is None else path.with_name(path.name + suffix)
    url = engine.url.render_as_string(hide_password=True)
    # The URL's options (e.g. a search_path) are part of which database it is.
    tag = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{engine.url.host or 'local'}_{engine.url.port or ''}_"
                  f"{engine.url.database or ''}")[:80]
    return config_dir() / f"{name}_{tag}{suffix}"


def read_key_file(path: str | Path) -> AuditKey:
    """Read a key file, refusing one that is missing, malformed or readable by other users."""
    path = Path(path).expanduser()
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the audit key file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError(f"the audit key file {path} is not a regular file")
    if os.name == "posix" and info.st_mode & 0o077:
        raise ConfigurationError(
            f"the audit key file {path} is readable by other users (mode {stat.S_IMODE(info.st_mode):o}): "
            f"run 'chmod 600 {path}'"
        )
    # Every audited write looks its key up: read the file again only when it changed.
    stamp = (str(path), info.st_ino, info.st_mtime_ns, info.st_size)
    if stamp in _read_cache:
        return _read_cache[stamp]
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the audit key file {path}: {exc}") from None
    key = AuditKey(_parse_hex(text, str(path)), str(path))
    if len(_read_cache) > 64:
        _read_cache.clear()
    _read_cache[stamp] = key
    return key


def _parse_hex(text: str, source: str) -> bytes:
    if not _HEX_KEY.fullmatch(text):
        raise ConfigurationError(
            f"the audit key from {source} is not 64 hexadecimal characters (a 32-byte key, as "
            "'earlyphase init' writes it)"
        )
    return bytes.fromhex(text)


def create_key_file(path: str | Path) -> AuditKey:
    """Write a new random key to ``path`` with mode 0600 (its folder 0700 when we create it); never overwrite."""
    path = Path(path).expanduser()
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key_file(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot create the audit key file {path}: {exc.strerror or exc}") from None
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret.hex() + "\n")
    return AuditKey(secret, str(path))


def use_key(engine: Engine, key: AuditKey | str | Path) -> AuditKey:
    """Use this key (or the key in this file) for everything written and verified through ``engine``."""
    if not isinstance(key, AuditKey):
        key = read_key_file(key)
    _given[engine] = key
    return key


def find_key(engine: Engine) -> AuditKey | None:
    """The key for ``engine`` from the places in the module docstring, or None when there is none."""
    if engine in _given:
        return _given[engine]
    if os.environ.get(KEY_ENV, "").strip():
        return AuditKey(_parse_hex(os.environ[KEY_ENV].strip(), KEY_ENV), KEY_ENV)
    if os.environ.get(KEY_FILE_ENV, "").strip():
        return read_key_file(os.environ[KEY_FILE_ENV].strip())
    path = default_path(engine, KEY_SUFFIX)
    if path is not None and path.exists():
        return read_key_file(path)
    return None


def find_or_create_key(engine: Engine) -> AuditKey:
    """The key for ``engine``, creating it at its default place when there is none (a new database)."""
    key = find_key(engine)
    if key is not None:
        return key
    path = Path(os.environ[KEY_FILE_ENV].strip()) if os.environ.get(KEY_FILE_ENV, "").strip() else \
        default_path(engine, KEY_SUFFIX)
    if path is None:  # an in-memory database: a key for as long as the engine lives
        return use_key(engine, AuditKey(secrets.token_bytes(32), "memory"))
    return create_key_file(path)


def where_keys_are_looked_for(engine: Engine) -> str:
    """A sentence for messages: the places a key would be found."""
    path = default_path(engine, KEY_SUFFIX)
    text = f"--key-file, {KEY_ENV} or {KEY_FILE_ENV}"
    return text + (f", or put the key file at {path}" if path is not None else "")
