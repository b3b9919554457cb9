"""Particle ensembles: K particle classes present at every location of a layer.

Each class k has a radius R_k, a volume weight w_k (sum 1), an area-specific film (CEI)
resistance r_f,k, a contact path length l_k and base contact resistance r_c0,k (the
contact resistance is r_c,k = r_c0,k + l_k / sigma_AM(theta_k), docs/physics.md §1.5), a
kinetic prefactor multiplier, and an isolated flag (an isolated class carries no
current: its lithium is trapped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from electrohet.errors import ParameterError


def _as_array(name: str, value: float | Sequence[float] | np.ndarray, k: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(k, float(arr))
    if arr.shape != (k,):
        raise ParameterError(
            f"ensemble.{name}: expected {k} values (one per class), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"ensemble.{name}: values must be finite, got {arr.tolist()}")
    return arr


@dataclass(frozen=True, eq=False)
class ParticleEnsemble:
    """K particle classes.

    Parameters
    ----------
    radius
        R_k [m], > 0.
    weight
        Volume weights w_k [-], >= 0, summing to 1 within 1e-9.
    film_resistance
        r_f,k [Ohm m^2] (CEI thickness / CEI ionic conductivity).
    contact_path
        l_k [m], conduction path through the active material to the carbon network.
    contact_resistance
        r_c0,k [Ohm m^2], base contact resistance.
    kinetic_factor
        Multiplier of the exchange-current prefactor [-].
    isolated
        Classes that carry no current.
    """

    radius: np.ndarray
    weight: np.ndarray
    film_resistance: np.ndarray
    contact_path: np.ndarray
    contact_resistance: np.ndarray
    kinetic_factor: np.ndarray
    isolated: np.ndarray

    def __init__(
        self,
        radius: float | Sequence[float],
        weight: float | Sequence[float] | None = None,
        film_resistance: float | Sequence[float] = 0.0,
        contact_path: float | Sequence[float] = 0.0,
        contact_resistance: float | Sequence[float] = 0.0,
        kinetic_factor: float | Sequence[float] = 1.0,
        isolated: bool | Sequence[bool] | np.ndarray = False,
    ) -> None:
        r = np.atleast_1d(np.asarray(radius, dtype=float))
        k = r.size
        if k < 1:
            raise ParameterError("ensemble: K must be >= 1 class")
        if np.any(~np.isfinite(r)) or np.any(r <= 0):
            raise ParameterError(f"ensemble.radius must be > 0 [m], got {r.tolist()}")
        w = np.full(k, 1.0 / k) if weight is None else _as_array("weight", weight, k)
        if np.any(w < 0):
            raise ParameterError(f"ensemble.weight must be >= 0, got {w.tolist()}")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ParameterError(
                f"ensemble.weight must sum to 1 within 1e-9, sums to {w.sum():.12g}"
            )
        fields = {
            "radius": r,
            "weight": w,
            "film_resistance": _as_array("film_resistance", film_resistance, k),
            "contact_path": _as_array("contact_path", contact_path, k),
            "contact_resistance": _as_array("contact_resistance", contact_resistance, k),
            "kinetic_factor": _as_array("kinetic_factor", kinetic_factor, k),
            "isolated": np.broadcast_to(np.asarray(isolated, dtype=bool), (k,)).copy(),
        }
        for name in ("film_resistance", "contact_path", "contact_resistance"):
            if np.any(fields[name] < 0):
                raise ParameterError(f"ensemble.{name} must be >= 0, got {fields[name].tolist()}")
        if np.any(fields["kinetic_factor"] <= 0):
            raise ParameterError("ensemble.kinetic_factor must be > 0")
        if np.all(fields["isolated"]):
            raise ParameterError("ensemble: at least one class must be connected (not isolated)")
        for name, val in fields.items():
            val.setflags(write=False)
            object.__setattr__(self, name, val)

    @classmethod
    def single(cls, radius: float) -> ParticleEnsemble:
        """One class of radius ``radius`` [m], no extra resistances: the classic DFN."""
        return cls(radius=[radius])

    @property
    def n_classes(self) -> int:
        return int(self.radius.size)

    @property
    def uses_contact(self) -> bool:
        """True when any class has a contact path through the active material."""
        return bool(np.any(self.contact_path > 0))

    def specific_area(self, active_fraction: float) -> np.ndarray:
        """Interfacial area per electrode volume of each class a_k = 3 eps_s w_k / R_k [1/m]."""
        return 3.0 * active_fraction * self.weight / self.radius
