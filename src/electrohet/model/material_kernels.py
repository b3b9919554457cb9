"""Material formulas the fully compiled residual can evaluate point by point.

The fused residual (:func:`electrohet.model.p2de_kernel.residual_fused`) and the
compiled Newton iteration built on it cannot call arbitrary Python callables, and numba
cannot cache a kernel that receives compiled functions as arguments.  They therefore
evaluate material functions through :func:`evaluate`, which selects one of a fixed set
of compiled formulas by an integer id.  The set holds the package's
:func:`~electrohet.materials.base.compilable` functions (the Chen 2020 set); a model
whose materials are all in it runs fully compiled, any other model evaluates its
material functions first (NumPy or compiled twins) and hands the values to the same
compiled assembly (:func:`electrohet.model.p2de_kernel.assemble`).  To add a formula:
append it to ``_FORMULAS`` and a branch to :func:`evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable

import numba

from electrohet.materials import chen2020 as _chen

# the compilable material functions, in the order of their ids
_FORMULAS: tuple[Callable, ...] = (
    _chen.graphite_ocp_chen2020,
    _chen.nmc811_ocp_chen2020,
    _chen.lipf6_ec_emc_conductivity_nyman2008,
    _chen.lipf6_ec_emc_diffusivity_nyman2008,
)

_f0 = numba.njit(cache=True, inline="always")(_FORMULAS[0].jit_kernel)  # type: ignore[attr-defined]
_f1 = numba.njit(cache=True, inline="always")(_FORMULAS[1].jit_kernel)  # type: ignore[attr-defined]
_f2 = numba.njit(cache=True, inline="always")(_FORMULAS[2].jit_kernel)  # type: ignore[attr-defined]
_f3 = numba.njit(cache=True, inline="always")(_FORMULAS[3].jit_kernel)  # type: ignore[attr-defined]


def formula_id(fn: Callable) -> int:
    """Id of ``fn`` for :func:`evaluate`; -1 when it is not one of the compiled formulas."""
    for i, f in enumerate(_FORMULAS):
        if fn is f:
            return i
    return -1


@numba.njit(cache=True)
def evaluate(fid: int, x: float) -> float:
    """Value of the material formula ``fid`` (see :func:`formula_id`) at the scalar ``x``.

    Units are those of the formula (OCP [V] of theta [-]; electrolyte conductivity [S/m]
    and diffusivity [m^2/s] of c_e [mol/m^3]).
    """
    if fid == 0:
        return _f0(x)
    if fid == 1:
        return _f1(x)
    if fid == 2:
        return _f2(x)
    return _f3(x)
