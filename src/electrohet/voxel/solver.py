"""Newton's method on the backward-Euler system, with a direct or Krylov-AMG linear solve.

The discrete fluxes telescope, so a weighted sum of the residual rows is an affine
function of the state (lithium in the AM, salt in the electrolyte).  Every Newton
update is corrected, by a uniform shift of c_s and c_e, to satisfy those two balances
exactly; they then hold to round-off at every step whatever the Newton and GMRES
tolerances, which only set the accuracy of the solution itself (the default, 1e-6 on
the scaled update, is 2,000 x below the time-step error target).

Tiny systems use SuperLU with a reused factorisation (modified Newton).  Everything
else uses inexact Newton-Krylov: a fresh analytic Jacobian at every iteration (cheap:
its CSR pattern is cached), GMRES on the row- and column-scaled system, preconditioned
by :class:`~electrohet.voxel.preconditioner.BlockPreconditioner` (Ruge-Stuben AMG on
the physical blocks with a local Schur complement of c_s), which is kept across
iterations and steps until GMRES slows down.  The GMRES tolerance of each iteration is
only as tight as the error that iteration must leave (a tenth of the Newton
tolerance), and convergence is accepted from the contraction rate (Hairer & Wanner,
Solving ODEs II, Sec. IV.8).  SuperLU's fill on 3D voxel grids grows too fast beyond
a few thousand unknowns (43 M non-zeros at 24^3).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.engine.stats import SolverStats
from electrohet.errors import ParameterError, SolverError, check_range
from electrohet.voxel._kernels import scale_rows_cols
from electrohet.voxel.model import Control, VoxelModel


def _check_setting(
    key: str, value, low: float, high: float = np.inf, *, integer: bool = False, **bounds: bool
) -> None:
    """A solver setting of the right kind inside its allowed range: the range test and
    message of :func:`~electrohet.errors.check_range`, raised as :class:`SolverError`."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise SolverError(f"{key} = {value!r}; expected {'an integer' if integer else 'a number'}")
    try:
        check_range(key, value, low, high, **bounds)
    except ParameterError as exc:
        raise SolverError(str(exc)) from None


