"""Voltage curves, through-thickness lithiation profiles and per-layer utilisation."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402


def plot_voltage_capacity(
    datasets: Sequence[xr.Dataset] | xr.Dataset,
    labels: Sequence[str] | None = None,
    ax=None,
    per_step: bool = True,
):
    """Voltage [V] against capacity delivered in each step [mAh/cm^2].

    Each step of each dataset is drawn from its own zero (``per_step``), as cyclers
    plot rate tests.
    """
    dss = [datasets] if isinstance(datasets, xr.Dataset) else list(datasets)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for i, ds in enumerate(dss):
        label = labels[i] if labels is not None else ds.attrs.get("experiment", f"run {i}")
        steps = np.unique(ds.step.values) if per_step else [None]
        for j, st in enumerate(steps):
            sel = ds if st is None else ds.where(ds.step == st, drop=True)
            if sel.sizes.get("time", 0) < 2:
                continue
            q = np.abs(sel.capacity.values - sel.capacity.values[0]) * 0.1  # Ah/m^2 -> mAh/cm^2
            ax.plot(q, sel.voltage.values, color=f"C{i % 10}", label=label if j == 0 else None)
    ax.set_xlabel("capacity in step [mAh/cm$^2$]")
    ax.set_ylabel("voltage [V]")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax.figure


def collector_distance(ds: xr.Dataset, region: str = "positive") -> np.ndarray:
    """Distance of each cell of ``region`` from that electrode's current collector [m].

    The model's x runs from the negative to the positive current collector, so the
    positive electrode is measured back from x = L.  Every figure of layers uses this
    axis: the current collector at 0, the separator at the right (the design order).
    """
    mask = (ds.region == region).values
    x = ds.x.values[mask]
    if region == "positive":
        x_end = float(ds.x.values[-1] + 0.5 * ds.dx.values[-1])
        return x_end - x
    return x


def plot_lithiation_profile(
    ds: xr.Dataset, times: Sequence[float] | None = None, region: str = "positive", ax=None
):
    """Mean lithium fraction against distance from the current collector at chosen times [s].

    Class means are volume-weighted over the particle classes; layer boundaries are
    dotted and each layer is labelled with its name (the Dataset's ``layer``
    coordinate), so the axis reads collector (left) -> separator (right), the order of
    :func:`plot_layer_utilization`.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    mask = (ds.region == region).values
    d = collector_distance(ds, region) * 1e6
    order = np.argsort(d)
    d = d[order]
    t = ds.time.values
    if times is None:
        times = np.linspace(t[0], t[-1], 5)
    w = ds.class_weight.values[mask][order]
    for k, tt in enumerate(times):
        th = ds.theta_mean.sel(time=tt, method="nearest").values[mask][order]
        mean = np.nansum(th * w, axis=1) / np.nansum(np.where(np.isfinite(th), w, 0), axis=1)
        ax.plot(
            d,
            mean,
            "-o",
            ms=3,
            color=plt.cm.viridis(k / max(1, len(times) - 1)),
            label=f"t = {tt / 60:.0f} min",
        )
    layer = ds.layer_index.values[mask][order]
    for b in np.flatnonzero(np.diff(layer)):
        ax.axvline(0.5 * (d[b] + d[b + 1]), color="k", ls=":", lw=1)
    names = ds["layer"].values
    for li in np.unique(layer):
        sel = d[layer == li]
        ax.text(
            0.5 * (sel.min() + sel.max()),
            0.02,
            str(names[li]),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color="0.3",
        )
    ax.set_xlabel("distance from the current collector [um] (collector -> separator)")
    ax.set_ylabel("mean lithium fraction [-]")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax.figure


def plot_layer_utilization(table: pd.DataFrame, ax=None):
    """Bars of the true layer utilisation at 1C for every design.

    Left bar of each design: the layer at the current collector (``u_bottom_1C``), right
    bar: the layer at the separator (``u_top_1C``), the left-to-right order of
    :func:`plot_lithiation_profile`.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    idx = np.arange(len(table))
    ax.bar(idx - 0.2, table["u_bottom_1C"], 0.4, label="bottom (at the current collector)")
    ax.bar(idx + 0.2, table["u_top_1C"], 0.4, label="top (at the separator)")
    ax.set_xticks(
        idx,
        [f"{d}\n{lbl}" for d, lbl in zip(table["design"], table["label"], strict=True)],
        fontsize=7,
    )
    ax.set_ylabel("utilisation at 1C [-]")
    lo = float(np.nanmin(table[["u_bottom_1C", "u_top_1C"]].values))
    ax.set_ylim(max(0.0, lo - 0.1), 1.05)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return ax.figure
