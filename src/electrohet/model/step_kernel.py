"""One whole BDF step, compiled, for models on the fused residual.

:func:`bdf_step` is :meth:`electrohet.model.integrator.BDFIntegrator.step` (predictor,
Jacobian refresh, refactorisation of ``M - c J`` with the kept pivot order, simplified
Newton corrector, local error test, step rejection, acceptance, order and step-size
selection) as one numba function; only the rare events go back to Python: a pivot order
that no longer suits the matrix (the caller re-pivots, :class:`StaticLU.factor`), a
step size below the floor and a stalled integration (the caller raises).  The
arithmetic, constants and counters are those of the Python method (Shampine & Reichelt,
SIAM J. Sci. Comput. 18 (1997) 1, for the backward-difference form; Brenan, Campbell &
Petzold 1996 and Hindmarsh et al. 2005 for the corrector test).

State exchanged with the integrator (arrays updated in place):

- ``fs`` (float64): t [s], h [s], c of the valid factors [s], convergence rate
  estimate, h_max [s], h_min [s];
- ``ist`` (int64): order, steps at the current step size, Jacobian current (0/1),
  Jacobian due (0/1), factors valid (0/1), consecutive tiny steps;
- ``cnt`` (int64, added to): steps, rejected, Newton iterations, Newton failures,
  Jacobians, factorisations, residual evaluations.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from electrohet.model.bdf_kernels import accept, predict, wrms_masked
from electrohet.model.newton_kernel import jacobian_fused, newton_fused
from electrohet.model.sparse_lu import _numeric

ACCEPTED, NEED_FACTOR, STEP_TOO_SMALL, STALLED = 0, 1, 2, 3


@numba.njit(cache=True)
def rescale(D: np.ndarray, order: int, factor: float) -> None:
    """In place: backward differences for step h turned into those for ``factor * h``
    (:func:`electrohet.model.integrator.rescale_differences`)."""
    k1 = order + 1
    R = np.zeros((k1, k1))
    U = np.zeros((k1, k1))
    for q, fac in ((0, factor), (1, 1.0)):
        A = np.zeros((k1, k1))
        for j in range(k1):
            A[0, j] = 1.0
        for i in range(1, k1):
            for j in range(1, k1):
                A[i, j] = (i - 1 - fac * j) / i
        # cumulative product down the rows
        for i in range(1, k1):
            for j in range(k1):
                A[i, j] *= A[i - 1, j]
        if q == 0:
            R[:, :] = A
        else:
            U[:, :] = A
    RU = R @ U
    n = D.shape[1]
    old = D[:k1].copy()
    for i in range(k1):
        for col in range(n):
            s = 0.0
            for j in range(k1):
                s += RU[j, i] * old[j, col]
            D[i, col] = s


@numba.njit(cache=True)
def _set_step(D: np.ndarray, fs: np.ndarray, ist: np.ndarray, h_new: float) -> None:
    factor = h_new / fs[1]
    if factor != 1.0:
        rescale(D, ist[0], factor)
        fs[1] = h_new
        ist[1] = 0


@numba.njit(cache=True)
def _jacobian(
    y: np.ndarray,
    P: tuple,
    jac_scale: np.ndarray,
    colour: np.ndarray,
    n_colours: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    J: np.ndarray,
    fs: np.ndarray,
    ist: np.ndarray,
    cnt: np.ndarray,
    rate_new: float,
) -> None:
    jacobian_fused(y, P, jac_scale, colour, n_colours, indptr, indices, J)
    cnt[4] += 1
    cnt[6] += 1
    ist[2] = 1
    ist[4] = 0
    fs[3] = rate_new


@numba.njit(cache=True)
def bdf_step(
    D: np.ndarray,
    fs: np.ndarray,
    ist: np.ndarray,
    cnt: np.ndarray,
    P: tuple,
    J: np.ndarray,
    mass: np.ndarray,
    atol: np.ndarray,
    rtol: float,
    upper: np.ndarray,
    diff: np.ndarray,
    diag_pos: np.ndarray,
    mass_diag: np.ndarray,
    jac_scale: np.ndarray,
    colour: np.ndarray,
    n_colours: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    lu_ptr: np.ndarray,
    lu_idx: np.ndarray,
    lu_diag: np.ndarray,
    lu_src: np.ndarray,
    lu: np.ndarray,
    lu_work: np.ndarray,
    row_order: np.ndarray,
    col_perm: np.ndarray,
    gamma: np.ndarray,
    error_const: np.ndarray,
    consts: np.ndarray,
    max_order: int,
    work: np.ndarray,
    kwork: np.ndarray,
) -> int:
    """Advance by one accepted step, or stop at an event Python handles.

    ``consts``: Newton tolerance, rate after a new Jacobian, rate floor (unused here),
    minimum and maximum step factor, safety factor, Newton iterations limit, slow
    corrector iterations, stall count, stall fraction, pivot ratio, multiplier limit.
    ``work`` (4, n): predictor, history term, weights, corrector.  Returns
    ``ACCEPTED``, ``NEED_FACTOR`` (re-pivot ``M - fs[2] J`` and call again),
    ``STEP_TOO_SMALL`` or ``STALLED``.
    """
    newton_tol = consts[0]
    rate_new = consts[1]
    min_factor, max_factor, safety = consts[3], consts[4], consts[5]
    maxiter = int(consts[6])
    slow = int(consts[7])
    stall_steps = int(consts[8])
    stall_h = consts[9]
    pivot_ratio, mult_max = consts[10], consts[11]
    y_pred, psi, w, d = work[0], work[1], work[2], work[3]
    n = y_pred.size
    if fs[1] > fs[4]:
        _set_step(D, fs, ist, fs[4])
    h_min = fs[5]
    while True:
        h = fs[1]
        if h < h_min:
            return STEP_TOO_SMALL
        k = ist[0]
        predict(D, k, gamma, atol, rtol, upper, y_pred, psi, w)
        c = h / gamma[k]
        converged = False
        if ist[3] == 1 and ist[2] == 0:
            _jacobian(
                y_pred, P, jac_scale, colour, n_colours, indptr, indices, J, fs, ist, cnt, rate_new
            )
        ist[3] = 0
        while not converged:
            if ist[4] == 0 or fs[2] != c:
                data = -c * J
                for q in range(diag_pos.size):
                    data[diag_pos[q]] += mass_diag[q]
                bad = _numeric(
                    lu_ptr, lu_idx, lu_diag, lu_src, data, lu, lu_work, pivot_ratio, mult_max
                )
                if bad >= 0:
                    lu_work[:] = 0.0
                    ist[4] = 0
                    fs[2] = c
                    return NEED_FACTOR
                ist[4] = 1
                fs[2] = c
                cnt[5] += 1
            converged, nit, rate = newton_fused(
                y_pred,
                psi,
                c,
                w,
                mass,
                lu_ptr,
                lu_idx,
                lu_diag,
                lu,
                row_order,
                col_perm,
                P,
                newton_tol,
                fs[3],
                maxiter,
                d,
                kwork,
            )
            fs[3] = rate
            cnt[2] += nit
            cnt[6] += nit
            if converged and nit >= slow:
                ist[3] = 1
            if not converged:
                if ist[2] == 1:
                    break
                _jacobian(
                    y_pred,
                    P,
                    jac_scale,
                    colour,
                    n_colours,
                    indptr,
                    indices,
                    J,
                    fs,
                    ist,
                    cnt,
                    rate_new,
                )
        if not converged:
            cnt[3] += 1
            _set_step(D, fs, ist, 0.5 * h)
            ist[2] = 0
            continue
        for i in range(n):
            psi[i] = y_pred[i] + d[i]  # y_new (psi is no longer needed)
        err = wrms_masked(d, error_const[k], psi, atol, rtol, upper, diff)
        if err > 1.0:
            cnt[1] += 1
            factor = max(min_factor, safety * err ** (-1.0 / (k + 1)))
            _set_step(D, fs, ist, h * factor)
            continue
        break
    # accept (a run of tiny steps is as stuck as a step below h_min)
    h = fs[1]
    if h < stall_h * max(1.0, abs(fs[0])):
        ist[5] += 1
    else:
        ist[5] = 0
    if ist[5] >= stall_steps:
        ist[5] = 0
        return STALLED
    cnt[0] += 1
    ist[2] = 0
    fs[0] += h
    ist[1] += 1
    accept(D, k, d)
    if ist[1] < k + 1:
        return ACCEPTED
    err_m = np.inf
    if k > 1:
        err_m = wrms_masked(D[k], error_const[k - 1], psi, atol, rtol, upper, diff)
    err_p = np.inf
    if k < max_order:
        err_p = wrms_masked(D[k + 2], error_const[k + 1], psi, atol, rtol, upper, diff)
    best = -1
    best_f = -1.0
    for q, e in enumerate((err_m, err, err_p)):
        p = -1.0 / (k + q)
        f = math.inf if e == 0.0 else (0.0 if e == math.inf else e**p)
        if f > best_f:
            best_f = f
            best = q
    delta = best - 1
    ist[0] = k + delta
    factor = min(max_factor, safety * best_f)
    _set_step(D, fs, ist, h * factor)
    return ACCEPTED


EVENT, END, FULL = 4, 5, 6


@numba.njit(cache=True)
def event_value(ev: np.ndarray, y: np.ndarray) -> float:
    """Value of the cut-off event ``ev`` at ``y`` (> 0 before the cut-off).

    ``ev`` = (kind, i_a, i_b, r_1, r_2, sign, value): kind 0 is a voltage cut-off,
    sign * ((y[i_a] - r_1 y[i_b]) - r_2 y[i_b] - value) (the terminal voltage of
    :meth:`~electrohet.model.p2de.P2DEModel.terminal_voltage`, I = y[i_b]); kind 1 a
    current cut-off, |y[i_b]| - value; any other kind has no event (returns 1).
    """
    kind = int(ev[0])
    if kind == 0:
        current = y[int(ev[2])]
        v = (y[int(ev[1])] - ev[3] * current) - ev[4] * current
        return ev[5] * (v - ev[6])
    if kind == 1:
        return abs(y[int(ev[2])]) - ev[6]
    return 1.0


@numba.njit(cache=True)
def run_steps(
    D: np.ndarray,
    D_saved: np.ndarray,
    fs: np.ndarray,
    ist: np.ndarray,
    cnt: np.ndarray,
    P: tuple,
    J: np.ndarray,
    mass: np.ndarray,
    atol: np.ndarray,
    rtol: float,
    upper: np.ndarray,
    diff: np.ndarray,
    diag_pos: np.ndarray,
    mass_diag: np.ndarray,
    jac_scale: np.ndarray,
    colour: np.ndarray,
    n_colours: int,
    indptr: np.ndarray,
    indices: np.ndarray,
    lu_ptr: np.ndarray,
    lu_idx: np.ndarray,
    lu_diag: np.ndarray,
    lu_src: np.ndarray,
    lu: np.ndarray,
    lu_work: np.ndarray,
    row_order: np.ndarray,
    col_perm: np.ndarray,
    gamma: np.ndarray,
    error_const: np.ndarray,
    consts: np.ndarray,
    max_order: int,
    work: np.ndarray,
    kwork: np.ndarray,
    t_end: float,
    max_step: float,
    ev: np.ndarray,
    rec_t: np.ndarray,
    rec_y: np.ndarray,
) -> tuple[int, int]:
    """Take steps (:func:`bdf_step`) towards ``t_end`` until something needs Python.

    Before each step the state is kept (``D_saved``; t, h in ``fs[6:8]``, order and
    steps at this size in ``ist[7:9]``) for an event's re-take; ``ist[6]`` = 1 marks a
    step interrupted by ``NEED_FACTOR`` (the call after the re-pivot resumes it).  Each
    accepted step's (t, y) is written to ``rec_t``, ``rec_y`` unless it crossed the
    event ``ev`` (:func:`event_value`).  Returns (code, records written): ``EVENT``
    (the last step crossed the cut-off), ``END`` (t reached ``t_end``), ``FULL`` (the
    record buffers are full), or the codes of :func:`bdf_step` other than
    ``ACCEPTED``.
    """
    n_rec = 0
    cap = rec_t.size
    while True:
        if ist[6] == 0:
            D_saved[:, :] = D
            fs[6] = fs[0]
            fs[7] = fs[1]
            ist[7] = ist[0]
            ist[8] = ist[1]
            fs[4] = min(max_step, t_end - fs[0])
            fs[5] = 1e-12 * max(1.0, abs(fs[0]))
        code = bdf_step(
            D,
            fs,
            ist,
            cnt,
            P,
            J,
            mass,
            atol,
            rtol,
            upper,
            diff,
            diag_pos,
            mass_diag,
            jac_scale,
            colour,
            n_colours,
            indptr,
            indices,
            lu_ptr,
            lu_idx,
            lu_diag,
            lu_src,
            lu,
            lu_work,
            row_order,
            col_perm,
            gamma,
            error_const,
            consts,
            max_order,
            work,
            kwork,
        )
        if code == NEED_FACTOR:
            ist[6] = 1
            return code, n_rec
        ist[6] = 0
        if code != ACCEPTED:
            return code, n_rec
        if event_value(ev, D[0]) <= 0.0:
            return EVENT, n_rec
        rec_t[n_rec] = fs[0]
        rec_y[n_rec, :] = D[0]
        n_rec += 1
        if fs[0] >= t_end - 1e-9 * max(1.0, t_end):
            return END, n_rec
        if n_rec == cap:
            return FULL, n_rec
