"""Tables of data review: e-signatures, locks and source-data verification flags.

They sit beside the data tables but are not data: not exported nor imported, and each change is
audited as an event (``signature``, ``lock``, ``unlock``, ``source_verified``) naming the subject. A
signature and a verification keep a SHA-256 of exactly the records they cover (``capture.review``
makes it), so a later change to those records shows: the signature is void, the flag cleared.
Timestamps are UTC ISO 8601 text.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from earlyphase.records.tables import FREE_TEXT, IDENTIFYING, TIMESTAMP, USER_REF, Base


class Signature(Base):
    """An investigator's signature (21 CFR 11.50): who (printed name), when, what it means, and over what.

    ``scope`` is form / visit / casebook; ``form`` and ``visit`` name the form (and its visit) or the visit
    signed. ``content_hash`` is the SHA-256 of the canonical serialisation of the signed records;
    ``signature_hash`` binds it to the signer, the meaning and the time (11.70: not movable to other data).
    """

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(12))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    form: Mapped[str | None] = mapped_column(String(40))
    visit: Mapped[str | None] = mapped_column(String(40))
    meaning: Mapped[str] = mapped_column(String(40))
    signer: Mapped[str] = mapped_column(String(80), info=USER_REF)
    printed_name: Mapped[str] = mapped_column(String(200), info=IDENTIFYING)
    signed_at: Mapped[str] = mapped_column(String(32), info=TIMESTAMP)
    records: Mapped[int] = mapped_column(Integer)  # how many records the hash covers
    content_hash: Mapped[str] = mapped_column(String(64))
    signature_hash: Mapped[str] = mapped_column(String(64))


class DataLock(Base):
    """A lock on one form of a subject, a whole subject, or the whole database (``patient_id`` NULL).

    Active while ``unlocked_at`` is NULL; an unlock keeps the row and says who, when and why.
    """

    __tablename__ = "data_locks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(12))  # form / subject / database
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    form: Mapped[str | None] = mapped_column(String(40))
    visit: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, info=FREE_TEXT)
    locked_by: Mapped[str] = mapped_column(String(80), info=USER_REF)
    locked_at: Mapped[str] = mapped_column(String(32), info=TIMESTAMP)
    unlocked_by: Mapped[str | None] = mapped_column(String(80), info=USER_REF)
    unlocked_at: Mapped[str | None] = mapped_column(String(32), info=TIMESTAMP)
    unlock_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)


class SourceVerification(Base):
    """A monitor's flag that a form (or one field of it) matches the source documents.

    ``content_hash`` covers what was verified; when the records change the flag reads as cleared.
    """

    __tablename__ = "source_verifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    form: Mapped[str] = mapped_column(String(40))
    visit: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[str] = mapped_column(String(80), info=USER_REF)
    verified_at: Mapped[str] = mapped_column(String(32), info=TIMESTAMP)


REVIEW_TABLES = (Signature, DataLock, SourceVerification)
