"""Plots of voxel runs: voltage curve, SOC slice maps, per-particle SOC histogram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_voltage(ds: xr.Dataset, path: str | Path | None = None, ax=None):
    """Voltage against specific capacity [mAh/g]; returns the axes."""
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ds.specific_capacity, ds.voltage, lw=1.5)
    ax.set_xlabel("net discharged capacity [mAh/g]")
    ax.set_ylabel("voltage vs Li [V]")
    ax.grid(alpha=0.3)
    if fig is not None and path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return ax


def plot_soc_slices(
    fields: xr.Dataset, path: str | Path, axis: str = "x", index: int | None = None
):
    """Lithium fraction of the AM on one slice through the thickness, one panel per
    saved time (``fields`` = the Zarr store written by ``Simulation.solve``)."""
    plt = _plt()
    th = fields["theta"]
    n = th.sizes["time"]
    idx = th.sizes[axis] // 2 if index is None else index
    fig, axes = plt.subplots(1, n, figsize=(3 * n + 0.8, 3.2), squeeze=False)
    for k in range(n):
        sl = th.isel(time=k, **{axis: idx}).values
        im = axes[0, k].imshow(
            sl, origin="lower", vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto"
        )
        axes[0, k].set_title(f"t = {float(th.time[k]):.0f} s")
        axes[0, k].set_ylabel("z (collector at 0)")
    fig.colorbar(im, ax=axes[0, -1], label="lithium fraction")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_particle_histogram(ds: xr.Dataset, path: str | Path, time_index: int = -1, bins: int = 20):
    """Histogram of the per-particle mean SOC at one recorded time."""
    plt = _plt()
    soc = np.asarray(ds.particle_soc.isel(time=time_index))
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.hist(soc[np.isfinite(soc)], bins=bins, color="tab:blue", alpha=0.8)
    ax.set_xlabel("particle SOC [-]")
    ax.set_ylabel("particles")
    ax.set_title(f"t = {float(ds.time[time_index]):.0f} s")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
