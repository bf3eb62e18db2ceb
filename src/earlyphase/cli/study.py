"""CLI commands: earlyphase study ..."""

from __future__ import annotations

from typing import Optional

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="Show the study (protocol) a database or a study file holds.", no_args_is_help=True)


@app.command("show")
def show(
    db: Optional[str] = typer.Option(None, "--db", help="Database URL or SQLite file: show the study stored in it."),
    study: Optional[str] = typer.Option(None, "--study", help="A study YAML file or a bundled name (nk-hcc-ltx)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Print the study: groups as dose levels with their regimens, assumed values flagged."""
    from earlyphase.capture.describe import describe_study
    from earlyphase.protocol import parse_study, read_study_text, study_fingerprint

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
