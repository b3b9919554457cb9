"""Numba kernels for the synthetic-electrode generator (hot loops over voxels)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def sphere_fields(origin, shape, centres, radii, reach):
    """Signed distance to the nearest and second-nearest sphere surface, and owner.

    Parameters
    ----------
    origin, shape
        Box origin and size in voxels (int64[3]).
    centres, radii
        Sphere centres (n, 3) and radii (n,) in voxel units (voxel centres at i + 0.5).
    reach
        Distances beyond ``reach`` outside a sphere are not tracked (left at +inf).
    """
    nz, ny, nx = shape[0], shape[1], shape[2]
    d1 = np.full((nz, ny, nx), np.inf, dtype=np.float32)
    d2 = np.full((nz, ny, nx), np.inf, dtype=np.float32)
    owner = np.full((nz, ny, nx), -1, dtype=np.int32)
    for s in range(centres.shape[0]):
        cz = centres[s, 0] - origin[0]
        cy = centres[s, 1] - origin[1]
        cx = centres[s, 2] - origin[2]
        r = radii[s]
        big = r + reach
        k0 = max(0, int(np.floor(cz - big)))
        k1 = min(nz, int(np.ceil(cz + big)) + 1)
        j0 = max(0, int(np.floor(cy - big)))
        j1 = min(ny, int(np.ceil(cy + big)) + 1)
        i0 = max(0, int(np.floor(cx - big)))
        i1 = min(nx, int(np.ceil(cx + big)) + 1)
        for k in range(k0, k1):
            dz = k + 0.5 - cz
            for j in range(j0, j1):
                dy = j + 0.5 - cy
                for i in range(i0, i1):
                    dx = i + 0.5 - cx
                    d = np.sqrt(dz * dz + dy * dy + dx * dx) - r
                    if d > reach:
                        continue
                    if d < d1[k, j, i]:
                        d2[k, j, i] = d1[k, j, i]
                        d1[k, j, i] = d
                        owner[k, j, i] = s
                    elif d < d2[k, j, i]:
                        d2[k, j, i] = d
    return d1, d2, owner


@numba.njit(cache=True, inline="always")
def _hash01(i, j, k, seed):
    h = np.uint64(i) * np.uint64(0x9E3779B97F4A7C15)
    h ^= np.uint64(j) * np.uint64(0xC2B2AE3D27D4EB4F)
    h ^= np.uint64(k) * np.uint64(0x165667B19E3779F9)
    h ^= np.uint64(seed) * np.uint64(0x27D4EB2F165667C5)
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, nogil=True)
def value_noise(origin, shape, spacing, seed):
    """Smooth random field in [0, 1] defined on global voxel coordinates.

    Random values on a lattice of ``spacing`` voxels, interpolated with a smoothstep
    trilinear scheme; any box gives the same values where boxes overlap.
    """
    nz, ny, nx = shape[0], shape[1], shape[2]
    out = np.empty((nz, ny, nx), dtype=np.float32)
    for k in range(nz):
        fz = (origin[0] + k + 0.5) / spacing
        kz = int(np.floor(fz))
        tz = fz - kz
        tz = tz * tz * (3 - 2 * tz)
        for j in range(ny):
            fy = (origin[1] + j + 0.5) / spacing
            ky = int(np.floor(fy))
            ty = fy - ky
            ty = ty * ty * (3 - 2 * ty)
            for i in range(nx):
                fx = (origin[2] + i + 0.5) / spacing
                kx = int(np.floor(fx))
                tx = fx - kx
                tx = tx * tx * (3 - 2 * tx)
                acc = 0.0
                for a in range(2):
                    wz = tz if a else 1 - tz
                    for b in range(2):
                        wy = ty if b else 1 - ty
                        for c in range(2):
                            wx = tx if c else 1 - tx
                            acc += wz * wy * wx * _hash01(kz + a, ky + b, kx + c, seed)
                out[k, j, i] = acc
    return out


@numba.njit(cache=True, nogil=True)
def paint_cracks(out, owner, origin, centres, radii, normals, widths, crack_label):
    """Set ``crack_label`` in planar discs of cracked spheres, inside their own voxels.

    ``owner`` holds, per voxel, the index (into ``centres``) of the sphere that owns it
    (-1 = none).  A voxel becomes crack when its owner has ``widths > 0``, it lies within
    ``0.85 r`` of the centre and within ``widths / 2`` of the plane through the centre
    with normal ``normals``.
    """
    nz, ny, nx = out.shape
    for s in range(centres.shape[0]):
        w = widths[s]
        if w <= 0:
            continue
        cz = centres[s, 0] - origin[0]
        cy = centres[s, 1] - origin[1]
        cx = centres[s, 2] - origin[2]
        r = 0.85 * radii[s]
        k0 = max(0, int(np.floor(cz - r)))
        k1 = min(nz, int(np.ceil(cz + r)) + 1)
        j0 = max(0, int(np.floor(cy - r)))
        j1 = min(ny, int(np.ceil(cy + r)) + 1)
        i0 = max(0, int(np.floor(cx - r)))
        i1 = min(nx, int(np.ceil(cx + r)) + 1)
        for k in range(k0, k1):
            dz = k + 0.5 - cz
            for j in range(j0, j1):
                dy = j + 0.5 - cy
                for i in range(i0, i1):
                    if owner[k, j, i] != s:
                        continue
                    dx = i + 0.5 - cx
                    if dz * dz + dy * dy + dx * dx >= r * r:
                        continue
                    dp = abs(dz * normals[s, 0] + dy * normals[s, 1] + dx * normals[s, 2])
                    if dp < 0.5 * w:
                        out[k, j, i] = crack_label
