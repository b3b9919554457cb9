"""Compiled corrector iteration and Jacobian of the BDF integrator on the fused residual.

For models that :func:`electrohet.model.p2de_fused.residual_fused` covers, the whole
simplified Newton iteration of a BDF step (residual, Newton update with the kept LU
factors, IDA's convergence test) and the coloured finite-difference Jacobian run as one
compiled call each, instead of a Python loop around compiled pieces.  The arithmetic
is that of :meth:`electrohet.model.integrator.BDFIntegrator._newton` and
:meth:`electrohet.model.jacobian.ColouredJacobian.values`.

References: Brenan, Campbell & Petzold, *Numerical Solution of Initial-Value Problems
in DAEs*, SIAM 1996, section 5.2.2, and Hindmarsh et al., ACM TOMS 31 (2005) 363
(convergence test with the rate of the previous corrector); Curtis, Powell & Reid,
IMA J. Appl. Math. 13 (1974) 117 (coloured differences).
"""

from __future__ import annotations

import numba
import numpy as np

from electrohet.model.bdf_kernels import newton_increment
from electrohet.model.p2de_fused import residual_fused

RATE_FLOOR = 0.1  # smallest rate/(1 - rate) carried over (as the integrator's)


@numba.njit(cache=True)
def newton_fused(
    y_pred: np.ndarray,
    psi: np.ndarray,
    c: float,
    w: np.ndarray,
    mass: np.ndarray,
    lu_ptr: np.ndarray,
    lu_idx: np.ndarray,
    diag: np.ndarray,
    lu: np.ndarray,
    row_order: np.ndarray,
    col_perm: np.ndarray,
    P: tuple,
    tol: float,
    conv_rate: float,
    maxiter: int,
    d: np.ndarray,
    work: np.ndarray,
) -> tuple[bool, int, float]:
    """Simplified Newton iteration for the BDF corrector ``M (psi + d) = c f(y_pred + d)``.

    Parameters
    ----------
    y_pred, psi, c, w
        Predictor, history term, step coefficient h/gamma_k [s] and error weights.
    mass
        Diagonal of M.
    lu_ptr .. col_perm
        Factors of ``M - c J`` (:class:`~electrohet.model.sparse_lu.StaticLU`).
    P
        Parameters of :func:`~electrohet.model.p2de_fused.residual_fused`.
    tol, conv_rate
        Convergence tolerance (in units of the weights) and the rate/(1 - rate) of the
        previous corrector.
    maxiter
        Most iterations.
    d
        Out: the corrector ``y - y_pred``.
    work
        Work array (3, n).

    Returns
    -------
    converged, iterations, conv_rate
        Whether the test passed, the iterations (= residual evaluations) spent and the
        updated rate estimate.
    """
    n = y_pred.size
    y = np.empty((n, 1))  # the batched residual's layout
    f = np.empty((n, 1))
    f1 = f.reshape(n)
    g = work[0]
    x = work[1]
    dy = work[2]
    for i in range(n):
        d[i] = 0.0
        y[i, 0] = y_pred[i]
    dy_norm_old = -1.0
    for k in range(maxiter):
        residual_fused(y, P, f)
        dy_norm = newton_increment(
            f1, c, psi, mass, d, w, lu_ptr, lu_idx, diag, lu, row_order, col_perm, g, x, dy
        )
        if not np.isfinite(dy_norm):
            return False, k + 1, conv_rate
        if dy_norm_old >= 0.0:
            rate = dy_norm / dy_norm_old
            if rate >= 0.9 or rate ** (maxiter - k) / (1.0 - rate) * dy_norm > tol:
                return False, k + 1, conv_rate
            conv_rate = max(rate / (1.0 - rate), RATE_FLOOR)
        for i in range(n):
            y[i, 0] += dy[i]
            d[i] += dy[i]
        if dy_norm == 0.0 or conv_rate * dy_norm < tol:
            return True, k + 1, conv_rate
        dy_norm_old = dy_norm
    return False, maxiter, conv_rate


@numba.njit(cache=True)
def jacobian_fused(
    y: np.ndarray,
    P: tuple,
    scale: np.ndarray,
    colour: np.ndarray,
    n_colours: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    out: np.ndarray,
) -> None:
    """Coloured forward-difference Jacobian of the fused residual at ``y``, its entries
    written to ``out`` in the CSC order of ``indptr``/``indices``.

    One batched residual call holds the unperturbed state (for f(y)) and one perturbed
    state per colour; steps ``1.49e-8 max(|y|, scale)``, made exactly representable.
    """
    n = y.size
    h = np.empty(n)
    Y = np.empty((n, n_colours + 1))
    for i in range(n):
        hi = 1.49e-8 * max(abs(y[i]), scale[i])
        hi = (y[i] + hi) - y[i]
        h[i] = hi
        for q in range(n_colours + 1):
            Y[i, q] = y[i]
        Y[i, colour[i]] += hi
    F = np.empty((n, n_colours + 1))
    residual_fused(Y, P, F)
    for col in range(n):
        cc = colour[col]
        hc = h[col]
        for p in range(indptr[col], indptr[col + 1]):
            r = indices[p]
            out[p] = (F[r, cc] - F[r, n_colours]) / hc
