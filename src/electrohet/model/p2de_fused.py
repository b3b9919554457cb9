"""The P2D-E residual in one compiled call, material formulas included.

:func:`residual_fused` evaluates the particle surface concentrations, the OCPs and the
electrolyte conductivity and diffusivity point by point through
:func:`electrohet.model.material_kernels.evaluate` and then runs the same assembly as
the two-stage residual (:func:`electrohet.model.p2de_kernel.assemble`), so the
equations are those of :meth:`~electrohet.model.p2de.P2DEModel.residual_reference`.
Being free of Python callables, it can be called from other compiled code: the
integrator's compiled Newton iteration (:mod:`electrohet.model.newton_kernel`) runs
residual, Newton update and convergence test without returning to Python.

It covers models whose material functions all have an id in
:mod:`~electrohet.model.material_kernels`, with constant solid diffusivities, the
linear surface extrapolation, no SOC-dependent contact paths and no Li-metal counter
electrode (:meth:`P2DEModel.fused_params` decides); other models use the two-stage
residual.

The parameter tuple ``P`` (built by :meth:`P2DEModel.fused_params`) holds, in order:
block offsets; int ids (n_r, conductivity id, diffusivity id); OCP id per slot; solid
diffusivity per slot [m^2/s]; r_tot (S, 1) [Ohm m^2]; slot cell, electrode cell, area
[1/m], radius [m], c_max [mol/m^3], kinetic prefactor, alpha_a, alpha_c, isolated;
dx [m], eps/tau, electrode-cell dx [m], solid face left cell, solid face resistance
[Ohm m^2]; shell volumes and face areas (per unit radius); scalars and flags as for
:func:`~electrohet.model.p2de_kernel.assemble`.
"""

from __future__ import annotations

import numba
import numpy as np

from electrohet.model.material_kernels import evaluate
from electrohet.model.p2de_kernel import assemble


@numba.njit(cache=True)
def residual_fused(Y: np.ndarray, P: tuple, out: np.ndarray) -> None:
    """Fill ``out`` (n, B) with f(Y) of ``M dy/dt = f(y)`` for the states ``Y`` (n, B)."""
    (
        offsets,
        ids,
        slot_fid,
        D_s_const,
        r_tot,
        slot_cell,
        slot_elec,
        slot_area,
        slot_radius,
        cmax,
        kin_pref,
        alpha_a,
        alpha_c,
        isolated,
        dx,
        eps_over_tau,
        dxe,
        s_face_left,
        s_face_res,
        shell_vol,
        face_area,
        scalars,
        flags,
    ) = P
    S = slot_cell.size
    N = dx.size
    B = Y.shape[1]
    nr = ids[0]
    o_ce = offsets[0]
    o_cs = offsets[1]
    c_surf = np.empty((S, B))
    U = np.empty((S, B))
    for s in range(S):
        base = o_cs + s * nr
        fid = slot_fid[s]
        for b in range(B):
            c = 1.5 * Y[base + nr - 1, b] - 0.5 * Y[base + nr - 2, b]
            c_surf[s, b] = c
            th = min(max(c / cmax[s], 0.0), 1.0)
            U[s, b] = evaluate(fid, th)
    kappa = np.empty((N, B))
    D_e = np.empty((N, B))
    for i in range(N):
        for b in range(B):
            ce = Y[o_ce + i, b]
            kappa[i, b] = evaluate(ids[1], ce)
            D_e[i, b] = evaluate(ids[2], ce)
    assemble(
        Y,
        offsets,
        c_surf,
        U,
        kappa,
        D_e,
        np.zeros((1, 1, 1)),
        D_s_const,
        True,
        r_tot,
        slot_cell,
        slot_elec,
        slot_area,
        slot_radius,
        cmax,
        kin_pref,
        alpha_a,
        alpha_c,
        isolated,
        dx,
        eps_over_tau,
        dxe,
        s_face_left,
        s_face_res,
        shell_vol,
        face_area,
        scalars,
        flags,
        np.zeros((3, 1)),
        out,
    )
