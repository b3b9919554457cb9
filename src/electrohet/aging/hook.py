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

from typing import TYPE_CHECKING

import numpy as np

from electrohet.errors import SolverError

if TYPE_CHECKING:
    from electrohet.model.simulation import Simulation

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
    """Per-slot degradation knobs of one built Simulation (base values remembered).

    Every change goes through the model's public setters
    (:meth:`~electrohet.model.p2de.P2DEModel.set_film_resistance` and its siblings),
    which keep the compiled kernels' parameters and the integrator's Jacobian
    consistent.

    Parameters
    ----------
    sim
        The built :class:`~electrohet.model.Simulation` to age.
    """

    def __init__(self, sim: Simulation) -> None:
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
        half = np.full(mesh.n_slots, 0.5)
        self.sigma_mid = np.asarray(m.active_material_conductivity(half), dtype=float)

    def apply(
        self,
        film_resistance: np.ndarray,
        area_factor: np.ndarray,
        extra_path: np.ndarray,
        isolated: np.ndarray,
        live_fraction: np.ndarray | None = None,
    ) -> None:
        """Set the model's per-slot fields (all arrays of length n_slots).

        Parameters
        ----------
        film_resistance
            Added to the base interfacial resistances [Ohm m^2].
        area_factor
            Multiplies the kinetic prefactor [-] (reactive surface of cracked
            particles).
        extra_path
            Added contact path [m]: adds the contact resistance ``extra_path /
            sigma_AM(theta = 0.5)`` (the active material's conductivity at half
            lithiation: a lost contact is re-routed through the particle's
            neighbours, whose mean state is taken as mid-window).
        isolated
            Slots isolated by aging (added to the design's isolated slots).
        live_fraction
            The connected share of each slot's particles [-] (default 1): it scales
            the slot's reacting surface per volume ``a_k`` (the isolated share takes
            no current; the particle equations of the connected share are
            unchanged).
        """
        m = self.sim.model
        r_contact = extra_path / self.sigma_mid
        m.set_film_resistance(self.base_r_fixed + film_resistance + r_contact)
        m.set_exchange_prefactor(self.base_kin_pref * area_factor)
        if live_fraction is not None:
            m.set_reacting_area(self.base_area * live_fraction)
        m.set_isolated(self.base_isolated | isolated)

    def set_collector_contact(self, factor: float) -> float:
        """Scale the conductance of the coating / current-collector contact.

        Parameters
        ----------
        factor
            Conductance relative to the fresh cell's ``contact_resistance`` [-].

        Returns
        -------
        float
            The new series resistance [Ohm m^2].
        """
        r = self.base_series / factor
        self.sim.model.set_series_resistance(r)
        return r

    def set_matrix_conductivity(self, factor: np.ndarray) -> None:
        """Scale the matrix (carbon-binder network) conductivity of every electrode cell.

        Parameters
        ----------
        factor
            Per electrode cell, relative to the fresh cell [-]; the model re-derives
            the solid-phase face resistances its residual uses.
        """
        self.sim.model.set_matrix_conductivity(self.base_sigma * factor)
