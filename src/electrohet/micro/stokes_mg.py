"""Lean, matrix-free MINRES for the MAC Stokes system of :mod:`electrohet.micro.flow`.

The saddle-point system ``[[A, G], [G^T, 0]] (u, p) = (b, 0)`` is solved by the
preconditioned MINRES method (Paige & Saunders 1975, in the form of Elman, Silvester
& Wathen, *Finite Elements and Fast Iterative Solvers*, 2nd ed. 2014, Algorithm 4.1)
with a block-diagonal symmetric positive-definite preconditioner
``diag(A_hat^-1, S_hat^-1)``:

* ``A_hat^-1``: one symmetric two-grid cycle per velocity component (each is a
  7-point Poisson problem with Dirichlet walls on its face mask): damped Jacobi before
  and after a coarse correction on ``agg^3`` boxes of faces (piecewise-constant
  aggregation, Galerkin coarse matrix in CSR, approximately inverted by a V-cycle of
  :class:`~electrohet.micro.amg.AggregationAMG`);
* ``S_hat^-1 = I + L^-1`` for the Schur complement ``S = G^T A^-1 G``: ``I`` (the
  pressure mass matrix over the viscosity in these units) is the pore-scale part, the
  classical spectral equivalence of the Stokes Schur complement with the mass matrix
  (Verfürth 1984); ``L = G^T W G`` with ``W = diag(A^-1 1)`` is the Darcy-scale part: at
  scales above the pore size ``A^-1 G p ~ (A^-1 1) G p``, so ``S ~ L``, a cell-centred
  conductance Laplacian whose face conductance is the local velocity under a unit body
  force (exact for straight channels).  The sum of the two inverses is the
  Cahouet & Chabard (1988) construction, here with the Darcy term in place of the
  reaction term.  ``A^-1 1`` comes from 12 CG iterations preconditioned by the
  velocity two-grid; ``L^-1`` is applied by one W-cycle of the lean smoothed-
  aggregation hierarchy of :mod:`electrohet.micro.sa_amg` (Vaněk, Mandel & Brezina
  1996: 2x2x2 blocks of cells split into connected pieces, then 3x3x3 blocks; ``P =
  (I - omega D^-1 L) T``, Galerkin coarse matrices, symmetric Gauss-Seidel, float32
  values and int32 indices, ``P`` and ``R`` not stored).  Its fine level is
  :class:`DarcyGrid`: ``L`` stored as its diagonal and three couplings per cell
  (16 B per cell), applied through the cell grid; the CSR of ``L`` exists only
  during the set-up.  A V-cycle, or a two-grid cycle like the velocity's, lets the
  iterations grow with the size again (134 and 339 instead of 87 at 64^3 with the
  former pyamg hierarchy, still available as ``darcy="pyamg"``; 36 at 32^3 and 64^3
  with exact inner solves).

Storage: the operators are never assembled; int32 index grids (4 B per voxel per grid,
four grids) number the unknowns, the solution is float64 and the six MINRES vectors
are float32.  The float32 passes are wrapped in iterative refinement: each pass solves
for the correction to the float64 solution from the residual ``b - K x`` formed in
float64, so the final residual and mass balance reach double-precision targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.errors import ParameterError
from electrohet.micro import _stokes_kernels as K
from electrohet.micro.amg import AggregationAMG
from electrohet.micro.lean import _coarse_csr
from electrohet.micro.sa_amg import SmoothedAggregation, grid_coords


class _TwoGrid:
    """Symmetric two-grid cycle for one velocity component of ``A`` (see
    :func:`~electrohet.micro._stokes_kernels.op_sweep`), acting on the unknowns numbered
    by ``idx`` within longer vectors."""

    def __init__(self, idx, h, dg, agg: int, omega: float, scale: float, max_coarse: int):
        self.args = (idx, h, dg)
        self.agg, self.omega, self.scale = agg, omega, scale
        self.cmap, nc = K.coarse_map(idx, agg)
        diag, off = K.coarse_stencil(idx, h, dg, self.cmap, nc, agg)
        indptr, indices, data, coords = _coarse_csr(self.cmap, nc, diag, off)
        del diag, off
        Ac = sp.csr_matrix((data, indices, indptr), shape=(nc, nc))
        if nc > 3000:
            self.solve = AggregationAMG(Ac, coords, max_coarse=max_coarse).matvec
        else:
            self.solve = spla.splu(Ac.tocsc()).solve
        self.coarse = np.zeros(nc)
        self.nbytes = self.cmap.nbytes + 2 * (data.nbytes + indices.nbytes) + 16 * nc

    def apply(self, r: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
        """``out`` = the cycle applied to ``r`` (on this operator's unknowns only)."""
        idx, h, dg = self.args
        a, om = self.agg, self.omega
        c = self.coarse
        K.op_sweep(idx, h, dg, tmp, r, tmp, 2, om, c, self.cmap, a, 0.0)
        c[:] = 0.0
        K.op_sweep(idx, h, dg, tmp, r, tmp, 3, om, c, self.cmap, a, 0.0)
        c[:] = self.solve(c)
        K.op_sweep(idx, h, dg, tmp, r, tmp, 4, om, c, self.cmap, a, self.scale)
        K.op_sweep(idx, h, dg, tmp, r, out, 1, om, c, self.cmap, a, 0.0)


class DarcyGrid:
    """The fine level of the Darcy hierarchy on the cell grid
    (:func:`~electrohet.micro._stokes_kernels.darcy_pass`): the matrix of
    :func:`~electrohet.micro._stokes_kernels.darcy_csr` stored as its diagonal and the
    couplings to the ``+x, +y, +z`` neighbours (16 B per cell instead of ~52 B in CSR),
    neighbours found through ``cid``; also the aggregates and a work vector."""

    def __init__(self, cid, gp, diag) -> None:
        self.cid, self.gp, self.diag = cid, gp, diag
        self.agg = np.empty(0, np.int32)  # set by attach
        self.omega = 0.0
        self.r = np.empty(diag.size, np.float32)

    @classmethod
    def from_grids(cls, F, cid, h, w, nc: int) -> DarcyGrid:
        """The level of ``L = G^T diag(w) G`` on the cells numbered by ``cid``."""
        return cls(cid, *K.darcy_couplings(F, cid, h, w, nc))

    def attach(self, agg: np.ndarray, omega: float) -> None:
        """Take the aggregates and prolongation weight of the coarsened fine level."""
        self.agg, self.omega = agg, omega

    def _pass(self, v, b, out, mode: int) -> None:
        K.darcy_pass(self.cid, self.gp, self.diag, self.agg, self.omega, v, b, out, mode)

    def smooth(self, x: np.ndarray, b: np.ndarray, forward: bool) -> None:
        """One Gauss-Seidel sweep on ``L x = b`` in place (cells in C order or reverse)."""
        self._pass(x, b, x, 0 if forward else 1)

    def residual(self, x: np.ndarray, b: np.ndarray, r: np.ndarray) -> None:
        """``r = b - L x``."""
        self._pass(x, b, r, 2)

    def restrict(self, r: np.ndarray, rc: np.ndarray) -> None:
        """``rc = P^T r``."""
        self._pass(r, r, rc, 3)

    def prolong_add(self, c: np.ndarray, x: np.ndarray) -> None:
        """``x += P c`` (``T c`` is formed in the work vector ``r``, free by then: the
        cycle restricts the residual before it prolongs)."""
        np.take(c, self.agg, out=self.r)
        self._pass(self.r, self.r, x, 4)

    @property
    def nbytes(self) -> int:
        """Memory held (bytes; ``cid`` belongs to the caller)."""
        return sum(a.nbytes for a in (self.gp, self.diag, self.agg, self.r))


@dataclass
class StokesMGResult:
    """Outcome of :func:`solve_stokes_mg`: float64 solution ``x = (u, p)``, MINRES
    iterations, relative residual ``|b - K x| / |b|``, mass balance, whether both
    targets were reached, and the number of refinement passes."""

    x: np.ndarray
    iterations: int
    residual: float
    mass_balance: float
    converged: bool
    passes: int


class StokesPreconditioner:
    """The block-diagonal preconditioner ``diag(A_hat^-1, I + L^-1)`` (module docstring).

    Parameters
    ----------
    F
        Three int32 face index grids (velocity unknowns ``0 .. nu - 1``).
    cid
        int32 cell index grid (pressure unknowns ``0 .. nc - 1``, stored after ``u``).
    h
        Voxel edges in units of the smallest (flow axis first).
    wall
        No-slip side faces (else slip).
    agg, omega, scale
        Box edge of the coarse level, Jacobi damping, coarse-correction scaling.
    w_iters
        Conjugate-gradient iterations for ``w = A^-1 1``.
    darcy_weight
        Weight of ``L^-1`` in ``I + darcy_weight L^-1``.
    darcy
        ``"sa"`` (default): the lean hierarchy of :mod:`electrohet.micro.sa_amg`;
        ``"pyamg"``: pyamg's smoothed aggregation (float64, ``R`` stored; ~2 x the peak
        memory; kept for comparison).
    darcy_options
        Keyword arguments of :class:`~electrohet.micro.sa_amg.SmoothedAggregation`.
    matrix_free
        Fine Darcy level as :class:`DarcyGrid` (default) instead of the CSR of ``L``
        (same results; ~18 B per voxel more at porosity 0.35).
    vel_max_coarse
        ``max_coarse`` of the velocity two-grids' coarse-level
        :class:`~electrohet.micro.amg.AggregationAMG`.
    """

    def __init__(
        self,
        F: tuple[np.ndarray, np.ndarray, np.ndarray],
        cid: np.ndarray,
        nu: int,
        nc: int,
        h: np.ndarray,
        wall: bool,
        *,
        agg: int = 2,
        omega: float = 0.7,
        scale: float = 1.5,
        w_iters: int = 12,
        darcy_weight: float = 1.0,
        darcy: str = "sa",
        darcy_options: dict | None = None,
        matrix_free: bool = True,
        vel_max_coarse: int = 500,
    ) -> None:
        self.nu, self.nc = nu, nc
        self.darcy_weight = darcy_weight
        dga = np.empty(nu, np.float32)
        K.viscous_diagonal(F, h, wall, dga)
        self.vel = [_TwoGrid(F[d], h, dga, agg, omega, scale, vel_max_coarse) for d in range(3)]
        self.tmp_u = np.empty(nu, np.float32)
        w = self._ones_solve(F, h, wall, dga, w_iters)
        np.maximum(w, 1.0 / dga, out=w)  # A is an M-matrix: (A^-1 1)_i >= 1 / A_ii
        del dga
        self.w = w
        if darcy not in ("sa", "pyamg"):
            raise ParameterError(f"darcy must be 'sa' or 'pyamg', not {darcy!r}")
        self.darcy_kind = darcy
        if darcy == "sa":
            self.darcy = self._darcy_sa(F, cid, h, w, nc, matrix_free, darcy_options or {})
            return
        indptr, indices, data = K.darcy_csr(F, cid, h, w, nc)
        import pyamg

        L = sp.csr_matrix((data, indices, indptr), shape=(nc, nc))
        del indptr, indices, data
        ml = pyamg.smoothed_aggregation_solver(L, symmetry="hermitian", max_coarse=500)
        self.darcy_ml = ml
        self.darcy_pc = ml.aspreconditioner(cycle="W")

    @staticmethod
    def _darcy_sa(F, cid, h, w, nc: int, matrix_free: bool, opts: dict) -> SmoothedAggregation:
        """The smoothed-aggregation hierarchy of ``L``; with ``matrix_free`` its fine
        level is :class:`DarcyGrid` (made first, so that the set-up's temporaries are
        freed above it) and the CSR of ``L`` only lives during the set-up."""
        grid = DarcyGrid.from_grids(F, cid, h, w, nc) if matrix_free else None
        indptr, indices, data = K.darcy_csr(F, cid, h, w, nc)
        coords = grid_coords(cid, nc)
        sa = SmoothedAggregation(indptr, indices, data, coords, **opts)
        del indptr, indices, data, coords
        if grid is not None and sa.levels:
            grid.attach(sa.levels[0].agg, sa.levels[0].omega)
            sa.replace_fine(grid)
        return sa

    def apply_a(self, r: np.ndarray, out: np.ndarray) -> None:
        """``out = A_hat^-1 r`` on the velocity unknowns (vectors of length ``nu``)."""
        for tg in self.vel:
            tg.apply(r, out, self.tmp_u)

    def _ones_solve(self, F, h, wall, dga, iters: int) -> np.ndarray:
        """``w ~ A^-1 1`` by preconditioned CG (float32 vectors, float64 sums)."""
        nu = self.nu
        x = np.zeros(nu, np.float32)
        r = np.ones(nu, np.float32)
        z = np.empty(nu, np.float32)
        q = np.empty(nu, np.float32)
        zero_p = np.zeros(1, np.float32)
        cid0 = np.full((1, 1, 1), -1, np.int32)
        self.apply_a(r, z)
        pdir = z.copy()
        rz = K.dot(r, z)
        for _ in range(iters):
            # q = A p: the Stokes kernel with p = 0 (the cell loop is empty here)
            K.stokes_apply(F, cid0, pdir, zero_p, q, zero_p, h, wall, False)
            alpha = rz / K.dot(pdir, q)
            K.axpy(x, alpha, pdir)
            K.axpy(r, -alpha, q)
            self.apply_a(r, z)
            rz_new = K.dot(r, z)
            K.lincomb3(pdir, 1.0, z, rz_new / rz, pdir, 0.0, pdir)
            rz = rz_new
        return x

    def apply(self, r: np.ndarray, out: np.ndarray) -> None:
        """``out = diag(A_hat^-1, I + L^-1) r`` (full vectors, ``u`` then ``p``)."""
        nu = self.nu
        self.apply_a(r[:nu], out[:nu])
        rp, op = r[nu:], out[nu:]
        if self.darcy_kind == "sa":
            self.darcy.apply(rp, op)
        else:
            op[:] = self.darcy_pc.matvec(rp)
        K.lincomb3(op, self.darcy_weight, op, 1.0, rp, 0.0, rp)

    @property
    def nbytes(self) -> int:
        """Memory held by the preconditioner (bytes)."""
        n = self.w.nbytes + self.tmp_u.nbytes + 4 * self.nu
        if self.darcy_kind == "sa":
            n += self.darcy.nbytes
        else:
            for lv in self.darcy_ml.levels:
                for m in (getattr(lv, "A", None), getattr(lv, "P", None), getattr(lv, "R", None)):
                    if m is not None:
                        n += m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
        return n + sum(t.nbytes for t in self.vel)


def solve_stokes_mg(
    F: tuple[np.ndarray, np.ndarray, np.ndarray],
    cid: np.ndarray,
    nu: int,
    nc: int,
    h: np.ndarray,
    wall: bool,
    *,
    rtol: float = 1e-8,
    mass_tol: float = 1e-6,
    maxiter: int = 5000,
    inner_rtol: float = 1e-5,
    callback: Callable[[int, float], None] | None = None,
    options: dict | None = None,
    threads: int | None = 1,
) -> StokesMGResult:
    """Solve the MAC Stokes system by preconditioned MINRES with float32 Krylov vectors
    and float64 iterative refinement.

    Parameters
    ----------
    F, cid, nu, nc, h, wall
        Index grids, unknown counts and geometry (see :class:`StokesPreconditioner`).
    rtol
        Target of the relative residual ``|b - K x| / |b|`` (float64).
    mass_tol
        Target of the mass balance ``|Q_in - Q_out| / Q_in``; both targets must be met.
    maxiter
        Maximum MINRES iterations over all passes.
    inner_rtol
        Reduction of the preconditioned residual norm in one float32 pass.
    callback
        Called as ``callback(iterations, relative residual)`` before each pass (the
        float64 residual) and every 20 iterations within a pass (an estimate: the
        pass's starting residual times the reduction of MINRES's preconditioned
        residual norm).
    options
        Keyword arguments of :class:`StokesPreconditioner`.
    threads
        numba threads for the kernels (``None``: numba's setting).  One by default:
        the kernels are memory-bound and short, and on the shared 2-core machine the
        thread pool cost more than it saved (25,000 unknowns: 80 ms instead of 5 ms per
        iteration; 96^3: 2.2 x the CPU time of one thread, no shorter wall time).

    Returns
    -------
    StokesMGResult
    """
    import numba

    before = numba.get_num_threads()
    if threads is not None:
        limit = int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))
        numba.set_num_threads(max(1, min(int(threads), limit)))
    try:
        return _solve(
            F, cid, nu, nc, h, wall, rtol, mass_tol, maxiter, inner_rtol, callback, options
        )
    finally:
        numba.set_num_threads(before)


