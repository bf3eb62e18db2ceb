"""CLI commands: earlyphase design ..."""

from __future__ import annotations

import typer

app = typer.Typer(help="design commands", no_args_is_help=True)
