"""Aging speed: electrohet (CEI + contact loss + cracking, 8 particle classes, cycle
jumping) vs PyBaMM's DFN with an SEI model, 1C/1C cycling of the LG M50 (Chen 2020).

electrohet: ``--cycles`` (default 1000) cycles of CC 1C charge to 4.2 V / CC 1C
discharge to 2.5 V, the NMC811 positive in 8 lognormal radius classes, all three
mechanisms on (moderate rates), cycle jumping on (error control, jumps up to 100
cycles, isolations allowed inside jumps); time per cycle = wall time / cycles
(setup included).  PyBaMM: ``DFN(options={"SEI": "solvent-diffusion limited"})`` with
the OKane2022 parameters (Chen 2020 cell + SEI), the same two steps repeated, IDAKLU;
as many cycles as ``--pybamm-cycles``; time per cycle = (t(N) - t(1)) / (N - 1), so
its model build is excluded.  Both use ``--points`` finite volumes per domain and
radial shells.  Run both in one process so the (shared) machine load is the same.

Run:  python benchmarks/bench_aging.py [--cycles 1000] [--pybamm-cycles 6] [--points 10]
"""

from __future__ import annotations

import argparse
import time


def run_electrohet(n_cycles: int, points: int):
    from electrohet.aging import (
        AgingProtocol,
        AgingRun,
        CEIGrowth,
        ContactLoss,
        Cracking,
        JumpOptions,
        Mechanisms,
    )
    from electrohet.design.distributions import LognormalRadius, build_ensemble
    from electrohet.design.presets import chen2020_cell, chen2020_positive_layer
    from electrohet.model.mesh import MeshOptions

    r = 5.22e-6
    ens = build_ensemble(LognormalRadius.from_mean_sd(r, 0.3 * r, "area", 0.0, 2.5 * r), 8)
    cell = chen2020_cell([chen2020_positive_layer(ensemble=ens)])
    proto = AgingProtocol(["Charge at 1C until 4.2 V", "Discharge at 1C until 2.5 V"], n_cycles)
    t0 = time.perf_counter()
    # moderate rates: ~10-20 % fade over 1000 cycles rather than an early end of life
    mech = Mechanisms(
        cei=CEIGrowth(i0=1e-6),
        cracking=Cracking(rate=5e-4),
        contact=ContactLoss(rate=2e-9, isolation_length=5e-6),
    )
    ds = AgingRun(
        cell,
        proto,
        mech,
        MeshOptions(points_per_domain=points, radial_points=points),
        JumpOptions(rtol=0.05, max_jump=100, stop_at_isolation=False),
    ).run()
    return time.perf_counter() - t0, ds


def run_pybamm(n_cycles: int, points: int):
    import pybamm

    model = pybamm.lithium_ion.DFN(options={"SEI": "solvent-diffusion limited"})
    exp = pybamm.Experiment(
        [("Charge at 1C until 4.2 V", "Discharge at 1C until 2.5 V")] * n_cycles
    )
    pts = {k: points for k in ("x_n", "x_s", "x_p", "r_n", "r_p")}
    sim = pybamm.Simulation(
        model,
        parameter_values=pybamm.ParameterValues("OKane2022"),
        experiment=exp,
        var_pts=pts,
        solver=pybamm.IDAKLUSolver(),
    )
    t0 = time.perf_counter()
    sol = sim.solve(initial_soc=0.0)
    dt = time.perf_counter() - t0
    caps = [c["Discharge capacity [A.h]"].entries for c in sol.cycles if c is not None]
    return dt, len(caps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--pybamm-cycles", type=int, default=6)
    ap.add_argument("--points", type=int, default=10)
    args = ap.parse_args()
    import pybamm  # noqa: F401  (import excluded from timing)

    import electrohet.aging  # noqa: F401

    t_eh, ds = run_electrohet(args.cycles, args.points)
    n_done = int(ds.sizes["cycle"])
    per_eh = t_eh / max(n_done, 1)
    t1, _ = run_pybamm(1, args.points)
    tn, n_pb = run_pybamm(args.pybamm_cycles, args.points)
    per_pb = (tn - t1) / max(args.pybamm_cycles - 1, 1)
    print(f"1C/1C aging, LG M50 (Chen 2020), {args.points} volumes/domain and radial shells")
    print(
        f"  electrohet: {n_done} cycles ({ds.attrs['n_resolved']} resolved, "
        f"{ds.attrs['n_rejected_jumps']} rejected jumps) in {t_eh:.1f} s "
        f"-> {1e3 * per_eh:.1f} ms/cycle; status {ds.attrs['status']} {ds.attrs['message']}"
    )
    print(
        f"    retention {100 * float(ds.retention.values[-1]):.2f} %, "
        f"LLI {100 * float(ds.lli.values[-1]):.3f} %, LAM {100 * float(ds.lam.values[-1]):.2f} %, "
        f"max |Li balance error| {abs(ds.li_balance_error).max().item():.1e}"
    )
    print(
        f"  PyBaMM DFN + SEI (IDAKLU): 1 cycle {t1:.1f} s, {args.pybamm_cycles} cycles "
        f"{tn:.1f} s -> {1e3 * per_pb:.0f} ms/cycle"
    )
    print(f"  per-cycle ratio PyBaMM / electrohet = {per_pb / per_eh:.1f}x")


if __name__ == "__main__":
    main()
