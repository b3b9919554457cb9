"""Connected components of a phase (e.g. CBD aggregates), in memory or chunked.

In memory the components come from ``cc3d``.  For a chunked (Dask) volume each block is
labelled with ``cc3d`` independently; labels are made global by per-block offsets, and
equivalences are found on the two planes either side of every chunk border (with the
in-plane shifts that 26-connectivity needs, which also covers edge and corner
neighbours); a union-find (SciPy's ``csgraph.connected_components`` on the equivalence
graph) merges them.  Only block face planes, label counts and sizes are kept, so memory
stays bounded by a few blocks plus the face planes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as _graph_components

from electrohet.errors import ParameterError
from electrohet.micro._blocks import block_origins, map_blocks_reduce
from electrohet.micro.volume import LabelledVolume, is_dask


@dataclass
class ComponentStats:
    """Connected-component statistics of one phase.

    Attributes
    ----------
    phase
        Phase name.
    connectivity
        6 (faces) or 26 (faces, edges, corners).
    n_components
        Number of components.
    sizes
        Voxel count of each component, largest first.
    total
        Voxels of the phase.
    largest_share
        Largest component / all voxels of the phase (NaN if the phase is empty).
    collector_share
        Voxels in components touching the current-collector face / all voxels.
    n_collector_components
        Number of components touching the collector face.
    """

    phase: str
    connectivity: int
    n_components: int
    sizes: np.ndarray
    total: int
    largest_share: float
    collector_share: float
    n_collector_components: int

    def as_dict(self) -> dict:
        """JSON-friendly summary (sizes as a list of the 20 largest)."""
        return {
            "phase": self.phase,
            "connectivity": self.connectivity,
            "n_components": self.n_components,
            "total_voxels": self.total,
            "largest_share": self.largest_share,
            "collector_share": self.collector_share,
            "n_collector_components": self.n_collector_components,
            "largest_sizes_voxels": [int(s) for s in self.sizes[:20]],
        }


def _check_conn(connectivity: int) -> int:
    if connectivity not in (6, 26):
        raise ParameterError(f"connectivity = {connectivity!r}; allowed: 6 or 26")
    return connectivity


def _stats(phase, conn, sizes, touching, total) -> ComponentStats:
    sizes = np.asarray(sizes, dtype=np.int64)
    order = np.sort(sizes)[::-1]
    col = int(sizes[touching].sum()) if len(touching) else 0
    return ComponentStats(
        phase=phase,
        connectivity=conn,
        n_components=int(sizes.size),
        sizes=order,
        total=int(total),
        largest_share=float(order[0] / total) if total else float("nan"),
        collector_share=col / total if total else float("nan"),
        n_collector_components=int(len(touching)),
    )


def label_components(mask: np.ndarray, connectivity: int = 26) -> tuple[np.ndarray, int]:
    """Label connected components of a boolean array (in memory, cc3d)."""
    import cc3d

    lab, n = cc3d.connected_components(
        np.ascontiguousarray(mask, dtype=np.uint8),
        connectivity=_check_conn(connectivity),
        return_N=True,
    )
    return lab, int(n)


def component_stats(
    volume: LabelledVolume, phase: str = "cbd", connectivity: int = 26
) -> ComponentStats:
    """Components of ``phase``: sizes, largest-aggregate share, collector-connected share.

    The collector face is index 0 of the thickness axis (or the last index when
    ``collector_at_start`` is False).  Works on NumPy and Dask volumes with equal
    results.
    """
    _check_conn(connectivity)
    value = volume.require(phase)
    data = volume.oriented()
    if not is_dask(data):
        lab, n = label_components(np.asarray(data) == value, connectivity)
        sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
        touching = np.unique(lab[0])
        touching = touching[touching > 0] - 1
        return _stats(phase, connectivity, sizes, touching, int(sizes.sum()))
    return _chunked_stats(data, value, phase, connectivity)


def _block_labels(block: np.ndarray, origin: tuple, value: int, conn: int) -> dict:
    lab, n = label_components(block == value, conn)
    lab = lab.astype(np.uint32, copy=False)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:].astype(np.int64)
    faces = [
        (lab[0].copy(), lab[-1].copy()),
        (lab[:, 0].copy(), lab[:, -1].copy()),
        (lab[:, :, 0].copy(), lab[:, :, -1].copy()),
    ]
    touch = np.unique(lab[0]) if origin[0] == 0 else np.empty(0, np.uint32)
    return {"n": n, "sizes": sizes, "faces": faces, "touch": touch[touch > 0]}


def _pairs(p0: np.ndarray, p1: np.ndarray, conn: int) -> np.ndarray:
    """Equivalent (global) label pairs between two adjacent planes."""
    shifts = [(0, 0)] if conn == 6 else [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
    n0, n1 = p0.shape
    out = []
    for a, b in shifts:
        s0 = (slice(max(0, -a), n0 - max(0, a)), slice(max(0, -b), n1 - max(0, b)))
        s1 = (slice(max(0, a), n0 - max(0, -a)), slice(max(0, b), n1 - max(0, -b)))
        u, v = p0[s0], p1[s1]
        m = (u > 0) & (v > 0)
        if m.any():
            out.append(np.unique(np.stack([u[m], v[m]], axis=1), axis=0))
    return np.concatenate(out) if out else np.empty((0, 2), dtype=np.int64)


def _chunked_stats(data, value: int, phase: str, conn: int) -> ComponentStats:
    results = map_blocks_reduce(data, lambda b, o: _block_labels(b, o, value, conn))
    origins = block_origins(data.chunks)
    counts = np.array([r["n"] for r in results], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n_total = int(counts.sum())
    sizes = np.concatenate([r["sizes"] for r in results]) if n_total else np.empty(0, np.int64)
    touching = (
        np.concatenate(
            [r["touch"].astype(np.int64) + off for r, off in zip(results, offsets, strict=True)]
        )
        if n_total
        else np.empty(0, np.int64)
    )
    nblk = [len(c) for c in data.chunks]
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in data.chunks]
    grid = np.arange(len(results)).reshape(nblk)
    pairs: list[np.ndarray] = []
    for axis in range(3):
        other = [d for d in range(3) if d != axis]
        plane_shape = (data.shape[other[0]], data.shape[other[1]])
        for bi in range(nblk[axis] - 1):
            p0 = np.zeros(plane_shape, np.int64)
            p1 = np.zeros(plane_shape, np.int64)
            for side, plane, b in ((1, p0, bi), (0, p1, bi + 1)):
                idx = [slice(None)] * 3
                idx[axis] = b
                for k in grid[tuple(idx)].ravel():
                    face = results[k]["faces"][axis][side].astype(np.int64)
                    face[face > 0] += offsets[k]
                    o = origins[k]
                    plane[
                        o[other[0]] : o[other[0]] + face.shape[0],
                        o[other[1]] : o[other[1]] + face.shape[1],
                    ] = face
            pairs.append(_pairs(p0, p1, conn))
    del starts
    if n_total == 0:
        return _stats(phase, conn, np.empty(0, np.int64), np.empty(0, np.int64), 0)
    pr = np.concatenate(pairs) - 1 if pairs else np.empty((0, 2), np.int64)
    g = sp.coo_matrix((np.ones(len(pr)), (pr[:, 0], pr[:, 1])), shape=(n_total, n_total))
    _, root = _graph_components(g, directed=False)
    merged = np.bincount(root, weights=sizes).astype(np.int64)
    touch_roots = np.unique(root[touching - 1]) if touching.size else np.empty(0, np.int64)
    return _stats(phase, conn, merged, touch_roots, int(sizes.sum()))
