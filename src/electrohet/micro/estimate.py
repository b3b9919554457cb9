"""Time and memory estimates for long microstructure jobs, and the memory available.

The per-voxel costs are measured on this project's benchmarks (2-core shared machine,
so times are pessimistic upper-middle values, not promises): they let the CLI print an
estimate before a long run and refuse a job that cannot fit in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: (bytes per voxel, seconds per voxel) of each step, on top of :data:`BASE_BYTES`.
#: ``tortuosity`` re-measured for issue 28 (lean solver, Gaussian blobs of porosity
#: 0.35, own process, peak RSS = VmHWM): 128^3 0.27 GB / 10.7 s CPU, 192^3 0.33 GB /
#: 25.5 s; with the PoreSpy rows of docs/micro.md (200^3 0.32 GB / 17 s, 400^3 0.86 GB
#: / 148 s, 600^3 2.29 GB / 578 s) the fit is 0.26 GB + 9.4 B/voxel (within 5 % of
#: all five) and 3 s + 2.5e-6 s/voxel of CPU time.  Flow has its own model
#: (:func:`flow_cost`).  The other steps are the earlier per-voxel figures.
COSTS: dict[str, tuple[float, float]] = {
    "generate": (50.0, 2.5e-6),  # synthetic_electrode in memory (160^3: 50 B/voxel)
    "generate_zarr_chunk": (50.0, 2.5e-6),  # same per chunk voxel (with halo)
    "metrics": (10.0, 0.3e-6),  # fractions, profiles, CBD components, contact area
    "particles": (40.0, 2.0e-6),  # edt + watershed segmentation
    "tortuosity": (9.4, 2.5e-6),  # lean solver above SPARSE_TORTUOSITY_MAX_VOXELS (above)
    "geometric": (9.0, 1.5e-6),  # Dijkstra: float64 distances + mask
    "pore_size": (14.0, 3.0e-6),  # edt ladder (~40 distance transforms)
}

#: Resident memory of a process with the micro stack imported (NumPy, SciPy, numba,
#: pyamg) before the data [bytes], and a fixed start-up time [s] (imports, loading the
#: cached numba kernels).
BASE_BYTES = 0.26e9
BASE_SECONDS = 3.0

#: Stokes flow (``stokes_flow``): unknowns per pore voxel (3 staggered velocities on
#: the pore faces + 1 pressure; measured 3.54-3.55 at 48^3-96^3, porosity 0.35) and the
#: solver switch (``direct_below``).
FLOW_UNKNOWNS_PER_PORE_VOXEL = 3.55
FLOW_DIRECT_BELOW = 80_000
#: Sparse LU, measured for issue 28 (Gaussian blobs, porosity 0.35, a fresh process
#: each; growth of VmHWM over the RSS after the imports, CPU time; shared 2-core
#: machine):
#:
#: ======  ===========  ======  ==========  ========
#: size    pore voxels  solver  memory      CPU
#: ======  ===========  ======  ==========  ========
#: 32^3    11,469       LU      0.151 GB
#: 40^3    22,400       LU      0.355 GB
#: 48^3    38,707       LU      0.934 GB    8.8 s
#: 64^3    91,751       LU      2.29 GB     36.9 s
#: ======  ===========  ======  ==========  ========
#:
#: The LU's fill-in grows like ``n^(4/3)`` (nested dissection in 3D): ``600 B x
#: n^(4/3)`` is within 20 % of all four rows (SuperLU grows its workspace in steps);
#: time ``a n^1.66`` (the two timed rows).  Since the lean solver it is only used below
#: ``FLOW_DIRECT_BELOW`` unknowns (about 22,500 pore voxels).
FLOW_DIRECT_BYTES = (600.0, 4.0 / 3.0)  # (bytes, exponent): 600 B x n^(4/3)
FLOW_DIRECT_SECONDS = (36.9, 91_751, 1.66)  # (seconds, at pore voxels, exponent)
#: Lean matrix-free MINRES (``method="minres-mg"``, Darcy part by the lean smoothed
#: aggregation of ``micro.sa_amg``), measured with ``benchmarks/bench_flow.py`` (same
#: images and protocol; its table is in docs/micro.md; one numba thread):
#:
#: ======  ===========  ==========  ==========  ========
#: size    pore voxels  iterations  net peak    CPU
#: ======  ===========  ==========  ==========  ========
#: 48^3    38,707       78          15.3 MB     1.8 s
#: 64^3    91,751       83          33.0 MB     4.7 s
#: 96^3    309,659      85          122.0 MB    16.6 s
#: 128^3   734,004      106         256.6 MB    44.0 s
#: 160^3   1,433,605    92          500.4 MB    76.2 s
#: 192^3   2,477,264    95          866.9 MB    146.5 s
#: ======  ===========  ==========  ==========  ========
#:
#: Net peak memory 2 MB + 345 B per pore voxel (within 11 % of all six rows, 96^3 the
#: farthest: glibc keeps freed set-up arrays of a few MB as heap holes, which moves
#: single sizes by ~10 B per image voxel; 122 B per image voxel at porosity 0.35 from
#: 128^3 on), CPU time 5.3e-5 s per pore voxel (within 14 %).
FLOW_MG_BYTES = (2.0e6, 345.0)  # (bytes, bytes per pore voxel)
FLOW_MG_SECONDS = (0.0, 5.3e-5)  # (seconds, seconds per pore voxel)


#: ``micro analyze`` solves the diffusive tortuosity with the sparse CG-AMG solver
#: (:func:`~electrohet.micro.transport.tortuosity`: no compiled kernels, so no
#: first-run compilation, and 2-3 x faster than the lean solver up to 200^3) up to this
#: many voxels, and with the lean matrix-free solver above (or whenever the sparse
#: solver's memory would not fit), issue 28.  At 200^3 the sparse solver needs ~1.7 GB.
SPARSE_TORTUOSITY_MAX_VOXELS = 8_000_000
#: Sparse solver (``benchmarks/bench_tortuosity.py``, PoreSpy blobs of porosity 0.35,
#: own process, VmHWM less the imports): ~186 B/voxel at 64^3-200^3; CPU time
#: ``a n^p``: 0.2 s (64^3), 0.8 s (96^3), 2.2 s (128^3), 10.8 s (200^3) fit
#: 2.2 s x (n / 128^3)^1.2 within 20 %.
SPARSE_TORTUOSITY_BYTES = 186.0
SPARSE_TORTUOSITY_SECONDS = (2.2, 128**3, 1.2)


def tortuosity_cost(n_voxels: float, available: float | None = None) -> tuple[float, float]:
    """Peak memory above :data:`BASE_BYTES` [bytes] and CPU time [s] of the diffusive
    tortuosity of ``micro analyze`` on ``n_voxels`` voxels, for the solver it picks
    (:func:`tortuosity_solver`)."""
    if tortuosity_solver(n_voxels, available) == "sparse":
        t, n0, p = SPARSE_TORTUOSITY_SECONDS
        return SPARSE_TORTUOSITY_BYTES * n_voxels, t * (n_voxels / n0) ** p
    b, s = COSTS["tortuosity"]
    return b * n_voxels, s * n_voxels


def tortuosity_solver(n_voxels: float, available: float | None = None) -> str:
    """``"sparse"`` up to :data:`SPARSE_TORTUOSITY_MAX_VOXELS` voxels when its memory
    (:data:`SPARSE_TORTUOSITY_BYTES` per voxel) is below half of ``available`` (default
    :func:`available_memory`), else ``"lean"``."""
    if n_voxels > SPARSE_TORTUOSITY_MAX_VOXELS:
        return "lean"
    avail = available_memory() if available is None else available
    return "sparse" if SPARSE_TORTUOSITY_BYTES * n_voxels < 0.5 * avail else "lean"


def flow_cost(n_pore: float) -> tuple[float, float]:
    """Peak memory above :data:`BASE_BYTES` [bytes] and CPU time [s] of ``stokes_flow``
    on ``n_pore`` pore voxels (the solver it will pick, by the same switch)."""
    if n_pore * FLOW_UNKNOWNS_PER_PORE_VOXEL < FLOW_DIRECT_BELOW:
        t, n0, p = FLOW_DIRECT_SECONDS
        c, q = FLOW_DIRECT_BYTES
        return c * n_pore**q, t * (n_pore / n0) ** p
    a, b = FLOW_MG_SECONDS
    m0, m1 = FLOW_MG_BYTES
    return m0 + m1 * n_pore, a + b * n_pore


@dataclass
class Estimate:
    """Estimated peak memory (bytes) and wall time (s) of a job."""

    bytes: float
    seconds: float

    def describe(self) -> str:
        """Human-readable ``~12.3 GB, ~4 min``."""
        s = self.seconds
        if not s == s:  # NaN: no time estimate
            return f"~{self.bytes / 1e9:.2f} GB peak memory"
        t = f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"
        return f"~{self.bytes / 1e9:.2f} GB peak memory, ~{t}"


def available_memory() -> int:
    """Memory available to a new job [bytes]: psutil's ``available`` when psutil is
    installed, else ``MemAvailable`` of ``/proc/meminfo`` (Linux), else total RAM."""
    try:
        import psutil  # type: ignore[import-not-found]

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - not installed or not supported here
        pass
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
    """Estimate a job made of ``{step: number of voxels}`` (``"flow"``: pore voxels).

    Memory is :data:`BASE_BYTES` plus the largest step's (they run one after the other)
    plus the volume itself (1 B/voxel, the largest count); time is
    :data:`BASE_SECONDS` plus the sum (CPU seconds: the wall time on an idle core,
    longer on a shared machine).
    """
    unknown = set(steps) - set(COSTS) - {"flow"}
    if unknown:
        raise KeyError(f"unknown steps {sorted(unknown)}")
    if not steps:
        return Estimate(0.0, 0.0)
    special = {"flow": flow_cost, "tortuosity": tortuosity_cost}
    costs = [
        special[k](n) if k in special else (COSTS[k][0] * n, COSTS[k][1] * n)
        for k, n in steps.items()
    ]
    mem = BASE_BYTES + max(c[0] for c in costs) + max(steps.values())
    sec = BASE_SECONDS + sum(c[1] for c in costs)
    return Estimate(mem, sec)


#: voxel-resolved simulation (electrohet voxel simulate), refitted for issue 28 part 2
#: (benchmarks/bench_voxel.py, C/2 discharge to 3.0 V, synthetic NMC532 of n^3 voxels
#: of 0.5 um, ~2.1 unknowns per voxel), last after the strength-threshold change of the
#: preconditioner (2026-12-07).  Memory: peak RSS 0.43 / 1.10 / 6.71 GB at 32^3 / 64^3
#: / 128^3 (whole runs); the fit 0.3 GB + 3,300 B/voxel is within 8 % of all three.
#: Time: CPU seconds per current step (one thread) 25 / 199 / 2,440 s at 32^3 / 64^3 /
#: 128^3 (GMRES iterations per Newton iteration 7.7 / 9.1 / 10.8, so the work grows a
#: little faster than the voxels); least-squares power law in log-log 230 s (N /
#: 64^3)^1.10, within 16 % of the three (docs/voxel.md "Limits").
VOXEL_BYTES_PER_VOXEL = 3300.0
VOXEL_BASE_BYTES = 0.3e9
VOXEL_SECONDS_REF = 230.0
VOXEL_REF_VOXELS = 64.0**3
VOXEL_TIME_EXPONENT = 1.10


def voxel_estimate(n_voxels: float, n_steps: int) -> Estimate:
    """Peak memory and time of a voxel simulation.

    Parameters
    ----------
    n_voxels
        Voxels of the volume [-].
    n_steps
        Experiment steps (rests counted like C/2 current steps: an upper bound) [-].

    Returns
    -------
    Estimate
        Peak memory [bytes] ``VOXEL_BASE_BYTES + VOXEL_BYTES_PER_VOXEL n_voxels`` and
        time [s] ``VOXEL_SECONDS_REF (n_voxels / VOXEL_REF_VOXELS)^VOXEL_TIME_EXPONENT``
        per step (CPU time of the single-threaded solver: the wall time on an idle
        core, longer on a shared machine).
    """
    per_step = VOXEL_SECONDS_REF * (max(n_voxels, 0.0) / VOXEL_REF_VOXELS) ** VOXEL_TIME_EXPONENT
    return Estimate(
        VOXEL_BASE_BYTES + VOXEL_BYTES_PER_VOXEL * n_voxels,
        per_step * max(1, n_steps),
    )


_UNITS = {"": 1.0, "b": 1.0, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9}
_UNITS.update({"t": 1e12, "tb": 1e12, "kib": 1024.0, "mib": 1024.0**2, "gib": 1024.0**3})


def parse_memory(text: str | float | None, key: str = "--max-memory") -> float | None:
    """A memory size in bytes from ``"8GB"``, ``"512 MB"``, ``"2GiB"`` or a plain number
    of bytes; ``None`` stays ``None``.

    Raises
    ------
    ParameterError
        Not a positive size with one of the units B, kB, MB, GB, TB, KiB, MiB, GiB.
    """
    import re

    from electrohet.errors import ParameterError

    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).lower() if m else ""
    try:
        value = float(m.group(1)) * _UNITS[unit] if m else float("nan")
    except (ValueError, KeyError):
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise ParameterError(
            f"{key} = {text!r} is not a memory size > 0; give e.g. 8GB, 512MB or 2GiB"
        )
    return value


def check_memory(est: Estimate, max_memory: float | None, what: str, hint: str) -> None:
    """Refuse a job whose estimated peak memory exceeds what it may use.

    The limit is ``max_memory`` [bytes] (the ``--max-memory`` option) when given (a
    user who knows better, e.g. of swap or a pessimistic estimate, may set it above
    what is free), else the memory available now (:func:`available_memory`).

    Parameters
    ----------
    est
        The job's estimate.
    max_memory
        User limit [bytes], or ``None``.
    what
        The job, for the message (e.g. ``"micro analyze of 251x301x301 voxels"``).
    hint
        What would make it fit (e.g. ``"crop the volume or drop --flow"``).

    Raises
    ------
    ParameterError
        Naming the estimate, the limit and where it comes from, and ``hint``.
    """
    from electrohet.errors import ParameterError

    if max_memory is not None:
        limit, source = float(max_memory), "are allowed by --max-memory"
    else:
        limit, source = float(available_memory()), "are available on this machine"
    if est.bytes > limit:
        raise ParameterError(
            f"{what} needs an estimated {_size(est.bytes)} of memory "
            f"({est.describe()}) but {_size(limit)} {source}; {hint}, or pass "
            f"--max-memory {_gb_up(est.bytes)}GB to run it anyway"
        )


def _size(nbytes: float) -> str:
    """``nbytes`` as ``"12.34 GB"`` (``"12.3 MB"`` below 0.1 GB)."""
    return f"{nbytes / 1e9:.2f} GB" if nbytes >= 1e8 else f"{nbytes / 1e6:.3g} MB"


def _gb_up(nbytes: float) -> str:
    """``nbytes`` in GB rounded up to 2 significant digits (for a suggested option)."""
    import math

    gb = nbytes / 1e9
    digits = max(0, 1 - int(math.floor(math.log10(gb)))) if gb > 0 else 0
    f = 10**digits
    return f"{math.ceil(gb * f) / f:g}"
