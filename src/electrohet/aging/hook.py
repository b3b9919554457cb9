"""Write the degradation state into a built :class:`~electrohet.model.Simulation`.

The aging driver keeps one Simulation for the whole run (its mesh, colouring and
state vector stay valid) and changes, between cycles, only the per-slot quantities
that the P2D-E residual reads: the fixed interfacial resistance (base film + contact
resistance + CEI film + lost contact), the exchange-current prefactor (reactive
surface of cracked particles) and the isolated flags.  These are the same
quantities a :class:`~electrohet.design.ensemble.ParticleEnsemble` sets at build
time, per slot instead of per layer, so no model equation changes.
"""

from __future__ import annotations

import numpy as np

from electrohet.errors import SolverError

_MODEL_ATTRS = (
    "r_fixed",
    "kin_pref",
    "path",
    "uses_path",
    "isolated",
    "any_isolated",
    "series_resistance",
)
_MESH_ATTRS = ("slot_path", "slot_isolated")


class ModelHook:
    """Per-slot degradation knobs of one built Simulation (base values remembered)."""

    def __init__(self, sim) -> None:
        m, mesh = sim.model, sim.mesh
        missing = [a for a in _MODEL_ATTRS if not hasattr(m, a)]
        missing += [f"mesh.{a}" for a in _MESH_ATTRS if not hasattr(mesh, a)]
        if missing:
            raise SolverError(f"aging: the P2D-E model lacks the per-slot fields {missing}")
        self.sim = sim
        self.base_r_fixed = np.asarray(m.r_fixed, dtype=float)[:, 0].copy()
        self.base_kin_pref = np.asarray(m.kin_pref, dtype=float)[:, 0].copy()
        self.base_path = np.asarray(mesh.slot_path, dtype=float).copy()
        self.base_isolated = np.asarray(mesh.slot_isolated, dtype=bool).copy()
        self.base_sigma = np.asarray(mesh.sigma, dtype=float).copy()
        self.base_area = np.asarray(mesh.slot_area, dtype=float).copy()
        self.base_series = float(m.series_resistance)
        self.dxe = mesh.dx[mesh.elec_cells]
        half = np.full(mesh.n_slots, 0.5)
        self.sigma_mid = np.asarray(m._by_material("electronic_conductivity", half), dtype=float)

    def apply(
        self,
        film_resistance: np.ndarray,
        area_factor: np.ndarray,
        extra_path: np.ndarray,
        isolated: np.ndarray,
        live_fraction: np.ndarray | None = None,
    ) -> None:
        """Set the model's per-slot fields (all arrays of length n_slots).

        ``film_resistance`` [Ohm m^2] adds to the base resistances, ``area_factor``
        [-] multiplies the kinetic prefactor, ``extra_path`` [m] adds the contact
        resistance ``extra_path / sigma_AM(theta = 0.5)`` (the active material's
        conductivity at half lithiation: a lost contact is re-routed through the
        particle's neighbours, whose mean state is taken as mid-window), ``isolated``
        adds isolated slots, ``live_fraction`` [-] (default 1) is the connected share
        of each slot's particles: it scales the slot's reacting surface per volume
        ``a_k`` (the isolated share takes no current; the particle equations of the
        connected share are unchanged).
        """
        sim = self.sim
        m, mesh = sim.model, sim.mesh
        r_contact = extra_path / self.sigma_mid
        m.r_fixed = (self.base_r_fixed + film_resistance + r_contact)[:, None]
        m.kin_pref = (self.base_kin_pref * area_factor)[:, None]
        if live_fraction is not None:
            import scipy.sparse as sp

            a = self.base_area * live_fraction
            mesh.slot_area = a
            ns, n, ne = mesh.n_slots, m.P_cell.shape[0], m.P_elec.shape[0]
            m.P_cell = sp.csr_matrix((a, (mesh.slot_cell, np.arange(ns))), shape=(n, ns))
            m.P_elec = sp.csr_matrix((a, (mesh.slot_elec, np.arange(ns))), shape=(ne, ns))
        iso = self.base_isolated | isolated
        mesh.slot_isolated = iso
        m.isolated = iso
        m.any_isolated = bool(np.any(iso))
        sim.integrator.J = None
        sim.integrator.lu = None

    def set_collector_contact(self, factor: float) -> float:
        """Scale the conductance of the coating / current-collector contact by
        ``factor`` [-] (relative to the fresh cell's ``contact_resistance``); returns
        the new series resistance [Ohm m^2]."""
        r = self.base_series / factor
        self.sim.model.series_resistance = r
        self.sim.integrator.J = None
        self.sim.integrator.lu = None
        return r

    def set_matrix_conductivity(self, factor: np.ndarray) -> None:
        """Scale the matrix (carbon-binder network) conductivity of every electrode
        cell by ``factor`` [-] (relative to the fresh cell), re-deriving the solid-phase
        face resistances the residual uses."""
        m = self.sim.model
        for a in ("s_face_res", "s_face_left", "r_half_last", "pos_last"):
            if not hasattr(m, a):
                raise SolverError(f"aging: the P2D-E model lacks the solid-phase field {a!r}")
        sigma = self.base_sigma * factor
        r_half = self.dxe / (2.0 * sigma)
        left = m.s_face_left
        m.s_face_res = (r_half[left] + r_half[left + 1])[:, None]
        m.r_half_last = float(r_half[m.pos_last])
        if getattr(m, "neg_first", -1) >= 0:
            m.r_half_first = float(r_half[m.neg_first])
