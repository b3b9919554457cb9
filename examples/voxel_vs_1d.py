"""A synthetic electrode volume run voxel-resolved and as its homogenised 1D model
(Electrode.from_volume), at C/10 and 1C; prints the voltage differences and writes the
side-by-side plots.

    python examples/voxel_vs_1d.py [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

from electrohet.micro.generate import synthetic_electrode
from electrohet.voxel import Simulation
from electrohet.voxel.compare import plot_side_by_side, run_side_by_side, voltage_difference


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    vol = synthetic_electrode(
        (16, 12, 12), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1.5e-6, seed=2
    )
    for rate in ("C/10", "1C"):
        # CBD clogged (the counterpart measures the CBD's nano-pores too when it is not)
        sim = Simulation(vol, material="NMC532", cbd_clogged=True)
        ds_vox, ds_1d = run_side_by_side(sim, f"Discharge at {rate} until 3.0 V", period=60.0)
        d = voltage_difference(ds_vox, ds_1d)
        print(
            f"{rate:>5}: voxel - 1D voltage RMS {1e3 * d['rms']:.1f} mV, mean "
            f"{1e3 * d['mean']:+.1f} mV, capacity ratio {d['capacity_ratio']:.4f}"
        )
        plot_side_by_side(ds_vox, ds_1d, out / f"voxel_vs_1d_{rate.replace('/', '_')}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("voxel_vs_1d_out"))
