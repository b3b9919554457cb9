"""Newton's method on the backward-Euler system, with a direct or Krylov-AMG linear solve.

Backward Euler keeps lithium and salt conserved exactly at every converged step (the
discrete fluxes telescope), so conservation is limited only by the Newton tolerance.
Small systems use SuperLU; large ones GMRES preconditioned by smoothed-aggregation
algebraic multigrid (pyamg) on the row- and column-scaled Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.errors import SolverError
from electrohet.voxel.model import Control, VoxelModel


@dataclass
class SolverStats:
    """What the solver did."""

    steps: int = 0
    rejected: int = 0
    newton_iterations: int = 0
    linear_iterations: int = 0
    newton_failures: int = 0
    factorizations: int = 0
    history: list = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "steps": self.steps,
            "rejected_steps": self.rejected,
            "newton_iterations": self.newton_iterations,
            "linear_iterations": self.linear_iterations,
            "newton_failures": self.newton_failures,
            "factorizations": self.factorizations,
        }


class NewtonSolver:
    """Solve R(y; y_old, dt) = 0 for one backward-Euler step.

    Parameters
    ----------
    model
        The voxel model.
    linear
        ``"direct"`` (SuperLU), ``"krylov"`` (GMRES + AMG) or ``"auto"`` (direct below
        ``direct_max`` unknowns).
    newton_tol
        Convergence when the scaled update (concentrations / reference, potentials in V)
        is below this [-].
    """

    def __init__(
        self,
        model: VoxelModel,
        linear: str = "auto",
        newton_tol: float = 1e-9,
        max_iter: int = 12,
        direct_max: int = 60_000,
        krylov_rtol: float = 1e-10,
    ) -> None:
        self.model = model
        if linear == "auto":
            linear = "direct" if model.n <= direct_max else "krylov"
        if linear not in ("direct", "krylov"):
            raise SolverError(f"linear = {linear!r}; allowed: auto, direct, krylov")
        self.linear = linear
        self.newton_tol = newton_tol
        self.max_iter = max_iter
        self.krylov_rtol = krylov_rtol
        m = model
        scale = np.ones(m.n)
        scale[m.slices["ce"]] = m.electrolyte.c0
        scale[m.slices["cs"]] = m.material.c_max
        self.scale = scale
        self.stats = SolverStats()
        self._amg = None
        self._lu = None
        self._key = None

    # ------------------------------------------------------------------ linear
    def _scaled(self, J: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
        """Column scaling by the unknowns' magnitude, row scaling by the diagonal."""
        A = (J @ sp.diags(self.scale)).tocsr()
        d = np.abs(A.diagonal())
        rowmax = np.asarray(abs(A).max(axis=1).todense()).ravel()
        d = np.where(d > 1e-12 * rowmax, d, rowmax)
        d[d == 0] = 1.0
        return (sp.diags(1.0 / d) @ A).tocsr(), d

    def _factor(self, J: sp.csr_matrix) -> None:
        """Prepare the linear solver for Jacobian ``J`` (LU or AMG hierarchy)."""
        A, d = self._scaled(J)
        self._A, self._d = A, d
        self.stats.factorizations += 1
        if self.linear == "direct":
            try:
                self._lu = spla.splu(A.tocsc(), permc_spec="COLAMD")
            except RuntimeError as exc:
                raise SolverError(f"singular Jacobian: {exc}") from None
        else:
            self._blocks = self._block_amg(J)

    def _solve_linear(self, b: np.ndarray) -> np.ndarray:
        rhs = b / self._d
        if self.linear == "direct":
            return self._lu.solve(rhs) * self.scale
        return self._krylov(self._A, rhs) * self.scale

    def _block_amg(self, J: sp.csr_matrix) -> list:
        """Smoothed-aggregation AMG hierarchies of the three physical blocks of J.

        Blocks: the potentials (phi_e, phi_s: an SPD graph Laplacian joined by the
        Butler-Volmer conductances), the electrolyte concentration and the solid
        concentration (each mass + diffusion, nearly symmetric).
        """
        import pyamg

        m = self.model
        out = []
        pot = np.r_[m.slices["phie"], m.slices["phis"]]
        for idx in (pot, np.r_[m.slices["ce"]], np.r_[m.slices["cs"]]):
            if idx.size == 0:
                continue
            Jb = J[idx][:, idx].tocsr()
            Jb = 0.5 * (Jb + Jb.T)  # symmetric part: SA with R = P^T
            ml = pyamg.smoothed_aggregation_solver(
                Jb.tocsr(), symmetry="hermitian", max_coarse=300, coarse_solver="splu"
            )
            out.append((idx, ml.aspreconditioner(cycle="V")))
        return out

    def _precondition(self, r: np.ndarray) -> np.ndarray:
        """Block-AMG (one V-cycle per block, additive) followed by one symmetric
        Gauss-Seidel sweep on the full scaled system for the couplings."""
        from pyamg.relaxation.relaxation import gauss_seidel

        A, d = self._A, self._d
        r = np.asarray(r, dtype=float).ravel()
        x = np.zeros_like(r)
        res = r
        # block Gauss-Seidel: potentials, then c_e, then c_s, each with one V-cycle on the
        # residual updated by the blocks before it
        for idx, ml in self._blocks:
            xb = ml.matvec(res[idx] * d[idx]) / self.scale[idx]
            x[idx] += xb
            res = r - A @ x
        dx = np.zeros_like(r)
        gauss_seidel(A, dx, res, iterations=1, sweep="symmetric")
        return x + dx

    def _krylov(self, A: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
        count = [0]

        def cb(_):
            count[0] += 1

        M = spla.LinearOperator(A.shape, self._precondition)
        x, info = spla.gmres(
            A,
            rhs,
            M=M,
            rtol=self.krylov_rtol,
            atol=0.0,
            restart=80,
            maxiter=4,
            callback=cb,
            callback_type="pr_norm",
        )
        self.stats.linear_iterations += count[0]
        if info != 0:
            raise SolverError("GMRES did not converge")
        return x

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
        reuse = (
            self._key is not None
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
        for it in range(max_iter):
            if refresh:
                R, J = m.residual(y, y_old, dt, control)
                self._factor(J)
                self._key = (control.mode, dt)
            else:
                R = m.residual(y, y_old, dt, control, jacobian=False)
            if not np.all(np.isfinite(R)):
                return None
            try:
                dy = self._solve_linear(-R)
            except SolverError:
                return None
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
            if err_old is not None and err > (0.9 if refresh else 0.5) * err_old and it >= 2:
                return None
            err_old = err
        return None
