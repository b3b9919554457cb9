"""Time and memory estimates for long microstructure jobs, and the memory available.

The per-voxel costs are measured on this project's benchmarks (2-core shared machine,
so times are pessimistic upper-middle values, not promises): they let the CLI print an
estimate before a long run and refuse a job that cannot fit in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: (bytes per voxel, seconds per voxel) of each step; flow per pore voxel.
COSTS: dict[str, tuple[float, float]] = {
    "generate": (50.0, 2.5e-6),  # synthetic_electrode in memory (160^3: 50 B/voxel)
    "generate_zarr_chunk": (50.0, 2.5e-6),  # same per chunk voxel (with halo)
    "metrics": (10.0, 0.3e-6),  # fractions, profiles, CBD components, contact area
    "particles": (40.0, 2.0e-6),  # edt + watershed segmentation
    "tortuosity": (12.0, 2.0e-6),  # lean solver (bench_tortuosity: ~12 B/voxel)
    "geometric": (9.0, 1.5e-6),  # Dijkstra: float64 distances + mask
    "pore_size": (14.0, 3.0e-6),  # edt ladder (~40 distance transforms)
    "flow": (7000.0, 2.0e-4),  # per pore voxel: MAC Stokes, sparse LU (64^3: 1.8 GB)
}


@dataclass
class Estimate:
    """Estimated peak memory (bytes) and wall time (s) of a job."""

    bytes: float
    seconds: float

    def describe(self) -> str:
        """Human-readable ``~12.3 GB, ~4 min``."""
        s = self.seconds
        t = f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"
        return f"~{self.bytes / 1e9:.2f} GB peak memory, ~{t}"


def available_memory() -> int:
    """Memory available to a new job (bytes): ``MemAvailable`` on Linux, else total RAM."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 1 << 62


def estimate(steps: dict[str, float]) -> Estimate:
    """Estimate a job made of ``{step: number of voxels}``.

    Memory is the largest step's (they run one after the other) plus the volume itself
    (1 B/voxel, the largest count); time is the sum.
    """
    unknown = set(steps) - set(COSTS)
    if unknown:
        raise KeyError(f"unknown steps {sorted(unknown)}")
    mem = max((COSTS[k][0] * n for k, n in steps.items()), default=0.0)
    mem += max(steps.values(), default=0.0)
    sec = sum(COSTS[k][1] * n for k, n in steps.items())
    return Estimate(mem, sec)
