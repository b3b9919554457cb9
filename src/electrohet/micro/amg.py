"""A compact aggregation multigrid preconditioner for voxel finite-volume matrices.

The unknowns are voxels of a (masked) Cartesian grid.  Each coarse level groups the
active unknowns of 2x2x2 blocks into one aggregate (piecewise-constant prolongation
``P``), the coarse matrix is the Galerkin product ``P^T A P``, and the cycle is a
symmetric V-cycle (damped-Jacobi pre- and post-smoothing, scaled coarse correction) so
it can precondition the conjugate-gradient method.  The coarsest level is solved with
a sparse LU factorisation.  Only SciPy sparse kernels are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


@dataclass
class _Level:
    A: sp.csr_matrix
    agg: np.ndarray  # aggregate of each unknown: P = indicator matrix, R = P^T
    nc: int
    dinv: np.ndarray


class AggregationAMG:
    """Geometric-aggregation multigrid for SPD voxel matrices.

    Parameters
    ----------
    A
        SPD matrix (CSR) of the active voxels.
    coords
        (n, 3) integer grid coordinates of the unknowns (row order of ``A``).
    max_coarse
        Coarsening stops when fewer unknowns remain; the last level is factorised.
    omega
        Jacobi damping factor.
    sweeps
        Number of pre- and post-smoothing sweeps.
    coarse_scale
        Scaling of the coarse correction; values above 1 compensate for the
        over-smooth piecewise-constant interpolation.
    """

    def __init__(
        self,
        A: sp.csr_matrix,
        coords: np.ndarray,
        *,
        max_coarse: int = 3000,
        omega: float = 0.67,
        sweeps: int = 2,
        coarse_scale: float = 1.7,
    ) -> None:
        self.omega = omega
        self.sweeps = sweeps
        self.coarse_scale = coarse_scale
        self.levels: list[_Level] = []
        A = A.tocsr()
        c = np.asarray(coords, dtype=np.int64)
        while A.shape[0] > max_coarse:
            cc = c // 2
            dims = cc.max(axis=0) + 1
            key = (cc[:, 0] * dims[1] + cc[:, 1]) * dims[2] + cc[:, 2]
            uniq, agg = np.unique(key, return_inverse=True)
            nc = uniq.size
            if nc >= A.shape[0]:  # pragma: no cover - cannot coarsen further
                break
            n = A.shape[0]
            P = sp.csr_matrix((np.ones(n), (np.arange(n), agg)), shape=(n, nc))
            Ac = (P.T.tocsr() @ A @ P).tocsr()
            del P  # kept implicitly as the aggregate index (less memory)
            self.levels.append(
                _Level(A=A, agg=agg.astype(np.int32), nc=int(nc), dinv=1.0 / A.diagonal())
            )
            A = Ac
            c = np.stack(
                [uniq // (dims[1] * dims[2]), (uniq // dims[2]) % dims[1], uniq % dims[2]],
                axis=1,
            )
        self.coarse_n = A.shape[0]
        self._coarse = spla.splu(A.tocsc())
        self.shape = self.levels[0].A.shape if self.levels else A.shape

    @property
    def n_levels(self) -> int:
        """Number of levels including the coarsest."""
        return len(self.levels) + 1

    def _cycle(self, lvl: int, b: np.ndarray) -> np.ndarray:
        if lvl == len(self.levels):
            return self._coarse.solve(b)
        L = self.levels[lvl]
        wd = self.omega * L.dinv
        x = wd * b
        for _ in range(self.sweeps - 1):
            x += wd * (b - L.A @ x)
        r = b - L.A @ x
        rc = np.bincount(L.agg, weights=r, minlength=L.nc)
        x += self.coarse_scale * self._cycle(lvl + 1, rc)[L.agg]
        for _ in range(self.sweeps):
            x += wd * (b - L.A @ x)
        return x

    def matvec(self, b: np.ndarray) -> np.ndarray:
        """Apply one V-cycle (the preconditioner) to ``b``."""
        return self._cycle(0, np.asarray(b, dtype=np.float64).ravel())

    def aslinearoperator(self) -> spla.LinearOperator:
        """The V-cycle as a SciPy :class:`~scipy.sparse.linalg.LinearOperator`."""
        n = self.shape[0]
        return spla.LinearOperator((n, n), matvec=self.matvec, dtype=np.float64)
