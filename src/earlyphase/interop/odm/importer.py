"""Restore an identified ODM 1.3.2 archive (written by :func:`earlyphase.interop.odm.export_odm`) into an empty
database: every record with its id, and the audit trail entry for entry.

A restore is not data entry. Capture would enter each row again as new work, under new audit entries with today's
time; an archive must come back as it was, with its own history. So the rows are written as the archive holds them
and the archive's audit records become the audit log again, unchanged, and then the restore is proved, in the
same transaction, before anything is committed:

1. the file is valid against the ODM 1.3.2 XSD, is an identified archive (``Archival="Yes"``), and every
   ItemGroupData, ItemData and AuditRecord names a table, column and value this schema knows (typed as the column
   is: integer, number, ISO date, 1/0) — checked before the database is touched;
2. the database is empty (no study, no audit entry; a new file or URL gets the schema first);
3. the restored chain verifies under this database's audit key (so the archive was written from a trial kept with
   the same key, and no audit record was altered), and replaying it gives exactly the restored rows (so no row
   was altered, added or left out);
4. one audit event ``odm_import`` (file name and SHA-256, rows and entries restored, by whom) is appended after
   the restored chain: the restore itself is audited.

Anything wrong and nothing is written; the error names the file, the element (line), the table and column, the
value and the rule. A de-identified ODM file is refused: it is for transfer, it holds no audit trail and cannot
restore a trial.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, Float, Integer, BigInteger, func, insert, select, text

from earlyphase.errors import InputError, Problem
from earlyphase.interop.odm.export import AUDIT_SOURCE_FIELDS, ODM_NS, TABLES, table_oid
from earlyphase.records import tables as t

MAX_PROBLEMS = 20


@dataclass(frozen=True)
class OdmImportResult:
    """What a restore wrote."""

    source: str
    sha256: str
    rows: dict[str, int]
    audit_entries: int

    def summary(self) -> str:
        lines = [f"Restored {self.source} (sha256 {self.sha256}): {sum(self.rows.values())} rows and "
                 f"{self.audit_entries} audit entries; the chain verifies under this database's key and replays "
                 "to the rows; the restore is audited (odm_import)."]
        lines += [f"  {name:<22} {n:>6}" for name, n in self.rows.items() if n]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": self.sha256, "rows": dict(self.rows),
                "audit_entries": self.audit_entries}


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


class _Problems:
    def __init__(self, source: str):
        self.source, self.items = source, []

    def add(self, element, field: str, value: Any, rule: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            line = getattr(element, "sourceline", None)
            self.items.append(Problem(field=field, value=value, rule=rule, message=message, file=self.source,
                                      row=line))

    def raise_if_any(self, summary: str) -> None:
        if self.items:
            raise InputError(self.items, summary=f"{summary}: {len(self.items)} problem(s), nothing written")


_COLUMNS = {table_oid(cls.__tablename__): (cls, {c.name.upper(): c for c in cls.__table__.columns}) for cls in TABLES}


def parse_value(column, raw: str) -> Any:
    """The ODM text of a value as the column's Python value (ValueError when it is not one)."""
    kind = column.type
    if isinstance(kind, Boolean):
        if raw not in ("1", "0"):
            raise ValueError("a yes/no value is written 1 or 0")
        return raw == "1"
    if isinstance(kind, (Integer, BigInteger)):
        if not raw.lstrip("-").isdigit():
            raise ValueError("must be a whole number")
        return int(raw)
    if isinstance(kind, Float):
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return value
    if isinstance(kind, Date):
        return date.fromisoformat(raw)
    length = getattr(kind, "length", None)
    if length and len(raw) > length:
        raise ValueError(f"longer than the column's {length} characters")
    return raw


