"""A writer for the crash test: a stream of real capture actions, each unit acknowledged after its commit.

Run as ``python crash_writer.py DB_URL FIRST_NUMBER`` (or call ``stream`` in a forked child) on a database made by
``earlyphase.capture.setup.initialise``. For n = FIRST_NUMBER, FIRST_NUMBER+1, ... it runs, in one
``Trial.batch()`` (one transaction), the forms of one new patient: enrolment, allocation, an adverse
event and a baseline tumour assessment with two lesions; that is 6 data rows and 6 audit entries.
Only after the batch has committed does it print ``ack SUBJECT`` and flush. It never stops by
itself: the test kills it with SIGKILL.
"""

from __future__ import annotations

import sys
from datetime import date

from earlyphase.capture.trial import Trial

SUBJECT_FORMAT = "CR-{:05d}"
TODAY = date(2017, 12, 31)  # the capture checks refuse future dates; fix "today" so the run is reproducible
USERNAME = "crash-writer"


def write_unit(trial: Trial, site: str, n: int) -> str:
    subject = SUBJECT_FORMAT.format(n)
    with trial.batch() as b:
        b.enrol_patient(subject, site, "F" if n % 2 else "M", 1950 + n % 30, n % 2, "2015-01-05",
                        eligibility={"I1": True, "I2": True, "E1": False})
        b.allocate_patient(subject, "ABCD"[n % 4], "2015-01-06")
        b.record_adverse_event(subject, "Fever", 1, "2015-01-20T18:00", "probable", "recovered",
                               resolution="2015-01-21")
        b.record_tumour_assessment(subject, "2015-01-04", "CT", [
            {"label": "T1", "kind": "target", "viable_diameter_mm": 20.0 + n % 7, "location": "liver"},
            {"label": "N1", "kind": "non-target", "status": "present"},
        ], baseline=True)
    return subject


def stream(url: str, first: int, out) -> None:
    """Write units n = first, first+1, ... forever, printing ``ack SUBJECT`` to ``out`` after each commit."""
    trial = Trial.open(url, USERNAME, today=TODAY)
    site = trial.study.sites[0].code
    n = first
    while True:
        subject = write_unit(trial, site, n)
        out.write(f"ack {subject}\n")
        out.flush()
        n += 1


def main() -> None:
    stream(sys.argv[1], int(sys.argv[2]), sys.stdout)


if __name__ == "__main__":
    main()
