"""Two-level (block) tortuosity vs the full lean solve on one PoreSpy blobs volume.

Usage::

    PYTHONPATH=src python benchmarks/bench_two_level.py [--size 512] [--blocks 128 256]
        [--porosity 0.35] [--blobiness 1]

Prints the full-solve tortuosity, and for every block edge the two-level value, its
relative difference, the block spread (mean, 95 % CI of the mean, 2.5-97.5 %
percentiles) and the wall times.  PoreSpy blobs have a correlation length of about
``size / (40 blobiness)`` voxels; the block method needs blocks much larger than it.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--blocks", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--porosity", type=float, default=0.35)
    ap.add_argument("--blobiness", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--halo", type=int, default=0, help="oversampling halo (voxels)")
    args = ap.parse_args()

    import numpy as np
    import porespy as ps

    from electrohet.micro.lean import lean_tortuosity
    from electrohet.micro.two_level import two_level_tortuosity

    n = args.size
    im = ps.generators.blobs(
        shape=[n, n, n], porosity=args.porosity, blobiness=args.blobiness, seed=args.seed
    )
    im = np.ascontiguousarray(im, dtype=np.uint8)
    print(f"blobs {n}^3, porosity {im.mean():.4f}, blobiness {args.blobiness}", flush=True)
    w0 = time.perf_counter()
    full = lean_tortuosity(im, axis=0)
    print(
        f"full lean solve: tau = {full.tau:.5f}  ({time.perf_counter() - w0:.1f} s, "
        f"{full.iterations} iterations)",
        flush=True,
    )
    for b in args.blocks:
        w0 = time.perf_counter()
        r = two_level_tortuosity(im.astype(bool), block=b, halo=args.halo)
        print(
            f"two-level, blocks {b}^3 ({r.n_blocks}), halo {args.halo}: tau = {r.tau:.5f}  "
            f"difference {(r.tau - full.tau) / full.tau:+.2%}  block tau mean "
            f"{r.block_tau_mean:.3f} +- {r.block_tau_ci95:.3f} (95 % CI), spread "
            f"[{r.block_tau_p2_5:.3f}, {r.block_tau_p97_5:.3f}]  "
            f"({time.perf_counter() - w0:.1f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
