"""Residual of the P2D-E equations (docs/physics.md §1) on a :class:`CellMesh`.

The semi-discrete system is written as ``M dy/dt = f(y)`` with a diagonal mass vector
``M`` (zero on algebraic rows).  ``f`` is evaluated *batched*: ``y`` may carry a trailing
axis of B states, so a coloured finite-difference Jacobian costs one call.

Unknowns, in order: electrolyte concentration c_e (cells), particle concentrations c_s
(slots x shells), electrolyte potential phi_e (cells), solid potential phi_s (electrode
cells), interfacial current density i_k of every slot [A/m^2, > 0 = delithiation] and the
applied current density I [A/m^2, > 0 = discharge].
"""

from __future__ import annotations

from collections.abc import Callable
from operator import is_

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from electrohet.design.layer import Cell, Electrode
from electrohet.engine.control import Control
from electrohet.errors import ParameterError
from electrohet.materials.base import R_GAS, F, LithiumMetal
from electrohet.materials.kinetics import (
    butler_volmer,
    exchange_current_powers,
    soft_floor,
    symmetric_overpotential,
)
from electrohet.model.fastfn import direct, fast
from electrohet.model.material_kernels import TablePack, formula_id
from electrohet.model.mesh import NEG, POS, CellMesh
from electrohet.model.p2de_kernel import (
    MaterialValues,
    ResidualParams,
    assemble_unpacked,
    residual_fused,
    surface_linear,
)

_TINY = 1e-300  # floor of effective transport coefficients [SI]


