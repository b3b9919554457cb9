"""Generate slurry- and dry-like synthetic electrodes and compare their CBD networks,
contact areas and pore tortuosity (runs in well under a minute)."""

from __future__ import annotations

from electrohet.micro.bridge import layers_from_volume
from electrohet.micro.generate import synthetic_electrode
from electrohet.micro.metrics import analyze


def main() -> None:
    for mode in ("slurry", "dry"):
        vol = synthetic_electrode((64, 64, 64), 1e-7, cbd_mode=mode, crack_fraction=0.05, seed=1)
        res = analyze(vol, particles=False)
        print(
            f"{mode:6s} largest CBD aggregate {res['cbd']['largest_share']:.2f}, "
            f"collector-connected {res['cbd']['collector_share']:.2f}, "
            f"AM-CBD area/AM volume {res['am_cbd_contact']['per_am_volume_crofton_1_m']:.3g} 1/m, "
            f"pore tau {res['tortuosity']['tau']:.2f}"
        )
    for i, lay in enumerate(layers_from_volume(vol, n_layers=2)):
        print(
            f"layer {i}: porosity {lay['porosity']:.3f}, tau {lay['tortuosity']:.2f}, "
            f"r50 {lay['radius_median_m'] * 1e6:.2f} um"
        )


if __name__ == "__main__":
    main()
