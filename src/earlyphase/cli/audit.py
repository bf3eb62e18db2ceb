"""CLI commands: earlyphase audit verify | log | events | rekey."""

from __future__ import annotations

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="Verify the audit trail and read a patient's history.", no_args_is_help=True)

DB_OPTION = typer.Option(
    ..., "--db", envvar="EARLYPHASE_DB",
    help="Database: a SQLite file path or a postgresql+psycopg:// URL (or set EARLYPHASE_DB).",
)
KEY_FILE_OPTION = typer.Option(
    None, "--key-file", metavar="PATH",
    help="The audit key file (default: EARLYPHASE_AUDIT_KEY, EARLYPHASE_AUDIT_KEY_FILE, then beside a SQLite "
         "file or in ~/.config/earlyphase/audit/).",
)


def _engine(db: str, key_file: str | None):
    from earlyphase.records import make_engine
    from earlyphase.records.audit_key import use_key

    engine = make_engine(db, must_exist=True)
    if key_file is not None:
        try:
            use_key(engine, key_file)
        except Exception:
            engine.dispose()
            raise
    return engine


@app.command("verify")
def verify(
    db: str = DB_OPTION,
    known_hash: str = typer.Option(
        None, "--known-hash", metavar="HASH",
        help="A 'last hash' from an earlier verification, kept outside the database: the log must still hold it.",
    ),
    key_file: str = KEY_FILE_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Check the keyed hash chain and replay the log against the data; exit 1 on any finding."""
    from earlyphase.records import verify_audit
    from earlyphase.records.audit_verify import check_known_hash

    if known_hash is not None:
        check_known_hash(known_hash)  # refused before anything is opened
    engine = _engine(db, key_file)
    try:
        report = verify_audit(engine, known_hash=known_hash)
    finally:
        engine.dispose()
    emit(report, fmt)
    if not report.ok:
        raise typer.Exit(1)


@app.command("rekey")
def rekey(
    db: str = DB_OPTION,
    key_file: str = typer.Option(
        ..., "--key-file", metavar="PATH",
        help="The key to chain the log with (created, mode 0600, when the file does not exist yet).",
    ),
    old_key_file: str = typer.Option(
        None, "--old-key-file", metavar="PATH", help="The key in force, when the log is keyed already (rotation).",
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Key (or re-key) the audit log of a database upgraded without its key; the chain must be intact."""
    from pathlib import Path

    from earlyphase.records import make_engine, transaction
    from earlyphase.records.audit_key import create_key_file, read_key_file, use_key
    from earlyphase.records.audit_rekey import rekey_log

    old_key = read_key_file(old_key_file) if old_key_file else None
    key = read_key_file(key_file) if Path(key_file).expanduser().exists() else create_key_file(key_file)
    engine = make_engine(db, must_exist=True)
    try:
        with transaction(engine) as session:
            count = rekey_log(session.connection(), key, old_key)
        use_key(engine, key)
        # The old anchors hold hashes that no longer exist: a 'rekey' anchor starts the new series.
        from earlyphase.records.audit_anchor import anchor_head

        anchor_head(engine, "rekey")
    finally:
        engine.dispose()
    result = {"db": db, "entries_rekeyed": count, "key_file": key.source, "fingerprint": key.fingerprint}
    emit(result, fmt, text=f"re-keyed {count} audit entries of {db} with the key in {key.source} "
                           f"(fingerprint {key.fingerprint[:16]})")


@app.command("events")
def events(
    db: str = DB_OPTION,
    kind: str = typer.Option(None, "--kind", metavar="KIND",
                             help="Only events of this kind (import, identified_export, report_build, login...)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List the audit log's events (imports, identified exports, report builds...), oldest first."""
    from earlyphase.records import make_engine
    from earlyphase.records.audit_verify import audit_events

    engine = make_engine(db, must_exist=True)
    try:
        result = audit_events(engine, kind)
    finally:
        engine.dispose()
    emit(result, fmt)


@app.command("log")
def log(
    subject: str = typer.Argument(..., help="The patient's study subject id."),
    db: str = DB_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Print every audit entry touching one patient's records, oldest first."""
    from earlyphase.records import make_engine, patient_history

    engine = make_engine(db, must_exist=True)
    try:
        history = patient_history(engine, subject)
    finally:
        engine.dispose()
    emit(history, fmt)


def anchor_after(db, event: str) -> None:
    """Anchor the audit chain's head after an export or report (a warning on stderr when it cannot be)."""
    from earlyphase.errors import EarlyPhaseError
    from earlyphase.records import make_engine
    from earlyphase.records.audit_anchor import anchor_head

    engine = make_engine(db, must_exist=True) if isinstance(db, str) else db
    try:
        anchor_head(engine, event)
    except EarlyPhaseError as exc:
        typer.echo(f"warning: the audit chain's head was not anchored after this {event}: {exc}", err=True)
    finally:
        if isinstance(db, str):
            engine.dispose()
