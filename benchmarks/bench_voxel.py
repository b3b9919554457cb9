"""Voxel model benchmark: C/2 discharge to 3.0 V of synthetic electrodes of n^3 voxels
(or of any shape, voxel size and C-rate).

Prints wall time, CPU time (process time of all threads: the core-seconds actually
used; the solver is single-threaded, so on a quiet machine wall ~ CPU), peak RSS,
unknowns, time steps, Newton and GMRES iterations (and GMRES iterations per decade of
residual reduction asked: the preconditioner's own measure, free of the inexact Newton
tolerances) and the core-seconds per unknown per
time step, next to echemAMR's published reference (finite-element case of 1.36 M
unknowns: ~6,000 s on 36 cores; per unknown that is 6000 * 36 / 1.36e6 = 0.16 core-s
for the whole run).  Each size runs in its own process (clean peak RSS) with a
wall-clock limit; on a shared machine the wall time is inflated by the load, the CPU
time much less.

Usage::

    python benchmarks/bench_voxel.py [32,64,96,128] [--limit 600] [--threads 2] [--no-reuse]
    # a Zhang-sized sub-volume (z x y x x voxels, z through the thickness) at C/3
    python benchmarks/bench_voxel.py 286x132x132 --voxel-um 0.25 --rate C/3 --limit 3600
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ECHEMAMR = {"unknowns": 1.36e6, "wall_s": 6000.0, "cores": 36}


def _heartbeat(sim, path: str, t0: float, stop) -> None:
    """Write how far the run has got every 20 s (read by the parent on a timeout)."""
    import resource

    while not stop.wait(20.0):
        tr = [s for s in sim.step_trace if s[4]]
        st = sim.solver.stats
        info = {
            "elapsed_s": time.perf_counter() - t0,
            "t_sim_s": float(tr[-1][0] + tr[-1][1]) if tr else 0.0,
            "steps": st.steps,
            "newton": st.newton_iterations,
            "gmres": st.linear_iterations,
            "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }
        with open(path, "w") as fh:
            json.dump(info, fh)


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"64"`` -> (64, 64, 64); ``"286x132x132"`` -> (286, 132, 132) (z first)."""
    parts = [int(v) for v in text.lower().split("x")]
    if len(parts) == 1:
        parts = parts * 3
    if len(parts) != 3 or min(parts) < 1:
        raise SystemExit(f"size {text!r}: give n or nz x ny x nx")
    return parts[0], parts[1], parts[2]


