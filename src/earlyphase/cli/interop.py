"""CLI commands: earlyphase interop cdisc convert | show (CDISC dataset files, XPT and Dataset-JSON)."""

from __future__ import annotations

import typer

from earlyphase.cli.common import FORMAT_OPTION, OutputFormat, emit

app = typer.Typer(help="The outside world's formats: CDISC dataset files (SAS XPORT v5, Dataset-JSON 1.1).",
                  no_args_is_help=True)
cdisc = typer.Typer(help="CDISC dataset files: .xpt (SAS XPORT v5) and .json (Dataset-JSON 1.1).",
                    no_args_is_help=True)
app.add_typer(cdisc, name="cdisc")


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
