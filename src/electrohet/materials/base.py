"""Material records: active materials, electrolytes and lithium metal.

Functions of state are plain vectorised Python callables so that the model can
evaluate them on whole arrays at once.  Every parameter set documents its sources.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from electrohet.materials.kinetics import exchange_current_powers

F = 96485.33212  # Faraday constant [C/mol]
R_GAS = 8.314462618  # gas constant [J/(mol K)]
T_REF = 298.15  # reference temperature [K]

ArrayFn = Callable[[np.ndarray], np.ndarray]
#: A material property given as a number or as a vectorised function of one array.
NumberOrFn = float | ArrayFn


def compilable(kernel: ArrayFn) -> ArrayFn:
    """Turn a formula of one float array into a material function with a compiled twin.

    ``kernel`` must use only arithmetic and NumPy ufuncs (``np.exp``, ``np.tanh``,
    ``np.maximum``...) on its argument, so that it is valid both as NumPy code and under
    ``numba.njit``.  The returned function accepts anything array-like (it converts to
    a float array first) and carries ``kernel`` as ``jit_kernel``, which the model
    compiles (once, cached on disk) for its hot loop.  One formula, two executions: the
    model's tests check that they agree.
    """

    def fn(x: np.ndarray) -> np.ndarray:
        return kernel(np.asarray(x, dtype=float))

    functools.update_wrapper(fn, kernel)
    fn.jit_kernel = kernel  # type: ignore[attr-defined]
    return fn


def constant(value: float) -> ArrayFn:
    """Return a vectorised function of one array argument that is ``value`` everywhere.

    The function carries ``constant_value`` so that solvers can use the number directly.
    """

    def fn(x: np.ndarray) -> np.ndarray:
        return np.full_like(np.asarray(x, dtype=float), value)

    fn.__name__ = f"constant_{value:g}"
    fn.constant_value = float(value)  # type: ignore[attr-defined]  # lets the model skip calls
    return fn


@dataclass(frozen=True)
class ActiveMaterial:
    """An intercalation material.

    Parameters
    ----------
    name
        Human-readable name, e.g. ``"NMC811 (Chen2020)"``.
    c_max
        Maximum lithium concentration in the solid [mol/m^3].
    ocp
        Open-circuit potential U(theta) [V vs Li/Li+], theta = c/c_max in [0, 1].
    diffusivity
        Solid diffusivity D_s(theta) [m^2/s].
    exchange_prefactor
        Rate prefactor m in i0 = m c_e^a_e (c_max - c_s)^a_v c_s^a_o
        [A/m^2 (m^3/mol)^(a_e + a_v + a_o)] (DFN form, Sharma 2022 eq. 2; by default
        a_e = a_v = alpha_a, a_o = alpha_c).
    alpha_a, alpha_c
        Anodic/cathodic transfer coefficients of Butler-Volmer [-].
    i0_exponents
        Exponents (a_e, a_v, a_o) of c_e, c_max - c_s and c_s in i0 [-]; None (the
        default) = (alpha_a, alpha_a, alpha_c), the form of transition-state theory.
        Measured sets differ, e.g. O'Regan et al., Electrochim. Acta 425 (2022)
        140700 (graphite c_s^0.792).
    density
        Density of the parameter set as published [kg/m^3].  Kept for the presets that
        turn mass fractions or a mass loading into volumes (their geometry), and for
        compatibility; it is *not* used for mass-specific quantities, because some sets
        carry an electrode-level (thermal) value here (Chen 2020: 3262 kg/m^3 for NMC811,
        1657 kg/m^3 for graphite-SiOx).
    electronic_conductivity
        Intrinsic electronic conductivity sigma_AM(theta) of the active material [S/m]
        (used for particle contact resistance; the electrode matrix conductivity is a
        property of the layer).
    theta_0, theta_100
        Lithium fraction at 0 % and 100 % cell state of charge [-].
    citation
        Where the numbers come from.
    crystal_density
        Crystallographic (X-ray) density of the active material [kg/m^3], from its unit
        cell; used for every mass-specific quantity (mAh/g, active mass loading).  NaN =
        unknown (mass-specific quantities are then NaN, never silently wrong).
    """

    name: str
    c_max: float
    ocp: ArrayFn
    diffusivity: ArrayFn
    exchange_prefactor: float
    density: float
    theta_0: float
    theta_100: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    electronic_conductivity: ArrayFn = field(default_factory=lambda: constant(1.0))
    citation: str = ""
    crystal_density: float = math.nan
    i0_exponents: tuple[float, float, float] | None = None

    @property
    def exchange_exponents(self) -> tuple[float, float, float]:
        """Exponents (a_e, a_v, a_o) of c_e, c_max - c_s and c_s in i0 [-] in use."""
        if self.i0_exponents is None:
            return (self.alpha_a, self.alpha_a, self.alpha_c)
        a_e, a_v, a_o = self.i0_exponents
        return (float(a_e), float(a_v), float(a_o))

    def specific_capacity_mAh_g(self, theta_low: float = 0.0, theta_high: float = 1.0) -> float:
        """Capacity of the lithium-fraction window from theta_low to theta_high [mAh/g].

        (theta_high - theta_low) c_max F / crystal_density is in C/kg; 1 mAh/g = 3600 C/kg.
        Per gram of active material at its crystallographic density (NaN if unknown).
        """
        return (theta_high - theta_low) * self.c_max * F / self.crystal_density / 3600.0

    def exchange_current(self, c_e: np.ndarray, c_s: np.ndarray) -> np.ndarray:
        """Exchange current density i0 [A/m^2] for electrolyte c_e and surface c_s [mol/m^3]."""
        ce = np.maximum(c_e, 0.0)
        cs = np.clip(c_s, 0.0, self.c_max)
        a_e, a_v, a_o = self.exchange_exponents
        return exchange_current_powers(
            self.exchange_prefactor, ce, self.c_max - cs, cs, a_e, a_v, a_o
        )


@dataclass(frozen=True)
class Electrolyte:
    """A binary-salt liquid electrolyte (concentrated solution theory).

    Parameters
    ----------
    conductivity
        kappa(c_e) [S/m] at the cell temperature, c_e in mol/m^3.
    diffusivity
        D_e(c_e) [m^2/s].
    transference
        Cation transference number t+ [-]: a number, or a vectorised function of c_e
        [mol/m^3] (concentrated solution theory with variable t+, docs/physics.md §1.2).
    thermodynamic_factor
        1 + dln f / dln c_e [-]: a number, or a vectorised function of c_e [mol/m^3].
    c0
        Initial/reference salt concentration [mol/m^3].
    """

    name: str
    conductivity: ArrayFn
    diffusivity: ArrayFn
    transference: NumberOrFn
    thermodynamic_factor: NumberOrFn = 1.0
    c0: float = 1000.0
    citation: str = ""

    @property
    def constant_transference(self) -> float | None:
        """t+ [-] when it is a number or a :func:`constant`, else None."""
        return _as_number(self.transference)

    @property
    def constant_thermodynamic_factor(self) -> float | None:
        """The thermodynamic factor [-] when it is a number or a :func:`constant`, else
        None."""
        return _as_number(self.thermodynamic_factor)

    @property
    def variable_transport_numbers(self) -> bool:
        """Whether t+ or the thermodynamic factor is a function of c_e (not a number
        or a :func:`constant`)."""
        return self.constant_transference is None or self.constant_thermodynamic_factor is None

    def transference_at(self, c_e: np.ndarray | float) -> np.ndarray:
        """Cation transference number t+ [-] at c_e [mol/m^3] (the shape of c_e)."""
        return _evaluate(self.transference, c_e)

    def thermodynamic_factor_at(self, c_e: np.ndarray | float) -> np.ndarray:
        """Thermodynamic factor [-] at c_e [mol/m^3] (the shape of c_e)."""
        return _evaluate(self.thermodynamic_factor, c_e)


def _as_number(value: NumberOrFn) -> float | None:
    """The number of a float or a :func:`constant` function, else None."""
    if callable(value):
        v = getattr(value, "constant_value", None)
        return None if v is None else float(v)
    return float(value)


def _evaluate(value: NumberOrFn, c_e: np.ndarray | float) -> np.ndarray:
    c = np.asarray(c_e, dtype=float)
    if callable(value):
        return np.asarray(value(c), dtype=float) * np.ones_like(c)
    return np.full_like(c, float(value))


@dataclass(frozen=True)
class LithiumMetal:
    """A lithium-metal counter electrode (zero-thickness interface).

    Parameters
    ----------
    i0_ref
        Exchange current density at ``c_ref`` [A/m^2] (order 1-10 A/m^2).
    c_ref
        Reference electrolyte concentration [mol/m^3].
    exponent
        i0 = i0_ref (c_e / c_ref)^exponent [-].
    """

    i0_ref: float = 10.0
    c_ref: float = 1000.0
    exponent: float = 0.5
    name: str = "Li metal"
    citation: str = ""

    def exchange_current(self, c_e: np.ndarray | float) -> np.ndarray:
        """Exchange current density [A/m^2] at electrolyte concentration c_e [mol/m^3]."""
        return self.i0_ref * (np.maximum(c_e, 1e-12) / self.c_ref) ** self.exponent
