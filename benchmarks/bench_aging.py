"""Aging, like for like: electrohet vs PyBaMM's DFN with the same SEI physics, then
electrohet's cycle jumping as its own gain.

Like-for-like part (both sides):

* the same cell: Chen2020 (LG M50), electrohet ``chen2020_cell()`` and PyBaMM
  ``ParameterValues("Chen2020")``, both from the set's initial (charged) state;
* the same degradation: reaction-limited SEI on the negative (Marquis 2020 eq. 5.92;
  electrohet :class:`~electrohet.aging.mechanisms.SEIGrowth`, PyBaMM
  ``options={"SEI": "reaction limited"}``) with the OKane2022 SEI parameters on both
  sides (i0 1.5e-7 A/m^2, U_sei 0.4 V, V_sei 9.585e-5 m^3/mol, rho 2e5 Ohm m, 5 nm
  initial film, z = 1); nothing else ages;
* the same protocol: per cycle 1C discharge to 2.5 V, 1C charge to 4.2 V, hold at
  4.2 V to C/20; ``--cycles`` cycles, every cycle resolved on both sides;
* the same mesh: ``--points`` finite volumes per domain and radial shells.

Compared per cycle: the discharge capacity (max relative difference) and the lithium
lost to the SEI (relative difference at the last cycle).  The remaining difference
is the coupling: PyBaMM solves the SEI current inside the DFN, electrohet applies the
cycle's side charge between cycles (operator splitting, docs/aging.md).

Timed per resolved cycle on both sides as (t(N) - t(1)) / (N - 1), so model builds
and first-run costs cancel (one process, the two codes one after the other).  Then
electrohet alone with cycle jumping on (``--jump-cycles`` cycles, same physics): its
ms per cycle against its own resolved cost is the gain from jumping, which PyBaMM is
not given.

Run:  python benchmarks/bench_aging.py [--cycles 10] [--points 20] [--jump-cycles 500]
"""

from __future__ import annotations

import argparse
import statistics
import time

STEPS = ["Discharge at 1C until 2.5 V", "Charge at 1C until 4.2 V", "Hold at 4.2 V until C/20"]

#: the SEI parameters of O'Kane et al. 2022 (PyBaMM's OKane2022 set), on both sides
PYBAMM_SEI = {
    "SEI reaction exchange current density [A.m-2]": 1.5e-07,
    "SEI open-circuit potential [V]": 0.4,
    "SEI partial molar volume [m3.mol-1]": 9.585e-05,
    "SEI resistivity [Ohm.m]": 200000.0,
    "Initial SEI thickness [m]": 5e-09,
    "Ratio of lithium moles to SEI moles": 1.0,
    "SEI growth activation energy [J.mol-1]": 38000.0,
}


def electrohet_sei(n_cycles: int, points: int, jump: bool):
    from electrohet.aging import AgingProtocol, AgingRun, JumpOptions, Mechanisms
    from electrohet.aging.mechanisms import CEIGrowth, ContactLoss, Cracking, SEIGrowth
    from electrohet.design.presets import chen2020_cell
    from electrohet.model.mesh import MeshOptions

    mech = Mechanisms(
        cei=CEIGrowth(enabled=False),
        cracking=Cracking(enabled=False),
        contact=ContactLoss(enabled=False),
        sei=SEIGrowth(
            i0=PYBAMM_SEI["SEI reaction exchange current density [A.m-2]"],
            u_ref=PYBAMM_SEI["SEI open-circuit potential [V]"],
            alpha=0.5,
            molar_volume=PYBAMM_SEI["SEI partial molar volume [m3.mol-1]"],
            lithium_per_molecule=PYBAMM_SEI["Ratio of lithium moles to SEI moles"],
            resistivity=PYBAMM_SEI["SEI resistivity [Ohm.m]"],
            initial_thickness=PYBAMM_SEI["Initial SEI thickness [m]"],
            activation_energy=PYBAMM_SEI["SEI growth activation energy [J.mol-1]"],
            enabled=True,
        ),
    )
    cell = chen2020_cell()
    t0 = time.perf_counter()
    ds = AgingRun(
        cell,
        AgingProtocol(STEPS, n_cycles),
        mech,
        MeshOptions(points_per_domain=points, radial_points=points),
        JumpOptions(rtol=0.03, max_jump=100) if jump else JumpOptions(enabled=False),
    ).run()
    return time.perf_counter() - t0, ds, cell.area


