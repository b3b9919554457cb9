# ruff: noqa: B008  (typer declares options as argument defaults)
"""CLI commands of ``electrohet micro`` (registered by :mod:`electrohet.cli`)."""

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


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if np.isfinite(f) else None  # JSON null; a "percolating" flag says why
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


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
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar or estimate"),
) -> None:
    """Analyse a labelled volume: metrics JSON, per-particle table and figures."""
    from electrohet.micro.io import load_volume
    from electrohet.micro.metrics import analyze as run

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
        steps["flow"] = n * 0.5  # per pore voxel; porosity not known before loading
    est = estimate(steps)
    if not quiet:
        typer.echo(f"{vol.shape[0]}x{vol.shape[1]}x{vol.shape[2]} voxels: {est.describe()}")
    out.mkdir(parents=True, exist_ok=True)
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
            connectivity=connectivity,
            particles=particles,
            tortuosity=tortuosity,
            geometric=geometric,
            pore_size=pore_size,
            flow=flow,
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
    (out / "metrics.json").write_text(json.dumps(_jsonable(res), indent=2))
    import pandas as pd

    pd.DataFrame(prof).to_csv(out / "profiles.csv", index=False)
    if tab is not None:
        tab.to_csv(out / "particles.csv", index=False)
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
    typer.echo(f"wrote {out / 'metrics.json'}")


@app.command()
def generate(
    out: Path = typer.Argument(..., help="output file (.zarr, .npy, .tif, .h5, .raw)"),
    shape: str = typer.Option("64,64,64", help="nz,ny,nx (z = thickness, collector at 0)"),
    voxel_size: float = typer.Option(0.1, help="voxel edge in um"),
    am_fraction: float = typer.Option(0.55),
    cbd_fraction: float = typer.Option(0.10),
    radius_um: float = typer.Option(None, help="median particle radius in um"),
    cbd_mode: str = typer.Option("slurry", help="slurry (aggregated) or dry (fibrous)"),
    crack_fraction: float = typer.Option(0.0, help="crack / (AM + crack)"),
    seed: int = typer.Option(0),
    chunks: int = typer.Option(128, help="Zarr chunk edge; Zarr output is written chunk-wise"),
) -> None:
    """Write a synthetic labelled electrode (labels pore=0, cbd=1, am=2, crack=3)."""
    import shutil

    from electrohet.micro.estimate import COSTS, available_memory, estimate
    from electrohet.micro.generate import generate_to_zarr, synthetic_electrode
    from electrohet.micro.io import save_volume

    try:
        shp = tuple(int(v) for v in shape.split(","))
    except ValueError:
        raise ParameterError(f"--shape = {shape!r} must be nz,ny,nx integers") from None
    if len(shp) != 3 or min(shp) < 1:
        raise ParameterError(f"--shape = {shape!r} must be three positive integers nz,ny,nx")
    n = float(np.prod([float(v) for v in shp]))
    zarr_out = out.suffix.lower() == ".zarr"
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
        generate_to_zarr(out, shp, voxel_size * 1e-6, chunks=chunks, progress=True, **kw)
    else:
        save_volume(synthetic_electrode(shp, voxel_size * 1e-6, **kw), out)
    typer.echo(f"wrote {out}")
