"""The command-line door: parses arguments, calls the layers below, prints results.

It holds no trial logic. Errors raised on purpose (``EarlyPhaseError``) become a clear
message and exit code 1; usage errors exit 2 (Typer's own convention).
Each command group lives in its own module and is registered here.
"""

from __future__ import annotations

import sys

import typer

from earlyphase.cli import audit, design, report, study, survival, trial

app = typer.Typer(
    name="earlyphase",
    help="Run an early-phase dose-finding oncology trial end to end.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

trial.register(app)
report.register(app)
app.add_typer(study.app, name="study")
app.add_typer(audit.app, name="audit")
app.add_typer(survival.app, name="survival")
app.add_typer(design.app, name="design")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``earlyphase`` command."""
    from earlyphase.cli.common import run_app

    sys.exit(run_app(app, argv))
