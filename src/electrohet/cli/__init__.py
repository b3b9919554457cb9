"""Command-line interface: ``electrohet <command>``.

One module per command group, all in this package (the library packages never import
it; it may import any of them):

- :mod:`electrohet.cli.model` - ``simulate``;
- :mod:`electrohet.cli.rate_study` - ``rate-study``, ``demo``;
- :mod:`electrohet.cli.thickness` - ``thickness-study``;
- :mod:`electrohet.cli.aging` - ``age``;
- :mod:`electrohet.cli.validate` - ``validate``;
- :mod:`electrohet.cli.micro`, :mod:`electrohet.cli.analyze`, :mod:`electrohet.cli.voxel`
  - the sub-applications ``micro``, ``analyze``, ``voxel``;
- :mod:`electrohet.cli.options` - options shared by several commands.

One error path for every command:

- a usage error (no command, an unknown command, a missing argument, a value of the
  wrong type) and every :class:`~electrohet.errors.ElectrohetError` are printed as one
  line on stderr starting with ``error:``, exit code 2 (no traceback);
- Ctrl-C (SIGINT) exits with 130 and SIGTERM with 143 (128 + signal number), after the
  command has saved what had finished (see :mod:`electrohet.interrupts`);
- an OS error (file not found, permission, full disk) is one line and exit 2.
"""

from __future__ import annotations

import typer

from electrohet.errors import ElectrohetError, OutputError

app = typer.Typer(
    name="electrohet",
    help="Heterogeneity in porous lithium-ion battery electrodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain (click) help: Rich markup would eat "[s]", "[nm]" and "[[designs]]", and
    # flags are shown as flags ("--overwrite", "--wiring / --no-wiring")
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("electrohet")
        except PackageNotFoundError:  # running from a source tree that is not installed
            v = "unknown (not installed)"
        typer.echo(f"electrohet {v}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Heterogeneity in porous lithium-ion battery electrodes."""


def _register_subapps() -> None:
    from electrohet.cli.aging import register as register_aging
    from electrohet.cli.analyze import app as analysis_app
    from electrohet.cli.micro import app as micro_app
    from electrohet.cli.model import register as register_simulate
    from electrohet.cli.rate_study import register as register_rate_study
    from electrohet.cli.thickness import thickness_study_cmd
    from electrohet.cli.validate import register as register_validate
    from electrohet.cli.voxel import app as voxel_app

    register_simulate(app)
    register_rate_study(app)
    app.command("thickness-study")(thickness_study_cmd)
    register_aging(app)
    register_validate(app)
    app.add_typer(micro_app, name="micro", help="Analyse 3D labelled microstructure volumes.")
    app.add_typer(analysis_app, name="analyze", help="Analyse measurement data.")
    app.add_typer(voxel_app, name="voxel", help="Voxel-resolved electrochemistry on a volume.")


_register_subapps()


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """Click's usage-error classes: typer's vendored copy and, if installed, click's own.

    Recent typer releases ship their own copy of click (``typer._click``) and raise its
    exceptions; older ones raise click's.  Both are caught.
    """
    types: list[type[BaseException]] = []
    for mod in ("typer._click.exceptions", "click.exceptions"):
        try:
            m = __import__(mod, fromlist=["ClickException"])
        except ImportError:
            continue
        types.append(m.ClickException)
    return tuple(types)


def _abort_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [typer.Abort]
    for mod in ("typer._click.exceptions", "click.exceptions"):
        try:
            m = __import__(mod, fromlist=["Abort"])
        except ImportError:
            continue
        if hasattr(m, "Abort"):
            types.append(m.Abort)
    return tuple(types)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_message(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "NoArgsIsHelpError":
        ctx = getattr(exc, "ctx", None)
        cmd = getattr(ctx, "command_path", None) or "electrohet"
        commands = []
        group = getattr(ctx, "command", None)
        if group is not None and hasattr(group, "list_commands"):
            commands = list(group.list_commands(ctx))
        listed = f" ({', '.join(commands)})" if commands else ""
        return f"missing command{listed}; run '{cmd} --help' for usage"
    fmt = getattr(exc, "format_message", None)
    msg = fmt() if callable(fmt) else str(exc)
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None)
    hint = f" (run '{path} --help' for usage)" if path else ""
    return _one_line(msg) + hint


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``electrohet`` console script; returns the exit code."""
    from electrohet.interrupts import (
        Interrupted,
        exit_code_of,
        handle_termination,
        received_signal,
    )

    usage_errors = _usage_error_types()
    aborts = _abort_types()
    with handle_termination():
        try:
            # typer returns (not raises) the code of typer.Exit, and turns a
            # KeyboardInterrupt into code 130, in non-standalone mode
            rv = app(args=argv, standalone_mode=False, prog_name="electrohet")
        except ElectrohetError as exc:
            typer.echo(f"error: {_one_line(exc)}", err=True)
            return _exit(2)
        except Interrupted as exc:
            typer.echo(f"interrupted: {_one_line(exc)}", err=True)
            return _exit(exc.exit_code)
        except (KeyboardInterrupt, *aborts) as exc:
            # click turns KeyboardInterrupt (and Terminated) into Abort "from" it
            typer.echo("interrupted", err=True)
            return _exit(exit_code_of(exc))
        except typer.Exit as exc:
            return _exit(exc.exit_code)
        except usage_errors as exc:
            typer.echo(f"error: {_usage_message(exc)}", err=True)
            return _exit(2)
        except OSError as exc:
            # a file that cannot be read or written outside electrohet's own checks
            typer.echo(f"error: {_os_message(exc)}", err=True)
            return _exit(2)
        except MemoryError:
            typer.echo("error: not enough memory for this run; make the problem smaller", err=True)
            return _exit(2)
    sig = received_signal()
    if sig is not None:
        typer.echo("interrupted", err=True)
        return _exit(128 + int(sig))
    code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
    if code == 130:  # a KeyboardInterrupt raised without a signal
        typer.echo("interrupted", err=True)
    return _exit(code)


def _os_message(exc: OSError) -> str:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return _one_line(OutputError.from_os_error(exc))
    name = f"{exc.filename}: " if exc.filename else ""
    return _one_line(f"{name}{exc.strerror or exc}")


def _exit(code: int | None) -> int:
    return 0 if code is None else int(code)
