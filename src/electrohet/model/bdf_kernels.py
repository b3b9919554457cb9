"""Compiled vector work of one BDF step (:mod:`electrohet.model.integrator`).

Each function replaces a handful of NumPy passes over the state (and their Python
overhead) by one compiled loop; the arithmetic is that of the NumPy code it replaces
(Shampine & Reichelt 1997 backward-difference form; weighted RMS norms as in IDA).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from electrohet.model.sparse_lu import solve_factors_into


@numba.njit(cache=True)
def predict(
    D: np.ndarray,
    k: int,
    gamma: np.ndarray,
    atol: np.ndarray,
    rtol: float,
    upper: np.ndarray,
    y_pred: np.ndarray,
    psi: np.ndarray,
    w: np.ndarray,
) -> None:
    """Predictor ``y_pred = sum_{j<=k} D_j``, ``psi = sum_{1<=j<=k} gamma_j D_j / gamma_k``
    and error weights ``w = atol + rtol min(|y_pred|, |upper - y_pred|)``."""
    n = D.shape[1]
    gk = gamma[k]
    for i in range(n):
        s = D[0, i]
        p = 0.0
        for j in range(1, k + 1):
            s += D[j, i]
            p += gamma[j] * D[j, i]
        y_pred[i] = s
        psi[i] = p / gk
        w[i] = atol[i] + rtol * min(abs(s), abs(upper[i] - s))


@numba.njit(cache=True)
def newton_increment(
    f: np.ndarray,
    c: float,
    psi: np.ndarray,
    mass: np.ndarray,
    d: np.ndarray,
    w: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    diag: np.ndarray,
    lu: np.ndarray,
    row_order: np.ndarray,
    col_perm: np.ndarray,
    g: np.ndarray,
    x: np.ndarray,
    dy: np.ndarray,
) -> float:
    """Newton update ``dy = (M - cJ)^-1 (c f - M (psi + d))``; returns its WRMS norm.

    ``g`` and ``x`` are work arrays; the factors are those of
    :class:`electrohet.model.sparse_lu.StaticLU`.
    """
    n = f.size
    for i in range(n):
        g[i] = c * f[i] - mass[i] * (psi[i] + d[i])
    solve_factors_into(indptr, indices, diag, lu, row_order, col_perm, g, x, dy)
    acc = 0.0
    for i in range(n):
        r = dy[i] / w[i]
        acc += r * r
    return math.sqrt(acc / n)


@numba.njit(cache=True)
def wrms_masked(
    v: np.ndarray,
    factor: float,
    y: np.ndarray,
    atol: np.ndarray,
    rtol: float,
    upper: np.ndarray,
    mask: np.ndarray,
) -> float:
    """WRMS norm of ``factor * v`` over ``mask``, weights at ``y`` (as :func:`predict`)."""
    acc = 0.0
    m = 0
    for i in range(v.size):
        if mask[i]:
            s = y[i]
            wi = atol[i] + rtol * min(abs(s), abs(upper[i] - s))
            r = factor * v[i] / wi
            acc += r * r
            m += 1
    return math.sqrt(acc / m) if m > 0 else 0.0


@numba.njit(cache=True)
def accept(D: np.ndarray, k: int, d: np.ndarray) -> None:
    """Update the difference array after an accepted step with corrector ``d``."""
    n = d.size
    for i in range(n):
        D[k + 2, i] = d[i] - D[k + 1, i]
        D[k + 1, i] = d[i]
    for j in range(k, -1, -1):
        for i in range(n):
            D[j, i] += D[j + 1, i]
