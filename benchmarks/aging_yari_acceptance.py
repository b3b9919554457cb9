"""Yari 2020 LTO|NMC622 aging: calibrate on the single layer only, predict the bilayers.

The contact-loss rate (the one free scale) is bisected so that the single-layer cell
(f_c = 2.5 %) keeps 84.3 % of its capacity after 200 1C/1C cycles; CEI and cracking
keep their preset values.  The bilayers 4/1 (carbon-rich bottom) and 1/4 (carbon-poor
bottom) are then predicted with the same parameters and printed next to the paper's
89.2 / 84.3 / 53 %.

Run:  python benchmarks/aging_yari_acceptance.py [--cycles 200] [--iterations 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import time


def retention(fc_bottom, fc_top, mech, n_cycles, mesh):
    from electrohet.aging import AgingRun
    from electrohet.aging.presets import one_c_protocol, yari_lto_nmc622_cell

    cell = yari_lto_nmc622_cell(fc_bottom, fc_top, n_radius=4)
    ds = AgingRun(cell, one_c_protocol(cell, n_cycles), mech, mesh).run()
    # a run that stops early (the cell can no longer carry the current) has lost at
    # least the capacity of its last finished cycle: report that, flagged
    last = ds.retention.values[-1]
    return float(last), ds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--iterations", type=int, default=5)
    args = ap.parse_args()
    from electrohet.aging.presets import YARI_CALIBRATION
    from electrohet.model.mesh import MeshOptions

    mesh = MeshOptions(points_per_domain=4, radial_points=6)
    base = YARI_CALIBRATION
    target = 0.843
    lo, hi = 0.25, 4.0  # multipliers of the preset contact-loss rate
    t0 = time.perf_counter()
    best = None
    for it in range(args.iterations):
        mid = (lo * hi) ** 0.5
        mech = dataclasses.replace(
            base, contact=dataclasses.replace(base.contact, rate=base.contact.rate * mid)
        )
        r, ds = retention(0.025, None, mech, args.cycles, mesh)
        print(
            f"  calibration {it}: contact rate x{mid:.3g} -> single-layer retention {r:.3f}"
            f" ({ds.attrs['status']}{': ' + ds.attrs['message'] if ds.attrs['message'] else ''})",
            flush=True,
        )
        if best is None or abs(r - target) < abs(best[2] - target):
            best = (mid, mech, r)
        if r > target:
            lo = mid
        else:
            hi = mid
    mid, mech, r_single = best
    dt = time.perf_counter() - t0
    print(f"calibrated contact rate: {mech.contact.rate:.3g} m/cycle ({dt:.0f} s)")
    print(f"{'design':>10} {'predicted':>10} {'Yari 2020':>10}  status")
    for name, fb, ft, paper in (
        ("4/1", 0.04, 0.01, 0.892),
        ("single", 0.025, None, 0.843),
        ("1/4", 0.01, 0.04, 0.53),
    ):
        r, ds = retention(fb, ft, mech, args.cycles, mesh)
        n = int(ds.cycle.values[-1])
        print(
            f"{name:>10} {100 * r:9.1f}% {100 * paper:9.1f}%  {ds.attrs['status']} after "
            f"{n} cycles {ds.attrs['message']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