def read_archive(data: bytes, source: str) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """(rows by table, audit entries) from an identified ODM archive, every value checked and typed."""
    from lxml import etree

    from earlyphase.interop.odm.xsd import validate_odm

    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError as exc:
        raise InputError.single("xml", f"line {exc.lineno}", "well-formed-xml",
                                f"the file is not well-formed XML ({exc.msg})", file=source) from None
    validate_odm(root, source=source)
    if root.get("Archival") != "Yes" or root.find(f"{_q('ClinicalData')}/{_q('AuditRecords')}") is None:
        raise InputError.single("ODM/@Archival", root.get("Archival"), "identified-archive",
                                "this is not an identified archive (a de-identified ODM file is for transfer: it "
                                "holds no audit trail and cannot restore a trial); export with --identified",
                                file=source)
    problems = _Problems(source)
    rows: dict[str, list[dict[str, Any]]] = {cls.__tablename__: [] for cls in TABLES}
    seen: set[tuple[str, int]] = set()
    for group in root.iter(_q("ItemGroupData")):
        oid = group.get("ItemGroupOID", "")
        table = oid[3:] if oid.startswith("IG.") else ""
        if table not in _COLUMNS:
            problems.add(group, "ItemGroupOID", oid, "known-table", "names no table of this database")
            continue
        cls, columns = _COLUMNS[table]
        key = group.get("ItemGroupRepeatKey", "")
        if not key.isdigit():
            problems.add(group, f"{cls.__tablename__}.ItemGroupRepeatKey", key, "row-id",
                         "the row's id must be a whole number")
            continue
        row: dict[str, Any] = {}
        for item in group.iter(_q("ItemData")):
            item_oid = item.get("ItemOID", "")
            prefix = f"IT.{table}."
            column = columns.get(item_oid[len(prefix):]) if item_oid.startswith(prefix) else None
            if column is None:
                problems.add(item, "ItemOID", item_oid, "known-column", f"names no column of {cls.__tablename__}")
                continue
            if column.name in row:
                problems.add(item, f"{cls.__tablename__}.{column.name}", item.get("Value"), "once",
                             "the column is given twice in one row")
                continue
            try:
                row[column.name] = parse_value(column, item.get("Value", ""))
            except ValueError as exc:
                problems.add(item, f"{cls.__tablename__}.{column.name}", item.get("Value"), "typed-value", str(exc))
        if row.get("id") != int(key):
            problems.add(group, f"{cls.__tablename__}.id", row.get("id"), "row-id",
                         f"differs from the ItemGroupRepeatKey {key}")
            continue
        if (cls.__tablename__, row["id"]) in seen:
            problems.add(group, f"{cls.__tablename__}.id", row["id"], "unique-row", "the row is in the file twice")
            continue
        seen.add((cls.__tablename__, row["id"]))
        for column in cls.__table__.columns:
            if not column.nullable and column.name not in row and column.default is None \
                    and column.server_default is None:
                problems.add(group, f"{cls.__tablename__}.{column.name}", None, "required",
                             f"row {row['id']} has no value for this column")
        # a null has no ItemData: every column the row leaves out is written as null
        rows[cls.__tablename__].append({c.name: row.get(c.name) for c in cls.__table__.columns})
    for subject in root.iter(_q("SubjectData")):
        keys = {item.get("Value") for item in subject.iter(_q("ItemData"))
                if item.get("ItemOID") == "IT.PATIENTS.SUBJECT_ID"}
        if keys != {subject.get("SubjectKey")}:
            problems.add(subject, "SubjectKey", subject.get("SubjectKey"), "subject-key",
                         "does not match the subject id of the patient row it holds")
    entries = []
    for record in root.iter(_q("AuditRecord")):
        entry = _audit_entry(record, problems)
        if entry is not None:
            entries.append(entry)
    problems.raise_if_any(f"{source} cannot be restored")
    return rows, entries


def _audit_entry(record, problems: _Problems) -> dict[str, Any] | None:
    ident = record.get("ID", "")
    if not ident.startswith("AR.") or not ident[3:].isdigit():
        problems.add(record, "AuditRecord/@ID", ident, "audit-id", "an audit record's ID is AR.<entry number>")
        return None
    user = record.find(_q("UserRef")).get("UserOID", "")
    source_text = record.findtext(_q("SourceID"))
    try:
        source = json.loads(source_text or "")
        if not isinstance(source, dict) or set(source) != set(AUDIT_SOURCE_FIELDS):
            raise ValueError
    except ValueError:
        problems.add(record, f"AuditRecord {ident}/SourceID", (source_text or "")[:60], "audit-source",
                     f"must be the entry's fields as JSON: {', '.join(AUDIT_SOURCE_FIELDS)}")
        return None
    reason = record.find(_q("ReasonForChange"))
    return {"id": int(ident[3:]), "username": user[4:] if user.startswith("USR.") else user,
            "at_utc": record.findtext(_q("DateTimeStamp")), "reason": None if reason is None else (reason.text or ""),
            **source}


def import_odm(target: Any, path: str | Path, *, username: str) -> OdmImportResult:
    """Restore the archive at ``path`` into the empty database ``target`` (URL, SQLite path or Engine)."""
    from earlyphase.interop.files import read_input
    from earlyphase.records import make_engine, transaction
    from earlyphase.records.audit import chain_key, write_event
    from earlyphase.records.audit_verify import check_chain, current_values, replay
    from earlyphase.records.migrate import migrate
    from earlyphase.records.tables import AuditEntry

    name = Path(path).name
    data = read_input(path, "ODM file")
    sha = hashlib.sha256(data).hexdigest()
    rows, entries = read_archive(data, name)
    own = not hasattr(target, "dialect")
    engine = make_engine(target) if own else target
    try:
        migrate(engine)
        with transaction(engine) as session:
            if session.execute(select(func.count()).select_from(t.StudyRecord)).scalar_one() or \
                    session.execute(select(func.count()).select_from(AuditEntry)).scalar_one():
                raise InputError.single("db", engine.url.render_as_string(hide_password=True), "empty-database",
                                        "the database already holds a trial; restore into a new, empty one")
            if engine.dialect.name == "postgresql":
                session.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))
            for cls in TABLES:
                if rows[cls.__tablename__]:
                    session.execute(insert(cls.__table__), rows[cls.__tablename__])
            if entries:
                session.execute(insert(AuditEntry.__table__), entries)
            session.flush()
            restored = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
            problems = [f.message for f in check_chain(restored, chain_key(session))]
            problems += [f.message for f in replay(restored, current_values(session))]
            if problems:
                raise InputError([Problem(field="audit trail", value=None, rule="audit-verifies", message=m,
                                          file=name) for m in problems[:MAX_PROBLEMS]],
                                 summary=f"{name} does not restore to a trial whose audit trail verifies under this "
                                         "database's key and replays to its rows (give the audit key the trial was "
                                         "kept with, or the file was altered); nothing written")
            if engine.dialect.name == "postgresql":
                for cls in [*TABLES, AuditEntry]:
                    table = cls.__tablename__
                    session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                         f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
            session.expunge_all()
            write_event(session, "odm_import", username, {"file": name, "sha256": sha, "entries": len(entries),
                                                          "rows": sum(len(v) for v in rows.values())})
    finally:
        if own:
            engine.dispose()
    return OdmImportResult(name, sha, {k: len(v) for k, v in rows.items()}, len(entries))
