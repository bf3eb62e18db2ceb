"""CLI commands: earlyphase interop cdisc convert | show (CDISC dataset files, XPT and Dataset-JSON)."""

from __future__ import annotations

import sys

import typer

from earlyphase.cli import interop_redcap
from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="The outside world's formats: CDISC dataset files (SAS XPORT v5, Dataset-JSON 1.1).",
                  no_args_is_help=True)
cdisc = typer.Typer(help="CDISC dataset files: .xpt (SAS XPORT v5) and .json (Dataset-JSON 1.1).",
                    no_args_is_help=True)
app.add_typer(cdisc, name="cdisc")
app.add_typer(interop_redcap.app, name="redcap")


@cdisc.command("convert")
def convert(
    source: str = typer.Argument(..., metavar="IN", help="The dataset file to read (.xpt or .json)."),
    target: str = typer.Argument(..., metavar="OUT", help="The file to write (.xpt or .json); replaced if it exists."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Convert a dataset file between SAS XPORT v5 and Dataset-JSON 1.1 (by extension), keeping values, labels,
    lengths and types. Nothing is written if the input is refused."""
    from earlyphase.interop.cdisc import convert as convert_file

    dataset = convert_file(source, target)
    result = {"source": source, "target": target, "name": dataset.name, "records": dataset.records,
              "variables": len(dataset.columns)}
    emit(result, fmt, text=f"{source} -> {target}: {dataset.name}, {dataset.records} records, "
                           f"{len(dataset.columns)} variables")


@cdisc.command("show")
def show(
    path: str = typer.Argument(..., metavar="FILE", help="The dataset file (.xpt or .json)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Describe a dataset file: name, label, number of records, and each variable's label, type and length."""
    from earlyphase.interop.cdisc import read_dataset

    emit(read_dataset(path), fmt)


@cdisc.command("export")
def export(
    db: str = typer.Option(..., "--db", help="Database URL (postgresql+psycopg://...) or SQLite file path."),
    out: str = typer.Option(..., "--out", help="Folder for sdtm/, adam/, define.xml and manifest.json."),
    sdtm: bool = typer.Option(False, "--sdtm", help="Write the SDTM domains (with --adam: both; neither: both)."),
    adam: bool = typer.Option(False, "--adam", help="Write the ADaM datasets (with --sdtm: both; neither: both)."),
    file_format: str = typer.Option("both", "--files", metavar="xpt|json|both",
                                    help="SAS XPORT v5, Dataset-JSON 1.1, or both."),
    identified: bool = typer.Option(False, "--identified", help="Site subject ids and calendar dates (audited); "
                                                                "default: de-identified."),
    key_file: str = typer.Option(None, "--pseudonym-key", metavar="FILE",
                                 help="File holding the pseudonym key (the same key gives the same pseudonyms); "
                                      "default: $EARLYPHASE_EXPORT_KEY, else a key used once."),
    user: str = typer.Option(None, "--user", help="Who exports (an identified export is audited); default: login name."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Export the study as CDISC files for a submission: SDTM and ADaM as SAS XPORT v5 and Dataset-JSON 1.1, with
    define.xml and manifest.json; de-identified unless --identified. Nothing is written if a dataset is refused."""
    from earlyphase.interop.cdisc.export import export_cdisc
    from earlyphase.records import make_engine

    both = not sdtm and not adam
    engine = make_engine(db, must_exist=True)
    try:
        result = export_cdisc(engine, out, sdtm=sdtm or both, adam=adam or both, file_format=file_format,
                              identified=identified, key_file=key_file, username=user,
                              progress=fmt == OutputFormat.table and sys.stderr.isatty())
    finally:
        engine.dispose()
    emit(result, fmt)


@cdisc.command("check-define")
def check_define_command(
    path: str = typer.Argument(..., metavar="FILE", help="The define.xml to check."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Check a Define-XML 2.1 file: well-formed, every reference resolved, XPORT v5 limits, and the Define-XML 2.1
    XSD when the defineutils package (which ships it) is installed. Exit 1 naming every problem."""
    from earlyphase.errors import InputError, Problem
    from earlyphase.interop.cdisc.define import bundled_xsd, check_define, xsd_problems

    result = check_define(path)
    schema = bundled_xsd(path)
    result["xsd"] = f"{schema.name} (defineutils)" if schema else "not checked: install defineutils for the XSD"
    if schema is not None:
        errors = xsd_problems(path, schema)
        if errors:
            raise InputError([Problem("file", e, "define-xsd", "breaks the Define-XML 2.1 schema", file=path)
                              for e in errors[:20]], summary=f"{path} is not valid against the Define-XML 2.1 XSD")
    emit(result, fmt, text=f"{path}: Define-XML 2.1, {len(result['datasets'])} datasets "
                           f"({', '.join(result['datasets'])}), {result['variables']} variables, "
                           f"{result['codelists']} codelists; XSD: {result['xsd']}")
