"""Pore size distribution by local thickness (largest inscribed sphere).

The local thickness radius of a pore voxel is the radius of the largest ball that fits
inside the pore phase and contains the voxel (Hildebrand & Ruegsegger 1997).  It is
computed by sphere insertion over a ladder of radii ``r_k`` (largest first; half-voxel
steps, then 5 % steps): the
centres admitted at ``r_k`` are the voxels whose Euclidean distance to the solid is
``>= r_k`` (``edt``); every pore voxel closer than ``r_k`` to such a centre (a second
distance transform) and not yet assigned gets ``r_k``.  Anisotropic voxels enter the
distance transforms as their edge lengths.

For chunked (Dask) volumes the same is done chunk by chunk with a halo of twice the
largest radius (``max_radius``, which the caller bounds), which is exact: the ball
that covers a voxel has its centre within ``max_radius``, and that centre's distance to
the solid needs a further ``max_radius`` of context.

The distribution is volume-weighted: the pore volume fraction whose local radius is
``<= r`` (cumulative) and per bin, plus the volume-weighted mean and median radius.
"""

from __future__ import annotations

import math

import numpy as np

from electrohet.errors import DataError, ParameterError
from electrohet.micro.volume import LabelledVolume, is_dask


def _radii_ladder(rmax: float, hmin: float, n_radii: int) -> np.ndarray:
    """Radii (m), largest first: every half voxel up to ``n_radii`` half voxels, then
    geometric steps of 5 % up to ``rmax``."""
    lin = np.arange(1, n_radii + 1) * 0.5 * hmin
    r = lin[lin <= rmax]
    if rmax > lin[-1]:
        r = np.concatenate(
            [r, np.geomspace(lin[-1], rmax, max(2, int(np.log(rmax / lin[-1]) / np.log(1.05)) + 1))]
        )
    if r.size == 0 or r.max() < rmax:
        r = np.append(r, rmax)
    return np.unique(r)[::-1]


def _local_thickness_np(
    pore: np.ndarray, h: tuple[float, float, float], radii: np.ndarray
) -> np.ndarray:
    import edt

    pore = np.ascontiguousarray(pore, dtype=np.uint8)
    dt = edt.edt(pore, anisotropy=h, black_border=False, parallel=1)
    lt = np.zeros(pore.shape, dtype=np.float32)
    todo = pore.astype(bool)
    for r in radii:
        centres = dt >= r
        if not centres.any():
            continue
        d = edt.edt(np.ascontiguousarray(~centres, dtype=np.uint8), anisotropy=h, parallel=1)
        cover = todo & (d < r)
        lt[cover] = r
        todo &= ~cover
    # voxels with no admitted centre (thinner than the smallest radius): their own dt
    lt[todo] = dt[todo]
    return lt


def local_thickness(
    volume: LabelledVolume,
    phase: str = "pore",
    *,
    n_radii: int = 40,
    max_radius: float | None = None,
) -> np.ndarray:
    """Local thickness radius (m) of every voxel of ``phase`` (0 elsewhere).

    Parameters
    ----------
    volume
        Labelled volume (NumPy or Dask).
    phase
        Phase name.
    n_radii
        Number of half-voxel steps in the radius ladder (geometric 5 % steps beyond).
    max_radius
        Largest radius considered (m); default the largest distance to the solid
        (required for Dask volumes, where it sets the chunk halo).

    Returns
    -------
    numpy.ndarray or dask.array.Array
        float32 radii in m.
    """
    lab = volume.require(phase)
    h = tuple(float(v) for v in volume.voxel_size)
    hmin = min(h)
    if n_radii < 2:
        raise ParameterError(f"n_radii = {n_radii!r} must be >= 2")
    if is_dask(volume.data):
        if max_radius is None:
            raise ParameterError("max_radius (m) is required for chunked volumes (sets the halo)")
        radii = _radii_ladder(max_radius, hmin, n_radii)
        depth = tuple(int(math.ceil(2 * max_radius / hv)) + 1 for hv in h)
        pore = volume.data == lab
        return pore.map_overlap(
            lambda b: _local_thickness_np(b, h, radii),
            depth=depth,
            boundary="none",
            dtype=np.float32,
            trim=True,
        )
    pore = np.asarray(volume.data) == lab
    if not pore.any():
        raise DataError(f"the volume has no {phase!r} voxels")
    if max_radius is None:
        import edt

        max_radius = float(edt.edt(pore.astype(np.uint8), anisotropy=h).max())
    radii = _radii_ladder(max_radius, hmin, n_radii)
    return _local_thickness_np(pore, h, radii)


def pore_size_distribution(
    volume: LabelledVolume,
    phase: str = "pore",
    *,
    bins: int = 30,
    n_radii: int = 40,
    max_radius: float | None = None,
) -> dict:
    """Volume-weighted pore radius distribution from the local thickness.

    Returns
    -------
    dict
        ``radius_m`` (bin upper edges), ``volume_fraction`` (share of the phase volume
        per bin), ``cumulative`` (share with radius <= edge), ``mean_radius_m``,
        ``median_radius_m`` (volume-weighted) and ``max_radius_m``.
    """
    lt = local_thickness(volume, phase, n_radii=n_radii, max_radius=max_radius)
    if is_dask(lt):
        import dask.array as da

        vals = lt[lt > 0]
        rmax = float(vals.max().compute())
        edges = np.linspace(0.0, rmax, bins + 1)
        hist, _ = da.histogram(vals, bins=edges)
        hist = hist.compute().astype(float)
        mean = float(vals.mean().compute())
        median = float(np.interp(0.5, np.cumsum(hist) / hist.sum(), edges[1:]))
    else:
        vals = lt[lt > 0]
        if vals.size == 0:
            raise DataError(f"the volume has no {phase!r} voxels")
        rmax = float(vals.max())
        edges = np.linspace(0.0, rmax, bins + 1)
        hist, _ = np.histogram(vals, bins=edges)
        hist = hist.astype(float)
        mean = float(vals.mean())
        median = float(np.median(vals))
    frac = hist / hist.sum()
    return {
        "radius_m": edges[1:].tolist(),
        "volume_fraction": frac.tolist(),
        "cumulative": np.cumsum(frac).tolist(),
        "mean_radius_m": mean,
        "median_radius_m": median,
        "max_radius_m": rmax,
    }
