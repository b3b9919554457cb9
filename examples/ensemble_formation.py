"""Formation of NMC532 at C/20: asynchronous first charge, synchronous second (Sharma 2022).

Run:  python examples/ensemble_formation.py [outdir]
Prints the first-cycle loss and the onset spread (volume-weighted IQR of class onsets,
in step SOC) of charge 1 and charge 2; writes ensemble_formation.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from electrohet.design.ensemble_presets import sharma_formation_cell
from electrohet.model import MeshOptions, Simulation
from electrohet.model.ensemble_outputs import annotate, class_onsets, onset_spread

PROTOCOL = [
    "Charge at C/20 until 4.3 V",
    # 2.7 V, not 2.5 V: below ~2.7 V the voltage falls vertically (surfaces at theta -> 1
    # with D_s ~ 1e-19 m^2/s); the last 0.2 V hold < 1 % of the discharge capacity.
    "Discharge at C/20 until 2.7 V",
    "Charge at C/20 until 4.3 V",
]
SATURATION = 0.1  # optical signal saturates after 10 % delithiation (see class_onsets)


def run(n_contact: int = 6, **kw):
    """Solve the formation protocol; returns (annotated Dataset, summary dict)."""
    sim = Simulation(
        sharma_formation_cell(n_contact=n_contact, **kw),
        MeshOptions(points_per_domain=10, radial_points=10),
    )
    ds = annotate(sim.solve(PROTOCOL), sim)
    q = ds["capacity"].values
    step = ds["step"].values
    q_ch1 = -(q[step == 0][-1] - q[0])
    q_dis1 = q[step == 1][-1] - q[step == 0][-1]
    on1 = class_onsets(ds, 0, saturation=SATURATION)
    on2 = class_onsets(ds, 2, saturation=SATURATION)
    summary = {
        "status": ds.attrs["status"],
        "first_cycle_loss": 1.0 - q_dis1 / q_ch1,
        "onset_iqr_charge1_soc": onset_spread(on1),
        "onset_iqr_charge2_soc": onset_spread(on2),
        "onset_iqr_charge1_h": onset_spread(on1, "onset_time") / 3600.0,
        "onset_iqr_charge2_h": onset_spread(on2, "onset_time") / 3600.0,
        "onset_iqr_own_change_charge1": onset_spread(class_onsets(ds, 0)),
        "onset_iqr_own_change_charge2": onset_spread(class_onsets(ds, 2)),
    }
    return ds, summary, (on1, on2)


def main(outdir: str = ".") -> dict:
    import matplotlib.pyplot as plt

    from electrohet.plot.ensemble import plot_class_soc, plot_onsets

    ds, s, (on1, on2) = run()
    for k, v in s.items():
        print(f"{k:32s} {v}")
    print(
        f"{'onset spread ratio (1st / 2nd)':32s} "
        f"{s['onset_iqr_charge1_soc'] / s['onset_iqr_charge2_soc']:.1f}"
    )
    fig, axs = plt.subplots(1, 2, figsize=(11, 4))
    paths = ds["class_contact_path"].isel(x=-1).values
    plot_class_soc(ds, axs[0], labels=[f"l = {p * 1e6:.0f} um" for p in paths])
    plot_onsets([on1, on2], ["charge 1", "charge 2"], axs[1])
    fig.tight_layout()
    Path(outdir).mkdir(parents=True, exist_ok=True)
    fig.savefig(Path(outdir) / "ensemble_formation.png", dpi=120)
    return s


if __name__ == "__main__":
    main(*sys.argv[1:])
