"""Graded CEI in a thick NMC811 electrode at C/2 to 3.5 V (Zhang 2023).

Run:  python examples/ensemble_cei.py [outdir]
Prints specific capacity, mean-voltage loss against pristine, and the lithiation of the
current-collector and separator halves for pristine / CEI / thick CEI / CBD clogging /
full clogging; writes ensemble_cei.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from electrohet.design.ensemble_presets import ZHANG_VARIANTS, zhang_cei_cell
from electrohet.model import MeshOptions, Simulation
from electrohet.model.ensemble_outputs import annotate, half_lithiation, lithiation_profile


def run(variant: str, **kw):
    """One C/2 discharge to 3.5 V; returns (Dataset, summary)."""
    cell = zhang_cei_cell(variant, **kw)
    sim = Simulation(cell, MeshOptions(points_per_domain=18))
    ds = annotate(sim.solve("Discharge at C/2 until 3.5 V"), sim)
    loading = sum(lay.active_loading() for lay in cell.positive.layers)  # kg/m^2
    halves = half_lithiation(ds)
    return ds, {
        "capacity_mAh_g": float(ds["capacity"].values[-1] / loading),
        "mean_voltage_V": float(
            np.trapezoid(ds["voltage"].values, ds["capacity"].values) / ds["capacity"].values[-1]
        ),
        **halves,
    }


def main(outdir: str = ".") -> dict:
    import matplotlib.pyplot as plt

    from electrohet.plot.ensemble import plot_lithiation_profiles

    out, profiles = {}, {}
    for v in ZHANG_VARIANTS:
        ds, s = run(v)
        out[v] = s
        profiles[v] = lithiation_profile(ds)
    v0 = out["pristine"]["mean_voltage_V"]
    print(f"{'case':14s} {'mAh/g':>7s} {'dV [mV]':>8s} {'CC half':>8s} {'sep half':>8s}")
    for v, s in out.items():
        print(
            f"{v:14s} {s['capacity_mAh_g']:7.1f} {1e3 * (v0 - s['mean_voltage_V']):8.1f} "
            f"{s['current_collector_half']:8.3f} {s['separator_half']:8.3f}"
        )
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_lithiation_profiles(profiles, ax)
    fig.tight_layout()
    Path(outdir).mkdir(parents=True, exist_ok=True)
    fig.savefig(Path(outdir) / "ensemble_cei.png", dpi=120)
    return out


if __name__ == "__main__":
    main(*sys.argv[1:])
