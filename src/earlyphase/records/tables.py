"""The trial database: one SQLAlchemy 2 schema for SQLite and PostgreSQL.

Conventions (the contract for capture, derive, interop and the web app; ``docs/data-model.md``):
- Calendar dates are ``Date``. Adverse-event onset/resolution are ISO 8601 text that may be
  partial, as reported (``2015-03``, ``2015-03-04``, ``2015-03-04T14:30``), the way SDTM stores
  --DTC; derive imputes and flags. Audit timestamps are UTC ISO 8601 text.
- A dose is a value with its unit (``administrations.dose`` + ``dose_unit``, the study's unit).
- Core forms are tables; the study's own forms (and the fields it adds to core forms) are stored
  typed in ``form_records`` (one row per form entered) and ``form_values`` (one row per value, in
  the column of its type).
- Every protocol version is kept (``protocol_versions``); every patient record carries the version
  it was entered under (``protocol_version``).
- Every data row is written only through ``earlyphase.capture`` and audited in ``audit_log``.
- Fields marked ``IDENTIFYING`` (``info={"identifying": True}``) are removed by de-identified exports (dates
  become study days). ``FREE_TEXT`` columns are scrubbed or dropped there, ``USER_REF`` columns (a username)
  become pseudonyms, ``TIMESTAMP`` columns (UTC ISO text) become the study day of the record's patient, and
  ``FILE_PATH`` columns keep only the file's name.
"""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

IDENTIFYING = {"identifying": True}
FREE_TEXT = {"free_text": True}
USER_REF = {"user": True}
TIMESTAMP = {"timestamp": True}
FILE_PATH = {"file_path": True}


# Every constraint and index gets a predictable name, so later Alembic revisions can drop or
# alter them on both backends (SQLite batch mode needs names to find unnamed constraints).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StudyRecord(Base):
    """The protocol this database was initialised with (one row)."""

    __tablename__ = "study"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(String(40), unique=True)
    protocol_yaml: Mapped[str] = mapped_column(Text)
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(400), info=FILE_PATH)  # a path may name a person's home folder
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    protocol_version: Mapped[int] = mapped_column(Integer, default=1)  # the version in force (protocol_versions)


class ProtocolVersion(Base):
    """Every version of the protocol (study file) the database has held; version 1 came with ``init``."""

    __tablename__ = "protocol_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    protocol_yaml: Mapped[str] = mapped_column(Text)
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(400), info=FILE_PATH)  # a path may name a person's home folder
    reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    created_by: Mapped[str] = mapped_column(String(80), info=USER_REF)
    created_at: Mapped[str] = mapped_column(String(32), info=TIMESTAMP)  # UTC ISO 8601


class SiteRecord(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))


