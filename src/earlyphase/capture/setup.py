"""Start a trial database (migrate the schema, store the protocol as version 1 with its SHA-256, and its
sites), read the protocol in force, and amend it (a new version, refused when it would orphan data)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, select

from earlyphase.access.accounts import register_account
from earlyphase.capture.checks import Checks
from earlyphase.capture.context import CaptureContext, ctcae_for_study, ensure_user, study_base_dir
from earlyphase.records.audit import row_values, write_audit
from earlyphase.capture.common import insert
from earlyphase.capture.reasons import reason_for_change
from earlyphase.errors import InputError, NotFound
from earlyphase.protocol import Study, parse_study, read_study_text, study_fingerprint
from earlyphase.records import make_engine, migrate, read_session, transaction
from earlyphase.records.tables import ProtocolVersion, SiteRecord, StudyRecord


def _engine(target: str | Path | Engine, must_exist: bool = False) -> Engine:
    return target if isinstance(target, Engine) else make_engine(target, must_exist=must_exist)


def initialise(target: str | Path | Engine, study_source: str | Path, username: str = "system", *,
               today: date | None = None):
    """Create (or upgrade) the schema and store the study and its sites, all audited; return a ``Trial``.

    ``target`` is a database URL, a SQLite file path or an Engine; ``study_source`` a bundled study
    name or a YAML file. A database holds one study: a second ``initialise`` fails.
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
        checks.username("username", username)
        stored = session.execute(select(StudyRecord)).scalars().first()
        if stored is not None:
            same = "this study" if stored.study_id == study.study_id else f"study {stored.study_id}"
            checks.fail("study", study.study_id, "unique-study",
                        f"the database is already initialised with {same}; one database holds one study")
        checks.raise_if_failed()
        # The founder: the first known account (no password nor role yet), so the trial can start; the
        # first admin is added by them with 'earlyphase user add NAME --role admin@ALL --user FOUNDER'.
        register_account(session, username, actor=username, reason="founder: initialised the trial database")
        insert(ctx, StudyRecord(study_id=study.study_id, protocol_yaml=text, protocol_sha256=study_fingerprint(text),
                                source=str(origin)[:400], synthetic=study.synthetic, protocol_version=1), None)
        insert(ctx, ProtocolVersion(version=1, protocol_yaml=text, protocol_sha256=study_fingerprint(text),
                                    source=str(origin)[:400], reason="initial protocol", created_by=ctx.username,
                                    created_at=_now()), None)
        for site in study.sites:
            insert(ctx, SiteRecord(code=site.code, name=site.name, country=site.country), None)
    return Trial(engine, study, username, today=today, base_dir=base_dir, protocol_version=1)


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


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
    return _parsed_study(record.protocol_yaml, f"database:{record.study_id}"), record


@lru_cache(maxsize=16)
def _parsed_study(text: str, source: str) -> Study:
    # Reading a study file takes ~0.15 s (validation of every form, check and schedule); each web request
    # asks for the stored study, so the same text is read once per process. The model is frozen.
    return parse_study(text, source)


