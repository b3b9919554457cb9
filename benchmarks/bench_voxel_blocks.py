"""The voxel preconditioner's blocks: V-cycle convergence factors and GMRES counts.

Reproduces the block tables of docs/voxel.md ("Limits"): for synthetic electrodes of
n^3 voxels (the same as ``bench_voxel.py``) a C/2 discharge is run for ``--minutes``
and the last Newton Jacobian is kept.  On it the script prints

* for each block the preconditioner inverts (the electrolyte salt ``c_e``, the solid
  lithium ``c_s`` and the potential block with ``c_s`` eliminated locally, ``S``) and
  each Ruge-Stuben strength threshold ``theta``: the stationary convergence factor of
  one V-cycle, ``(|r_k| / |r_0|)^(1/k)`` over ``k`` = 12 cycles from a random
  right-hand side (the set-up and cycle of ``voxel.preconditioner.VCycle``);
* GMRES iterations to a relative residual of 1e-8 on two random right-hand sides for
  the whole block preconditioner (default threshold), and its build time.

Usage::

    python benchmarks/bench_voxel_blocks.py [32,48,64] [--minutes 10]
        [--thetas 0.05,0.1,0.15,0.25] [--save DIR]

``--save`` writes each Jacobian (``J{n}.npz``, SciPy sparse) with the solver's scaling
and control mode (``meta{n}.npz``) for further experiments.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def jacobian_after(n: int, minutes: float):
    """(simulation, Jacobian, control mode) of the last Newton iteration of a C/2
    discharge of ``minutes`` on the n^3 synthetic electrode."""
    from electrohet.micro.generate import synthetic_electrode
    from electrohet.voxel import Simulation, VoxelSolverOptions

    vol = synthetic_electrode(
        (n, n, n), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1.5e-6, seed=0
    )
    sim = Simulation(vol, material="NMC532", options=VoxelSolverOptions(linear="krylov"))
    kept: dict = {}
    factor = sim.solver._factor

    def keep(J):
        kept["J"], kept["mode"] = J.copy(), sim.solver._mode
        return factor(J)

    sim.solver._factor = keep  # instance attribute: this simulation only
    sim.solve(f"Discharge at C/2 for {minutes:g} minutes")
    return sim, kept["J"].tocsr(), kept["mode"]


def stationary_factor(A: sp.csr_matrix, solve, cycles: int = 12, seed: int = 1) -> float:
    """Mean residual reduction per application of ``x += solve(b - A x)``."""
    b = np.random.default_rng(seed).standard_normal(A.shape[0])
    x = np.zeros_like(b)
    r = b
    for _ in range(cycles):
        x = x + solve(r)
        r = b - A @ x
    return float((np.linalg.norm(r) / np.linalg.norm(b)) ** (1.0 / cycles))


def blocks(sim, J: sp.csr_matrix, mode: str) -> dict[str, sp.csr_matrix]:
    """The three matrices the block preconditioner inverts by V-cycles."""
    from electrohet.voxel.preconditioner import BlockPreconditioner

    pc = BlockPreconditioner(sim.model, J, mode)
    pot = J[pc.pot]
    S = (pot[:, pc.pot] - pc.J_ps @ sp.diags(1.0 / pc.d_s) @ J[pc.cs][:, pc.pot]).tocsr()
    return {
        "c_e": J[pc.ce][:, pc.ce].tocsr(),
        "c_s": J[pc.cs][:, pc.cs].tocsr(),
        "S (potentials)": S,
    }


def gmres_counts(sim, J: sp.csr_matrix, mode: str) -> tuple[list[int], float]:
    """GMRES iterations (rtol 1e-8, two random right-hand sides) on the row- and
    column-scaled Jacobian with the block preconditioner, and its build time [s]."""
    from electrohet.voxel.preconditioner import BlockPreconditioner

    solver = sim.solver
    A, d = solver._scaled(J)
    t = time.process_time()
    pc = BlockPreconditioner(sim.model, J, mode)
    build = time.process_time() - t
    scale = solver.scale
    M = spla.LinearOperator(A.shape, lambda v: pc.apply(np.ravel(v) * d) / scale, dtype=float)
    counts = []
    for seed in (0, 1):
        rhs = np.random.default_rng(seed).standard_normal(A.shape[0])
        c = [0]

        def cb(_, c=c):
            c[0] += 1

        spla.gmres(
            A,
            rhs,
            M=M,
            rtol=1e-8,
            atol=0.0,
            restart=200,
            maxiter=3,
            callback=cb,
            callback_type="pr_norm",
        )
        counts.append(c[0])
    return counts, build


def main() -> None:
    from electrohet.voxel.preconditioner import VCycle

    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="?", default="32,48,64")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--thetas", default="0.05,0.1,0.15,0.25")
    ap.add_argument("--save", default=None, help="directory for the Jacobians")
    a = ap.parse_args()
    thetas = [float(t) for t in a.thetas.split(",")]
    print("one V-cycle's stationary convergence factor per block and strength threshold")
    print(f"{'n^3':>5}  {'block':<15}{'unknowns':>9}  " + "  ".join(f"{t:>6g}" for t in thetas))
    for n in (int(s) for s in a.sizes.split(",")):
        sim, J, mode = jacobian_after(n, a.minutes)
        if a.save:
            out = Path(a.save)
            out.mkdir(parents=True, exist_ok=True)
            sp.save_npz(out / f"J{n}.npz", J)
            np.savez(out / f"meta{n}.npz", scale=sim.solver.scale, mode=mode)
        for name, B in blocks(sim, J, mode).items():
            f = [stationary_factor(B, VCycle(B, theta=t).solve) for t in thetas]
            print(f"{n:>5}  {name:<15}{B.shape[0]:>9}  " + "  ".join(f"{x:6.3f}" for x in f))
        counts, build = gmres_counts(sim, J, mode)
        print(
            f"{n:>5}  GMRES to 1e-8 (whole preconditioner, theta 0.1): {counts} iterations; "
            f"build {build:.1f} s; {sim.model.n} unknowns",
            flush=True,
        )


if __name__ == "__main__":
    main()
