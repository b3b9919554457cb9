"""Compiled corrector iteration and Jacobian of the BDF integrator on the fused residual.

For models that :func:`electrohet.model.p2de_kernel.residual_fused` covers, the whole
simplified Newton iteration of a BDF step (residual, Newton update with the kept LU
factors, IDA's convergence test) and the coloured finite-difference Jacobian run as one
compiled call each, instead of a Python loop around compiled pieces.  The arithmetic
is that of :meth:`electrohet.model.integrator.BDFIntegrator._newton` and
:meth:`electrohet.model.jacobian.ColouredJacobian.values`.

References: Brenan, Campbell & Petzold, *Numerical Solution of Initial-Value Problems
in DAEs*, SIAM 1996, section 5.2.2, and Hindmarsh et al., ACM TOMS 31 (2005) 363
(convergence test with the rate of the previous corrector); Curtis, Powell & Reid,
IMA J. Appl. Math. 13 (1974) 117 (coloured differences).

Every kernel takes the residual's parameters ``p``
(:class:`~electrohet.model.p2de_kernel.ResidualParams`), the integrator's
:class:`~electrohet.model.bdf_kernels.StepData` ``sd`` and, where it solves, the LU
factors ``lu`` (:class:`~electrohet.model.sparse_lu.LUFactors`).
"""

from __future__ import annotations

import numba
import numpy as np

from electrohet.model.bdf_kernels import StepData, newton_increment
from electrohet.model.p2de_kernel import ResidualParams, residual_fused
from electrohet.model.sparse_lu import LUFactors, _numeric, solve_factors_into

RATE_FLOOR = 0.1  # smallest rate/(1 - rate) carried over (as the integrator's)


