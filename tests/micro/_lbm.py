"""A minimal lattice-Boltzmann Stokes solver, used only to cross-check micro.flow.

D3Q19, BGK collision with tau = 1/2 + sqrt(3/16) (for which full-way bounce-back puts
the wall exactly half-way between fluid and solid nodes for Poiseuille flow), a
uniform body force ``G`` along axis 0 (first-order forcing with the half-force velocity
correction), periodic in all directions.  Independent of the MAC finite-volume
formulation: different unknowns (populations), different boundary treatment.
"""

from __future__ import annotations

import numpy as np

_C = np.array(
    [
        [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1],
        [1, 1, 0], [-1, -1, 0], [1, -1, 0], [-1, 1, 0], [1, 0, 1], [-1, 0, -1], [1, 0, -1],
        [-1, 0, 1], [0, 1, 1], [0, -1, -1], [0, 1, -1], [0, -1, 1],
    ]
)  # fmt: skip
_W = np.array([1 / 3] + [1 / 18] * 6 + [1 / 36] * 12)
_OPP = np.array([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17])


def lbm_permeability(
    solid: np.ndarray,
    tau: float = 0.5 + np.sqrt(3 / 16),
    force: float = 1e-6,
    tol: float = 1e-6,
    max_steps: int = 40000,
    check: int = 100,
) -> float:
    """Permeability (lattice units^2) along axis 0 of a periodic box; superficial velocity."""
    fluid = ~solid
    f = np.ones((19, *solid.shape)) * _W[:, None, None, None]
    nu = (tau - 0.5) / 3
    fterm = (_W * 3 * _C[:, 0] * force * (1 - 0.5 / tau))[:, None, None, None]
    cf = _C.astype(float)
    prev = None
    ux = 0.0
    for step in range(max_steps):
        rho = f.sum(0)
        u = np.tensordot(cf.T, f, axes=(1, 0)) / rho
        u[0] += 0.5 * force / rho
        cu = np.tensordot(cf, u, axes=(1, 0))
        usq = (u**2).sum(0)
        feq = _W[:, None, None, None] * rho * (1 + 3 * cu + 4.5 * cu**2 - 1.5 * usq)
        post = f - (f - feq) / tau + fterm
        post[:, solid] = f[_OPP][:, solid]  # full-way bounce-back
        for i in range(19):
            f[i] = np.roll(post[i], shift=tuple(_C[i]), axis=(0, 1, 2))
        if step % check == 0:
            ux = float(np.where(fluid, u[0], 0.0).mean())
            if prev is not None and abs(ux - prev) < tol * abs(ux):
                break
            prev = ux
    return nu * ux / force
