"""CLI commands: earlyphase study ..."""

from __future__ import annotations

from typing import Optional

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, db_from_environment, emit

app = typer.Typer(help="Show the study (protocol) a database or a study file holds; amend it.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    db: Optional[str] = typer.Option(None, "--db", help="Database URL or SQLite file: show the study stored in it."),
    study: Optional[str] = typer.Option(None, "--study", help="A study YAML file or the name of a bundled study."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Print the study: groups as dose levels with their regimens, assumed values flagged."""
    from earlyphase.capture.describe import describe_study
    from earlyphase.protocol import parse_study, read_study_text, study_fingerprint

    if db is not None and study is not None and db_from_environment(ctx):
        db = None  # --study on the command line wins over EARLYPHASE_DB
    if (db is None) == (study is None):
        raise typer.BadParameter("give exactly one of --db or --study")
    if db is not None:
        from earlyphase.capture import stored_study
        from earlyphase.records import make_engine

        engine = make_engine(db, must_exist=True)
        try:
            parsed, record = stored_study(engine)
        finally:
            engine.dispose()
        description = describe_study(parsed, f"database {db} (from {record.source})", record.protocol_sha256)
    else:
        text, origin = read_study_text(study)
        description = describe_study(parse_study(text, origin), origin, study_fingerprint(text))
    emit(description, fmt)


@app.command("amend")
def amend(
    db: str = typer.Option(..., "--db", help="Database URL or SQLite file holding the trial."),
    study: str = typer.Option(..., "--study", help="The amended study YAML file."),
    reason: str = typer.Option(..., "--reason", help="Why the protocol changes (kept with the version and audited)."),
    user: str = typer.Option(None, "--user", help="Who amends (kept in the audit trail); default: login name."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Put a new protocol version in force: every version is kept; a change that would orphan or mistype stored
    data is refused with the reason."""
    from earlyphase.capture import Trial
    from earlyphase.cli.trial import _default_user

    trial = Trial.open(db, user or _default_user())
    try:
        row = trial.amend_protocol(study, reason)
        result = {"db": db, "study_id": trial.study.study_id, "protocol_version": row.version,
                  "protocol_sha256": row.protocol_sha256, "source": row.source, "reason": row.reason}
    finally:
        trial.close()
    emit(result, fmt, text=(f"protocol version {result['protocol_version']} of {result['study_id']} is in force "
                            f"(sha256 {result['protocol_sha256'][:16]}...; from {result['source']}); "
                            f"reason: {result['reason']}"))
