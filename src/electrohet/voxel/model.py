"""Residual and analytic Jacobian of the voxel-resolved half cell (backward-Euler form;
BDF2 steps use it with an effective old state and step, see ``Simulation._bdf_step``).

Unknowns (in this order): c_e of every electrolyte cell (voxels, then separator cells)
[mol/m^3], c_s of every AM voxel [mol/m^3], phi_e of every electrolyte cell [V], phi_s of
every solid cell (AM then CBD) [V], the applied current density I [A/m^2 of
cross-section, > 0 = discharge] and the collector potential V [V vs the Li foil].

Equations (docs/physics.md §1 and §8, written per cell; fluxes through faces, harmonic means):

* electrolyte salt:  eps V_c dc_e/dt + sum_faces N = (1 - t+) / F * sum_reaction i A
  (+ the Li foil's (1 - t+) I A / F in the last separator cell),
  N = -D_e(c) eps/tau grad c_e, as in the porous-electrode model;
* electrolyte charge: sum_faces i_e = sum_reaction i A (+ foil current),
  i_e = -kappa(c) eps/tau [grad phi_e - chi grad ln c_e], chi = 2RT(1-t+)(1+dlnf/dlnc)/F;
* solid lithium (AM): V_c dc_s/dt + sum_faces N_s = -sum_reaction i A / F;
* solid charge: sum_faces i_s + sum_reaction i A + collector current = 0,
  i_s = -sigma grad phi_s with sigma_AM(theta) (material) or sigma_CBD;
* collector: sum_collector G (phi_s - V) = I A;  control: I = I_set, V = V_set or I = 0.

Butler-Volmer on every reaction face, with the same DFN exchange current and smooth
floors as :class:`electrohet.model.p2de.P2DEModel` and a film resistance r_f [Ohm m^2]
per face solved implicitly (i = i0 [exp(a_a f (eta0 - i r_f)) - exp(-a_c f (...))]);
both models evaluate i0 and i with :mod:`electrohet.materials.kinetics`.
The Li-metal counter electrode follows p2de's boundary (i0 of the foil, arcsinh law,
:func:`~electrohet.materials.kinetics.symmetric_overpotential`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from electrohet.engine.control import Control
from electrohet.errors import ParameterError
from electrohet.materials.base import R_GAS, ActiveMaterial, Electrolyte, F, LithiumMetal
from electrohet.materials.kinetics import (
    butler_volmer,
    butler_volmer_slope,
    exchange_current_powers,
    soft_floor,
    soft_floor_slope,
    symmetric_overpotential,
)
from electrohet.voxel._kernels import add_into_slots, csr_pattern
from electrohet.voxel.geometry import Faces, VoxelGrid


def _scatter(R: np.ndarray, index: np.ndarray, values) -> None:
    """R[index] += values with repeated indices summed (a fast ``np.add.at``)."""
    R += np.bincount(
        np.asarray(index).ravel(),
        weights=np.broadcast_to(values, np.shape(index)).ravel(),
        minlength=R.size,
    )


def _soft_positive(x: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Smooth max(x, 0) (the kinetics' floor) and its derivative."""
    return soft_floor(x, delta), soft_floor_slope(x, delta)


