"""Command-line interface: ``electrohet <command>``.

Each pillar contributes a sub-application (``electrohet micro ...``,
``electrohet analyze ...``); the model commands (``simulate``, ``rate-study``,
``demo``) live here.  Every :class:`~electrohet.errors.ElectrohetError` is printed
as one line on stderr and the process exits with code 2 (no traceback).
"""

from __future__ import annotations

import sys

import typer

from electrohet.errors import ElectrohetError

app = typer.Typer(
    name="electrohet",
    help="Heterogeneity in porous lithium-ion battery electrodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_subapps() -> None:
    from electrohet.analysis.cli import app as analysis_app
    from electrohet.micro.cli import app as micro_app
    from electrohet.studies.cli import register as register_model_commands
    from electrohet.voxel.cli import app as voxel_app

    register_model_commands(app)
    app.add_typer(micro_app, name="micro", help="Analyse 3D labelled microstructure volumes.")
    app.add_typer(analysis_app, name="analyze", help="Analyse measurement data.")
    app.add_typer(voxel_app, name="voxel", help="Voxel-resolved electrochemistry on a volume.")


_register_subapps()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``electrohet`` console script."""
    try:
        app(args=argv, standalone_mode=False)
    except ElectrohetError as exc:
        typer.echo(f"error: {exc}", err=True)
        return _exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return _exit(130)
    except typer.Exit as exc:
        return _exit(exc.exit_code)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.UsageError):
            typer.echo(f"error: {exc.format_message()}", err=True)
            return _exit(2)
        raise
    return _exit(0)


def _exit(code: int) -> int:
    if __name__ == "__main__":
        sys.exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
