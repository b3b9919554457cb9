"""Butler-Volmer kinetics of an intercalation reaction (docs/physics.md §1.4).

One definition for every model: the P2D-E residual (its NumPy reference and its
compiled kernel) and the voxel model call these functions.  Each formula is written
once, for scalars, and compiled twice from that source:

* ``*_scalar`` - :func:`numba.njit` functions for compiled kernels (scalar in, scalar
  out, inlined where they are called);
* the plain names - NumPy functions backed by :func:`numba.vectorize` ufuncs
  (broadcasting, any mix of arrays and scalars, e.g. per-slot transfer coefficients).

The concentrations handed in are the ones the model wants the kinetics to see:
both models floor them smoothly at a tiny positive value first, so that a full (or
empty) particle surface drives ``i_0`` to zero continuously.

Examples
--------
>>> import numpy as np
>>> i0 = exchange_current(2e-5, 1000.0, 2e4, 3e4, 0.5, 0.5)
>>> float(np.round(i0, 6))
15.491933
>>> float(butler_volmer(i0, 0.0, 0.5, 0.5, 38.92))
0.0
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import ArrayLike

EXP_CAP = 200.0
"""Largest Butler-Volmer exponent evaluated (e^200 ~ 7e86).

Reached only by far-off Newton iterates (an overpotential of more than 5 V), where the
capped current still points the right way and no inf or nan enters the iteration.
"""

_SIG2 = ["float64(float64, float64)"]
_SIG5 = ["float64(float64, float64, float64, float64, float64)"]
_SIG6 = ["float64(float64, float64, float64, float64, float64, float64)"]
_SIG7 = ["float64(float64, float64, float64, float64, float64, float64, float64)"]


def _soft_floor(x: float, delta: float) -> float:
    return 0.5 * (x + math.sqrt(x * x + delta * delta))


def _soft_floor_slope(x: float, delta: float) -> float:
    return 0.5 * (1.0 + x / math.sqrt(x * x + delta * delta))


def _exchange_current_powers(
    k: float, c_e: float, c_vac: float, c_occ: float, a_e: float, a_v: float, a_o: float
) -> float:
    if a_e == 0.5 and a_v == 0.5 and a_o == 0.5:  # the common symmetric case: no pow()
        return k * math.sqrt(c_e * c_vac * c_occ)
    return k * c_e**a_e * c_vac**a_v * c_occ**a_o


def _exchange_current(
    k: float, c_e: float, c_vac: float, c_occ: float, alpha_a: float, alpha_c: float
) -> float:
    if alpha_a == 0.5 and alpha_c == 0.5:  # the common symmetric case: no pow()
        return k * math.sqrt(c_e * c_vac * c_occ)
    return k * c_e**alpha_a * c_vac**alpha_a * c_occ**alpha_c


def _butler_volmer(i0: float, eta: float, alpha_a: float, alpha_c: float, f_rt: float) -> float:
    fe = f_rt * eta
    return i0 * (math.exp(min(alpha_a * fe, EXP_CAP)) - math.exp(min(-alpha_c * fe, EXP_CAP)))


def _butler_volmer_slope(
    i0: float, eta: float, alpha_a: float, alpha_c: float, f_rt: float
) -> float:
    fe = f_rt * eta
    return (
        i0
        * f_rt
        * (
            alpha_a * math.exp(min(alpha_a * fe, EXP_CAP))
            + alpha_c * math.exp(min(-alpha_c * fe, EXP_CAP))
        )
    )


soft_floor_scalar = numba.njit(cache=True, inline="always")(_soft_floor)
"""Compiled scalar twin of :func:`soft_floor` (for numba kernels)."""
exchange_current_scalar = numba.njit(cache=True, inline="always")(_exchange_current)
"""Compiled scalar twin of :func:`exchange_current` (for numba kernels)."""
exchange_current_powers_scalar = numba.njit(cache=True, inline="always")(_exchange_current_powers)
"""Compiled scalar twin of :func:`exchange_current_powers` (for numba kernels)."""
butler_volmer_scalar = numba.njit(cache=True, inline="always")(_butler_volmer)
"""Compiled scalar twin of :func:`butler_volmer` (for numba kernels)."""
butler_volmer_slope_scalar = numba.njit(cache=True, inline="always")(_butler_volmer_slope)
"""Compiled scalar twin of :func:`butler_volmer_slope` (for numba kernels)."""

_soft_floor_ufunc = numba.vectorize(_SIG2, cache=True)(_soft_floor)
_soft_floor_slope_ufunc = numba.vectorize(_SIG2, cache=True)(_soft_floor_slope)
_exchange_current_ufunc = numba.vectorize(_SIG6, cache=True)(_exchange_current)
_exchange_current_powers_ufunc = numba.vectorize(_SIG7, cache=True)(_exchange_current_powers)
_butler_volmer_ufunc = numba.vectorize(_SIG5, cache=True)(_butler_volmer)
_butler_volmer_slope_ufunc = numba.vectorize(_SIG5, cache=True)(_butler_volmer_slope)


def soft_floor(x: ArrayLike, delta: ArrayLike) -> np.ndarray:
    """Smooth ``max(x, 0)``: ``(x + sqrt(x^2 + delta^2)) / 2`` (docs/physics.md §1.4).

    ~``x`` for ``x >> delta``, tends to 0 (never negative) for ``x << -delta``; the
    models floor the concentrations entering :func:`exchange_current` with it, so a
    full or empty particle surface drives ``i_0`` to zero continuously.
    :data:`soft_floor_scalar` is the compiled scalar twin.

    Parameters
    ----------
    x
        Value to floor (a concentration [mol/m^3]).
    delta
        Width of the smooth corner, in the units of ``x`` (1e-9 c_max for the solid,
        1e-9 mol/m^3 for the electrolyte).

    Returns
    -------
    numpy.ndarray
        The floored value, in the units of ``x``.
    """
    return _soft_floor_ufunc(x, delta)


def soft_floor_slope(x: ArrayLike, delta: ArrayLike) -> np.ndarray:
    """Derivative of :func:`soft_floor` with respect to ``x`` [-].

    Parameters
    ----------
    x, delta
        As for :func:`soft_floor`.

    Returns
    -------
    numpy.ndarray
        ``(1 + x / sqrt(x^2 + delta^2)) / 2``, between 0 and 1.
    """
    return _soft_floor_slope_ufunc(x, delta)


def exchange_current(
    k: ArrayLike,
    c_e: ArrayLike,
    c_vac: ArrayLike,
    c_occ: ArrayLike,
    alpha_a: ArrayLike,
    alpha_c: ArrayLike,
) -> np.ndarray:
    """Exchange current density of an intercalation reaction [A/m^2].

    ``i_0 = k c_e^alpha_a (c_max - c_s)^alpha_a c_s^alpha_c`` (docs/physics.md §1.4),
    element-wise with broadcasting; :data:`exchange_current_scalar` is the compiled
    scalar twin for kernels.

    Parameters
    ----------
    k
        Kinetic prefactor [A m^-2 (mol m^-3)^-(2 alpha_a + alpha_c)].
    c_e
        Electrolyte concentration at the surface [mol/m^3].
    c_vac
        Vacant sites at the particle surface, ``c_max - c_s`` [mol/m^3].
    c_occ
        Occupied sites (lithium) at the particle surface, ``c_s`` [mol/m^3].
    alpha_a, alpha_c
        Anodic and cathodic transfer coefficients [-].

    Returns
    -------
    numpy.ndarray
        ``i_0`` [A/m^2] (a NumPy scalar for scalar input).
    """
    return _exchange_current_ufunc(k, c_e, c_vac, c_occ, alpha_a, alpha_c)


def exchange_current_powers(
    k: ArrayLike,
    c_e: ArrayLike,
    c_vac: ArrayLike,
    c_occ: ArrayLike,
    a_e: ArrayLike,
    a_v: ArrayLike,
    a_o: ArrayLike,
) -> np.ndarray:
    """Exchange current density with its own exponents per concentration [A/m^2].

    ``i_0 = k c_e^a_e (c_max - c_s)^a_v c_s^a_o`` (docs/physics.md §1.4), element-wise
    with broadcasting; :data:`exchange_current_powers_scalar` is the compiled scalar
    twin.  With ``a_e = a_v = alpha_a`` and ``a_o = alpha_c`` it is
    :func:`exchange_current` (bit for bit).  Measured exponents that differ from the
    transfer coefficients are common, e.g. O'Regan et al., Electrochim. Acta 425
    (2022) 140700: c_s^0.792 for graphite, c_e^0.43 for NMC811.

    Parameters
    ----------
    k
        Kinetic prefactor [A m^-2 (mol m^-3)^-(a_e + a_v + a_o)].
    c_e
        Electrolyte concentration at the surface [mol/m^3].
    c_vac
        Vacant sites at the particle surface, ``c_max - c_s`` [mol/m^3].
    c_occ
        Occupied sites (lithium) at the particle surface, ``c_s`` [mol/m^3].
    a_e, a_v, a_o
        Exponents of ``c_e``, ``c_max - c_s`` and ``c_s`` [-].

    Returns
    -------
    numpy.ndarray
        ``i_0`` [A/m^2] (a NumPy scalar for scalar input).
    """
    return _exchange_current_powers_ufunc(k, c_e, c_vac, c_occ, a_e, a_v, a_o)


def butler_volmer(
    i0: ArrayLike, eta: ArrayLike, alpha_a: ArrayLike, alpha_c: ArrayLike, f_rt: ArrayLike
) -> np.ndarray:
    """Butler-Volmer current density of a reaction [A/m^2], > 0 anodic.

    ``i = i_0 [exp(alpha_a F eta / RT) - exp(-alpha_c F eta / RT)]``, both exponents
    capped at :data:`EXP_CAP` (docs/physics.md §1.4), element-wise with broadcasting;
    :data:`butler_volmer_scalar` is the compiled scalar twin.

    Parameters
    ----------
    i0
        Exchange current density [A/m^2].
    eta
        Overpotential ``phi_s - phi_e - U - i R_f`` [V].
    alpha_a, alpha_c
        Anodic and cathodic transfer coefficients [-].
    f_rt
        ``F / (R T)`` [1/V].

    Returns
    -------
    numpy.ndarray
        ``i`` [A/m^2] (delithiation of the particle > 0).
    """
    return _butler_volmer_ufunc(i0, eta, alpha_a, alpha_c, f_rt)


def butler_volmer_slope(
    i0: ArrayLike, eta: ArrayLike, alpha_a: ArrayLike, alpha_c: ArrayLike, f_rt: ArrayLike
) -> np.ndarray:
    """Slope ``d i / d eta`` of :func:`butler_volmer` at fixed ``i_0`` [A m^-2 V^-1].

    ``i_0 F/(RT) [alpha_a exp(alpha_a F eta/RT) + alpha_c exp(-alpha_c F eta/RT)]``
    with the exponents capped as in :func:`butler_volmer`;
    :data:`butler_volmer_slope_scalar` is the compiled scalar twin.

    Parameters
    ----------
    i0, eta, alpha_a, alpha_c, f_rt
        As for :func:`butler_volmer`.

    Returns
    -------
    numpy.ndarray
        ``d i / d eta`` [A m^-2 V^-1].
    """
    return _butler_volmer_slope_ufunc(i0, eta, alpha_a, alpha_c, f_rt)


def symmetric_overpotential(i: ArrayLike, i0: ArrayLike, f_rt: float) -> np.ndarray:
    """Overpotential of a symmetric Butler-Volmer reaction that carries ``i`` [V].

    With ``alpha_a = alpha_c = 1/2`` the law inverts in closed form,
    ``eta = (2 / f) arcsinh(i / (2 i_0))`` (docs/physics.md §1.6: the lithium-metal
    counter electrode of both models).

    Parameters
    ----------
    i
        Current density through the interface [A/m^2], > 0 anodic.
    i0
        Exchange current density [A/m^2].
    f_rt
        ``F / (R T)`` [1/V].

    Returns
    -------
    numpy.ndarray
        ``eta`` [V], of the sign of ``i``.
    """
    return (2.0 / f_rt) * np.arcsinh(np.asarray(i) / (2.0 * np.asarray(i0)))


__all__ = [
    "EXP_CAP",
    "butler_volmer",
    "butler_volmer_scalar",
    "butler_volmer_slope",
    "butler_volmer_slope_scalar",
    "exchange_current",
    "exchange_current_powers",
    "exchange_current_powers_scalar",
    "exchange_current_scalar",
    "soft_floor",
    "soft_floor_scalar",
    "soft_floor_slope",
    "symmetric_overpotential",
]
