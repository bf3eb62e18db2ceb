"""CLI commands: earlyphase report."""

from __future__ import annotations

from pathlib import Path

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit


def register(app: typer.Typer) -> None:
    """Add the top-level ``report`` command to ``app``."""

    @app.command("report")
    def report(
        db: str = typer.Option(..., "--db", help="Trial database: a SQLite file path or a database URL."),
        out: Path = typer.Option(..., "--out", help="Directory to write report.html, figures/, tables/, adam/ into."),
        pdf: bool = typer.Option(False, "--pdf", help="Also print report.pdf with headless Chromium (fails if missing)."),
        fmt: OutputFormat = FORMAT_OPTION,
    ) -> None:
        """Derive the analysis datasets and write the trial report (HTML, optional PDF, figures, tables)."""
        from earlyphase.report import report_from_database

        result = report_from_database(db, out, pdf=pdf)
        emit(result, fmt)
