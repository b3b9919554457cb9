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
    # material values; in a batch (a coloured Jacobian) most states share a slot's
    # surface or a cell's c_e with the first state or the one before: reuse those
    # values (the same function of the same number, so the result is unchanged)
    c_surf = np.empty((S, B))
    U = np.empty((S, B))
    for s in range(S):
        base = o_cs + s * nr
        fid = slot_fid[s]
        th_0 = -1.0
        th_prev = -1.0
        for b in range(B):
            c = 1.5 * Y[base + nr - 1, b] - 0.5 * Y[base + nr - 2, b]
            c_surf[s, b] = c
            th = min(max(c / cmax[s], 0.0), 1.0)
            if b > 0 and th == th_prev:
                U[s, b] = U[s, b - 1]
            elif b > 0 and th == th_0:
                U[s, b] = U[s, 0]
            else:
                U[s, b] = evaluate(fid, th)
            if b == 0:
                th_0 = th
            th_prev = th
    kappa = np.empty((N, B))
    D_e = np.empty((N, B))
    for i in range(N):
        ce_0 = 0.0
        ce_prev = 0.0
        for b in range(B):
            ce = Y[o_ce + i, b]
            if b > 0 and ce == ce_prev:
                kappa[i, b] = kappa[i, b - 1]
                D_e[i, b] = D_e[i, b - 1]
            elif b > 0 and ce == ce_0:
                kappa[i, b] = kappa[i, 0]
                D_e[i, b] = D_e[i, 0]
            else:
                kappa[i, b] = evaluate(ids[1], ce)
                D_e[i, b] = evaluate(ids[2], ce)
            if b == 0:
                ce_0 = ce
            ce_prev = ce
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