class UserRecord(Base):
    """People who act on the data (attribution now, login later)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, info=USER_REF)
    full_name: Mapped[str | None] = mapped_column(String(200), info=IDENTIFYING)
    role: Mapped[str] = mapped_column(String(40), default="coordinator")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(40), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    initials: Mapped[str | None] = mapped_column(String(10), info=IDENTIFYING)
    hospital_number: Mapped[str | None] = mapped_column(String(40), info=IDENTIFYING)
    sex: Mapped[str] = mapped_column(String(1))  # M / F
    birth_year: Mapped[int] = mapped_column(Integer)
    ecog: Mapped[int] = mapped_column(Integer)  # baseline ECOG 0-4
    consent_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    enrolment_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    status: Mapped[str] = mapped_column(String(20), default="enrolled")  # enrolled / withdrawn
    withdrawal_date: Mapped[date | None] = mapped_column(Date, info=IDENTIFYING)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    protocol_version: Mapped[int] = mapped_column(Integer)  # the protocol version it was entered under


class EligibilityAnswer(Base):
    """The answer given at enrolment to one eligibility criterion of the study file."""

    __tablename__ = "eligibility_answers"
    __table_args__ = (UniqueConstraint("patient_id", "criterion"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    criterion: Mapped[str] = mapped_column(String(20))  # the criterion's code, e.g. I1, E2
    kind: Mapped[str] = mapped_column(String(10))  # inclusion / exclusion
    answer: Mapped[bool] = mapped_column(Boolean)  # inclusion met (yes) / exclusion applies (yes)
    protocol_version: Mapped[int] = mapped_column(Integer)


class Allocation(Base):
    __tablename__ = "allocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    group_code: Mapped[str] = mapped_column(String(10))
    allocation_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    protocol_version: Mapped[int] = mapped_column(Integer)


class Administration(Base):
    """One administration of the study product, as the dosing page of the case report form records it."""

    __tablename__ = "administrations"
    __table_args__ = (UniqueConstraint("patient_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based, in schedule order
    cycle: Mapped[int | None] = mapped_column(Integer)  # cycle and day, when the schedule has cycles
    cycle_day: Mapped[int | None] = mapped_column(Integer)
    planned_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    actual_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    dose: Mapped[float] = mapped_column(Float)  # in dose_unit
    dose_unit: Mapped[str] = mapped_column(String(20))  # the study's product.dose_unit (vocab/units.yaml)
    route: Mapped[str] = mapped_column(String(10))  # route codelist code (IV, PO, SC, ...)
    weight_kg: Mapped[float | None] = mapped_column(Float)  # body size used for a per-kg or per-m2 dose
    height_cm: Mapped[float | None] = mapped_column(Float)
    bsa_m2: Mapped[float | None] = mapped_column(Float)
    amount: Mapped[float | None] = mapped_column(Float)  # the same dose in another unit (total mg, cells/kg, ...)
    amount_unit: Mapped[str | None] = mapped_column(String(20))
    reduction: Mapped[int] = mapped_column(Integer, default=0)  # 0 = full dose; k = the regimen's k-th reduction
    modification_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)  # why the dose was reduced
    # a product lot may be made for one patient (cell products) and carry their subject id
    lot: Mapped[str | None] = mapped_column(String(60), info=IDENTIFYING)
    deviation: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)  # why it departs from the regimen, if it does
    protocol_version: Mapped[int] = mapped_column(Integer)


class AdverseEvent(Base):
    __tablename__ = "adverse_events"
    __table_args__ = (CheckConstraint("grade BETWEEN 1 AND 5", name="grade_1_to_5"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    term: Mapped[str] = mapped_column(String(200))  # CTCAE term
    # the verbatim term of an event recorded with a SOC's "Other, specify" term (empty for every other term)
    term_specify: Mapped[str | None] = mapped_column(String(200), info=FREE_TEXT)
    soc: Mapped[str] = mapped_column(String(200))  # MedDRA system organ class
    ctcae_version: Mapped[str] = mapped_column(String(10))
    grade: Mapped[int] = mapped_column(Integer)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    attribution: Mapped[str] = mapped_column(String(20))  # unrelated/unlikely/possible/probable/definite
    onset: Mapped[str] = mapped_column(String(16), info=IDENTIFYING)  # ISO 8601, may be partial
    resolution: Mapped[str | None] = mapped_column(String(16), info=IDENTIFYING)  # ISO 8601, may be partial
    outcome: Mapped[str] = mapped_column(String(40))  # recovered / recovering / not recovered / sequelae / fatal / unknown
    action: Mapped[str] = mapped_column(String(40), default="none")  # none / dose delayed / dose interrupted / dose reduced / dose discontinued / treatment discontinued ...
    dlt: Mapped[bool] = mapped_column(Boolean, default=False)
    protocol_version: Mapped[int] = mapped_column(Integer)


class TumourAssessment(Base):
    __tablename__ = "tumour_assessments"
    __table_args__ = (UniqueConstraint("patient_id", "assessment_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    assessment_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    modality: Mapped[str] = mapped_column(String(20))  # CT / MRI
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    investigator_response: Mapped[str | None] = mapped_column(String(4))  # CR/PR/SD/PD/NE as recorded
    protocol_version: Mapped[int] = mapped_column(Integer)


class Lesion(Base):
    __tablename__ = "lesions"
    __table_args__ = (UniqueConstraint("assessment_id", "lesion_label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("tumour_assessments.id"))
    lesion_label: Mapped[str] = mapped_column(String(20))  # stable across visits, e.g. T1, N1
    kind: Mapped[str] = mapped_column(String(12))  # target / non-target / new
    location: Mapped[str | None] = mapped_column(String(100), info=FREE_TEXT)
    viable_diameter_mm: Mapped[float | None] = mapped_column(Float)  # mRECIST viable; RECIST longest diameter
    # RECIST 1.1 lymph-node rule: a node is measured by its short axis (target: >= 15 mm at baseline;
    # under 10 mm it is non-pathological)
    node: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    short_axis_mm: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(20))  # non-target: present / absent / unequivocal progression


class OtherTherapy(Base):
    __tablename__ = "other_therapies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    therapy: Mapped[str] = mapped_column(String(60), info=FREE_TEXT)  # a code of the anticancer_therapy codelist, or 'other: ...'
    start_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    end_date: Mapped[date | None] = mapped_column(Date, info=IDENTIFYING)
    new_anticancer: Mapped[bool] = mapped_column(Boolean, default=True)  # counts for PFS censoring
    protocol_version: Mapped[int] = mapped_column(Integer)


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("patient_id", "contact_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    contact_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    status: Mapped[str] = mapped_column(String(10))  # alive / dead
    protocol_version: Mapped[int] = mapped_column(Integer)


class Death(Base):
    __tablename__ = "deaths"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    death_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    cause: Mapped[str] = mapped_column(String(200), info=FREE_TEXT)  # disease progression / adverse event / other / unknown
    protocol_version: Mapped[int] = mapped_column(Integer)


class ProtocolDeviation(Base):
    __tablename__ = "protocol_deviations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    deviation_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    category: Mapped[str] = mapped_column(String(60))  # dose / schedule / eligibility / assessment / other
    description: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    source_table: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(Integer)
    protocol_version: Mapped[int] = mapped_column(Integer)


class DoseDecision(Base):
    """A dose-escalation decision of the trial (capture's ``record_dose_decision``), sealed by the investigator.

    ``decision`` is escalate / stay / de-escalate / expand / stop; ``group_code`` the level it concerns
    (None for a stop). ``level_opened`` is the level it opens (escalate, expand); ``level_closed`` the lowest
    level it closes, every higher one closing with it (de-escalate, stop). ``recommendation`` is the
    design's recommendation it was made beside (canonical JSON; ``recommendation_text`` its one line).
    ``content_hash`` is the SHA-256 of the decision's content; the seal (``signed_by``, ``signed_at``,
    ``signature_hash`` = SHA-256 over the content hash, the signer and the time) is added by
    ``sign_dose_decision``. Only sealed decisions open or close levels.
    """

    __tablename__ = "dose_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    decision: Mapped[str] = mapped_column(String(12))
    group_code: Mapped[str | None] = mapped_column(String(10))
    level_opened: Mapped[str | None] = mapped_column(String(10))
    level_closed: Mapped[str | None] = mapped_column(String(10))
    rationale: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    decided_by: Mapped[str] = mapped_column(String(200), info=FREE_TEXT)  # the person or committee that decided
    investigator: Mapped[str] = mapped_column(String(80), info=USER_REF)  # the user who must seal it
    # the design's recommendation as JSON: it holds calendar dates (as-of), so a de-identified export drops it
    recommendation: Mapped[str | None] = mapped_column(Text, info=IDENTIFYING)
    recommendation_text: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    content_hash: Mapped[str] = mapped_column(String(64))
    signed_by: Mapped[str | None] = mapped_column(String(80), info=USER_REF)
    signed_at: Mapped[str | None] = mapped_column(String(32), info=TIMESTAMP)  # UTC ISO 8601
    signature_hash: Mapped[str | None] = mapped_column(String(64))
    protocol_version: Mapped[int] = mapped_column(Integer)


class MeetingPack(Base):
    """A frozen snapshot of the dose-escalation page for a committee meeting (capture's ``freeze_meeting_pack``).

    ``content`` is the canonical JSON of what the page showed on ``as_of`` and ``content_sha256`` its
    SHA-256 (printed on the pack); ``html`` and ``pdf_base64`` are the pack as rendered then, kept so a
    later download gives the same bytes (``pdf_sha256``). ``decision_id`` is the decision it was reviewed
    for, once one is recorded. Never changed otherwise: a new meeting makes a new pack.
    """

    __tablename__ = "meeting_packs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    created_at: Mapped[str] = mapped_column(String(32), info=TIMESTAMP)  # UTC ISO 8601
    created_by: Mapped[str] = mapped_column(String(80), info=USER_REF)
    # subject identifiers and dates: a de-identified export drops the pack
    content: Mapped[str] = mapped_column(Text, info=IDENTIFYING)
    content_sha256: Mapped[str] = mapped_column(String(64))
    html: Mapped[str] = mapped_column(Text, info=IDENTIFYING)
    pdf_base64: Mapped[str | None] = mapped_column(Text, info=IDENTIFYING)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    decision_id: Mapped[int | None] = mapped_column(Integer)


class FormRecord(Base):
    """One entry of a study-defined form for a patient (or the fields a study adds to one core record).

    Study forms: ``form`` is the form's name, ``visit`` the visit occurrence key (``SCR``, ``SCAN-2``)
    or None, ``instance`` 1 for a form entered once, 1, 2, ... for a repeating form. Fields added to a
    core form: ``form`` is the core form's name and ``core_table``/``core_id`` name the core record.
    The values are rows of ``form_values``.
    """

    __tablename__ = "form_records"
    __table_args__ = (Index(None, "patient_id", "form"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    form: Mapped[str] = mapped_column(String(40))
    visit: Mapped[str | None] = mapped_column(String(40))
    instance: Mapped[int] = mapped_column(Integer, default=1)
    visit_date: Mapped[date | None] = mapped_column(Date, info=IDENTIFYING)  # when the data were collected
    core_table: Mapped[str | None] = mapped_column(String(40))
    core_id: Mapped[int | None] = mapped_column(Integer)
    protocol_version: Mapped[int] = mapped_column(Integer)


class FormValue(Base):
    """One value of a form record, in the column of its field's type (the others stay NULL).

    text and choice: ``value_text`` (the code); integer: ``value_int``; decimal: ``value_num``; date:
    ``value_date``; partial date: ``value_text`` (ISO 8601, e.g. ``2015-03``); yes/no: ``value_bool``;
    multiple choice: one row per code chosen (``position`` 1, 2, ...; a single value has position 0).
    ``confirmed`` is true when the person confirmed a value outside the field's expected (soft) range.
    A blank value has no row.
    """

    __tablename__ = "form_values"
    __table_args__ = (UniqueConstraint("record_id", "field", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("form_records.id"))
    field: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    value_text: Mapped[str | None] = mapped_column(Text)
    value_int: Mapped[int | None] = mapped_column(BigInteger)
    value_num: Mapped[float | None] = mapped_column(Float)
    value_date: Mapped[date | None] = mapped_column(Date)
    value_bool: Mapped[bool | None] = mapped_column(Boolean)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


class FormNotDone(Base):
    """A form expected at a visit that was not done, and why (the expected-forms ledger reads it)."""

    __tablename__ = "forms_not_done"
    __table_args__ = (UniqueConstraint("patient_id", "visit", "form"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    visit: Mapped[str] = mapped_column(String(40))
    form: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    protocol_version: Mapped[int] = mapped_column(Integer)


class DataQuery(Base):
    """A question raised on a data point and its answer (the web app's query workflow)."""

    __tablename__ = "queries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / answered / closed
    raised_by: Mapped[str] = mapped_column(String(80), info=USER_REF)
    raised_at: Mapped[str] = mapped_column(String(32), info=TIMESTAMP)  # UTC ISO 8601
    answer: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    answered_by: Mapped[str | None] = mapped_column(String(80), info=USER_REF)
    answered_at: Mapped[str | None] = mapped_column(String(32), info=TIMESTAMP)


class AuditEntry(Base):
    """Append-only, keyed hash-chained log of every write (and of events: logins, identified exports...).
    Never updated or deleted. ``at_utc`` is the database server's clock where there is a server
    (PostgreSQL), the writer's on SQLite; ``writer_at_utc`` is always the writer's clock."""

    __tablename__ = "audit_log"
    # A patient's history and the replay of one record look entries up by these.
    __table_args__ = (Index(None, "subject_id"), Index(None, "table_name", "record_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # also the chain order
    at_utc: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(10))  # insert / update / delete
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[str | None] = mapped_column(String(40))  # for a patient's history
    old_values: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    new_values: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    reason: Mapped[str | None] = mapped_column(Text)
    software_version: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)
    writer_at_utc: Mapped[str | None] = mapped_column(String(32))  # None in entries older than revision 0004


class AuditKeyRecord(Base):
    """The fingerprint of the key the audit chain is keyed with (the key itself is never stored here).
    Append-only like the log; the newest row is the key in force."""

    __tablename__ = "audit_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at_utc: Mapped[str] = mapped_column(String(32))
    entries_at_creation: Mapped[int] = mapped_column(Integer)  # log length when keyed (re-keyed entries)


# Data tables in dependency order (parents first): the order import, export and replay use.
DATA_TABLES = [
    StudyRecord,
    ProtocolVersion,
    SiteRecord,
    UserRecord,
    Patient,
    EligibilityAnswer,
    Allocation,
    Administration,
    AdverseEvent,
    TumourAssessment,
    Lesion,
    OtherTherapy,
    FollowUp,
    Death,
    ProtocolDeviation,
    FormRecord,
    FormValue,
    FormNotDone,
    DataQuery,
    DoseDecision,
    MeetingPack,
]

# Tables earlier versions had: their audit entries stay in the log and still replay (the upgrade that
# retired each wrote the audited deletes), so ``audit verify`` knows their names.
RETIRED_TABLES = ("infusions",)

# The tables of earlyphase.access (credentials, role grants, web sessions) share this schema but are
# not data tables: not exported, audited as events (see access_tables.py).
from earlyphase.records.access_tables import ACCESS_TABLES  # noqa: E402  (needs Base, defined above)
# Signatures, locks and verification flags: not data either (not exported), audited as events.
from earlyphase.records.review_tables import REVIEW_TABLES  # noqa: E402

# SQLite hands the largest id out again after that row is deleted; with AUTOINCREMENT it never
# reuses one (PostgreSQL sequences never do), so an id in the audit log names one record forever.
for _table in Base.metadata.tables.values():
    _table.dialect_kwargs["sqlite_autoincrement"] = True
