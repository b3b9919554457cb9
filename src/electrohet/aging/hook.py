"""Write the degradation state into a built :class:`~electrohet.model.Simulation`.

The aging driver keeps one Simulation for the whole run (its mesh, colouring and
state vector stay valid) and changes, between cycles, only the per-slot quantities
that the P2D-E residual reads: the fixed interfacial resistance (base film + contact
resistance + CEI film), the exchange-current prefactor (reactive surface of cracked
particles), the contact path length and the isolated flags.  These are the same
quantities a :class:`~electrohet.design.ensemble.ParticleEnsemble` sets at build
time, per slot instead of per layer, so no model equation changes.
"""

from __future__ import annotations

import numpy as np

from electrohet.errors import SolverError
from electrohet.model.jacobian import ColouredJacobian

_MODEL_ATTRS = ("r_fixed", "kin_pref", "path", "uses_path", "isolated", "any_isolated")
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

    def apply(
        self,
        film_resistance: np.ndarray,
        area_factor: np.ndarray,
        extra_path: np.ndarray,
        isolated: np.ndarray,
    ) -> None:
        """Set the model's per-slot fields (all arrays of length n_slots).

        ``film_resistance`` [Ohm m^2] adds to the base resistances, ``area_factor``
        [-] multiplies the kinetic prefactor, ``extra_path`` [m] adds to the contact
        path, ``isolated`` adds isolated slots.
        """
        sim = self.sim
        m, mesh = sim.model, sim.mesh
        m.r_fixed = (self.base_r_fixed + film_resistance)[:, None]
        m.kin_pref = (self.base_kin_pref * area_factor)[:, None]
        path = self.base_path + extra_path
        rewired = bool(np.any((path > 0) != (mesh.slot_path > 0)))
        mesh.slot_path = path
        m.path = path[:, None]
        m.uses_path = bool(np.any(path > 0))
        iso = self.base_isolated | isolated
        mesh.slot_isolated = iso
        m.isolated = iso
        m.any_isolated = bool(np.any(iso))
        if rewired:  # contact resistance now depends on the mean theta of more slots
            sim.integrator.jac = ColouredJacobian(m.sparsity(), sim.scale)
        sim.integrator.J = None
        sim.integrator.lu = None
