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
        time_axis: str = typer.Option(None, "--time-axis", metavar="bulk|full|MONTHS",
                                      help="End of the figures' time axis (default: the study file's, 'bulk')."),
        identified: bool = typer.Option(False, "--identified", help="Name patients by the site's subject ids and "
                                        "keep dates in adam/ (default: de-identified; audited)."),
        key_file: str = typer.Option(None, "--pseudonym-key", metavar="FILE",
                                     help="File holding the pseudonym key (as export's): the same key gives the same "
                                          "pseudonyms. Default: $EARLYPHASE_EXPORT_KEY, else a key used once."),
        small_cells: int = typer.Option(3, "--small-cells", metavar="K", help="De-identified: counts of 1 to K-1 "
                                        "patients are shown as <K (1 = no suppression)."),
        user: str = typer.Option(None, "--user", help="Who builds the report (audited); default: login name."),
        fmt: OutputFormat = FORMAT_OPTION,
    ) -> None:
        """Derive the analysis datasets and write the trial report (HTML, optional PDF, figures, tables, adam/,
        manifest.json), de-identified unless --identified; files are private to you (0600)."""
        from earlyphase.cli.trial import _default_user
        from earlyphase.report import report_from_database

        from earlyphase.cli.audit import anchor_after

        result = report_from_database(db, out, pdf=pdf, time_axis=parse_time_axis(time_axis), identified=identified,
                                      key_file=key_file, small_cells=small_cells, username=user or _default_user())
        anchor_after(db, "report")  # the head this report was built from, kept outside the database
        emit(result, fmt)


def parse_time_axis(value: str | None) -> str | float | None:
    """'bulk', 'full' or a positive number of months; anything else is a usage error naming the choices."""
    if value is None or value in ("bulk", "full"):
        return value
    try:
        months = float(value)
    except ValueError:
        months = float("nan")
    if not months > 0 or months == float("inf"):
        raise typer.BadParameter(f"{value!r} is not 'bulk', 'full' or a positive number of months",
                                 param_hint="--time-axis")
    return months
