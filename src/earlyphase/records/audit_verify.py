"""Checking the audit log, and reading a patient's history from it.

``verify_audit`` does two independent checks, both on one consistent snapshot of the database:

1. **The chain.** Every entry's hash is recomputed from its content and its predecessor's hash.
   An edited entry no longer matches its hash; a deleted or inserted entry breaks the link to
   the entry before it. The first broken entry is named.
2. **The replay.** The log is replayed from the start: after it, every live record's last audited
   values must equal its current values in the data tables. A record changed with a SQL client,
   a row inserted without an audit entry and an audited record that has vanished are each named.
   Along the way, the values an update or delete found must be the values the log last recorded,
   so a change made behind the system's back is still named after a later, proper correction.

What a hash chain alone cannot see, the replay usually does: entries removed from the end of the
log leave data with no (or older) audit values, and an entry forged onto the end must also agree
with the data. Someone who rewrites both the data and a correctly re-hashed tail of the log is not
detectable from inside the database; that needs the last hash kept elsewhere (e.g. in a report).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, inspect, select

from earlyphase.errors import ConfigurationError, InputError, NotFound
from earlyphase.records.audit import EVENT, stored_fingerprint, GENESIS_HASH, HASHED_FIELDS, canonical_json, entry_hash, row_values
from earlyphase.records.audit_anchor import Anchor, read_anchors, write_anchor
from earlyphase.records.audit_guard import trigger_problems
from earlyphase.records.audit_key import AuditKey, find_key, where_keys_are_looked_for
from earlyphase.records.database import read_session
from earlyphase.records.tables import (DATA_TABLES, RETIRED_TABLES, AuditEntry, AuditKeyRecord, Lesion, Patient,
                                      TumourAssessment)


# Finding kinds, in the order a reader should care about them.
CHAIN_BROKEN = "chain_broken"
CHANGED = "changed_outside_system"
UNAUDITED = "inserted_outside_system"
MISSING = "deleted_outside_system"
RESURRECTED = "present_but_audited_as_deleted"
UNREADABLE = "unreadable_entry"
ANCHOR_MISSING = "known_hash_missing"
NOT_KEYED = "log_not_keyed"
TRIGGERS = "append_only_trigger_missing"
TIME_BACKWARDS = "timestamp_goes_backwards"
CLOCK_SKEW = "writer_clock_disagrees_with_server"
ANCHOR_BROKEN = "anchored_head_missing"
ANCHOR_FORGED = "anchor_not_authentic"
REPLAY_KINDS = (CHANGED, UNAUDITED, MISSING, RESURRECTED, UNREADABLE)
KEY_MISSING = "key_not_given"
KEY_MISMATCH = "key_not_this_database"


@dataclass(frozen=True)
class Finding:
    """One disagreement: what kind, where (audit entry and/or table and record id), and a sentence."""

    kind: str
    message: str
    audit_id: int | None = None
    table: str | None = None
    record_id: int | None = None
    differences: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {"audited", "current"}

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "audit_id": self.audit_id,
            "table": self.table,
            "record_id": self.record_id,
            "differences": self.differences,
        }


@dataclass(frozen=True)
class AuditReport:
    """The result of ``verify_audit``: ``ok`` is True only when the chain and the replay are both clean."""

    database: str
    entries_checked: int
    records_checked: int
    last_hash: str
    chain_ok: bool
    first_broken_entry: int | None
    findings: tuple[Finding, ...]
    key_fingerprint: str | None = None  # of the key the hashes were checked with (None: not checked)
    anchors_checked: int = 0
    anchored_to: str | None = None  # where this verification's anchor went (None: not anchored, see findings)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def chain_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == CHAIN_BROKEN)

    @property
    def replay_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind in REPLAY_KINDS)

    def _count(self, *kinds: str) -> int:
        return sum(f.kind in kinds for f in self.findings)

    def summary(self) -> str:
        lines = [
            f"Audit verification of {self.database}",
            f"  entries checked : {self.entries_checked}",
            f"  records checked : {self.records_checked}",
            f"  last hash       : {self.last_hash}",
        ]
        lines.append("  audit key       : " + (f"fingerprint {self.key_fingerprint[:16]}" if self.key_fingerprint
                                                  else "NOT CHECKED (see the findings)"))
        if self.chain_ok and self.key_fingerprint is None:
            lines.append("  chain           : links intact, hashes NOT checked")
        elif self.chain_ok:
            lines.append("  chain           : intact")
        else:
            lines.append(f"  chain           : BROKEN at entry {self.first_broken_entry}")
        replay = self.replay_findings
        lines.append("  replay          : " + ("data match the log" if not replay else f"{len(replay)} finding(s)"))
        guard = self._count(TRIGGERS)
        lines.append("  append-only     : " + ("triggers in place" if not guard else f"{guard} trigger problem(s)"))
        times = self._count(TIME_BACKWARDS, CLOCK_SKEW)
        lines.append("  timestamps      : " + ("in order" if not times else f"{times} finding(s)"))
        anchors = self._count(ANCHOR_BROKEN, ANCHOR_FORGED)
        lines.append(f"  anchors         : {self.anchors_checked} checked, "
                     + ("all held" if not anchors else f"{anchors} finding(s)")
                     + (f"; this head anchored in {self.anchored_to}" if self.anchored_to else "; not anchored"))
        if self.findings:
            lines.append("")
            lines.append(f"{len(self.findings)} finding(s):")
            lines.extend(f"  - {f.message}" for f in self.findings)
        else:
            lines.append("")
            lines.append("OK: no finding.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_frame(self):
        """The findings as a table, one row each (empty when the log is clean)."""
        import pandas as pd

        columns = ["kind", "audit_id", "table", "record_id", "message"]
        return pd.DataFrame([{c: getattr(f, c) for c in columns} for f in self.findings], columns=columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "database": self.database,
            "entries_checked": self.entries_checked,
            "records_checked": self.records_checked,
            "last_hash": self.last_hash,
            "chain_ok": self.chain_ok,
            "first_broken_entry": self.first_broken_entry,
            "key_fingerprint": self.key_fingerprint,
            "anchors_checked": self.anchors_checked,
            "anchored_to": self.anchored_to,
            "findings": [f.to_dict() for f in self.findings],
        }


def _require_schema(engine: Engine) -> None:
    if not inspect(engine).has_table(AuditEntry.__tablename__):
        raise ConfigurationError(
            f"{engine.url.render_as_string(hide_password=True)} is not an earlyphase database "
            "(it has no audit_log table): create it with 'earlyphase init'"
        )


def _entry_fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name, None) for name in HASHED_FIELDS}


def check_chain(entries: list[AuditEntry], key: AuditKey | None = None, *, hashes: bool = True) -> list[Finding]:
    """Recompute the hash chain over entries in id order; one finding per broken link.

    ``key``: the audit key (HMAC chain); None checks the plain SHA-256 chain of a log not yet keyed.
    ``hashes=False`` checks only that each entry names its predecessor's hash (no key at hand).
    """
    findings: list[Finding] = []
    expected_prev = GENESIS_HASH
    previous_id: int | None = None
    for entry in entries:
        where = "the start of the log" if previous_id is None else f"entry {previous_id}"
        if entry.prev_hash != expected_prev:
            gap = ""
            if previous_id is not None and entry.id != previous_id + 1:
                gap = f" (ids jump from {previous_id} to {entry.id})"
            findings.append(Finding(
                CHAIN_BROKEN,
                f"audit entry {entry.id} does not follow {where}{gap}: its previous-hash is not the hash "
                "before it, so an entry was deleted or inserted here, or the one before it was edited",
                audit_id=entry.id, table=entry.table_name, record_id=entry.record_id,
            ))
        elif hashes and entry_hash(entry.prev_hash, _entry_fields(entry), key) != entry.row_hash:
            findings.append(Finding(
                CHAIN_BROKEN,
                f"audit entry {entry.id} ({entry.action} {entry.table_name} #{entry.record_id}) does not match "
                "its own hash: it was edited after it was written, or written by someone without the audit key",
                audit_id=entry.id, table=entry.table_name, record_id=entry.record_id,
            ))
        expected_prev = entry.row_hash
        previous_id = entry.id
    return findings


def _load_values(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def replay(entries: list[AuditEntry], current: dict[tuple[str, int], dict[str, Any]]) -> list[Finding]:
    """Replay ``entries`` and compare the last audited state of every record with ``current``.

    ``current`` maps (table, id) to the row's values as JSON data (``canonical_json`` then parsed).
    """
    findings: list[Finding] = []
    audited: dict[tuple[str, int], tuple[dict[str, Any] | None, int]] = {}
    known_tables = {model.__tablename__ for model in DATA_TABLES} | set(RETIRED_TABLES)
    for entry in entries:
        key = (entry.table_name, entry.record_id)
        if entry.action == EVENT:
            continue  # an event changed no record: the chain covers it, the replay has nothing to do
        if entry.table_name not in known_tables or entry.action not in ("insert", "update", "delete"):
            findings.append(Finding(
                UNREADABLE,
                f"audit entry {entry.id} names an unknown table or action ({entry.action} {entry.table_name})",
                audit_id=entry.id, table=entry.table_name, record_id=entry.record_id,
            ))
            continue
        try:
            values = None if entry.action == "delete" else _load_values(entry.new_values)
            before = _load_values(entry.old_values) if entry.action != "insert" else None
        except (TypeError, ValueError):
            findings.append(Finding(
                UNREADABLE, f"audit entry {entry.id} holds values that are not valid JSON",
                audit_id=entry.id, table=entry.table_name, record_id=entry.record_id,
            ))
            continue
        # An update or delete records the values it found. They must be the values the log last
        # recorded, or the record was changed outside earlyphase in between (and this entry would
        # otherwise launder that change into the log).
        previous_values, previous_entry = audited.get(key, (None, None))
        if before and previous_values is not None:
            differences = {
                name: {"audited": previous_values.get(name), "current": found}
                for name, found in sorted(before.items()) if previous_values.get(name) != found
            }
            if differences:
                findings.append(Finding(
                    CHANGED,
                    f"{entry.table_name} #{entry.record_id} was changed outside earlyphase between audit entries "
                    f"{previous_entry} and {entry.id}: entry {entry.id} found {_describe(differences)}",
                    audit_id=entry.id, table=entry.table_name, record_id=entry.record_id, differences=differences,
                ))
        audited[key] = (values, entry.id)

    for key in sorted(current.keys() | audited.keys(), key=_record_order):
        table, record_id = key
        now = current.get(key)
        last_values, last_entry = audited.get(key, (None, None))
        if now is not None and last_entry is None:
            findings.append(Finding(
                UNAUDITED,
                f"{table} #{record_id} has no audit entry: it was inserted outside earlyphase",
                table=table, record_id=record_id,
            ))
        elif now is not None and last_values is None:
            findings.append(Finding(
                RESURRECTED,
                f"{table} #{record_id} exists but audit entry {last_entry} deleted it: it was re-inserted "
                "outside earlyphase",
                audit_id=last_entry, table=table, record_id=record_id,
            ))
        elif now is None and last_values is not None:
            findings.append(Finding(
                MISSING,
                f"{table} #{record_id} is missing but its last audit entry ({last_entry}) says it exists: "
                "it was deleted outside earlyphase",
                audit_id=last_entry, table=table, record_id=record_id,
            ))
        elif now is not None and last_values is not None and now != last_values:
            differences = {
                name: {"audited": last_values.get(name), "current": now.get(name)}
                for name in sorted(now.keys() | last_values.keys())
                if (now.get(name) != last_values.get(name) or (name in now) != (name in last_values))
                and not _added_later(name, now, last_values)
            }
            if not differences:
                continue
            findings.append(Finding(
                CHANGED,
                f"{table} #{record_id} differs from its last audit entry ({last_entry}): it was changed "
                f"outside earlyphase ({_describe(differences)})",
                audit_id=last_entry, table=table, record_id=record_id, differences=differences,
            ))
    return findings


def _added_later(name: str, now: dict[str, Any], audited: dict[str, Any]) -> bool:
    """A column a later schema revision added: absent from an entry written before it existed, and still
    holding the empty default the migration gave existing rows (None, or false for a flag)."""
    return name in now and name not in audited and (now[name] is None or now[name] is False)


def _describe(differences: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{name}: audited {d['audited']!r}, now {d['current']!r}" for name, d in differences.items())


_TABLE_ORDER = {model.__tablename__: i for i, model in enumerate(DATA_TABLES)}


def _record_order(key: tuple[str, int]) -> tuple[int, str, int]:
    return (_TABLE_ORDER.get(key[0], len(_TABLE_ORDER)), key[0], key[1])


def current_values(session) -> dict[tuple[str, int], dict[str, Any]]:
    """Every data row as JSON data, keyed by (table, id): the same form write_audit hashes."""
    values: dict[tuple[str, int], dict[str, Any]] = {}
    for model in DATA_TABLES:
        for record in session.scalars(select(model).order_by(model.id)):
            values[(model.__tablename__, record.id)] = json.loads(canonical_json(row_values(record)))
    return values


def check_known_hash(known_hash: str) -> str:
    """A ``--known-hash`` must be a real hash: 64 hexadecimal characters, not the empty log's zeros."""
    value = known_hash.strip().lower() if isinstance(known_hash, str) else known_hash
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InputError.single("known_hash", known_hash, "sha256-hex",
                                "give the 64 hexadecimal characters of a 'last hash' printed by an earlier "
                                "verification")
    if value == GENESIS_HASH:
        raise InputError.single("known_hash", known_hash, "not-genesis",
                                "all zeros is the hash before the first entry: it would check nothing; give a "
                                "'last hash' printed by an earlier verification")
    return value


