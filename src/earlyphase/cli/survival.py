"""CLI commands: earlyphase survival ..."""

from __future__ import annotations

import typer

app = typer.Typer(help="survival commands", no_args_is_help=True)