@numba.njit(cache=True)
def newton_fused(
    y_pred: np.ndarray,
    psi: np.ndarray,
    c: float,
    w: np.ndarray,
    p: ResidualParams,
    sd: StepData,
    lu: LUFactors,
    conv_rate: float,
    d: np.ndarray,
) -> tuple[bool, int, float]:
    """Simplified Newton iteration for the BDF corrector ``M (psi + d) = c f(y_pred + d)``.

    Parameters
    ----------
    y_pred, psi, c, w
        Predictor, history term, step coefficient h/gamma_k [s] and error weights.
    p
        Parameters of :func:`~electrohet.model.p2de_kernel.residual_fused`.
    sd
        The integrator's data: M, the tolerance ``newton_tol`` (in units of the
        weights), at most ``newton_maxiter`` iterations, the work array ``kwork``.
    lu
        Factors of ``M - c J``.
    conv_rate
        The rate/(1 - rate) of the previous corrector.
    d
        Out: the corrector ``y - y_pred``.

    Returns
    -------
    converged, iterations, conv_rate
        Whether the test passed, the iterations (= residual evaluations) spent and the
        updated rate estimate.
    """
    n = y_pred.size
    tol = sd.newton_tol
    maxiter = sd.newton_maxiter
    mass = sd.mass
    y = np.empty((n, 1))  # the batched residual's layout
    f = np.empty((n, 1))
    f1 = f.reshape(n)
    g = sd.kwork[0]
    x = sd.kwork[1]
    dy = sd.kwork[2]
    for i in range(n):
        d[i] = 0.0
        y[i, 0] = y_pred[i]
    dy_norm_old = -1.0
    for k in range(maxiter):
        residual_fused(y, p, f)
        dy_norm = newton_increment(
            f1,
            c,
            psi,
            mass,
            d,
            w,
            lu.lu_ptr,
            lu.lu_idx,
            lu.diag,
            lu.lu,
            lu.row_order,
            lu.col_perm,
            g,
            x,
            dy,
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
def jacobian_fused(y: np.ndarray, p: ResidualParams, sd: StepData, out: np.ndarray) -> None:
    """Coloured forward-difference Jacobian of the fused residual at ``y``, its entries
    written to ``out`` in the CSC order of ``sd.indptr``/``sd.indices``.

    One batched residual call holds the unperturbed state (for f(y)) and one perturbed
    state per colour (``sd.colour``); steps ``1.49e-8 max(|y|, sd.jac_scale)``, made
    exactly representable.
    """
    scale, colour, n_colours = sd.jac_scale, sd.colour, sd.n_colours
    indptr, indices = sd.indptr, sd.indices
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
    residual_fused(Y, p, F)
    for col in range(n):
        cc = colour[col]
        hc = h[col]
        for e in range(indptr[col], indptr[col + 1]):
            r = indices[e]
            out[e] = (F[r, cc] - F[r, n_colours]) / hc


@numba.njit(cache=True)
def _wrms(v: np.ndarray, y: np.ndarray, atol: np.ndarray, rtol: float, upper: np.ndarray) -> float:
    """WRMS norm of ``v`` with weights ``atol + rtol min(|y|, |upper - y|)``."""
    acc = 0.0
    for i in range(v.size):
        w = atol[i] + rtol * min(abs(y[i]), abs(upper[i] - y[i]))
        r = v[i] / w
        acc += r * r
    return np.sqrt(acc / v.size)


@numba.njit(cache=True)
def consistent_fused(
    y: np.ndarray,
    p: ResidualParams,
    sd: StepData,
    lu: LUFactors,
    tol: float,
    maxiter: int,
    J: np.ndarray,
    fa: np.ndarray,
    state: np.ndarray,
    cnt: np.ndarray,
) -> int:
    """:meth:`BDFIntegrator.make_consistent` on the fused residual, in place on ``y``.

    Newton on the algebraic equations with the differential unknowns fixed (matrix:
    the algebraic rows of J, identity on the differential rows, factorised into
    ``lu``), updates damped to at most 5 ``sd.scale``; a fresh Jacobian (left in
    ``J``) every iteration; the convergence test of the Python method with ``tol``.
    ``cnt`` (added to): Jacobians,
    factorisations, residual evaluations.  Returns 0 when converged; 1 when the kept
    pivot order of the consistency matrix failed: the caller factorises it
    (re-pivoting), sets ``state[2] = 1`` and calls again, which resumes the iteration
    ``state[0]`` (``state[1]``: last update norm; ``fa``: the algebraic residual) with
    the solve; 2 when not converged in ``maxiter`` iterations, 3 on a non-finite update
    (the caller raises).
    """
    diff, alg_entry, diag_pos, diff_diag = sd.diff, sd.alg_entry, sd.diag_pos, sd.diff_float
    scale, atol, rtol, upper = sd.scale, sd.atol, sd.rtol, sd.upper
    n = y.size
    f = np.empty((n, 1))
    f1 = f.reshape(n)
    Y = np.empty((n, 1))
    dy = np.empty(n)
    x = np.empty(n)
    v = np.empty(n)
    step_norm = state[1]
    resume = state[2] == 1.0
    state[2] = 0.0
    for it in range(int(state[0]), maxiter):
        if not resume:
            Y[:, 0] = y
            residual_fused(Y, p, f)
            cnt[2] += 1
            for i in range(n):
                fa[i] = 0.0 if diff[i] else f1[i]
            if it > 0 and _wrms(fa, y, atol, rtol, upper) < tol and step_norm < 1e-3:
                return 0
            jacobian_fused(y, p, sd, J)
            cnt[0] += 1
            cnt[2] += 1
            data = np.where(alg_entry, J, 0.0)
            for q in range(diag_pos.size):
                data[diag_pos[q]] += diff_diag[q]
            bad = _numeric(
                lu.lu_ptr,
                lu.lu_idx,
                lu.diag,
                lu.src,
                data,
                lu.lu,
                lu.work,
                sd.pivot_ratio,
                sd.multiplier_max,
            )
            if bad >= 0:
                lu.work[:] = 0.0
                state[0] = it
                state[1] = step_norm
                return 1
            cnt[1] += 1
        resume = False
        solve_factors_into(
            lu.lu_ptr, lu.lu_idx, lu.diag, lu.lu, lu.row_order, lu.col_perm, fa, x, dy
        )
        big = 0.0
        for i in range(n):
            dy[i] = -dy[i]
            if not np.isfinite(dy[i]):
                return 3
            big = max(big, abs(dy[i]) / scale[i])
        lam = 1.0
        if big > 5.0:
            lam = 5.0 / big
        for i in range(n):
            v[i] = lam * dy[i]
            y[i] = y[i] + v[i]
        step_norm = _wrms(v, y, atol, rtol, upper)
        if step_norm < 1e-6 and lam == 1.0:
            cnt[2] += 1  # (the Python method evaluates f here once more)
            return 0
    return 2
