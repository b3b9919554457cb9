"""A 20-point porosity sweep: electrohet on one reused Simulation vs PyBaMM with an
input parameter (and electrohet rebuilding at every point, for reference).

Problem: Chen2020 (LG M50), 1C discharge to 2.5 V, the positive electrode's porosity
from 0.25 to 0.335 in 20 points (the active fraction fixed; electrohet's inert CBD
fraction takes the rest, PyBaMM's volume fractions need not sum to 1), 20 volumes per
domain and 20 shells on both sides.

* electrohet, reused: :func:`electrohet.model.sweep.parameter_sweep` (the first point
  builds the Simulation, the others swap the cell in with ``Simulation.set_cell``);
* electrohet, rebuilt: ``Simulation(cell).solve(...)`` at every point;
* PyBaMM: ``"Positive electrode porosity"`` as ``"[input]"``, one ``pybamm.Simulation``
  with IDAKLU built once, ``sim.solve([0, 4000], inputs=...)`` per point (stopped by the
  2.5 V "Minimum voltage" event).

Each timed run includes building (electrohet's first Simulation, PyBaMM's model
processing on the first solve).  ``--repeat`` alternated runs, medians compared.

Run:  python benchmarks/bench_sweep.py [--points 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np

EXP = "Discharge at 1C until 2.5 V"


def cell_at(eps: float):
    from electrohet.design.layer import Electrode
    from electrohet.design.presets import chen2020_cell

    cell = chen2020_cell()
    lay = cell.positive.layers[0]
    lay = dataclasses.replace(lay, porosity=eps, cbd_fraction=1.0 - eps - lay.active_fraction)
    return dataclasses.replace(cell, positive=Electrode([lay], cell.positive.theta_init))


def electrohet_reused(values):
    from electrohet.model.sweep import parameter_sweep

    t0 = time.perf_counter()
    runs = parameter_sweep(cell_at, values, EXP)
    dt = time.perf_counter() - t0
    return dt, [float(r.capacity[-1]) * float(r.attrs["area_m2"]) for r in runs]


def electrohet_rebuilt(values):
    from electrohet.model import Simulation

    t0 = time.perf_counter()
    caps = []
    for v in values:
        ds = Simulation(cell_at(v)).solve(EXP)
        caps.append(float(ds.capacity[-1]) * float(ds.attrs["area_m2"]))
    return time.perf_counter() - t0, caps


def pybamm_inputs(values):
    import pybamm

    pv = pybamm.ParameterValues("Chen2020")
    pv["Positive electrode porosity"] = "[input]"
    sim = pybamm.Simulation(
        pybamm.lithium_ion.DFN(),
        parameter_values=pv,
        var_pts={k: 20 for k in ("x_n", "x_s", "x_p", "r_n", "r_p")},
        solver=pybamm.IDAKLUSolver(),
    )
    t0 = time.perf_counter()
    caps = []
    for v in values:
        sol = sim.solve([0, 4000], inputs={"Positive electrode porosity": v})
        caps.append(float(sol["Discharge capacity [A.h]"].entries[-1]))
    return time.perf_counter() - t0, caps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import pybamm  # noqa: F401  (imports excluded from timing)

    import electrohet.model  # noqa: F401

    values = list(np.linspace(0.25, 0.335, args.points))
    electrohet_reused(values[:2])  # warm-up: load the cached kernels once
    pybamm_inputs(values[:2])
    t_re, t_rb, t_pb = [], [], []
    for _ in range(args.repeat):
        dt, caps_re = electrohet_reused(values)
        t_re.append(dt)
        dt, caps_pb = pybamm_inputs(values)
        t_pb.append(dt)
        dt, caps_rb = electrohet_rebuilt(values)
        t_rb.append(dt)
    m_re, m_rb, m_pb = (statistics.median(x) for x in (t_re, t_rb, t_pb))
    dcap = np.max(np.abs(np.array(caps_re) - np.array(caps_pb)) / np.array(caps_pb))
    print(f"{args.points}-point positive-porosity sweep, Chen2020, {EXP}, 20 volumes and shells")
    print(f"  electrohet, one reused Simulation : {m_re:6.2f} s  (runs {t_re})")
    print(f"  electrohet, rebuilt per point     : {m_rb:6.2f} s")
    print(f"  PyBaMM, input parameter (IDAKLU)  : {m_pb:6.2f} s")
    print(
        f"  ratio electrohet reused / PyBaMM = {m_re / m_pb:.2f}; rebuilt / reused = "
        f"{m_rb / m_re:.2f}"
    )
    print(
        f"  capacity: max |electrohet - PyBaMM| / PyBaMM over the sweep = {100 * dcap:.3f} %"
        f" (reused vs rebuilt identical: {np.allclose(caps_re, caps_rb, rtol=1e-9)})"
    )


if __name__ == "__main__":
    main()
