"""The compiled P2D-E residual: its parameters, its material values and its assembly.

The equations are those of :meth:`~electrohet.model.p2de.P2DEModel.residual_reference`
(docs/physics.md §1), the readable NumPy reference; the compiled residual is tested to
agree with it to round-off.  It is split in two so that models whose material
functions are arbitrary Python callables and models that are compiled end to end
share one assembly:

- :class:`ResidualParams`: every model and control parameter the compiled residual
  reads, one named field each (built by
  :meth:`~electrohet.model.p2de.P2DEModel.fused_params` and the model's
  ``residual``);
- :class:`MaterialValues`: the state-dependent material values (surface concentrations,
  OCPs, electrolyte conductivity and diffusivity, solid diffusivity at the shell faces,
  interfacial resistance, Li-metal boundary), evaluated either by
  :func:`material_values` (compiled formulas and table interpolants of
  :mod:`~electrohet.model.material_kernels`) or by the model with NumPy (any callable);
- :func:`assemble`: kinetics, electrolyte and solid-phase charge balances, particle
  diffusion and the external circuit in one compiled pass over cells, slots and shells;
- :func:`residual_fused` = :func:`material_values` + :func:`assemble`: the residual
  that other compiled code (the Newton iteration, the BDF step,
  :mod:`~electrohet.model.newton_kernel`, :mod:`~electrohet.model.step_kernel`) calls.

To add a parameter: add a field to :class:`ResidualParams` (with its unit), set it in
``P2DEModel._kernel_params`` and read it in :func:`assemble`; no argument list changes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from electrohet.materials.kinetics import (
    butler_volmer_scalar,
    exchange_current_powers_scalar,
    soft_floor_scalar,
)
from electrohet.model.material_kernels import evaluate_or_interp, interp

F_CONST = 96485.33212  # Faraday constant [C/mol] (= electrohet.materials.base.F)
TINY = 1e-300  # floor of effective transport coefficients [SI]


class ResidualParams(NamedTuple):
    """Parameters of the compiled residual (:func:`assemble`, :func:`residual_fused`).

    N electrolyte cells, Ne electrode cells, Nf solid faces between neighbouring
    electrode cells of one electrode, S slots (location x particle class), n_r shells.
    Integer arrays are int64, float arrays float64, all C-contiguous: numba compiles
    the kernels once for these types.
    """

    offsets: np.ndarray
    """Start of the blocks c_e, c_s, phi_e, phi_s, i_k, I, Q, E in the state, (8,)."""
    # ---- electrolyte, per cell
    dx: np.ndarray
    """Cell widths [m], (N,)."""
    eps_over_tau: np.ndarray
    """Porosity over tortuosity [-] (effective transport factor), (N,)."""
    t_plus: float
    """Cation transference number [-] (with ``variable_electrolyte``: its value at c0,
    the reference of the salt balance's flux form)."""
    chi: float
    """Diffusion-potential factor 2RT(1 - t+)(thermodynamic factor)/F [V]."""
    two_rt: float
    """2RT [J/mol] (the diffusion-potential factor at a face is 2RT(1 - t+)TDF/F)."""
    variable_electrolyte: bool
    """t+ or the thermodynamic factor depends on c_e: per-cell values come in
    :attr:`MaterialValues.t_plus` and :attr:`MaterialValues.tdf` (else ``t_plus``
    and ``chi`` hold)."""
    f_rt: float
    """F/RT [1/V]."""
    li_metal: bool
    """Li-metal counter electrode at x = 0 (its boundary comes in :class:`MaterialValues`)."""
    # ---- solid phase, per electrode cell
    dxe: np.ndarray
    """Widths of the electrode cells [m], (Ne,)."""
    s_face_left: np.ndarray
    """Electrode cell on the left of each solid face, (Nf,)."""
    s_face_res: np.ndarray
    """Solid-phase resistance across each face [Ohm m^2], (Nf,)."""
    neg_first: int
    """First negative electrode cell (-1: none, a half cell)."""
    pos_last: int
    """Last positive electrode cell (at the positive collector)."""
    r_half_first: float
    """Half-cell matrix resistance of ``neg_first`` [Ohm m^2]."""
    r_half_last: float
    """Half-cell matrix resistance of ``pos_last`` [Ohm m^2]."""
    series_resistance: float
    """Coating / collector contact resistance in series [Ohm m^2]."""
    # ---- slots
    slot_cell: np.ndarray
    """Electrolyte cell of each slot, (S,)."""
    slot_elec: np.ndarray
    """Electrode cell of each slot, (S,)."""
    slot_area: np.ndarray
    """Reacting surface per electrode volume a_k [1/m], (S,)."""
    slot_radius: np.ndarray
    """Particle radius [m], (S,)."""
    cmax: np.ndarray
    """Maximum lithium concentration of the particle [mol/m^3], (S,)."""
    kin_pref: np.ndarray
    """Exchange-current prefactor k [A m^-2 (mol m^-3)^-(a_e + a_v + a_o)], (S,)."""
    alpha_a: np.ndarray
    """Anodic transfer coefficient [-], (S,)."""
    alpha_c: np.ndarray
    """Cathodic transfer coefficient [-], (S,)."""
    i0_exp: np.ndarray
    """Exponents (a_e, a_v, a_o) of c_e, c_max - c_s and c_s in the exchange current
    [-], (S, 3)."""
    isolated: np.ndarray
    """Electronically isolated slot (bool; its equation is i_k = 0), (S,)."""
    r_film: np.ndarray
    """Fixed film + contact resistance [Ohm m^2], (S, 1)."""
    # ---- particles
    shell_vol: np.ndarray
    """Shell volumes per R^3 [-], (n_r,)."""
    face_area: np.ndarray
    """Internal shell-face areas per R^2 [-], (n_r - 1,)."""
    solid_diffusivity: np.ndarray
    """Solid diffusivity per slot [m^2/s], (S,), when ``constant_solid_diffusivity``."""
    constant_solid_diffusivity: bool
    """Whether ``solid_diffusivity`` holds (else :attr:`MaterialValues.D_s` does)."""
    # ---- compiled material formulas (:func:`material_values` only)
    ocp_id: np.ndarray
    """Formula id (:func:`~electrohet.model.material_kernels.formula_id`) of each
    slot's OCP, (S,)."""
    conductivity_id: int
    """Formula id of the electrolyte conductivity."""
    diffusivity_id: int
    """Formula id of the electrolyte diffusivity."""
    # ---- compiled interpolants (:func:`material_values` only; a table index >= 0
    # overrides the formula id, see :class:`~electrohet.model.material_kernels.TablePack`)
    ocp_table: np.ndarray
    """Table of each slot's OCP [V of theta], -1: none, (S,)."""
    conductivity_table: int
    """Table of the electrolyte conductivity [S/m of c_e], -1: none."""
    diffusivity_table: int
    """Table of the electrolyte diffusivity [m^2/s of c_e], -1: none."""
    solid_diffusivity_table: np.ndarray
    """Table of each slot's solid diffusivity [m^2/s of theta], (S,), read when not
    ``constant_solid_diffusivity`` (then every slot has one)."""
    table_x: np.ndarray
    """Knots of all tables, concatenated (units of each table's argument)."""
    table_y: np.ndarray
    """Values at the knots, concatenated (units of each table's value)."""
    table_start: np.ndarray
    """Offsets of table t in ``table_x`` / ``table_y``: ``[start[t], start[t + 1])``."""
    # ---- control
    voltage_control: bool
    """Whether the step holds the voltage (else the current)."""
    control_value: float
    """Applied current density [A/m^2, > 0 discharge] or voltage [V]."""


class MaterialValues(NamedTuple):
    """State-dependent material values of B states, the input of :func:`assemble`."""

    c_surf: np.ndarray
    """Particle surface concentration [mol/m^3], (S, B)."""
    ocp: np.ndarray
    """Open-circuit potential at the surface [V], (S, B)."""
    kappa: np.ndarray
    """Electrolyte conductivity [S/m], (N, B)."""
    D_e: np.ndarray
    """Electrolyte diffusivity [m^2/s], (N, B)."""
    D_s: np.ndarray
    """Solid diffusivity at the shell faces [m^2/s], (S, n_r - 1, B) (unused, any
    shape, when :attr:`ResidualParams.constant_solid_diffusivity`)."""
    r_tot: np.ndarray
    """Film + contact resistance of every slot [Ohm m^2], (S, B) or (S, 1) (the same
    for every state)."""
    li_bc: np.ndarray
    """Li-metal boundary: Li flux N0 [mol/(m^2 s)], boundary concentration c_b
    [mol/m^3] and foil-side electrolyte potential phi_b [V], (3, B) (unused, any
    shape, without :attr:`ResidualParams.li_metal`)."""
    t_plus: np.ndarray
    """Cation transference number of every cell [-], (N, B) or (N, 1) (unused, any
    shape, without :attr:`ResidualParams.variable_electrolyte`)."""
    tdf: np.ndarray
    """Thermodynamic factor of every cell [-], (N, B) or (N, 1) (as ``t_plus``)."""


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
    a_e: float,
    a_v: float,
    a_o: float,
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
    i0 = exchange_current_powers_scalar(pref, ce_slot, c_vac, c_occ, a_e, a_v, a_o)
    bv = butler_volmer_scalar(i0, eta_base, aa, ac, f_rt)
    out[row, b] = ik if isolated else ik - bv


@numba.njit(cache=True)
def assemble(Y: np.ndarray, p: ResidualParams, mv: MaterialValues, out: np.ndarray) -> None:
    """Fill ``out`` (n, B) with f(Y) of ``M dy/dt = f(y)`` for the states ``Y`` (n, B).

    Parameters
    ----------
    Y
        States, (n, B).
    p
        The model's parameters and the control (:class:`ResidualParams`).
    mv
        Material values of the states ``Y`` (:class:`MaterialValues`).
    out
        Out: the residual, (n, B).
    """
    if p.constant_solid_diffusivity:
        _assemble(Y, p, mv, out, True)
    else:
        _assemble(Y, p, mv, out, False)


@numba.njit(cache=True)
def _assemble(
    Y: np.ndarray, p: ResidualParams, mv: MaterialValues, out: np.ndarray, D_s_is_const: bool
) -> None:
    """:func:`assemble`, compiled once for each value of ``D_s_is_const`` (=
    ``p.constant_solid_diffusivity``): the particle loop then carries no per-face
    test of it (about 3 % of the residual's time)."""
    numba.literally(D_s_is_const)
    offsets = p.offsets
    dx = p.dx
    eps_over_tau = p.eps_over_tau
    dxe = p.dxe
    s_face_left = p.s_face_left
    s_face_res = p.s_face_res
    slot_cell = p.slot_cell
    slot_elec = p.slot_elec
    slot_area = p.slot_area
    slot_radius = p.slot_radius
    cmax = p.cmax
    kin_pref = p.kin_pref
    alpha_a = p.alpha_a
    alpha_c = p.alpha_c
    i0_exp = p.i0_exp
    isolated = p.isolated
    shell_vol = p.shell_vol
    face_area = p.face_area
    D_s_const = p.solid_diffusivity
    c_surf = mv.c_surf
    U = mv.ocp
    kappa = mv.kappa
    D_e = mv.D_e
    D_s = mv.D_s
    r_tot = mv.r_tot
    li_bc = mv.li_bc
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
    t_plus, chi, f_rt = p.t_plus, p.chi, p.f_rt
    variable, two_rt = p.variable_electrolyte, p.two_rt
    t_cell = mv.t_plus
    g_cell = mv.tdf
    wide_t = t_cell.shape[1] > 1
    r_half_first, r_half_last, r_contact = p.r_half_first, p.r_half_last, p.series_resistance
    ctl_value = p.control_value
    neg_first, pos_last = p.neg_first, p.pos_last
    voltage_control, li_metal = p.voltage_control, p.li_metal
    n_faces_s = s_face_left.size
    j = np.empty(n_cells)
    je = np.empty(n_elec)
    N = np.empty(n_cells + 1)
    ie = np.empty(n_cells + 1)
    lnc = np.empty(n_cells)
    t_face = np.empty(n_cells + 1)  # t+ at the faces (variable_electrolyte)
    chi_face = np.full(n_cells + 1, chi)  # 2RT(1 - t+)TDF/F at the faces [V]
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
                    i0_exp[s, 0],
                    i0_exp[s, 1],
                    i0_exp[s, 2],
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
        if variable:
            # t+ and TDF at a face: the mean of its two cells (at the boundaries, the
            # boundary cell's)
            tb = b if wide_t else 0
            t_face[0] = t_cell[0, tb]
            chi_face[0] = two_rt * (1.0 - t_cell[0, tb]) * g_cell[0, tb] / F_CONST
            for i in range(1, n_cells):
                tf = 0.5 * (t_cell[i - 1, tb] + t_cell[i, tb])
                gf = 0.5 * (g_cell[i - 1, tb] + g_cell[i, tb])
                t_face[i] = tf
                chi_face[i] = two_rt * (1.0 - tf) * gf / F_CONST
            t_face[n_cells] = t_cell[n_cells - 1, tb]
        De_l = max(D_e[0, b] * eps_over_tau[0], TINY)
        ka_l = max(kappa[0, b] * eps_over_tau[0], TINY)
        ka_0 = ka_l
        for i in range(1, n_cells):
            De_r = max(D_e[i, b] * eps_over_tau[i], TINY)
            ka_r = max(kappa[i, b] * eps_over_tau[i], TINY)
            rD = 0.5 * dx[i - 1] / De_l + 0.5 * dx[i] / De_r
            rK = 0.5 * dx[i - 1] / ka_l + 0.5 * dx[i] / ka_r
            N[i] = -(Y[o_ce + i, b] - Y[o_ce + i - 1, b]) / rD
            ie[i] = (
                -((Y[o_pe + i, b] - Y[o_pe + i - 1, b]) - chi_face[i] * (lnc[i] - lnc[i - 1])) / rK
            )
            De_l, ka_l = De_r, ka_r
        if li_metal:
            N[0] = li_bc[0, b]
            c_b = li_bc[1, b]
            phi_b = li_bc[2, b]
            ie[0] = -((Y[o_pe, b] - phi_b) - chi_face[0] * (lnc[0] - math.log(c_b))) / (
                0.5 * dx[0] / ka_0
            )
        if variable:
            # the flux form eps dc/dt = -div(N_diff + t+ i_e / F) + j / F, written with
            # the reference t+ (t_plus, at c0) as (1 - t_ref) j / F - div((t+ - t_ref)
            # i_e) / F: the same where the charge balance holds, salt conserved to
            # round-off, and bit for bit the constant-t+ form when t+ = t_ref
            # everywhere (docs/physics.md §1.2)
            # (at a Li-metal boundary the migration flux is t+ I / F: the cell current,
            # which i_e(0) equals where the charge balances hold, so that lithium is
            # conserved to round-off as with a constant t+)
            ie_0 = ie[0]
            ie[0] = I if li_metal else ie[0]
            for i in range(n_cells):
                dt_flux = ie[i + 1] * (t_face[i + 1] - t_plus) - ie[i] * (t_face[i] - t_plus)
                out[o_ce + i, b] = (
                    -(N[i + 1] - N[i]) / dx[i]
                    + (1.0 - t_plus) * j[i] / F_CONST
                    - dt_flux / (F_CONST * dx[i])
                )
            ie[0] = ie_0
            for i in range(n_cells):
                out[o_pe + i, b] = (ie[i + 1] - ie[i]) - j[i] * dx[i]
        else:
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
        out[o_I, b] = V - ctl_value if voltage_control else I - ctl_value
        out[o_Q, b] = I / 3600.0
        out[o_E, b] = I * V / 3600.0


_N_PARAMS = len(ResidualParams._fields)


@numba.njit(cache=True)
def assemble_unpacked(Y: np.ndarray, out: np.ndarray, *fields) -> None:
    """:func:`assemble` for Python callers: ``fields`` are those of a
    :class:`ResidualParams` followed by those of a :class:`MaterialValues`
    (``assemble_unpacked(Y, out, *p, *mv)``).

    Dispatching a call from Python with NamedTuple arguments costs numba ~6-8 us more
    than with the same fields as separate arguments (measured), about as much as the
    assembly of one state.  The model's residual calls this once per Newton iteration
    of the Python step loop; compiled callers use :func:`assemble`.
    """
    assemble(Y, ResidualParams(*fields[:_N_PARAMS]), MaterialValues(*fields[_N_PARAMS:]), out)


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


@numba.njit(cache=True)
def material_values(Y: np.ndarray, p: ResidualParams) -> MaterialValues:
    """Material values of the states ``Y`` (n, B) by the compiled formulas ``p.ocp_id``,
    ``p.conductivity_id``, ``p.diffusivity_id``
    (:func:`~electrohet.model.material_kernels.evaluate`) or, where a table index
    (``p.ocp_table``, ``p.conductivity_table``, ``p.diffusivity_table``) is >= 0, the
    compiled interpolant of that table (:func:`~electrohet.model.material_kernels.interp`);
    solid diffusivities at the shell faces by their tables when not
    ``p.constant_solid_diffusivity``.

    For models with the linear surface extrapolation, constant or tabulated solid
    diffusivities, no SOC-dependent contact paths and no Li-metal counter electrode
    (:meth:`~electrohet.model.p2de.P2DEModel.fused_params` decides).  In a batch (a
    coloured Jacobian) most states share a slot's surface or a cell's c_e with the
    first state or the one before: those values are reused (the same function of the
    same number, so the result is unchanged).
    """
    S = p.slot_cell.size
    N = p.dx.size
    B = Y.shape[1]
    nr = p.shell_vol.size
    o_ce = p.offsets[0]
    slot_fid = p.ocp_id
    slot_tid = p.ocp_table
    tx, ty, ts = p.table_x, p.table_y, p.table_start
    c_surf = np.empty((S, B))
    theta = np.empty((S, B))
    surface_linear(Y, p.offsets[1], nr, p.cmax, c_surf, theta)
    U = np.empty((S, B))
    for s in range(S):
        fid = slot_fid[s]
        for b in range(B):
            th = theta[s, b]
            if b > 0 and th == theta[s, b - 1]:
                U[s, b] = U[s, b - 1]
            elif b > 0 and th == theta[s, 0]:
                U[s, b] = U[s, 0]
            else:
                U[s, b] = evaluate_or_interp(fid, slot_tid[s], tx, ty, ts, th)
    kappa = np.empty((N, B))
    D_e = np.empty((N, B))
    k_id, d_id = p.conductivity_id, p.diffusivity_id
    for i in range(N):
        for b in range(B):
            ce = Y[o_ce + i, b]
            if b > 0 and ce == Y[o_ce + i, b - 1]:
                kappa[i, b] = kappa[i, b - 1]
                D_e[i, b] = D_e[i, b - 1]
            elif b > 0 and ce == Y[o_ce + i, 0]:
                kappa[i, b] = kappa[i, 0]
                D_e[i, b] = D_e[i, 0]
            else:
                kappa[i, b] = evaluate_or_interp(k_id, p.conductivity_table, tx, ty, ts, ce)
                D_e[i, b] = evaluate_or_interp(d_id, p.diffusivity_table, tx, ty, ts, ce)
    if p.constant_solid_diffusivity:
        D_s = np.zeros((1, 1, 1))
    else:
        D_s = _solid_diffusivity_tables(Y, p)
    none = np.zeros((1, 1))  # t+ and TDF: the fused residual has constant ones
    return MaterialValues(c_surf, U, kappa, D_e, D_s, p.r_film, np.zeros((3, 1)), none, none)


@numba.njit(cache=True)
def _solid_diffusivity_tables(Y: np.ndarray, p: ResidualParams) -> np.ndarray:
    """Solid diffusivity [m^2/s] at the internal shell faces, (S, n_r - 1, B), by each
    slot's table ``p.solid_diffusivity_table`` of theta = (mean of the two shells'
    concentrations) / c_max, unclipped (as the NumPy path).  A face whose two shells
    are unchanged from the state before in the batch reuses its value."""
    S = p.slot_cell.size
    nr = p.shell_vol.size
    B = Y.shape[1]
    o_cs = p.offsets[1]
    tx, ty, ts = p.table_x, p.table_y, p.table_start
    D_s = np.empty((S, nr - 1, B))
    for s in range(S):
        t = p.solid_diffusivity_table[s]
        lo, hi = ts[t], ts[t + 1]
        cm = p.cmax[s]
        base = o_cs + s * nr
        for k in range(nr - 1):
            for b in range(B):
                c0 = Y[base + k, b]
                c1 = Y[base + k + 1, b]
                if b > 0 and c0 == Y[base + k, b - 1] and c1 == Y[base + k + 1, b - 1]:
                    D_s[s, k, b] = D_s[s, k, b - 1]
                else:
                    D_s[s, k, b] = interp(tx, ty, lo, hi, 0.5 * (c1 + c0) / cm)
    return D_s


@numba.njit(cache=True)
def residual_fused(Y: np.ndarray, p: ResidualParams, out: np.ndarray) -> None:
    """Fill ``out`` (n, B) with f(Y) of ``M dy/dt = f(y)`` for the states ``Y`` (n, B),
    material formulas included (:func:`material_values`, then :func:`assemble`; every
    model it covers has constant solid diffusivities or tabulated ones)."""
    if p.constant_solid_diffusivity:
        _assemble(Y, p, material_values(Y, p), out, True)
    else:
        _assemble(Y, p, material_values(Y, p), out, False)
