"""Two-level (block) tortuosity vs the full lean solve on one PoreSpy blobs volume.

Usage::

    PYTHONPATH=src python benchmarks/bench_two_level.py [--size 512] [--blocks 128 256]
        [--halo 0.25] [--porosity 0.35] [--blobiness 1] [--method schwarz] [--rtol 5e-3]
        [--span 2] [--cache .cache] [--only full]

Prints the full-solve tortuosity, and for every block edge one table row: size,
porosity, block, halo, method, tau full, tau two-level, relative error, the 95 %
bootstrap interval over the blocks, wall and CPU time and the process's peak RSS.  PoreSpy
blobs have a correlation length of about ``size / (40 blobiness)`` voxels; the block
method needs blocks of at least ~20 of it.

With ``--cache DIR`` the volume (``blobs{size}_s{seed}.npy``) and the full-solve result
(``ref{size}_s{seed}.json``) are kept in ``DIR`` and reused.  Peak RSS is per process:
run ``--only full`` and ``--only two-level`` separately (with ``--cache``) to measure
each method alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_gb() -> float:
    """Peak resident set size of this process (GB; Linux reports kB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1e9 if sys.platform == "darwin" else 1e6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--blocks", type=int, nargs="+", default=[256])
    ap.add_argument(
        "--halo",
        type=float,
        default=None,
        help="halo (faces, blocks) or overlap (schwarz): voxels if >= 1, else a fraction "
        "of the block edge; default the method's own",
    )
    ap.add_argument("--method", choices=["schwarz", "faces", "blocks"], default="schwarz")
    ap.add_argument("--rtol", type=float, default=5e-3, help="schwarz: remaining-error target")
    ap.add_argument("--span", type=int, default=2, help="blocks per window (0: column)")
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--porosity", type=float, default=0.35)
    ap.add_argument("--blobiness", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=None, help="folder for volume + reference")
    ap.add_argument("--only", choices=["both", "full", "two-level"], default="both")
    args = ap.parse_args()

    import numpy as np

    from electrohet.micro.lean import lean_tortuosity
    from electrohet.micro.two_level import two_level_tortuosity

    n = args.size
    tag = f"{n}_s{args.seed}"
    if args.porosity != 0.35 or args.blobiness != 1.0:
        tag += f"_p{args.porosity}_b{args.blobiness}"
    vol_file = args.cache / f"blobs{tag}.npy" if args.cache else None
    ref_file = args.cache / f"ref{tag}.json" if args.cache else None
    if vol_file is not None and vol_file.exists():
        im = np.load(vol_file)
    else:
        import porespy as ps

        im = ps.generators.blobs(
            shape=[n, n, n], porosity=args.porosity, blobiness=args.blobiness, seed=args.seed
        )
        im = np.ascontiguousarray(im, dtype=np.uint8)
        if vol_file is not None:
            args.cache.mkdir(parents=True, exist_ok=True)
            np.save(vol_file, im)
    print(f"blobs {n}^3, porosity {im.mean():.4f}, blobiness {args.blobiness}", flush=True)
    ref = None
    if ref_file is not None and ref_file.exists():
        ref = json.loads(ref_file.read_text())
        print(f"full lean solve (cached): tau = {ref['tau']:.5f}  ({ref['seconds']:.1f} s)")
    elif args.only != "two-level":
        w0 = time.perf_counter()
        c0 = time.process_time()
        full = lean_tortuosity(im, axis=0)
        ref = {"tau": full.tau, "seconds": time.perf_counter() - w0, "its": full.iterations}
        print(
            f"full lean solve: tau = {full.tau:.5f}  ({ref['seconds']:.1f} s wall, "
            f"{time.process_time() - c0:.1f} s CPU, "
            f"{full.iterations} iterations, peak RSS {peak_rss_gb():.2f} GB)",
            flush=True,
        )
        if ref_file is not None:
            ref_file.write_text(json.dumps(ref))
    if args.only == "full":
        return
    im = im.astype(bool)
    for b in args.blocks:
        if args.halo is None:
            halo = None
        else:
            halo = int(args.halo) if args.halo >= 1 else int(round(args.halo * b))
        w0 = time.perf_counter()
        c0 = time.process_time()
        r = two_level_tortuosity(
            im,
            block=b,
            halo=halo,
            method=args.method,
            span=args.span,
            n_bootstrap=args.bootstrap,
            schwarz_rtol=args.rtol,
        )
        if halo is None:
            halo = "default"
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        full_tau = f"{ref['tau']:.4f}" if ref else "-"
        err = f"{(r.tau - ref['tau']) / ref['tau']:+.2%}" if ref else "-"
        print(
            "| size | porosity | block | halo | method, span | tau full | tau two-level | "
            "error | 95 % bootstrap | wall, CPU | peak RSS |\n"
            f"| {n}^3 | {im.mean():.3f} | {b}^3 ({r.n_blocks}) | {halo} | "
            f"{args.method}, {args.span} | {full_tau} | {r.tau:.4f} | {err} | "
            f"{r.tau_ci95[0]:.3f}-{r.tau_ci95[1]:.3f} | {wall:.0f} s, {cpu:.0f} s | "
            f"{peak_rss_gb():.2f} GB |",
            flush=True,
        )
        if args.method == "schwarz" and ref:
            hist = ", ".join(f"{r.eps / s / ref['tau'] - 1:+.2%}" for s in r.sweep_sigma)
            print(
                f"  schwarz: {r.sweeps} sweeps, estimated remaining error {r.error_estimate:.1e}, "
                f"converged {r.converged}; tau error after the coarse start and each sweep: "
                f"{hist}",
                flush=True,
            )


if __name__ == "__main__":
    main()
