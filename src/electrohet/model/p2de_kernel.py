"""Compiled assembly of the P2D-E residual (the hot loop of every solve).

:meth:`electrohet.model.p2de.P2DEModel.residual` evaluates the material functions
(OCPs, diffusivities, conductivities: plain vectorised Python callables that users may
supply) with NumPy and hands their values to :func:`assemble`, which computes the
kinetics, electrolyte and solid-phase charge balances, particle diffusion and the
external circuit in one compiled pass over all cells, slots and shells.  The equations
are those of :meth:`~electrohet.model.p2de.P2DEModel.residual_reference` (docs/physics.md
§1); the two are tested to agree to round-off.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from electrohet.materials.kinetics import (
    butler_volmer_scalar,
    exchange_current_scalar,
    soft_floor_scalar,
)

F_CONST = 96485.33212  # Faraday constant [C/mol] (= electrohet.materials.base.F)
TINY = 1e-300  # floor of effective transport coefficients [SI]


@numba.njit(cache=True, inline="always")
def _kinetics_into(
    out: np.ndarray,
    row: int,
    b: int,
    ik: float,
    cs_: float,
    cm: float,
    ce: float,
    eta_base: float,
    pref: float,
    aa: float,
    ac: float,
    f_rt: float,
    isolated: bool,
) -> None:
    """Butler-Volmer residual of one slot: ``out[row, b]`` = i_k - i_BV (i_k if isolated);
    ``eta_base`` is the overpotential phi_s - phi_e - U - i_k r [V] (kinetics of
    :mod:`electrohet.materials.kinetics`)."""
    delta = 1e-9 * cm
    c_occ = soft_floor_scalar(cs_, delta)
    c_vac = soft_floor_scalar(cm - cs_, delta)
    ce_slot = soft_floor_scalar(ce, 1e-9)
    i0 = exchange_current_scalar(pref, ce_slot, c_vac, c_occ, aa, ac)
    bv = butler_volmer_scalar(i0, eta_base, aa, ac, f_rt)
    out[row, b] = ik if isolated else ik - bv


@numba.njit(cache=True)
def assemble(
    Y: np.ndarray,
    offsets: np.ndarray,
    c_surf: np.ndarray,
    U: np.ndarray,
    kappa: np.ndarray,
    D_e: np.ndarray,
    D_s: np.ndarray,
    D_s_const: np.ndarray,
    D_s_is_const: bool,
    r_tot: np.ndarray,
    slot_cell: np.ndarray,
    slot_elec: np.ndarray,
    slot_area: np.ndarray,
    slot_radius: np.ndarray,
    cmax: np.ndarray,
    kin_pref: np.ndarray,
    alpha_a: np.ndarray,
    alpha_c: np.ndarray,
    isolated: np.ndarray,
    dx: np.ndarray,
    eps_over_tau: np.ndarray,
    dxe: np.ndarray,
    s_face_left: np.ndarray,
    s_face_res: np.ndarray,
    shell_vol: np.ndarray,
    face_area: np.ndarray,
    scalars: np.ndarray,
    flags: np.ndarray,
    li_bc: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (n, B) with f(Y) of ``M dy/dt = f(y)`` for the states ``Y`` (n, B).

    Parameters
    ----------
    offsets
        Start of the blocks c_e, c_s, phi_e, phi_s, i_k, I, Q, E in the state.
    c_surf, U
        Particle surface concentration [mol/m^3] and OCP [V] of every slot, (S, B).
    kappa, D_e
        Electrolyte conductivity [S/m] and diffusivity [m^2/s] per cell, (N, B).
    D_s, D_s_const, D_s_is_const
        Solid diffusivity [m^2/s] at the shell faces, (S, n_r - 1, B), or (when
        ``D_s_is_const``) one constant per slot, (S,).
    r_tot
        Film + contact resistance of every slot [Ohm m^2], (S, B) or (S, 1) (the same
        for every state).
    scalars
        t+, 2RT(1 - t+)(thermodynamic factor)/F [V], F/RT [1/V], r_half of the first
        negative and last positive electrode cell [Ohm m^2], contact resistance
        [Ohm m^2], control value [A/m^2 or V].
    flags
        First negative electrode cell (-1: none), last positive electrode cell, control
        mode (0 current, 1 voltage), Li-metal counter electrode (0/1).
    li_bc
        Li-metal boundary: Li flux N0 [mol/(m^2 s)], boundary concentration c_b
        [mol/m^3] and foil-side electrolyte potential phi_b [V], (3, B).
    """
    n_cells = dx.size
    n_slots = slot_cell.size
    n_elec = dxe.size
    nr = shell_vol.size
    B = Y.shape[1]
    o_ce, o_cs, o_pe, o_ps, o_ik, o_I, o_Q, o_E = (
        offsets[0],
        offsets[1],
        offsets[2],
        offsets[3],
        offsets[4],
        offsets[5],
        offsets[6],
        offsets[7],
    )
    t_plus, chi, f_rt = scalars[0], scalars[1], scalars[2]
    r_half_first, r_half_last, r_contact, ctl_value = (
        scalars[3],
        scalars[4],
        scalars[5],
        scalars[6],
    )
    neg_first, pos_last, ctl_mode, li_metal = flags[0], flags[1], flags[2], flags[3]
    n_faces_s = s_face_left.size
    j = np.empty(n_cells)
    je = np.empty(n_elec)
    N = np.empty(n_cells + 1)
    ie = np.empty(n_cells + 1)
    lnc = np.empty(n_cells)
    i_right = np.empty(n_elec)
    i_left = np.empty(n_elec)
    wide_r = r_tot.shape[1] > 1
    for b in range(B):
        I = Y[o_I, b]
        rb = b if wide_r else 0
        # ---- interfacial reactions
        for i in range(n_cells):
            j[i] = 0.0
        for e in range(n_elec):
            je[e] = 0.0
        rb_prev = b - 1 if wide_r else 0
        for s in range(n_slots):
            cell = slot_cell[s]
            el = slot_elec[s]
            cm = cmax[s]
            ik = Y[o_ik + s, b]
            cs_ = c_surf[s, b]
            if (
                b > 0
                and ik == Y[o_ik + s, b - 1]
                and cs_ == c_surf[s, b - 1]
                and U[s, b] == U[s, b - 1]
                and Y[o_ce + cell, b] == Y[o_ce + cell, b - 1]
                and Y[o_ps + el, b] == Y[o_ps + el, b - 1]
                and Y[o_pe + cell, b] == Y[o_pe + cell, b - 1]
                and r_tot[s, rb] == r_tot[s, rb_prev]
            ):
                # a batch state (coloured Jacobian) with this slot's inputs unchanged:
                # the same kinetics as the state before
                out[o_ik + s, b] = out[o_ik + s, b - 1]
            else:
                _kinetics_into(
                    out,
                    o_ik + s,
                    b,
                    ik,
                    cs_,
                    cm,
                    Y[o_ce + cell, b],
                    Y[o_ps + el, b] - Y[o_pe + cell, b] - U[s, b] - ik * r_tot[s, rb],
                    kin_pref[s],
                    alpha_a[s],
                    alpha_c[s],
                    f_rt,
                    isolated[s],
                )
            a_ik = slot_area[s] * ik
            j[cell] += a_ik
            je[el] += a_ik
        # ---- electrolyte transport (series face means)
        for i in range(n_cells):
            lnc[i] = math.log(max(Y[o_ce + i, b], 1e-9))
        N[0] = 0.0
        ie[0] = 0.0
        N[n_cells] = 0.0
        ie[n_cells] = 0.0
        De_l = max(D_e[0, b] * eps_over_tau[0], TINY)
        ka_l = max(kappa[0, b] * eps_over_tau[0], TINY)
        ka_0 = ka_l
        for i in range(1, n_cells):
            De_r = max(D_e[i, b] * eps_over_tau[i], TINY)
            ka_r = max(kappa[i, b] * eps_over_tau[i], TINY)
            rD = 0.5 * dx[i - 1] / De_l + 0.5 * dx[i] / De_r
            rK = 0.5 * dx[i - 1] / ka_l + 0.5 * dx[i] / ka_r
            N[i] = -(Y[o_ce + i, b] - Y[o_ce + i - 1, b]) / rD
            ie[i] = -((Y[o_pe + i, b] - Y[o_pe + i - 1, b]) - chi * (lnc[i] - lnc[i - 1])) / rK
            De_l, ka_l = De_r, ka_r
        if li_metal:
            N[0] = li_bc[0, b]
            c_b = li_bc[1, b]
            phi_b = li_bc[2, b]
            ie[0] = -((Y[o_pe, b] - phi_b) - chi * (lnc[0] - math.log(c_b))) / (0.5 * dx[0] / ka_0)
        for i in range(n_cells):
            out[o_ce + i, b] = -(N[i + 1] - N[i]) / dx[i] + (1.0 - t_plus) * j[i] / F_CONST
            out[o_pe + i, b] = (ie[i + 1] - ie[i]) - j[i] * dx[i]
        # ---- solid-phase charge
        for e in range(n_elec):
            i_right[e] = 0.0
            i_left[e] = 0.0
        for q in range(n_faces_s):
            e = s_face_left[q]
            cur = -(Y[o_ps + e + 1, b] - Y[o_ps + e, b]) / s_face_res[q]
            i_right[e] = cur
            i_left[e + 1] = cur
        if neg_first >= 0:
            i_left[neg_first] = -Y[o_ps + neg_first, b] / r_half_first
        i_right[pos_last] = I
        for e in range(n_elec):
            out[o_ps + e, b] = i_right[e] - i_left[e] + je[e] * dxe[e]
        # ---- particles: spherical finite volumes, uniform shells
        # (one pass: shell k gains the flux through its outer face and loses the one
        # through its inner face, the previous iteration's)
        for s in range(n_slots):
            R = slot_radius[s]
            base = o_cs + s * nr
            scale_r = nr / (R * R)
            D0 = D_s_const[s] if D_s_is_const else 0.0
            inner = 0.0
            for k in range(nr - 1):
                D = D0 if D_s_is_const else D_s[s, k, b]
                flux = face_area[k] * D * (Y[base + k + 1, b] - Y[base + k, b]) * scale_r
                out[base + k, b] = (flux - inner) / shell_vol[k]
                inner = flux
            surf = Y[o_ik + s, b] / F_CONST / R
            out[base + nr - 1, b] = (-inner - surf) / shell_vol[nr - 1]
        # ---- external circuit, delivered charge [Ah/m^2] and energy [Wh/m^2]
        V = Y[o_ps + pos_last, b] - r_half_last * I - r_contact * I
        out[o_I, b] = I - ctl_value if ctl_mode == 0 else V - ctl_value
        out[o_Q, b] = I / 3600.0
        out[o_E, b] = I * V / 3600.0


@numba.njit(cache=True)
def surface_linear(
    Y: np.ndarray, o_cs: int, nr: int, cmax: np.ndarray, c_surf: np.ndarray, theta: np.ndarray
) -> None:
    """Surface concentration by linear extrapolation from the two outer shells.

    Fills ``c_surf`` [mol/m^3] and ``theta`` = clip(c_surf / c_max, 0, 1) [-], both
    (S, B), for the states ``Y`` (n, B) whose particle block starts at ``o_cs``.
    """
    S = cmax.size
    for s in range(S):
        base = o_cs + s * nr
        for b in range(Y.shape[1]):
            c = 1.5 * Y[base + nr - 1, b] - 0.5 * Y[base + nr - 2, b]
            c_surf[s, b] = c
            th = c / cmax[s]
            theta[s, b] = min(max(th, 0.0), 1.0)
