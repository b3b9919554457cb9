"""``electrohet age CONFIG.toml --out DIR``: an aging run with progress.

Writes, in ``DIR``: ``cycles.csv`` (one row per finished cycle, appended as the run
goes, so a run that stops keeps every finished cycle), ``aging.nc`` (the per-cycle
Dataset), ``status.json`` (completed/failed and why) and ``aging.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

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


def register(app: typer.Typer) -> None:
    """Attach ``age`` to the root CLI application."""
    app.command("age")(age)


def age(
    config: Path = typer.Argument(..., help="TOML file: cell, protocol, mechanisms, mesh, jump"),
    out: Path = typer.Option(Path("aging"), "--out", help="output folder"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Aging run (CEI growth, contact loss and isolation, cracking) with cycle jumping."""
    from electrohet.aging.config import load_aging_config
    from electrohet.aging.plot import plot_aging
    from electrohet.outputs import write_netcdf

    run = load_aging_config(config)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "cycles.csv"
    with csv.open("w") as fh:
        fh.write(",".join(_CSV_KEYS) + "\n")

    def write_row(row: dict) -> None:
        with csv.open("a") as fh:
            fh.write(",".join(str(row.get(k, "")) for k in _CSV_KEYS) + "\n")

    ds = run.run(progress=not quiet, on_cycle=write_row)
    write_netcdf(ds, out / "aging.nc")
    status = {k: ds.attrs[k] for k in ("status", "message", "n_resolved", "wall_time_s")}
    status["cycles_finished"] = int(ds.sizes["cycle"])
    (out / "status.json").write_text(json.dumps(status, indent=2))
    if ds.sizes["cycle"] > 0:
        plot_aging(ds, str(out / "aging.png"))
    if ds.attrs["status"] != "completed":
        raise SolverError(
            f"aging run stopped: {ds.attrs['message']}; {ds.sizes['cycle']} finished "
            f"cycles saved in {out}"
        )
    last = float(ds.retention.values[-1])
    typer.echo(
        f"{run.cell.name}: {ds.sizes['cycle']} cycles ({ds.attrs['n_resolved']} resolved) "
        f"in {ds.attrs['wall_time_s']:.1f} s, retention {100 * last:.1f} % -> {out}"
    )
