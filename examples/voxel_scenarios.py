"""Zhang 2023 (CEI gradient, clogged CBD) and Sharma 2022 (asynchronous first charge)
on small synthetic volumes with the voxel model; prints the numbers, writes plots.

    python examples/voxel_scenarios.py [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from electrohet.voxel.plot import plot_particle_histogram  # noqa: E402
from electrohet.voxel.scenarios import sharma_formation, zhang_cei_scenarios  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sh = sharma_formation()
    print(
        f"Sharma (optical-like signal, saturating at 10 % delithiation): onset IQR first "
        f"charge {sh['first'].onset_iqr:.4f}, second {sh['second'].onset_iqr:.4f} "
        f"(ratio {sh['iqr_ratio']:.1f}); raw particle SOC: {sh['first_soc'].onset_iqr:.4f} "
        f"vs {sh['second_soc'].onset_iqr:.4f} (ratio {sh['iqr_ratio_soc']:.1f})"
    )
    plot_particle_histogram(sh["dataset"], out / "sharma_particle_soc.png", time_index=-1)
    z = zhang_cei_scenarios()
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    for name, ds in z["runs"].items():
        ax[0].plot(ds.specific_capacity, ds.voltage, label=name)
        gain = ds.theta_slab.isel(time=-1) - ds.theta_slab.isel(time=0)
        ax[1].plot(ds.z * 1e6, gain, label=name)
        print(
            f"Zhang {name:12s}: {z['capacity_mAh_g'][name]:6.1f} mAh/g, collector bias "
            f"{z['collector_bias'][name]:+.3f}"
        )
    ax[0].set_xlabel("capacity [mAh/g]")
    ax[0].set_ylabel("voltage [V]")
    ax[1].set_xlabel("distance from collector [um]")
    ax[1].set_ylabel("lithiation gained [-]")
    ax[0].legend()
    fig.tight_layout()
    fig.savefig(out / "zhang_cei.png", dpi=120)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("voxel_scenarios_out"))
