"""Anchors: the head of the audit chain (entry count, last hash, time) written OUTSIDE the database.

The keyed chain proves no entry was changed, but not that none is missing at the end: a database
restored from an older copy, or with its last entries and their data rolled back, or wiped, holds a
chain that is whole. Every ``audit verify``, export and report (and web session close) therefore
appends the head it saw to an append-only anchor file, and ``audit verify`` checks that the log still
holds every anchored head: the entry at each anchored count must carry the anchored hash.

Where: ``EARLYPHASE_AUDIT_ANCHOR_FILE``, else beside a SQLite file (``trial.db.audit-anchors``), else
``$XDG_CONFIG_HOME/earlyphase/audit/`` (as the key). Optionally also a second database
(``EARLYPHASE_AUDIT_ANCHOR_DB``, a URL; table ``audit_anchors``), for a copy someone with access to the
first machine cannot reach. Each anchor is one JSON line, authenticated with an HMAC under the audit
key, so a forged line is named rather than believed. Re-keying starts a new series of anchors.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from earlyphase.errors import ConfigurationError
from earlyphase.records.audit_key import AuditKey, default_path

ANCHOR_FILE_ENV = "EARLYPHASE_AUDIT_ANCHOR_FILE"
ANCHOR_DB_ENV = "EARLYPHASE_AUDIT_ANCHOR_DB"
ANCHOR_SUFFIX = ".audit-anchors"
EVENTS = ("verify", "export", "report", "session_close", "rekey", "init")


@dataclass(frozen=True)
class Anchor:
    """One anchored head: when, on which occasion, how many entries and the hash of the last one."""

    at_utc: str
    event: str
    entries: int
    last_hash: str
    line: int  # 1-based line in the file (0 for the second database)
    authentic: bool  # its MAC verifies under the key given

    def to_dict(self) -> dict[str, Any]:
        return {"at_utc": self.at_utc, "event": self.event, "entries": self.entries, "last_hash": self.last_hash}


def anchor_path(engine: Engine) -> Path | None:
    """The anchor file of ``engine``'s database (None for an in-memory database)."""
    given = os.environ.get(ANCHOR_FILE_ENV, "").strip()
    return Path(given).expanduser() if given else default_path(engine, ANCHOR_SUFFIX)


def _mac(key: AuditKey, body: dict[str, Any]) -> str:
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key.secret, b"anchor\0" + payload, hashlib.sha256).hexdigest()


def write_anchor(engine: Engine, key: AuditKey, entries: int, last_hash: str, event: str) -> str:
    """Append one anchor; return where it went (a sentence). Raises ``ConfigurationError`` when it cannot."""
    from earlyphase.records.audit import utc_now

    if event not in EVENTS:
        raise ValueError(f"unknown anchor event {event!r}")
    body = {"at_utc": utc_now(), "event": event, "entries": int(entries), "last_hash": last_hash,
            "key": key.fingerprint[:16]}
    line = json.dumps({**body, "mac": _mac(key, body)}, sort_keys=True, separators=(",", ":")) + "\n"
    places = []
    path = anchor_path(engine)
    if path is not None:
        try:
            if not path.parent.exists():
                path.parent.mkdir(parents=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)  # two writers never interleave a line
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise ConfigurationError(f"cannot append to the audit anchor file {path}: {exc.strerror or exc} "
                                     f"(set {ANCHOR_FILE_ENV} to a writable place)") from None
        places.append(str(path))
    second = os.environ.get(ANCHOR_DB_ENV, "").strip()
    if second:
        _write_second_database(second, engine, line)
        places.append("the second anchor database")
    return " and ".join(places) if places else "nowhere (an in-memory database)"


def read_anchors(engine: Engine, key: AuditKey | None) -> tuple[list[Anchor], list[str]]:
    """Every anchor since the last re-keying (file, then second database) and sentences about unreadable lines."""
    anchors: list[Anchor] = []
    problems: list[str] = []
    path = anchor_path(engine)
    lines: list[tuple[int, str, str]] = []
    if path is not None and path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return [], [f"the audit anchor file {path} cannot be read: {exc}"]
        lines += [(i, raw, str(path)) for i, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    second = os.environ.get(ANCHOR_DB_ENV, "").strip()
    if second:
        lines += [(0, raw, "the second anchor database") for raw in _read_second_database(second, engine)]
    for number, raw, where in lines:
        try:
            data = json.loads(raw)
            body = {k: data[k] for k in ("at_utc", "event", "entries", "last_hash", "key")}
            anchor = Anchor(str(body["at_utc"]), str(body["event"]), int(body["entries"]), str(body["last_hash"]),
                            number, key is not None and hmac.compare_digest(str(data["mac"]), _mac(key, body)))
        except (ValueError, KeyError, TypeError):
            problems.append(f"line {number} of {where} is not an anchor earlyphase wrote: {raw[:80]!r}")
            continue
        if anchor.event == "rekey" and anchor.authentic:
            anchors = []  # the hashes before a re-keying are gone by design
        anchors.append(anchor)
    return anchors, problems


# -- the optional second database ----------------------------------------------------------------------
def _second_engine(url: str):
    from sqlalchemy import Column, Integer, MetaData, String, Table, Text

    from earlyphase.records.database import make_engine

    engine = make_engine(url)
    table = Table("audit_anchors", MetaData(), Column("id", Integer, primary_key=True),
                  Column("database", String(400), nullable=False), Column("line", Text, nullable=False))
    return engine, table


def _database_name(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)[:400]


def _write_second_database(url: str, engine: Engine, line: str) -> None:
    second, table = _second_engine(url)
    try:
        table.metadata.create_all(second)
        with second.begin() as conn:
            conn.execute(table.insert().values(database=_database_name(engine), line=line.strip()))
    except ConfigurationError:
        raise
    except Exception as exc:  # any failure of the second database is a setup problem to report
        raise ConfigurationError(f"cannot write the audit anchor to {ANCHOR_DB_ENV}: {exc}") from None
    finally:
        second.dispose()


def _read_second_database(url: str, engine: Engine) -> list[str]:
    from sqlalchemy import inspect, select

    second, table = _second_engine(url)
    try:
        if not inspect(second).has_table("audit_anchors"):
            return []
        with second.connect() as conn:
            return list(conn.execute(select(table.c.line).where(table.c.database == _database_name(engine))
                                     .order_by(table.c.id)).scalars())
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"cannot read the audit anchors from {ANCHOR_DB_ENV}: {exc}") from None
    finally:
        second.dispose()


def anchor_head(engine: Engine, event: str) -> str:
    """Anchor the chain's current head for ``event`` (``export``, ``report``, ``session_close``...).

    For the layers that read a trial out (exports, reports, the web): one cheap read, no verification
    (``audit verify`` checks the anchors). Needs this database's key; returns where the anchor went.
    """
    from sqlalchemy import func, select

    from earlyphase.records.audit import GENESIS_HASH, chain_key
    from earlyphase.records.database import read_session
    from earlyphase.records.tables import AuditEntry

    with read_session(engine) as session:
        key = chain_key(session)
        count = session.scalar(select(func.count()).select_from(AuditEntry))
        last = session.scalar(select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1))
    return write_anchor(engine, key, count, last or GENESIS_HASH, event)