def _key_findings(engine: Engine, key: AuditKey | None, fingerprint: str | None,
                  has_key_table: bool) -> tuple[list[Finding], AuditKey | None, bool]:
    """What the key situation says, the key to check hashes with (None: plain chain), and whether to check them."""
    where = engine.url.render_as_string(hide_password=True)
    if not has_key_table or fingerprint is None:
        return [Finding(NOT_KEYED, f"the audit log of {where} is not keyed: anyone with database access could "
                                   "append entries that verify; run 'earlyphase audit rekey' with its key")], None, True
    if key is None:
        return [Finding(KEY_MISSING, "no audit key was given, so the entries' hashes were NOT checked (only their "
                                     f"order): give the key with {where_keys_are_looked_for(engine)}")], None, False
    if key.fingerprint != fingerprint:
        return [Finding(KEY_MISMATCH, f"the audit key from {key.source} (fingerprint {key.fingerprint[:16]}) is not "
                                      f"the one this database was keyed with ({fingerprint[:16]}): the hashes were "
                                      "NOT checked; give this database's key")], None, False
    return [], key, True


# A writer's clock further than this from the database server's is named (NTP keeps honest ones within ms).
CLOCK_SKEW_SECONDS = 300


def _parse_time(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def check_times(entries: list[AuditEntry], server_clock: bool) -> list[Finding]:
    """Timestamps never go backwards in chain order; with a server clock, the writer's must agree with it."""
    findings: list[Finding] = []
    previous: tuple[int, datetime] | None = None
    for entry in entries:
        at = _parse_time(entry.at_utc)
        if at is None:
            findings.append(Finding(UNREADABLE, f"audit entry {entry.id} has no readable timestamp ({entry.at_utc!r})",
                                    audit_id=entry.id, table=entry.table_name, record_id=entry.record_id))
            continue
        if previous is not None and at < previous[1]:
            findings.append(Finding(
                TIME_BACKWARDS,
                f"audit entry {entry.id} is dated {entry.at_utc}, before entry {previous[0]} "
                f"({previous[1].isoformat()}): it was written by a writer whose clock was wrong, or inserted later",
                audit_id=entry.id, table=entry.table_name, record_id=entry.record_id,
            ))
        writer = _parse_time(entry.writer_at_utc)
        if server_clock and writer is not None and abs((writer - at).total_seconds()) > CLOCK_SKEW_SECONDS:
            findings.append(Finding(
                CLOCK_SKEW,
                f"audit entry {entry.id} was written by {entry.username} on a computer whose clock said "
                f"{entry.writer_at_utc} while the database server's said {entry.at_utc}",
                audit_id=entry.id, table=entry.table_name, record_id=entry.record_id,
            ))
        previous = (entry.id, max(at, previous[1]) if previous else at)
    return findings


def check_anchors(entries: list[AuditEntry], anchors: list[Anchor], problems: list[str],
                  key_given: bool) -> list[Finding]:
    """Every anchored head must still be in the log: the entry at the anchored count carries the anchored hash."""
    findings = [Finding(ANCHOR_FORGED, p) for p in problems]
    broken = []
    for anchor in anchors:
        if key_given and not anchor.authentic:
            findings.append(Finding(ANCHOR_FORGED, f"the anchor of {anchor.at_utc} (line {anchor.line}) was not "
                                                   "written with this database's key: someone edited the anchors"))
            continue
        held = anchor.entries == 0 or (anchor.entries <= len(entries)
                                       and entries[anchor.entries - 1].row_hash == anchor.last_hash)
        if not held:
            broken.append(anchor)
    if broken:
        latest = max(broken, key=lambda a: (a.entries, a.at_utc))
        now = f"it now holds {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        if latest.entries <= len(entries):
            now += f" and entry {latest.entries} has another hash"
        findings.append(Finding(
            ANCHOR_BROKEN,
            f"the audit log was anchored at {latest.entries} entries ending in {latest.last_hash[:16]}... "
            f"({latest.event}, {latest.at_utc}), but {now}: the database was restored from an older copy, "
            f"its last entries were rolled back or rewritten, or it was wiped"
            + (f" ({len(broken)} anchors disagree)" if len(broken) > 1 else ""),
        ))
    return findings


def verify_audit(engine: Engine, *, known_hash: str | None = None, key: AuditKey | None = None,
                 anchor: bool = True) -> AuditReport:
    """Check the keyed hash chain and replay the log against the data tables (see the module docstring).

    ``key`` is the audit key (default: found as ``audit_key.find_key`` says); without it the hashes
    cannot be checked and the report says so. ``known_hash`` is a ``last_hash`` reported by an
    earlier verification and kept outside the database (a printed report, a ticket): the log must
    still hold it. That catches what the chain alone cannot, the log cut back or rewritten from
    some point on and re-hashed. All zeros or a malformed hash is refused (``InputError``).
    The anchors (``audit_anchor``) do the same without anyone keeping a hash: each is checked, and
    a chain found intact under the key is anchored (``anchor=False``: not).
    """
    if known_hash is not None:
        known_hash = check_known_hash(known_hash)
    if key is None:
        key = find_key(engine)
    anchors, anchor_problems = read_anchors(engine, key)
    if not inspect(engine).has_table(AuditEntry.__tablename__) and any(a.entries for a in anchors):
        return _wiped(engine, anchors, anchor_problems, key)
    _require_schema(engine)
    has_key_table = inspect(engine).has_table(AuditKeyRecord.__tablename__)
    with read_session(engine) as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        current = current_values(session)
        fingerprint = stored_fingerprint(session) if has_key_table else None
        guard = [Finding(TRIGGERS, problem) for problem in trigger_problems(session.connection())]
        session.expunge_all()
    findings, hash_key, check_hashes = _key_findings(engine, key, fingerprint, has_key_table)
    chain = check_chain(entries, hash_key, hashes=check_hashes)
    times = check_times(entries, server_clock=engine.dialect.name == "postgresql")
    anchored = check_anchors(entries, anchors, anchor_problems, key is not None)
    findings = findings + chain + replay(entries, current) + times + guard + anchored
    if known_hash is not None and known_hash not in _hashes_held(entries):
        findings.append(Finding(
            ANCHOR_MISSING,
            f"the known hash {known_hash} is not in the audit log: entries up to it were removed or "
            "rewritten since it was recorded",
        ))
    last_hash = entries[-1].row_hash if entries else GENESIS_HASH
    anchored_to = None
    if anchor and hash_key is not None and check_hashes and not chain:
        # Only a chain checked under the key is anchored: an anchor vouches for what it saw.
        anchored_to = write_anchor(engine, hash_key, len(entries), last_hash, "verify")
    return AuditReport(
        database=engine.url.render_as_string(hide_password=True),
        entries_checked=len(entries),
        records_checked=len(current),
        last_hash=last_hash,
        chain_ok=not chain,
        first_broken_entry=chain[0].audit_id if chain else None,
        findings=tuple(findings),
        key_fingerprint=hash_key.fingerprint if hash_key is not None and check_hashes else None,
        anchors_checked=len(anchors),
        anchored_to=anchored_to,
    )


def _wiped(engine: Engine, anchors: list[Anchor], problems: list[str], key: AuditKey | None) -> AuditReport:
    """A database whose audit log is gone, while anchors say it held entries."""
    findings = check_anchors([], anchors, problems, key is not None)
    return AuditReport(
        database=engine.url.render_as_string(hide_password=True), entries_checked=0, records_checked=0,
        last_hash=GENESIS_HASH, chain_ok=False, first_broken_entry=None,
        findings=(Finding(CHAIN_BROKEN, "the audit log is gone (no audit_log table): the database was wiped"),
                  *findings),
        anchors_checked=len(anchors),
    )


def _hashes_held(entries: list[AuditEntry]) -> set[str]:
    """Every entry's hash, and the head a re-keying replaced (kept in its event)."""
    held = {e.row_hash for e in entries}
    for e in entries:
        if e.action == EVENT and e.table_name == "audit_rekey":
            try:
                held.add((_load_values(e.new_values) or {}).get("head_before"))
            except ValueError:
                pass
    return held


# --- a patient's history -------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One audit entry as a person reads it: who did what to which record, and what changed."""

    audit_id: int
    at_utc: str
    username: str
    action: str
    table: str
    record_id: int
    reason: str | None
    changes: dict[str, dict[str, Any]]  # field -> {"old", "new"}; every field for an insert or delete

    def to_dict(self) -> dict[str, Any]:
        return {
            "audit_id": self.audit_id, "at_utc": self.at_utc, "username": self.username,
            "action": self.action, "table": self.table, "record_id": self.record_id,
            "reason": self.reason, "changes": self.changes,
        }


@dataclass(frozen=True)
class PatientHistory:
    """Every audit entry touching one patient's records (the patient row and all child rows)."""

    subject_id: str
    entries: tuple[HistoryEntry, ...]

    def summary(self) -> str:
        lines = [f"Audit history of patient {self.subject_id}: {len(self.entries)} entr"
                 + ("y" if len(self.entries) == 1 else "ies")]
        for e in self.entries:
            lines.append(f"#{e.audit_id}  {e.at_utc}  {e.username}  {e.action} {e.table} #{e.record_id}"
                         + (f"  reason: {e.reason}" if e.reason else ""))
            if e.action == "update":
                lines.extend(f"      {name}: {c['old']!r} -> {c['new']!r}" for name, c in e.changes.items())
            else:
                # A new or deleted record: its filled-in fields on a few wrapped lines.
                side = "new" if e.action == "insert" else "old"
                shown = ", ".join(f"{name}={c[side]!r}" for name, c in e.changes.items()
                                  if name != "id" and c[side] is not None)
                prefix = "      " if e.action == "insert" else "      was: "
                lines.extend(textwrap.wrap(shown, width=100, initial_indent=prefix,
                                           subsequent_indent="      ", break_long_words=False,
                                           break_on_hyphens=False))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "entries": [e.to_dict() for e in self.entries]}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in e.to_dict().items() if k != "changes"} for e in self.entries])


