"""CLI commands: earlyphase report."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the top-level ``report`` command to ``app``."""
