"""Two aging predictions: Yari's Li|NMC622 loss rates and Kroeger's isolated shares.

1. Yari 2020 Li|NMC622 half cells (C/3 charge to 4.3 V, C/2 discharge to 3.0 V, a C/10
   titration every 25 cycles, 50 cycles) with the single-layer calibration
   (YARI_CALIBRATION): the loss rate of the regular cycles
   (``electrohet.analysis.aging.fit_loss_rate`` on the per-cycle table) for the
   single layer and the poor-bottom ("destructive") bilayers of Yari's Table 1 with
   delta = 0.2, 0.4, 0.6; Yari: the loss rate rises with delta.
2. Kroeger: the isolated-particle share (by number) of the preset NMC532 half cell
   (``nmc532_aging_cell``: 6 % of the active volume isolated when fresh, 4.9 % by
   number) after 100 CC cycles 3.0-4.3 V at 1C and at 2C; Kroeger: 6 % fresh, 8 %
   after 100 cycles at 1C and 15 % at 2C.  The Yari contact-loss rate isolates nearly
   every particle of this cell, so the rate (only it) is bisected on the 1C figure:
   the share rises by Kroeger's 2.0 points in 100 cycles (the model's share counts the
   fresh isolated class, whose number share is 4.9 %, not 6 %, so the rise is the
   target, not the absolute 8 %).  2C is then predicted (Kroeger: a 9-point rise).
   The result is KROEGER_CALIBRATION (``--no-calibrate`` uses it as it is): 1C 7.0 %
   (rise 2.07 points, calibrated), 2C 11.5 % (rise 6.6; Kroeger 15 +- 2 %), both runs
   complete; after 50 cycles at 2C 4.9 % (Kroeger 11 +- 1 %).

Run:  python benchmarks/aging_li_nmc_kroeger.py [--part both|li_nmc|kroeger]
      [--iterations 14] [--no-calibrate]
"""

from __future__ import annotations

import argparse
import dataclasses

TABLE1_DESTRUCTIVE = [  # delta, fc_bottom, fc_top, am_share_bottom (Yari 2020 Table 1)
    (0.0, 0.025, None, 0.5),
    (0.2, 0.02, 0.03, 0.505),
    (0.4, 0.015, 0.035, 0.511),
    (0.6, 0.01, 0.04, 0.516),
]

#: Kroeger: isolated-particle share by number, fresh and after 100 cycles at 1C / 2C
#: (8 +- 1 %, 15 +- 2 %) [-]
KROEGER_SHARES = {"fresh": 0.06, 1.0: 0.08, 2.0: 0.15}
#: Kroeger: after 50 cycles at 2C (11 +- 1 %, their Figure S8) [-]
KROEGER_2C_50 = 0.11
#: calibration target: rise of the isolated share in 100 1C cycles [-]
TARGET_RISE = KROEGER_SHARES[1.0] - KROEGER_SHARES["fresh"]
#: bisection tolerance on the rise [-] (5 % of the target)
RISE_TOL = 0.001


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


def kroeger_run(rate: float, mech, n_cycles: int = 100):
    """Age the Kroeger-like NMC532 half cell (4 radius classes, 6 % isolated when
    fresh) for ``n_cycles`` CC cycles 3.0-4.3 V at ``rate`` C; returns the Dataset."""
    from electrohet.aging import AgingProtocol, AgingRun
    from electrohet.aging.presets import nmc532_aging_cell
    from electrohet.model.mesh import MeshOptions

    cell = nmc532_aging_cell(n_radius=4, isolated_fraction=0.06)
    proto = AgingProtocol(
        [f"Charge at {rate:g}C until 4.3 V", f"Discharge at {rate:g}C until 3.0 V"], n_cycles
    )
    return AgingRun(cell, proto, mech, MeshOptions(points_per_domain=8, radial_points=6)).run()


def share_rise(ds) -> float:
    """Rise of the isolated share by number from the fresh cell to the last cycle [-]."""
    share = ds.isolated_share.values
    return float(share[-1] - share[0])