class NewtonSolver:
    """Solve R(y; y_old, dt) = 0 for one backward-Euler step.

    Parameters
    ----------
    model
        The voxel model.
    linear
        ``"direct"`` (SuperLU), ``"krylov"`` (GMRES + block AMG) or ``"auto"`` (direct
        below ``direct_max`` unknowns).
    newton_tol
        Convergence when the scaled update (concentrations / reference, potentials in V)
        is below this [-].  Lithium and salt are conserved to round-off regardless
        (:meth:`NewtonSolver._conserve`).
    krylov_rtol, krylov_first
        Tightest GMRES tolerance, and the tolerance of the first iteration of a step
        (relative to the scaled residual) [-].
    rebuild_iterations, rebuild_factor
        The preconditioner is rebuilt when a GMRES solve needs more than
        ``rebuild_iterations`` and more than ``rebuild_factor`` x the iterations per
        decade of residual reduction of the first solve after the last build, when the
        control mode changes, or when the step size has changed by > 4x.
    threads
        1 or 2: threads of the block preconditioner (2: the c_e and c_s V-cycles run
        side by side).
    reuse_hierarchy, setup_factor
        A rebuild keeps the AMG coarse grids and interpolation of the last full set-up
        and redoes only the Galerkin products (:meth:`VCycle.refresh`), unless the
        first GMRES solve after the last such refresh needed more than
        ``setup_factor`` x the iterations per decade of the first solve after the last
        full set-up, or the step differs by > 4x from that of the last full set-up;
        then the rebuild is a full set-up.
    krylov_restart
        GMRES restart length (its Krylov basis is allocated for this many vectors of
        the system's size; only those an iteration reaches are touched).
    """

    def __init__(
        self,
        model: VoxelModel,
        linear: str = "auto",
        newton_tol: float = 1e-6,
        max_iter: int = 12,
        direct_max: int = 2_000,
        krylov_rtol: float = 1e-8,
        krylov_first: float = 1e-3,
        rebuild_iterations: int = 10,
        rebuild_factor: float = 1.5,
        threads: int = 1,
        reuse_hierarchy: bool = True,
        setup_factor: float = 1.3,
        krylov_restart: int = 60,
    ) -> None:
        if threads not in (1, 2) or isinstance(threads, bool):
            raise SolverError(f"threads = {threads!r}; allowed: 1, 2")
        self.threads = int(threads)
        finite = {"high_inclusive": False}  # high = inf: finite values only
        _check_setting("newton_tol", newton_tol, 0.0, low_inclusive=False, **finite)
        _check_setting(
            "krylov_first", krylov_first, 0.0, 1.0, low_inclusive=False, high_inclusive=False
        )
        _check_setting(
            "krylov_rtol (<= krylov_first)", krylov_rtol, 0.0, krylov_first, low_inclusive=False
        )
        # ratios of GMRES iteration counts
        _check_setting("rebuild_factor", rebuild_factor, 1.0, **finite)
        _check_setting("setup_factor", setup_factor, 1.0, **finite)
        for name, value, low in (
            ("max_iter", max_iter, 1),
            ("direct_max", direct_max, 0),
            ("rebuild_iterations", rebuild_iterations, 0),
            ("krylov_restart", krylov_restart, 1),
        ):
            _check_setting(name, value, low, integer=True, **finite)
        self.model = model
        if linear == "auto":
            linear = "direct" if model.n <= direct_max else "krylov"
        if linear not in ("direct", "krylov"):
            raise SolverError(f"linear = {linear!r}; allowed: auto, direct, krylov")
        self.linear = linear
        self.newton_tol = newton_tol
        self.max_iter = max_iter
        self.krylov_rtol = krylov_rtol
        self.krylov_first = krylov_first
        self.rebuild_iterations = rebuild_iterations
        self.rebuild_factor = rebuild_factor
        self.krylov_restart = krylov_restart
        self._pc = None
        self._last_its = 0
        self._last_rate = 0.0
        self._fresh_rate: float | None = None
        self.reuse_hierarchy = reuse_hierarchy
        self.setup_factor = setup_factor
        self._refreshed = False
        self._need_setup = False
        self._setup_rate = np.inf
        self._setup_dt = 1.0
        #: preconditioner rebuilds that refreshed the kept AMG hierarchies (the others,
        #: ``stats.factorizations - refreshes``, were full set-ups)
        self.refreshes = 0
        #: decades of residual reduction asked of all GMRES solves (sum of -log10 of
        #: their relative tolerances): ``stats.linear_iterations / krylov_decades`` is
        #: the preconditioner's iterations per decade, which does not depend on how
        #: tight the inexact Newton iteration made each solve
        self.krylov_decades = 0.0
        self._mode = "current"
        self._dt = 1.0
        self._pc_dt = 1.0
        self._eta = krylov_rtol
        m = model
        scale = np.ones(m.n)
        scale[m.slices["ce"]] = m.electrolyte.c0
        scale[m.slices["cs"]] = m.material.c_max
        self.scale = scale
        self.stats = SolverStats()
        self._amg = None
        self._lu = None
        self._key = None
        self._cons = None
        self._g = None
        self._g_dt = 1.0

    def invalidate(self) -> None:
        """Drop the kept factorisation and preconditioner (the model's parameters
        changed, e.g. the film resistances between aging cycles)."""
        self._key = None
        self._pc = None
        self._lu = None

    # ------------------------------------------------------------------ linear
    def _scaled(self, J: sp.csr_matrix, inplace: bool = False) -> tuple[sp.csr_matrix, np.ndarray]:
        """Column scaling by the unknowns' magnitude, row scaling by the diagonal.

        Rows whose diagonal is (nearly) zero are scaled by their largest entry instead.
        Done on ``J.data`` in one compiled pass (the pattern is fixed); with
        ``inplace`` ``J`` itself becomes the scaled matrix (no second copy of the
        Jacobian's values: 12 % of the peak memory at 128^3).
        """
        J = J.tocsr()
        data = J.data if inplace and J.data.dtype == float else np.empty_like(J.data, dtype=float)
        d = scale_rows_cols(J.indptr, J.indices, J.data, self.scale, data)
        A = sp.csr_matrix((data, J.indices, J.indptr), shape=J.shape)
        return A, d

    def _factor(self, J: sp.csr_matrix, dt: float) -> None:
        """Prepare the linear solver for Jacobian ``J`` (LU or AMG hierarchy) and the
        gradients of the conservation balances (:meth:`_conserve`).

        On the Krylov path ``J`` is consumed: the preconditioner is built from it,
        then its values are scaled in place for GMRES.
        """
        J = J.tocsr()
        W = self._weights(self._mode)[0]
        self._g = np.asarray(J.T @ W.T)
        self._g_dt = dt
        if self.linear == "direct":
            A, d = self._scaled(J)
            self._A, self._d = A, d
            self.stats.factorizations += 1
            try:
                self._lu = spla.splu(A.tocsc(), permc_spec="COLAMD")
            except RuntimeError as exc:
                raise SolverError(f"singular Jacobian: {exc}") from None
        else:
            self._preconditioner(J, self._mode)
            self._A, self._d = self._scaled(J, inplace=True)

    def _solve_linear(self, b: np.ndarray) -> np.ndarray:
        rhs = b / self._d
        if self.linear == "direct":
            return self._lu.solve(rhs) * self.scale
        return self._krylov(self._A, rhs) * self.scale

    def _preconditioner(self, J: sp.csr_matrix, mode: str) -> None:
        """(Re)build the block preconditioner when it is missing, for another control
        mode, or when the last GMRES solve needed many more iterations than right
        after the last build (the Jacobian has drifted from the one it was built on)."""
        from electrohet.voxel.preconditioner import BlockPreconditioner

        pc = self._pc
        stale = (
            pc is None
            or pc.mode != mode
            or abs(np.log(self._dt / self._pc_dt)) > np.log(4.0)
            or (
                self._last_its > self.rebuild_iterations
                and self._last_rate > self.rebuild_factor * (self._fresh_rate or np.inf)
            )
        )
        if stale:
            w0 = pc.w if pc is not None and pc.mode == mode else None
            # keep the AMG coarse grids and interpolation of the last set-up and redo
            # only the Galerkin products, unless the step has changed by > 4x since
            # that set-up (which links are strong depends on the mass term: a
            # hierarchy of the ~0 s consistency step made the first 1 s steps need
            # 44-66 GMRES iterations instead of 5-8 at 32^3), or the first solve
            # after the last refresh was much slower than the first after the set-up
            reuse = (
                (pc.ml_pot, pc.ml_ce, pc.ml_cs)
                if pc is not None
                and self.reuse_hierarchy
                and not self._need_setup
                and abs(np.log(self._dt / self._setup_dt)) <= np.log(4.0)
                else None
            )
            # free the old hierarchies before the new ones are built (peak memory)
            self._pc = pc = None
            self._pc = BlockPreconditioner(
                self.model, J, mode, w0, threads=self.threads, reuse=reuse
            )
            self._pc_dt = self._dt
            self.stats.factorizations += 1
            self._fresh_rate = None
            self._refreshed = reuse is not None
            self.refreshes += self._refreshed
            if reuse is None:
                self._setup_dt = self._dt
            self._need_setup = False

    def _krylov(self, A: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
        count = [0]

        def cb(_):
            count[0] += 1

        pc, d, scale = self._pc, self._d, self.scale
        rtol = self._eta

        def prec(v):
            return pc.apply(np.asarray(v).ravel() * d) / scale

        # dtype given: without it LinearOperator applies ``prec`` once to find it out,
        # a full preconditioner application per GMRES call (~5 % of a run)
        M = spla.LinearOperator(A.shape, prec, dtype=float)
        x, info = spla.gmres(
            A,
            rhs,
            M=M,
            rtol=rtol,
            atol=0.0,
            restart=self.krylov_restart,
            maxiter=3,
            callback=cb,
            callback_type="pr_norm",
        )
        self.stats.linear_iterations += count[0]
        decades = -np.log10(rtol)
        self.krylov_decades += decades
        # iterations per decade of residual reduction: solves of different tolerances
        # compare on this scale
        self._last_its = count[0]
        self._last_rate = count[0] / max(1.0, decades)
        if self._fresh_rate is None:
            self._fresh_rate = max(self._last_rate, 1.0)
            if not self._refreshed:
                self._setup_rate = self._fresh_rate
            elif self._fresh_rate > self.setup_factor * self._setup_rate:
                self._need_setup = True
        if info != 0:
            # a stale preconditioner is the usual cause: force a rebuild next time
            self._last_its = 10**9
            self._last_rate = np.inf
            raise SolverError("GMRES did not converge")
        return x

    # ------------------------------------------------------------ conservation
    def _weights(self, mode: str) -> tuple[np.ndarray, np.ndarray]:
        """Conservation weights ``W`` and shift directions ``U`` of a control mode."""
        if self._cons is None or self._cons[0] != mode:
            self._cons = (mode, *self.model.conservation_weights(mode))
        return self._cons[1], self._cons[2]

    def _conserve(self, R, dy, dt, mode) -> np.ndarray:
        """Make the Newton update satisfy the discrete lithium and salt balances.

        ``W @ R`` is affine in the state (:meth:`VoxelModel.conservation_weights`), so
        choosing the update such that the linearised balances ``W @ (R + J dy)``
        vanish makes them vanish for the new state too, up to round-off, however
        inexactly GMRES solved the rest of the system.  The correction is a uniform
        shift of c_s and of c_e (the 2 x 2 system of the balances' gradients
        ``J^T W`` along those shifts), far below the Newton tolerance; conservation
        then no longer needs a tight Newton tolerance.  The gradients are those of the
        last factorised Jacobian (:meth:`_factor`); with a reused (modified Newton)
        Jacobian their time term is updated to this ``dt``.
        """
        m = self.model
        W, U = self._weights(mode)
        if self._g is None:
            return dy
        G = self._g
        if dt != self._g_dt:
            G = G + (W * m.mass).T * (1.0 / dt - 1.0 / self._g_dt)
        defect = W @ R + G.T @ dy
        A = G.T @ U.T
        try:
            shift = np.linalg.solve(A, -defect)
        except np.linalg.LinAlgError:
            return dy
        return dy + U.T @ shift

    # ------------------------------------------------------------------ Newton
    def solve(self, y_old: np.ndarray, dt: float, control: Control, y_guess=None) -> np.ndarray:
        """The state at the end of a backward-Euler step of ``dt`` seconds.

        First a modified Newton iteration that reuses the stored factorised Jacobian
        (kept across steps while it contracts at a rate < 0.5); if that stalls, full
        Newton with a fresh Jacobian at every iteration.  Convergence is judged on the
        scaled update, so the converged state satisfies the discrete conservation laws to
        the Newton tolerance.
        """
        y0 = (y_old if y_guess is None else y_guess).copy()
        self._mode = control.mode
        self._dt = dt
        reuse = (
            self.linear == "direct"
            and self._key is not None
            and self._key[0] == control.mode
            and abs(np.log(dt / self._key[1])) <= np.log(3.0)
        )
        n0 = self.stats.newton_iterations
        if reuse:
            y = self._iterate(y0, y_old, dt, control, refresh=False, max_iter=10)
            if y is not None:
                self.stats.history.append((dt, "reuse", self.stats.newton_iterations - n0))
                return y
        y = self._iterate(y0, y_old, dt, control, refresh=True, max_iter=self.max_iter)
        if y is not None:
            self.stats.history.append((dt, "fresh", self.stats.newton_iterations - n0))
            return y
        self.stats.newton_failures += 1
        self._key = None
        raise SolverError(f"Newton did not converge (dt = {dt:.3g} s)")

    def _iterate(self, y, y_old, dt, control, refresh: bool, max_iter: int):
        m = self.model
        cmax = m.material.c_max
        ce_s, cs_s = m.slices["ce"], m.slices["cs"]
        err_old = None
        self._eta = self.krylov_first
        for it in range(max_iter):
            if refresh:
                # free the previous Jacobian and its scaled copy before assembling the
                # next one (peak memory)
                J = None
                self._A = None
                R, J = m.residual(y, y_old, dt, control)
                self._factor(J, dt)
                J = None  # consumed: scaled in place for GMRES
                self._key = (control.mode, dt)
            else:
                R = m.residual(y, y_old, dt, control, jacobian=False)
            if not np.all(np.isfinite(R)):
                return None
            try:
                dy = self._solve_linear(-R)
            except SolverError:
                return None
            dy = self._conserve(R, dy, dt, control.mode)
            alpha = 1.0
            ce, dce = y[ce_s], dy[ce_s]
            neg = dce < 0
            if np.any(neg):
                alpha = min(alpha, float(np.min(0.9 * ce[neg] / -dce[neg])))
            cs, dcs = y[cs_s], dy[cs_s]
            lo, hi = dcs < 0, dcs > 0
            if np.any(lo):
                alpha = min(alpha, float(np.min(0.9 * cs[lo] / -dcs[lo])))
            if np.any(hi):
                alpha = min(alpha, float(np.min(0.9 * (cmax - cs[hi]) / dcs[hi])))
            y = y + alpha * dy
            self.stats.newton_iterations += 1
            err = float(np.max(np.abs(alpha * dy) / self.scale))
            if not np.isfinite(err):
                return None
            if err < self.newton_tol and alpha == 1.0:
                return y
            if self.linear == "krylov":
                rate = err / err_old if err_old else 1e-3
                if err_old is not None and alpha == 1.0 and rate < 1.0:
                    if err * rate / (1.0 - rate) < 0.1 * self.newton_tol:
                        # the contraction rate bounds what is left: the next update
                        # would be below a tenth of the tolerance (Hairer & Wanner,
                        # Sec. IV.8)
                        return y
                # inexact Newton: solve the next system only as precisely as the
                # error it must leave (a tenth of the tolerance) requires
                expected = err * min(rate, 1.0)
                self._eta = float(
                    np.clip(0.1 * self.newton_tol / max(expected, 1e-300), self.krylov_rtol, 1e-2)
                )
            if err_old is not None and err > (0.9 if refresh else 0.5) * err_old and it >= 2:
                return None
            err_old = err
        return None
