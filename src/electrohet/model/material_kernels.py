"""Material formulas the fully compiled residual can evaluate point by point.

The fused residual (:func:`electrohet.model.p2de_kernel.residual_fused`) and the
compiled Newton iteration built on it cannot call arbitrary Python callables, and numba
cannot cache a kernel that receives compiled functions as arguments.  They therefore
evaluate material functions through :func:`evaluate`, which selects one of a fixed set
of compiled formulas by an integer id.  The set holds the package's
:func:`~electrohet.materials.base.compilable` functions (the Chen 2020 set); material
functions given as tables (``linear_table``, below) are evaluated by :func:`interp`
instead.  A model whose materials are all formulas or tables runs fully compiled, any
other model evaluates its
material functions first (NumPy or compiled twins) and hands the values to the same
compiled assembly (:func:`electrohet.model.p2de_kernel.assemble`).  To add a formula:
append it to ``_FORMULAS`` and a branch to :func:`evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

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


# ---------------------------------------------------------------------------------------
# compiled interpolants: material functions given as tables
#
# A material function that carries ``linear_table = (x, y)`` promises that
# ``fn(v) == np.interp(v, x, y)`` (linear between the knots, the end values held
# beyond them): the importer's :class:`~electrohet.design.pybamm_import.TabulatedFunction`
# (every PyBaMM function), BPX tables and expressions
# (:mod:`electrohet.design.bpx_import`).  The fused residual evaluates such a function
# with :func:`interp`, the arithmetic of ``np.interp`` (same bracketing, same slope,
# same order of operations), so both paths give the same numbers to round-off.  The
# knots of every table of a model travel in three arrays of the kernel parameters
# (:func:`pack_tables`).


def linear_table(fn: Callable) -> tuple[np.ndarray, np.ndarray] | None:
    """Knots ``(x, y)`` of a material function that interpolates a table linearly.

    Parameters
    ----------
    fn
        A material function.

    Returns
    -------
    tuple of numpy.ndarray or None
        ``x`` (strictly increasing) and ``y``, float64, C-contiguous, in the units of
        the argument and of the value, when ``fn`` carries ``linear_table`` (see the
        module text) with at least two finite knots, or is a
        :func:`~electrohet.materials.base.constant` (two equal knots: the same number
        everywhere); None otherwise.
    """
    tab = getattr(fn, "linear_table", None)
    if tab is None:
        value = getattr(fn, "constant_value", None)  # materials.base.constant
        if value is None:
            return None
        tab = ([0.0, 1.0], [value, value])
    x = np.ascontiguousarray(tab[0], dtype=float)
    y = np.ascontiguousarray(tab[1], dtype=float)
    if (
        x.ndim != 1
        or x.shape != y.shape
        or x.size < 2
        or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)))
        or np.any(np.diff(x) <= 0)
    ):
        return None
    return x, y


class TablePack:
    """The knots of several tables, concatenated for the compiled kernels.

    Table ``t`` occupies ``x[start[t]:start[t + 1]]`` and ``y[...]`` alike; :meth:`add`
    returns ``t`` (-1 for a function without a table) and stores each table once.
    """

    def __init__(self) -> None:
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        # id(fn) -> (fn, index); the function is kept so that its id stays its own
        self._ids: dict[int, tuple[Callable, int]] = {}

    def add(self, fn: Callable) -> int:
        """Index of ``fn``'s table in the pack (added if new), -1 if it has none."""
        key = id(fn)
        if key in self._ids:
            return self._ids[key][1]
        tab = linear_table(fn)
        if tab is None:
            return -1
        self._x.append(tab[0])
        self._y.append(tab[1])
        self._ids[key] = (fn, len(self._x) - 1)
        return len(self._x) - 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, start)``: knots [units of each table] and int64 offsets (T + 1,)."""
        sizes = [a.size for a in self._x]
        start = np.zeros(len(sizes) + 1, dtype=np.int64)
        start[1:] = np.cumsum(sizes, dtype=np.int64)
        if not self._x:
            return np.zeros(1), np.zeros(1), start
        return (
            np.ascontiguousarray(np.concatenate(self._x)),
            np.ascontiguousarray(np.concatenate(self._y)),
            start,
        )


@numba.njit(cache=True, inline="always")
def interp(x: np.ndarray, y: np.ndarray, lo: int, hi: int, v: float) -> float:
    """``np.interp(v, x[lo:hi], y[lo:hi])`` of one scalar ``v`` (hi - lo >= 2 knots).

    The arithmetic of NumPy's ``interp``: the end values beyond the ends and at the
    last knot, the knot value at a knot, else ``slope (v - x_j) + y_j`` with
    ``slope = (y_{j+1} - y_j) / (x_{j+1} - x_j)`` on the bracketing interval
    (bisection); NaN in gives NaN out.
    """
    if v != v:
        return v
    last = hi - 1
    if v >= x[last]:
        return y[last]
    if v < x[lo]:
        return y[lo]
    a = lo
    b = last
    while b - a > 1:  # x[a] <= v < x[b]
        m = (a + b) >> 1
        if x[m] <= v:
            a = m
        else:
            b = m
    if v == x[a]:
        return y[a]
    slope = (y[a + 1] - y[a]) / (x[a + 1] - x[a])
    r = slope * (v - x[a]) + y[a]
    if r != r:
        r = slope * (v - x[a + 1]) + y[a + 1]
        if r != r and y[a] == y[a + 1]:
            r = y[a]
    return r


@numba.njit(cache=True, inline="always")
def evaluate_or_interp(
    fid: int, tid: int, tx: np.ndarray, ty: np.ndarray, ts: np.ndarray, v: float
) -> float:
    """The material function at ``v``: table ``tid`` (:class:`TablePack`) when
    ``tid >= 0``, else the compiled formula ``fid`` (:func:`evaluate`)."""
    if tid >= 0:
        return interp(tx, ty, ts[tid], ts[tid + 1], v)
    return evaluate(fid, v)
