"""CLI commands: earlyphase audit verify | log."""

from __future__ import annotations

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="Verify the audit trail and read a patient's history.", no_args_is_help=True)

DB_OPTION = typer.Option(
    ..., "--db", envvar="EARLYPHASE_DB",
    help="Database: a SQLite file path or a postgresql+psycopg:// URL (or set EARLYPHASE_DB).",
)


@app.command("verify")
def verify(
    db: str = DB_OPTION,
    known_hash: str = typer.Option(
        None, "--known-hash",
        help="A 'last hash' from an earlier verification, kept outside the database: the log must still hold it.",
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Check the hash chain and replay the log against the data; exit 1 on any finding."""
    from earlyphase.records import make_engine, verify_audit

    engine = make_engine(db, must_exist=True)
    try:
        report = verify_audit(engine, known_hash=known_hash)
    finally:
        engine.dispose()
    emit(report, fmt)
    if not report.ok:
        raise typer.Exit(1)


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
