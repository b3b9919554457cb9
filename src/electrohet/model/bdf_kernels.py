"""Compiled vector work of one BDF step (:mod:`electrohet.model.integrator`), and the
data the compiled step kernels share (:class:`StepData`).

Each function replaces a handful of NumPy passes over the state (and their Python
overhead) by one compiled loop; the arithmetic is that of the NumPy code it replaces
(Shampine & Reichelt 1997 backward-difference form; weighted RMS norms as in IDA).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from electrohet.model.sparse_lu import solve_factors_into


class StepData(NamedTuple):
    """The problem, the method's constants and the workspaces of the compiled BDF
    kernels (:mod:`electrohet.model.step_kernel`, :mod:`electrohet.model.newton_kernel`).

    Built by :class:`~electrohet.model.integrator.BDFIntegrator` (rebuilt only when its
    ``rtol`` or ``newton_tol`` changes).  n unknowns; ``nnz`` entries in the sparsity
    pattern of ``df/dy`` plus its diagonal (CSC order).  Unknowns keep their own units
    (``atol``, ``upper``, ``scale`` are in them).
    """

    # ---- the problem M y' = f(y)
    mass: np.ndarray
    """Diagonal of M [-], (n,) (0 on algebraic rows)."""
    diff: np.ndarray
    """Differential unknowns (M != 0), bool (n,)."""
    diff_float: np.ndarray
    """1.0 on differential rows, else 0.0, (n,) (diagonal of the consistency matrix)."""
    diag_pos: np.ndarray
    """Positions of the diagonal entries (i, i) in the pattern, int64 (n,)."""
    mass_diag: np.ndarray
    """M at ``diag_pos``, (n,)."""
    alg_entry: np.ndarray
    """Pattern entries in algebraic rows, bool (nnz,)."""
    # ---- tolerances and scales
    atol: np.ndarray
    """Absolute tolerance per unknown, (n,)."""
    rtol: float
    """Relative tolerance [-]."""
    upper: np.ndarray
    """Upper bound per unknown (inf where unbounded), (n,): error weights use the
    distance to the nearer bound."""
    scale: np.ndarray
    """Typical magnitude per unknown, (n,) (damping of the consistent initialisation)."""
    # ---- coloured finite-difference Jacobian
    jac_scale: np.ndarray
    """Floor of the difference steps' magnitude, (n,)."""
    colour: np.ndarray
    """Colour of each column, int64 (n,)."""
    n_colours: int
    """Number of colours."""
    indptr: np.ndarray
    """CSC column starts of the pattern, int64 (n + 1,)."""
    indices: np.ndarray
    """CSC row indices of the pattern, int64 (nnz,)."""
    # ---- the method
    gamma: np.ndarray
    """BDF coefficients gamma_k = sum_{j<=k} 1/j, (max_order + 1,)."""
    error_const: np.ndarray
    """Error constants 1/(k + 1), (max_order + 2,)."""
    max_order: int
    """Highest BDF order."""
    newton_tol: float
    """Corrector convergence tolerance, in units of the error weights [-]."""
    newton_maxiter: int
    """Most corrector iterations per attempt."""
    slow_newton: int
    """Corrector iterations after which the next step gets a fresh Jacobian."""
    rate_new: float
    """Assumed rate/(1 - rate) after a new Jacobian [-]."""
    min_factor: float
    """Smallest step-size factor after a rejected step [-]."""
    max_factor: float
    """Largest step-size factor [-]."""
    safety: float
    """Safety factor of the step-size selection [-]."""
    stall_steps: int
    """Consecutive tiny steps that count as a stall."""
    stall_h: float
    """"Tiny": a step below this fraction of max(1 s, t) [-]."""
    pivot_ratio: float
    """Pivot acceptance of a kept LU order (:mod:`~electrohet.model.sparse_lu`) [-]."""
    multiplier_max: float
    """Largest multiplier accepted for a kept LU order [-]."""
    # ---- workspaces
    work: np.ndarray
    """Step work (4, n): predictor, history term, weights, corrector."""
    kwork: np.ndarray
    """Newton work (3, n)."""


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
