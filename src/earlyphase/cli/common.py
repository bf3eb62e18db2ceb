"""Shared pieces of the CLI: output format, printing results, turning errors into exit codes."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Any

import typer

from earlyphase.errors import EarlyPhaseError, InputError
from earlyphase.jsonable import to_jsonable

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


FORMAT_OPTION = typer.Option(OutputFormat.table, "--format", help="table for people, json for programs.")


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (the contract programs read)."""
    typer.echo(json.dumps(to_jsonable(data), indent=2, sort_keys=False))


def emit(result: Any, fmt: OutputFormat, text: str | None = None) -> None:
    """Print a result object: ``to_dict()`` as JSON, or its text (``summary()``/``str``)."""
    if fmt == OutputFormat.json:
        emit_json(result.to_dict() if hasattr(result, "to_dict") else result)
    else:
        if text is None:
            text = result.summary() if hasattr(result, "summary") else str(result)
        typer.echo(text)


def run_app(app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run the Typer app; map our errors to exit code 1 with a readable message, never a traceback."""
    try:
        result = app(args=argv, standalone_mode=False)
        # With standalone_mode=False click returns typer.Exit's code instead of raising it.
        if isinstance(result, int) and not isinstance(result, bool):
            return result
    except EarlyPhaseError as exc:
        _report_error(exc)
        return EXIT_INPUT
    except SystemExit as exc:  # typer.Exit inside commands
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return EXIT_INPUT
    except Exception as exc:  # click usage errors
        import click

        # Recent typer vendors its own click (typer._click): accept the exceptions of both.
        usage_errors: tuple[type, ...] = (click.exceptions.UsageError,)
        click_errors: tuple[type, ...] = (click.exceptions.ClickException,)
        try:
            from typer._click import exceptions as typer_click
        except ImportError:  # pragma: no cover - older typer uses click itself
            pass
        else:
            usage_errors += (typer_click.UsageError,)
            click_errors += (typer_click.ClickException,)
        if isinstance(exc, usage_errors):
            exc.show()
            return EXIT_USAGE
        if isinstance(exc, click_errors):
            exc.show()
            return EXIT_INPUT
        raise
    return EXIT_OK


def _report_error(exc: EarlyPhaseError) -> None:
    wants_json = "--format" in sys.argv and "json" in sys.argv
    if wants_json and isinstance(exc, InputError):
        typer.echo(json.dumps(to_jsonable(exc.to_dict()), indent=2), err=True)
    else:
        typer.echo(f"error: {exc}", err=True)
