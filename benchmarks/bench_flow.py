"""Stokes flow (``electrohet.micro.flow.stokes_flow``): cost and accuracy.

Usage::

    PYTHONPATH=src python benchmarks/bench_flow.py [--sizes 32 64 96 128 192]
        [--porosity 0.35] [--method auto] [--workdir /tmp/eh_bench_flow]
        [--lbm 1 2 3] [--sc-array 16 24 32 48 64] [--json out.json]

Part 1 (cost): for every size a Gaussian-filtered random field (filter width 2 voxels,
so the pore size is fixed while the volume grows) thresholded at the porosity is written
once to a ``.npy`` file; the solve then runs in its **own subprocess**, which loads the
image after its imports and a warm-up solve (numba kernels loaded from the cache), and
reports iterations, CPU and wall time, peak RSS (``VmHWM``), the net memory (``VmHWM``
less the RSS before the image was loaded) per voxel of the image, the mass balance
``|Q_in - Q_out| / Q_in`` and the estimate of ``micro.estimate.flow_cost`` for the same
pore count next to the measurement.

Part 2 (accuracy, ``--lbm``): the permeability of one continuous geometry (overlapping
spheres, see ``benchmarks/_lbm_reference.py``) sampled at increasing resolutions, by
``stokes_flow`` (reservoirs) and by an independent D3Q19 lattice-Boltzmann solver
(periodic, mirrored).

Part 3 (accuracy, ``--sc-array 16 24 32 48 64``): the simple-cubic array of spheres at
solid fractions 0.125 and 0.216, whose exact permeability is known (Zick & Homsy 1982):
``stokes_flow`` on a periodic stack (pressure gradient read between two planes one
period apart) and the LBM on one periodic cell, each against the exact value and
against each other, at increasing voxels per cell.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, sys, time
import numpy as np


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


from electrohet.micro.estimate import flow_cost
from electrohet.micro.flow import stokes_flow

path, method = sys.argv[1], sys.argv[2]
warm = np.zeros((12, 12, 12), bool)  # 1,200 cells: the Darcy hierarchy coarsens once,
warm[:, 1:-1, 1:-1] = True  # so its set-up kernels are loaded here too
for m in ("direct", "minres-mg"):
    stokes_flow(warm, method=m)  # load the compiled kernels: JIT time is not solve time
base = status("VmRSS")
im = np.load(path)
c0, w0 = time.process_time(), time.perf_counter()
r = stokes_flow(im, axis=0, method=method)
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
hwm = status("VmHWM")
est_bytes, est_s = flow_cost(float(im.sum()))
print(json.dumps({
    "voxels": int(im.size), "pore": int(im.sum()), "unknowns": r.unknowns,
    "method": r.method, "iterations": r.iterations, "cpu": cpu, "wall": wall,
    "peak": hwm, "net": hwm - base, "mass_balance": r.mass_balance,
    "residual": r.residual, "k": r.permeability, "tau": r.tau_flow,
    "est_bytes": est_bytes, "est_s": est_s, "converged": r.converged,
}))
"""


def blobs(n: int, porosity: float, seed: int = 0):
    """Gaussian-filtered (width 2 voxels) uniform noise thresholded at ``porosity``."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(np.random.default_rng(seed).random((n, n, n), dtype=np.float32), 2.0)
    return f <= np.quantile(f, porosity)


def cost(sizes, porosity: float, method: str, workdir: Path) -> list[dict]:
    """Part 1: one subprocess per size; prints a row per size."""
    import numpy as np

    rows = []
    print(
        f"{'size':>6} {'unknowns':>11} {'method':>10} {'iters':>6} {'CPU s':>8} {'wall s':>8} "
        f"{'peak GB':>8} {'net B/vox':>9} {'mass bal':>9} {'est GB':>7} {'meas GB':>7} "
        f"{'est s':>7} {'k (vox^2)':>10}"
    )
    for n in sizes:
        path = workdir / f"blobs_{n}_{porosity}.npy"
        if not path.exists():
            np.save(path, blobs(n, porosity))
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), method],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"{n:>6} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        m = json.loads(out.stdout.strip().splitlines()[-1])
        m["size"] = n
        rows.append(m)
        print(
            f"{n:>6} {m['unknowns']:>11,} {m['method']:>10} {m['iterations']:>6} "
            f"{m['cpu']:>8.1f} {m['wall']:>8.1f} {m['peak'] / 1e9:>8.2f} "
            f"{m['net'] / m['voxels']:>9.1f} {m['mass_balance']:>9.1e} "
            f"{m['est_bytes'] / 1e9:>7.3f} {m['net'] / 1e9:>7.3f} {m['est_s']:>7.1f} "
            f"{m['k']:>10.4f}",
            flush=True,
        )
    return rows


def lbm(factors, workdir: Path) -> list[dict]:
    """Part 2: MAC vs lattice Boltzmann on one sphere packing at several resolutions."""
    sys.path.insert(0, str(Path(__file__).parent))
    from _lbm_reference import compare_resolutions

    rows = compare_resolutions(factors)
    print(
        f"{'res':>4} {'voxels':>8} {'k_MAC':>11} {'k_LBM':>11} {'MAC/LBM-1':>10} {'LBM steps':>9}"
    )
    for r in rows:
        print(
            f"{r['factor']:>4} {r['n']:>5}^3 {r['k_mac']:>11.4e} {r['k_lbm']:>11.4e} "
            f"{r['k_mac'] / r['k_lbm'] - 1:>+10.2%} {r['steps']:>9}"
        )
    return rows


def sc_array(sizes) -> list[dict]:
    """Part 3: MAC and lattice Boltzmann against the exact simple-cubic sphere array."""
    sys.path.insert(0, str(Path(__file__).parent))
    from _lbm_reference import compare_sc_array

    rows = compare_sc_array(sizes)
    print(
        f"{'c':>6} {'cell':>7} {'c voxels':>8} {'k exact':>11} {'MAC err':>8} {'LBM err':>8} "
        f"{'MAC/LBM-1':>10} {'LBM steps':>9}"
    )
    for r in rows:
        print(
            f"{r['solid_fraction']:>6} {r['n']:>4}^3 {r['voxel_fraction']:>8.4f} "
            f"{r['k_exact']:>11.4e} {r['k_mac'] / r['k_exact'] - 1:>+8.2%} "
            f"{r['k_lbm'] / r['k_exact'] - 1:>+8.2%} {r['k_mac'] / r['k_lbm'] - 1:>+10.2%} "
            f"{r['steps']:>9}",
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[32, 64, 96, 128, 192])
    ap.add_argument("--porosity", type=float, default=0.35)
    ap.add_argument("--method", default="auto")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/eh_bench_flow"))
    ap.add_argument("--lbm", type=int, nargs="*", default=[])
    ap.add_argument("--sc-array", type=int, nargs="*", default=[], help="cell sizes for part 3")
    ap.add_argument("--json", type=Path, default=None, help="write all rows to this file")
    a = ap.parse_args(argv)
    a.workdir.mkdir(parents=True, exist_ok=True)
    out = {"cost": cost(a.sizes, a.porosity, a.method, a.workdir) if a.sizes else []}
    if a.lbm:
        out["lbm"] = lbm(a.lbm, a.workdir)
    if a.sc_array:
        out["sc_array"] = sc_array(a.sc_array)
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
