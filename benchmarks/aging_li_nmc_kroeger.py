"""Two aging predictions with the single-layer calibration (YARI_CALIBRATION):

1. Yari 2020 Li|NMC622 half cells (C/3 charge to 4.3 V, C/2 discharge to 3.0 V, a C/10
   titration every 25 cycles, 50 cycles): the loss rate of the regular cycles
   (``electrohet.analysis.aging.fit_loss_rate`` on the per-cycle table) for the
   single layer and the poor-bottom ("destructive") bilayers of Yari's Table 1 with
   delta = 0.2, 0.4, 0.6; Yari: the loss rate rises with delta.
2. Kroeger: the isolated-particle share (by number) of a preset NMC532 half cell
   (6 % isolated when fresh) after 100 CC cycles 3.0-4.3 V at 1C and at 2C; Kroeger:
   8 % after 1C and 15 % after 2C (the direction is the acceptance).  With gradual
   isolation the calibrated contact loss isolates nearly every particle of this cell
   and the runs stop (the cell can no longer carry the current) before cycle 100, so
   the shares are printed at cycles 25, 50, 75 and at the last cycle both finished.

Run:  python benchmarks/aging_li_nmc_kroeger.py [--part both|li_nmc|kroeger]
"""

from __future__ import annotations

import argparse

TABLE1_DESTRUCTIVE = [  # delta, fc_bottom, fc_top, am_share_bottom (Yari 2020 Table 1)
    (0.0, 0.025, None, 0.5),
    (0.2, 0.02, 0.03, 0.505),
    (0.4, 0.015, 0.035, 0.511),
    (0.6, 0.01, 0.04, 0.516),
]


def li_nmc() -> None:
    from electrohet.aging import AgingRun, cycle_frame
    from electrohet.aging.presets import (
        YARI_CALIBRATION,
        yari_li_nmc622_cell,
        yari_li_nmc_protocol,
    )
    from electrohet.analysis.aging import fit_loss_rate
    from electrohet.model.mesh import MeshOptions

    print("Yari Li|NMC622, 50 cycles C/3 / C/2 (C/10 titrations at 25, 50)")
    print(f"{'delta':>6} {'loss %/cycle':>14} {'95% CI':>20} {'retention':>10} {'LAM %':>7}")
    for delta, fb, ft, share in TABLE1_DESTRUCTIVE:
        cell = yari_li_nmc622_cell(fb, ft, am_share_bottom=share, n_radius=4)
        ds = AgingRun(
            cell,
            yari_li_nmc_protocol(50, 25),
            YARI_CALIBRATION,
            MeshOptions(points_per_domain=8, radial_points=6),
        ).run()
        tab = cycle_frame(ds)
        reg = tab[~ds.checkup.values]
        fit = fit_loss_rate(reg["cycle_id"], reg["discharge_capacity"])
        ci = fit.relative_rate_ci
        print(
            f"{delta:6.1f} {100 * fit.relative_rate:14.4f} "
            f"[{100 * ci[0]:8.4f}, {100 * ci[1]:8.4f}] "
            f"{100 * float(ds.retention.values[-2]):9.1f}% {100 * float(ds.lam.values[-1]):6.1f}"
            f"  {ds.attrs['status']} {ds.attrs['message']}",
            flush=True,
        )


def kroeger() -> None:
    from electrohet.aging import AgingProtocol, AgingRun
    from electrohet.aging.presets import YARI_CALIBRATION, nmc532_aging_cell
    from electrohet.model.mesh import MeshOptions

    print("Kroeger-like NMC532 half cell, 100 CC cycles 3.0-4.3 V")
    print("isolated share of particles by number [%] after N cycles (Kroeger: after 100)")
    print(f"{'rate':>5} {'fresh':>6} {'25':>6} {'50':>6} {'75':>6} {'last':>12}  Kroeger")
    runs = {}
    for rate in (1.0, 2.0):
        cell = nmc532_aging_cell(n_radius=4, isolated_fraction=0.06)
        proto = AgingProtocol(
            [f"Charge at {rate:g}C until 4.3 V", f"Discharge at {rate:g}C until 3.0 V"], 100
        )
        runs[rate] = AgingRun(
            cell, proto, YARI_CALIBRATION, MeshOptions(points_per_domain=8, radial_points=6)
        ).run()
    common = min(int(ds.cycle.values[-1]) for ds in runs.values())
    for rate, paper in ((1.0, "6 -> 8 %"), (2.0, "6 -> 15 %")):
        ds = runs[rate]
        share = ds.isolated_share
        at = [
            f"{100 * float(share.sel(cycle=c)):6.1f}" if c <= common else f"{'-':>6}"
            for c in (25, 50, 75)
        ]
        print(
            f"{rate:4.0f}C {100 * float(share.values[0]):6.1f} {' '.join(at)} "
            f"{100 * float(share.sel(cycle=common)):6.1f} ({common:3d})  {paper}  "
            f"({ds.attrs['status']} after {int(ds.cycle.values[-1])} cycles, "
            f"{ds.attrs['n_resolved']} resolved)",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="both", choices=("both", "li_nmc", "kroeger"))
    args = ap.parse_args()
    if args.part in ("both", "kroeger"):
        kroeger()
    if args.part in ("both", "li_nmc"):
        li_nmc()


if __name__ == "__main__":
    main()
