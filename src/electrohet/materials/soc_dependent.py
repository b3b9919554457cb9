"""SOC-dependent NMC transport properties as cited tables, and an NMC532 material.

Layered NMC is nearly an insulator when fully lithiated and becomes a metal-like
conductor after a few per cent of delithiation; its Li diffusivity is lowest near full
lithiation (docs/physics.md §2.2; Sharma 2022 fig. 4b-c).  Both properties are given here as
tables of the lithium fraction y (= theta = c / c_max) interpolated in log space, so
that they plug straight into :class:`~electrohet.materials.base.ActiveMaterial` as the
vectorised callables ``electronic_conductivity(theta)`` and ``diffusivity(theta)``.

Sources
-------
Amin, R., Chiang, Y.-M., "Characterization of Electronic and Ionic Transport in
Li1-xNi0.33Mn0.33Co0.33O2 (NMC333) and Li1-xNi0.50Mn0.20Co0.30O2 (NMC523) as a Function
of Li Content", J. Electrochem. Soc. 163 (2016) A1512: electronic conductivity rises
from ~1e-7 S/cm (1e-5 S/m) at Li1.0 to ~1e-2 S/cm (1 S/m) at Li0.25.
Colclasure, A. M., et al., "Electrode scale and electrolyte transport effects on extreme
fast charging of lithium-ion cells", Electrochim. Acta 337 (2020) 135854: NMC532
diffusivity 5.9e-15 m^2/s at y = 0.3 falling to 1.4e-19 m^2/s at y = 1.0.
Mohtat, P., Lee, S., Siegel, J. B., Stefanopoulou, A. G., "Towards better estimability
of electrode-specific state of health: Decoding the cell expansion", J. Power Sources
427 (2019) 101 / Mohtat et al., J. Electrochem. Soc. 167 (2020) 110561: NMC532 OCP fit,
c_max = 35380 mol/m^3, rate prefactor 4.824e-6 A/m^2 (m^3/mol)^1.5.

The intermediate table points are approximate readings of the curves adopted by
Sharma et al. (Nano Lett. 22 (2022) 5883, fig. 4b-c), which are built on the two sources
above; only the end points are quoted values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.interpolate import PchipInterpolator

from electrohet.errors import ParameterError
from electrohet.materials.base import ActiveMaterial, constant


@dataclass(frozen=True, eq=False)
class LogTable:
    """A positive property tabulated against lithium fraction, interpolated in log space.

    Shape-preserving (PCHIP) cubic interpolation of ``log(value)`` against ``theta``; the
    end values are held constant outside the table.  The result is C1, so Newton and
    finite-difference Jacobians see no kinks.

    Parameters
    ----------
    name
        Key used in error messages, e.g. ``"nmc532.diffusivity"``.
    theta
        Lithium fractions y [-], strictly increasing, within [0, 1].
    values
        Property values (> 0) in SI units (S/m, m^2/s).
    monotone
        ``"decreasing"`` or ``"increasing"`` in theta, or ``None``; a table that breaks the
        stated monotonicity is rejected.
    units
        Units of ``values`` (documentation).
    """

    name: str
    theta: np.ndarray
    values: np.ndarray
    monotone: str | None = None
    units: str = ""
    _interp: PchipInterpolator = field(init=False, repr=False)

    def __init__(
        self,
        name: str,
        theta: Sequence[float],
        values: Sequence[float],
        monotone: str | None = None,
        units: str = "",
    ) -> None:
        th = np.asarray(theta, dtype=float)
        v = np.asarray(values, dtype=float)
        if th.ndim != 1 or th.shape != v.shape or th.size < 2:
            raise ParameterError(
                f"{name}: theta and values must be 1-D of equal length >= 2, "
                f"got shapes {th.shape} and {v.shape}"
            )
        if not (np.all(np.isfinite(th)) and np.all(np.isfinite(v))):
            raise ParameterError(f"{name}: table entries must be finite")
        if th[0] < 0 or th[-1] > 1 or np.any(np.diff(th) <= 0):
            raise ParameterError(
                f"{name}.theta = {th.tolist()} must be strictly increasing within [0, 1]"
            )
        if np.any(v <= 0):
            raise ParameterError(
                f"{name}.values = {v.tolist()} must all be > 0 (log interpolation)"
            )
        if monotone not in (None, "increasing", "decreasing"):
            raise ParameterError(
                f"{name}.monotone = {monotone!r} must be 'increasing', 'decreasing' or None"
            )
        dv = np.diff(v)
        if monotone == "decreasing" and np.any(dv > 0):
            i = int(np.flatnonzero(dv > 0)[0])
            raise ParameterError(
                f"{name}.values must be non-increasing in theta, but rise from {v[i]:.3g} at "
                f"theta = {th[i]:g} to {v[i + 1]:.3g} at theta = {th[i + 1]:g}"
            )
        if monotone == "increasing" and np.any(dv < 0):
            i = int(np.flatnonzero(dv < 0)[0])
            raise ParameterError(
                f"{name}.values must be non-decreasing in theta, but fall from {v[i]:.3g} at "
                f"theta = {th[i]:g} to {v[i + 1]:.3g} at theta = {th[i + 1]:g}"
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "theta", th)
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "monotone", monotone)
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "_interp", PchipInterpolator(th, np.log(v), extrapolate=False))

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        """Property at lithium fraction(s) ``theta`` (any shape)."""
        x = np.clip(np.asarray(theta, dtype=float), self.theta[0], self.theta[-1])
        return np.exp(self._interp(x))

    def __repr__(self) -> str:
        return f"LogTable({self.name!r}, {self.values.size} points, {self.units})"


# Electronic conductivity of NMC [S/m] against lithium fraction y (Amin & Chiang 2016:
# 1e-5 S/m at y = 1, ~1 S/m at y = 0.25; the rise is steepest in the first ~10 % of
# delithiation - semiconductor-to-metal transition - Sharma 2022 fig. 4b and refs. 40, 45).
NMC_CONDUCTIVITY_AMIN2016 = LogTable(
    "nmc.electronic_conductivity",
    theta=[0.0, 0.25, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 1.0],
    values=[1.0, 1.0, 0.3, 0.1, 0.05, 1.0e-2, 1.0e-3, 1.0e-4, 1.0e-5],
    monotone="decreasing",
    units="S/m",
)

# Li diffusivity of NMC532 [m^2/s] against lithium fraction y (Colclasure 2020 end
# points 5.9e-15 at y = 0.3 and 1.4e-19 at y = 1.0; low plateau for y = 0.8-1.0 as in
# Sharma 2022 fig. 4c).
NMC532_DIFFUSIVITY_COLCLASURE2020 = LogTable(
    "nmc532.diffusivity",
    theta=[0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0],
    values=[5.9e-15, 5.9e-15, 4.0e-15, 1.5e-15, 5.0e-16, 5.0e-17, 5.0e-18, 1.4e-19],
    monotone="decreasing",
    units="m^2/s",
)


def nmc532_ocp_mohtat2020(theta: np.ndarray) -> np.ndarray:
    """NMC532 open-circuit potential vs Li [V] (Mohtat et al. 2020 fit), theta = c/c_max."""
    s = np.asarray(theta, dtype=float)
    poly = 4.3452 + s * (-1.6518 + s * (1.6225 + s * (-2.0843 + s * (3.5146 + s * -2.2166))))
    return poly - 0.5623e-4 * np.exp(109.451 * s - 100.006)


NMC532_MOHTAT2020 = ActiveMaterial(
    name="NMC532 (Mohtat2020)",
    c_max=35380.0,
    ocp=nmc532_ocp_mohtat2020,
    diffusivity=constant(5.0e-15),
    exchange_prefactor=4.824e-6,
    density=4700.0,
    theta_0=0.95,
    theta_100=0.30,
    electronic_conductivity=constant(1.0),
    citation="Mohtat et al., J. Electrochem. Soc. 167 (2020) 110561 (OCP, c_max, kinetics); "
    "density 4.7 g/cm^3 (crystallographic)",
    # 4.70 g/cm^3 as this set has always used for its masses (the X-ray value of the
    # R-3m cell is 4.73, see nmc532.NMC532_DENSITY): kept so that the Kroeger presets'
    # 1C = 160 mA/g current stays the same (0.6 % apart).
    crystal_density=4700.0,
)
"""NMC532 with constant transport properties (the base of the SOC-dependent variant)."""

NMC532_SOC = replace(
    NMC532_MOHTAT2020,
    name="NMC532 (Mohtat2020 OCP; SOC-dependent D_s and sigma)",
    diffusivity=NMC532_DIFFUSIVITY_COLCLASURE2020,
    electronic_conductivity=NMC_CONDUCTIVITY_AMIN2016,
    citation=NMC532_MOHTAT2020.citation
    + "; D_s(theta): Colclasure et al., Electrochim. Acta 337 (2020) 135854; "
    "sigma_AM(theta): Amin & Chiang, J. Electrochem. Soc. 163 (2016) A1512",
)
"""NMC532 with SOC-dependent diffusivity and electronic conductivity (Sharma 2022 setup)."""


def with_soc_dependence(
    material: ActiveMaterial,
    diffusivity: LogTable | None = None,
    conductivity: LogTable | None = NMC_CONDUCTIVITY_AMIN2016,
) -> ActiveMaterial:
    """A copy of ``material`` with SOC-dependent tables plugged in (``None`` keeps its own)."""
    changes: dict = {}
    if diffusivity is not None:
        changes["diffusivity"] = diffusivity
    if conductivity is not None:
        changes["electronic_conductivity"] = conductivity
    return replace(material, **changes) if changes else material