def _solve(F, cid, nu, nc, h, wall, rtol, mass_tol, maxiter, inner_rtol, callback, options):
    """:func:`solve_stokes_mg` on the current numba thread count."""
    n = nu + nc
    M = StokesPreconditioner(F, cid, nu, nc, h, wall, **(options or {}))
    x = np.zeros(n)
    bnorm = math.sqrt(float(np.count_nonzero(F[0][0] >= 0))) / h[0]

    def kx(v: np.ndarray, out: np.ndarray, resid: bool) -> None:
        K.stokes_apply(F, cid, v[:nu], v[nu:], out[:nu], out[nu:], h, wall, resid)

    def balance() -> float:
        q_in, q_out = K.plane_flows(F, x[:nu], h)
        return abs(q_in - q_out) / abs(q_in) if q_in else 0.0

    bufs = [np.empty(n, np.float32) for _ in range(6)]
    its = 0
    passes = 0
    while True:
        v_prev, v_cur, q, z, w_prev, w_cur = bufs
        kx(x, v_cur, True)  # r = b - K x, formed in float64
        rel = math.sqrt(K.dot(v_cur, v_cur)) / bnorm
        mb = balance()
        if callback is not None:
            callback(its, rel)
        if (rel <= rtol and mb <= mass_tol) or its >= maxiter:
            break
        passes += 1
        tol = max(inner_rtol, 0.3 * rtol / rel)
        v_prev[:] = 0.0
        w_prev[:] = 0.0
        w_cur[:] = 0.0
        M.apply(v_cur, z)
        gamma = math.sqrt(K.dot(z, v_cur))
        gamma_prev, eta0 = 1.0, gamma
        eta, c_prev, c, s_prev, s = gamma, 1.0, 1.0, 0.0, 0.0
        while its < maxiter:
            K.lincomb3(z, 1.0 / gamma, z, 0.0, z, 0.0, z)
            kx(z, q, False)
            delta = K.dot(q, z)
            K.lincomb3(q, 1.0, q, -delta / gamma, v_cur, -gamma / gamma_prev, v_prev)
            a2 = s * delta + c_prev * c * gamma
            a3 = s_prev * gamma
            K.lincomb3(w_prev, 1.0, z, -a3, w_prev, -a2, w_cur)  # a1 w_{j+1}
            M.apply(q, z)
            gamma_next = math.sqrt(max(K.dot(z, q), 0.0))
            a0 = c * delta - c_prev * s * gamma
            a1 = math.hypot(a0, gamma_next)
            c_next, s_next = a0 / a1, gamma_next / a1
            K.lincomb3(w_prev, 1.0 / a1, w_prev, 0.0, w_prev, 0.0, w_prev)
            K.axpy(x, c_next * eta, w_prev)
            eta = -s_next * eta
            its += 1
            v_prev, v_cur, q = v_cur, q, v_prev
            w_prev, w_cur = w_cur, w_prev
            gamma_prev, gamma = gamma, gamma_next
            c_prev, c, s_prev, s = c, c_next, s, s_next
            if abs(eta) <= tol * eta0 or gamma_next == 0.0:
                break
            if callback is not None and its % 20 == 0:
                callback(its, rel * abs(eta) / eta0)  # estimate from the MINRES norm
    converged = rel <= rtol and mb <= mass_tol
    return StokesMGResult(x, its, rel, mb, converged, passes)
