"""Tortuosity factor: electrohet vs TauFactor on the same PoreSpy blobs volume (CPU).

Usage::

    PYTHONPATH=src python benchmarks/bench_tortuosity.py [--size 200] [--porosity 0.35]

Both solvers see the same binary image (pore = 1) with the gradient along axis 0,
Dirichlet faces and no-flux sides, and the same finite-volume discretisation.  Stopping
criteria differ: TauFactor (SOR) stops when the flux through every plane is within 1 %
of the others and tau changed by < 2e-3 over 100 iterations; electrohet (AMG-PCG) stops
at a relative residual of 1e-6 and reports its plane-flux non-uniformity, the quantity
TauFactor tests, so the two tolerances can be compared.  CPU time is process time (all
threads); TauFactor's torch uses every core it is given.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--porosity", type=float, default=0.35)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import porespy as ps
    import taufactor as tf

    from electrohet.micro.transport import tortuosity

    n = args.size
    im = ps.generators.blobs(shape=[n, n, n], porosity=args.porosity, blobiness=1, seed=args.seed)
    im = np.ascontiguousarray(im, dtype=np.uint8)
    print(f"blobs {n}^3, porosity {im.mean():.4f}")

    c0, w0 = time.process_time(), time.perf_counter()
    solver = tf.Solver(im, device="cpu")
    tau_tf = float(np.asarray(solver.solve(verbose=False)).ravel()[0])
    cpu_tf, wall_tf = time.process_time() - c0, time.perf_counter() - w0

    c0, w0 = time.process_time(), time.perf_counter()
    res = tortuosity(im.astype(bool), axis=0)
    cpu_eh, wall_eh = time.process_time() - c0, time.perf_counter() - w0

    print(
        f"TauFactor : tau = {tau_tf:.5f}  iterations = {solver.iter}  "
        f"CPU {cpu_tf:.2f} s  wall {wall_tf:.2f} s  (stops at 1 % flux non-uniformity)"
    )
    print(
        f"electrohet: tau = {res.tau:.5f}  CG iterations = {res.iterations}  "
        f"CPU {cpu_eh:.2f} s  wall {wall_eh:.2f} s  "
        f"(flux non-uniformity {res.flux_nonuniformity:.1e}, residual {res.residual:.1e})"
    )
    print(f"relative difference in tau: {(res.tau - tau_tf) / tau_tf:+.3%}")
    print(
        f"CPU time ratio electrohet / TauFactor: {cpu_eh / cpu_tf:.3f}  "
        f"(wall ratio {wall_eh / wall_tf:.3f})"
    )


if __name__ == "__main__":
    main()
