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
from typing import Any

from sqlalchemy import Engine, inspect, select

from earlyphase.errors import ConfigurationError, NotFound
from earlyphase.records.audit import GENESIS_HASH, canonical_json, entry_hash, row_values
from earlyphase.records.database import read_session
from earlyphase.records.tables import DATA_TABLES, RETIRED_TABLES, AuditEntry, Lesion, Patient, TumourAssessment

HASHED_FIELDS = ("at_utc", "username", "action", "table_name", "record_id", "subject_id",
                 "old_values", "new_values", "reason", "software_version")

# Finding kinds, in the order a reader should care about them.
CHAIN_BROKEN = "chain_broken"
CHANGED = "changed_outside_system"
UNAUDITED = "inserted_outside_system"
MISSING = "deleted_outside_system"
RESURRECTED = "present_but_audited_as_deleted"
UNREADABLE = "unreadable_entry"
ANCHOR_MISSING = "known_hash_missing"


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

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def chain_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == CHAIN_BROKEN)

    @property
    def replay_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind != CHAIN_BROKEN)

    def summary(self) -> str:
        lines = [
            f"Audit verification of {self.database}",
            f"  entries checked : {self.entries_checked}",
            f"  records checked : {self.records_checked}",
            f"  last hash       : {self.last_hash}",
        ]
        if self.chain_ok:
            lines.append("  chain           : intact")
        else:
            lines.append(f"  chain           : BROKEN at entry {self.first_broken_entry}")
        replay = self.replay_findings
        lines.append("  replay          : " + ("data match the log" if not replay else f"{len(replay)} finding(s)"))
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
            "findings": [f.to_dict() for f in self.findings],
        }


def _require_schema(engine: Engine) -> None:
    if not inspect(engine).has_table(AuditEntry.__tablename__):
        raise ConfigurationError(
            f"{engine.url.render_as_string(hide_password=True)} is not an earlyphase database "
            "(it has no audit_log table): create it with 'earlyphase init'"
        )


def _entry_fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


def check_chain(entries: list[AuditEntry]) -> list[Finding]:
    """Recompute the hash chain over entries in id order; one finding per broken link."""
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
        elif entry_hash(entry.prev_hash, _entry_fields(entry)) != entry.row_hash:
            findings.append(Finding(
                CHAIN_BROKEN,
                f"audit entry {entry.id} ({entry.action} {entry.table_name} #{entry.record_id}) does not match "
                "its own hash: it was edited after it was written, or inserted with a forged hash",
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


def verify_audit(engine: Engine, *, known_hash: str | None = None) -> AuditReport:
    """Check the hash chain and replay the log against the data tables (see the module docstring).

    ``known_hash`` is a ``last_hash`` reported by an earlier verification and kept outside the
    database (a printed report, a ticket): the log must still hold it. That catches what the chain
    alone cannot, the log cut back or rewritten from some point on and re-hashed.
    """
    _require_schema(engine)
    with read_session(engine) as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        current = current_values(session)
        session.expunge_all()
    chain = check_chain(entries)
    findings = chain + replay(entries, current)
    if known_hash is not None and known_hash != GENESIS_HASH and known_hash not in {e.row_hash for e in entries}:
        findings.append(Finding(
            ANCHOR_MISSING,
            f"the known hash {known_hash} is not in the audit log: entries up to it were removed or "
            "rewritten since it was recorded",
        ))
    return AuditReport(
        database=engine.url.render_as_string(hide_password=True),
        entries_checked=len(entries),
        records_checked=len(current),
        last_hash=entries[-1].row_hash if entries else GENESIS_HASH,
        chain_ok=not chain,
        first_broken_entry=chain[0].audit_id if chain else None,
        findings=tuple(findings),
    )


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