def _changes(entry: AuditEntry) -> dict[str, dict[str, Any]]:
    old = _load_values(entry.old_values) or {}
    new = _load_values(entry.new_values) or {}
    if entry.action == "update":
        names = [n for n in sorted(old.keys() | new.keys()) if old.get(n) != new.get(n)]
    else:
        names = sorted(old.keys() | new.keys())
    return {n: {"old": old.get(n), "new": new.get(n)} for n in names}


def _belongs(entry: AuditEntry, patient_ids: set[int], assessment_ids: set[int]) -> bool:
    """For entries written without a subject id: does the record hang off one of these patients?"""
    if entry.table_name == Patient.__tablename__:
        return entry.record_id in patient_ids
    try:
        values = _load_values(entry.new_values) or _load_values(entry.old_values) or {}
    except ValueError:
        return False
    if entry.table_name == Lesion.__tablename__:
        return values.get("assessment_id") in assessment_ids
    return values.get("patient_id") in patient_ids


def patient_history(engine: Engine, subject_id: str) -> PatientHistory:
    """Every audit entry about patient ``subject_id``, oldest first.

    Entries carry the subject id when capture wrote them with one; entries without it are matched
    through the record's ``patient_id`` (or a lesion's assessment), so nothing about the patient is missed.
    """
    _require_schema(engine)
    with read_session(engine) as session:
        patient_ids = set(session.scalars(select(Patient.id).where(Patient.subject_id == subject_id)))
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        session.expunge_all()
    # A patient row whose subject id was corrected, or that is gone, is still found through its entries.
    for entry in entries:
        if entry.table_name == Patient.__tablename__:
            try:
                values = _load_values(entry.new_values) or _load_values(entry.old_values) or {}
            except ValueError:
                continue
            if values.get("subject_id") == subject_id or entry.subject_id == subject_id:
                patient_ids.add(entry.record_id)
    assessment_ids: set[int] = set()
    for entry in entries:
        if entry.table_name == TumourAssessment.__tablename__ and (
            entry.subject_id == subject_id or _belongs(entry, patient_ids, set())
        ):
            assessment_ids.add(entry.record_id)
    selected = [
        e for e in entries
        if e.subject_id == subject_id or (e.subject_id is None and _belongs(e, patient_ids, assessment_ids))
    ]
    if not selected and not patient_ids:
        raise NotFound.single(
            "subject_id", subject_id, "known patient",
            "no patient has this subject id and no audit entry mentions it",
        )
    history = []
    for e in selected:
        try:
            changes = _changes(e)
        except ValueError:
            changes = {}
        history.append(HistoryEntry(e.id, e.at_utc, e.username, e.action, e.table_name, e.record_id,
                                    e.reason, changes))
    return PatientHistory(subject_id=subject_id, entries=tuple(history))


