"""Variable-order, variable-step BDF integrator for index-1 DAEs ``M y' = f(y)``.

The method is the quasi-constant step-size backward differentiation formulas of orders
1-5 in backward-difference form, with step changes by interpolation of the difference
array (Shampine & Reichelt, "The MATLAB ODE Suite", SIAM J. Sci. Comput. 18 (1997) 1).
Algebraic rows (M = 0) are excluded from the local error estimate (as in DASSL/IDA with
suppressed algebraic error).  Each step solves the corrector with a simplified Newton
iteration on a sparse matrix ``M - c J``; the coloured finite-difference Jacobian is
reused across steps until convergence fails, and ``M - c J`` is refactorised (a cheap
numeric factorisation on a fixed structure, :mod:`electrohet.model.sparse_lu`) whenever
``c`` changes.  As in IDA (Hindmarsh et al., ACM TOMS 31 (2005) 363, and Brenan,
Campbell & Petzold, *Numerical Solution of Initial-Value Problems in DAEs*, SIAM 1996,
section 5.2.2), the convergence-rate estimate of the previous corrector is kept, so a
corrector whose first update is already small enough converges after one iteration.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from electrohet.engine.stats import SolverStats
from electrohet.errors import SolverError
from electrohet.model.bdf_kernels import (
    StepData,
    accept,
    newton_increment,
    predict,
    wrms_masked,
)
from electrohet.model.jacobian import ColouredJacobian
from electrohet.model.newton_kernel import consistent_fused, jacobian_fused, newton_fused
from electrohet.model.p2de_kernel import ResidualParams
from electrohet.model.sparse_lu import MULTIPLIER_MAX, PIVOT_RATIO, StaticLU
from electrohet.model.step_kernel import (
    NEED_FACTOR,
    STALLED,
    STEP_TOO_SMALL,
    bdf_step,
    run_steps,
)

MAX_ORDER = 5
NEWTON_MAXITER = 4
NEWTON_TOL = 0.33  # corrector convergence in units of the local error tolerance (IDA's epcon)
RATE_AFTER_NEW_JACOBIAN = 20.0  # assumed rate/(1 - rate) until one is measured (IDA)
SLOW_NEWTON = 3  # corrector iterations after which the next step gets a fresh Jacobian
STALL_STEPS = 100  # consecutive tiny steps that count as a breakdown
STALL_H = 1e-6  # "tiny": h below this fraction of max(1 s, t)
RATE_FLOOR = 0.1  # smallest rate/(1 - rate) carried over to the next corrector
MIN_FACTOR, MAX_FACTOR, SAFETY = 0.2, 10.0, 0.9
GAMMA = np.hstack((0.0, np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))))
ERROR_CONST = 1.0 / np.arange(1, MAX_ORDER + 2)  # BDF of order k: 1/(k+1)


def _interp_matrix(order: int, factor: float) -> np.ndarray:
    """Matrix that rescales backward differences to a step ``factor`` times larger."""
    i = np.arange(1, order + 1)[:, None]
    j = np.arange(1, order + 1)[None, :]
    A = np.zeros((order + 1, order + 1))
    A[1:, 1:] = (i - 1 - factor * j) / i
    A[0] = 1.0
    return np.cumprod(A, axis=0)


def rescale_differences(D: np.ndarray, order: int, factor: float) -> None:
    """In place: turn the differences in ``D`` for step h into those for ``factor * h``."""
    RU = _interp_matrix(order, factor) @ _interp_matrix(order, 1.0)
    D[: order + 1] = RU.T @ D[: order + 1]


class BDFIntegrator:
    """Integrate ``M y' = f(y)`` from a consistent state.

    Parameters
    ----------
    fun
        Batched residual f(Y) for Y of shape (n,) or (n, B).
    mass
        Diagonal of M (zeros on algebraic rows).
    pattern
        Sparsity of df/dy (the diagonal is added).
    scale
        Typical magnitude of each unknown (finite-difference steps, Newton norm).
    rtol, atol
        Relative tolerance and per-unknown absolute tolerances.
    jacobian
        A ready :class:`ColouredJacobian` on ``pattern`` plus its diagonal (built here
        when omitted).
    max_order
        Highest BDF order used.
    upper
        Upper bounds of bounded unknowns (``inf`` where unbounded).

    Notes
    -----
    ``J = None`` (a new Jacobian is due) and ``lu = None`` (a new factorisation is
    due) may be set from outside after the residual function changed.
    ``kernel_params``, when set from outside to the parameters
    (:class:`~electrohet.model.p2de_kernel.ResidualParams`) of
    :func:`~electrohet.model.p2de_kernel.residual_fused` that ``fun`` evaluates, makes
    the Jacobian, the corrector iteration and the consistent initialisation
    (:mod:`electrohet.model.newton_kernel`), whole steps (:meth:`step`) and runs of
    steps (:meth:`run`, :mod:`electrohet.model.step_kernel`) compiled, with the
    arithmetic of the Python path; ``step_kernel = False`` keeps the Python step loop.
    The compiled kernels take the integrator's data as one
    :class:`~electrohet.model.bdf_kernels.StepData` (built here, rebuilt only when
    ``rtol`` or ``newton_tol`` changes).
    """

    def __init__(
        self,
        fun: Callable[[np.ndarray], np.ndarray],
        mass: np.ndarray,
        pattern: sp.spmatrix,
        scale: np.ndarray,
        rtol: float,
        atol: np.ndarray,
        jacobian: ColouredJacobian | None = None,
        max_order: int = MAX_ORDER,
        upper: np.ndarray | None = None,
    ) -> None:
        self.fun = fun
        self.mass = np.asarray(mass, dtype=float)
        self.diff = self.mass != 0
        n = self.mass.size
        P = sp.csc_matrix(pattern, dtype=float, copy=True)
        P = (P + sp.eye(n, format="csc")).tocsc()
        P.data[:] = 1.0
        P.sort_indices()
        self.pattern = P
        self.jac = jacobian or ColouredJacobian(P, scale)
        if self.jac.indices.size != P.indices.size or np.any(self.jac.indices != P.indices):
            raise ValueError("the Jacobian's sparsity must be the pattern plus its diagonal")
        cols = np.repeat(np.arange(n), np.diff(P.indptr))
        self.diag_pos = np.flatnonzero(P.indices == cols)  # entries (i, i), column order
        self.mass_diag = self.mass[cols[self.diag_pos]]
        # consistency matrix: algebraic rows of J, identity on differential rows
        self.alg_entry = ~self.diff[P.indices]
        self.scale = np.asarray(scale, dtype=float)
        self.rtol = float(rtol)
        self.atol = np.ascontiguousarray(np.broadcast_to(np.asarray(atol, dtype=float), (n,)))
        self.max_order = int(max_order)
        # bounded unknowns (e.g. c_s in [0, c_max]) are weighted by their distance to
        # the nearer bound, so a nearly full particle surface is resolved as finely as a
        # nearly empty one
        self.upper = None if upper is None else np.asarray(upper, dtype=float)
        self.has_upper = self.upper is not None and bool(np.any(np.isfinite(self.upper)))
        self._upper = np.full(n, np.inf) if self.upper is None else self.upper.astype(float)
        self._work = {k: np.empty(n) for k in ("y_pred", "psi", "w", "g", "x", "dy")}
        self.newton_tol = NEWTON_TOL
        self.stats = SolverStats()
        self.J: np.ndarray | None = None  # values of df/dy on ``pattern`` (CSC order)
        self.J_current = False
        self._lu = StaticLU(P.indptr, P.indices)
        self._lu_cons = StaticLU(P.indptr, P.indices)
        self.lu: StaticLU | None = None  # the factors of M - lu_c J, when valid
        self.lu_c: float | None = None
        self.conv_rate = RATE_AFTER_NEW_JACOBIAN
        self.jacobian_due = False
        self.stalled_steps = 0
        self.kernel_params: ResidualParams | None = None
        self.step_kernel = True  # False: the Python step (same arithmetic; for tests)
        self._fs = np.zeros(8)
        self._ist = np.zeros(9, dtype=np.int64)
        self._cnt = np.zeros(7, dtype=np.int64)
        jac = self.jac
        self._sd = StepData(
            mass=self.mass,
            diff=np.ascontiguousarray(self.diff),
            diff_float=self.diff.astype(float),
            diag_pos=self.diag_pos,
            mass_diag=self.mass_diag,
            alg_entry=self.alg_entry,
            atol=self.atol,
            rtol=self.rtol,
            upper=self._upper,
            scale=self.scale,
            jac_scale=jac.scale,
            colour=jac.colour,
            n_colours=int(jac.n_colours),
            indptr=jac.indptr,
            indices=jac.indices,
            gamma=GAMMA,
            error_const=ERROR_CONST,
            max_order=self.max_order,
            newton_tol=float(self.newton_tol),
            newton_maxiter=NEWTON_MAXITER,
            slow_newton=SLOW_NEWTON,
            rate_new=RATE_AFTER_NEW_JACOBIAN,
            min_factor=MIN_FACTOR,
            max_factor=MAX_FACTOR,
            safety=SAFETY,
            stall_steps=STALL_STEPS,
            stall_h=STALL_H,
            pivot_ratio=PIVOT_RATIO,
            multiplier_max=MULTIPLIER_MAX,
            work=np.empty((4, n)),
            kwork=np.empty((3, n)),
        )

    def _step_data(self) -> StepData:
        """The compiled kernels' :class:`~electrohet.model.bdf_kernels.StepData`, with
        the current ``rtol`` and ``newton_tol`` (both public, e.g. set by
        :meth:`Simulation.tolerances <electrohet.model.Simulation.tolerances>`)."""
        sd = self._sd
        if sd.rtol != self.rtol or sd.newton_tol != self.newton_tol:
            sd = self._sd = sd._replace(rtol=float(self.rtol), newton_tol=float(self.newton_tol))
        return sd

    def set_problem(
        self, mass: np.ndarray, scale: np.ndarray, atol: np.ndarray, upper: np.ndarray | None
    ) -> None:
        """Take another problem of the same structure (for a parameter sweep).

        The sparsity pattern, its colouring and the kept pivot orders stay; the mass
        diagonal, unknown scales, absolute tolerances and bounds are replaced, and the
        Jacobian and its factors are forgotten.

        Parameters
        ----------
        mass
            Diagonal of M; its zero pattern (the algebraic rows) must be unchanged.
        scale
            Typical magnitude of each unknown.
        atol
            Per-unknown absolute tolerances.
        upper
            Upper bounds (``inf`` where unbounded), or None.

        Raises
        ------
        ValueError
            The sizes or the algebraic rows differ.
        """
        m = np.asarray(mass, dtype=float)
        if m.shape != self.mass.shape or np.any((m != 0) != self.diff):
            raise ValueError("set_problem: the new problem's size or algebraic rows differ")
        n = m.size
        self.mass = m
        cols = np.repeat(np.arange(n), np.diff(self.pattern.indptr))
        self.mass_diag = m[cols[self.diag_pos]]
        self.scale = np.asarray(scale, dtype=float)
        self.jac.scale = self.scale
        self.atol = np.ascontiguousarray(np.broadcast_to(np.asarray(atol, dtype=float), (n,)))
        self.upper = None if upper is None else np.asarray(upper, dtype=float)
        self.has_upper = self.upper is not None and bool(np.any(np.isfinite(self.upper)))
        self._upper = np.full(n, np.inf) if self.upper is None else self.upper.astype(float)
        self._sd = self._sd._replace(
            mass=self.mass,
            mass_diag=self.mass_diag,
            atol=self.atol,
            upper=self._upper,
            scale=self.scale,
            jac_scale=self.jac.scale,
        )
        self.invalidate_jacobian()

    def invalidate_jacobian(self) -> None:
        """Forget the Jacobian and its factors (the residual's parameters changed).

        The next :meth:`start`, :meth:`make_consistent` or step evaluates ``df/dy``
        afresh and factors it again; a model setter that changes what ``fun``
        computes calls this through :class:`~electrohet.model.Simulation`.
        """
        self.J = None
        self.J_current = False
        self.lu = None

    # -------------------------------------------------------------- utilities
    def _f(self, y: np.ndarray) -> np.ndarray:
        self.stats.residual_evals += 1
        return self.fun(y)

    def _jacobian(self, y: np.ndarray, f0: np.ndarray | None = None) -> None:
        P = self.kernel_params
        if P is not None:
            jac = self.jac
            J = np.empty(jac.indices.size)
            jacobian_fused(np.ascontiguousarray(y, dtype=float), P, self._step_data(), J)
            self.J = J
        else:
            if f0 is None:
                f0 = self._f(y)
            self.J = self.jac.values(self.fun, y, f0)
        self.stats.jacobians += 1
        self.stats.residual_evals += 1
        self.J_current = True
        self.lu = None
        self.conv_rate = RATE_AFTER_NEW_JACOBIAN

    def _factor(self, c: float, current_failed: bool = False) -> None:
        assert self.J is not None
        data = -c * self.J
        data[self.diag_pos] += self.mass_diag
        try:
            self._lu.factor(data, current_failed)
        except RuntimeError as exc:  # singular matrix
            raise SolverError(f"singular iteration matrix: {exc}") from exc
        self.lu = self._lu
        self.lu_c = c
        self.stats.factorizations += 1

    def _weights(self, y: np.ndarray) -> np.ndarray:
        mag = np.abs(y)
        if self.has_upper:
            mag = np.minimum(mag, np.abs(self.upper - y))
        return self.atol + self.rtol * mag

    def _wnorm(self, v: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
        r = v / self._weights(y)
        if mask is not None:
            r = r[mask]
        return float(np.sqrt(np.dot(r, r) / r.size)) if r.size else 0.0

    def _err_norm(self, v: np.ndarray, factor: float, y: np.ndarray) -> float:
        """WRMS norm of ``factor * v`` over the differential unknowns, weights at ``y``."""
        return wrms_masked(v, factor, y, self.atol, self.rtol, self._upper, self.diff)

    # -------------------------------------------------------------- consistency
    def make_consistent(self, y: np.ndarray, tol: float = 1e-10, maxiter: int = 30) -> np.ndarray:
        """Solve the algebraic equations for the algebraic unknowns, differential fixed."""
        y = y.copy()
        alg = ~self.diff
        if not np.any(alg):
            return y
        if self.step_kernel and self.kernel_params is not None and self._lu_cons.ready:
            y_k = self._consistent_compiled(y, alg, tol, maxiter)
            if y_k is not None:
                return y_k
        step_norm = np.inf
        for it in range(maxiter):
            f = self._f(y)
            fa = np.where(alg, f, 0.0)
            if it > 0 and self._wnorm(fa, y) < tol and step_norm < 1e-3:
                break
            self._jacobian(y, f)
            assert self.J is not None
            data = np.where(self.alg_entry, self.J, 0.0)
            data[self.diag_pos] += self.diff.astype(float)
            try:
                self._lu_cons.factor(data)
                dy = -self._lu_cons.solve(fa)
            except RuntimeError as exc:
                raise SolverError(f"consistent initialisation failed: {exc}") from exc
            if not np.all(np.isfinite(dy)):
                raise SolverError("consistent initialisation produced non-finite values")
            # damp large potential updates
            lam = 1.0
            big = np.max(np.abs(dy) / self.scale)
            if big > 5.0:
                lam = 5.0 / big
            y = y + lam * dy
            step_norm = self._wnorm(lam * dy, y)
            if step_norm < 1e-6 and lam == 1.0:
                f = self._f(y)
                break
        else:
            raise SolverError("consistent initialisation did not converge in 30 Newton iterations")
        self.J_current = False
        return y

    def _consistent_compiled(
        self, y: np.ndarray, alg: np.ndarray, tol: float, maxiter: int
    ) -> np.ndarray | None:
        """:meth:`make_consistent` as compiled calls
        (:func:`~electrohet.model.newton_kernel.consistent_fused`; Python only re-pivots
        the consistency matrix); None when the kernel did not converge (the Python
        method then runs and raises)."""
        y_k = y.copy()
        J = np.empty(self.jac.indices.size)
        fa = np.empty(y.size)
        state = np.array([0.0, np.inf, 0.0])
        cnt = np.zeros(3, dtype=np.int64)
        lu = self._lu_cons
        assert self.kernel_params is not None  # the caller checked `compiled`
        while True:
            code = consistent_fused(
                y_k,
                self.kernel_params,
                self._step_data(),
                lu.factors,
                tol,
                maxiter,
                J,
                fa,
                state,
                cnt,
            )
            if code != 1:
                break
            # the kept pivot order failed: re-pivot here, then the kernel resumes
            data = np.where(self.alg_entry, J, 0.0)
            data[self.diag_pos] += self._sd.diff_float
            try:
                lu.factor(data, current_failed=True)
            except RuntimeError as exc:
                raise SolverError(f"consistent initialisation failed: {exc}") from exc
            state[2] = 1.0
        self.stats.jacobians += int(cnt[0])
        self.stats.residual_evals += int(cnt[2])
        if cnt[0] > 0:
            self.J = J
            self.lu = None
            self.conv_rate = RATE_AFTER_NEW_JACOBIAN
        if code == 3:
            raise SolverError("consistent initialisation produced non-finite values")
        if code != 0:
            return None
        self.J_current = False
        return y_k

    # -------------------------------------------------------------- stepping
    def start(self, t: float, y: np.ndarray, h: float) -> None:
        """Begin a new integration at (t, y) with first step ``h`` (order 1)."""
        n = y.size
        self.t = float(t)
        self.h = float(h)
        self.order = 1
        self.n_equal = 0
        self.D = np.zeros((self.max_order + 3, n))
        self.D[0] = y
        f = self._f(y)
        yp = np.zeros(n)
        yp[self.diff] = f[self.diff] / self.mass[self.diff]
        self.D[1] = self.h * yp
        self.lu = None
        if self.J is None:
            self._jacobian(y, f)

    @property
    def y(self) -> np.ndarray:
        return self.D[0]

    def snapshot(self) -> tuple:
        return (self.t, self.h, self.order, self.n_equal, self.D.copy())

    def restore(self, snap: tuple) -> None:
        self.t, self.h, self.order, self.n_equal, D = snap
        self.D = D.copy()
        self.lu = None

    def save(self) -> None:
        """Keep the current state in a reusable buffer (a :meth:`snapshot` without the
        allocation, for :meth:`restore_saved`)."""
        buf = getattr(self, "_saved_D", None)
        if buf is None or buf.shape != self.D.shape:
            buf = self._saved_D = np.empty_like(self.D)
        np.copyto(buf, self.D)
        self._saved = (self.t, self.h, self.order, self.n_equal)

    @property
    def saved_t(self) -> float:
        """The time kept by the last :meth:`save`."""
        return self._saved[0]

    @property
    def saved_y(self) -> np.ndarray:
        """The state kept by the last :meth:`save`."""
        return self._saved_D[0]

    def restore_saved(self) -> None:
        """Return to the state of the last :meth:`save`."""
        self.t, self.h, self.order, self.n_equal = self._saved
        np.copyto(self.D, self._saved_D)
        self.lu = None

    def set_step(self, h_new: float) -> None:
        """Change the next step size to ``h_new``."""
        factor = h_new / self.h
        if factor != 1.0:
            rescale_differences(self.D, self.order, factor)
            self.h = h_new
            self.n_equal = 0

    def _newton(
        self, y_pred: np.ndarray, psi: np.ndarray, c: float, w: np.ndarray
    ) -> tuple[bool, np.ndarray, int]:
        """Simplified Newton iteration for the corrector.

        Converged when the estimated distance to the solution, rate/(1 - rate) times
        the last update (weighted RMS norm with weights ``w``), is below
        ``newton_tol``; the rate of the previous corrector stands in until this one has
        measured its own (IDA's test).
        """
        lu = self.lu
        assert lu is not None
        P = self.kernel_params
        if P is not None:
            d = np.empty_like(y_pred)
            ok, nit, self.conv_rate = newton_fused(
                y_pred, psi, c, w, P, self._step_data(), lu.factors, self.conv_rate, d
            )
            self.stats.residual_evals += nit
            return ok, d, nit
        d = np.zeros_like(y_pred)
        y = y_pred.copy()
        wk = self._work
        dy = wk["dy"]
        dy_norm_old = None
        for k in range(NEWTON_MAXITER):
            f = self._f(y)
            dy_norm = newton_increment(
                f,
                c,
                psi,
                self.mass,
                d,
                w,
                lu.lu_ptr,
                lu.lu_idx,
                lu.diag,
                lu.lu,
                lu.row_order,
                lu.col_perm,
                wk["g"],
                wk["x"],
                dy,
            )
            if not np.isfinite(dy_norm):
                return False, d, k + 1
            if dy_norm_old is not None:
                rate = dy_norm / dy_norm_old
                if rate >= 0.9 or rate ** (NEWTON_MAXITER - k) / (1 - rate) * dy_norm > (
                    self.newton_tol
                ):
                    return False, d, k + 1
                self.conv_rate = max(rate / (1.0 - rate), RATE_FLOOR)
            y += dy
            d += dy
            if dy_norm == 0 or self.conv_rate * dy_norm < self.newton_tol:
                return True, d, k + 1
            dy_norm_old = dy_norm
        return False, d, NEWTON_MAXITER

    def step(self, h_max: float = np.inf) -> None:
        """Advance by one accepted step (at most ``h_max``); raises SolverError on failure."""
        if self.compiled:
            self._step_compiled(h_max)
            return
        if self.h > h_max:
            self.set_step(h_max)
        h_min = 1e-12 * max(1.0, abs(self.t))
        while True:
            if self.h < h_min:
                raise SolverError(f"step size fell below {h_min:.3g} s at t = {self.t:.6g} s")
            k = self.order
            D = self.D
            t_new = self.t + self.h
            wk = self._work
            y_pred, psi, w = wk["y_pred"], wk["psi"], wk["w"]
            predict(D, k, GAMMA, self.atol, self.rtol, self._upper, y_pred, psi, w)
            c = self.h / GAMMA[k]
            converged = False
            if self.jacobian_due and not self.J_current:
                self._jacobian(y_pred)
            self.jacobian_due = False
            while not converged:
                if self.lu is None or self.lu_c != c:
                    self._factor(c)
                converged, d, nit = self._newton(y_pred, psi, c, w)
                self.stats.newton_iterations += nit
                if converged and nit >= SLOW_NEWTON:
                    self.jacobian_due = True  # for the next step: convergence got slow
                if not converged:
                    if self.J_current:
                        break
                    self._jacobian(y_pred)
            if not converged:
                self.stats.newton_failures += 1
                self.set_step(0.5 * self.h)
                self.J_current = False
                continue
            y_new = y_pred + d
            err_norm = self._err_norm(d, ERROR_CONST[k], y_new)
            if err_norm > 1.0:
                self.stats.rejected += 1
                factor = max(MIN_FACTOR, SAFETY * err_norm ** (-1.0 / (k + 1)))
                self.set_step(self.h * factor)
                continue
            break
        # accept
        # a solution that only advances by tiny steps is as stuck as one whose step fell
        # below h_min (the caller decides what that means, e.g. a collapsing voltage)
        tiny = self.h < STALL_H * max(1.0, abs(self.t))
        self.stalled_steps = self.stalled_steps + 1 if tiny else 0
        if self.stalled_steps >= STALL_STEPS:
            self.stalled_steps = 0
            raise SolverError(
                f"integration stalled at t = {self.t:.6g} s: {STALL_STEPS} consecutive steps "
                f"below {STALL_H:g} x t"
            )
        self.stats.steps += 1
        self.J_current = False
        self.t = t_new
        self.n_equal += 1
        accept(D, k, d)
        if self.n_equal < k + 1:
            return
        err_m = np.inf
        if k > 1:
            err_m = self._err_norm(D[k], ERROR_CONST[k - 1], y_new)
        err_p = np.inf
        if k < self.max_order:
            err_p = self._err_norm(D[k + 2], ERROR_CONST[k + 1], y_new)
        with np.errstate(divide="ignore"):
            factors = np.array([err_m, err_norm, err_p]) ** (-1.0 / np.arange(k, k + 3))
        delta = int(np.argmax(factors)) - 1
        self.order = k + delta
        factor = min(MAX_FACTOR, SAFETY * float(factors[delta + 1]))
        self.set_step(self.h * factor)

    # -------------------------------------------------------------- compiled path
    def _sync_in(self, h_max: float) -> None:
        """Copy the integrator's state into the arrays the step kernels update."""
        fs, ist = self._fs, self._ist
        fs[0], fs[1] = self.t, self.h
        fs[2] = self.lu_c if self.lu_c is not None else 0.0
        fs[3] = self.conv_rate
        fs[4] = h_max
        fs[5] = 1e-12 * max(1.0, abs(self.t))
        ist[0], ist[1] = self.order, self.n_equal
        ist[2], ist[3] = self.J_current, self.jacobian_due
        ist[4] = self.lu is not None
        ist[5] = self.stalled_steps
        ist[6] = 0
        if self.J is not None and not self._lu.ready:
            # the first factorisation of this pattern analyses it (SuperLU): in Python
            self._factor(self.h / GAMMA[self.order])
            fs[2] = self.lu_c
            ist[4] = 1

    def _sync_out(self) -> None:
        """Copy the kernels' state back (and add their counters to the statistics)."""
        fs, ist, cnt = self._fs, self._ist, self._cnt
        self.t, self.h = float(fs[0]), float(fs[1])
        self.lu_c = float(fs[2])
        self.conv_rate = float(fs[3])
        self.order, self.n_equal = int(ist[0]), int(ist[1])
        self.J_current, self.jacobian_due = bool(ist[2]), bool(ist[3])
        self.lu = self._lu if ist[4] else None
        self.stalled_steps = int(ist[5])
        st = self.stats
        st.steps += int(cnt[0])
        st.rejected += int(cnt[1])
        st.newton_iterations += int(cnt[2])
        st.newton_failures += int(cnt[3])
        st.jacobians += int(cnt[4])
        st.factorizations += int(cnt[5])
        st.residual_evals += int(cnt[6])
        cnt[:] = 0

    def raise_for(self, code: int) -> None:
        """Raise the SolverError that a kernel's return ``code`` stands for (if any)."""
        if code == STEP_TOO_SMALL:
            raise SolverError(f"step size fell below {self._fs[5]:.3g} s at t = {self.t:.6g} s")
        if code == STALLED:
            raise SolverError(
                f"integration stalled at t = {self.t:.6g} s: {STALL_STEPS} consecutive steps "
                f"below {STALL_H:g} x t"
            )

    @property
    def compiled(self) -> bool:
        """Whether :meth:`step` and :meth:`run` take the compiled path."""
        return self.step_kernel and self.kernel_params is not None and self.J is not None

    def _step_compiled(self, h_max: float) -> None:
        """:meth:`step` as one compiled call (:func:`~electrohet.model.step_kernel.bdf_step`)."""
        fs, ist, cnt = self._fs, self._ist, self._cnt
        self._sync_in(h_max)
        while True:
            assert self.kernel_params is not None and self.J is not None  # `compiled`
            code = bdf_step(
                self.D,
                fs,
                ist,
                cnt,
                self.kernel_params,
                self._step_data(),
                self.J,
                self._lu.factors,
            )
            if code != NEED_FACTOR:
                break
            # the kept pivot order does not suit M - cJ: the Python path re-pivots
            self._factor(float(fs[2]), current_failed=True)
            ist[4] = 1
        self._sync_out()
        self.raise_for(code)

    def run(
        self,
        t_end: float,
        max_step: float,
        event: np.ndarray,
        rec_t: np.ndarray,
        rec_y: np.ndarray,
    ) -> tuple[int, int]:
        """Steps towards ``t_end`` in compiled code (:func:`.step_kernel.run_steps`).

        Only when :attr:`compiled`.  Each accepted step's time and state are written to
        ``rec_t`` (cap,) and ``rec_y`` (cap, n), except a step that crossed ``event``,
        after which the state before that step is kept as by :meth:`save`.  Returns
        (code, records): ``step_kernel.EVENT``, ``END``, ``FULL`` (call again after
        reading the records), ``STEP_TOO_SMALL`` or ``STALLED`` (see :meth:`raise_for`).
        """
        fs, ist, cnt = self._fs, self._ist, self._cnt
        buf = getattr(self, "_saved_D", None)
        if buf is None or buf.shape != self.D.shape:
            buf = self._saved_D = np.empty_like(self.D)
        self._sync_in(np.inf)
        total = 0
        while True:
            assert self.kernel_params is not None and self.J is not None  # `compiled`
            code, n = run_steps(
                self.D,
                buf,
                fs,
                ist,
                cnt,
                self.kernel_params,
                self._step_data(),
                self.J,
                self._lu.factors,
                t_end,
                max_step,
                event,
                rec_t[total:],
                rec_y[total:],
            )
            total += n
            if code != NEED_FACTOR:
                break
            self._factor(float(fs[2]), current_failed=True)
            ist[4] = 1
        self._sync_out()
        self._saved = (float(fs[6]), float(fs[7]), int(ist[7]), int(ist[8]))
        return code, total

    def dense(self, t: float) -> np.ndarray:
        """Interpolated state at ``t`` within the last accepted step."""
        k = self.order
        x = (t - self.t) / self.h
        p = np.cumprod((x + np.arange(k)) / np.arange(1, k + 1))
        return self.D[0] + p @ self.D[1 : k + 1]
