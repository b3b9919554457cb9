"""Phase volume fractions, crack fraction and through-thickness profiles.

All functions accept in-memory or Dask-backed :class:`LabelledVolume` s and give
identical numbers (integer voxel counts are summed block by block).
"""

from __future__ import annotations

import numpy as np

from electrohet.micro._blocks import map_blocks_reduce
from electrohet.micro.volume import LabelledVolume


def label_counts(volume: LabelledVolume) -> dict[str, int]:
    """Number of voxels of each mapped phase."""
    lab = volume.labels
    top = max(lab.values()) + 1

    def count(block: np.ndarray, _o: tuple) -> np.ndarray:
        b = block.ravel()
        c = np.bincount(b[b < top], minlength=top) if b.size else np.zeros(top, np.int64)
        return c.astype(np.int64)

    total = np.sum(map_blocks_reduce(volume.data, count), axis=0)
    return {k: int(total[v]) for k, v in lab.items()}


def phase_fractions(volume: LabelledVolume) -> dict[str, float]:
    """Volume fraction of each mapped phase (fractions of all voxels)."""
    n = int(np.prod(volume.shape))
    return {k: c / n for k, c in label_counts(volume).items()}


def crack_fraction(volume: LabelledVolume, counts: dict[str, int] | None = None) -> float:
    """Crack volume per particle volume, crack / (AM + crack); 0 without a crack label."""
    c = label_counts(volume) if counts is None else counts
    am, cr = c.get("am", 0), c.get("crack", 0)
    return cr / (am + cr) if (am + cr) else float("nan")


def profiles(volume: LabelledVolume) -> dict[str, np.ndarray]:
    """Through-thickness profile of each phase.

    Returns
    -------
    dict
        ``depth_m`` (slice centres from the collector, m) and, per phase, the area
        fraction of each slice normal to the thickness axis.
    """
    data = volume.oriented()
    lab = volume.labels
    nz = data.shape[0]
    names = list(lab)
    values = np.array([lab[k] for k in names])

    def per_slice(block: np.ndarray, origin: tuple) -> tuple[int, np.ndarray]:
        out = np.stack([np.count_nonzero(block == v, axis=(1, 2)) for v in values])
        return origin[0], out.astype(np.int64)

    counts = np.zeros((len(names), nz), dtype=np.int64)
    for z0, c in map_blocks_reduce(data, per_slice):
        counts[:, z0 : z0 + c.shape[1]] += c
    area = data.shape[1] * data.shape[2]
    h = volume.voxel_size[volume.thickness_axis]
    out = {"depth_m": (np.arange(nz) + 0.5) * h}
    for i, k in enumerate(names):
        out[k] = counts[i] / area
    return out