class P2DEModel:
    """The discretised heterogeneous porous-electrode model of one cell."""

    def __init__(self, cell: Cell, mesh: CellMesh) -> None:
        self.cell = cell
        self.mesh = mesh
        m = mesh
        n, nr, ns, ne = m.n_cells, m.n_r, m.n_slots, m.n_elec
        self.n_r = nr
        sizes = [
            ("ce", n),
            ("cs", ns * nr),
            ("phie", n),
            ("phis", ne),
            ("ik", ns),
            ("I", 1),
            ("Q", 1),
            ("E", 1),
        ]
        self.slices: dict[str, slice] = {}
        start = 0
        for name, size in sizes:
            self.slices[name] = slice(start, start + size)
            start += size
        self.n = start
        el = cell.electrolyte
        # t+ and the thermodynamic factor: numbers (t_plus, chi), or functions of c_e
        # evaluated per cell (variable_electrolyte; t_plus and chi then hold their
        # values at c0, for reference only)
        self.variable_electrolyte = el.variable_transport_numbers
        t_num = el.constant_transference
        g_num = el.constant_thermodynamic_factor
        self.t_plus = float(el.transference_at(el.c0)) if t_num is None else t_num
        self.tdf = float(el.thermodynamic_factor_at(el.c0)) if g_num is None else g_num
        self.two_rt = 2.0 * R_GAS * cell.temperature
        self.chi = 2.0 * R_GAS * cell.temperature * (1.0 - self.t_plus) * self.tdf / F
        self.f_rt = F / (R_GAS * cell.temperature)
        # electrolyte cell geometry (columns for broadcasting over the batch axis)
        self.dx = m.dx[:, None]
        self.eps_over_tau = (m.eps / m.tau)[:, None]
        # slots -> cells aggregation of j = sum_k a_k i_k  [A/m^3]
        self.P_cell = sp.csr_matrix((m.slot_area, (m.slot_cell, np.arange(ns))), shape=(n, ns))
        self.P_elec = sp.csr_matrix((m.slot_area, (m.slot_elec, np.arange(ns))), shape=(ne, ns))
        # solid-phase faces between neighbouring electrode cells of the same electrode
        ec = m.elec_cells
        same = (np.diff(ec) == 1) & (m.elec_region[1:] == m.elec_region[:-1])
        self.s_face_left = np.flatnonzero(same)  # electrode cell on the left of the face
        dxe = m.dx[ec]
        self.dxe = dxe[:, None]
        r_half = dxe / (2.0 * m.sigma)
        self.s_face_res = (r_half[self.s_face_left] + r_half[self.s_face_left + 1])[:, None]
        self.neg_first = (
            int(np.flatnonzero(m.elec_region == NEG)[0]) if np.any(m.elec_region == NEG) else -1
        )
        self.pos_last = int(np.flatnonzero(m.elec_region == POS)[-1])
        self.r_half_first = float(r_half[self.neg_first]) if self.neg_first >= 0 else 0.0
        self.r_half_last = float(r_half[self.pos_last])
        # coating / current-collector contact resistance in series [Ohm m^2] (the
        # cell's value; an attribute so that an aging run can let it grow)
        self.series_resistance = float(cell.contact_resistance)
        # particle shells (uniform in r), per unit radius
        xi = np.linspace(0.0, 1.0, nr + 1)
        self.shell_vol = (xi[1:] ** 3 - xi[:-1] ** 3) / 3.0  # / R^3
        self.face_area = xi[1:-1] ** 2  # internal faces, / R^2
        self.R = m.slot_radius[:, None, None]
        self.nr = nr
        self.cmax = np.array([mat.c_max for mat in m.materials])[m.slot_material]
        self.cmax_col = self.cmax[:, None]
        self.kin_pref = (
            np.array([mat.exchange_prefactor for mat in m.materials])[m.slot_material] * m.slot_kfac
        )
        self.kin_pref = self.kin_pref[:, None]
        self.alpha_a = np.array([mat.alpha_a for mat in m.materials])[m.slot_material][:, None]
        self.alpha_c = np.array([mat.alpha_c for mat in m.materials])[m.slot_material][:, None]
        # exponents (a_e, a_v, a_o) of c_e, c_max - c_s, c_s in i0, per slot
        self.i0_exp = np.ascontiguousarray(
            np.array([mat.exchange_exponents for mat in m.materials], dtype=float).reshape(-1, 3)[
                m.slot_material
            ]
        )
        self.r_fixed = (m.slot_rf + m.slot_rc0)[:, None]
        self.path = m.slot_path[:, None]
        self.uses_path = bool(np.any(m.slot_path > 0))
        self.isolated = m.slot_isolated
        self.any_isolated = bool(np.any(self.isolated))
        # slots of each material: a slice where they are contiguous (the usual case)
        self.mat_groups: list[np.ndarray | slice] = []
        for i in range(len(m.materials)):
            idx = np.flatnonzero(m.slot_material == i)
            contiguous = idx.size > 0 and idx[-1] - idx[0] + 1 == idx.size
            self.mat_groups.append(slice(int(idx[0]), int(idx[-1]) + 1) if contiguous else idx)
        self.slot_cell = m.slot_cell
        self.slot_elec = m.slot_elec
        # mass vector
        M = np.zeros(self.n)
        M[self.slices["ce"]] = m.eps
        M[self.slices["cs"]] = 1.0
        M[self.slices["Q"]] = 1.0
        M[self.slices["E"]] = 1.0
        self.mass = M
        self.differential = M != 0
        self.li_metal = cell.negative if isinstance(cell.negative, LithiumMetal) else None
        self._listeners: list[Callable[[], None]] = []
        # compiled-path constants (arrays the aging hook replaces are read per call)
        self.compiled = True
        self._offsets = np.array(
            [self.slices[k].start for k in ("ce", "cs", "phie", "phis", "ik", "I", "Q", "E")],
            dtype=np.int64,
        )
        self._alpha_a = np.ascontiguousarray(self.alpha_a[:, 0])
        self._alpha_c = np.ascontiguousarray(self.alpha_c[:, 0])
        self._eps_over_tau = np.ascontiguousarray(self.eps_over_tau[:, 0])
        self._dxe = np.ascontiguousarray(self.dxe[:, 0])
        self._face_area = np.ascontiguousarray(self.face_area, dtype=float)
        self._D_slot: np.ndarray | bool | None = None
        self._rt_cache: tuple | None = None
        self._params_cache: tuple[tuple, ResidualParams] | None = None
        self._r_fixed_flat = np.zeros((m.n_slots, 1))
        self._dummy_faces = np.zeros((1, 1, 1))
        self._dummy_slot = np.zeros(1)
        self._dummy_li = np.zeros((3, 1))
        self._dummy_cells = np.zeros((1, 1))
        # material functions for the hot loop (compiled twins where they exist)
        # (the residual hands them C-contiguous 2-D float arrays, so it calls the
        # compiled kernels directly)
        self._ocp_fast = [fast(mat.ocp, 0.0, 1.0) for mat in m.materials]
        c_hi = 4.0 * el.c0
        self._kappa_fast = fast(el.conductivity, 0.0, c_hi)
        self._De_fast = fast(el.diffusivity, 0.0, c_hi)
        self._ocp_direct = [direct(f) for f in self._ocp_fast]
        self._kappa_direct = direct(self._kappa_fast)
        self._De_direct = direct(self._De_fast)
        # ids of the material formulas for the fully compiled residual; without an id
        # for each (or with another surface closure, or a Li-metal counter electrode)
        # the material values are evaluated in NumPy (_material_values)
        ocp_ids = np.asarray([formula_id(mat.ocp) for mat in m.materials], dtype=np.int64)
        self._ocp_id = np.ascontiguousarray(ocp_ids[m.slot_material])
        self._kappa_id = formula_id(el.conductivity)
        self._De_id = formula_id(el.diffusivity)
        # material functions given as tables (linear_table): compiled interpolants
        # (material_kernels.interp), whose knots travel in the kernel parameters
        pack = TablePack()
        ocp_tabs = np.asarray([pack.add(mat.ocp) for mat in m.materials], dtype=np.int64)
        ds_tabs = np.asarray([pack.add(mat.diffusivity) for mat in m.materials], dtype=np.int64)
        self._ocp_table = np.ascontiguousarray(ocp_tabs[m.slot_material])
        self._kappa_table = pack.add(el.conductivity)
        self._De_table = pack.add(el.diffusivity)
        self._Ds_table = np.ascontiguousarray(ds_tabs[m.slot_material])
        self._Ds_tables_compiled = bool(ds_tabs.min() >= 0)
        self._table_x, self._table_y, self._table_start = pack.arrays()
        self._formulas_compiled = bool(
            np.all((ocp_ids >= 0) | (ocp_tabs >= 0))
            and (self._kappa_id >= 0 or self._kappa_table >= 0)
            and (self._De_id >= 0 or self._De_table >= 0)
            and m.surface == "linear"
            and not cell.half_cell
            and not self.variable_electrolyte
        )

    # ------------------------------------------------------------------ helpers
    def split(self, Y: np.ndarray) -> dict[str, np.ndarray]:
        """Views of the unknown blocks of a (n,) or (n, B) state."""
        Y2 = Y if Y.ndim == 2 else Y[:, None]
        out = {k: Y2[s] for k, s in self.slices.items()}
        out["cs"] = out["cs"].reshape(self.mesh.n_slots, self.nr, Y2.shape[1])
        return out

    def surface_concentration(self, cs: np.ndarray, ik: np.ndarray | None = None) -> np.ndarray:
        """Particle surface concentration [mol/m^3] of every slot, shape (S, B)."""
        if self.mesh.surface == "linear":
            return 1.5 * cs[:, -1] - 0.5 * cs[:, -2]
        assert ik is not None
        D = self._diffusivity(cs[:, -1] / self.cmax_col)
        dr = self.mesh.slot_radius[:, None] / self.nr
        return cs[:, -1] - 0.5 * dr * ik / (F * D)

    def _by_material(self, attr: str, theta: np.ndarray) -> np.ndarray:
        out = np.empty_like(theta)
        for i, idx in enumerate(self.mat_groups):
            out[idx] = getattr(self.mesh.materials[i], attr)(theta[idx])
        return out

    def _diffusivity(self, theta: np.ndarray) -> np.ndarray:
        return self._by_material("diffusivity", theta)

    def ocp(self, theta: np.ndarray) -> np.ndarray:
        """Open-circuit potential of every slot [V], theta shape (S, B)."""
        return self._by_material("ocp", theta)

    def voltage(self, Y: np.ndarray) -> np.ndarray:
        """Terminal voltage [V] of a (n,) or (n, B) state."""
        v = self.split(Y)
        I = v["I"][0]
        phis_L = v["phis"][self.pos_last] - self.r_half_last * I
        return phis_L - self.series_resistance * I

    def terminal_voltage(self, y: np.ndarray) -> float:
        """Terminal voltage [V] of one (n,) state (as :meth:`voltage`, without the
        block views: the event functions call it once per step)."""
        I = y[self._offsets[5]]
        phis_L = y[self._offsets[3] + self.pos_last] - self.r_half_last * I
        return float(phis_L - self.series_resistance * I)

    # ------------------------------------------------------------------ run-time parameters
    # What an aging run changes between cycles.  Every setter replaces the attribute
    # with a new array (the compiled paths re-convert a field when its identity
    # changes, see _run_time_fields) and then notifies the listeners: a Simulation
    # registers one that re-reads the compiled step's parameters and drops its cached
    # Jacobian and factors.  Set them between steps, not inside one.
    def add_change_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every run-time parameter setter.

        Parameters
        ----------
        callback
            Called without arguments; :class:`~electrohet.model.Simulation` uses it to
            keep the integrator's kernel parameters, Jacobian and LU factors
            consistent with the model.
        """
        self._listeners.append(callback)

    def _changed(self) -> None:
        for cb in self._listeners:
            cb()

    def _slot_vector(self, values: ArrayLike, what: str, low: float | None = 0.0) -> np.ndarray:
        a = np.array(values, dtype=float).reshape(-1)
        if a.size != self.mesh.n_slots:
            raise ParameterError(
                f"{what}: {a.size} values given, the mesh has {self.mesh.n_slots} slots"
            )
        if not np.all(np.isfinite(a)) or (low is not None and np.any(a < low)):
            bound = "" if low is None else f" and >= {low:g}"
            raise ParameterError(f"{what}: every value must be finite{bound}")
        return a

    def set_film_resistance(self, resistance: ArrayLike) -> None:
        """Set the fixed interfacial resistance in series with each slot's reaction.

        Parameters
        ----------
        resistance
            Per slot, shape ``(n_slots,)`` [Ohm m^2 of particle surface]: the
            design's film and particle contact resistances plus whatever aging adds
            (CEI film, re-routed contact).  It enters the overpotential as
            ``eta = phi_s - phi_e - U - i_k R_f`` (docs/physics.md §1.4).
        """
        r = self._slot_vector(resistance, "film resistance")
        self.r_fixed = r[:, None]
        self._changed()

    def set_exchange_prefactor(self, prefactor: ArrayLike) -> None:
        """Set the kinetic prefactor ``k`` of the exchange current of each slot.

        Parameters
        ----------
        prefactor
            Per slot, shape ``(n_slots,)``, in A m^-2 (mol m^-3)^-(a_e + a_v +
            a_o): ``i_0 = k c_e^a_e (c_max - c_s)^a_v c_s^a_o``
            (docs/physics.md §1.4).  Scaling it by ``f`` scales the reactive surface
            of the slot's particles by ``f`` (cracking exposes fresh surface).
        """
        self.kin_pref = self._slot_vector(prefactor, "exchange prefactor")[:, None]
        self._changed()

    def set_reacting_area(self, area: ArrayLike) -> None:
        """Set the reacting particle surface per electrode volume ``a_k`` of each slot.

        Parameters
        ----------
        area
            Per slot, shape ``(n_slots,)`` [m^2/m^3 = 1/m].  The slot's reaction
            current per volume is ``a_k i_k``; a slot whose particles are partly
            disconnected keeps only its connected share.  Updates the mesh's
            ``slot_area`` and the slot-to-cell aggregation matrices.
        """
        a = self._slot_vector(area, "reacting area", low=None)
        m = self.mesh
        ns = m.n_slots
        m.slot_area = a
        self.P_cell = sp.csr_matrix((a, (m.slot_cell, np.arange(ns))), shape=(m.n_cells, ns))
        self.P_elec = sp.csr_matrix((a, (m.slot_elec, np.arange(ns))), shape=(m.n_elec, ns))
        self._changed()

    def set_isolated(self, isolated: ArrayLike) -> None:
        """Set which slots are electronically isolated (they carry no current).

        Parameters
        ----------
        isolated
            Boolean per slot, shape ``(n_slots,)``.  An isolated slot's equation
            becomes ``i_k = 0``; its particles keep their lithium.  Updates the
            mesh's ``slot_isolated``.
        """
        iso = np.array(isolated, dtype=bool).reshape(-1)
        if iso.size != self.mesh.n_slots:
            raise ParameterError(
                f"isolated: {iso.size} flags given, the mesh has {self.mesh.n_slots} slots"
            )
        self.mesh.slot_isolated = iso
        self.isolated = iso
        self.any_isolated = bool(np.any(iso))
        self._changed()

    def set_series_resistance(self, resistance: float) -> None:
        """Set the coating / current-collector contact resistance in series [Ohm m^2].

        Parameters
        ----------
        resistance
            Area-specific resistance between the positive coating and its foil
            (docs/physics.md §1.6); the terminal voltage falls by ``R I``.
        """
        r = float(resistance)
        if not np.isfinite(r) or r < 0:
            raise ParameterError(f"series resistance = {r!r} Ohm m^2 must be finite and >= 0")
        self.series_resistance = r
        self._changed()

    def set_matrix_conductivity(self, sigma: ArrayLike) -> None:
        """Set the effective electronic conductivity of the solid matrix per electrode cell.

        Parameters
        ----------
        sigma
            Per electrode cell, shape ``(n_elec,)`` [S/m]: the effective
            conductivity of the carbon-binder network (and active material) that
            carries the solid-phase current between cells (docs/physics.md §1.3).
            The face resistances ``dx_i / (2 sigma_i) + dx_j / (2 sigma_j)`` and the
            half-cell resistances at the collector and separator are re-derived;
            the mesh's ``sigma`` is updated.
        """
        m = self.mesh
        sig = np.array(sigma, dtype=float).reshape(-1)
        if sig.size != m.n_elec or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise ParameterError(
                f"matrix conductivity: {m.n_elec} finite positive values [S/m] expected "
                f"(got {sig.size})"
            )
        r_half = m.dx[m.elec_cells] / (2.0 * sig)
        left = self.s_face_left
        self.s_face_res = (r_half[left] + r_half[left + 1])[:, None]
        self.r_half_last = float(r_half[self.pos_last])
        if self.neg_first >= 0:
            self.r_half_first = float(r_half[self.neg_first])
        m.sigma = sig
        self._changed()

    def active_material_conductivity(self, theta: np.ndarray) -> np.ndarray:
        """Electronic conductivity of each slot's active material [S/m].

        Parameters
        ----------
        theta
            Lithium fraction [-], shape ``(n_slots,)`` or ``(n_slots, B)``.

        Returns
        -------
        numpy.ndarray
            ``sigma_AM(theta)`` of each slot's material, the shape of ``theta``
            (SOC-dependent for layered oxides, docs/physics.md §2.2).
        """
        return self._by_material("electronic_conductivity", np.asarray(theta, dtype=float))

    # ------------------------------------------------------------------ residual
    def residual(self, Y: np.ndarray, control: Control) -> np.ndarray:
        """f(y) of ``M dy/dt = f(y)``; ``Y`` is (n,) or (n, B).

        The compiled residual (:mod:`electrohet.model.p2de_kernel`): the material
        values by the compiled formulas where the model allows
        (:func:`~electrohet.model.p2de_kernel.residual_fused`), else by the material
        functions in NumPy, then the compiled assembly.  Set ``compiled = False`` to
        use :meth:`residual_reference` (the same equations in NumPy).
        """
        if not self.compiled:
            return self.residual_reference(Y, control)
        squeeze = Y.ndim == 1
        Y2 = np.ascontiguousarray(Y[:, None] if squeeze else Y, dtype=float)
        p = self._kernel_params(control)
        out = np.empty((self.n, Y2.shape[1]))
        if self._fusable(p):
            residual_fused(Y2, p, out)
        else:
            # (the fields unpacked: numba types them from Python faster than the tuples)
            assemble_unpacked(Y2, out, *p, *self._material_values(Y2, p))
        return out[:, 0] if squeeze else out

    def fused_params(self, control: Control) -> ResidualParams | None:
        """Parameters of :func:`~electrohet.model.p2de_kernel.residual_fused` under
        ``control``, or None when this model's material values need NumPy.

        Read afresh on every call, so fields the aging hook replaces take effect; the
        returned parameters do not change when the model's fields change later.
        """
        if not self.compiled:
            return None
        p = self._kernel_params(control)
        return p if self._fusable(p) else None

    def _fusable(self, p: ResidualParams) -> bool:
        """Whether :func:`~electrohet.model.p2de_kernel.material_values` covers this
        model (compiled formulas or tables, constant or tabulated solid diffusivity, no
        contact paths)."""
        return (
            self._formulas_compiled
            and (p.constant_solid_diffusivity or self._Ds_tables_compiled)
            and not self.uses_path
        )

    def _kernel_params(self, control: Control) -> ResidualParams:
        """The compiled residual's parameters from the model's current fields and
        ``control`` (the one place where :class:`ResidualParams` is filled).

        Built again only when ``control`` or a field that may change after
        construction is another object than at the last call (the setters replace
        fields, they never modify them in place): the Python step loop calls the
        residual once per Newton iteration.
        """
        m = self.mesh
        src = (
            control,
            self.kin_pref,
            self.isolated,
            self.s_face_left,
            self.s_face_res,
            self.r_fixed,
            self.r_half_first,
            self.r_half_last,
            self.series_resistance,
            m.slot_area,
            m.slot_radius,
            m.dx,
        )
        cached = self._params_cache
        if cached is not None and all(map(is_, src, cached[0])):
            return cached[1]
        kin_pref, isolated, face_left, face_res = self._run_time_fields()
        D_const = self._solid_diffusivity_constant()
        p = ResidualParams(
            offsets=self._offsets,
            dx=m.dx,
            eps_over_tau=self._eps_over_tau,
            t_plus=float(self.t_plus),
            chi=float(self.chi),
            two_rt=float(self.two_rt),
            variable_electrolyte=bool(self.variable_electrolyte),
            f_rt=float(self.f_rt),
            li_metal=self.li_metal is not None,
            dxe=self._dxe,
            s_face_left=face_left,
            s_face_res=face_res,
            neg_first=int(self.neg_first),
            pos_last=int(self.pos_last),
            r_half_first=float(self.r_half_first),
            r_half_last=float(self.r_half_last),
            series_resistance=float(self.series_resistance),
            slot_cell=self.slot_cell,
            slot_elec=self.slot_elec,
            slot_area=m.slot_area,
            slot_radius=m.slot_radius,
            cmax=self.cmax,
            kin_pref=kin_pref,
            alpha_a=self._alpha_a,
            alpha_c=self._alpha_c,
            i0_exp=self.i0_exp,
            isolated=isolated,
            r_film=self._r_fixed_flat,
            shell_vol=self.shell_vol,
            face_area=self._face_area,
            solid_diffusivity=self._dummy_slot if D_const is None else D_const,
            constant_solid_diffusivity=D_const is not None,
            ocp_id=self._ocp_id,
            conductivity_id=self._kappa_id,
            diffusivity_id=self._De_id,
            ocp_table=self._ocp_table,
            conductivity_table=self._kappa_table,
            diffusivity_table=self._De_table,
            solid_diffusivity_table=self._Ds_table,
            table_x=self._table_x,
            table_y=self._table_y,
            table_start=self._table_start,
            voltage_control=control.mode != "current",
            control_value=float(control.value),
        )
        self._params_cache = (src, p)
        return p

    def _material_values(self, Y2: np.ndarray, p: ResidualParams) -> MaterialValues:
        """Material values of the states ``Y2`` (n, B) by the model's material
        functions (NumPy, or their compiled twins), for
        :func:`~electrohet.model.p2de_kernel.assemble`."""
        S, nr, B = self.mesh.n_slots, self.nr, Y2.shape[1]
        sl = self.slices
        cs = Y2[sl["cs"]].reshape(S, nr, B)  # a view
        ce = Y2[sl["ce"]]
        cmax = self.cmax_col
        if self.mesh.surface == "linear":
            c_surf = np.empty((S, B))
            theta_s = np.empty((S, B))
            surface_linear(Y2, self._offsets[1], nr, self.cmax, c_surf, theta_s)
        else:
            c_surf = np.ascontiguousarray(self.surface_concentration(cs, Y2[sl["ik"]]))
            theta_s = np.clip(c_surf / cmax, 0.0, 1.0)
        U = np.empty_like(theta_s)
        for i, idx in enumerate(self.mat_groups):
            U[idx] = self._ocp_direct[i](theta_s[idx])
        kappa = np.ascontiguousarray(self._kappa_direct(ce), dtype=float)
        D_e = np.ascontiguousarray(self._De_direct(ce), dtype=float)
        if p.constant_solid_diffusivity:
            D_s = self._dummy_faces
        else:
            c_face = 0.5 * (cs[:, 1:] + cs[:, :-1])
            D_s = np.ascontiguousarray(self._diffusivity_3d(c_face / cmax[:, :, None]))
        if self.uses_path:
            theta_bulk = np.einsum("skb,k->sb", cs, self.shell_vol * 3.0) / cmax
            sig_am = self._by_material("electronic_conductivity", theta_bulk)
            r_tot = np.ascontiguousarray(self.r_fixed + self.path / sig_am, dtype=float)
        else:
            r_tot = p.r_film  # (S, 1): the kernel broadcasts it over the batch
        t_c = g_c = self._dummy_cells
        if self.variable_electrolyte:
            el = self.cell.electrolyte
            t_c = np.ascontiguousarray(el.transference_at(ce), dtype=float)
            g_c = np.ascontiguousarray(el.thermodynamic_factor_at(ce), dtype=float)
        li_bc = self._dummy_li
        if self.li_metal is not None:
            I = Y2[sl["I"]][0]
            t0 = t_c[0] if self.variable_electrolyte else self.t_plus
            N0 = (1.0 - t0) * I / F
            De0 = np.maximum(D_e[0] * self.eps_over_tau[0, 0], _TINY)
            c_b = np.maximum(ce[0] + 0.5 * self.dx[0, 0] * N0 / De0, 1e-6)
            i0_li = self.li_metal.exchange_current(c_b)
            phi_b = -symmetric_overpotential(I, i0_li, self.f_rt)
            li_bc = np.ascontiguousarray(np.vstack([N0, c_b, phi_b]), dtype=float)
        return MaterialValues(
            c_surf=c_surf,
            ocp=np.ascontiguousarray(U, dtype=float),
            kappa=kappa,
            D_e=D_e,
            D_s=D_s,
            r_tot=r_tot,
            li_bc=li_bc,
            t_plus=t_c,
            tdf=g_c,
        )

    def _run_time_fields(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Kernel-ready copies of the fields the aging hook may replace between runs.

        Converted again only when the attribute has been replaced by another array.
        """
        src = (self.kin_pref, self.isolated, self.s_face_left, self.s_face_res, self.r_fixed)
        cached = self._rt_cache
        if cached is None or any(a is not b for a, b in zip(src, cached[0], strict=True)):
            conv = (
                np.ascontiguousarray(np.asarray(self.kin_pref, dtype=float)[:, 0]),
                np.ascontiguousarray(self.isolated, dtype=np.bool_),
                np.ascontiguousarray(self.s_face_left, dtype=np.int64),
                np.ascontiguousarray(np.asarray(self.s_face_res, dtype=float).reshape(-1)),
            )
            self._r_fixed_flat = np.ascontiguousarray(
                np.asarray(self.r_fixed, dtype=float).reshape(-1, 1)
            )
            cached = self._rt_cache = (src, conv)
        return cached[1]

    def _solid_diffusivity_constant(self) -> np.ndarray | None:
        """Per-slot solid diffusivity [m^2/s] when every material's is a constant."""
        if self._D_slot is None:
            vals = []
            for mat in self.mesh.materials:
                v = getattr(mat.diffusivity, "constant_value", None)
                if v is None:
                    self._D_slot = False
                    return None
                vals.append(float(v))
            self._D_slot = np.asarray(vals)[self.mesh.slot_material]
        return self._D_slot if isinstance(self._D_slot, np.ndarray) else None

    def residual_reference(self, Y: np.ndarray, control: Control) -> np.ndarray:
        """f(y) of ``M dy/dt = f(y)`` in NumPy (the reference for the compiled path)."""
        squeeze = Y.ndim == 1
        v = self.split(Y)
        ce, cs, phie, phis, ik, I = v["ce"], v["cs"], v["phie"], v["phis"], v["ik"], v["I"]
        B = ce.shape[1]
        el = self.cell.electrolyte
        out = np.empty((self.n, B))

        # interfacial reaction of each slot
        cmax = self.cmax_col
        c_surf = self.surface_concentration(cs, ik)
        # smooth positive floors: an over-full (or empty) surface drives i0 -> 0
        # continuously instead of clipping, so the voltage collapses at the cut-off
        # the way the DFN's exchange current dictates
        delta = 1e-9 * cmax
        c_occ = soft_floor(c_surf, delta)
        c_vac = soft_floor(cmax - c_surf, delta)
        theta_s = np.clip(c_surf / cmax, 0.0, 1.0)
        U = self.ocp(theta_s)
        ce_slot = soft_floor(ce[self.slot_cell], 1e-9)
        a_e, a_v, a_o = (self.i0_exp[:, k : k + 1] for k in range(3))
        i0 = exchange_current_powers(self.kin_pref, ce_slot, c_vac, c_occ, a_e, a_v, a_o)
        r_tot = self.r_fixed
        if self.uses_path:
            # electrons cross the particle's (and its neighbours') bulk: sigma_AM of
            # the particle's mean lithium fraction (docs/physics.md §1.5), not of its surface
            theta_bulk = np.einsum("skb,k->sb", cs, self.shell_vol * 3.0) / cmax
            sig_am = self._by_material("electronic_conductivity", theta_bulk)
            r_tot = r_tot + self.path / sig_am
        eta = phis[self.slot_elec] - phie[self.slot_cell] - U - ik * r_tot
        # exponents capped (kinetics.EXP_CAP): reached only by far-off Newton iterates
        bv = butler_volmer(i0, eta, self.alpha_a, self.alpha_c, self.f_rt)
        f_ik = ik - bv
        if self.any_isolated:
            f_ik[self.isolated] = ik[self.isolated]
        out[self.slices["ik"]] = f_ik

        j = self.P_cell @ ik  # [A/m^3], (N, B)

        # electrolyte transport
        # effective coefficients floored at a tiny positive value: an emptied cell
        # (c_e -> 0 gives kappa = 0) makes the series (harmonic) face mean a huge but
        # finite resistance instead of a division by zero
        De = np.maximum(el.diffusivity(ce) * self.eps_over_tau, _TINY)
        ka = np.maximum(el.conductivity(ce) * self.eps_over_tau, _TINY)
        dx = self.dx
        lnc = np.log(np.maximum(ce, 1e-9))
        n_faces = ce.shape[0] + 1
        N = np.zeros((n_faces, B))
        ie = np.zeros((n_faces, B))
        rD = 0.5 * dx[:-1] / De[:-1] + 0.5 * dx[1:] / De[1:]
        rK = 0.5 * dx[:-1] / ka[:-1] + 0.5 * dx[1:] / ka[1:]
        dlnc = lnc[1:] - lnc[:-1]
        # t+ and the diffusion-potential factor 2RT(1 - t+)TDF/F per cell and face
        # (a face: the mean of its two cells; a boundary face: the boundary cell's)
        t_c: np.ndarray | float = self.t_plus
        chi_f: np.ndarray | float = self.chi
        t_f = np.zeros((n_faces, B))
        if self.variable_electrolyte:
            t_c = el.transference_at(ce)
            g_c = el.thermodynamic_factor_at(ce)
            g_f = np.zeros((n_faces, B))
            t_f[1:-1] = 0.5 * (t_c[:-1] + t_c[1:])
            g_f[1:-1] = 0.5 * (g_c[:-1] + g_c[1:])
            t_f[0], g_f[0] = t_c[0], g_c[0]
            t_f[-1], g_f[-1] = t_c[-1], g_c[-1]
            chi_f = self.two_rt * (1.0 - t_f) * g_f / F
        chi_in = chi_f[1:-1] if isinstance(chi_f, np.ndarray) else chi_f
        chi_0 = chi_f[0] if isinstance(chi_f, np.ndarray) else chi_f
        N[1:-1] = -(ce[1:] - ce[:-1]) / rD
        ie[1:-1] = -((phie[1:] - phie[:-1]) - chi_in * dlnc) / rK
        if self.li_metal is not None:
            t_0 = t_c[0] if isinstance(t_c, np.ndarray) else t_c
            N0 = (1.0 - t_0) * I / F
            N[0] = N0[0]
            c_b = np.maximum(ce[0] + 0.5 * dx[0] * N0[0] / De[0], 1e-6)
            i0_li = self.li_metal.exchange_current(c_b)
            eta_li = symmetric_overpotential(I[0], i0_li, self.f_rt)
            phi_b = -eta_li
            ie[0] = -((phie[0] - phi_b) - chi_0 * (lnc[0] - np.log(c_b))) / (0.5 * dx[0] / ka[0])
        # eps dc_e/dt = -div(N_diff + t+ i_e / F) + j / F (the flux form, valid for
        # variable t+), written with the reference t_ref = t+(c0) as
        # (1 - t_ref) j / F - div((t+ - t_ref) i_e) / F: the same where the charge
        # balance div i_e = j holds; the salt's rate is then (1 - t_ref) times a
        # linear combination of the charge balances, so salt is conserved to
        # round-off, and a uniform t+ = t_ref gives the constant-t+ form bit for bit
        # (docs/physics.md §1.2)
        t_ref = self.t_plus
        f_ce = -(N[1:] - N[:-1]) / dx + (1.0 - t_ref) * j / F
        if self.variable_electrolyte:
            # (at a Li-metal boundary the migration flux is t+ I / F: the cell current,
            # which i_e(0) equals where the charge balances hold; lithium is then
            # conserved to round-off as with a constant t+)
            ie_mig = ie.copy()
            if self.li_metal is not None:
                ie_mig[0] = I[0]
            dt_flux = ie_mig[1:] * (t_f[1:] - t_ref) - ie_mig[:-1] * (t_f[:-1] - t_ref)
            f_ce = f_ce - dt_flux / (F * dx)
        out[self.slices["ce"]] = f_ce
        out[self.slices["phie"]] = (ie[1:] - ie[:-1]) - j * dx

        # solid phase charge
        ne = phis.shape[0]
        is_face = -(phis[self.s_face_left + 1] - phis[self.s_face_left]) / self.s_face_res
        i_right = np.zeros((ne, B))
        i_left = np.zeros((ne, B))
        i_right[self.s_face_left] = is_face
        i_left[self.s_face_left + 1] = is_face
        if self.neg_first >= 0:
            i_left[self.neg_first] = -phis[self.neg_first] / self.r_half_first
        i_right[self.pos_last] = I[0]
        je = self.P_elec @ ik
        out[self.slices["phis"]] = i_right - i_left + je * self.dxe

        # particles: spherical finite volumes, uniform shells
        R = self.R
        theta_c = cs / cmax[:, :, None]
        c_face = 0.5 * (cs[:, 1:] + cs[:, :-1])
        D_face = self._diffusivity_3d(c_face / cmax[:, :, None])
        flux = self.face_area[None, :, None] * D_face * (cs[:, 1:] - cs[:, :-1]) * self.nr / R**2
        dcdt = np.zeros_like(cs)
        dcdt[:, :-1] += flux
        dcdt[:, 1:] -= flux
        dcdt[:, -1] -= (ik / F)[:, :] / R[:, :, 0]
        dcdt /= self.shell_vol[None, :, None]
        out[self.slices["cs"]] = dcdt.reshape(-1, B)
        del theta_c

        # external circuit, delivered charge [Ah/m^2] and energy [Wh/m^2]
        V = self.voltage(Y if Y.ndim == 2 else Y[:, None])[None, :]
        if control.mode == "current":
            out[self.slices["I"]] = I - control.value
        else:
            out[self.slices["I"]] = V - control.value
        out[self.slices["Q"]] = I / 3600.0
        out[self.slices["E"]] = I * V / 3600.0
        return out[:, 0] if squeeze else out

    def _diffusivity_3d(self, theta: np.ndarray) -> np.ndarray:
        S, K, B = theta.shape
        return self._diffusivity(theta.reshape(S, K * B)).reshape(S, K, B)

    # ------------------------------------------------------------------ structure
    def sparsity(self) -> sp.csr_matrix:
        """Structural non-zeros of df/dy (a superset), as a CSR pattern."""
        m = self.mesh
        s = self.slices
        n, ne, ns, nr = m.n_cells, m.n_elec, m.n_slots, self.nr
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []

        def add(r, c):
            r = np.atleast_1d(np.asarray(r))
            c = np.atleast_1d(np.asarray(c))
            r, c = np.broadcast_arrays(r, c)
            rows.append(r.ravel())
            cols.append(c.ravel())

        ce0, pe0, ps0, ik0, cs0 = (
            s["ce"].start,
            s["phie"].start,
            s["phis"].start,
            s["ik"].start,
            s["cs"].start,
        )
        iI = s["I"].start
        cells = np.arange(n)
        for off in (-1, 0, 1):
            nb = cells + off
            ok = (nb >= 0) & (nb < n)
            for r0 in (ce0, pe0):
                add(r0 + cells[ok], ce0 + nb[ok])
            add(pe0 + cells[ok], pe0 + nb[ok])
            if self.variable_electrolyte:  # the i_e grad t+ term of the salt balance
                add(ce0 + cells[ok], pe0 + nb[ok])
        slots = np.arange(ns)
        for r0 in (ce0, pe0):
            add(r0 + m.slot_cell, ik0 + slots)
        if m.half_cell:
            add([ce0, pe0], iI)
        # solid
        el = np.arange(ne)
        add(ps0 + el, ps0 + el)
        add(ps0 + self.s_face_left, ps0 + self.s_face_left + 1)
        add(ps0 + self.s_face_left + 1, ps0 + self.s_face_left)
        add(ps0 + m.slot_elec, ik0 + slots)
        add(ps0 + self.pos_last, iI)
        # kinetics
        add(ik0 + slots, ik0 + slots)
        add(ik0 + slots, ps0 + m.slot_elec)
        add(ik0 + slots, pe0 + m.slot_cell)
        add(ik0 + slots, ce0 + m.slot_cell)
        for sh in (nr - 2, nr - 1):
            add(ik0 + slots, cs0 + slots * nr + sh)
        wired = slots[m.slot_path > 0]  # contact resistance depends on the mean theta
        add(ik0 + wired[:, None], cs0 + wired[:, None] * nr + np.arange(nr)[None, :])
        # particles
        shell = np.arange(nr)
        for off in (-1, 0, 1):
            nb = shell + off
            ok = (nb >= 0) & (nb < nr)
            r = cs0 + slots[:, None] * nr + shell[ok][None, :]
            c = cs0 + slots[:, None] * nr + nb[ok][None, :]
            add(r, c)
        add(cs0 + slots * nr + nr - 1, ik0 + slots)
        # circuit
        add(iI, iI)
        add(iI, ps0 + self.pos_last)
        add(s["Q"].start, iI)
        add(s["E"].start, [iI, ps0 + self.pos_last])
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        pat = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(self.n, self.n))
        pat.sum_duplicates()
        pat.data[:] = 1.0
        return pat

    # ------------------------------------------------------------------ state
    def initial_state(
        self, theta_pos: float | None = None, theta_neg: float | None = None
    ) -> np.ndarray:
        """A state at rest with uniform concentrations (potentials are a first guess)."""
        m = self.mesh
        cell = self.cell
        y = np.zeros(self.n)
        y[self.slices["ce"]] = cell.electrolyte.c0
        theta = np.empty(m.n_slots)
        tp = cell.positive.theta_init if theta_pos is None else theta_pos
        theta[m.elec_region[m.slot_elec] == POS] = tp
        if not m.half_cell:
            assert isinstance(cell.negative, Electrode)
            tn = cell.negative.theta_init if theta_neg is None else theta_neg
            theta[m.elec_region[m.slot_elec] == NEG] = tn
        cs = (theta * self.cmax)[:, None] * np.ones(self.nr)[None, :]
        y[self.slices["cs"]] = cs.ravel()
        U = self.ocp(theta[:, None])[:, 0]
        phie0 = 0.0
        if not m.half_cell:
            neg = m.elec_region[m.slot_elec] == NEG
            phie0 = -float(np.mean(U[neg]))
        y[self.slices["phie"]] = phie0
        phis = np.zeros(m.n_elec)
        # average OCP per electrode cell (weights)
        np.add.at(phis, m.slot_elec, U * m.slot_weight)
        y[self.slices["phis"]] = phis + phie0
        return y

    def lithium_inventory(self, y: np.ndarray) -> float:
        """Moles of cyclable lithium per electrode area in solids + electrolyte [mol/m^2]."""
        m = self.mesh
        v = self.split(y)
        ce = v["ce"][:, 0]
        cs = v["cs"][:, :, 0]
        li_e = float(np.sum(m.eps * m.dx * ce))
        cbar = cs @ self.shell_vol * 3.0  # volume average over the sphere
        li_s = float(np.sum(cbar * m.slot_volume_fraction * m.dx[m.slot_cell]))
        return li_e + li_s

    def mean_theta(self, y: np.ndarray) -> np.ndarray:
        """Volume-averaged lithium fraction of every slot, shape (S, B)."""
        cs = self.split(y)["cs"]
        return np.einsum("skb,k->sb", cs, self.shell_vol * 3.0) / self.cmax_col
