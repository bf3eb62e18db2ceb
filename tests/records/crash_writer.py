"""A writer for the crash test: a stream of units of work, each acknowledged after its commit.

Run as ``python crash_writer.py DB_URL FIRST_NUMBER``. For n = FIRST_NUMBER, FIRST_NUMBER+1, ...
it writes one unit of work in one transaction (a patient, the patient's allocation and an
adverse event, each with its audit entry, as enrolment + allocation + an AE form would) and
only after the commit returns prints ``ack SUBJECT`` and flushes. It never stops by itself:
the test kills it with SIGKILL.
"""

from __future__ import annotations

import sys
from datetime import date

from earlyphase.records import make_engine, transaction, write_audit
from earlyphase.records.tables import AdverseEvent, Allocation, Patient, SiteRecord

SUBJECT_FORMAT = "CR-{:05d}"


def write_unit(engine, site_id: int, n: int) -> str:
    subject = SUBJECT_FORMAT.format(n)
    with transaction(engine) as s:
        patient = Patient(
            subject_id=subject, site_id=site_id, sex="F" if n % 2 else "M", birth_year=1950 + n % 30,
            ecog=n % 2, child_pugh="A", transplant_date=date(2010, 1, 1), recurrence_date=date(2014, 1, 1),
            consent_date=date(2015, 1, 1), enrolment_date=date(2015, 1, 2),
        )
        s.add(patient)
        s.flush()
        write_audit(s, "insert", patient, username="crash-writer", subject_id=subject)
        allocation = Allocation(patient_id=patient.id, group_code="ABCD"[n % 4], allocation_date=date(2015, 1, 2))
        s.add(allocation)
        s.flush()
        write_audit(s, "insert", allocation, username="crash-writer", subject_id=subject)
        event = AdverseEvent(
            patient_id=patient.id, term="Fever", soc="General disorders and administration site conditions",
            ctcae_version="4.03", grade=1, attribution="probable", onset="2015-02-01", outcome="recovered",
        )
        s.add(event)
        s.flush()
        write_audit(s, "insert", event, username="crash-writer", subject_id=subject)
    return subject


def main() -> None:
    url, first = sys.argv[1], int(sys.argv[2])
    engine = make_engine(url)
    with transaction(engine) as s:
        site_id = s.query(SiteRecord.id).filter_by(code="CRASH").scalar()
    n = first
    while True:
        subject = write_unit(engine, site_id, n)
        sys.stdout.write(f"ack {subject}\n")
        sys.stdout.flush()
        n += 1


if __name__ == "__main__":
    main()
