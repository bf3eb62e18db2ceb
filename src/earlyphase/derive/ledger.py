"""The expected-forms ledger: every form the visit schedule expects of every patient, and where it stands.

For each patient and each visit occurrence of the study's schedule (anchored on the patient's
enrolment, allocation, first dose or cycle starts; repeating visits stop at progression when the
visit says so, and every visit at death or withdrawal), each expected form is:

- ``entered``: a study form recorded at that visit (its visit key), or a core record dated inside the
  visit's window (enrolment, allocation, administration, tumour assessment, follow-up contact; the
  eligibility answers of the enrolment);
- ``not done``: recorded as not done, with the reason;
- ``overdue``: neither, and the window closed before the ledger's date;
- ``due``: neither, and the window is open;
- ``upcoming``: the window opens later (only the next occurrence of a repeating visit is listed).

Progression is the first visit whose overall response (ADRS, derived from the lesions) is PD.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

STATUSES = ("entered", "not done", "overdue", "due", "upcoming")
_CORE_DATES = {
    "enrolment": ("patients", "enrolment_date"),
    "allocation": ("allocations", "allocation_date"),
    "administration": ("administrations", "actual_date"),
    "tumour_assessment": ("tumour_assessments", "assessment_date"),
    "follow_up": ("follow_ups", "contact_date"),
}


@dataclass(frozen=True)
class LedgerEntry:
    """One form expected of one patient at one visit occurrence."""

    subject_id: str
    site: str | None
    visit: str  # occurrence key, e.g. SCAN-2
    visit_label: str
    form: str
    planned: date
    earliest: date
    latest: date
    status: str
    record: str | None = None  # table#id of the record that satisfies it
    reason: str | None = None  # why it was not done

    def to_dict(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "site": self.site, "visit": self.visit, "visit_label": self.visit_label,
                "form": self.form, "planned": self.planned.isoformat(), "earliest": self.earliest.isoformat(),
                "latest": self.latest.isoformat(), "status": self.status, "record": self.record,
                "reason": self.reason}


@dataclass(frozen=True)
class Ledger:
    """The expected-forms ledger of a study as of one date."""

    study_id: str
    as_of: date
    entries: tuple[LedgerEntry, ...]

    def counts(self) -> dict[str, int]:
        found = Counter(e.status for e in self.entries)
        return {s: found.get(s, 0) for s in STATUSES}

    def missing(self) -> list[LedgerEntry]:
        """Overdue forms (window closed, neither entered nor marked not done), by site, subject and date."""
        return sorted((e for e in self.entries if e.status == "overdue"),
                      key=lambda e: (e.site or "", e.subject_id, e.planned, e.form))

    def summary(self) -> str:
        counts = self.counts()
        lines = [f"Expected forms of study {self.study_id} as of {self.as_of}: "
                 + ", ".join(f"{n} {s}" for s, n in counts.items())]
        by_site: dict[str, dict[str, list[LedgerEntry]]] = defaultdict(lambda: defaultdict(list))
        for e in self.entries:
            if e.status in ("overdue", "due"):
                by_site[e.site or "-"][e.subject_id].append(e)
        if not by_site:
            lines.append("Nothing overdue or due.")
        for site in sorted(by_site):
            subjects = by_site[site]
            n_overdue = sum(1 for es in subjects.values() for e in es if e.status == "overdue")
            lines.append(f"site {site}: {n_overdue} overdue")
            for subject in sorted(subjects):
                lines.append(f"  {subject}")
                for e in sorted(subjects[subject], key=lambda e: (e.planned, e.form)):
                    days = (self.as_of - e.latest).days
                    when = f"{days} days overdue" if e.status == "overdue" else f"due by {e.latest}"
                    lines.append(f"    {e.visit:<10} {e.form:<20} planned {e.planned} (window {e.earliest} to "
                                 f"{e.latest}): {when}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {"study_id": self.study_id, "as_of": self.as_of.isoformat(), "counts": self.counts(),
                "overdue": [e.to_dict() for e in self.missing()],
                "entries": [e.to_dict() for e in self.entries]}

    def to_frame(self):
        import pandas as pd

        columns = list(LedgerEntry.__dataclass_fields__)
        return pd.DataFrame([e.to_dict() for e in self.entries], columns=columns)


def expected_forms(source, as_of: date | None = None) -> Ledger:
    """The ledger of a study's source data (``SourceData``) as of ``as_of`` (default: today)."""
    import pandas as pd

    from earlyphase.derive.adrs import derive_adrs
    from earlyphase.derive.adsl import derive_adsl
    from earlyphase.protocol.schedule import patient_anchors, visit_occurrences

    study, tables = source.study, source.tables
    today = as_of or date.today()
    patients = tables["patients"]
    sites = dict(zip(tables["sites"]["id"], tables["sites"]["code"])) if not tables["sites"].empty else {}
    progression: dict[int, date] = {}
    if not patients.empty and study.visits:
        adsl = derive_adsl(tables, study, None)
        adrs = derive_adrs(tables, adsl, study, None)
        if not adrs.empty:
            pd_rows = adrs[(adrs["PARAMCD"] == "OVRLRESP") & (adrs["AVALC"] == "PD")]
            by_subject = dict(zip(adsl["USUBJID"], adsl["SRCSEQ"]))
            for usubjid, first in pd_rows.groupby("USUBJID")["ADT"].min().items():
                progression[int(by_subject[usubjid])] = first.date()

    def day(value) -> date | None:
        return None if value is None or pd.isna(value) else pd.Timestamp(value).date()

    def by_patient(name: str):
        frame = source.table(name)
        return {pid: rows for pid, rows in frame.groupby("patient_id")} if not frame.empty else {}

    allocations = by_patient("allocations")
    doses = by_patient("administrations")
    deaths = by_patient("deaths")
    records = source.table("form_records")
    study_records = records[records["core_table"].isna()] if not records.empty else records
    not_done = source.table("forms_not_done")
    answers = source.table("eligibility_answers")
    answered = set(answers["patient_id"]) if not answers.empty else set()
    core_frames = {form: by_patient(table) if table != "patients" else None
                   for form, (table, _) in _CORE_DATES.items()}
    entries: list[LedgerEntry] = []
    for p in patients.itertuples(index=False):
        pid = p.id
        alloc = allocations.get(pid)
        dose_rows = doses.get(pid)
        death = deaths.get(pid)
        anchors = patient_anchors(
            enrolment=day(p.enrolment_date),
            allocation=day(alloc["allocation_date"].iloc[0]) if alloc is not None else None,
            administrations=[] if dose_rows is None else [
                (day(r.actual_date), None if pd.isna(r.cycle) else int(r.cycle),
                 None if pd.isna(r.cycle_day) else int(r.cycle_day)) for r in dose_rows.itertuples(index=False)],
            death=day(death["death_date"].iloc[0]) if death is not None else None,
            withdrawal=day(p.withdrawal_date), progression=progression.get(pid))
        for visit in study.visits:
            for occ in visit_occurrences(visit, anchors, horizon=today):
                for form in visit.forms:
                    status, record, reason = _status(form, occ, pid, p, study_records, not_done, answered,
                                                     core_frames, day, today)
                    entries.append(LedgerEntry(p.subject_id, sites.get(p.site_id), occ.key, visit.label, form,
                                               occ.planned, occ.earliest, occ.latest, status, record, reason))
    return Ledger(study.study_id, today, tuple(entries))