def calibrate(base, iterations: int):
    """Bisect the contact-loss rate (geometric, from 0.1 to 1 times ``base``'s) until
    the 1C rise is within RISE_TOL of TARGET_RISE; returns the closest mechanisms."""
    lo, hi = 0.1 * base.contact.rate, base.contact.rate
    best = None
    for it in range(iterations):
        mid = (lo * hi) ** 0.5
        mech = dataclasses.replace(base, contact=dataclasses.replace(base.contact, rate=mid))
        ds = kroeger_run(1.0, mech)
        done = int(ds.cycle.values[-1]) == 100
        rise = share_rise(ds) if done else float("inf")
        print(
            f"  calibration {it}: contact rate {mid:.4e} m/cycle -> 1C rise "
            f"{100 * rise:.3f} points ({ds.attrs['status']} after "
            f"{int(ds.cycle.values[-1])} cycles)",
            flush=True,
        )
        if best is None or abs(rise - TARGET_RISE) < abs(best[1] - TARGET_RISE):
            best = (mech, rise)
        if abs(rise - TARGET_RISE) < RISE_TOL:
            break
        lo, hi = (mid, hi) if rise < TARGET_RISE else (lo, mid)
    return best[0]


def kroeger(calibrate_rate: bool, iterations: int) -> None:
    from electrohet.aging.presets import KROEGER_CALIBRATION, YARI_CALIBRATION

    print("Kroeger-like NMC532 half cell, 100 CC cycles 3.0-4.3 V")
    mech = KROEGER_CALIBRATION
    if calibrate_rate:
        mech = calibrate(YARI_CALIBRATION, iterations)
    print(
        f"contact rate {mech.contact.rate:.4e} m/cycle"
        f"{' (bisected on the 1C rise)' if calibrate_rate else ' (KROEGER_CALIBRATION)'}"
        f"; YARI_CALIBRATION {YARI_CALIBRATION.contact.rate:.4e}"
    )
    print("isolated share of particles by number [%] (Kroeger: fresh and after 100 cycles)")
    print(
        f"{'rate':>5} {'fresh':>6} {'25':>6} {'50':>6} {'75':>6} {'100':>6} {'rise':>6}"
        f"   Kroeger: fresh  100  rise   LAM %  retention  li balance"
    )
    fresh = 100 * KROEGER_SHARES["fresh"]
    runs = {}
    for rate in (1.0, 2.0):
        ds = runs[rate] = kroeger_run(rate, mech)
        share = ds.isolated_share
        last = int(ds.cycle.values[-1])
        at = [
            f"{100 * float(share.sel(cycle=c)):6.1f}" if c <= last else f"{'-':>6}"
            for c in (25, 50, 75, 100)
        ]
        paper = 100 * KROEGER_SHARES[rate]
        err = float(abs(ds.li_balance_error).max())
        print(
            f"{rate:4.0f}C {100 * float(share.values[0]):6.1f} {' '.join(at)} "
            f"{100 * share_rise(ds):6.2f}   {fresh:13.0f} {paper:4.0f} {paper - fresh:5.0f}"
            f"   {100 * float(ds.lam.values[-1]):5.1f} {100 * float(ds.retention.values[-1]):9.1f}%"
            f"  {err:9.1e}  {ds.attrs['status']} after {last} cycles"
            f" ({ds.attrs['n_resolved']} resolved)"
            f"{' (calibrated)' if rate == 1.0 else ' (predicted)'}",
            flush=True,
        )
    mid = 100 * float(runs[2.0].isolated_share.sel(cycle=50))
    print(
        f"2C after 50 cycles: {mid:.1f} % (Kroeger {100 * KROEGER_2C_50:.0f} +- 1 %: the model's"
        " isolation starts late and accelerates; the time course is not reproduced)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="both", choices=("both", "li_nmc", "kroeger"))
    ap.add_argument("--iterations", type=int, default=14)
    ap.add_argument(
        "--no-calibrate",
        dest="calibrate",
        action="store_false",
        help="use KROEGER_CALIBRATION's contact-loss rate as it is",
    )
    args = ap.parse_args()
    if args.part in ("both", "kroeger"):
        kroeger(args.calibrate, args.iterations)
    if args.part in ("both", "li_nmc"):
        li_nmc()


if __name__ == "__main__":
    main()
