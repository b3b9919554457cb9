# ruff: noqa: B008  (typer declares options as argument defaults)
"""CLI of ``electrohet voxel`` (registered by :mod:`electrohet.cli`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from electrohet.errors import ParameterError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: brackets and units ([s], [nm]) are shown as written
)


def _floats(text: str | None, key: str) -> list[float]:
    if not text:
        return []
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ParameterError(f"{key} = {text!r} must be comma-separated numbers") from None


@app.command()
def simulate(
    volume: Path = typer.Argument(..., help="labelled volume: TIFF, .npy, .raw, .zarr or .h5"),
    labels: str = typer.Option(None, help="label map, e.g. pore=0,cbd=1,am=2,crack=3"),
    voxel_size: str = typer.Option(None, help="voxel size z,y,x in um (one value = isotropic)"),
    experiment: list[str] = typer.Option(
        ..., "--experiment", "-e", help="step, e.g. 'Discharge at C/2 until 3.0 V' (repeat)"
    ),
    out: Path = typer.Option(Path("voxel_out"), help="output folder"),
    material: str = typer.Option("NMC532", help="active material (registry name)"),
    cbd_porosity: float = typer.Option(0.5, help="CBD nano-porosity [-]"),
    cbd_tortuosity: float = typer.Option(2.0, help="CBD tortuosity factor [-]"),
    cbd_conductivity: float = typer.Option(10.0, help="CBD conductivity [S/m]"),
    cbd_clogged: bool = typer.Option(False, help="no ion transport or reaction through CBD"),
    film_nm: float = typer.Option(0.0, help="uniform CEI thickness [nm]"),
    graded_cei_nm: str = typer.Option(
        None, help="graded CEI: mean at collector,separator [nm], e.g. 3,28"
    ),
    save_at: str = typer.Option(None, help="times [s] of full 3D fields (Zarr), e.g. 0,1800"),
    period: float = typer.Option(
        None, help="output interval [s] (dense output between solver steps); default: steps"
    ),
    particles: bool = typer.Option(True, help="per-particle SOC (watershed particle labels)"),
    compare_1d: bool = typer.Option(
        False,
        "--compare-1d",
        help="also run the homogenised 1D model of the volume (Electrode.from_volume) "
        "and plot both (voltage_vs_1d.png)",
    ),
    linear: str = typer.Option("auto", help="linear solver: auto, direct or krylov"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Run an experiment on a labelled electrode volume (voxel-resolved half cell)."""
    from electrohet.interrupts import (
        Interrupted,
        deferred_signals,
        exit_code_of,
        make_interruptible,
    )
    from electrohet.micro.io import load_volume
    from electrohet.voxel.simulation import (
        Simulation,
        VoxelSolverOptions,
        graded_film_thickness,
    )

    vol = load_volume(volume, labels=labels, voxel_size=voxel_size, voxel_size_unit=1e-6)
    film = film_nm * 1e-9
    if graded_cei_nm:
        g = _floats(graded_cei_nm, "--graded-cei-nm")
        if len(g) != 2 or min(g) < 0:
            raise ParameterError(
                f"--graded-cei-nm = {graded_cei_nm!r} must be two values >= 0 (collector,separator)"
            )

        def film(z, g=g):
            return graded_film_thickness(z, g[0] * 1e-9, g[1] * 1e-9)

    sim = Simulation(
        vol,
        material=material,
        cbd_porosity=cbd_porosity,
        cbd_tortuosity=cbd_tortuosity,
        cbd_conductivity=cbd_conductivity,
        cbd_clogged=cbd_clogged,
        film_thickness=film,
        particle_labels="auto" if particles else None,
        options=VoxelSolverOptions(linear=linear),
    )
    times = _floats(save_at, "--save-at")
    out.mkdir(parents=True, exist_ok=True)
    fields = out / "fields.zarr" if times else None
    interrupt = make_interruptible(sim)
    ds = sim.solve(
        list(experiment),
        save_at=times or None,
        fields_path=fields,
        progress=not quiet,
        period=period,
    )
    if interrupt["cause"] is not None:
        ds.attrs["status"] = "interrupted"
    with deferred_signals(reraise=interrupt["cause"] is None):
        _write_outputs(ds, out, fields)
    if interrupt["cause"] is not None:
        raise Interrupted(
            f"{ds.sizes['time']} states up to t = {float(ds.time[-1]):.6g} s saved to {out} "
            "(status 'interrupted')"
            if ds.sizes.get("time", 0)
            else f"no state had been computed (empty results written to {out})",
            exit_code_of(interrupt["cause"]),
        )
    summary = _summary(ds, out)
    if compare_1d:
        summary.update(_compare_1d(sim, list(experiment), ds, out))
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    typer.echo(json.dumps(summary))


def _compare_1d(sim, experiment: list[str], ds, out: Path) -> dict:
    """Run the homogenised counterpart, plot both, return the summary's extra keys."""
    from electrohet.model import Simulation as Simulation1D
    from electrohet.outputs import write_netcdf
    from electrohet.voxel.compare import homogenised_cell, plot_side_by_side, voltage_difference

    ds_1d = Simulation1D(homogenised_cell(sim)).solve(experiment)
    write_netcdf(ds_1d, out / "results_1d.nc")
    if not (float(ds.capacity[-1]) > 0 and float(ds_1d.capacity[-1]) > 0):
        return {"vs_1d": "no net discharge to compare on"}
    plot_side_by_side(ds, ds_1d, out / "voltage_vs_1d.png")
    d = voltage_difference(ds, ds_1d)
    return {
        "vs_1d_rms_mV": 1e3 * d["rms"],
        "vs_1d_mean_mV": 1e3 * d["mean"],
        "vs_1d_capacity_ratio": d["capacity_ratio"],
    }


def _write_outputs(ds, out: Path, fields: Path | None) -> None:
    """results.nc, plots and summary.json of a (possibly partial) run."""
    from electrohet.voxel.plot import plot_particle_histogram, plot_soc_slices, plot_voltage

    attrs = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in ds.attrs.items()}
    ds.assign_attrs(attrs).to_netcdf(out / "results.nc")
    if ds.sizes.get("time", 0):
        plot_voltage(ds, out / "voltage.png")
        if ds.sizes.get("particle", 0):
            plot_particle_histogram(ds, out / "particle_soc_histogram.png")
    if fields is not None and fields.exists():
        import xarray as xr

        plot_soc_slices(xr.open_zarr(fields), out / "soc_slices.png")
    (out / "summary.json").write_text(json.dumps(_summary(ds, out), indent=2))


def _summary(ds, out: Path) -> dict:
    has = ds.sizes.get("time", 0) > 0
    return {
        "status": ds.attrs["status"],
        "message": ds.attrs["message"],
        "unknowns": ds.attrs["unknowns"],
        "capacity_mAh_g": float(np.asarray(ds.specific_capacity)[-1]) if has else None,
        "final_voltage_V": float(np.asarray(ds.voltage)[-1]) if has else None,
        "wall_time_s": ds.attrs["wall_time_s"],
        "lithium_balance_error": ds.attrs["lithium_balance_error"],
    }
