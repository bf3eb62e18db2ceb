"""CLI commands: earlyphase interop odm export | import (CDISC ODM 1.3.2 archive)."""

from __future__ import annotations

import sys

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="CDISC ODM 1.3.2: the whole study as one XML file (archive or transfer).",
                  no_args_is_help=True)


@app.command("export")
def export(
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    out: str = typer.Option(..., "--out", help="The ODM XML file to write (replaced if it exists)."),
    identified: bool = typer.Option(False, "--identified", help="The archive: every column, the audit records and "
                                                                "the signatures (audited). Default: de-identified, "
                                                                "for transfer."),
    key_file: str = typer.Option(None, "--pseudonym-key", metavar="FILE",
                                 help="De-identified: the pseudonym key file (as 'earlyphase export')."),
    user: str = typer.Option(None, "--user",
                             help="Who exports (an identified export is audited); default: login name."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Write the study (metadata from its forms and visits, every record, audit records, dose-decision seals) as
    one ODM 1.3.2 file, validated against the ODM XSD before it is written."""
    from earlyphase.interop.odm import export_odm

    emit(export_odm(db, out, identified=identified, key_file=key_file, username=user,
                    progress=sys.stderr.isatty()), fmt)


@app.command("import")
def import_(
    source: str = typer.Argument(..., metavar="FILE", help="An identified ODM archive (written by odm export "
                                                           "--identified)."),
    db: str = typer.Option(..., "--db", help="An empty database (URL or a new SQLite file path)."),
    user: str = typer.Option(None, "--user", help="Who restores (kept in the audit trail); default: login name."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Restore an archive into an empty database: every record and the audit trail as they were, proved (the chain
    verifies under the database's audit key and replays to the rows) before anything is committed."""
    from earlyphase.interop.export import login_name
    from earlyphase.interop.odm import import_odm

    emit(import_odm(db, source, username=user or login_name()), fmt)