def _status(form, occ, pid, patient, study_records, not_done, answered, core_frames, day, today):
    if not not_done.empty:
        hit = not_done[(not_done["patient_id"] == pid) & (not_done["visit"] == occ.key) & (not_done["form"] == form)]
        if not hit.empty:
            return "not done", f"forms_not_done#{int(hit['id'].iloc[0])}", hit["reason"].iloc[0]
    record = None
    if form == "eligibility":
        record = "patients#%d" % pid if pid in answered else None
    elif form == "enrolment":
        when = day(patient.enrolment_date)
        record = f"patients#{pid}" if when is not None and occ.earliest <= when <= occ.latest else None
    elif form in _CORE_DATES:
        table, column = _CORE_DATES[form]
        rows = core_frames[form].get(pid)
        if rows is not None:
            for r in rows.itertuples(index=False):
                when = day(getattr(r, column))
                if when is not None and occ.earliest <= when <= occ.latest:
                    record = f"{table}#{int(r.id)}"
                    break
    elif not study_records.empty:
        hit = study_records[(study_records["patient_id"] == pid) & (study_records["form"] == form)
                            & (study_records["visit"] == occ.key)]
        if not hit.empty:
            record = f"form_records#{int(hit['id'].iloc[0])}"
    if record is not None:
        return "entered", record, None
    if today > occ.latest:
        return "overdue", None, None
    if today >= occ.earliest:
        return "due", None, None
    return "upcoming", None, None


def ledger_from_database(db: Any, as_of: date | None = None, subject_id: str | None = None) -> Ledger:
    """The ledger of the trial database ``db`` (engine, URL or SQLite path); with ``subject_id``, that subject's."""
    from earlyphase.derive.source import read_source

    return expected_forms(read_source(db, subject_id), as_of)
