"""``electrohet validate``: print and write the pre-registered scoreboard."""

from __future__ import annotations

from pathlib import Path

import typer

from electrohet.cli.options import scheduler_option


def register(app: typer.Typer) -> None:
    """Attach ``validate`` to the root CLI application."""
    app.command("validate")(validate)


def validate(
    out: Path = typer.Option(
        Path("electrohet-validation"), "--out", help="output folder (report, JSON, figures)"
    ),
    quick: bool = typer.Option(
        False, "--quick", help="cheap settings, a structure check in about 2 minutes"
    ),
    case: list[str] = typer.Option(
        [], "--case", help="run only this case id (repeatable); default all"
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an earlier report"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress lines"),
    scheduler: str | None = scheduler_option(),
) -> None:
    """Scoreboard of every seed-paper claim: calibrated, predicted or not reproduced.

    Writes scoreboard.md and scoreboard.json (plus figures and tables) to --out and
    prints the table.  The full set takes up to ~30 minutes on 2 cores.
    """
    import os

    from electrohet.outputs import prepare_output_dir
    from electrohet.sweeps import SCHEDULER_ENV
    from electrohet.validation import validate as run_validate
    from electrohet.validation.runner import to_text_table

    if scheduler:
        # the cases' sweeps (rate study, thickness study) read it (electrohet.sweeps)
        os.environ[SCHEDULER_ENV] = scheduler
    lock = prepare_output_dir(out, ("scoreboard.md", "scoreboard.json"), overwrite)
    try:
        board = run_validate(quick=quick, out=out, cases=case or None, progress=not quiet)
    finally:
        lock.release()
    typer.echo(to_text_table(board))
    typer.echo(f"report: {out / 'scoreboard.md'}")
