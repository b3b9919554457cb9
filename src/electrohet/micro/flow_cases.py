"""Pore geometries with exact permeabilities, for validating :mod:`electrohet.micro.flow`.

The simple-cubic array of equal spheres in Stokes flow has an exact (multipole) drag,
tabulated by Zick & Homsy (1982), J. Fluid Mech. 115, 13-26, Table 2, as ``K = F / (6
pi mu a U)`` with ``a`` the sphere radius and ``U`` the superficial velocity.  Darcy's
law on one cell of edge ``L`` (``G L^3 = F``) turns it into ``k / L^2 = 1 / (6 pi (a /
L) K)``.  Read with :func:`electrohet.micro.flow.periodic_permeability` on
:func:`sphere_array_cell` (centred sphere: mirror-symmetric across the flow, so the
side mirror planes are exact), the voxel solution converges to it at first order
(staircase sphere); ``benchmarks/bench_flow.py --sc-array`` tabulates it.
"""

from __future__ import annotations

import math

import numpy as np

from electrohet.errors import ParameterError

#: Drag coefficient ``K`` of the simple-cubic sphere array by solid fraction (Zick &
#: Homsy 1982, Table 2).
ZICK_HOMSY_SC: dict[float, float] = {
    0.027: 2.008,
    0.064: 2.810,
    0.125: 4.292,
    0.216: 7.442,
    0.343: 15.4,
}


def _radius(solid_fraction: float) -> float:
    if not 0.0 < solid_fraction < math.pi / 6.0:
        raise ParameterError(
            f"solid_fraction = {solid_fraction!r}: spheres in a simple-cubic cell fill "
            f"(0, pi/6 = {math.pi / 6:.4f})"
        )
    return (3.0 * solid_fraction / (4.0 * math.pi)) ** (1.0 / 3.0)


def sphere_array_cell(n: int, solid_fraction: float) -> np.ndarray:
    """Pore mask (True = pore) of one ``n^3`` cell of a simple-cubic sphere array.

    Parameters
    ----------
    n
        Voxels per cell edge [-].
    solid_fraction
        Sphere volume / cell volume [-]; the sphere is centred and sampled at the voxel
        centres, so the voxel fraction differs from it by O(1/n).

    Returns
    -------
    numpy.ndarray
        Boolean (n, n, n) array.
    """
    if int(n) < 2:
        raise ParameterError(f"n = {n!r}: at least 2 voxels per cell edge")
    a = _radius(solid_fraction)
    x = (np.arange(int(n)) + 0.5) / int(n) - 0.5
    z, y, xx = np.meshgrid(x, x, x, indexing="ij")
    return z**2 + y**2 + xx**2 >= a**2


def sphere_array_permeability(solid_fraction: float) -> float:
    """Exact permeability / cell edge^2 of the simple-cubic sphere array [-].

    ``k / L^2 = 1 / (6 pi (a / L) K)``, ``K`` from :data:`ZICK_HOMSY_SC` (only the
    tabulated solid fractions).
    """
    if solid_fraction not in ZICK_HOMSY_SC:
        raise ParameterError(
            f"solid_fraction = {solid_fraction!r}: tabulated values are {sorted(ZICK_HOMSY_SC)}"
        )
    return 1.0 / (6.0 * math.pi * _radius(solid_fraction) * ZICK_HOMSY_SC[solid_fraction])