def run_one(
    size: str,
    linear: str,
    heartbeat: str | None = None,
    voxel_um: float = 0.5,
    rate: str = "C/2",
    threads: int = 1,
    reuse: bool = True,
) -> dict:
    import resource
    import threading

    from electrohet.micro.generate import synthetic_electrode
    from electrohet.voxel import Simulation, VoxelSolverOptions

    t0 = time.perf_counter()
    shape = parse_shape(size)
    vol = synthetic_electrode(
        shape,
        voxel_um * 1e-6,
        am_fraction=0.5,
        cbd_fraction=0.1,
        radius_median_m=1.5e-6,
        seed=0,
    )
    sim = Simulation(
        vol,
        material="NMC532",
        options=VoxelSolverOptions(linear=linear, threads=threads, reuse_hierarchy=reuse),
    )
    t1 = time.perf_counter()
    c1 = time.process_time()
    stop = threading.Event()
    if heartbeat:
        threading.Thread(target=_heartbeat, args=(sim, heartbeat, t0, stop), daemon=True).start()
    ds = sim.solve(f"Discharge at {rate} until 3.0 V")
    stop.set()
    t2 = time.perf_counter()
    c2 = time.process_time()
    st = sim.solver.stats
    return {
        "n": size,
        "voxels": int(shape[0] * shape[1] * shape[2]),
        "unknowns": int(sim.model.n),
        "status": ds.attrs["status"],
        "setup_s": t1 - t0,
        "solve_s": t2 - t1,
        "solve_cpu_s": c2 - c1,
        "steps": st.steps,
        "newton": st.newton_iterations,
        "factorizations": st.factorizations,
        "gmres_iterations": st.linear_iterations,
        "gmres_per_decade": st.linear_iterations / max(sim.solver.krylov_decades, 1e-300),
        "capacity_mAh_g": float(ds.specific_capacity[-1]),
        "li_error": ds.attrs["lithium_balance_error"],
        "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "am_fraction": float((sim.phase == 2).mean()),
        "cbd_fraction": float((sim.phase == 1).mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="?", default="32,64,96,128")
    ap.add_argument("--limit", type=float, default=600.0, help="wall-clock limit per size [s]")
    ap.add_argument("--linear", default="auto")
    ap.add_argument("--voxel-um", type=float, default=0.5, help="voxel size [um]")
    ap.add_argument("--rate", default="C/2", help="discharge rate, e.g. C/3")
    ap.add_argument(
        "--threads", type=int, default=1, help="1 or 2 (c_e and c_s V-cycles side by side)"
    )
    ap.add_argument(
        "--no-reuse",
        action="store_true",
        help="every preconditioner rebuild a full AMG set-up (the solver before 0.3)",
    )
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--heartbeat", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one is not None:
        print(
            json.dumps(
                run_one(a.one, a.linear, a.heartbeat, a.voxel_um, a.rate, a.threads, not a.no_reuse)
            )
        )
        return
    ref = ECHEMAMR["wall_s"] * ECHEMAMR["cores"] / ECHEMAMR["unknowns"]
    print(f"echemAMR reference: {ref:.3f} core-s per unknown (whole run, 1.36 M unknowns)")
    hdr = (
        "n^3  unknowns  steps  newton   gmres  its/dec  builds  wall[s]  cpu[s]  RSS[MB]  "
        "cap[mAh/g]  core-s/unk/step  core-s/unk"
    )
    print(hdr)
    for n in a.sizes.split(","):
        t0 = time.perf_counter()
        hb = os.path.join(tempfile.gettempdir(), f"bench_voxel_{os.getpid()}_{n}.json")
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--one", n, "--linear", a.linear]
                + ["--heartbeat", hb, "--voxel-um", str(a.voxel_um), "--rate", a.rate]
                + ["--threads", str(a.threads)]
                + (["--no-reuse"] if a.no_reuse else []),
                capture_output=True,
                text=True,
                timeout=a.limit,
            )
        except subprocess.TimeoutExpired:
            msg = f"{n:>4}  did not finish within {a.limit:.0f} s"
            if os.path.exists(hb):
                with open(hb) as fh:
                    h = json.load(fh)
                msg += (
                    f": had reached t = {h['t_sim_s']:.0f} s of the discharge after "
                    f"{h['elapsed_s']:.0f} s ({h['steps']} steps, {h['newton']} Newton, "
                    f"{h['gmres']} GMRES iterations; peak RSS so far "
                    f"{h.get('peak_rss_MB', float('nan')):.0f} MB)"
                )
            print(msg, flush=True)
            continue
        finally:
            if os.path.exists(hb):
                os.remove(hb)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            print(f"{n:>4}  failed: {out.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        cs = r["solve_cpu_s"]
        print(
            f"{n:>4}  {r['unknowns']:>8}  {r['steps']:>5}  {r['newton']:>6}  "
            f"{r['gmres_iterations']:>6}  {r['gmres_per_decade']:>7.2f}  {r['factorizations']:>6}  "
            f"{wall:>7.1f}  {r['solve_cpu_s']:>6.0f}  "
            f"{r['peak_rss_MB']:>7.0f}  {r['capacity_mAh_g']:>10.1f}  "
            f"{cs / r['unknowns'] / max(r['steps'], 1):>15.2e}  {cs / r['unknowns']:>10.2e}"
            f"   ({r['status']}, Li error {r['li_error']:.1e})",
            flush=True,
        )


if __name__ == "__main__":
    main()
