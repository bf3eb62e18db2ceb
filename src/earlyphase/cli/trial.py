"""CLI commands for running a trial: init, import, export, twin, demo."""

from __future__ import annotations

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit


def register(app: typer.Typer) -> None:
    """Add the top-level trial commands to ``app``."""
    app.command("init")(init)


def _default_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "system"


def init(
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    study: str = typer.Option(..., "--study", help="A study YAML file or a bundled study name (nk-hcc-ltx)."),
    user: str = typer.Option(None, "--user", help="Who initialises (kept in the audit trail); default: login name."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Create a trial database: schema, the study protocol (with its SHA-256) and its sites, all audited."""
    from earlyphase.capture import initialise

    trial = initialise(db, study, user or _default_user())
    try:
        result = {
            "db": db,
            "study_id": trial.study.study_id,
            "groups": trial.study.group_codes,
            "sites": [s.code for s in trial.study.sites],
            "user": trial.username,
        }
    finally:
        trial.close()
    emit(result, fmt, text=(
        f"initialised {db} with study {result['study_id']} "
        f"(groups {', '.join(result['groups'])}; sites {', '.join(result['sites'])}) as {result['user']}"
    ))
