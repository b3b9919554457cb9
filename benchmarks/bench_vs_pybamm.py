"""electrohet vs PyBaMM: Chen2020 (LG M50) 1C discharge to 2.5 V, same mesh.

Both codes use 20 finite-volume cells per domain (negative electrode, separator,
positive electrode) and 20 radial shells.  Timed: model setup + solve (electrohet:
``Simulation(cell).solve(...)``; PyBaMM: ``DFN()`` + ``Simulation(...)`` + ``solve()``
with its default IDAKLU solver), imports excluded.  The first run of each is reported
separately (it includes PyBaMM's expression-tree processing caches and our first
Jacobian colouring); then ``--repeat`` timed runs of each, the two codes alternated so
that both see the same machine load, of which the medians are compared.

Solve only: the same discharge re-solved on an already built model, ``--repeat``
times each, median compared: electrohet ``sim.solve(...)`` on one built
:class:`~electrohet.model.Simulation`; PyBaMM ``sim.solve([0, 4000])`` on one built
``pybamm.Simulation`` with the IDAKLU solver (1C current, stopped by the model's
2.5 V "Minimum voltage" event; an experiment is not used because it rebuilds
per-step submodels).

electrohet's first run includes compiling its numba kernels unless they are already in
numba's on-disk cache (``cache=True``); re-solves never compile.

Parameter sets (``--set``): solve-only on cells imported from PyBaMM parameter sets
(``electrohet.design.from_pybamm(name)``: every function a table, run as compiled
interpolants) and on a BPX file (``electrohet.design.bpx_import.cell_from_bpx``:
expressions tabulated at import), against PyBaMM's DFN with the same parameter values
(``pybamm.ParameterValues(name)`` at SOC 1 by its ``set_initial_state``, or
``ParameterValues.create_from_bpx``, which needs the ``bpx`` package), 1C of the set's
nominal capacity to its lower cut-off, same mesh;
both built once, then ``--repeat`` solves alternated, medians compared.  The default BPX
file is About:Energy's NMC111|graphite 12.5 Ah pouch cell from the BPX repository's
examples (benchmarks/data/README.md).

Run:  python benchmarks/bench_vs_pybamm.py [--repeat 5]
      python benchmarks/bench_vs_pybamm.py --set all [--repeat 7]
      python benchmarks/bench_vs_pybamm.py --set Ecker2015 --set BPX
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

#: The parameter sets of ``--set all``: PyBaMM set names, and "BPX" (the ``--bpx`` file).
SETS = ("Chen2020", "Mohtat2020", "Ecker2015", "BPX")
DEFAULT_BPX = Path(__file__).parent / "data" / "nmc_pouch_cell_BPX.json"


def run_electrohet():
    from electrohet.design.presets import chen2020_cell
    from electrohet.model import Simulation

    ds = Simulation(chen2020_cell()).solve("Discharge at 1C until 2.5 V")
    return float(ds.capacity.values[-1]) * float(ds.attrs["area_m2"]), ds


def run_pybamm():
    import pybamm

    model = pybamm.lithium_ion.DFN()
    sim = pybamm.Simulation(
        model,
        parameter_values=pybamm.ParameterValues("Chen2020"),
        experiment=pybamm.Experiment(["Discharge at 1C until 2.5 V"]),
        var_pts={"x_n": 20, "x_s": 20, "x_p": 20, "r_n": 20, "r_p": 20},
    )
    sol = sim.solve()
    return float(sol["Discharge capacity [A.h]"].entries[-1]), sol


def solve_only(repeat: int) -> tuple[list[float], list[float], float]:
    """Median-ready solve times on built models: (electrohet, PyBaMM, PyBaMM capacity)."""
    import pybamm

    from electrohet.design.presets import chen2020_cell
    from electrohet.model import Simulation

    sim_eh = Simulation(chen2020_cell())
    sim_eh.solve("Discharge at 1C until 2.5 V")  # builds the colouring, warms caches
    sim_pb = pybamm.Simulation(
        pybamm.lithium_ion.DFN(),
        parameter_values=pybamm.ParameterValues("Chen2020"),
        solver=pybamm.IDAKLUSolver(),
        var_pts={"x_n": 20, "x_s": 20, "x_p": 20, "r_n": 20, "r_p": 20},
    )
    sol = sim_pb.solve([0, 4000])
    q_pb = float(sol["Discharge capacity [A.h]"].entries[-1])
    t_eh, t_pb = alternated(
        lambda: sim_eh.solve("Discharge at 1C until 2.5 V"), lambda: sim_pb.solve([0, 4000]), repeat
    )
    return t_eh, t_pb, q_pb


def set_solve_only(name: str, repeat: int, bpx_file: Path) -> dict:
    """Solve-only medians of one parameter set (see the module text).

    Returns a dict with the two codes' solve times [s] (lists), medians, capacities
    [A h], whether electrohet ran the compiled step loop, and the cut-off [V].
    """
    import warnings

    import pybamm

    from electrohet.model import Simulation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BPX: OCV-limit notes of both importers
        if name == "BPX":
            from electrohet.design.bpx_import import cell_from_bpx

            cell = cell_from_bpx(bpx_file)
            pv = pybamm.ParameterValues.create_from_bpx(str(bpx_file))
        else:
            from electrohet.design import from_pybamm

            # both from SOC 1 (PyBaMM's own set_initial_state; some sets start lower)
            cell = from_pybamm(name, initial_soc=1.0)
            pv = pybamm.ParameterValues(name)
            pv.set_initial_state(1.0)
    # 1C of the nominal capacity in both codes, to the set's lower cut-off
    pv["Current function [A]"] = pv["Nominal cell capacity [A.h]"]
    protocol = f"Discharge at 1C until {cell.v_min:g} V"
    sim_eh = Simulation(cell)
    ds = sim_eh.solve(protocol)  # builds the colouring, warms caches
    compiled = bool(sim_eh.integrator.compiled)
    sim_pb = pybamm.Simulation(
        pybamm.lithium_ion.DFN(),
        parameter_values=pv,
        solver=pybamm.IDAKLUSolver(),
        var_pts={"x_n": 20, "x_s": 20, "x_p": 20, "r_n": 20, "r_p": 20},
    )
    sol = sim_pb.solve([0, 5000])
    t_eh, t_pb = alternated(lambda: sim_eh.solve(protocol), lambda: sim_pb.solve([0, 5000]), repeat)
    return {
        "t_eh": t_eh,
        "t_pb": t_pb,
        "median_eh": statistics.median(t_eh),
        "median_pb": statistics.median(t_pb),
        "q_eh": float(ds.capacity.values[-1]) * float(ds.attrs["area_m2"]),
        "q_pb": float(sol["Discharge capacity [A.h]"].entries[-1]),
        "compiled": compiled,
        "v_min": cell.v_min,
    }


def run_sets(names: list[str], repeat: int, bpx_file: Path) -> None:
    """Print the solve-only table of the parameter sets ``names``."""
    print(f"solve only, 1C discharge, 20 cells/domain, 20 shells, median of {repeat}")
    print(
        f"  {'set':<11} {'electrohet ms':>13} {'PyBaMM ms':>10} {'ratio':>6} "
        f"{'compiled':>8} {'capacity eh / PyBaMM [A h]':>28}"
    )
    for name in names:
        r = set_solve_only(name, repeat, bpx_file)
        print(
            f"  {name:<11} {1e3 * r['median_eh']:13.1f} {1e3 * r['median_pb']:10.1f} "
            f"{r['median_eh'] / r['median_pb']:6.2f} {r['compiled']!s:>8} "
            f"{r['q_eh']:13.5f} / {r['q_pb']:.5f}",
            flush=True,
        )


def alternated(fn_a, fn_b, repeat: int) -> tuple[list[float], list[float]]:
    """Time ``fn_a`` and ``fn_b`` in alternation, ``repeat`` times each: both see the
    same machine load (on a shared machine, timing one code's repeats after the
    other's lets a change of load move the ratio)."""
    t_a, t_b = [], []
    for _ in range(repeat):
        t_a.append(timed(fn_a)[0])
        t_b.append(timed(fn_b)[0])
    return t_a, t_b


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--set",
        action="append",
        choices=[*SETS, "all"],
        help="solve-only timing on these parameter sets (repeatable; 'all': every one) "
        "instead of the Chen2020 preset report",
    )
    ap.add_argument("--bpx", type=Path, default=DEFAULT_BPX, help="BPX file of the 'BPX' set")
    args = ap.parse_args()
    import pybamm  # noqa: F401  (import excluded from timing)

    import electrohet.model  # noqa: F401

    if args.set:
        names = list(SETS) if "all" in args.set else list(dict.fromkeys(args.set))
        run_sets(names, args.repeat, args.bpx)
        return

    first_eh, (q_eh, ds) = timed(run_electrohet)
    first_pb, (q_pb, sol) = timed(run_pybamm)
    t_eh, t_pb = alternated(run_electrohet, run_pybamm, args.repeat)
    m_eh, m_pb = statistics.median(t_eh), statistics.median(t_pb)
    from electrohet.model.compare import rms_voltage_difference

    rms = rms_voltage_difference(
        ds.time.values,
        ds.voltage.values,
        sol["Time [s]"].entries,
        sol["Voltage [V]"].entries,
        exclude_end=0.005,
    )
    print("Chen2020 1C discharge, 20 cells/domain, 20 radial shells")
    print(
        f"  capacity   electrohet {q_eh:.5f} Ah   PyBaMM {q_pb:.5f} Ah"
        f"   (diff {100 * (q_eh / q_pb - 1):+.3f} %)"
    )
    print(f"  RMS voltage difference {1e3 * rms:.2f} mV")
    print(f"  first run  electrohet {first_eh:.3f} s   PyBaMM {first_pb:.3f} s")
    print(
        f"  median of {args.repeat} (setup + solve)  electrohet {m_eh:.3f} s   PyBaMM {m_pb:.3f} s"
    )
    print(f"  ratio electrohet / PyBaMM = {m_eh / m_pb:.2f}")
    s_eh, s_pb, q_pb_solve = solve_only(args.repeat)
    ms_eh, ms_pb = statistics.median(s_eh), statistics.median(s_pb)
    print(
        f"  solve only (built models, median of {args.repeat})  electrohet {ms_eh:.4f} s"
        f"   PyBaMM IDAKLU {ms_pb:.4f} s  (PyBaMM capacity {q_pb_solve:.5f} Ah)"
    )
    print(f"  solve-only ratio electrohet / PyBaMM = {ms_eh / ms_pb:.2f}")
    print(
        f"  electrohet solver: {ds.attrs['solver_steps']} steps, "
        f"{ds.attrs['solver_newton_iterations']} Newton iterations, "
        f"{ds.attrs['solver_residual_evaluations']} residual evaluations, "
        f"{ds.attrs['solver_jacobian_evaluations']} Jacobians, "
        f"{ds.attrs['solver_lu_factorizations']} LU factorizations"
    )


if __name__ == "__main__":
    main()
