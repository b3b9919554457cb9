"""Sparse LU for a sequence of matrices that share one sparsity pattern.

The BDF integrator factorises ``M - c J`` many times with the same structure and
slowly changing values.  SciPy's SuperLU spends most of its time for these small
(~1000 unknowns, ~5000 factor entries) systems in per-call overhead, so the factors are
computed here by a compiled up-looking (row Doolittle) elimination on a *fixed*
symbolic structure:

1. the first matrix is factorised once by SuperLU (COLAMD column order, partial row
   pivoting); its row and column permutations are kept;
2. the fill pattern of the permuted matrix is computed symbolically (rows merged with
   the upper-triangular rows they eliminate against);
3. every later matrix is factorised numerically with those permutations (static
   pivoting); a pivot that has become small against its row (growth or a
   near-singular pivot) makes :meth:`StaticLU.factor` try the other pivot orders it
   has kept (the integrator's matrices switch between a mass-dominated regime at small
   steps and a Jacobian-dominated one at large steps), and only then re-pivot with
   SuperLU on the current matrix.

References: Gilbert & Peierls, SIAM J. Sci. Stat. Comput. 9 (1988) 862 (sparse LU with
a known structure); Li & Demmel, ACM TOMS 29 (2003) 110 (static pivoting).
"""

from __future__ import annotations

import heapq
from typing import NamedTuple

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

# Acceptance of a kept pivot order: multipliers |l_ij| <= MULTIPLIER_MAX (the
# threshold-pivoting criterion: each pivot against the entries below it in its column;
# SuperLU's partial pivoting gives |l_ij| <= 1) and |u_ii| >= PIVOT_RATIO max_j |u_ij|
# (pivots lost to cancellation).  An order SuperLU has just chosen for the matrix at
# hand is accepted whenever its pivots are non-zero and finite, as SuperLU itself would.
PIVOT_RATIO = 1e-10
MULTIPLIER_MAX = 10.0
MAX_ORDERS = 4  # pivot orders kept for reuse


class LUFactors(NamedTuple):
    """The storage of one pivot order of :class:`StaticLU`, as the compiled kernels
    take it (:mod:`electrohet.model.step_kernel`, :mod:`electrohet.model.newton_kernel`).

    The permuted matrix ``B = Pr A Pc`` is stored row by row (CSR) with its fill,
    L (unit diagonal, not stored) and U in place.
    """

    row_order: np.ndarray
    """Permuted row -> original row, int64 (n,)."""
    col_perm: np.ndarray
    """Column permutation (SciPy's ``perm_c``), int64 (n,)."""
    lu_ptr: np.ndarray
    """Row starts of the factors, int64 (n + 1,)."""
    lu_idx: np.ndarray
    """Column of each factor entry (sorted per row), int64 (nnz_LU,)."""
    src: np.ndarray
    """Position in the matrix's ``data`` of each factor entry (-1: fill), int64 (nnz_LU,)."""
    diag: np.ndarray
    """Position of each row's diagonal entry in ``lu``, int64 (n,)."""
    lu: np.ndarray
    """Values of L and U (U's diagonal stored inverted), float (nnz_LU,)."""
    work: np.ndarray
    """Work row of the elimination, float (n,); all zero between calls (shared by
    every pivot order of one :class:`StaticLU`)."""


@numba.njit(cache=True)
def _numeric(
    indptr: np.ndarray,
    indices: np.ndarray,
    diag: np.ndarray,
    src: np.ndarray,
    a_data: np.ndarray,
    lu: np.ndarray,
    work: np.ndarray,
    pivot_ratio: float,
    multiplier_max: float,
) -> int:
    """Numeric LU (unit lower L, upper U, packed row-wise in ``lu``) in place.

    The diagonal of U is stored as its reciprocal (eliminations and solves multiply
    instead of dividing: a division's latency sits on the critical path of the
    row-by-row recurrences).

    Returns -1 on success, else the first row whose pivot failed the ratio test or
    needed a multiplier larger than ``multiplier_max`` (the work vector is then left
    dirty: the caller zeroes it).
    """
    n = indptr.size - 1
    for p in range(lu.size):
        s = src[p]
        lu[p] = a_data[s] if s >= 0 else 0.0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            work[indices[p]] = lu[p]
        for p in range(indptr[i], diag[i]):
            k = indices[p]
            lik = work[k] * lu[diag[k]]
            if not abs(lik) <= multiplier_max:
                return i
            work[k] = lik
            for q in range(diag[k] + 1, indptr[k + 1]):
                work[indices[q]] -= lik * lu[q]
        row_max = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            v = work[j]
            lu[p] = v
            work[j] = 0.0
            if j >= i:
                av = abs(v)
                if av > row_max:
                    row_max = av
        piv = abs(lu[diag[i]])
        if not (piv > pivot_ratio * row_max) or not np.isfinite(row_max):
            return i
        lu[diag[i]] = 1.0 / lu[diag[i]]
    return -1


