"""What the study dashboards count, for the sites a user may see: enrolment by site and level over time,
adverse events by grade and term, DLTs by level, overdue forms (the expected-forms ledger), open queries
by age.

``dashboard_data(engine, sites, as_of)`` reads only patients of ``sites`` (a set of site codes, or an object
containing every code): another site's data never enters the numbers, so nothing downstream can leak it.
A query's subject is the one its audited insert names (``raise_query`` writes it there).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from earlyphase.records import read_session
from earlyphase.records.tables import AdverseEvent, Allocation, AuditEntry, DataQuery, Patient, SiteRecord, StudyRecord

# Ages of open queries, in days since they were raised: (label, lowest day, highest day or None)
QUERY_AGES = (("0-7 days", 0, 7), ("8-14 days", 8, 14), ("15-30 days", 15, 30), ("over 30 days", 31, None))


@dataclass(frozen=True)
class Dashboard:
    as_of: date
    sites: tuple[str, ...]  # the sites counted
    groups: tuple[str, ...]  # the study's levels, in order
    enrolments: tuple[tuple[str, str, str | None], ...]  # (enrolment date, site, level or None), by date
    enrolled: dict[str, dict[str, int]]  # site -> level (or "not allocated") -> patients
    ae_by_term: dict[str, dict[int, int]]  # term -> grade -> events
    ae_patients: int
    dlt_by_level: dict[str, int]  # level -> DLT events
    dlt_patients: dict[str, int]  # level -> patients with a DLT
    overdue: dict[str, dict[str, int]]  # site -> form -> overdue forms
    overdue_total: int
    query_ages: dict[str, int] = field(default_factory=dict)  # age bucket -> open queries
    open_queries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "sites": list(self.sites), "groups": list(self.groups),
                "enrolments": [list(e) for e in self.enrolments], "enrolled": self.enrolled,
                "ae_by_term": {t: {str(g): n for g, n in v.items()} for t, v in self.ae_by_term.items()},
                "ae_patients": self.ae_patients, "dlt_by_level": self.dlt_by_level,
                "dlt_patients": self.dlt_patients, "overdue": self.overdue, "overdue_total": self.overdue_total,
                "query_ages": self.query_ages, "open_queries": self.open_queries}


def _age_bucket(days: int) -> str:
    for label, low, high in QUERY_AGES:
        if days >= low and (high is None or days <= high):
            return label
    return QUERY_AGES[0][0]  # raised "after" as_of (a fixed test date): counted as new


def dashboard_data(engine: Engine, sites: Any, as_of: date) -> Dashboard:
    """The dashboard numbers for the patients of ``sites`` as of ``as_of`` (see the module docstring)."""
    from earlyphase.derive.ledger import ledger_from_database
    from earlyphase.protocol import parse_study

    with read_session(engine) as s:
        study = s.execute(select(StudyRecord)).scalars().first()
        groups = tuple(parse_study(study.protocol_yaml, "database").group_codes) if study else ()
        codes = tuple(c for c in s.execute(select(SiteRecord.code).order_by(SiteRecord.code)).scalars() if c in sites)
        rows = s.execute(
            select(Patient.id, Patient.subject_id, SiteRecord.code, Patient.enrolment_date, Allocation.group_code)
            .join(SiteRecord, SiteRecord.id == Patient.site_id)
            .outerjoin(Allocation, Allocation.patient_id == Patient.id)
            .where(SiteRecord.code.in_(codes))
        ).all()
        level_of = {pid: group for pid, _, _, _, group in rows}
        subjects = {subject for _, subject, _, _, _ in rows}
        events = s.execute(select(AdverseEvent.patient_id, AdverseEvent.term, AdverseEvent.grade, AdverseEvent.dlt)
                           .where(AdverseEvent.patient_id.in_(list(level_of)))).all() if level_of else []
        queries = s.execute(
            select(DataQuery.raised_at, AuditEntry.subject_id)
            .join(AuditEntry, (AuditEntry.table_name == "queries") & (AuditEntry.action == "insert")
                  & (AuditEntry.record_id == DataQuery.id))
            .where(DataQuery.status == "open")
        ).all()
    enrolments = tuple(sorted((d.isoformat(), site, group) for _, _, site, d, group in rows if d is not None))
    enrolled: dict[str, dict[str, int]] = {site: {} for site in codes}
    for _, _, site, _, group in rows:
        key = group or "not allocated"
        enrolled[site][key] = enrolled[site].get(key, 0) + 1
    by_term: dict[str, Counter] = defaultdict(Counter)
    dlt_events: Counter = Counter()
    dlt_people: dict[str, set] = defaultdict(set)
    for pid, term, grade, dlt in events:
        by_term[term][int(grade)] += 1
        if dlt:
            level = level_of.get(pid) or "not allocated"
            dlt_events[level] += 1
            dlt_people[level].add(pid)
    overdue: dict[str, Counter] = defaultdict(Counter)
    for entry in ledger_from_database(engine, as_of).entries:
        if entry.status == "overdue" and entry.subject_id in subjects:
            overdue[entry.site or "?"][entry.form] += 1
    ages: Counter = Counter()
    for raised_at, subject in queries:
        if subject in subjects:
            raised = datetime.fromisoformat(raised_at.replace("Z", "+00:00")).date()
            ages[_age_bucket((as_of - raised).days)] += 1
    return Dashboard(
        as_of=as_of, sites=codes, groups=groups, enrolments=enrolments, enrolled=enrolled,
        ae_by_term={t: dict(sorted(c.items())) for t, c in sorted(by_term.items(), key=lambda kv: -sum(kv[1].values()))},
        ae_patients=len({pid for pid, *_ in events}),
        dlt_by_level={g: dlt_events.get(g, 0) for g in groups},
        dlt_patients={g: len(dlt_people.get(g, ())) for g in groups},
        overdue={site: dict(c.most_common()) for site, c in sorted(overdue.items())},
        overdue_total=sum(sum(c.values()) for c in overdue.values()),
        query_ages={label: ages.get(label, 0) for label, _, _ in QUERY_AGES}, open_queries=sum(ages.values()))