def _with_slope(fn, x: np.ndarray, step: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Value and central-difference slope of a vectorised material function."""
    v = fn(x)
    s = (fn(x + step) - fn(x - step)) / (2.0 * step)
    return v, s


class VoxelModel:
    """Backward-Euler residual ``R(y; y_old, dt)`` and its sparse Jacobian."""

    def __init__(
        self,
        grid: VoxelGrid,
        material: ActiveMaterial,
        electrolyte: Electrolyte,
        li_metal: LithiumMetal,
        film_resistance: np.ndarray,
        temperature: float = 298.15,
    ) -> None:
        g = grid
        self.grid = g
        self.material = material
        self.electrolyte = electrolyte
        self.li_metal = li_metal
        self.T = temperature
        self.f_rt = F / (R_GAS * temperature)
        t_plus = electrolyte.constant_transference
        tdf = electrolyte.constant_thermodynamic_factor
        if t_plus is None or tdf is None:
            raise ParameterError(
                f"electrolyte {electrolyte.name!r}: the voxel model needs a constant "
                "transference number and thermodynamic factor (the P2D-E model takes "
                "functions of c_e)"
            )
        self.t_plus = t_plus
        self.chi = 2.0 * R_GAS * temperature * (1.0 - t_plus) * tdf / F
        r_f = np.asarray(film_resistance, dtype=float)
        self.r_film = np.broadcast_to(r_f, (g.r_faces.n,)).astype(float).copy()
        ne, na, ns = g.n_e, g.n_am, g.n_solid
        sizes = [("ce", ne), ("cs", na), ("phie", ne), ("phis", ns), ("I", 1), ("V", 1)]
        self.slices: dict[str, slice] = {}
        start = 0
        for name, size in sizes:
            self.slices[name] = slice(start, start + size)
            start += size
        self.n = start
        self.o_ce = self.slices["ce"].start
        self.o_cs = self.slices["cs"].start
        self.o_pe = self.slices["phie"].start
        self.o_ps = self.slices["phis"].start
        self.iI = self.slices["I"].start
        self.iV = self.slices["V"].start
        mass = np.zeros(self.n)
        mass[self.slices["ce"]] = g.e_porosity * g.e_volume
        mass[self.slices["cs"]] = g.voxel_volume
        self.mass = mass
        self._i_guess = np.zeros(g.r_faces.n)
        # CSR pattern of the Jacobian per control mode (geometry-fixed): built once
        self._pattern: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}

    # ------------------------------------------------------------------ helpers
    def split(self, y: np.ndarray) -> dict[str, np.ndarray]:
        return {k: y[s] for k, s in self.slices.items()}

    def initial_state(self, theta0: float) -> np.ndarray:
        """Uniform rest state at lithium fraction ``theta0`` (potentials consistent at I = 0)."""
        y = np.zeros(self.n)
        mat = self.material
        y[self.slices["ce"]] = self.electrolyte.c0
        y[self.slices["cs"]] = theta0 * mat.c_max
        U = float(mat.ocp(np.array([theta0]))[0])
        y[self.slices["phie"]] = 0.0
        y[self.slices["phis"]] = U
        y[self.iV] = U
        return y

    def sigma_solid(self, cs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conductivity of every solid cell [S/m] and d sigma / d c_s (AM cells)."""
        mat = self.material
        th = cs / mat.c_max
        sig_am, dsig = _with_slope(mat.electronic_conductivity, th, 1e-6)
        sig = self.grid.s_sigma_fixed.copy()
        sig[: self.grid.n_am] = sig_am
        return sig, dsig / mat.c_max

    def lithium(self, y: np.ndarray) -> tuple[float, float]:
        """(moles of Li in the AM, moles of salt in the electrolyte) [mol]."""
        g = self.grid
        v = self.split(y)
        return (
            float(np.sum(v["cs"]) * g.voxel_volume),
            float(np.sum(v["ce"] * g.e_porosity * g.e_volume)),
        )

    def conservation_weights(self, mode: str) -> tuple[np.ndarray, np.ndarray]:
        """Row weights of the discrete conservation laws and their correction directions.

        ``W[k] @ R(y; y_old, dt)`` telescopes to a function of the cell state alone
        (interior fluxes and the reaction terms cancel exactly):

        * k = 0, lithium in the AM: the c_s rows [mol/s] minus the solid-charge rows
          over F, plus the collector balance row over F, sum to
          ``(n_Li(y) - n_Li(y_old)) / dt - I A / F``;
        * k = 1, salt in the electrolyte: the c_e rows plus (1 - t+)/F times the
          solid-charge rows minus the balance row sum to ``(n_salt(y) - n_salt(y_old))
          / dt``.

        ``U[k]`` is a uniform shift of c_s (k = 0) or c_e (k = 1), the direction along
        which :class:`~electrohet.voxel.solver.NewtonSolver` enforces both laws on each
        Newton update (so the converged step conserves them to round-off even when
        the update itself is only accurate to the Newton tolerance).

        Parameters
        ----------
        mode
            ``"current"`` or ``"voltage"``: which of the I and V rows holds the
            collector balance.

        Returns
        -------
        W, U
            Arrays of shape (2, n).
        """
        bal = self.iV if mode == "current" else self.iI
        k1 = (1.0 - self.t_plus) / F
        W = np.zeros((2, self.n))
        U = np.zeros((2, self.n))
        W[0, self.slices["cs"]] = 1.0
        W[0, self.slices["phis"]] = -1.0 / F
        W[0, bal] = 1.0 / F
        W[1, self.slices["ce"]] = 1.0
        W[1, self.slices["phis"]] = k1
        W[1, bal] = -k1
        U[0, self.slices["cs"]] = 1.0
        U[1, self.slices["ce"]] = 1.0
        return W, U

    def surface_potential(self, y: np.ndarray) -> np.ndarray:
        """Potential of the particle surface against the electrolyte at every reaction
        face, inside the film: ``E_s = phi_s - phi_e - i r_f`` [V] (the potential that
        drives side reactions, e.g. CEI growth)."""
        g = self.grid
        v = self.split(y)
        i = self.reaction(y)[0]
        return v["phis"][g.r_faces.p] - v["phie"][g.r_faces.q] - i * self.r_film

    # ---------------------------------------------------------------- kinetics
    def reaction(self, y: np.ndarray, tol: float = 1e-13):
        """Current density i [A/m^2] of every reaction face and its partial derivatives.

        Returns ``i, di/dphi_s (= -di/dphi_e), di/dc_s, di/dc_e``.
        """
        g = self.grid
        mat = self.material
        v = self.split(y)
        a, e = g.r_faces.p, g.r_faces.q
        cs = v["cs"][a]
        ce = v["ce"][e]
        cmax = mat.c_max
        th = np.clip(cs / cmax, 0.0, 1.0)
        U, dU = _with_slope(mat.ocp, th, 1e-7)
        dU = np.where((cs > 0) & (cs < cmax), dU / cmax, 0.0)
        delta = 1e-9 * cmax
        occ, docc = _soft_positive(cs, delta)
        vac, dvac = _soft_positive(cmax - cs, delta)
        cep, dcep = _soft_positive(ce, 1e-9)
        aa, ac = mat.alpha_a, mat.alpha_c
        a_e, a_v, a_o = mat.exchange_exponents
        i0 = exchange_current_powers(mat.exchange_prefactor, cep, vac, occ, a_e, a_v, a_o)
        di0_dcs = i0 * (-a_v * dvac / vac + a_o * docc / occ)
        di0_dce = i0 * a_e * dcep / cep
        eta0 = v["phis"][a] - v["phie"][e] - U
        rf = self.r_film
        f = self.f_rt
        i = self._i_guess.copy() if self._i_guess.size == a.size else np.zeros(a.size)
        if np.any(rf > 0):
            # scalar Newton per face on i - i_BV(i0, eta0 - r i) = 0
            for _ in range(60):
                eta = eta0 - rf * i
                res = i - butler_volmer(i0, eta, aa, ac, f)
                dres = 1.0 + rf * butler_volmer_slope(i0, eta, aa, ac, f)
                step = res / dres
                i = i - step
                if np.all(np.abs(step) <= tol * (np.abs(i) + 1e-3 * i0 + 1e-30)):
                    break
        eta = eta0 - rf * i
        i = butler_volmer(i0, eta, aa, ac, f)
        gp = butler_volmer_slope(i0, eta, aa, ac, f)  # d i / d eta at fixed i0
        den = 1.0 + rf * gp
        di_deta0 = gp / den
        di_di0 = butler_volmer(1.0, eta, aa, ac, f) / den
        self._i_guess = i.copy()
        di_dphis = di_deta0
        di_dcs = -di_deta0 * dU + di_di0 * di0_dcs
        di_dce = di_di0 * di0_dce
        return i, di_dphis, di_dcs, di_dce

    def foil(self, phie_last: float, ce_last: float, I: float):
        """Ionic current density [A/m^2] entering the last separator cell from the Li foil
        and its derivatives with respect to (phi_e, c_e, I) of that cell."""

        def fn(p, c, cur):
            g = self.grid
            el = self.electrolyte
            d = g.sep_thickness / g.n_sep
            w = g.e_transport[-1]
            De = float(el.diffusivity(np.array([c]))[0]) * w
            ka = float(el.conductivity(np.array([c]))[0]) * w
            c_b = max(c + 0.5 * d * (1.0 - self.t_plus) * cur / F / De, 1e-6)
            i0 = float(self.li_metal.exchange_current(c_b))
            phi_b = -symmetric_overpotential(cur, i0, self.f_rt)
            return -((p - phi_b) - self.chi * (np.log(max(c, 1e-9)) - np.log(c_b))) / (0.5 * d / ka)

        val = fn(phie_last, ce_last, I)
        hs = (1e-7, 1e-6 * max(ce_last, 1.0), 1e-7 * max(1.0, abs(I)))
        x = [phie_last, ce_last, I]
        der = []
        for k in range(3):
            xp = list(x)
            xm = list(x)
            xp[k] += hs[k]
            xm[k] -= hs[k]
            der.append((fn(*xp) - fn(*xm)) / (2 * hs[k]))
        return val, der

    # ---------------------------------------------------------------- residual
    def residual(
        self,
        y: np.ndarray,
        y_old: np.ndarray,
        dt: float,
        control: Control,
        jacobian: bool = True,
    ):
        """Backward-Euler residual R(y) (and its Jacobian as CSR when ``jacobian``)."""
        g = self.grid
        el = self.electrolyte
        mat = self.material
        v = self.split(y)
        ce, cs, phie, phis = v["ce"], v["cs"], v["phie"], v["phis"]
        I, V = float(v["I"][0]), float(v["V"][0])
        R = np.zeros(self.n)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        pattern = self._pattern.get(control.mode)
        # with a known pattern every group of entries is summed into the CSR values at
        # once (no list of all ~85 M entries at 128^3 and its concatenated copy: they
        # set the run's peak memory)
        out = np.zeros(pattern[1].size) if jacobian and pattern is not None else None
        pos = [0]

        def add(r, c, val):
            if not jacobian:
                return
            if out is not None:
                shape = np.broadcast_shapes(np.shape(r), np.shape(c), np.shape(val))
                v = np.broadcast_to(np.asarray(val, float), shape).ravel()
                if pos[0] + v.size <= pattern[3]:
                    add_into_slots(out, pattern[2], pos[0], v)
                pos[0] += v.size
                return
            r, c, val = np.broadcast_arrays(np.asarray(r), np.asarray(c), np.asarray(val, float))
            vals.append(val.ravel())
            # first call: int32 pairs for the pattern build
            rows.append(r.ravel().astype(np.int32))
            cols.append(c.ravel().astype(np.int32))

        # time derivative of the differential unknowns
        if dt is not None:
            R += self.mass * (y - y_old) / dt
            diff = np.flatnonzero(self.mass)
            add(diff, diff, self.mass[diff] / dt)

        # ---------------- electrolyte transport
        ef: Faces = g.e_faces
        p, q = ef.p, ef.q
        ce_pos = np.maximum(ce, 1e-9)
        De, dDe = _with_slope(el.diffusivity, ce_pos, 1e-4 * ce_pos + 1e-6)
        ka, dka = _with_slope(el.conductivity, ce_pos, 1e-4 * ce_pos + 1e-6)
        w = g.e_transport
        kD, dkD = De * w, dDe * w
        kK, dkK = ka * w, dka * w
        self._face_flux(R, add, ef, self.o_ce, ce, self.o_ce, kD, dkD, ce)
        # ionic current: i_pq = -G_K [(phi_q - phi_p) - chi (ln c_q - ln c_p)]
        rK = ef.dp / kK[p] + ef.dq / kK[q]
        GK = ef.area / rK
        lnc = np.log(ce_pos)
        delta = (phie[q] - phie[p]) - self.chi * (lnc[q] - lnc[p])
        flux = -GK * delta
        rp, rq = self.o_pe + p, self.o_pe + q
        _scatter(R, rp, flux)
        _scatter(R, rq, -flux)
        if jacobian:
            dG_dp = GK * GK / ef.area * ef.dp / kK[p] ** 2 * dkK[p]
            dG_dq = GK * GK / ef.area * ef.dq / kK[q] ** 2 * dkK[q]
            for col, d in (
                (self.o_pe + p, GK),
                (self.o_pe + q, -GK),
                (self.o_ce + p, -GK * self.chi / ce_pos[p] - delta * dG_dp),
                (self.o_ce + q, GK * self.chi / ce_pos[q] - delta * dG_dq),
            ):
                add(rp, col, d)
                add(rq, col, -d)

        # ---------------- solid transport (electrons) and diffusion
        sig, dsig = self.sigma_solid(cs)
        dsig_full = np.zeros(g.n_solid)
        dsig_full[: g.n_am] = dsig
        sf = g.s_faces
        rS = sf.dp / sig[sf.p] + sf.dq / sig[sf.q]
        GS = sf.area / rS
        dphi = phis[sf.q] - phis[sf.p]
        flux = -GS * dphi
        rp, rq = self.o_ps + sf.p, self.o_ps + sf.q
        _scatter(R, rp, flux)
        _scatter(R, rq, -flux)
        if jacobian:
            dG_dp = GS * GS / sf.area * sf.dp / sig[sf.p] ** 2 * dsig_full[sf.p]
            dG_dq = GS * GS / sf.area * sf.dq / sig[sf.q] ** 2 * dsig_full[sf.q]
            am_p, am_q = sf.p < g.n_am, sf.q < g.n_am
            for col, d, m in (
                (self.o_ps + sf.p, GS, None),
                (self.o_ps + sf.q, -GS, None),
                (self.o_cs + sf.p, -dphi * dG_dp, am_p),
                (self.o_cs + sf.q, -dphi * dG_dq, am_q),
            ):
                if m is None:
                    add(rp, col, d)
                    add(rq, col, -d)
                else:
                    add(rp[m], col[m], d[m])
                    add(rq[m], col[m], -d[m])
        th = cs / mat.c_max
        Ds, dDs = _with_slope(mat.diffusivity, th, 1e-6)
        self._face_flux(R, add, g.a_faces, self.o_cs, cs, self.o_cs, Ds, dDs / mat.c_max, cs)

        # collector
        cc = g.cc_cells
        Gcc = g.cc_area / (g.cc_dist / sig[cc])
        icc = Gcc * (phis[cc] - V)
        _scatter(R, self.o_ps + cc, icc)
        # collector balance: row iV under current control, row iI under voltage control
        bal = self.iV if control.mode == "current" else self.iI
        R[bal] = np.sum(icc) - I * g.area
        if jacobian:
            dGcc = Gcc * dsig_full[cc] / sig[cc]
            add(self.o_ps + cc, self.o_ps + cc, Gcc)
            add(self.o_ps + cc, self.iV, -Gcc)
            add(bal, self.o_ps + cc, Gcc)
            add(bal, self.iI, -g.area)
            add(bal, self.iV, -np.sum(Gcc))
            am_cc = cc < g.n_am
            dd = dGcc * (phis[cc] - V)
            add(self.o_ps + cc[am_cc], self.o_cs + cc[am_cc], dd[am_cc])
            add(bal, self.o_cs + cc[am_cc], dd[am_cc])

        if g.pinned.size:
            R[self.o_ps + g.pinned] += 1e-12 * phis[g.pinned]
            add(self.o_ps + g.pinned, self.o_ps + g.pinned, 1e-12)

        # ---------------- reactions
        rf = g.r_faces
        i, di_dps, di_dcs, di_dce = self.reaction(y)
        Ai = rf.area * i
        a, e = rf.p, rf.q
        k1 = (1.0 - self.t_plus) / F
        _scatter(R, self.o_ps + a, Ai)  # solid charge: current leaves the solid
        _scatter(R, self.o_pe + e, -Ai)  # electrolyte charge: current enters
        _scatter(R, self.o_cs + a, Ai / F)  # delithiation removes Li from the solid
        _scatter(R, self.o_ce + e, -k1 * Ai)  # and adds salt to the electrolyte
        if jacobian:
            for rrow, fac in (
                (self.o_ps + a, 1.0),
                (self.o_pe + e, -1.0),
                (self.o_cs + a, 1.0 / F),
                (self.o_ce + e, -k1),
            ):
                Af = fac * rf.area
                add(rrow, self.o_ps + a, Af * di_dps)
                add(rrow, self.o_pe + e, -Af * di_dps)
                add(rrow, self.o_cs + a, Af * di_dcs)
                add(rrow, self.o_ce + e, Af * di_dce)

        # ---------------- Li foil at the end of the separator
        last = g.sep_last
        i_f, (d_pe, d_ce, d_I) = self.foil(float(phie[last]), float(ce[last]), I)
        R[self.o_pe + last] -= i_f * g.area
        R[self.o_ce + last] -= k1 * I * g.area
        add(
            self.o_pe + last,
            [self.o_pe + last, self.o_ce + last, self.iI],
            [-d_pe * g.area, -d_ce * g.area, -d_I * g.area],
        )
        add(self.o_ce + last, self.iI, -k1 * g.area)

        # ---------------- control
        if control.mode == "current":
            R[self.iI] = I - control.value
            add(self.iI, self.iI, 1.0)
        else:
            R[self.iV] = V - control.value
            add(self.iV, self.iV, 1.0)
        if not jacobian:
            return R
        if out is not None:
            if pos[0] != pattern[3]:  # pragma: no cover - the entries are fixed
                # a different set of entries than the pattern was built from: build it
                # again from a full assembly
                del self._pattern[control.mode]
                return self.residual(y, y_old, dt, control)
            return R, sp.csr_matrix((out, pattern[1], pattern[0]), shape=(self.n, self.n))
        data = np.concatenate(vals)
        vals.clear()
        pattern = self._build_pattern(rows, cols)
        self._pattern[control.mode] = pattern
        indptr, indices, inverse, _ = pattern
        values = np.zeros(indices.size)
        add_into_slots(values, inverse, 0, data)
        return R, sp.csr_matrix((values, indices, indptr), shape=(self.n, self.n))

    def _build_pattern(self, rows: list[np.ndarray], cols: list[np.ndarray]):
        """CSR structure of the Jacobian and the map from assembly entries to CSR slots.

        The entries are produced in the same order at every call (the geometry fixes
        them), so later Jacobians only sum values into the slots, group by group as
        they are produced (:func:`~electrohet.voxel._kernels.add_into_slots`), instead
        of sorting millions
        of (row, column) pairs again.  All index arrays are int32 (SciPy would
        otherwise make an int32 copy of ``indices`` for every Jacobian; at 128^3 the
        pattern is ~50 M non-zeros from ~85 M entries), and the build works on int32
        pairs (:func:`~electrohet.voxel._kernels.csr_pattern`).
        """
        n = self.n
        if n >= np.iinfo(np.int32).max:
            raise ParameterError(f"{n} unknowns: the voxel Jacobian needs < 2^31 unknowns")
        r = np.concatenate(rows, dtype=np.int32, casting="same_kind")
        rows.clear()
        c = np.concatenate(cols, dtype=np.int32, casting="same_kind")
        cols.clear()
        indptr, indices, slot = csr_pattern(r, c, n)
        return indptr, indices, slot, int(r.size)

    @staticmethod
    def _face_flux(R, add, faces: Faces, row0, u, col0, k, dk, x) -> None:
        """Add N_pq = -G (u_q - u_p), G = area / (dp/k_p + dq/k_q) (k a function of u)."""
        p, q = faces.p, faces.q
        if p.size == 0:
            return
        G = faces.area / (faces.dp / k[p] + faces.dq / k[q])
        du = u[q] - u[p]
        flux = -G * du
        rp, rq = row0 + p, row0 + q
        _scatter(R, rp, flux)
        _scatter(R, rq, -flux)
        dG_dp = G * G / faces.area * faces.dp / k[p] ** 2 * dk[p]
        dG_dq = G * G / faces.area * faces.dq / k[q] ** 2 * dk[q]
        for col, d in ((col0 + p, G - du * dG_dp), (col0 + q, -G - du * dG_dq)):
            add(rp, col, d)
            add(rq, col, -d)
