"""Electrode formulation: weight fractions -> volume fractions, slurry eq. 1, delta.

Yari 2020 (bilayer; ACS Appl. Energy Mater. 3 (2020) 11820; docs/physics.md §3): the
solid volume fraction of a slurry follows (eq. 1)

    1/phi ~= 1 + rho_a (s_a + s_c f_c) t_s / (1 - f_c)

with rho_a the active-material density, s_a, s_c the specific surface areas of active
material and carbon, f_c the carbon mass fraction and t_s the solvent shell thickness;
the heterogeneity factor of a multilayer electrode is (eq. 3)

    delta = sum_i (w_i / w_t) |f_c,i - f_c,t| / f_c,t

with w_i the solid loading of layer i and f_c,t the mass-averaged carbon fraction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from electrohet.errors import ParameterError, check_range

CARBON_BLACK_DENSITY = 1950.0  # kg/m^3, conductive carbon black (e.g. C65), typical value
PVDF_DENSITY = 1780.0  # kg/m^3, PVDF binder


@dataclass(frozen=True)
class Formulation:
    """Dry composition of an electrode layer by mass.

    Parameters
    ----------
    active, carbon, binder
        Mass fractions of active material, conductive carbon and binder [-] (sum 1).
    active_density, carbon_density, binder_density
        True densities [kg/m^3].
    """

    active: float
    carbon: float
    binder: float
    active_density: float
    carbon_density: float = CARBON_BLACK_DENSITY
    binder_density: float = PVDF_DENSITY

    def __post_init__(self) -> None:
        for key in ("active", "carbon", "binder"):
            check_range(f"formulation.{key}", getattr(self, key), 0, 1)
        total = self.active + self.carbon + self.binder
        if abs(total - 1.0) > 1e-9:
            raise ParameterError(
                f"formulation: active + carbon + binder = {total:.12g}, must equal 1 within 1e-9"
            )
        for key in ("active_density", "carbon_density", "binder_density"):
            check_range(f"formulation.{key}", getattr(self, key), 0, low_inclusive=False)

    def solid_volume_fractions(self) -> tuple[float, float]:
        """(active, CBD) volume fractions of the solid phase [-]."""
        va = self.active / self.active_density
        vc = self.carbon / self.carbon_density + self.binder / self.binder_density
        return va / (va + vc), vc / (va + vc)

    def volume_fractions(self, porosity: float) -> tuple[float, float]:
        """(active, CBD) volume fractions of the electrode at ``porosity`` [-]."""
        check_range("porosity", porosity, 0, 1, low_inclusive=False, high_inclusive=False)
        a, c = self.solid_volume_fractions()
        return (1.0 - porosity) * a, (1.0 - porosity) * c

    def thickness_for_loading(self, active_loading: float, porosity: float) -> float:
        """Layer thickness [m] that holds ``active_loading`` [kg/m^2] of active material."""
        check_range("active_loading", active_loading, 0, low_inclusive=False)
        eps_a, _ = self.volume_fractions(porosity)
        return active_loading / (self.active_density * eps_a)


def slurry_solid_fraction(
    carbon_fraction: float,
    solvent_shell: float,
    active_density: float,
    active_surface: float,
    carbon_surface: float,
) -> float:
    """Solid volume fraction phi of a slurry (Yari 2020 eq. 1).

    Parameters
    ----------
    carbon_fraction
        f_c, carbon mass fraction of the solids [-].
    solvent_shell
        t_s, solvent shell thickness [m].
    active_density
        rho_a [kg/m^3].
    active_surface, carbon_surface
        s_a, s_c specific surface areas [m^2/kg].
    """
    fc = check_range("carbon_fraction", carbon_fraction, 0, 1, high_inclusive=False)
    check_range("solvent_shell", solvent_shell, 0)
    inv = 1.0 + active_density * (active_surface + carbon_surface * fc) * solvent_shell / (1.0 - fc)
    return 1.0 / inv


def heterogeneity_factor(loadings: Sequence[float], carbon_fractions: Sequence[float]) -> float:
    """Heterogeneity factor delta of a multilayer electrode (Yari 2020 eq. 3).

    Parameters
    ----------
    loadings
        Solid loading w_i of each layer (any consistent unit).
    carbon_fractions
        Carbon mass fraction f_c,i of each layer [-].
    """
    w = np.asarray(loadings, dtype=float)
    fc = np.asarray(carbon_fractions, dtype=float)
    if w.shape != fc.shape or w.size == 0:
        raise ParameterError(
            "heterogeneity_factor: loadings and carbon_fractions must have the same length >= 1"
        )
    if np.any(w < 0) or w.sum() <= 0:
        raise ParameterError(
            f"heterogeneity_factor: loadings must be >= 0 with a positive sum, got {w.tolist()}"
        )
    fct = float(np.sum(w * fc) / w.sum())
    if fct <= 0:
        raise ParameterError("heterogeneity_factor: mass-averaged carbon fraction must be > 0")
    return float(np.sum(w / w.sum() * np.abs(fc - fct)) / fct)
