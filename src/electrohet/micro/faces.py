"""Voxel face pairs of a 3D array: the one loop behind every face count and conductance."""

from __future__ import annotations

from collections.abc import Iterator

Slices = tuple[slice, slice, slice]


def face_slices() -> Iterator[tuple[int, Slices, Slices]]:
    """Yield ``(axis, lo, hi)`` for the three axes of a (z, y, x) array.

    ``a[lo]`` and ``a[hi]`` are the voxels on the low and high side of every face normal
    to ``axis`` (``lo`` drops the last layer along it, ``hi`` the first), so
    ``a[lo] & b[hi]`` marks the faces from an ``a`` voxel to a ``b`` voxel above it.
    """
    for d in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[d] = slice(0, -1)
        hi[d] = slice(1, None)
        yield d, (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])
