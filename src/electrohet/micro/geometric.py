"""Geometric tortuosity: shortest paths through the pore phase.

The geodesic distance from the inlet face is computed by Dijkstra's algorithm on the
voxel graph of the phase (6-, 18- or 26-connectivity; edge length = the distance
between the voxel centres in metres, so anisotropic voxels need no resampling).  The
inlet pore voxels (index 0 along ``axis``) start at distance 0.  For every pore voxel of
the outlet face reached from the inlet::

    tau_g = d_geodesic / ((n_axis - 1) h_axis)

and the result reports the mean, median and spread over the outlet voxels (the
"geometric tortuosity" of Avizo/XLab-style analyses; without the square, unlike the
diffusive tortuosity factor).  Straight channels give exactly 1.  With
26-connectivity a path is a chain of lattice steps (1, sqrt 2, sqrt 3 voxel lengths):
exact along the lattice directions and diagonals, and at most ~8 % too long for other
directions (the metrication error of chamfer distances).

The solve needs the phase in memory (8 B/voxel for the distances); for a chunked
volume the sub-volume is loaded first.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numba as nb
import numpy as np

from electrohet.errors import DataError, ParameterError
from electrohet.micro.transport import NonPercolatingWarning
from electrohet.micro.volume import LabelledVolume


@dataclass
class GeometricTortuosity:
    """Result of :func:`geometric_tortuosity`.

    Attributes
    ----------
    tau_mean, tau_median, tau_std, tau_min
        Statistics of ``d_geodesic / L`` over the reached outlet voxels (``inf`` and
        NaN when no path exists).
    n_outlet
        Reached outlet pore voxels.
    axis, connectivity
        Direction and graph connectivity used.
    distance
        Geodesic distance (m) from the inlet (``inf`` where unreachable), if requested.
    """

    tau_mean: float
    tau_median: float
    tau_std: float
    tau_min: float
    n_outlet: int
    axis: int
    connectivity: int
    distance: np.ndarray | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """JSON-friendly summary (``None`` for inf/NaN, plus a ``percolating`` flag)."""
        out = {}
        for k, v in self.__dict__.items():
            if k == "distance":
                continue
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            out[k] = v
        out["percolating"] = self.n_outlet > 0
        return out


def _offsets(connectivity: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    offs = []
    for a in (-1, 0, 1):
        for b in (-1, 0, 1):
            for c in (-1, 0, 1):
                k = abs(a) + abs(b) + abs(c)
                if k == 0:
                    continue
                if connectivity == 6 and k > 1 or connectivity == 18 and k > 2:
                    continue
                offs.append((a, b, c))
    o = np.array(offs, dtype=np.int64)
    w = np.sqrt(((o * h) ** 2).sum(axis=1))
    return o, w


@nb.njit(cache=True)
def _dijkstra(pore, offs, w, dist):
    """Multi-source Dijkstra from the pore voxels of plane 0 (binary heap, lazy deletion)."""
    n0, n1, n2 = pore.shape
    cap = max(1024, 4 * n1 * n2)
    hk = np.empty(cap, np.float64)
    hv = np.empty(cap, np.int64)
    size = 0
    for j in range(n1):
        for k in range(n2):
            if pore[0, j, k]:
                dist[0, j, k] = 0.0
                hk[size] = 0.0
                hv[size] = j * n2 + k
                size += 1
    while size > 0:
        d = hk[0]
        idx = hv[0]
        # pop
        size -= 1
        hk[0] = hk[size]
        hv[0] = hv[size]
        pos = 0
        while True:
            left = 2 * pos + 1
            if left >= size:
                break
            m = left
            if left + 1 < size and hk[left + 1] < hk[left]:
                m = left + 1
            if hk[m] < hk[pos]:
                hk[m], hk[pos] = hk[pos], hk[m]
                hv[m], hv[pos] = hv[pos], hv[m]
                pos = m
            else:
                break
        i = idx // (n1 * n2)
        j = (idx // n2) % n1
        k = idx % n2
        if d > dist[i, j, k]:
            continue
        for t in range(offs.shape[0]):
            a = i + offs[t, 0]
            b = j + offs[t, 1]
            c = k + offs[t, 2]
            if a < 0 or a >= n0 or b < 0 or b >= n1 or c < 0 or c >= n2:
                continue
            if not pore[a, b, c]:
                continue
            nd = d + w[t]
            if nd < dist[a, b, c]:
                dist[a, b, c] = nd
                if size == cap:
                    hk2 = np.empty(2 * cap, np.float64)
                    hv2 = np.empty(2 * cap, np.int64)
                    hk2[:size] = hk[:size]
                    hv2[:size] = hv[:size]
                    hk = hk2
                    hv = hv2
                    cap *= 2
                pos = size
                hk[pos] = nd
                hv[pos] = (a * n1 + b) * n2 + c
                size += 1
                while pos > 0:
                    par = (pos - 1) // 2
                    if hk[par] > hk[pos]:
                        hk[par], hk[pos] = hk[pos], hk[par]
                        hv[par], hv[pos] = hv[pos], hv[par]
                        pos = par
                    else:
                        break


def geometric_tortuosity(
    volume: LabelledVolume | np.ndarray,
    axis: int | None = None,
    *,
    phase: str | int = "pore",
    spacing: tuple[float, float, float] | None = None,
    connectivity: int = 26,
    return_distance: bool = False,
    warn: bool = True,
) -> GeometricTortuosity:
    """Geometric tortuosity of a phase along an axis (shortest paths).

    Parameters
    ----------
    volume
        :class:`LabelledVolume` (``phase`` by name) or an array (boolean, or integer
        with ``phase`` an integer label).
    axis
        Direction (default: the thickness axis, or 0).
    phase
        Phase whose paths are measured.
    spacing
        Voxel edges (z, y, x) in m (default: the volume's voxel size, or 1).
    connectivity
        6, 18 or 26.
    return_distance
        Keep the geodesic distance field (m).
    warn
        Warn when no path connects the faces.
    """
    if isinstance(volume, LabelledVolume):
        vol = volume.compute()
        lab = vol.require(phase) if isinstance(phase, str) else int(phase)
        pore = np.asarray(vol.data) == lab
        h = np.asarray(vol.voxel_size if spacing is None else spacing, dtype=float)
        if axis is None:
            axis = vol.thickness_axis
    else:
        data = np.asarray(volume)
        if data.dtype == bool:
            pore = data
        elif isinstance(phase, str):
            raise ParameterError("with a plain integer array, phase must be an integer label")
        else:
            pore = data == int(phase)
        h = np.asarray((1.0, 1.0, 1.0) if spacing is None else spacing, dtype=float)
        axis = 0 if axis is None else axis
    if pore.ndim != 3:
        raise DataError(f"volume has {pore.ndim} dimensions; a 3D volume is needed")
    if axis not in (0, 1, 2):
        raise ParameterError(f"axis = {axis!r}; allowed: 0, 1, 2")
    if connectivity not in (6, 18, 26):
        raise ParameterError(f"connectivity = {connectivity!r}; allowed: 6, 18, 26")
    if h.shape != (3,) or np.any(h <= 0) or np.any(~np.isfinite(h)):
        raise ParameterError(f"spacing = {spacing!r} must be three positive lengths")
    if pore.shape[axis] < 2:
        raise DataError(f"the volume has {pore.shape[axis]} voxel(s) along axis {axis}; need >= 2")
    if not pore.any():
        raise DataError(f"the volume has no voxels of phase {phase!r}")
    p = np.ascontiguousarray(np.moveaxis(pore, axis, 0))
    hp = np.array([h[axis]] + [h[i] for i in range(3) if i != axis])
    offs, w = _offsets(connectivity, hp)
    dist = np.full(p.shape, np.inf)
    _dijkstra(p, offs, w, dist)
    out_d = dist[-1][p[-1]]
    out_d = out_d[np.isfinite(out_d)]
    length = (p.shape[0] - 1) * hp[0]
    if out_d.size == 0:
        if warn:
            warnings.warn(
                f"phase {phase!r} has no path along axis {axis}: geometric tortuosity = inf",
                NonPercolatingWarning,
                stacklevel=2,
            )
        res = GeometricTortuosity(math.inf, math.inf, math.nan, math.inf, 0, axis, connectivity)
    else:
        t = out_d / length
        res = GeometricTortuosity(
            float(t.mean()),
            float(np.median(t)),
            float(t.std()),
            float(t.min()),
            int(t.size),
            int(axis),
            connectivity,
        )
    if return_distance:
        res.distance = np.moveaxis(dist, 0, axis)
    return res