@numba.njit(cache=True)
def solve_factors_into(
    indptr: np.ndarray,
    indices: np.ndarray,
    diag: np.ndarray,
    lu: np.ndarray,
    row_order: np.ndarray,
    col_perm: np.ndarray,
    b: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
) -> None:
    """Solve ``A z = b`` with the packed factors of the permuted matrix (``x``: work)."""
    n = b.size
    for i in range(n):
        x[i] = b[row_order[i]]
    for i in range(n):
        s = x[i]
        for p in range(indptr[i], diag[i]):
            s -= lu[p] * x[indices[p]]
        x[i] = s
    for i in range(n - 1, -1, -1):
        s = x[i]
        for p in range(diag[i] + 1, indptr[i + 1]):
            s -= lu[p] * x[indices[p]]
        x[i] = s * lu[diag[i]]
    for j in range(n):
        z[j] = x[col_perm[j]]


def symbolic_lu_pattern(indptr: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row pattern (CSR, sorted) of L + U for elimination without pivoting.

    Parameters
    ----------
    indptr, indices
        CSR structure of the (already permuted) square matrix; every row must hold its
        diagonal.

    Returns
    -------
    indptr, indices
        CSR structure of the combined factors (the input pattern plus all fill).
    """
    n = indptr.size - 1
    upper: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for i in range(n):
        cols = set(indices[indptr[i] : indptr[i + 1]].tolist())
        if i not in cols:
            raise ValueError(f"row {i} of the permuted pattern has no diagonal entry")
        heap = [k for k in cols if k < i]
        heapq.heapify(heap)
        while heap:
            k = heapq.heappop(heap)
            for j in upper[k].tolist():
                if j not in cols:
                    cols.add(j)
                    if j < i:
                        heapq.heappush(heap, j)
        row = np.array(sorted(cols), dtype=np.int64)
        rows.append(row)
        upper.append(row[row > i])
    ptr = np.zeros(n + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([r.size for r in rows])
    return ptr, np.concatenate(rows)


class StaticLU:
    """LU factors of matrices with one fixed CSC pattern (see the module docstring).

    Parameters
    ----------
    indptr, indices
        CSC structure (sorted row indices) shared by every matrix passed to
        :meth:`factor`; the matrices are given by their ``data`` arrays in that order.

    Attributes
    ----------
    factors
        The pivot order in use and its factors (:class:`LUFactors`), once
        :attr:`ready`; replaced by another when :meth:`factor` changes the order.
    """

    factors: LUFactors

    def __init__(self, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.n = self.indptr.size - 1
        self.ready = False  # permutations and symbolic structure exist
        self.valid = False  # the numeric factors belong to the last factor() call
        self.repivots = 0
        self.work = np.zeros(self.n)
        self.x_work = np.zeros(self.n)
        self._orders: list[LUFactors] = []  # kept analyses, most recently used first
        self._data = np.empty(0)  # the values being factored (only during factor())

    def _csc(self, data: np.ndarray) -> sp.csc_matrix:
        return sp.csc_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    def _analyse(self, data: np.ndarray) -> None:
        """Permutations from SuperLU on ``data``, then the symbolic structure."""
        lu = spla.splu(self._csc(data), permc_spec="COLAMD", options={"SymmetricMode": False})
        perm_r = np.asarray(lu.perm_r, dtype=np.int64)
        col_perm = np.asarray(lu.perm_c, dtype=np.int64)
        row_order = np.argsort(perm_r).astype(np.int64)  # permuted row -> original
        n = self.n
        # permuted matrix B = Pr A Pc: row r -> perm_r[r], column c -> perm_c[c] (SciPy's
        # convention); B's values are the positions of its entries in ``data`` (+1)
        cols = np.repeat(np.arange(n), np.diff(self.indptr))
        rows = self.indices
        B = sp.csr_matrix(
            (np.arange(rows.size, dtype=float) + 1.0, (perm_r[rows], col_perm[cols])),
            shape=(n, n),
        )
        B.sort_indices()
        b_ptr = B.indptr.astype(np.int64)
        b_idx = B.indices.astype(np.int64)
        b_src = B.data.astype(np.int64) - 1
        # make sure every diagonal is present (a structurally zero one becomes fill)
        missing = [i for i in range(n) if i not in set(b_idx[b_ptr[i] : b_ptr[i + 1]].tolist())]
        if missing:
            extra = sp.csr_matrix((np.full(len(missing), -1.0), (missing, missing)), shape=(n, n))
            B2 = sp.csr_matrix((b_src + 1.0, b_idx, b_ptr), shape=(n, n)) + extra
            B2.sort_indices()
            b_ptr, b_idx = B2.indptr.astype(np.int64), B2.indices.astype(np.int64)
            b_src = np.where(B2.data < 0, -1, B2.data - 1).astype(np.int64)
        ptr, idx = symbolic_lu_pattern(b_ptr, b_idx)
        src = np.full(idx.size, -1, dtype=np.int64)
        for i in range(n):
            row = idx[ptr[i] : ptr[i + 1]]
            pos = ptr[i] + np.searchsorted(row, b_idx[b_ptr[i] : b_ptr[i + 1]])
            src[pos] = b_src[b_ptr[i] : b_ptr[i + 1]]
        diag = np.array(
            [ptr[i] + np.searchsorted(idx[ptr[i] : ptr[i + 1]], i) for i in range(n)],
            dtype=np.int64,
        )
        self.factors = LUFactors(
            row_order, col_perm, ptr, idx, src, diag, np.zeros(idx.size), self.work
        )
        self.ready = True
        self._orders.insert(0, self.factors)
        del self._orders[MAX_ORDERS:]

    # the arrays of the pivot order in use (read-only views of ``factors``)
    @property
    def row_order(self) -> np.ndarray:
        return self.factors.row_order

    @property
    def col_perm(self) -> np.ndarray:
        return self.factors.col_perm

    @property
    def lu_ptr(self) -> np.ndarray:
        return self.factors.lu_ptr

    @property
    def lu_idx(self) -> np.ndarray:
        return self.factors.lu_idx

    @property
    def src(self) -> np.ndarray:
        return self.factors.src

    @property
    def diag(self) -> np.ndarray:
        return self.factors.diag

    @property
    def lu(self) -> np.ndarray:
        return self.factors.lu

    def _try(self, strict: bool = True) -> bool:
        return (
            _numeric(
                self.lu_ptr,
                self.lu_idx,
                self.diag,
                self.src,
                self._data,
                self.lu,
                self.work,
                PIVOT_RATIO if strict else 0.0,
                MULTIPLIER_MAX if strict else np.inf,
            )
            < 0
        )

    @property
    def nnz(self) -> int:
        """Entries of L + U (including fill)."""
        return int(self.lu_idx.size) if self.ready else 0

    def factor(self, data: np.ndarray, current_failed: bool = False) -> None:
        """Factorise the matrix with values ``data`` (CSC order of the pattern).

        ``current_failed``: the caller has already tried the current pivot order on
        ``data`` (a compiled caller, :mod:`electrohet.model.step_kernel`) and it
        failed; go straight to the other kept orders.

        Raises
        ------
        RuntimeError
            The matrix is (numerically) singular.
        """
        data = np.ascontiguousarray(data, dtype=float)
        self._data = data
        self.valid = False
        if not self.ready:
            self._analyse(data)
            current_failed = False
        if current_failed or not self._try():
            self.work[:] = 0.0
            ok = False
            current = self.factors
            for i, order in enumerate(self._orders):
                if order.row_order is current.row_order:
                    continue
                self.factors = order
                if self._try():
                    ok = True
                    self._orders.insert(0, self._orders.pop(i))
                    break
                self.work[:] = 0.0
            if not ok:
                # the kept pivot orders no longer suit the values: re-pivot on this one
                self.repivots += 1
                self._analyse(data)
                if not self._try(strict=False):
                    self.work[:] = 0.0
                    raise RuntimeError("singular matrix (no stable pivot order)")
        self._data = np.empty(0)
        self.valid = True

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Solution z of ``A z = b`` for the last factorised matrix."""
        z = np.empty(self.n)
        solve_factors_into(
            self.lu_ptr,
            self.lu_idx,
            self.diag,
            self.lu,
            self.row_order,
            self.col_perm,
            np.ascontiguousarray(b, dtype=float),
            self.x_work,
            z,
        )
        return z
