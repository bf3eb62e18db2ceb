"""The source tables as pandas DataFrames: read from the database, or built by hand in tests.

Every derivation in ``earlyphase.derive`` is a function of these frames (one per table of
``earlyphase.records.tables``, same column names), so it can be tested with a few rows typed in
a test. Date columns are ``datetime64[ns]`` (midnight); AE onset/resolution stay text (partial ISO
8601) until ``derive_adae`` imputes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from earlyphase.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sqlalchemy import Engine

    from earlyphase.protocol import Study

# table name -> ORM class name in earlyphase.records.tables (the tables derive reads)
SOURCE_TABLES = {
    "sites": "SiteRecord",
    "patients": "Patient",
    "eligibility_answers": "EligibilityAnswer",
    "allocations": "Allocation",
    "administrations": "Administration",
    "adverse_events": "AdverseEvent",
    "tumour_assessments": "TumourAssessment",
    "lesions": "Lesion",
    "other_therapies": "OtherTherapy",
    "follow_ups": "FollowUp",
    "deaths": "Death",
    "protocol_deviations": "ProtocolDeviation",
    "form_records": "FormRecord",
    "form_values": "FormValue",
    "forms_not_done": "FormNotDone",
    "dose_decisions": "DoseDecision",
}
# Tables a hand-made SourceData may leave out (they are empty then): the study's forms and the ledger's.
# The tables whose dates make the default data cut-off (the clinical events, not the forms' own dates).
CUTOFF_TABLES = ("patients", "allocations", "administrations", "adverse_events", "tumour_assessments",
                 "other_therapies", "follow_ups", "deaths")
OPTIONAL_TABLES = ("eligibility_answers", "protocol_deviations", "form_records", "form_values", "forms_not_done",
                   "dose_decisions")


@dataclass(frozen=True)
class SourceData:
    """Everything derive needs: the study (protocol), whether the data are synthetic, the tables."""

    study: "Study"
    tables: Mapping[str, "pd.DataFrame"]
    synthetic: bool = False
    origin: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> "pd.DataFrame":
        if name not in self.tables and name in OPTIONAL_TABLES:
            return source_frame(name)
        return self.tables[name]

    def form(self, name: str) -> "pd.DataFrame":
        """The study form ``name`` as one row per record and one typed column per field (see ``derive.forms``)."""
        from earlyphase.derive.forms import form_frame

        return form_frame(self.tables, self.study, name)


def _columns(name: str) -> list[tuple[str, str]]:
    """(column, kind) of a source table, kind in date/text/number/bool, from the ORM schema."""
    from sqlalchemy import BigInteger, Boolean, Date, Float, Integer

    from earlyphase.records import tables as t

    cls = getattr(t, SOURCE_TABLES[name])
    out = []
    for col in cls.__table__.columns:
        if isinstance(col.type, Date):
            kind = "date"
        elif isinstance(col.type, Boolean):
            kind = "bool"
        elif isinstance(col.type, (Integer, BigInteger, Float)):
            kind = "number"
        else:
            kind = "text"
        out.append((col.name, kind))
    return out


def source_frame(name: str, rows: list[Mapping[str, Any]] | None = None) -> "pd.DataFrame":
    """A frame for table ``name`` with every schema column (missing ones None) and typed dates.

    ``rows`` are dicts keyed by column name; dates may be ``date`` objects or ISO strings.
    Unknown column names are an error (a typo in a test must not pass silently).
    """
    import pandas as pd

    if name not in SOURCE_TABLES:
        raise InputError.single("table", name, "known-table", f"derive reads only: {', '.join(SOURCE_TABLES)}")
    cols = _columns(name)
    names = [c for c, _ in cols]
    rows = list(rows or [])
    for i, row in enumerate(rows):
        unknown = sorted(set(row) - set(names))
        if unknown:
            raise InputError.single(
                f"{name}.{unknown[0]}", row[unknown[0]], "known-column", f"table {name} has no column {unknown[0]}", row=i
            )
    if not rows:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in names})
    else:
        frame = pd.DataFrame([{c: r.get(c) for c in names} for r in rows], columns=names)
    if "id" in names and frame["id"].isna().all() and len(frame):
        frame["id"] = range(1, len(frame) + 1)
    return _typed(frame, cols)


def _typed(frame: "pd.DataFrame", cols: list[tuple[str, str]]) -> "pd.DataFrame":
    import pandas as pd

    for c, kind in cols:
        if c not in frame:
            continue
        if kind == "date":
            frame[c] = pd.to_datetime(frame[c], errors="raise").astype("datetime64[ns]")
        elif kind == "bool":
            frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else bool(v))
    return frame


def read_source(engine: "Engine | str", subject_id: str | None = None) -> SourceData:
    """Read the study and the source tables of a trial database (an engine, URL or SQLite path).

    With ``subject_id``, only that subject's rows (and the tables that belong to no patient): what one
    casebook page needs, read in a fraction of the time the whole trial takes.
    """
    import pandas as pd
    from sqlalchemy import select

    from earlyphase.protocol import parse_study
    from earlyphase.records import make_engine
    from earlyphase.records import tables as t

    if isinstance(engine, str) or not hasattr(engine, "connect"):
        target = str(engine)
        if "://" not in target and not Path(target).expanduser().is_file():
            # never create an empty SQLite file by reading a mistyped path
            raise InputError.single("db", target, "exists", "there is no database file at this path")
        if target.startswith("sqlite:///") and not Path(target[len("sqlite:///"):]).is_file():
            raise InputError.single("db", target, "exists", "there is no database file at this path")
        engine = make_engine(target)
    from sqlalchemy.exc import DBAPIError

    try:
        return _read(engine, select, parse_study, t, pd, subject_id)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise InputError.single(
            "db", str(engine.url), "earlyphase-database",
            f"this is not a readable earlyphase trial database ({reason}); initialise it with 'earlyphase init'",
        ) from None


def _one_subject(select, t, cls, patient_ids: list[int], record_ids, assessment_ids):
    """The select of ``cls`` narrowed to the given patients (None: the table belongs to no patient)."""
    columns = cls.__table__.columns
    if "patient_id" in columns:
        return select(cls.__table__).where(columns["patient_id"].in_(patient_ids))
    if cls is t.FormValue:
        return select(cls.__table__).where(columns["record_id"].in_(record_ids))
    if cls is t.Lesion:
        return select(cls.__table__).where(columns["assessment_id"].in_(assessment_ids))
    if cls is t.Patient:
        return select(cls.__table__).where(columns["id"].in_(patient_ids))
    return None


def _read(engine, select, parse_study, t, pd, subject_id: str | None = None) -> SourceData:
    from earlyphase.records import read_session

    # One consistent snapshot of every table, and no writer's lock: a report never blocks data entry.
    with read_session(engine) as session:
        conn = session.connection()
        study_rows = conn.execute(select(t.StudyRecord)).fetchall()
        if not study_rows:
            raise InputError.single(
                "database", str(engine.url), "initialised", "this database holds no study: initialise it with a study file first"
            )
        rec = study_rows[0]
        study = parse_study(rec.protocol_yaml, origin=f"database:{rec.study_id}")
        frames = {}
        if subject_id is not None:
            patient_ids = list(conn.execute(select(t.Patient.id).where(t.Patient.subject_id == subject_id)).scalars())
            record_ids = select(t.FormRecord.id).where(t.FormRecord.patient_id.in_(patient_ids))
            assessment_ids = select(t.TumourAssessment.id).where(t.TumourAssessment.patient_id.in_(patient_ids))
        for name, cls_name in SOURCE_TABLES.items():
            cls = getattr(t, cls_name)
            narrowed = None if subject_id is None else _one_subject(select, t, cls, patient_ids, record_ids,
                                                                      assessment_ids)
            result = conn.execute(narrowed if narrowed is not None else select(cls.__table__))
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
            frames[name] = _typed(frame, _columns(name))
    return SourceData(
        study=study, tables=frames, synthetic=bool(rec.synthetic) or study.synthetic, origin=str(rec.source or "")
    )


def latest_date(tables: Mapping[str, "pd.DataFrame"]) -> date | None:
    """The latest calendar date anywhere in the source tables (complete AE dates included)."""
    import pandas as pd

    best = None
    for name, frame in tables.items():
        if name not in CUTOFF_TABLES or frame is None or frame.empty:
            continue
        for c in frame.columns:
            if str(frame[c].dtype).startswith("datetime64"):
                m = frame[c].max()
                if pd.notna(m) and (best is None or m > best):
                    best = m
    ae = tables.get("adverse_events")
    if ae is not None and not ae.empty:
        for c in ("onset", "resolution"):
            full = pd.to_datetime(ae[c].astype("string").str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
            m = full.max()
            if pd.notna(m) and (best is None or m > best):
                best = m
    return None if best is None else best.date()


def data_cutoff(study: "Study", tables: Mapping[str, "pd.DataFrame"]) -> tuple[date | None, str]:
    """The data cut-off date and where it comes from ("study" or "latest date in the data")."""
    if study.analysis.data_cutoff is not None:
        return study.analysis.data_cutoff, "study file (analysis.data_cutoff)"
    return latest_date(tables), "the latest date in the data; the study file sets no analysis.data_cutoff"
