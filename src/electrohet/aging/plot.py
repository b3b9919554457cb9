"""Figures of an aging run: retention and the mechanisms behind it."""

from __future__ import annotations

import numpy as np
import xarray as xr


def plot_aging(ds: xr.Dataset, path: str | None = None):
    """Retention (resolved cycles marked), lithium inventory and mechanism states by layer.

    Returns the matplotlib figure (saved to ``path`` when given).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(10, 7))
    c = ds.cycle.values
    res = ds.resolved.values
    ax[0, 0].plot(c, 100 * ds.retention.values, "-", lw=1)
    ax[0, 0].plot(c[res], 100 * ds.retention.values[res], "o", ms=3, label="resolved")
    ax[0, 0].set(xlabel="cycle", ylabel="capacity retention [%]")
    ax[0, 0].legend()
    li0 = float(ds.attrs["li_initial_mol_m2"])
    ax[0, 1].plot(c, 100 * ds.li_cei.values / li0, label="CEI")
    ax[0, 1].plot(c, 100 * ds.li_trapped.values / li0, label="trapped (isolated)")
    ax[0, 1].plot(c, 100 * ds.lam.values, "--", label="LAM (isolated volume)")
    ax[0, 1].set(xlabel="cycle", ylabel="share of initial [%]")
    ax[0, 1].legend()
    names = ds.layer_name.values
    for i in range(ds.sizes["layer"]):
        if not np.isfinite(ds.cei_thickness_layer.values[:, i]).any():
            continue
        ax[1, 0].plot(c, 1e9 * ds.cei_thickness_layer.values[:, i], label=str(names[i]))
        ax[1, 1].plot(c, ds.crack_fraction_layer.values[:, i], label=f"crack {names[i]}")
        ax[1, 1].plot(c, ds.isolated_share_layer.values[:, i], "--", label=f"isolated {names[i]}")
    ax[1, 0].set(xlabel="cycle", ylabel="mean CEI thickness [nm]")
    ax[1, 0].legend()
    ax[1, 1].set(xlabel="cycle", ylabel="fraction [-]")
    ax[1, 1].legend(fontsize=7)
    fig.suptitle(str(ds.attrs.get("cell", "")))
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
