"""Isolated NMC532 particles keep their lithium after a slow charge (Kroeger).

Run:  python examples/ensemble_isolated.py [outdir]
Charges at 6 mA/g (C/27 with 1C = 160 mA/g) to 4.3 V (the Mohtat 2020 OCP tops out at
4.35 V, so 4.3 V stands for Kroeger's 4.4 V end of charge), rests 2 h, and reports the
share of particle volume outside the mean +- 2 sigma frame (frame width 0.03 in lithium
fraction, the spread of a calibration standard) and the trapped lithium; writes
ensemble_isolated.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from electrohet.design.ensemble_presets import kroeger_isolated_cell
from electrohet.model import MeshOptions, Simulation
from electrohet.model.ensemble_outputs import annotate, diverging_fraction, trapped_lithium

FRAME_SD = 0.03


def run(isolated_fraction: float = 0.06):
    sim = Simulation(
        kroeger_isolated_cell(isolated_fraction),
        MeshOptions(points_per_domain=10, radial_points=10),
    )
    ds = annotate(sim.solve(["Charge at C/27 until 4.3 V", "Rest for 2 hours"]), sim)
    lay = sim.cell.positive.layers[0]
    div = diverging_fraction(ds, None, frame_sd=FRAME_SD)
    trap = trapped_lithium(ds)
    trap["mAh_g"] = trap["charge_Ah_per_m2"] / lay.active_loading()
    return ds, {**div, **trap}


def main(outdir: str = ".") -> dict:
    import matplotlib.pyplot as plt

    from electrohet.plot.ensemble import plot_soc_histogram

    ds, s = run()
    for k, v in s.items():
        print(f"{k:24s} {v:.4g}")
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_soc_histogram(ds, [0.0, float(ds["time"].values[-1])], ax)
    fig.tight_layout()
    Path(outdir).mkdir(parents=True, exist_ok=True)
    fig.savefig(Path(outdir) / "ensemble_isolated.png", dpi=120)
    return s


if __name__ == "__main__":
    main(*sys.argv[1:])
