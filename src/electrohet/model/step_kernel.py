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

Everything else comes in three containers: the residual's parameters ``p``
(:class:`~electrohet.model.p2de_kernel.ResidualParams`), the integrator's problem,
constants and workspaces ``sd`` (:class:`~electrohet.model.bdf_kernels.StepData`) and
the LU factors of ``M - c J`` ``lu`` (:class:`~electrohet.model.sparse_lu.LUFactors`),
plus the Jacobian's values ``J`` (CSC order of the pattern).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from electrohet.model.bdf_kernels import StepData, accept, predict, wrms_masked
from electrohet.model.newton_kernel import jacobian_fused, newton_fused
from electrohet.model.p2de_kernel import ResidualParams
from electrohet.model.sparse_lu import LUFactors, _numeric

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
    p: ResidualParams,
    sd: StepData,
    J: np.ndarray,
    fs: np.ndarray,
    ist: np.ndarray,
    cnt: np.ndarray,
) -> None:
    jacobian_fused(y, p, sd, J)
    cnt[4] += 1
    cnt[6] += 1
    ist[2] = 1
    ist[4] = 0
    fs[3] = sd.rate_new


@numba.njit(cache=True)
def bdf_step(
    D: np.ndarray,
    fs: np.ndarray,
    ist: np.ndarray,
    cnt: np.ndarray,
    p: ResidualParams,
    sd: StepData,
    J: np.ndarray,
    lu: LUFactors,
) -> int:
    """Advance by one accepted step, or stop at an event Python handles.

    ``D``: the backward differences (max_order + 3, n); ``fs``, ``ist``, ``cnt``: see
    the module docstring; ``J``: the Jacobian's values (refreshed in place).  Returns
    ``ACCEPTED``, ``NEED_FACTOR`` (re-pivot ``M - fs[2] J`` and call again),
    ``STEP_TOO_SMALL`` or ``STALLED``.
    """
    atol, rtol, upper, diff = sd.atol, sd.rtol, sd.upper, sd.diff
    gamma, error_const, max_order = sd.gamma, sd.error_const, sd.max_order
    diag_pos, mass_diag = sd.diag_pos, sd.mass_diag
    min_factor, max_factor, safety = sd.min_factor, sd.max_factor, sd.safety
    slow = sd.slow_newton
    stall_steps = sd.stall_steps
    stall_h = sd.stall_h
    pivot_ratio, mult_max = sd.pivot_ratio, sd.multiplier_max
    work = sd.work
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
            _jacobian(y_pred, p, sd, J, fs, ist, cnt)
        ist[3] = 0
        while not converged:
            if ist[4] == 0 or fs[2] != c:
                data = -c * J
                for q in range(diag_pos.size):
                    data[diag_pos[q]] += mass_diag[q]
                bad = _numeric(
                    lu.lu_ptr,
                    lu.lu_idx,
                    lu.diag,
                    lu.src,
                    data,
                    lu.lu,
                    lu.work,
                    pivot_ratio,
                    mult_max,
                )
                if bad >= 0:
                    lu.work[:] = 0.0
                    ist[4] = 0
                    fs[2] = c
                    return NEED_FACTOR
                ist[4] = 1
                fs[2] = c
                cnt[5] += 1
            converged, nit, rate = newton_fused(y_pred, psi, c, w, p, sd, lu, fs[3], d)
            fs[3] = rate
            cnt[2] += nit
            cnt[6] += nit
            if converged and nit >= slow:
                ist[3] = 1
            if not converged:
                if ist[2] == 1:
                    break
                _jacobian(y_pred, p, sd, J, fs, ist, cnt)
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
        expo = -1.0 / (k + q)
        f = math.inf if e == 0.0 else (0.0 if e == math.inf else e**expo)
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
    p: ResidualParams,
    sd: StepData,
    J: np.ndarray,
    lu: LUFactors,
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
        code = bdf_step(D, fs, ist, cnt, p, sd, J, lu)
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
