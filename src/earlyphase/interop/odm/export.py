"""The whole study as one CDISC ODM 1.3.2 file: metadata, clinical data, audit records and signatures.

Layout (OIDs in brackets):

- ``Study`` [``ST.<study_id>``]: GlobalVariables; one MetaDataVersion [``MDV.1``] holding
  - the study's visits as StudyEventDefs [``SE.<visit>``] with the forms due at each, and one common event
    [``SE.TRIAL``] for the database's own record tables;
  - a FormDef, ItemGroupDef and ItemDefs per record table [``F.<TABLE>``, ``IG.<TABLE>``, ``IT.<TABLE>.<COLUMN>``],
    typed from the schema (integer, float, date, boolean, text with its length); tables that belong to no patient
    are reference data (``IsReferenceData="Yes"``);
  - a FormDef, ItemGroupDef and ItemDefs per study form [``F.FORM.<name>``, ``IG.FORM.<name>``,
    ``IT.FORM.<name>.<field>``] with each field's question, type, unit and codelist;
  - every codelist a study form uses [``CL.<form>.<field>`` or ``CL.<codelist>``].
- ``AdminData``: every user who appears in the data or the audit trail [``USR.<username>``], each site as a
  Location [``LOC.<code>``] plus the study itself [``LOC.STUDY``], and the signature meaning of a dose-decision
  seal [``SD.DOSE-DECISION``].
- ``ReferenceData``: the rows that belong to no patient (study, protocol versions, sites, users, dose decisions,
  queries, meeting packs, site-level protocol deviations: every table without a patient), one ItemGroupData per
  row (``ItemGroupRepeatKey`` = its id).
- ``ClinicalData``: one SubjectData per patient (``SubjectKey`` = subject id, SiteRef its site) with one
  StudyEventData ``SE.TRIAL`` holding a FormData per table and an ItemGroupData per row of that patient (its
  enrolment, allocation, administrations, adverse events, assessments and lesions, study-form records and values,
  ...); then ``AuditRecords``: one AuditRecord per audit-log entry, in chain order (user, location, date-time,
  reason for change; ``SourceID`` carries the entry's own fields as canonical JSON: action, table, record,
  old and new values, software version, writer's clock and both hashes, which ODM has no element for); then
  ``Signatures``: one per sealed dose decision (signer, date-time, the seal's meaning).

Values: an ItemData per non-null column, the value as text (ISO dates, ``1``/``0`` for booleans, floats in their
shortest exact form); a null has no ItemData, so an empty string and a null stay apart. Rows keep their ids.

Identified (``identified=True``) is the **archive**: every column, the audit records and the signatures; it imports
back into an empty database equal (:mod:`earlyphase.interop.odm.importer`), and writing it is an audited event.
De-identified (the default) is for **transfer**: subject keys are keyed pseudonyms, users pseudonyms, columns the
schema marks identifying are left out (so are the dates among them), and so are free text, timestamps, the year
of birth and every study-form value that is a date, free text, or of a field the study marks identifying; neither
the audit records nor the signatures are written (they hold every identifying value and who did what
when). A de-identified file is not an archive and is refused by the import.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Boolean, Date, Float, Integer, BigInteger, String, Text, select

from earlyphase.records import tables as t

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# the database's tables in an archive: every data table (access tables hold secrets and are not data)
TABLES = list(t.DATA_TABLES)
# rows of a table without a patient (no patient_id, and not reached through one) are ReferenceData
_THROUGH_A_PATIENT = ("patients", "lesions", "form_values")
REFERENCE_TABLES = tuple(c.__tablename__ for c in TABLES
                         if "patient_id" not in c.__table__.columns and c.__tablename__ not in _THROUGH_A_PATIENT)
TRIAL_EVENT = "SE.TRIAL"
STUDY_LOCATION = "LOC.STUDY"
SEAL_SIGNATURE = "SD.DOSE-DECISION"
MDV = "MDV.1"


@dataclass(frozen=True)
class OdmExportResult:
    """What an ODM export wrote."""

    path: Path
    identified: bool
    subjects: int
    rows: int
    audit_records: int
    signatures: int
    sha256: str
    valid: bool

    def summary(self) -> str:
        mode = "identified (archive)" if self.identified else "de-identified (transfer)"
        return (f"ODM 1.3.2 {mode}: {self.path}, {self.subjects} subjects, {self.rows} rows, {self.audit_records} "
                f"audit records, {self.signatures} signatures; validated against the ODM 1.3.2 XSD; sha256 "
                f"{self.sha256}")

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "identified": self.identified, "subjects": self.subjects, "rows": self.rows,
                "audit_records": self.audit_records, "signatures": self.signatures, "sha256": self.sha256,
                "xsd_valid": self.valid}


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def data_type(column) -> tuple[str, int | None]:
    """ODM DataType and Length of a schema column."""
    kind = column.type
    if isinstance(kind, Boolean):
        return "boolean", None
    if isinstance(kind, (Integer, BigInteger)):
        return "integer", None
    if isinstance(kind, Float):
        return "float", None
    if isinstance(kind, Date):
        return "date", None
    if isinstance(kind, String) and not isinstance(kind, Text) and kind.length:
        return "text", kind.length
    return "text", None


def format_value(value: Any) -> str:
    """A column value as ODM text (the import reads it back to the same value)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return repr(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def table_oid(name: str) -> str:
    return name.upper()


def _translated(parent, tag: str, text: str) -> None:
    from lxml import etree

    holder = etree.SubElement(parent, _q(tag))
    tt = etree.SubElement(holder, _q("TranslatedText"))
    tt.set(f"{{{XML_NS}}}lang", "en")
    tt.text = text


def _metadata(study_el, study, identified: bool) -> None:
    from lxml import etree

    mdv = etree.SubElement(study_el, _q("MetaDataVersion"), OID=MDV, Name=f"{study.study_id} protocol",
                           Description="The study's forms and visits, and the database's record tables")
    protocol = etree.SubElement(mdv, _q("Protocol"))
    events = [(TRIAL_EVENT, "Trial records", "Common", [f"F.{table_oid(c.__tablename__)}" for c in TABLES])]
    form_names = {f.name for f in study.forms}
    for v in study.visits:
        refs = [f"F.FORM.{name}" for name in v.forms if name in form_names]
        events.append((f"SE.{v.code}", v.label, "Scheduled", refs))
    for order, (oid, _, _, _) in enumerate(events, start=1):
        etree.SubElement(protocol, _q("StudyEventRef"), StudyEventOID=oid, OrderNumber=str(order), Mandatory="No")
    for oid, name, kind, refs in events:
        repeating = "Yes" if oid != TRIAL_EVENT and any(
            v.repeat_every_days for v in study.visits if f"SE.{v.code}" == oid) else "No"
        ev = etree.SubElement(mdv, _q("StudyEventDef"), OID=oid, Name=name, Repeating=repeating, Type=kind)
        for order, ref in enumerate(refs, start=1):
            etree.SubElement(ev, _q("FormRef"), FormOID=ref, OrderNumber=str(order), Mandatory="No")
    for cls in TABLES:
        name = table_oid(cls.__tablename__)
        form = etree.SubElement(mdv, _q("FormDef"), OID=f"F.{name}", Name=cls.__tablename__, Repeating="Yes")
        etree.SubElement(form, _q("ItemGroupRef"), ItemGroupOID=f"IG.{name}", Mandatory="Yes")
    for f in study.forms:
        form = etree.SubElement(mdv, _q("FormDef"), OID=f"F.FORM.{f.name}", Name=f.label,
                                Repeating="Yes" if f.repeating else "No")
        etree.SubElement(form, _q("ItemGroupRef"), ItemGroupOID=f"IG.FORM.{f.name}", Mandatory="Yes")
    for cls in TABLES:
        name = table_oid(cls.__tablename__)
        group = etree.SubElement(mdv, _q("ItemGroupDef"), OID=f"IG.{name}", Name=cls.__tablename__, Repeating="Yes",
                                 IsReferenceData="Yes" if cls.__tablename__ in REFERENCE_TABLES else "No")
        for order, col in enumerate(_columns(cls, identified), start=1):
            attrs = {"ItemOID": f"IT.{name}.{col.name.upper()}", "OrderNumber": str(order),
                     "Mandatory": "No" if col.nullable else "Yes"}
            if col.primary_key:
                attrs["KeySequence"] = "1"
            etree.SubElement(group, _q("ItemRef"), **attrs)
    for f in study.forms:
        group = etree.SubElement(mdv, _q("ItemGroupDef"), OID=f"IG.FORM.{f.name}", Name=f.name,
                                 Repeating="Yes" if f.repeating else "No")
        for order, field in enumerate(f.fields, start=1):
            etree.SubElement(group, _q("ItemRef"), ItemOID=f"IT.FORM.{f.name}.{field.name}", OrderNumber=str(order),
                             Mandatory="Yes" if field.required else "No")
    for cls in TABLES:
        name = table_oid(cls.__tablename__)
        for col in _columns(cls, identified):
            kind, length = data_type(col)
            attrs = {"OID": f"IT.{name}.{col.name.upper()}", "Name": col.name, "DataType": kind}
            if length:
                attrs["Length"] = str(length)
            etree.SubElement(mdv, _q("ItemDef"), **attrs)
    codelists: list[tuple[str, str, list[tuple[str, str]]]] = []
    field_types = {"integer": "integer", "decimal": "float", "date": "date", "partial_date": "partialDate",
                   "yesno": "boolean"}
    for f in study.forms:
        for field in f.fields:
            item = etree.SubElement(mdv, _q("ItemDef"), OID=f"IT.FORM.{f.name}.{field.name}", Name=field.name,
                                    DataType=field_types.get(field.type, "text"))
            _translated(item, "Question", field.label)
            codes = study.codes_of(field) if field.type in ("choice", "multiple_choice") else None
            if codes:
                oid = f"CL.{field.codelist}" if field.codelist else f"CL.{f.name}.{field.name}"
                etree.SubElement(item, _q("CodeListRef"), CodeListOID=oid)
                if all(existing[0] != oid for existing in codelists):
                    codelists.append((oid, field.codelist or f"{f.name}.{field.name}", list(codes)))
    for oid, name, codes in codelists:
        cl = etree.SubElement(mdv, _q("CodeList"), OID=oid, Name=name, DataType="text")
        for code, label in codes:
            item = etree.SubElement(cl, _q("CodeListItem"), CodedValue=str(code))
            _translated(item, "Decode", str(label))


def _columns(cls, identified: bool) -> list:
    return [c for c in cls.__table__.columns if identified or not _withheld(c)]


def _withheld(column) -> bool:
    """Left out of a de-identified file: identifying columns (dates among them), free text, timestamps, and the
    patient's year of birth (the CSV export turns it into an age band; a transfer file leaves it out)."""
    info = column.info
    return bool(info.get("identifying") or info.get("free_text") or info.get("timestamp")
                or (column.table.name == "patients" and column.name == "birth_year"))


def _patient_of(session) -> dict[str, Callable[[Any], int | None]]:
    """table name -> function giving the patient id a row belongs to (None: reference data)."""
    assessments = dict(session.execute(select(t.TumourAssessment.id, t.TumourAssessment.patient_id)).all())
    form_records = dict(session.execute(select(t.FormRecord.id, t.FormRecord.patient_id)).all())
    out: dict[str, Callable[[Any], int | None]] = {}
    for cls in TABLES:
        name = cls.__tablename__
        if name in REFERENCE_TABLES:
            out[name] = lambda row: None
        elif name == "patients":
            out[name] = lambda row: row.id
        elif name == "lesions":
            out[name] = lambda row: assessments.get(row.assessment_id)
        elif name == "form_values":
            out[name] = lambda row: form_records.get(row.record_id)
        else:
            out[name] = lambda row: row.patient_id
    return out


def export_odm(engine: Any, out: str | Path, *, identified: bool = False, key_file: str | Path | None = None,
               username: str | None = None, progress: bool = False,
               creation_time: str | None = None) -> OdmExportResult:
    """Write the study in ``engine`` (engine, URL or SQLite path) as one ODM 1.3.2 file at ``out``; validated
    against the XSD before it is moved into place; an identified file is an audited event."""
    import hashlib

    from lxml import etree

    from earlyphase.interop.files import write_output
    from earlyphase.interop.odm.xsd import validate_odm
    from earlyphase.privacy import pseudonymiser_from
    from earlyphase.capture.setup import stored_study
    from earlyphase.records import make_engine, read_session
    from earlyphase.records.tables import AuditEntry

    own_engine = not hasattr(engine, "dialect")
    engine = make_engine(engine, must_exist=True) if own_engine else engine
    try:
        pseudonym = None if identified else pseudonymiser_from(key_file)
        # refuses a database without trial tables or study, and a protocol text changed behind our back
        study, _ = stored_study(engine)
        with read_session(engine) as session:
            rows = {cls.__tablename__: session.execute(select(cls).order_by(cls.id)).scalars().all() for cls in TABLES}
            patient_of = _patient_of(session)
            audit = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all() if identified else []
            sites = {s.id: s.code for s in rows["sites"]}
            patients = {p.id: p for p in rows["patients"]}

            def subject_key(pid: int) -> str:
                sid = patients[pid].subject_id
                return sid if identified else pseudonym.subject(sid)

            def user(name: str) -> str:
                return name if identified else pseudonym.user(name)

            created = creation_time or datetime.now(timezone.utc).isoformat(timespec="seconds")
            root = etree.Element(_q("ODM"), nsmap={None: ODM_NS}, FileType="Snapshot", Granularity="All",
                                 FileOID=f"EARLYPHASE.{study.study_id}", CreationDateTime=created, ODMVersion="1.3.2",
                                 Originator="earlyphase", SourceSystem="earlyphase",
                                 SourceSystemVersion=_version(),
                                 Description="identified archive" if identified else "de-identified transfer")
            if identified:
                root.set("Archival", "Yes")
            study_el = etree.SubElement(root, _q("Study"), OID=f"ST.{study.study_id}")
            gv = etree.SubElement(study_el, _q("GlobalVariables"))
            etree.SubElement(gv, _q("StudyName")).text = study.study_id
            etree.SubElement(gv, _q("StudyDescription")).text = study.title
            etree.SubElement(gv, _q("ProtocolName")).text = study.registry_id or study.study_id
            _metadata(study_el, study, identified)

            # -- admin data: users, locations, signature meaning
            usernames = sorted({u.username for u in rows["users"]} | {a.username for a in audit}
                               | {d.signed_by for d in rows["dose_decisions"] if d.signed_by and identified})
            admin = etree.SubElement(root, _q("AdminData"), StudyOID=f"ST.{study.study_id}")
            for name in usernames:
                u = etree.SubElement(admin, _q("User"), OID=f"USR.{user(name)}")
                etree.SubElement(u, _q("LoginName")).text = user(name)
            effective = (study.enrolment_start or date(1970, 1, 1)).isoformat()
            for code, label in [(s.code, s.name) for s in rows["sites"]] + [("STUDY", study.sponsor)]:
                loc = etree.SubElement(admin, _q("Location"), OID=f"LOC.{code}", Name=label,
                                       LocationType="Site" if code != "STUDY" else "Sponsor")
                etree.SubElement(loc, _q("MetaDataVersionRef"), StudyOID=f"ST.{study.study_id}",
                                 MetaDataVersionOID=MDV, EffectiveDate=effective)
            sd = etree.SubElement(admin, _q("SignatureDef"), OID=SEAL_SIGNATURE, Methodology="Electronic")
            etree.SubElement(sd, _q("Meaning")).text = "Dose-escalation decision sealed by the investigator"
            etree.SubElement(sd, _q("LegalReason")).text = ("The investigator's seal of the decision's content "
                                                            "(SHA-256 content hash bound to the signer and time)")

            # -- reference data and clinical data
            reference = etree.Element(_q("ReferenceData"), StudyOID=f"ST.{study.study_id}", MetaDataVersionOID=MDV)
            by_patient: dict[int, dict[str, list]] = {}
            total = 0
            iterator = [(cls, row) for cls in TABLES for row in rows[cls.__tablename__]]
            if progress:
                from tqdm import tqdm

                iterator = tqdm(iterator, desc="ODM rows", unit="row", leave=False)
            withheld_value = _form_value_rule(study, rows["form_records"])
            for cls, row in iterator:
                pid = patient_of[cls.__tablename__](row)
                if pid is None:
                    _item_group(reference, cls, row, identified, user, subject_key, patients)
                else:
                    by_patient.setdefault(pid, {}).setdefault(cls.__tablename__, []).append((cls, row))
                total += 1
            if len(reference):
                root.append(reference)
            clinical = etree.SubElement(root, _q("ClinicalData"), StudyOID=f"ST.{study.study_id}",
                                        MetaDataVersionOID=MDV)
            order = sorted(by_patient, key=lambda pid: subject_key(pid))
            for pid in order:
                subject = etree.SubElement(clinical, _q("SubjectData"), SubjectKey=subject_key(pid))
                etree.SubElement(subject, _q("SiteRef"), LocationOID=f"LOC.{sites[patients[pid].site_id]}")
                event = etree.SubElement(subject, _q("StudyEventData"), StudyEventOID=TRIAL_EVENT)
                for cls in TABLES:
                    table_rows = by_patient[pid].get(cls.__tablename__)
                    if not table_rows:
                        continue
                    form = etree.SubElement(event, _q("FormData"), FormOID=f"F.{table_oid(cls.__tablename__)}")
                    for cls_, row in table_rows:
                        _item_group(form, cls_, row, identified, user, subject_key, patients, withheld_value)
            signatures = 0
            if identified:
                site_of_subject = {p.subject_id: sites[p.site_id] for p in rows["patients"]}
                records = etree.SubElement(clinical, _q("AuditRecords"))
                for entry in audit:
                    _audit_record(records, entry, site_of_subject)
                sealed = [d for d in rows["dose_decisions"] if d.signed_by and d.signed_at]
                if sealed:
                    signs = etree.SubElement(clinical, _q("Signatures"))
                    for d in sealed:
                        sign = etree.SubElement(signs, _q("Signature"), ID=f"SG.DOSE_DECISIONS.{d.id}")
                        etree.SubElement(sign, _q("UserRef"), UserOID=f"USR.{d.signed_by}")
                        etree.SubElement(sign, _q("LocationRef"), LocationOID=STUDY_LOCATION)
                        etree.SubElement(sign, _q("SignatureRef"), SignatureOID=SEAL_SIGNATURE)
                        etree.SubElement(sign, _q("DateTimeStamp")).text = d.signed_at
                        signatures += 1
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        validate_odm(data, source=str(out))
        path = write_output(out, data)
        sha = hashlib.sha256(data).hexdigest()
        if identified:
            _audit_identified(engine, path, sha, total, username)
        return OdmExportResult(Path(out), identified, len(by_patient), total, len(audit), signatures, sha, True)
    finally:
        if own_engine:
            engine.dispose()


def _version() -> str:
    from earlyphase import __version__

    return __version__


def _form_value_rule(study, form_records) -> Callable[[Any, str], bool]:
    """De-identified: whether a study-form value's column is withheld. Dates always (a date field is a patient's
    date); text unless the field is a choice (a code); every value of a field the study marks identifying."""
    form_of = {r.id: r.form for r in form_records}
    fields = {(f.name, x.name): x for f in study.forms for x in f.fields}
    for core, extension in study.core_forms.items():
        fields.update({(core, x.name): x for x in extension.fields})

    def withheld(row, column: str) -> bool:
        field = fields.get((form_of.get(row.record_id), row.field))
        if field is None or field.identifying or column == "value_date":
            return True
        return column == "value_text" and field.type not in ("choice", "multiple_choice")
    return withheld


def _item_group(parent, cls, row, identified: bool, user, subject_key, patients, withheld_value=None) -> None:
    from lxml import etree

    name = table_oid(cls.__tablename__)
    group = etree.SubElement(parent, _q("ItemGroupData"), ItemGroupOID=f"IG.{name}", ItemGroupRepeatKey=str(row.id))
    for col in _columns(cls, identified):
        value = getattr(row, col.key)
        if value is None:
            continue
        if not identified and cls is t.FormValue and col.name.startswith("value_") and withheld_value(row, col.name):
            continue
        if not identified:
            if col.info.get("user"):
                value = user(value)
            elif col.info.get("file_path"):
                value = Path(str(value)).name
            elif cls.__tablename__ == "patients" and col.name == "subject_id":
                value = subject_key(row.id)
        etree.SubElement(group, _q("ItemData"), ItemOID=f"IT.{name}.{col.name.upper()}", Value=format_value(value))


# the audit entry's fields ODM has no element for, carried in SourceID as canonical JSON
AUDIT_SOURCE_FIELDS = ("action", "table_name", "record_id", "subject_id", "old_values", "new_values",
                       "software_version", "writer_at_utc", "prev_hash", "row_hash")


def _audit_record(parent, entry, site_of_subject: dict[str, str]) -> None:
    from lxml import etree

    record = etree.SubElement(parent, _q("AuditRecord"), ID=f"AR.{entry.id}", EditPoint="DBAudit",
                              UsedImputationMethod="No")
    etree.SubElement(record, _q("UserRef"), UserOID=f"USR.{entry.username}")
    site = site_of_subject.get(entry.subject_id) if entry.subject_id else None
    etree.SubElement(record, _q("LocationRef"), LocationOID=f"LOC.{site}" if site else STUDY_LOCATION)
    etree.SubElement(record, _q("DateTimeStamp")).text = entry.at_utc
    if entry.reason is not None:
        etree.SubElement(record, _q("ReasonForChange")).text = entry.reason
    source = {name: getattr(entry, name) for name in AUDIT_SOURCE_FIELDS}
    etree.SubElement(record, _q("SourceID")).text = json.dumps(source, sort_keys=True, separators=(",", ":"),
                                                               ensure_ascii=False)


def _audit_identified(engine, path: Path, sha: str, rows: int, username: str | None) -> None:
    """An identified archive is an audited event; when it cannot be audited, the file is taken back."""
    from earlyphase.interop.export import _explain_audit_failure, login_name
    from earlyphase.records import transaction
    from earlyphase.records.audit import write_event

    try:
        with transaction(engine) as session:
            write_event(session, "identified_export", username or login_name(),
                        {"format": "ODM 1.3.2", "file": str(path.resolve()), "rows": rows, "sha256": sha})
    except BaseException as exc:
        path.unlink(missing_ok=True)
        _explain_audit_failure(exc, "ODM export")
        raise
