"""``electrohet voxel``: voxel-resolved electrochemistry on a labelled volume
(registered by :mod:`electrohet.cli`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from electrohet.cli.options import max_memory_option, overwrite_dir_option, skip_satisfied_option
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


#: files whose presence means a voxel output folder already holds results
VOXEL_RESULT_NAMES = ("results.nc", "summary.json", "fields.zarr", "results_1d.nc")


@app.command()
def simulate(
    volume: Path = typer.Argument(..., help="labelled volume: TIFF, .npy, .raw, .zarr or .h5"),
    labels: str = typer.Option(None, help="label map, e.g. pore=0,cbd=1,am=2,crack=3"),
    voxel_size: str = typer.Option(
        None, help="voxel size z,y,x [um] (one value = isotropic; 0.001 to 100 um)"
    ),
    experiment: list[str] = typer.Option(
        ..., "--experiment", "-e", help="step, e.g. 'Discharge at C/2 until 3.0 V' (repeat)"
    ),
    out: Path = typer.Option(Path("voxel_out"), help="output folder"),
    overwrite: bool = overwrite_dir_option(),
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
    skip_satisfied: bool = skip_satisfied_option(),
    max_memory: str = max_memory_option("run"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar or estimate"),
) -> None:
    """Run an experiment on a labelled electrode volume (voxel-resolved half cell)."""
    from electrohet.errors import SolverError
    from electrohet.interrupts import (
        Interrupted,
        deferred_signals,
        exit_code_of,
        finish_writing,
        make_interruptible,
    )
    from electrohet.micro.estimate import check_memory, parse_memory, voxel_estimate
    from electrohet.micro.io import load_volume
    from electrohet.outputs import output_dir, write_json
    from electrohet.protocols import Experiment
    from electrohet.voxel.simulation import (
        Simulation,
        VoxelSolverOptions,
        check_voxel_size,
        graded_film_thickness,
    )

    limit = parse_memory(max_memory)
    times = _floats(save_at, "--save-at")
    bad = [t for t in times if not (np.isfinite(t) and t >= 0)]
    if bad:
        raise ParameterError(f"--save-at = {save_at!r}: {bad} are not times >= 0 s")
    if period is not None and not (np.isfinite(period) and period > 0):
        raise ParameterError(f"--period = {period!r} must be a positive time in s")
    exp = Experiment(list(experiment))
    film = film_nm * 1e-9
    if graded_cei_nm:
        g = _floats(graded_cei_nm, "--graded-cei-nm")
        if len(g) != 2 or min(g) < 0:
            raise ParameterError(
                f"--graded-cei-nm = {graded_cei_nm!r} must be two values >= 0 (collector,separator)"
            )

        def film(z, g=g):
            return graded_film_thickness(z, g[0] * 1e-9, g[1] * 1e-9)

    vol = load_volume(volume, labels=labels, voxel_size=voxel_size, voxel_size_unit=1e-6)
    from electrohet.micro.volume import require_3d

    require_3d(vol.shape, volume, "voxel simulate")
    check_voxel_size(vol.voxel_size)
    n_vox = float(np.prod(vol.shape))
    est = voxel_estimate(n_vox, len(exp.steps))
    shape = "x".join(str(v) for v in vol.shape)
    check_memory(
        est,
        limit,
        f"voxel simulate of {shape} voxels",
        "crop or coarsen the volume, or run fewer steps",
    )
    if not quiet:
        typer.echo(f"{shape} voxels, {len(exp.steps)} steps: {est.describe()}")
    with output_dir(out, VOXEL_RESULT_NAMES, overwrite, inputs=[volume]):
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
        fields = out / "fields.zarr" if times else None
        stale = out / "fields.zarr"
        if stale.exists():  # only with --overwrite: a Zarr store is not replaced atomically
            import shutil

            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        interrupt = make_interruptible(sim)
        ds = sim.solve(
            exp,
            save_at=times or None,
            fields_path=fields,
            progress=not quiet,
            period=period,
            skip_satisfied=skip_satisfied,
        )
        if interrupt["cause"] is not None:
            ds.attrs["status"] = "interrupted"
            with deferred_signals(reraise=False):
                _write_outputs(ds, out, fields)
            raise Interrupted(
                f"{ds.sizes['time']} states up to t = {float(ds.time[-1]):.6g} s saved to {out} "
                "(status 'interrupted')"
                if ds.sizes.get("time", 0)
                else f"no state had been computed (empty results written to {out})",
                exit_code_of(interrupt["cause"]),
            )
        with finish_writing(f"the results in {out}"):
            _write_outputs(ds, out, fields)
            summary = _summary(ds, out)
            if compare_1d and ds.attrs["status"] == "completed":
                summary.update(_compare_1d(sim, list(experiment), ds, out, skip_satisfied))
                write_json(out / "summary.json", summary)
    if ds.sizes.get("time", 0):
        t_end = float(ds.time[-1])
        late = [t for t in times if t > t_end]
        if late:
            typer.echo(
                f"warning: --save-at time(s) {late} s lie after the end of the run "
                f"(t = {t_end:.6g} s); no fields were saved for them",
                err=True,
            )
    if ds.attrs["status"] != "completed":
        raise SolverError(
            f"voxel run {ds.attrs['status']}: {ds.attrs['message']}; partial results saved to {out}"
        )
    from electrohet.outputs import json_text

    typer.echo(json_text(summary, indent=None))


def _compare_1d(sim, experiment: list[str], ds, out: Path, skip_satisfied: bool = False) -> dict:
    """Run the homogenised counterpart, plot both, return the summary's extra keys."""
    from electrohet.model import Simulation as Simulation1D
    from electrohet.outputs import write_netcdf
    from electrohet.voxel.compare import homogenised_cell, plot_side_by_side, voltage_difference

    ds_1d = Simulation1D(homogenised_cell(sim)).solve(experiment, skip_satisfied=skip_satisfied)
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
    from electrohet.outputs import json_text, write_json, write_netcdf
    from electrohet.voxel.plot import plot_particle_histogram, plot_soc_slices, plot_voltage

    attrs = {
        k: (json_text(v, indent=None) if isinstance(v, (list, dict)) else v)
        for k, v in ds.attrs.items()
    }
    write_netcdf(ds.assign_attrs(attrs), out / "results.nc")
    if ds.sizes.get("time", 0):
        plot_voltage(ds, out / "voltage.png")
        if ds.sizes.get("particle", 0):
            plot_particle_histogram(ds, out / "particle_soc_histogram.png")
    if fields is not None and fields.exists():
        import xarray as xr

        plot_soc_slices(xr.open_zarr(fields), out / "soc_slices.png")
    write_json(out / "summary.json", _summary(ds, out))


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
