"""What a de-identified export does to each column, and the context it needs (reference dates, pseudonyms).

Treatments (decided from the schema's column ``info`` and the study's field flags, see ``records.tables``):

- ``subject``: the site's subject id becomes its pseudonym; the database's own patient ids
  (``patients.id``, ``patient_id``) are removed, since anyone with the database maps them back;
- ``age_band``: the birth year becomes the age band at enrolment (``age_band`` column);
- ``study_day``: an identifying date becomes ``<column>_study_day`` (CDISC: reference date = day 1,
  no day 0); AE onset/resolution also keep their clock time (``<column>_time``);
- ``timestamp``: a UTC timestamp (a query raised or answered) becomes ``<column>_study_day`` of the
  patient whose record it is about (empty when the record belongs to no patient); timestamps of no
  patient (a protocol version's) are removed;
- ``user``: a username becomes the user's pseudonym (``U-...``), the same in every file;
- ``free_text``: scrubbed by the named scrubber (``earlyphase.privacy.scrub``), or removed with
  ``free_text="drop"``;
- ``remove``: any other identifying column.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from earlyphase.privacy.scrub import scrub_dates
from earlyphase.privacy import KnownIdentifiers, Pseudonymiser, age_band, age_from_birth_year, scrub_text
from earlyphase.records import tables as t

FREE_TEXT_POLICIES = ("scrub", "drop")


def study_day(value: date | None, reference: date | None) -> int | None:
    """CDISC study day of ``value`` relative to ``reference`` (reference = day 1; no day 0)."""
    if value is None or reference is None:
        return None
    delta = (value - reference).days
    return delta + 1 if delta >= 0 else delta


def timestamp_date(text: str | None) -> date | None:
    """The UTC calendar date of an ISO 8601 timestamp text (None when it is not one)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).date()
    except ValueError:
        return None


@dataclass
class Deidentifier:
    """The per-export context: reference dates, pseudonyms, what the scrubber knows, and what it did."""

    pseudonyms: Pseudonymiser
    free_text: str = "scrub"
    age_band_width: int = 10
    refs: dict[int, date] = field(default_factory=dict)  # patient id -> study day 1
    subjects: dict[int, str] = field(default_factory=dict)  # patient id -> site subject id
    enrolment_year: dict[int, int] = field(default_factory=dict)
    known: KnownIdentifiers = field(default_factory=KnownIdentifiers)
    record_patient: dict[tuple[str, int], int] = field(default_factory=dict)  # (table, id) -> patient id
    scrubbed: dict[str, dict[str, Counter]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Counter)))

    @classmethod
    def from_session(cls, session, pseudonyms: Pseudonymiser, refs: dict[int, date], free_text: str = "scrub",
                     age_band_width: int = 10) -> "Deidentifier":
        d = cls(pseudonyms, free_text, age_band_width, refs)
        numbers, initials = set(), set()
        for pid, subject, enrolled, hospital, inits in session.execute(select(
                t.Patient.id, t.Patient.subject_id, t.Patient.enrolment_date, t.Patient.hospital_number,
                t.Patient.initials)):
            d.subjects[pid] = subject
            d.enrolment_year[pid] = enrolled.year if enrolled else None
            if hospital:
                numbers.add(hospital)
            if inits and len(inits.strip()) >= 2:
                initials.add(inits.strip())
        users: dict[str, str] = {}
        for username, full_name in session.execute(select(t.UserRecord.username, t.UserRecord.full_name)):
            users[username] = pseudonyms.user(username)
            if full_name and len(full_name.strip()) >= 3:
                users[full_name.strip()] = users[username]
        d.known = KnownIdentifiers(subjects={s: pseudonyms.subject(s) for s in d.subjects.values()}, users=users,
                                   numbers=frozenset(numbers), initials=frozenset(initials))
        d._map_records(session)
        return d

    def _map_records(self, session) -> None:
        """(table, record id) -> patient, for the records queries point at."""
        for cls in t.DATA_TABLES:
            table = cls.__table__
            if "patient_id" in table.columns:
                for rid, pid in session.execute(select(table.c.id, table.c.patient_id)):
                    self.record_patient[(table.name, rid)] = pid
        for pid in self.subjects:
            self.record_patient[("patients", pid)] = pid
        for lid, pid in session.execute(select(t.Lesion.id, t.TumourAssessment.patient_id).join(
                t.TumourAssessment, t.Lesion.assessment_id == t.TumourAssessment.id)):
            self.record_patient[("lesions", lid)] = pid
        for vid, pid in session.execute(select(t.FormValue.id, t.FormRecord.patient_id).join(
                t.FormRecord, t.FormValue.record_id == t.FormRecord.id)):
            self.record_patient[("form_values", vid)] = pid

    # -- values -----------------------------------------------------------------------------------------
    def subject(self, patient_id: int | None) -> str | None:
        subject = self.subjects.get(patient_id) if patient_id is not None else None
        return self.pseudonyms.subject(subject) if subject is not None else None

    def user(self, username: str | None) -> str | None:
        return self.pseudonyms.user(username) if username else None

    def age_band(self, patient_id: int | None, birth_year: int | None) -> str | None:
        return age_band(age_from_birth_year(birth_year, self.enrolment_year.get(patient_id)), self.age_band_width)

    def scrub(self, file: str, column: str, value: Any, patient_id: int | None) -> Any:
        if not isinstance(value, str) or not value:
            return value
        result = scrub_text(value, self.known, self.refs.get(patient_id) if patient_id is not None else None)
        self.scrubbed[file][column].update(result.counts)
        return result.text

    def scrub_dates(self, file: str, column: str, value: str, patient_id: int | None) -> str:
        result = scrub_dates(value, self.refs.get(patient_id) if patient_id is not None else None)
        self.scrubbed[file][column].update(result.counts)
        return result.text

    def query_patient(self, row: Any) -> int | None:
        return self.record_patient.get((row.get("table_name"), row.get("record_id")))

    def scrub_report(self) -> dict[str, dict[str, dict[str, int]]]:
        """file -> column -> kind -> replacements (only where something was replaced)."""
        return {f: {c: dict(sorted(k.items())) for c, k in cols.items() if k} for f, cols in sorted(self.scrubbed.items())
                if any(cols.values())}
