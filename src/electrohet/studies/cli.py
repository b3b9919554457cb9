"""Model commands of the CLI: ``simulate``, ``rate-study`` and ``demo``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the model commands to the root CLI application."""
