"""``electrohet age CONFIG.toml --out DIR``: an aging run with progress.

Writes, in ``DIR``: ``cycles.csv`` (one row per finished cycle, appended as the run
goes, so a run that stops keeps every finished cycle), ``aging.nc`` (the per-cycle
Dataset), ``status.json`` (completed/failed/interrupted and why) and ``aging.png``.
The folder follows the output policy of :mod:`electrohet.outputs` (earlier results
only replaced with ``--overwrite``, the config never written over, no empty folder
left after an error); Ctrl-C / SIGTERM save ``aging.nc`` and ``status.json`` of the
finished cycles (status ``"interrupted"``) before exiting with 130 / 143.
"""

from __future__ import annotations

from pathlib import Path

import typer

from electrohet.cli.options import max_memory_option, overwrite_dir_option
from electrohet.errors import SolverError

_CSV_KEYS = (
    "cycle",
    "resolved",
    "checkup",
    "discharge_capacity",
    "charge_capacity",
    "discharge_energy",
    "lam",
    "isolated_share_number",
    "li_cei",
    "li_trapped",
    "li_balance_error",
)

#: files whose presence means an aging output folder already holds results
AGING_RESULT_NAMES = ("cycles.csv", "aging.nc", "status.json")

#: stored results per cycle [bytes]: the row (a dict and six per-slot arrays), the
#: Dataset built from the rows and its in-memory netCDF copy (measured order of
#: magnitude; dominates the memory of runs with very many cycles)
BYTES_PER_CYCLE_BASE = 2500.0
BYTES_PER_CYCLE_SLOT = 8.0 * 18
#: from this many cycles on, ``age`` prints its memory estimate before starting
ESTIMATE_FROM_CYCLES = 10_000


def register(app: typer.Typer) -> None:
    """Attach ``age`` to the root CLI application."""
    app.command("age")(age)


def aging_memory(n_cycles: int, n_slots: int) -> float:
    """Estimated memory of the stored results of ``n_cycles`` cycles [bytes]
    (``n_slots`` particle slots of the model)."""
    return n_cycles * (BYTES_PER_CYCLE_BASE + BYTES_PER_CYCLE_SLOT * n_slots) + 0.2e9


def age(
    config: Path = typer.Argument(..., help="TOML file: cell, protocol, mechanisms, mesh, jump"),
    out: Path = typer.Option(Path("aging"), "--out", help="output folder"),
    overwrite: bool = overwrite_dir_option(),
    max_memory: str = max_memory_option("run"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar or estimate"),
) -> None:
    """Aging run (CEI growth, contact loss and isolation, cracking) with cycle jumping."""
    from electrohet.aging.config import load_aging_config
    from electrohet.micro.estimate import Estimate, check_memory, parse_memory
    from electrohet.outputs import check_not_input, output_dir

    limit = parse_memory(max_memory)
    check_not_input(out, [config], AGING_RESULT_NAMES)
    run = load_aging_config(config)
    n = int(run.protocol.n_cycles)
    est = Estimate(aging_memory(n, int(run.n_slots)), float("nan"))
    check_memory(
        est,
        limit,
        f"age with {n:,} cycles",
        "run fewer cycles (protocol.n_cycles) or a coarser mesh",
    )
    if not quiet and n >= ESTIMATE_FROM_CYCLES:
        jump = run.jump
        fewest = -(-n // int(jump.max_jump)) if jump.enabled else n
        typer.echo(
            f"{n:,} cycles: ~{est.bytes / 1e9:.2f} GB for the stored results; between "
            f"{fewest:,} and {n:,} cycles are resolved (each a full simulation"
            + (
                f"; cycle jumping skips at most {jump.max_jump - 1} in a row"
                if jump.enabled
                else ""
            )
            + "); the progress bar shows the remaining time"
        )
    with output_dir(out, AGING_RESULT_NAMES, overwrite, inputs=[config]):
        _run_into(run, out, quiet)


def _run_into(run, out: Path, quiet: bool) -> None:
    """Run ``run``, writing its files into the checked, locked folder ``out``."""
    from electrohet.aging.plot import plot_aging
    from electrohet.interrupts import Interrupted, deferred_signals, exit_code_of, finish_writing
    from electrohet.outputs import write_json, write_netcdf

    csv = out / "cycles.csv"
    with csv.open("w") as fh:
        fh.write(",".join(_CSV_KEYS) + "\n")

    def write_row(row: dict) -> None:
        with csv.open("a") as fh:
            fh.write(",".join(str(row.get(k, "")) for k in _CSV_KEYS) + "\n")

    run.keep_on_interrupt = True
    try:
        ds = run.run(progress=not quiet, on_cycle=write_row)
    except KeyboardInterrupt as exc:  # before the first cycle (formation)
        with deferred_signals(reraise=False):
            write_json(out / "status.json", _status(None, "interrupted before cycle 1"))
        raise Interrupted(
            f"no cycle had finished; status.json written to {out}", exit_code_of(exc)
        ) from None
    cause = run.interrupt_cause
    n_done = int(ds.sizes["cycle"])

    def _save() -> None:
        write_netcdf(ds, out / "aging.nc")
        write_json(out / "status.json", _status(ds))
        if n_done > 0:
            plot_aging(ds, str(out / "aging.png"))

    if cause is not None:
        with deferred_signals(reraise=False):
            _save()
        raise Interrupted(
            f"{n_done} finished cycles saved to {out} (aging.nc, cycles.csv, status.json; "
            "status 'interrupted')",
            exit_code_of(cause),
        )
    with finish_writing(f"the results in {out}"):
        _save()
    if ds.attrs["status"] != "completed":
        raise SolverError(
            f"aging run stopped: {ds.attrs['message']}; {n_done} finished cycles saved in {out}"
        )
    # retention of the last regular cycle (a check-up at another rate is not comparable)
    regular = ~ds.checkup.values.astype(bool)
    last = float(ds.retention.values[regular][-1]) if regular.any() else float("nan")
    typer.echo(
        f"{run.cell.name}: {n_done} cycles ({ds.attrs['n_resolved']} resolved) "
        f"in {ds.attrs['wall_time_s']:.1f} s, retention of the last regular cycle "
        f"{100 * last:.1f} % -> {out}"
    )


def _status(ds, message: str = "") -> dict:
    """status.json of a run (``ds`` ``None``: stopped before its first cycle)."""
    if ds is None:
        return {
            "status": "interrupted",
            "message": message,
            "n_resolved": 0,
            "wall_time_s": None,
            "cycles_finished": 0,
        }
    status = {k: ds.attrs[k] for k in ("status", "message", "n_resolved", "wall_time_s")}
    status["cycles_finished"] = int(ds.sizes["cycle"])
    return status
