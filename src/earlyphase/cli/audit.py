"""CLI commands: earlyphase audit ..."""

from __future__ import annotations

import typer

app = typer.Typer(help="Verify the audit trail and read a patient's history.", no_args_is_help=True)
