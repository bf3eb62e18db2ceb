"""The trial database: one SQLAlchemy 2 schema for SQLite and PostgreSQL.

Conventions (the contract for capture, derive, interop and the web app):
- Calendar dates are ``Date``. Adverse-event onset/resolution are ISO 8601 text that may be
  partial, as reported (``2015-03``, ``2015-03-04``, ``2015-03-04T14:30``), the way SDTM stores
  --DTC; derive imputes and flags. Audit timestamps are UTC ISO 8601 text.
- Doses are in cells (float); cells/kg optional.
- Every data row is written only through ``earlyphase.capture`` and audited in ``audit_log``.
- Fields marked ``IDENTIFYING`` (``info={"identifying": True}``) are removed by de-identified exports.
"""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import (
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
    source: Mapped[str] = mapped_column(String(400))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


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
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
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
    child_pugh: Mapped[str] = mapped_column(String(1))  # A / B / C
    child_pugh_score: Mapped[int | None] = mapped_column(Integer)  # 5-15
    afp_ng_ml: Mapped[float | None] = mapped_column(Float)  # baseline AFP, ng/mL
    weight_kg: Mapped[float | None] = mapped_column(Float)
    transplant_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    recurrence_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    consent_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    enrolment_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    status: Mapped[str] = mapped_column(String(20), default="enrolled")  # enrolled / withdrawn
    withdrawal_date: Mapped[date | None] = mapped_column(Date, info=IDENTIFYING)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class Allocation(Base):
    __tablename__ = "allocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    group_code: Mapped[str] = mapped_column(String(10))
    allocation_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)


class Infusion(Base):
    __tablename__ = "infusions"
    __table_args__ = (UniqueConstraint("patient_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based infusion number in the regimen
    planned_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    actual_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    dose_cells: Mapped[float] = mapped_column(Float)
    dose_cells_per_kg: Mapped[float | None] = mapped_column(Float)
    lot: Mapped[str | None] = mapped_column(String(60))
    deviation: Mapped[str | None] = mapped_column(Text)  # why it departs from the regimen, if it does


class AdverseEvent(Base):
    __tablename__ = "adverse_events"
    __table_args__ = (CheckConstraint("grade BETWEEN 1 AND 5", name="grade_1_to_5"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    term: Mapped[str] = mapped_column(String(200))  # CTCAE term
    # the verbatim term of an event recorded with a SOC's "Other, specify" term (empty for every other term)
    term_specify: Mapped[str | None] = mapped_column(String(200))
    soc: Mapped[str] = mapped_column(String(200))  # MedDRA system organ class
    ctcae_version: Mapped[str] = mapped_column(String(10))
    grade: Mapped[int] = mapped_column(Integer)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    attribution: Mapped[str] = mapped_column(String(20))  # unrelated/unlikely/possible/probable/definite
    onset: Mapped[str] = mapped_column(String(16), info=IDENTIFYING)  # ISO 8601, may be partial
    resolution: Mapped[str | None] = mapped_column(String(16), info=IDENTIFYING)  # ISO 8601, may be partial
    outcome: Mapped[str] = mapped_column(String(40))  # recovered / recovering / not recovered / sequelae / fatal / unknown
    action: Mapped[str] = mapped_column(String(40), default="none")  # none / infusion delayed / interrupted / discontinued ...
    dlt: Mapped[bool] = mapped_column(Boolean, default=False)


class TumourAssessment(Base):
    __tablename__ = "tumour_assessments"
    __table_args__ = (UniqueConstraint("patient_id", "assessment_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    assessment_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    modality: Mapped[str] = mapped_column(String(20))  # CT / MRI
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    investigator_response: Mapped[str | None] = mapped_column(String(4))  # CR/PR/SD/PD/NE as recorded


class Lesion(Base):
    __tablename__ = "lesions"
    __table_args__ = (UniqueConstraint("assessment_id", "lesion_label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("tumour_assessments.id"))
    lesion_label: Mapped[str] = mapped_column(String(20))  # stable across visits, e.g. T1, N1
    kind: Mapped[str] = mapped_column(String(12))  # target / non-target / new
    location: Mapped[str | None] = mapped_column(String(100))
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
    therapy: Mapped[str] = mapped_column(String(60))  # sorafenib / TACE / resection / RFA / radiotherapy / ...
    start_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    end_date: Mapped[date | None] = mapped_column(Date, info=IDENTIFYING)
    new_anticancer: Mapped[bool] = mapped_column(Boolean, default=True)  # counts for PFS censoring


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("patient_id", "contact_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    contact_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    status: Mapped[str] = mapped_column(String(10))  # alive / dead


class Death(Base):
    __tablename__ = "deaths"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    death_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    cause: Mapped[str] = mapped_column(String(200))  # disease progression / adverse event / other / unknown


class ProtocolDeviation(Base):
    __tablename__ = "protocol_deviations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    deviation_date: Mapped[date] = mapped_column(Date, info=IDENTIFYING)
    category: Mapped[str] = mapped_column(String(60))  # dose / schedule / eligibility / assessment / other
    description: Mapped[str] = mapped_column(Text)
    source_table: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(Integer)


class DataQuery(Base):
    """A question raised on a data point and its answer (the web app's query workflow)."""

    __tablename__ = "queries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / answered / closed
    raised_by: Mapped[str] = mapped_column(String(80))
    raised_at: Mapped[str] = mapped_column(String(32))  # UTC ISO 8601
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answered_at: Mapped[str | None] = mapped_column(String(32))


class AuditEntry(Base):
    """Append-only, hash-chained log of every write. Never updated or deleted."""

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


# Data tables in dependency order (parents first): the order import, export and replay use.
DATA_TABLES = [
    StudyRecord,
    SiteRecord,
    UserRecord,
    Patient,
    Allocation,
    Infusion,
    AdverseEvent,
    TumourAssessment,
    Lesion,
    OtherTherapy,
    FollowUp,
    Death,
    ProtocolDeviation,
    DataQuery,
]

# SQLite hands the largest id out again after that row is deleted; with AUTOINCREMENT it never
# reuses one (PostgreSQL sequences never do), so an id in the audit log names one record forever.
for _table in Base.metadata.tables.values():
    _table.dialect_kwargs["sqlite_autoincrement"] = True
