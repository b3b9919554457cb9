"""Out-of-core analysis of a large chunked Zarr volume with bounded memory.

Usage::

    PYTHONPATH=src python benchmarks/bench_out_of_core.py --size 1024 [--chunks 256]
        [--workdir /tmp/eh_ooc] [--keep] [--distributed]

Generates a synthetic electrode of ``size^3`` uint8 voxels chunk by chunk (never whole
in RAM; 2048^3 = 8 GiB), then computes phase fractions, through-thickness profiles,
CBD connected components (26-connectivity, merged across chunk borders) and the AM-CBD
face contact area through Dask and, with ``--tortuosity-block B``, the pore tortuosity
along the thickness by the two-level block method (B^3 blocks, one in memory at a
time), on the whole volume or, with ``--tortuosity-width W``, on a central W x W
column through the whole thickness (the time for the whole volume is extrapolated
from the time per block).  Prints the time of each step and the peak resident memory of the process
(``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--chunks", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--radius-vox", type=float, default=10.0)
    ap.add_argument("--workdir", default="/tmp/eh_ooc")
    ap.add_argument("--keep", action="store_true", help="keep the Zarr volume")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing volume")
    ap.add_argument("--distributed", action="store_true", help="use a dask LocalCluster")
    ap.add_argument(
        "--tortuosity-block",
        type=int,
        default=0,
        help="also the two-level pore tortuosity along the thickness with blocks of this edge",
    )
    ap.add_argument(
        "--tortuosity-width",
        type=int,
        default=0,
        help="two-level tortuosity on a central column of this lateral width (voxels) "
        "through the whole thickness instead of the whole volume (0: whole volume)",
    )
    ap.add_argument("--tortuosity-halo", type=int, default=-1, help="halo (default block/4)")
    ap.add_argument(
        "--no-metrics",
        action="store_true",
        help="skip fractions, profiles, CBD components and contact area (tortuosity only)",
    )
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    import dask

    from electrohet.micro.connectivity import component_stats
    from electrohet.micro.contact import contact_area
    from electrohet.micro.fractions import label_counts, profiles
    from electrohet.micro.generate import generate_to_zarr
    from electrohet.micro.io import load_volume

    n = args.size
    path = Path(args.workdir) / f"synthetic_{n}.zarr"
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"volume {n}^3 uint8 = {n**3 / 1024**3:.2f} GiB, chunks {args.chunks}^3")

    def generate() -> None:
        generate_to_zarr(
            path,
            (n, n, n),
            1e-7,
            chunks=args.chunks,
            workers=args.workers,
            radius_median_m=args.radius_vox * 1e-7,
            crack_fraction=0.04,
            seed=7,
            progress=True,
        )

    if args.generate_only:
        generate()
        return
    t0 = time.perf_counter()
    if not (args.reuse and path.exists()):
        # generate in a child process so that the peak RSS below is the analysis alone
        subprocess.run([sys.executable, __file__, "--generate-only", *sys.argv[1:]], check=True)
    t_gen = time.perf_counter() - t0
    gen_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    print(f"generation: {t_gen:.1f} s, peak RSS of the generator process {gen_rss:.2f} GB")

    client = None
    if args.distributed:
        from distributed import Client, LocalCluster

        client = Client(
            LocalCluster(
                n_workers=1,
                threads_per_worker=args.workers,
                processes=False,
                dashboard_address=None,
            )
        )
    else:
        dask.config.set(scheduler="threads", num_workers=args.workers)

    vol = load_volume(path, validate=False)
    times = {}
    if not args.no_metrics:
        t = time.perf_counter()
        counts = label_counts(vol)
        times["fractions"] = time.perf_counter() - t
        t = time.perf_counter()
        prof = profiles(vol)
        times["profiles"] = time.perf_counter() - t
        t = time.perf_counter()
        cc = component_stats(vol, "cbd", 26)
        times["cbd_components"] = time.perf_counter() - t
        t = time.perf_counter()
        area = contact_area(vol, "am", "cbd")
        times["contact_area"] = time.perf_counter() - t
    tau = None
    if args.tortuosity_block:
        from electrohet.micro.two_level import two_level_tortuosity
        from electrohet.micro.volume import LabelledVolume

        b = args.tortuosity_block
        data = vol.data
        w = args.tortuosity_width
        if 0 < w < n:
            c0 = (n - w) // 2 // b * b  # on the block grid: no partial chunks read
            data = data[:, c0 : c0 + w, c0 : c0 + w]
        vb = LabelledVolume(data.rechunk((b, b, b)), vol.voxel_size, vol.labels)
        halo = b // 4 if args.tortuosity_halo < 0 else args.tortuosity_halo
        t = time.perf_counter()
        # method="blocks": the aggregation the documented 2048^3 run used (one solve
        # per block and axis); the default "schwarz" solves the full problem window by
        # window (several sweeps), "faces" one window per block face
        tau = two_level_tortuosity(
            vb, ["pore", "crack"], 0, num_workers=1, halo=halo, progress=True, method="blocks"
        )
        times["tortuosity_2lvl"] = time.perf_counter() - t
        per_block = times["tortuosity_2lvl"] / tau.n_blocks
        n_all = int(np.prod([-(-n // b)] * 3))
        # a column one block wide solves only the thickness axis per block; the whole
        # volume needs all three
        per_block_all = per_block * 3 if 0 < w <= b else per_block
        print(
            f"two-level on {data.shape} ({tau.n_blocks} blocks of {b}^3, halo {halo}): "
            f"{per_block:.1f} s per block; the whole volume ({n_all} blocks, 3 axes "
            f"each) would take ~{per_block_all * n_all / 3600:.1f} h on this machine"
        )
    if not args.no_metrics:
        tot = sum(counts.values())
        print("fractions:", {k: round(v / tot, 4) for k, v in counts.items()})
        print(f"profile points: {prof['depth_m'].size}")
        print(
            f"CBD: {cc.n_components} aggregates, largest share {cc.largest_share:.3f}, "
            f"collector share {cc.collector_share:.3f}"
        )
        print(
            f"AM-CBD contact area (faces): {area:.4e} m^2, per AM volume "
            f"{area / (counts['am'] * vol.voxel_volume):.4e} 1/m"
        )
    if tau is not None:
        print(
            f"pore tortuosity (two-level, {tau.n_blocks} blocks): {tau.tau:.4f}, 95 % "
            f"bootstrap interval [{tau.tau_ci95[0]:.3f}, {tau.tau_ci95[1]:.3f}]; block "
            f"tau median {tau.block_tau_median:.3f}, spread "
            f"[{tau.block_tau_p2_5:.3f}, {tau.block_tau_p97_5:.3f}]"
        )
    for k, v in times.items():
        print(f"  {k:15s} {v:8.1f} s")
    print(f"analysis total: {sum(times.values()):.1f} s")
    print(f"peak RSS of the analysis process: {peak_rss_gb():.2f} GB")
    if client is not None:
        client.close()
    if not args.keep:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
