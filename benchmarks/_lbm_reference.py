"""An independent lattice-Boltzmann reference for ``micro.flow`` (benchmark only).

D3Q19 lattice, BGK collision with the Stokes (linear) equilibrium
``f_eq = w_i rho (1 + 3 c_i . u)``, halfway bounce-back on solid nodes (pull streaming:
a population that would come from a solid node is the one that left the node towards
it, reversed), a uniform body force ``g`` along axis 0 added in the collision as
``(1 - 1/(2 tau)) 3 w_i c_i . g`` with the half-force velocity ``u = (sum f c + g/2) /
rho`` (Guo, Zheng & Shi 2002, Phys. Rev. E 65, 046308, without the ``u``-terms that
vanish in Stokes flow), periodic in all directions.  ``tau = 1/2 + sqrt(3/16)`` puts the
wall of a plane channel exactly half-way between the fluid and the solid node (Ginzburg
& d'Humieres 2003, Phys. Rev. E 68, 066614).  Permeability ``k = nu U / g``, ``U`` the
superficial velocity, ``nu = (tau - 1/2) / 3``.

The geometry (:func:`sphere_pack`) is defined in continuous space, so sampling it at
increasing resolution is a true refinement.  :func:`compare_resolutions` runs
``stokes_flow`` on the volume (reservoirs, slip sides) and the LBM on the volume
mirrored along the three axes (a periodic box whose mirror planes carry the same
conditions by Stokes reversibility: uniform pressure and no tangential flux on the
inlet/outlet mid-planes, symmetry on the sides; the pack is built symmetric across the
flow, so only the flow axis needs mirroring).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_C = np.array(
    [
        [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1],
        [1, 1, 0], [-1, -1, 0], [1, -1, 0], [-1, 1, 0], [1, 0, 1], [-1, 0, -1], [1, 0, -1],
        [-1, 0, 1], [0, 1, 1], [0, -1, -1], [0, 1, -1], [0, -1, 1],
    ],
    dtype=np.int64,
)  # fmt: skip
_W = np.array([1 / 3] + [1 / 18] * 6 + [1 / 36] * 12)
_OPP = np.array([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17])


@nb.njit(cache=True, parallel=True)
def _step(f, fn, solid, tau, g, c, w, opp):
    """One pull-stream + collide step (``f``, ``fn``: post-collision populations);
    returns the sum of the x-velocity over the fluid nodes."""
    n0, n1, n2 = solid.shape
    total = 0.0
    for x in nb.prange(n0):
        fin = np.empty(19)
        for y in range(n1):
            for z in range(n2):
                if solid[x, y, z]:
                    continue
                rho = 0.0
                mx = 0.0
                my = 0.0
                mz = 0.0
                for i in range(19):
                    sx = (x - c[i, 0]) % n0
                    sy = (y - c[i, 1]) % n1
                    sz = (z - c[i, 2]) % n2
                    if solid[sx, sy, sz]:
                        v = f[opp[i], x, y, z]
                    else:
                        v = f[i, sx, sy, sz]
                    fin[i] = v
                    rho += v
                    mx += v * c[i, 0]
                    my += v * c[i, 1]
                    mz += v * c[i, 2]
                ux = (mx + 0.5 * g) / rho
                uy = my / rho
                uz = mz / rho
                total += ux
                for i in range(19):
                    cu = c[i, 0] * ux + c[i, 1] * uy + c[i, 2] * uz
                    feq = w[i] * rho * (1.0 + 3.0 * cu)
                    fn[i, x, y, z] = (
                        fin[i] - (fin[i] - feq) / tau + (1.0 - 0.5 / tau) * 3.0 * w[i] * c[i, 0] * g
                    )
    return total


def lbm_permeability(
    solid: np.ndarray,
    tau: float = 0.5 + math.sqrt(3 / 16),
    g: float = 1e-6,
    tol: float = 1e-7,
    check: int = 100,
    max_steps: int = 200_000,
) -> tuple[float, int]:
    """Permeability (lattice units squared) along axis 0 of a periodic box and the
    number of steps; stops when ``U`` changes by less than ``tol`` (relative) over
    ``check`` steps."""
    solid = np.ascontiguousarray(solid, dtype=np.bool_)
    f = np.empty((19, *solid.shape))
    f[:] = _W[:, None, None, None]
    fn = f.copy()
    nu = (tau - 0.5) / 3.0
    prev = None
    u = 0.0
    for step in range(1, max_steps + 1):
        u = _step(f, fn, solid, tau, g, _C, _W, _OPP) / solid.size
        f, fn = fn, f
        if step % check == 0:
            if prev is not None and abs(u - prev) <= tol * abs(u):
                return nu * u / g, step
            prev = u
    return nu * u / g, max_steps


def sphere_pack(n: int, seed: int = 2, count: int = 5, radius: float = 0.17) -> np.ndarray:
    """Pore mask (True = pore) of a unit cube holding overlapping solid spheres of
    radius ``radius``: ``count`` random centres and their mirror images about the
    mid-planes of axes 1 and 2 (so the cube is symmetric across the flow), sampled at
    the centres of ``n^3`` voxels."""
    rng = np.random.default_rng(seed)
    c = rng.random((count, 3))
    centres = np.concatenate(
        [c, c * [1, -1, 1] + [0, 1, 0], c * [1, 1, -1] + [0, 0, 1], c * [1, -1, -1] + [0, 1, 1]]
    )
    x = (np.arange(n) + 0.5) / n
    z, y, xx = np.meshgrid(x, x, x, indexing="ij")
    solid = np.zeros((n, n, n), dtype=bool)
    for cz, cy, cx in centres:
        solid |= (z - cz) ** 2 + (y - cy) ** 2 + (xx - cx) ** 2 < radius**2
    return ~solid


def mirrored(pore: np.ndarray) -> np.ndarray:
    """The volume and its mirror image along the flow axis 0 (a periodic box).  Across
    the flow the volume is itself mirror-symmetric (:func:`sphere_pack`), so its periodic
    continuation has mirror planes on its side faces: the slip sides of the MAC solve."""
    return np.concatenate([pore, pore[::-1]], 0)


def compare_resolutions(factors, base: int = 12) -> list[dict]:
    """``stokes_flow`` and the LBM on :func:`sphere_pack` sampled with ``base * f``
    voxels per edge; permeabilities in units of the cube edge squared."""
    from electrohet.micro.flow import stokes_flow

    rows = []
    for fac in factors:
        n = base * fac
        pore = sphere_pack(n)
        r = stokes_flow(pore, axis=0)
        k_lbm, steps = lbm_permeability(~mirrored(pore))
        rows.append(
            {
                "factor": fac,
                "n": n,
                "porosity": float(pore.mean()),
                "k_mac": r.permeability / n**2,
                "k_lbm": k_lbm / n**2,
                "steps": steps,
                "method": r.method,
            }
        )
    return rows


def compare_sc_array(sizes, fractions=(0.125, 0.216)) -> list[dict]:
    """``stokes_flow`` (periodic, :func:`~electrohet.micro.flow.periodic_permeability`)
    and the LBM on the simple-cubic sphere array at ``n^3`` voxels per cell, both against
    the Zick & Homsy permeability; ``k`` in units of the cell edge squared."""
    from electrohet.micro.flow import periodic_permeability
    from electrohet.micro.flow_cases import sphere_array_cell, sphere_array_permeability

    rows = []
    for c in fractions:
        exact = sphere_array_permeability(c)
        for n in sizes:
            pore = sphere_array_cell(n, c)
            solid = ~pore
            k_mac, r = periodic_permeability(pore)
            k_lbm, steps = lbm_permeability(solid, tol=1e-9)
            rows.append(
                {
                    "solid_fraction": c,
                    "n": n,
                    "voxel_fraction": float(solid.mean()),
                    "k_exact": exact,
                    "k_mac": k_mac / n**2,
                    "k_lbm": k_lbm / n**2,
                    "steps": steps,
                    "method": r.method,
                    "mass_balance": r.mass_balance,
                }
            )
    return rows
