"""The subject roster: every patient of the sites asked for, with status and dose level.

A door passes the sites the user may see (``earlyphase.access.sites_for``); patients of any other site
are never read, so they cannot leak into a list, a count or a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from earlyphase.records.database import read_session
from earlyphase.records.tables import Allocation, Patient, SiteRecord


@dataclass(frozen=True)
class RosterRow:
    subject_id: str
    site: str
    status: str  # enrolled / withdrawn
    group: str | None  # the dose level allocated, None before allocation
    enrolment_date: date

    def to_dict(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "site": self.site, "status": self.status, "group": self.group,
                "enrolment_date": self.enrolment_date.isoformat()}


def subject_roster(engine: Engine, sites: Any) -> list[RosterRow]:
    """Patients of ``sites`` (a collection of site codes, or anything containing every code), by site and subject."""
    with read_session(engine) as session:
        codes = [c for c in session.execute(select(SiteRecord.code)).scalars() if c in sites]
        if not codes:
            return []
        rows = session.execute(
            select(Patient.subject_id, SiteRecord.code, Patient.status, Allocation.group_code, Patient.enrolment_date)
            .join(SiteRecord, SiteRecord.id == Patient.site_id)
            .outerjoin(Allocation, Allocation.patient_id == Patient.id)
            .where(SiteRecord.code.in_(codes))
            .order_by(SiteRecord.code, Patient.subject_id)
        ).all()
    return [RosterRow(*row) for row in rows]


def subject_site(engine: Engine, subject_id: str) -> str | None:
    """The site code of a subject, or None when there is no such subject."""
    with read_session(engine) as session:
        return session.execute(select(SiteRecord.code).join(Patient, Patient.site_id == SiteRecord.id)
                               .where(Patient.subject_id == subject_id)).scalar_one_or_none()


def casebook_visits(ledger: Any, subject_id: str) -> list[tuple[str, str, list[Any]]]:
    """One subject's expected forms from the ledger, by visit in schedule order: (visit, label, entries)."""
    visits: dict[str, tuple[str, str, list[Any]]] = {}
    for entry in sorted((e for e in ledger.entries if e.subject_id == subject_id), key=lambda e: (e.planned, e.visit)):
        visits.setdefault(entry.visit, (entry.visit, entry.visit_label, []))[2].append(entry)
    return list(visits.values())