def pybamm_sei(n_cycles: int, points: int):
    import pybamm

    pv = pybamm.ParameterValues("Chen2020")
    pv.update(PYBAMM_SEI, check_already_exists=False)
    sim = pybamm.Simulation(
        pybamm.lithium_ion.DFN(options={"SEI": "reaction limited"}),
        parameter_values=pv,
        experiment=pybamm.Experiment([tuple(STEPS)] * n_cycles),
        var_pts={k: points for k in ("x_n", "x_s", "x_p", "r_n", "r_p")},
        solver=pybamm.IDAKLUSolver(),
    )
    t0 = time.perf_counter()
    sol = sim.solve()
    dt = time.perf_counter() - t0
    caps, lost = [], []
    for cyc in sol.cycles:
        if cyc is None:
            break
        q = cyc.steps[0]["Discharge capacity [A.h]"].entries
        caps.append(float(q[-1] - q[0]))
        lost.append(float(cyc["Loss of lithium to negative SEI [mol]"].entries[-1]))
    return dt, caps, lost


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--jump-cycles", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import numpy as np
    import pybamm  # noqa: F401  (import excluded from timing)

    import electrohet.aging  # noqa: F401

    n = args.cycles
    # both sides: (t(N) - t(1)) / (N - 1), so setup costs cancel; one warm-up run of
    # each first (imports of compiled kernels, PyBaMM's first processing), then
    # --repeat alternated measurements of each, medians compared (a shared machine's
    # load moves single timings by 2x and more)
    electrohet_sei(1, args.points, jump=False)
    pybamm_sei(1, args.points)
    per_eh_runs, per_pb_runs, t1_list = [], [], []
    for _ in range(args.repeat):
        t1_eh, _, _ = electrohet_sei(1, args.points, jump=False)
        t_eh, ds, area = electrohet_sei(n, args.points, jump=False)
        t1, _, _ = pybamm_sei(1, args.points)
        tn, caps_pb, lost_pb = pybamm_sei(n, args.points)
        per_eh_runs.append((t_eh - t1_eh) / max(n - 1, 1))
        t1_list.append(t1_eh)
        per_pb_runs.append((tn - t1) / max(n - 1, 1))
    per_eh = statistics.median(per_eh_runs)
    per_pb = statistics.median(per_pb_runs)
    q_eh = ds.discharge_capacity.values * area  # [Ah]
    lost_eh = ds.li_cei.values * area  # [mol], at the start of each cycle
    m = min(len(caps_pb), q_eh.size)
    dq = np.abs(q_eh[:m] - np.asarray(caps_pb[:m])) / np.asarray(caps_pb[:m])
    print(
        f"Like for like: Chen2020 + reaction-limited SEI (OKane2022 SEI parameters), "
        f"{' / '.join(STEPS)}, {n} cycles all resolved, {args.points} volumes/domain and shells"
    )
    print("  cycle  Q_dis electrohet [Ah]  Q_dis PyBaMM [Ah]  diff [%]")
    for i in range(m):
        print(f"  {i + 1:5d}  {q_eh[i]:20.5f}  {caps_pb[i]:17.5f}  {100 * dq[i]:8.3f}")
    fade_eh = (q_eh[m - 1] - q_eh[0]) / q_eh[0]
    fade_pb = (caps_pb[m - 1] - caps_pb[0]) / caps_pb[0]
    print(f"  max |capacity difference| {100 * float(dq.max()):.3f} %")
    print(f"  fade over the run: electrohet {100 * fade_eh:.4f} %, PyBaMM {100 * fade_pb:.4f} %")
    # electrohet's row of cycle c holds the state at the start of cycle c (the SEI of
    # cycles 1 .. c-1); PyBaMM's entry c - 1 is the loss at the end of cycle c - 1
    k = m - 1
    print(
        f"  lithium lost to SEI after cycle {k}: electrohet {lost_eh[k]:.4e} mol, "
        f"PyBaMM {lost_pb[k - 1]:.4e} mol "
        f"({100 * (lost_eh[k] - lost_pb[k - 1]) / lost_pb[k - 1]:+.2f} %)"
    )
    print(f"  max |Li balance error| electrohet {abs(ds.li_balance_error).max().item():.1e}")
    print(
        f"  time per resolved cycle (median of {args.repeat}): electrohet "
        f"{1e3 * per_eh:.0f} ms, PyBaMM (IDAKLU) {1e3 * per_pb:.0f} ms -> ratio PyBaMM / "
        f"electrohet {per_pb / per_eh:.1f}x; runs electrohet "
        f"{', '.join(f'{1e3 * v:.0f}' for v in per_eh_runs)} ms, PyBaMM "
        f"{', '.join(f'{1e3 * v:.0f}' for v in per_pb_runs)} ms"
    )
    if args.jump_cycles > 0:
        t_j, dj, _ = electrohet_sei(args.jump_cycles, args.points, jump=True)
        per_j = (t_j - statistics.median(t1_list)) / max(int(dj.sizes["cycle"]) - 1, 1)
        print(
            f"Cycle jumping (electrohet only, same physics): {int(dj.sizes['cycle'])} cycles "
            f"({dj.attrs['n_resolved']} resolved) in {t_j:.1f} s -> {1e3 * per_j:.1f} ms/cycle, "
            f"{per_eh / per_j:.1f}x below its own resolved cost; retention "
            f"{100 * float(dj.retention.values[-1]):.3f} %, status {dj.attrs['status']}"
        )


if __name__ == "__main__":
    main()
