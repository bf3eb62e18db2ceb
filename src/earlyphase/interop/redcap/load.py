"""Import a REDCap project: the data dictionary (and project XML) become a study-file draft, the records go
into a database through capture (every check, all-or-nothing, audited, as every import).

Two kinds of project come in:

- **A project made in REDCap.** Its dictionary becomes the draft (:mod:`earlyphase.interop.redcap.draft`),
  written to ``out``. Its records go into ``db`` when one is given: a new database is initialised from
  the draft (its TODO items listed under the study's assumptions), or an existing database whose study
  holds the same forms (the draft completed, then ``earlyphase init``) takes them. REDCap does not hold
  the Phase I enrolment (site, sex, birth year, ECOG, consent date); each record is a patient enrolled
  from the ``patients`` CSV (the import's ``patients.csv`` columns), or one already in the database. A
  value outside a REDCap min/max was only a warning in REDCap, so it is kept (confirmed) here too.
- **A project we exported** (its Field Annotations name our tables). The records go into an existing
  database initialised with the same study (``earlyphase init STUDY``); the core instruments go back
  into their tables. A de-identified export is refused (pseudonyms and study days are not the data).

Nothing is written on any problem: not the draft, not the database (a new SQLite file is removed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from earlyphase.errors import InputError
from earlyphase.interop.redcap.dictionary import read_dictionary
from earlyphase.interop.redcap.draft import TODO, convert
from earlyphase.interop.redcap.export import DEIDENTIFIED_MARK, RECORD_EVENT, event_name
from earlyphase.interop.redcap.project import read_project
from earlyphase.interop.redcap.records import convert_records, form_of_columns, read_records
from earlyphase.interop.sources import SourceFile, SourceRow


@dataclass
class RedcapImport:
    draft: str | None
    forms: int
    fields: int
    visits: int
    todo: list[str]
    records: int = 0
    rows: int = 0
    database: str | None = None
    written: dict[str, int] = field(default_factory=dict)
    own_export: bool = False

    def summary(self) -> str:
        lines = []
        if self.draft:
            lines.append(f"Study-file draft written to {self.draft}: {self.forms} forms, {self.fields} fields, "
                         f"{self.visits} visits.")
        lines.append(f"{self.records} records ({self.rows} form rows) read.")
        if self.database:
            total = sum(self.written.values())
            lines.append(f"Imported into {self.database}: {total} rows through capture, in one audited transaction.")
            for name, n in self.written.items():
                lines.append(f"  {name:<28} {n:>6}")
        if self.todo:
            lines.append(f"The draft is NOT a complete study: {len(self.todo)} TODO item(s) to complete "
                         "(listed under assumptions; `earlyphase study show` prints them):")
            lines += [f"  - {t}" for t in self.todo]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"draft": self.draft, "forms": self.forms, "fields": self.fields, "visits": self.visits,
                "todo": list(self.todo), "records": self.records, "rows": self.rows, "database": self.database,
                "written": dict(self.written), "own_export": self.own_export}


def draft_yaml(study: dict[str, Any], source: str) -> str:
    header = (f"# Study-file DRAFT made from the REDCap project {source} by earlyphase interop redcap import.\n"
              f"# Every '{TODO}' item below (and under assumptions) is a placeholder: complete it before a real\n"
              "# analysis. `earlyphase study show` lists them under the assumed values.\n")
    return header + yaml.safe_dump(study, sort_keys=False, allow_unicode=True, width=110)


def _sqlite_path(db: str) -> Path | None:
    if db.startswith("sqlite:///"):
        return Path(db[len("sqlite:///"):])
    if "://" not in db:
        return Path(db)
    return None


def _initialised(db: str) -> bool:
    from earlyphase.capture import stored_study
    from earlyphase.errors import NotFound
    from earlyphase.records import make_engine

    path = _sqlite_path(db)
    if path is not None and not path.exists():
        return False
    engine = make_engine(db if "://" in db else f"sqlite:///{db}")
    try:
        stored_study(engine)
        return True
    except NotFound:
        return False
    finally:
        engine.dispose()


def import_redcap(dictionary: str | Path, records: str | Path | None = None, *, project: str | Path | None = None,
                  out: str | Path | None = None, db: str | None = None, patients: str | Path | None = None,
                  username: str = "importer", encoding: str | None = None) -> RedcapImport:
    """Convert a REDCap project (see the module docstring); ``InputError`` on any problem, nothing written."""
    from earlyphase.interop.importer import import_files
    from earlyphase.interop.sources import read_files
    from earlyphase.protocol.loader import parse_study

    fields = read_dictionary(dictionary, encoding)
    proj = read_project(project) if project is not None else None
    raw = read_records(records, encoding) if records is not None else None
    dict_name = Path(dictionary).name
    source = Path(dictionary).resolve().parent.name
    probe, _ = None, None
    events_in_data = repeating = dags = None
    if raw is not None:
        # what only the records tell: events used, repeating instruments, data access groups
        from earlyphase.interop.redcap.draft import Conversion

        probe = Conversion(record_id=fields[0].name, fields={f.name: f for f in fields})
        events_in_data = raw.events(form_of_columns(probe))
        repeating, dags = raw.repeating(), raw.dags()
    study, conv = convert(fields, proj, name=source, events_in_data=events_in_data, repeating_in_data=repeating,
                          dags=dags)
    if any(DEIDENTIFIED_MARK in f.annotation for f in fields[:1]):
        raise InputError.single("dictionary", dict_name, "identified-export",
                                "this is a de-identified export (pseudonyms and study days, identifying fields "
                                "removed): it cannot be imported as data; export with --identified", file=dict_name)
    text = draft_yaml(study, source)
    parse_study(text, "draft")  # the draft must load as a study file (an error here is ours, not the person's)
    result = RedcapImport(draft=None, forms=len(study["forms"]), fields=sum(len(f["fields"]) for f in study["forms"]),
                          visits=len(study["visits"]), todo=[] if conv.own_export else list(study["assumptions"]),
                          own_export=conv.own_export)
    event_forms = None
    if proj is not None and proj.events:
        event_forms = {e.unique_name: e.forms for e in proj.events}
    converted = None
    if raw is not None:
        if conv.own_export and db is not None and _initialised(db):
            conv.visit_of_event = _visits_of_stored_study(db)
        converted = convert_records(raw, conv, event_forms)
        result.records, result.rows = converted.records, converted.form_rows
    created: Path | None = None
    if db is not None and converted is not None:
        if not _initialised(db):
            if conv.own_export:
                raise InputError.single("db", db, "initialised", "this REDCap project is an earlyphase export: "
                                        "initialise the database with its study first (earlyphase init STUDY)")
            path = _sqlite_path(db)
            created = path if path is not None and not path.exists() else None
        if not conv.own_export:
            for rows in converted.tables.values():
                for i, row in enumerate(rows):  # REDCap kept values outside min/max after a warning
                    rows[i] = SourceRow(row.file, row.row, {**row.cells, "confirm_warnings": "true"})
        if conv.own_export:
            converted.tables["study"] = [_study_row(fields[0], dict_name)]
        files = [SourceFile(Path(raw.name), raw.sha256, converted.tables)]
        if patients is not None:  # whatever its name, the file holds the patients' enrolment
            given = read_files(patients, encoding=encoding)
            files = [SourceFile(f.path, f.sha256, {"patients": [r for rows in f.tables.values() for r in rows]})
                     for f in given] + files
        try:
            if created is not None or not _initialised(db):
                _initialise_from_draft(db, text, username)
            outcome = import_files(db, files, username=username)
        except BaseException:
            if created is not None:
                created.unlink(missing_ok=True)
            raise
        result.database = db
        result.written = dict(outcome.written)
    if out is not None:
        target = Path(out)
        target.write_text(text, encoding="utf-8")
        result.draft = str(target)
    return result


def _study_row(record_id, dict_name: str) -> SourceRow:
    """The study our export names (checked against the database's) and whether its data are synthetic."""
    import re

    found = re.search(r"study ([A-Za-z0-9_.\-]+)", record_id.annotation)
    cells = {"synthetic": "true" if "synthetic data" in record_id.annotation else "false"}
    if found:
        cells["study_id"] = found.group(1)
    return SourceRow(f"{dict_name}[{record_id.name}]", record_id.row, cells)


def _initialise_from_draft(db: str, text: str, username: str) -> None:
    import tempfile

    from earlyphase.capture import initialise

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "draft.yaml"
        path.write_text(text, encoding="utf-8")
        initialise(db, path, username).close()


def _visits_of_stored_study(db: str) -> dict[str, str]:
    from earlyphase.capture import stored_study
    from earlyphase.records import make_engine

    engine = make_engine(db if "://" in db else f"sqlite:///{db}")
    try:
        study, _ = stored_study(engine)
    finally:
        engine.dispose()
    # what belongs to no visit (core tables, forms entered without one) is in the record event
    return {RECORD_EVENT: None, **{event_name(v.code): v.code for v in study.visits}}
