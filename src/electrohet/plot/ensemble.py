"""Plots of particle-ensemble results: class SOC against time, onsets, SOC histograms.

All functions draw on a given matplotlib ``Axes`` (or create a figure with the Agg
backend when none is given) and return the ``Axes``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from electrohet.model.ensemble_outputs import class_average, soc_histogram  # noqa: E402


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def plot_class_soc(ds: xr.Dataset, ax=None, region: str = "positive", labels=None):
    """Volume-weighted mean lithium fraction of each particle class against time [h]."""
    ax = _axes(ax)
    ca = class_average(ds, "theta_mean", region)
    t = ds["time"].values / 3600.0
    for k in range(ca.sizes["particle_class"]):
        lab = labels[k] if labels is not None else f"class {k}"
        ax.plot(t, ca.isel(particle_class=k).values, label=lab)
    ax.set_xlabel("time [h]")
    ax.set_ylabel("lithium fraction [-]")
    ax.legend(fontsize="small", ncol=2)
    return ax


def plot_onsets(
    onsets: Sequence[xr.Dataset], names: Sequence[str], ax=None, variable: str = "onset_soc"
):
    """Volume-weighted cumulative distributions of class onsets, one curve per step."""
    ax = _axes(ax)
    for on, name in zip(onsets, names, strict=True):
        v = on[variable].values
        w = on["volume"].values
        ok = np.isfinite(v)
        order = np.argsort(v[ok])
        cw = np.cumsum(w[ok][order]) / w[ok].sum()
        ax.step(v[ok][order], cw, where="post", label=name)
    ax.set_xlabel("onset step SOC [-]" if variable == "onset_soc" else "onset time [s]")
    ax.set_ylabel("cumulative volume share [-]")
    ax.legend(fontsize="small")
    return ax


def plot_soc_histogram(
    ds: xr.Dataset, times: Sequence[float], ax=None, bins: int = 40, region: str = "positive"
):
    """Volume-weighted particle-SOC histograms at the given times [s]."""
    ax = _axes(ax)
    for t in times:
        h, e = soc_histogram(ds, t, bins=bins, region=region)
        ax.stairs(h, e, label=f"t = {t / 3600:.1f} h")
    ax.set_xlabel("particle lithium fraction [-]")
    ax.set_ylabel("volume share [-]")
    ax.legend(fontsize="small")
    return ax


def plot_lithiation_profiles(profiles: dict[str, xr.DataArray], ax=None):
    """Lithiation profiles along x [um] (e.g. from ``lithiation_profile``), one per case."""
    ax = _axes(ax)
    for name, prof in profiles.items():
        ax.plot(prof["x"].values * 1e6, prof.values, marker=".", label=name)
    ax.set_xlabel("x from negative side [um] (positive current collector at right)")
    ax.set_ylabel("lithium fraction [-]")
    ax.legend(fontsize="small")
    return ax
