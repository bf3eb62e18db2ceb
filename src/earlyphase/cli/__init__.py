"""The command-line door: parses arguments, calls the layers below, prints results.

It holds no trial logic. The root app uses :class:`earlyphase.cli.common.EarlyphaseGroup`, which
applies the CLI-wide conventions to every command registered here (plain help, ``--version``,
``EARLYPHASE_DB`` for ``--db``, exit codes 0 ok / 1 input / 2 usage, JSON errors with ``--format
json``). Each command group lives in its own module, imports only typer at module level (heavy
libraries are imported inside the commands, so ``earlyphase --help`` stays fast) and is
registered here.
"""

from __future__ import annotations

import sys

import typer

from earlyphase.cli import audit, design, external, interop, interop_ctgov, interop_odm, report, serve, study, survival, trial, user
from earlyphase.cli.common import EarlyphaseGroup

app = typer.Typer(
    name="earlyphase",
    cls=EarlyphaseGroup,
    help="Run an early-phase dose-finding oncology trial end to end.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from earlyphase import __version__

        typer.echo(f"earlyphase {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Run an early-phase dose-finding oncology trial end to end."""

trial.register(app)
report.register(app)
serve.register(app)
app.add_typer(study.app, name="study")
app.add_typer(audit.app, name="audit")
app.add_typer(survival.app, name="survival")
app.add_typer(design.app, name="design")
app.add_typer(external.app, name="external")
app.add_typer(user.app, name="user")
app.add_typer(interop.app, name="interop")
interop.app.add_typer(interop_ctgov.app, name="ctgov")
interop.app.add_typer(interop_odm.app, name="odm")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``earlyphase`` command."""
    from earlyphase.cli.common import run_app

    sys.exit(run_app(app, argv))