# --- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventList:
    """The audit log's events (imports, identified exports, report builds, logins...), oldest first."""

    database: str
    events: tuple[HistoryEntry, ...]

    def summary(self) -> str:
        lines = [f"Audit events of {self.database}: {len(self.events)}"]
        for e in self.events:
            detail = e.changes.get("detail", {}).get("new") if set(e.changes) == {"detail"} else \
                ", ".join(f"{k}={c['new']!r}" for k, c in e.changes.items())
            lines.append(f"#{e.audit_id}  {e.at_utc}  {e.username}  {e.table}" + (f"  {detail}" if detail else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database,
                "events": [{"audit_id": e.audit_id, "at_utc": e.at_utc, "username": e.username, "kind": e.table,
                            "reason": e.reason, "detail": {k: c["new"] for k, c in e.changes.items()}}
                           for e in self.events]}


def audit_events(engine: Engine, kind: str | None = None) -> EventList:
    """Every event entry (optionally of one ``kind``), oldest first."""
    _require_schema(engine)
    query = select(AuditEntry).where(AuditEntry.action == EVENT).order_by(AuditEntry.id)
    if kind is not None:
        query = query.where(AuditEntry.table_name == kind)
    with read_session(engine) as session:
        entries = list(session.scalars(query))
        session.expunge_all()
    events = []
    for e in entries:
        try:
            changes = _changes(e)
        except ValueError:
            changes = {}
        events.append(HistoryEntry(e.id, e.at_utc, e.username, e.action, e.table_name, e.record_id, e.reason, changes))
    return EventList(engine.url.render_as_string(hide_password=True), tuple(events))
