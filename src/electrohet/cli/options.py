"""Command-line options shared by several commands (one definition, one help text)."""

from __future__ import annotations

import typer


def max_memory_option(what: str = "run"):
    """``--max-memory``: the memory a run may use (its estimate gates the start)."""
    return typer.Option(
        None,
        "--max-memory",
        help=f"memory the {what} may use, e.g. 8GB (default: the memory available now); "
        "a larger estimate refuses the run before it starts",
    )


def skip_satisfied_option():
    """``--skip-satisfied-steps``: skip a step whose cut-off holds at its start."""
    return typer.Option(
        False,
        "--skip-satisfied-steps",
        help="skip a step whose cut-off is already met at its start (default: an error)",
    )


def overwrite_dir_option():
    """``--overwrite`` for commands that write into an output folder."""
    return typer.Option(False, "--overwrite", help="replace results already in the --out folder")


def scheduler_option():
    """``--scheduler``: submit a sweep's runs to a running Dask cluster."""
    return typer.Option(
        None,
        "--scheduler",
        help="address of a running Dask scheduler (e.g. tcp://host:8786) to submit the runs "
        "to; default: $ELECTROHET_SCHEDULER if set, else a local cluster of --processes",
    )
