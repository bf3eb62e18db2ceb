"""CLI commands for running a trial: init, import, export, twin, demo."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the top-level trial commands to ``app``."""
