"""CLI commands: earlyphase interop redcap export | import (a trial as a REDCap project, and back)."""

from __future__ import annotations

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="REDCap projects: data dictionary (18 columns), flat records, events.", no_args_is_help=True)


@app.command("export")
def export(
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    out: str = typer.Option(..., "--out", help="Directory for the data dictionary, records, events, arms and the "
                                               "instrument-event mapping (CSV)."),
    identified: bool = typer.Option(False, "--identified", help="Subject ids, dates and identifying fields as "
                                                                "stored (audited); default: de-identified."),
    key_file: str = typer.Option(None, "--pseudonym-key", metavar="FILE",
                                 help="File holding the pseudonym key (as for 'earlyphase export')."),
    user: str = typer.Option(None, "--user", help="Who exports (an identified export is audited); default: login name."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Write the study's forms as a REDCap data dictionary and the records as a REDCap flat export, with the
    visit schedule as events; de-identified unless --identified. Files are private to you (0600)."""
    from earlyphase.interop.export import login_name
    from earlyphase.interop.redcap import export_redcap
    from earlyphase.records import make_engine

    engine = make_engine(db, must_exist=True)
    try:
        result = export_redcap(engine, out, identified=identified, key_file=key_file, username=user or login_name())
    finally:
        engine.dispose()
    emit(result, fmt)


@app.command("import")
def import_(
    dictionary: str = typer.Option(..., "--dictionary", help="The REDCap data dictionary (CSV, 18 columns)."),
    records: str = typer.Option(None, "--records", help="The REDCap records export (CSV, raw values)."),
    project: str = typer.Option(None, "--project", help="The REDCap project XML: events, arms, repeating "
                                                        "instruments (optional)."),
    out: str = typer.Option(None, "--out", help="Write the study-file draft here (YAML)."),
    db: str = typer.Option(None, "--db", help="Import the records into this database: a new SQLite file is "
                                              "initialised from the draft; an existing one keeps its study."),
    patients: str = typer.Option(None, "--patients", help="patients.csv: each record's enrolment (subject_id, "
                                                          "site, sex, birth_year, ecog, consent_date), which "
                                                          "REDCap does not hold."),
    encoding: str = typer.Option(None, "--encoding", help="Text encoding of the CSV files (default UTF-8)."),
    user: str = typer.Option(None, "--user", help="Who imports (every record written is attributed to them)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Turn a REDCap project into a study-file draft (forms, events as visits; the Phase I parts REDCap lacks
    marked TODO) and import its records through capture: every check, all or nothing, audited."""
    from earlyphase.errors import InputError
    from earlyphase.interop.export import login_name
    from earlyphase.interop.redcap import import_redcap

    if out is None and db is None:
        raise InputError.single("--out", None, "output", "give --out (the draft) and/or --db (the records)")
    if db is not None and records is None:
        raise InputError.single("--records", None, "records", "--db imports records: give --records")
    emit(import_redcap(dictionary, records, project=project, out=out, db=db, patients=patients,
                       username=user or login_name(), encoding=encoding), fmt)
