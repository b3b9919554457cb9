"""Tortuosity factor: electrohet (lean matrix-free and sparse AMG solvers) vs TauFactor CPU.

Usage::

    PYTHONPATH=src python benchmarks/bench_tortuosity.py [--sizes 200 400 600]
        [--porosity 0.35] [--solvers lean sparse taufactor] [--timeout 3600]
        [--workdir /tmp/eh_bench_tau]

For every size the same PoreSpy blobs image (pore = 1, gradient along axis 0, Dirichlet
faces, no-flux sides, the same finite-volume discretisation) is written once to a
``.npy`` file; each solver then runs in its **own subprocess** which loads the image,
solves and reports wall time, CPU time and its peak resident memory (``VmHWM``),
so peak RSS is measured per solver.  ``net B/voxel`` subtracts the RSS of the
subprocess after its imports, before the image is loaded (interpreter, NumPy, torch
...), so it is the memory the solve needs per voxel including the image itself.

Stopping criteria differ: TauFactor (SOR) stops when the flux through every plane is
within 1 % of the others and tau changed by < 2e-3 over 100 iterations; electrohet
stops at a relative residual of 1e-6 (computed in float64) and reports its plane-flux
non-uniformity, the quantity TauFactor tests.  A solver that exceeds ``--timeout``
seconds is stopped and reported as such (its wall and CPU times are then lower bounds, and
the ratios upper bounds).  On a shared machine compare the CPU-time ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

_CHILD = r"""
import json, sys, time
import numpy as np


def hwm():  # peak RSS of this process (VmHWM is reset at exec, unlike ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


solver, path = sys.argv[1], sys.argv[2]
if solver == "taufactor":
    import taufactor as tf
elif solver == "lean":
    from electrohet.micro.lean import lean_tortuosity
    # compile the kernels on a tiny image first: JIT time is not solve time
    lean_tortuosity(np.ones((8, 8, 8), np.uint8))
else:
    from electrohet.micro.transport import tortuosity
base = hwm()
im = np.load(path)
c0, w0 = time.process_time(), time.perf_counter()
out = {}
if solver == "taufactor":
    s = tf.Solver(im, device="cpu")
    out["tau"] = float(np.asarray(s.solve(verbose=False)).ravel()[0])
    out["iterations"] = int(s.iter)
elif solver == "lean":
    r = lean_tortuosity(im, axis=0, overwrite=True)
    out.update(tau=r.tau, iterations=r.iterations, nonuniformity=r.flux_nonuniformity,
               residual=r.residual)
else:
    r = tortuosity(im.astype(bool), axis=0)
    out.update(tau=r.tau, iterations=r.iterations, nonuniformity=r.flux_nonuniformity,
               residual=r.residual)
out["cpu_s"] = time.process_time() - c0
out["wall_s"] = time.perf_counter() - w0
out["peak_rss_b"] = hwm()
out["base_rss_b"] = base
print("RESULT " + json.dumps(out))
"""


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_child(solver: str, path: Path, timeout: float) -> dict:
    t0, c0 = time.perf_counter(), _children_cpu()
    try:
        cp = subprocess.run(
            [sys.executable, "-c", _CHILD, solver, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        # the child was killed and reaped: its CPU time (imports included) is a lower
        # bound of what the solve would have needed
        return {
            "timeout": True,
            "wall_s": time.perf_counter() - t0,
            "cpu_s": _children_cpu() - c0,
        }
    for line in cp.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (cp.stderr or cp.stdout)[-500:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 400, 600])
    ap.add_argument("--porosity", type=float, default=0.35)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--solvers", nargs="+", default=["lean", "taufactor"])
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--workdir", default="/tmp/eh_bench_tau")
    args = ap.parse_args()

    import numpy as np
    import porespy as ps

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        im = ps.generators.blobs(
            shape=[n, n, n], porosity=args.porosity, blobiness=1, seed=args.seed
        )
        im = np.ascontiguousarray(im, dtype=np.uint8)
        path = work / f"blobs_{n}.npy"
        np.save(path, im)
        print(f"blobs {n}^3, porosity {im.mean():.4f}", flush=True)
        del im
        res = {}
        for solver in args.solvers:
            r = run_child(solver, path, args.timeout)
            res[solver] = r
            if "tau" in r:
                net = (r["peak_rss_b"] - r["base_rss_b"]) / n**3
                print(
                    f"  {solver:9s}: tau = {r['tau']:.5f}  iterations = {r['iterations']}  "
                    f"wall {r['wall_s']:.1f} s  CPU {r['cpu_s']:.1f} s  "
                    f"peak RSS {r['peak_rss_b'] / 1e9:.2f} GB "
                    f"({r['peak_rss_b'] / n**3:.1f} B/voxel, net {net:.1f} B/voxel)",
                    flush=True,
                )
            elif r.get("timeout"):
                print(
                    f"  {solver:9s}: stopped after {args.timeout:.0f} s wall, "
                    f"{r['cpu_s']:.1f} s CPU (timeout: not converged)",
                    flush=True,
                )
            else:
                print(f"  {solver:9s}: failed: {r.get('error')}", flush=True)
        path.unlink()
        a, b = res.get("lean", {}), res.get("taufactor", {})
        if "wall_s" in a and "tau" in a and ("tau" in b or b.get("timeout")):
            bound = "<" if b.get("timeout") else ""
            print(
                f"  wall-time ratio lean / TauFactor: {bound}{a['wall_s'] / b['wall_s']:.3f}"
                f"   CPU-time ratio: {bound}{a['cpu_s'] / b['cpu_s']:.3f}"
                + (
                    f"   tau difference {(a['tau'] - b['tau']) / b['tau']:+.3%}"
                    if "tau" in b
                    else ""
                ),
                flush=True,
            )
        rows.append({"size": n, **res})
    (work / "bench_tortuosity.json").write_text(json.dumps(rows, indent=2))
    print(f"wrote {work / 'bench_tortuosity.json'}  (machine shared: timings are noisy)")


if __name__ == "__main__":
    main()
