"""Tortuosity factor: electrohet (lean matrix-free and sparse AMG solvers) vs TauFactor CPU.

Usage::

    PYTHONPATH=src python benchmarks/bench_tortuosity.py [--sizes 200 400 600]
        [--porosity 0.35] [--solvers auto lean sparse taufactor] [--timeout 3600]
        [--first-run] [--reference] [--workdir /tmp/eh_bench_tau]

``auto`` is what ``electrohet micro analyze`` runs (the sparse CG-AMG solver up to
8 Mvoxel, the lean solver above).  ``--first-run`` gives every solver's process an
empty numba cache and times it from the process start, imports, compilation and
loading included (the first run after install; TauFactor's includes importing torch).
``--reference`` adds a tight solve (relative residual 1e-10) and prints every tau's
difference from it, so the times compare at a stated accuracy.

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
import time
C_START, W_START = time.process_time(), time.perf_counter()  # before any import
import json, os, sys
import numpy as np


def hwm():  # peak RSS of this process (VmHWM is reset at exec, unlike ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


solver, path, first = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if solver == "taufactor":
    import taufactor as tf
elif solver == "lean":
    from electrohet.micro.lean import lean_tortuosity
    if not first:
        # compile the kernels on a tiny image first: JIT time is not solve time
        lean_tortuosity(np.ones((8, 8, 8), np.uint8))
else:
    from electrohet.micro.estimate import tortuosity_solver
    from electrohet.micro.lean import lean_tortuosity
    from electrohet.micro.transport import tortuosity
base = hwm()
im = np.load(path)
c0, w0 = time.process_time(), time.perf_counter()
if first:  # first run after install: imports, compilation and loading count
    c0, w0 = C_START, W_START
out = {}
if solver == "taufactor":
    s = tf.Solver(im, device="cpu")
    out["tau"] = float(np.asarray(s.solve(verbose=False)).ravel()[0])
    out["iterations"] = int(s.iter)
elif solver == "lean":
    r = lean_tortuosity(im, axis=0, overwrite=True)
    out.update(tau=r.tau, iterations=r.iterations, nonuniformity=r.flux_nonuniformity,
               residual=r.residual)
elif solver == "reference":  # a tight solve, for the accuracy of the others (not timed)
    r = tortuosity(im.astype(bool), axis=0, rtol=1e-10)
    out.update(tau=r.tau, iterations=r.iterations, nonuniformity=r.flux_nonuniformity,
               residual=r.residual)
else:
    if solver == "auto":  # what micro analyze runs: sparse up to 8 Mvoxel, lean above
        solver = "auto-" + tortuosity_solver(im.size)
    if solver.endswith("lean"):
        r = lean_tortuosity(im, axis=0, overwrite=True)
    else:
        r = tortuosity(im.astype(bool), axis=0)
    out.update(tau=r.tau, iterations=r.iterations, nonuniformity=r.flux_nonuniformity,
               residual=r.residual, picked=solver)
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


def run_child(solver: str, path: Path, timeout: float, first: bool = False) -> dict:
    """Run one solver in its own process; ``first``: with an empty numba cache (a fresh
    ``NUMBA_CACHE_DIR``), timing from the process start (imports and compilation
    included), as on the first run after install."""
    import os
    import tempfile

    t0, c0 = time.perf_counter(), _children_cpu()
    env = dict(os.environ)
    tmp = tempfile.TemporaryDirectory(prefix="eh_numba_cache_") if first else None
    if tmp is not None:
        env["NUMBA_CACHE_DIR"] = tmp.name
    try:
        cp = subprocess.run(
            [sys.executable, "-c", _CHILD, solver, str(path), "1" if first else "0"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        # the child was killed and reaped: its CPU time (imports included) is a lower
        # bound of what the solve would have needed
        return {
            "timeout": True,
            "wall_s": time.perf_counter() - t0,
            "cpu_s": _children_cpu() - c0,
        }
    finally:
        if tmp is not None:
            tmp.cleanup()
    for line in cp.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (cp.stderr or cp.stdout)[-500:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 400, 600])
    ap.add_argument("--porosity", type=float, default=0.35)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--solvers",
        nargs="+",
        default=["auto", "taufactor"],
        help="lean, sparse, auto (micro analyze's choice), taufactor",
    )
    ap.add_argument(
        "--first-run",
        action="store_true",
        help="empty numba cache, times from process start (imports, compilation)",
    )
    ap.add_argument(
        "--reference", action="store_true", help="also a tight solve (rtol 1e-10) for accuracy"
    )
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
        ref_tau = None
        if args.reference:
            ref = run_child("reference", path, args.timeout)
            ref_tau = ref.get("tau")
            res["reference"] = ref
            if ref_tau:
                print(f"  reference (rtol 1e-10): tau = {ref_tau:.6f}", flush=True)
        for solver in args.solvers:
            r = run_child(solver, path, args.timeout, first=args.first_run)
            res[solver] = r
            if "tau" in r:
                net = (r["peak_rss_b"] - r["base_rss_b"]) / n**3
                acc = f" ({r['tau'] / ref_tau - 1:+.3%} vs reference)" if ref_tau else ""
                name = r.get("picked", solver)
                print(
                    f"  {name:11s}: tau = {r['tau']:.5f}{acc}  iterations = {r['iterations']}  "
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
        b = res.get("taufactor", {})
        for mine in ("auto", "sparse", "lean"):
            a = res.get(mine, {})
            if "wall_s" in a and "tau" in a and ("tau" in b or b.get("timeout")):
                bound = "<" if b.get("timeout") else ""
                print(
                    f"  {a.get('picked', mine)} / TauFactor: wall-time ratio "
                    f"{bound}{a['wall_s'] / b['wall_s']:.3f}"
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