def amend_protocol(ctx: CaptureContext, source: str | Path, reason: str) -> ProtocolVersion:
    """Put a new version of the study file in force (``source``: a path or YAML text), audited with ``reason``.

    Every version is kept (``protocol_versions``); records entered from now on carry the new version.
    The study may grow (new forms, optional fields, wider ranges, new codes, levels, sites, visits); a
    change that would orphan or mistype stored data is refused, each with its reason
    (:func:`earlyphase.protocol.amend.compare_studies`). New sites are added.
    """
    from earlyphase.protocol.amend import compare_studies

    checks = Checks("amend the protocol")
    why = reason_for_change(checks, reason)  # the controlled list: 'protocol amendment: ...' as a rule
    text, origin = _study_text(source)
    new = parse_study(text, origin)
    record = ctx.session.execute(select(StudyRecord)).scalars().first()
    if record is None:
        checks.fail("db", None, "initialised", "the database holds no study; initialise it with 'earlyphase init'")
        checks.raise_if_failed()
    if study_fingerprint(text) == record.protocol_sha256:
        checks.fail("study", origin, "changed-protocol", f"this is the protocol in force (version "
                                                         f"{record.protocol_version}); nothing to amend")
    ctcae_for_study(new, study_base_dir(origin))  # an unreadable CTCAE file fails here
    old = parse_study(record.protocol_yaml, f"database:{record.study_id}")
    for where, message in compare_studies(old, new, stored_facts(ctx)):
        checks.fail(where, origin, "compatible-amendment", message)
    checks.raise_if_failed()
    ensure_user(ctx)
    version = record.protocol_version + 1
    row = insert(ctx, ProtocolVersion(version=version, protocol_yaml=text, protocol_sha256=study_fingerprint(text),
                                      source=str(origin)[:400], reason=why, created_by=ctx.username,
                                      created_at=_now()), None, reason=why)
    old_values = row_values(record)
    record.protocol_yaml, record.protocol_sha256 = text, study_fingerprint(text)
    record.source, record.protocol_version = str(origin)[:400], version
    ctx.session.flush()
    write_audit(ctx.session, "update", record, username=ctx.username, old_values=old_values,
                reason=f"protocol version {version}: {why}")
    known = {s.code for s in ctx.session.execute(select(SiteRecord)).scalars()}
    for site in new.sites:
        if site.code not in known:
            insert(ctx, SiteRecord(code=site.code, name=site.name, country=site.country), None,
                   reason=f"protocol version {version}: {why}")
    ctx.study, ctx.protocol_version = new, version
    return row


def _study_text(source: str | Path) -> tuple[str, str]:
    if isinstance(source, str) and "\n" in source:
        return source, "<amendment>"
    return read_study_text(source)


def stored_facts(ctx: CaptureContext):
    """What the database holds that an amendment must keep (see ``compare_studies``)."""
    from sqlalchemy import func

    from earlyphase.protocol.amend import StoredFacts
    from earlyphase.records import tables as t

    s = ctx.session
    facts = StoredFacts()
    facts.records.update(dict(s.execute(select(t.FormRecord.form, func.count()).group_by(t.FormRecord.form)).all()))
    rows = s.execute(select(t.FormRecord.form, t.FormValue.field, t.FormValue.value_text, t.FormValue.value_int,
                            t.FormValue.value_num, t.FormValue.value_date)
                     .join(t.FormRecord, t.FormRecord.id == t.FormValue.record_id)).all()
    for form, field, text_value, int_value, num_value, date_value in rows:
        key = (form, field)
        facts.values[key] = facts.values.get(key, 0) + 1
        if text_value is not None:
            facts.codes.setdefault(key, set()).add(text_value)
        value = next((v for v in (int_value, num_value, date_value) if v is not None), None)
        if value is not None:
            low, high = facts.bounds.get(key, (value, value))
            facts.bounds[key] = (min(low, value), max(high, value))
    counted = s.execute(select(t.FormRecord.patient_id, t.FormRecord.form, t.FormRecord.visit, func.count())
                        .where(t.FormRecord.core_table.is_(None))
                        .group_by(t.FormRecord.patient_id, t.FormRecord.form, t.FormRecord.visit)).all()
    facts.repeated.update(form for _, form, _, n in counted if n > 1)
    facts.groups.update(s.execute(select(t.Allocation.group_code)).scalars())
    facts.sites.update(s.execute(select(t.SiteRecord.code).join(t.Patient, t.Patient.site_id == t.SiteRecord.id))
                       .scalars())
    visit_keys = list(s.execute(select(t.FormRecord.visit).where(t.FormRecord.visit.is_not(None))).scalars())
    visit_keys += list(s.execute(select(t.FormNotDone.visit)).scalars())
    facts.visits.update(k.split("-", 1)[0] for k in visit_keys)
    facts.administrations = s.execute(select(func.count()).select_from(t.Administration)).scalar_one()
    return facts


def mark_study_synthetic(ctx: CaptureContext, reason: str) -> StudyRecord:
    """Flag the database's study as holding synthetic (invented) patients; audited with ``reason``.

    Reports, exports and summaries read this flag to label every output as synthetic.
    Marking an already synthetic study does nothing.
    """
    checks = Checks("mark the study as synthetic")
    reason = checks.text("reason", reason, max_length=2000)  # the checked text is what the audit keeps
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
