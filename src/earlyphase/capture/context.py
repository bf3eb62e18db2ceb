"""The context every capture action runs in: one session, the study (and its protocol version), who acts,
today's date, and the reason written into the audit trail of every insert (an import names its file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from earlyphase.protocol import Study
from earlyphase.records.tables import Administration, Allocation, Death, Patient, SiteRecord
from earlyphase.vocab import CtcaeDictionary, bundled_ctcae, load_ctcae_excel


@dataclass
class CaptureContext:
    """What a capture action needs: an open session (the caller owns the transaction), the
    study as designed, the acting user's name, and today's date (injectable for tests).
    ``protocol_version`` is the version of the study file in force (every record carries it);
    ``reason``, when set, is written into the audit entry of every record the actions insert (an
    import sets it to the file and its SHA-256).

    Many actions may share one context, and so one transaction (an import is all-or-nothing).
    """

    session: Session
    study: Study
    username: str
    today: date = field(default_factory=date.today)
    ctcae: CtcaeDictionary | None = None
    protocol_version: int = 1
    reason: str | None = None

    def __post_init__(self) -> None:
        if (not isinstance(self.username, str) or not self.username.strip() or len(self.username) > 80
                or any(not c.isprintable() for c in self.username) or self.username != self.username.strip()):
            # A newline or control character would let one name pass for two lines of the audit trail.
            from earlyphase.errors import InputError

            raise InputError.single("username", self.username, "username",
                                    "every change is attributed to a person: give a user name of 1 to 80 "
                                    "printable characters on one line, without leading or trailing spaces")
        if self.ctcae is None:
            self.ctcae = ctcae_for_study(self.study)


def ctcae_for_study(study: Study, base_dir: str | Path | None = None) -> CtcaeDictionary:
    """The study's CTCAE dictionary: NCI's Excel file if the study names one, else the bundled terms.

    A relative ``ctcae_file`` is found beside the study file (``base_dir``), else in the working directory.
    """
    if study.ctcae_file:
        path = Path(study.ctcae_file).expanduser()
        if not path.is_absolute() and base_dir is not None and (Path(base_dir) / path).is_file():
            path = Path(base_dir) / path
        return _excel_dictionary(str(path.resolve()), study.ctcae_version)
    return bundled_ctcae(study.ctcae_version)


def study_base_dir(origin: str | None) -> Path | None:
    """The folder of the study file a study was read from (None for a bundled study)."""
    if not origin or origin.startswith("bundled:") or origin.startswith("<"):
        return None
    return Path(origin).expanduser().resolve().parent


@lru_cache(maxsize=4)
def _excel_dictionary(path: str, version: str) -> CtcaeDictionary:
    return load_ctcae_excel(path, version=version)


# -- look-ups shared by the actions ----------------------------------------------------------------
def find_patient(ctx: CaptureContext, subject_id: str) -> Patient | None:
    return ctx.session.execute(select(Patient).where(Patient.subject_id == subject_id)).scalar_one_or_none()


def find_site(ctx: CaptureContext, code: str) -> SiteRecord | None:
    return ctx.session.execute(select(SiteRecord).where(SiteRecord.code == code)).scalar_one_or_none()


def allocation_of(ctx: CaptureContext, patient: Patient) -> Allocation | None:
    return ctx.session.execute(select(Allocation).where(Allocation.patient_id == patient.id)).scalar_one_or_none()


def death_of(ctx: CaptureContext, patient: Patient) -> Death | None:
    return ctx.session.execute(select(Death).where(Death.patient_id == patient.id)).scalar_one_or_none()


def administrations_of(ctx: CaptureContext, patient: Patient) -> list[Administration]:
    """The patient's administrations of the study product, in schedule order."""
    return list(ctx.session.execute(
        select(Administration).where(Administration.patient_id == patient.id).order_by(Administration.number)
    ).scalars())


def first_dose_date(ctx: CaptureContext, patient: Patient) -> date | None:
    """The date of the patient's first administration of the study product, or None."""
    return min((a.actual_date for a in administrations_of(ctx, patient)), default=None)


def ensure_user(ctx: CaptureContext) -> None:
    """Refuse a write by anyone but a known, enabled account: every change is attributed to a person.

    Accounts are made by ``earlyphase user add`` (or, for the founder, by ``init``); nothing here
    invents one, so a mistyped ``--user`` cannot slip a stranger's name into the audit trail.
    """
    from earlyphase.access.accounts import known_account

    known_account(ctx.session, ctx.username)
