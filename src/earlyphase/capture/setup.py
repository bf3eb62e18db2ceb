"""Start a trial database: migrate the schema, store the study protocol (YAML + SHA-256) and its sites."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from earlyphase.capture.checks import Checks
from earlyphase.capture.context import CaptureContext, ctcae_for_study, ensure_user, study_base_dir
from earlyphase.capture.common import insert
from earlyphase.errors import InputError, NotFound
from earlyphase.protocol import Study, parse_study, read_study_text, study_fingerprint
from earlyphase.records import make_engine, migrate, read_session, transaction
from earlyphase.records.tables import SiteRecord, StudyRecord


def _engine(target: str | Path | Engine, must_exist: bool = False) -> Engine:
    return target if isinstance(target, Engine) else make_engine(target, must_exist=must_exist)


def initialise(target: str | Path | Engine, study_source: str | Path, username: str = "system", *,
               today: date | None = None):
    """Create (or upgrade) the schema and store the study and its sites, all audited; return a ``Trial``.

    ``target`` is a database URL, a SQLite file path or an Engine; ``study_source`` a bundled study
    name (``nk-hcc-ltx``) or a YAML file. A database holds one study: a second ``initialise`` fails.
    """
    from earlyphase.capture.trial import Trial

    text, origin = read_study_text(study_source)
    study = parse_study(text, origin)
    base_dir = study_base_dir(origin)
    ctcae = ctcae_for_study(study, base_dir)  # an unreadable CTCAE file fails here, not at the first AE
    engine = _engine(target)
    migrate(engine)
    with transaction(engine) as session:
        ctx = CaptureContext(session=session, study=study, username=username, today=today or date.today(),
                             ctcae=ctcae)
        checks = Checks(f"initialise the database with study {study.study_id}")
        checks.text("username", username, max_length=80)
        stored = session.execute(select(StudyRecord)).scalars().first()
        if stored is not None:
            same = "this study" if stored.study_id == study.study_id else f"study {stored.study_id}"
            checks.fail("study", study.study_id, "unique-study",
                        f"the database is already initialised with {same}; one database holds one study")
        checks.raise_if_failed()
        ensure_user(ctx)
        insert(ctx, StudyRecord(study_id=study.study_id, protocol_yaml=text, protocol_sha256=study_fingerprint(text),
                                source=str(origin)[:400], synthetic=study.synthetic), None)
        for site in study.sites:
            insert(ctx, SiteRecord(code=site.code, name=site.name, country=site.country), None)
    return Trial(engine, study, username, today=today, base_dir=base_dir)


def stored_study(engine: Engine) -> tuple[Study, StudyRecord]:
    """The study a database was initialised with (raises ``NotFound`` for an uninitialised database)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with read_session(engine) as session:  # a read must not take the writers' lock
            record = session.execute(select(StudyRecord)).scalars().first()
    except (OperationalError, ProgrammingError) as exc:
        raise NotFound.single("db", str(engine.url), "initialised",
                              "this database has no trial tables; create it with 'earlyphase init'") from exc
    if record is None:
        raise NotFound.single("db", str(engine.url), "initialised",
                              "this database holds no study; initialise it with 'earlyphase init'")
    if study_fingerprint(record.protocol_yaml) != record.protocol_sha256:
        raise InputError.single("study", record.study_id, "protocol-fingerprint",
                                "the stored protocol text no longer matches its SHA-256: it was changed outside "
                                "earlyphase; run 'earlyphase audit verify'")
    return parse_study(record.protocol_yaml, f"database:{record.study_id}"), record


def mark_study_synthetic(ctx: CaptureContext, reason: str) -> StudyRecord:
    """Flag the database's study as holding synthetic (invented) patients; audited with ``reason``.

    Reports, exports and summaries read this flag to label every output as synthetic.
    Marking an already synthetic study does nothing.
    """
    from earlyphase.records.audit import row_values, write_audit

    checks = Checks("mark the study as synthetic")
    checks.text("reason", reason, max_length=2000)
    record = ctx.session.execute(select(StudyRecord)).scalars().first()
    if record is None:
        checks.fail("db", None, "initialised", "the database holds no study; initialise it with 'earlyphase init'")
    checks.raise_if_failed()
    if record.synthetic:
        return record
    old = row_values(record)
    record.synthetic = True
    ctx.session.flush()
    write_audit(ctx.session, "update", record, username=ctx.username, old_values=old, reason=reason)
    return record
