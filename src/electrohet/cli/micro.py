"""CLI commands of ``electrohet micro`` (registered by :mod:`electrohet.cli`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from electrohet.cli.options import max_memory_option, overwrite_dir_option
from electrohet.errors import ParameterError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: brackets and units ([s], [nm]) are shown as written
)


#: files whose presence means a micro output folder already holds results
MICRO_RESULT_NAMES = ("metrics.json", "profiles.csv", "particles.csv", "particles.parquet")


@app.command()
def analyze(
    volume: Path = typer.Argument(..., help="TIFF, folder of TIFFs, .npy, .raw, .zarr or .h5"),
    labels: str = typer.Option(None, help="label map, e.g. pore=0,cbd=1,am=2,crack=3"),
    voxel_size: str = typer.Option(None, help="voxel size z,y,x in um (one value = isotropic)"),
    out: Path = typer.Option(Path("micro_out"), help="output folder"),
    metadata: Path = typer.Option(None, help="metadata TOML (voxel_size_um, [labels])"),
    shape: str = typer.Option(None, help="raw files: nz,ny,nx"),
    dtype: str = typer.Option(None, help="raw files: dtype, e.g. uint8"),
    key: str = typer.Option(None, help="dataset name in HDF5/Zarr groups"),
    connectivity: int = typer.Option(26, help="CBD connectivity: 6 or 26"),
    particles: bool = typer.Option(True, help="segment particles (needs the volume in RAM)"),
    tortuosity: bool = typer.Option(True, help="pore tortuosity (needs the volume in RAM)"),
    geometric: bool = typer.Option(True, help="geometric (shortest-path) tortuosity"),
    pore_size: bool = typer.Option(True, help="pore size distribution (local thickness)"),
    flow: bool = typer.Option(False, help="Stokes flow: permeability, flow tortuosity"),
    figures: bool = typer.Option(True, help="write PNG figures"),
    overwrite: bool = overwrite_dir_option(),
    max_memory: str = max_memory_option("analysis"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar or estimate"),
) -> None:
    """Analyse a labelled volume: metrics JSON, per-particle table and figures."""
    from electrohet.micro.estimate import check_memory, parse_memory
    from electrohet.micro.io import load_volume
    from electrohet.outputs import check_not_input, output_dir

    limit = parse_memory(max_memory)
    check_not_input(out, [volume, metadata], MICRO_RESULT_NAMES)
    shp = None
    if shape:
        try:
            shp = tuple(int(v) for v in shape.split(","))
        except ValueError:
            raise ParameterError(f"--shape = {shape!r} must be nz,ny,nx integers") from None
    vol = load_volume(
        volume,
        labels=labels,
        voxel_size=voxel_size,
        voxel_size_unit=1e-6,
        metadata=metadata,
        shape=shp,
        dtype=dtype,
        key=key,
    )
    from electrohet.micro.estimate import estimate
    from electrohet.micro.volume import require_3d

    require_3d(vol.shape, volume, "micro analyze")
    n = float(np.prod(vol.shape))
    steps = {"metrics": n}
    for flag, name in (
        (particles, "particles"),
        (tortuosity, "tortuosity"),
        (geometric, "geometric"),
        (pore_size, "pore_size"),
    ):
        if flag:
            steps[name] = n
    if flow:
        # per pore voxel: the flow step's cost depends on the pore count, and on it the
        # solver (LU or MINRES); one pass over the labels (Dask chunks for a lazy volume)
        phases = [vol.labels[p] for p in ("pore", "crack") if p in vol.labels]
        steps["flow"] = float(np.isin(vol.data, phases).sum()) if phases else 0.0
    est = estimate(steps)
    size = f"{vol.shape[0]}x{vol.shape[1]}x{vol.shape[2]}"
    hint = "crop the volume" + (", leave out --flow" if flow else "")
    hint += " or turn steps off (--no-particles, --no-pore-size, --no-tortuosity)"
    check_memory(est, limit, f"micro analyze of {size} voxels", hint)
    if not quiet:
        typer.echo(f"{size} voxels: {est.describe()}")
    with output_dir(out, MICRO_RESULT_NAMES, overwrite, inputs=[volume, metadata]):
        options = dict(
            connectivity=connectivity,
            particles=particles,
            tortuosity=tortuosity,
            geometric=geometric,
            pore_size=pore_size,
            flow=flow,
        )
        _analyze_into(vol, out, options, figures, quiet)
    typer.echo(f"wrote {out / 'metrics.json'}")


def _analyze_into(vol, out: Path, options: dict, figures: bool, quiet: bool) -> None:
    """The analysis of ``micro analyze`` (``options``: the keyword arguments of
    :func:`electrohet.micro.metrics.analyze`) and its files, in a checked ``out``."""
    from electrohet.micro.metrics import analyze as run
    from electrohet.outputs import write_json

    connectivity = options["connectivity"]
    particles, flow = options["particles"], options["flow"]
    tortuosity, geometric, pore_size = (
        options["tortuosity"],
        options["geometric"],
        options["pore_size"],
    )
    bar = None
    if not quiet:
        from tqdm import tqdm

        n_steps = 4 + sum(
            [tortuosity, geometric, pore_size, flow, particles and "am" in vol.labels]
        )
        bar = tqdm(total=n_steps, desc="analyze", unit="step", leave=False)

    def on_step(name: str) -> None:
        if bar is not None:
            bar.set_postfix_str(name)
            bar.update(1)

    try:
        res = run(
            vol,
            **options,
            validate=False,
            progress=on_step,
        )
    finally:
        if bar is not None:
            bar.close()
    for msg in res.get("warnings", []):
        typer.echo(f"warning: {msg}", err=True)
    prof = res.pop("_profiles")
    tab = res.pop("_particle_table", None)
    import pandas as pd

    from electrohet.outputs import write_text_atomic

    write_text_atomic(out / "profiles.csv", pd.DataFrame(prof).to_csv(index=False))
    if tab is not None:
        write_text_atomic(out / "particles.csv", tab.to_csv(index=False))
        try:
            tab.to_parquet(out / "particles.parquet")
        except ImportError:
            pass
    if figures:
        from electrohet.micro import figures as fg

        fg.plot_profiles(prof, out / "profiles.png")
        fg.plot_phase_slice(vol, out / "slice_phases.png")
        if "cbd" in vol.labels:
            fg.plot_cbd_aggregates(vol, out / "cbd_aggregates.png", connectivity)
    # last: its presence marks a finished analysis (a "percolating" flag says why a
    # value is null)
    write_json(out / "metrics.json", res)


@app.command()
def generate(
    out: Path = typer.Argument(..., help="output file (.zarr, .npy, .tif, .h5, .raw)"),
    shape: str = typer.Option("64,64,64", help="nz,ny,nx (z = thickness, collector at 0)"),
    voxel_size: float = typer.Option(0.1, help="voxel edge [um]"),
    am_fraction: float = typer.Option(0.55, help="active-material volume fraction [-]"),
    cbd_fraction: float = typer.Option(0.10, help="carbon-binder volume fraction [-]"),
    radius_um: float = typer.Option(None, help="median particle radius [um] (default 6 voxels)"),
    cbd_mode: str = typer.Option("slurry", help="slurry (aggregated) or dry (fibrous)"),
    crack_fraction: float = typer.Option(0.0, help="crack / (AM + crack)"),
    seed: int = typer.Option(0, help="random seed (same seed, same volume)"),
    chunks: int = typer.Option(128, help="Zarr chunk edge; Zarr output is written chunk-wise"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing output"),
) -> None:
    """Write a synthetic labelled electrode (labels pore=0, cbd=1, am=2, crack=3)."""
    import shutil

    from electrohet.errors import OutputError
    from electrohet.micro.estimate import COSTS, available_memory, estimate
    from electrohet.micro.generate import generate_to_zarr, synthetic_electrode
    from electrohet.micro.io import save_volume
    from electrohet.outputs import prepare_output_file

    try:
        shp = tuple(int(v) for v in shape.split(","))
    except ValueError:
        raise ParameterError(f"--shape = {shape!r} must be nz,ny,nx integers") from None
    if len(shp) != 3 or min(shp) < 1:
        raise ParameterError(f"--shape = {shape!r} must be three positive integers nz,ny,nx")
    if not (np.isfinite(voxel_size) and voxel_size > 0):
        raise ParameterError(f"--voxel-size = {voxel_size!r} um must be > 0 um")
    if radius_um is not None:
        lo, hi = voxel_size, 1e4 * voxel_size  # 1 to 1e4 voxels
        if not (np.isfinite(radius_um) and lo <= radius_um <= hi):
            raise ParameterError(
                f"--radius-um = {radius_um!r} um is outside the allowed range [{lo:g}, {hi:g}] "
                f"um (1 to 10^4 voxels of --voxel-size {voxel_size:g} um)"
            )
    n = float(np.prod([float(v) for v in shp]))
    zarr_out = out.suffix.lower() == ".zarr"
    if zarr_out:
        if out.exists() and not overwrite:
            raise OutputError(f"output {out} exists; pass --overwrite to replace it")
    else:
        lock = prepare_output_file(out, overwrite=overwrite, lock=False)
        assert lock is None
    if zarr_out:
        halo = 1.5 * chunks  # chunk plus the particle halo on each side
        per_chunk = COSTS["generate_zarr_chunk"][0] * float(halo) ** 3
        mem = 2 * per_chunk  # two workers
        est = estimate({"generate_zarr_chunk": n})
        est.bytes = mem
    else:
        est = estimate({"generate": n})
    avail = available_memory()
    if est.bytes > avail:
        hint = " (write .zarr to generate chunk by chunk)" if not zarr_out else ""
        raise ParameterError(
            f"--shape = {shape!r} ({n:.3g} voxels) needs an estimated "
            f"{est.bytes / 1e9:.1f} GB of memory but {avail / 1e9:.1f} GB are available{hint}"
        )
    parent = out.resolve().parent
    free = shutil.disk_usage(parent if parent.exists() else Path.cwd()).free
    if n > free:
        raise ParameterError(
            f"--shape = {shape!r}: the volume takes up to {n / 1e9:.1f} GB on disk "
            f"(uint8, before compression) but {free / 1e9:.1f} GB are free at {parent}"
        )
    typer.echo(f"generating {shp[0]}x{shp[1]}x{shp[2]} voxels: {est.describe()}")
    kw = dict(
        am_fraction=am_fraction,
        cbd_fraction=cbd_fraction,
        radius_median_m=None if radius_um is None else radius_um * 1e-6,
        cbd_mode=cbd_mode,
        crack_fraction=crack_fraction,
        seed=seed,
    )
    if zarr_out:
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        generate_to_zarr(out, shp, voxel_size * 1e-6, chunks=chunks, progress=True, **kw)
    else:
        save_volume(synthetic_electrode(shp, voxel_size * 1e-6, **kw), out)
    typer.echo(f"wrote {out}")
