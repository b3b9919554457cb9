"""``electrohet simulate``: one experiment on one cell of the P2D-E model.

The command checks its output before computing (see :mod:`electrohet.outputs`), writes
atomically, and on Ctrl-C / SIGTERM saves the states so far with status
``"interrupted"`` before exiting with 130 / 143.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

from electrohet.cli.options import skip_satisfied_option
from electrohet.errors import ParameterError, SolverError


def register(app: typer.Typer) -> None:
    """Attach ``simulate`` to the root CLI application."""
    app.command("simulate")(simulate)


def simulate(
    config: Path = typer.Argument(..., help="TOML file: cell, experiment, mesh, solver"),
    out: Path = typer.Option(Path("run.nc"), "--out", help="netCDF file for the results"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out file"),
    skip_satisfied: bool = skip_satisfied_option(),
    period: float = typer.Option(
        None,
        "--period",
        help="store one state per period [s] (and each step's first and last state) "
        "instead of every solver step: smaller files for long cycling runs",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Run one experiment on one cell and save the results (netCDF)."""
    from electrohet.interrupts import (
        Interrupted,
        deferred_signals,
        exit_code_of,
        finish_writing,
        make_interruptible,
    )
    from electrohet.model import MeshOptions, Simulation, SolverOptions
    from electrohet.outputs import prepare_output_file, write_netcdf
    from electrohet.protocols import Experiment
    from electrohet.studies.config import build_cell, load_toml, parse_simulate_config

    if period is not None and not (math.isfinite(period) and period > 0):
        raise ParameterError(f"--period = {period!r} must be a positive time in s")
    cfg = parse_simulate_config(load_toml(config), str(config))
    cell = build_cell(cfg)
    exp = Experiment(cfg.experiment.steps, repeat=cfg.experiment.repeat)
    lock = prepare_output_file(out, overwrite=overwrite, inputs=[config])
    try:
        sim = Simulation(
            cell,
            MeshOptions(cfg.mesh.points_per_domain, cfg.mesh.radial_points, cfg.mesh.surface),
            SolverOptions(rtol=cfg.solver.rtol, max_step=cfg.solver.max_step),
        )
        interrupt = make_interruptible(sim)
        if not quiet:
            # on stdout: stderr carries only errors (one line each)
            print(
                f"simulating {len(exp)} steps on {cell.name} (Ctrl-C saves what has finished)",
                flush=True,
            )
        try:
            ds = sim.solve(
                exp,
                initial_soc=cfg.experiment.initial_soc,
                progress=not quiet,
                skip_satisfied=skip_satisfied,
            )
        except Exception:
            if interrupt["cause"] is None:
                raise
            ds = None  # interrupted before any state was recorded
        if period is not None and ds is not None:
            ds = thin_states(ds, period)
        if interrupt["cause"] is not None:
            code = exit_code_of(interrupt["cause"])
            if ds is None or ds.sizes.get("time", 0) == 0:
                raise Interrupted(f"no state had been computed; nothing written to {out}", code)
            ds.attrs["status"] = "interrupted"
            with deferred_signals(reraise=False):
                write_netcdf(ds, out)
            raise Interrupted(
                f"{ds.sizes['time']} states up to t = {float(ds.time[-1]):.6g} s saved to {out} "
                "(status 'interrupted')",
                code,
            )
        # a first Ctrl-C while the (possibly large) file is built and written lets the
        # write finish; a second one aborts it
        with finish_writing(str(out)):
            write_netcdf(ds, out)
    finally:
        if lock is not None:
            lock.release()
    q = float(ds.capacity[-1]) * 0.1
    typer.echo(
        f"{cell.name}: {ds.sizes['time']} states, final voltage {float(ds.voltage[-1]):.4f} V, "
        f"net discharge {q:.4f} mAh/cm2 -> {out}"
    )
    if ds.attrs["status"] != "completed":
        raise SolverError(
            f"run stopped early ({ds.attrs['message']}); partial results saved to {out}"
        )


def thin_states(ds, period: float):
    """``ds`` with one state per ``period`` [s] along ``time``: the first state at or
    after each multiple of ``period``, plus the first and last state of every step
    (so each step's start and its cut-off are kept).  ``attrs["stored_period_s"]``
    records the period."""
    import numpy as np

    n = ds.sizes.get("time", 0)
    if n <= 2:
        return ds
    t = np.asarray(ds.time.values, dtype=float)
    keep = np.zeros(n, dtype=bool)
    keep[[0, -1]] = True
    for key in ("step", "cycle"):
        if key in ds:
            edge = np.flatnonzero(np.diff(np.asarray(ds[key].values)) != 0)
            keep[edge] = True
            keep[edge + 1] = True
    slot = np.floor(t / period)
    keep[np.flatnonzero(np.diff(slot) > 0) + 1] = True
    out = ds.isel(time=keep)
    out.attrs["stored_period_s"] = float(period)
    return out
