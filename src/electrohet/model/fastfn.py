"""Compiled twins of material functions for the model's hot loop.

A material function made with :func:`electrohet.materials.base.compilable` carries its
formula as ``jit_kernel``; :func:`fast` compiles that formula with ``numba.njit``
(``cache=True``: once per machine) for C-contiguous 2-D float arrays, the shape the
residual evaluates materials on.  Anything else - a plain Python callable, a formula
numba cannot compile, a result that differs from NumPy's by more than 1e-12 relative on
a probe grid, any other array layout - runs the NumPy function unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numba
import numpy as np

_TWINS: dict[Callable, Callable | None] = {}


class _Twin:
    """Call the compiled kernel on C-contiguous 2-D float arrays, NumPy otherwise."""

    def __init__(self, fn: Callable, jitted: Callable) -> None:
        self.fn = fn
        self.jitted = jitted
        self.__doc__ = fn.__doc__
        self.__name__ = getattr(fn, "__name__", "material_function")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if (
            isinstance(x, np.ndarray)
            and x.ndim == 2
            and x.dtype == np.float64
            and x.flags.c_contiguous
        ):
            return self.jitted(x)
        return self.fn(x)


def _compile(fn: Callable, probe: np.ndarray) -> Callable | None:
    kernel = getattr(fn, "jit_kernel", None)
    if kernel is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jitted = numba.njit(cache=True)(kernel)
            got = np.asarray(jitted(probe))
        ref = np.asarray(fn(probe))
    except Exception:  # noqa: BLE001  (any numba failure: keep the NumPy function)
        return None
    if got.shape != ref.shape:
        return None
    scale = max(float(np.max(np.abs(ref))), 1e-300) if ref.size else 1.0
    if not np.allclose(got, ref, rtol=1e-12, atol=1e-12 * scale, equal_nan=True):
        return None
    return jitted


def fast(fn: Callable, low: float, high: float) -> Callable:
    """``fn`` or its compiled twin (checked against ``fn`` on [low, high])."""
    if getattr(fn, "jit_kernel", None) is None:
        return fn
    if fn not in _TWINS:
        probe = np.ascontiguousarray(np.linspace(low, high, 64).reshape(32, 2))
        _TWINS[fn] = _compile(fn, probe)
    jitted = _TWINS[fn]
    return fn if jitted is None else _Twin(fn, jitted)


def direct(fn: Callable) -> Callable:
    """The compiled kernel behind a twin from :func:`fast` (``fn`` itself otherwise).

    Only for callers that always pass C-contiguous 2-D float64 arrays.
    """
    return fn.jitted if isinstance(fn, _Twin) else fn
