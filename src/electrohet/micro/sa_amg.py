"""Lean smoothed-aggregation multigrid for the Darcy conductance Laplacian of the Stokes
preconditioner (:mod:`electrohet.micro.stokes_mg`).

Smoothed aggregation after Vaněk, Mandel & Brezina (1996, Computing 56, 179-196):

* aggregates: the rows of each ``box^3`` block of the grid (cells on the fine level,
  aggregates of the level above on coarser ones), split into the pieces connected by the
  matrix graph inside the block (two pores that share a block without touching inside
  it are not forced to one coarse value);
* tentative prolongation ``T`` piecewise constant on the aggregates, smoothed
  prolongation ``P = (I - omega D^-1 A) T`` with ``omega = 4 / (3 rho(D^-1 A))``
  (``rho`` by power iteration), Galerkin coarse matrix ``A_c = P^T A P``;
* cycle: forward Gauss-Seidel before and backward Gauss-Seidel after the coarse
  correction (the cycle is then a symmetric positive-definite operator, as MINRES
  needs), a W-cycle (two visits of each coarse level below the first), sparse LU on
  the coarsest level.

Storage is lean: every level is a CSR matrix with float32 values and int32 indices
(``indptr`` too), plus its aggregate map (int32) and inverse diagonal (float32).
``P`` is formed explicitly only while the coarse matrix is computed (a numba kernel
accumulates ``P^T A P`` row by row through ``P`` and its transpose, so no ``A P``
temporary is formed) and then dropped: the cycle applies ``P`` and ``P^T`` through
``A`` itself (``P c = T c - omega D^-1 A T c``, ``P^T r = T^T (r - omega A D^-1 r)``),
and ``R = P^T`` is never stored.  The cycle's vectors are float32 (float64 on the
coarsest level), sums inside the kernels are float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numba as nb
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.errors import ParameterError


@nb.njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    """Root of ``i`` in the union-find forest ``parent`` (with path halving)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@nb.njit(cache=True)
def _same_box(coords, i, j, box):
    """Whether rows ``i`` and ``j`` lie in the same ``box^3`` block."""
    for d in range(3):
        if coords[i, d] // box != coords[j, d] // box:
            return False
    return True


@nb.njit(cache=True)
def aggregate(indptr, indices, data, coords, box, split):
    """Aggregates of the rows: the ``box^3`` blocks of their grid coordinates
    ``coords`` (int32, one row per unknown), each split into the pieces connected by
    negative off-diagonal entries inside the block when ``split``.

    Returns the aggregate of each row (int32, numbered in order of first row) and the
    block coordinates of each aggregate (int32, ``(n_agg, 3)``).
    """
    n = coords.shape[0]
    parent = np.arange(n).astype(np.int32)
    if split:
        for i in range(n):
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if j > i and data[p] < 0 and _same_box(coords, i, j, box):
                    a, b = _find(parent, i), _find(parent, j)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    else:
        dims = np.zeros(3, np.int64)
        for d in range(3):
            dims[d] = coords[:, d].max() // box + 1
        first = np.full((dims[0], dims[1], dims[2]), -1, np.int32)
        for i in range(n):
            a, b, c = coords[i, 0] // box, coords[i, 1] // box, coords[i, 2] // box
            if first[a, b, c] < 0:
                first[a, b, c] = i
            else:
                parent[i] = first[a, b, c]
    agg = np.full(n, -1, np.int32)
    n_agg = 0
    for i in range(n):
        r = _find(parent, i)
        if agg[r] < 0:
            agg[r] = n_agg
            n_agg += 1
        agg[i] = agg[r]
    out = np.empty((n_agg, 3), np.int32)
    for i in range(n):
        for d in range(3):
            out[agg[i], d] = coords[i, d] // box
    return agg, out


@nb.njit(cache=True)
def _prolongation_row(i, indptr, indices, data, dinv, agg, omega, cols, vals):
    """Row ``i`` of ``P = (I - omega D^-1 A) T`` into ``cols, vals``; returns its length."""
    m = 1
    cols[0] = agg[i]
    vals[0] = 1.0
    s = -omega * np.float64(dinv[i])
    for p in range(indptr[i], indptr[i + 1]):
        a = agg[indices[p]]
        q = 0
        while q < m and cols[q] != a:
            q += 1
        if q == m:
            cols[m] = a
            vals[m] = 0.0
            m += 1
        vals[q] += s * np.float64(data[p])
    return m


@nb.njit(cache=True)
def prolongation(indptr, indices, data, dinv, agg, omega):
    """CSR arrays (int32 ``indptr`` and columns, float32 values) of the smoothed
    prolongation ``P = (I - omega D^-1 A) T``, ``T`` the aggregates' indicator."""
    n = agg.size
    width = 1
    for i in range(n):
        width = max(width, indptr[i + 1] - indptr[i] + 1)
    cols = np.empty(width, np.int32)
    vals = np.empty(width, np.float64)
    pptr = np.zeros(n + 1, np.int32)
    for i in range(n):
        m = _prolongation_row(i, indptr, indices, data, dinv, agg, omega, cols, vals)
        pptr[i + 1] = pptr[i] + m
    pidx = np.empty(pptr[n], np.int32)
    pval = np.empty(pptr[n], np.float32)
    for i in range(n):
        m = _prolongation_row(i, indptr, indices, data, dinv, agg, omega, cols, vals)
        for q in range(m):
            pidx[pptr[i] + q] = cols[q]
            pval[pptr[i] + q] = vals[q]
    return pptr, pidx, pval


@nb.njit(cache=True)
def transpose(pptr, pidx, pval, n_cols):
    """CSR arrays of the transpose of a CSR matrix with ``n_cols`` columns."""
    tptr = np.zeros(n_cols + 1, np.int32)
    for q in range(pidx.size):
        tptr[pidx[q] + 1] += 1
    for a in range(n_cols):
        tptr[a + 1] += tptr[a]
    fill = tptr[:-1].copy()
    tidx = np.empty(pidx.size, np.int32)
    tval = np.empty(pidx.size, np.float32)
    for i in range(pptr.size - 1):
        for q in range(pptr[i], pptr[i + 1]):
            a = pidx[q]
            tidx[fill[a]] = i
            tval[fill[a]] = pval[q]
            fill[a] += 1
    return tptr, tidx, tval


@nb.njit(cache=True)
def galerkin(indptr, indices, data, pptr, pidx, pval, tptr, tidx, tval, n_agg):
    """CSR arrays (int32, float32 values, sorted columns) of ``P^T A P``, accumulated
    row by row in float64 (row ``a``: ``sum_i P_ia sum_k A_ik P_k``, ``i`` over column
    ``a`` of ``P``): no ``A P`` temporary, only one dense row of length ``n_agg``."""
    mark = np.full(n_agg, -1, np.int32)
    cptr = np.zeros(n_agg + 1, np.int32)
    for a in range(n_agg):  # symbolic pass: the number of entries of each row
        m = 0
        for q in range(tptr[a], tptr[a + 1]):
            i = tidx[q]
            for p in range(indptr[i], indptr[i + 1]):
                k = indices[p]
                for s in range(pptr[k], pptr[k + 1]):
                    b = pidx[s]
                    if mark[b] != a:
                        mark[b] = a
                        m += 1
        cptr[a + 1] = cptr[a] + m
    cidx = np.empty(cptr[n_agg], np.int32)
    cval = np.empty(cptr[n_agg], np.float32)
    acc = np.zeros(n_agg)
    mark[:] = -1
    for a in range(n_agg):
        m = cptr[a]
        for q in range(tptr[a], tptr[a + 1]):
            i = tidx[q]
            pia = np.float64(tval[q])
            for p in range(indptr[i], indptr[i + 1]):
                k = indices[p]
                t = pia * np.float64(data[p])
                for s in range(pptr[k], pptr[k + 1]):
                    b = pidx[s]
                    if mark[b] != a:
                        mark[b] = a
                        cidx[m] = b
                        acc[b] = 0.0
                        m += 1
                    acc[b] += t * np.float64(pval[s])
        row = np.sort(cidx[cptr[a] : m])
        for q in range(row.size):
            cidx[cptr[a] + q] = row[q]
            cval[cptr[a] + q] = acc[row[q]]
    return cptr, cidx, cval


@nb.njit(cache=True)
def diagonal(indptr, indices, data):
    """The diagonal ``A_ii`` (float32) of a CSR matrix."""
    n = indptr.size - 1
    out = np.zeros(n, np.float32)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            if indices[p] == i:
                out[i] = data[p]
    return out


@nb.njit(cache=True)
def spectral_radius(indptr, indices, data, dinv, iters):
    """Estimate of the largest eigenvalue of ``D^-1 A`` (``A`` SPD) by ``iters`` power
    iterations on the symmetric ``D^-1/2 A D^-1/2`` (the Rayleigh quotient)."""
    n = indptr.size - 1
    x = np.empty(n, np.float32)  # float32 work vectors: only an estimate is needed
    for i in range(n):  # a fixed, not constant, start vector
        x[i] = 1.0 + 0.5 * np.sin(1.0 + i)
    y = np.empty(n, np.float32)
    lam = 0.0
    for _ in range(iters):
        nrm = 0.0
        for i in range(n):
            nrm += np.float64(x[i]) ** 2
        nrm = np.sqrt(nrm)
        for i in range(n):
            x[i] = np.float64(x[i]) / nrm
        xx = 0.0
        xy = 0.0
        for i in range(n):
            s = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                s += np.float64(data[p]) * np.sqrt(np.float64(dinv[j])) * np.float64(x[j])
            y[i] = np.sqrt(np.float64(dinv[i])) * s
            xx += np.float64(x[i]) ** 2
            xy += np.float64(x[i]) * np.float64(y[i])
        lam = xy / xx
        x, y = y, x
    return lam


@nb.njit(cache=True)
def gauss_seidel(indptr, indices, data, dinv, x, b, forward):
    """One Gauss-Seidel sweep on ``A x = b`` in place, rows in increasing order
    (``forward``) or decreasing order (the adjoint sweep)."""
    n = x.size
    for t in range(n):
        i = t if forward else n - 1 - t
        s = np.float64(b[i])
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i:
                s -= np.float64(data[p]) * np.float64(x[j])
        x[i] = s * np.float64(dinv[i])


@nb.njit(cache=True)
def residual(indptr, indices, data, x, b, r):
    """``r = b - A x``."""
    for i in range(x.size):
        s = np.float64(b[i])
        for p in range(indptr[i], indptr[i + 1]):
            s -= np.float64(data[p]) * np.float64(x[indices[p]])
        r[i] = s


@nb.njit(cache=True)
def restrict(indptr, indices, data, dinv, agg, omega, r, rc):
    """``rc = P^T r = T^T (r - omega A D^-1 r)`` (``A`` symmetric)."""
    rc[:] = 0.0
    for i in range(r.size):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            s += np.float64(data[p]) * np.float64(dinv[j]) * np.float64(r[j])
        rc[agg[i]] += np.float64(r[i]) - omega * s


@nb.njit(cache=True)
def prolong_add(indptr, indices, data, dinv, agg, omega, c, x):
    """``x += P c = T c - omega D^-1 A T c``."""
    for i in range(x.size):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            s += np.float64(data[p]) * np.float64(c[agg[indices[p]]])
        x[i] = np.float64(x[i]) + np.float64(c[agg[i]]) - omega * np.float64(dinv[i]) * s


@nb.njit(cache=True)
def grid_coords(cid, n):
    """Grid coordinates (int32, ``(n, 3)``) of the unknowns numbered by ``cid``."""
    out = np.empty((n, 3), np.int32)
    for i in range(cid.shape[0]):
        for j in range(cid.shape[1]):
            for k in range(cid.shape[2]):
                me = cid[i, j, k]
                if me >= 0:
                    out[me, 0] = i
                    out[me, 1] = j
                    out[me, 2] = k
    return out


class Level(Protocol):
    """What the cycle needs of a level whose matrix ``A`` has been coarsened: the
    aggregates ``agg`` of its unknowns, the prolongation weight ``omega`` and a work
    vector ``r`` (float32, one per unknown), and four passes of ``A``."""

    agg: np.ndarray
    omega: float
    r: np.ndarray

    def smooth(self, x: np.ndarray, b: np.ndarray, forward: bool) -> None:
        """One Gauss-Seidel sweep on ``A x = b`` in place (forward or backward)."""

    def residual(self, x: np.ndarray, b: np.ndarray, r: np.ndarray) -> None:
        """``r = b - A x``."""

    def restrict(self, r: np.ndarray, rc: np.ndarray) -> None:
        """``rc = P^T r``."""

    def prolong_add(self, c: np.ndarray, x: np.ndarray) -> None:
        """``x += P c``."""

    @property
    def nbytes(self) -> int:
        """Memory held (bytes)."""


@dataclass
class CSRLevel:
    """A level stored as CSR (int32 ``indptr`` and columns, float32 values) with
    ``1 / diag A`` (float32), the aggregates of its rows, the prolongation weight and a
    work vector."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    dinv: np.ndarray
    agg: np.ndarray
    omega: float
    r: np.ndarray

    def smooth(self, x: np.ndarray, b: np.ndarray, forward: bool) -> None:
        """One Gauss-Seidel sweep on ``A x = b`` in place (forward or backward)."""
        gauss_seidel(self.indptr, self.indices, self.data, self.dinv, x, b, forward)

    def residual(self, x: np.ndarray, b: np.ndarray, r: np.ndarray) -> None:
        """``r = b - A x``."""
        residual(self.indptr, self.indices, self.data, x, b, r)

    def restrict(self, r: np.ndarray, rc: np.ndarray) -> None:
        """``rc = P^T r``."""
        restrict(self.indptr, self.indices, self.data, self.dinv, self.agg, self.omega, r, rc)

    def prolong_add(self, c: np.ndarray, x: np.ndarray) -> None:
        """``x += P c``."""
        csr = (self.indptr, self.indices, self.data)
        prolong_add(*csr, self.dinv, self.agg, self.omega, c, x)

    @property
    def nbytes(self) -> int:
        """Memory held (bytes)."""
        arrays = (self.indptr, self.indices, self.data, self.dinv, self.agg, self.r)
        return sum(a.nbytes for a in arrays)


class SmoothedAggregation:
    """Smoothed-aggregation multigrid cycle (module docstring) for an SPD M-matrix on
    grid unknowns; a fixed symmetric positive-definite preconditioner.

    Parameters
    ----------
    indptr, indices, data
        CSR arrays of the fine matrix ``A`` (symmetric, diagonal stored; kept by
        reference unless :meth:`replace_fine` swaps the level; converted to int32 /
        float32 if needed).
    coords
        int32 grid coordinates of the unknowns, ``(n, 3)`` (used to form the blocks;
        not kept).
    box
        Edge of the aggregation blocks (in units of the level's grid), one value or one
        per level (the last repeats).  Default ``(2, 3)``: 2x2x2 cells on the fine level
        (3x3x3 there takes 113 MINRES iterations instead of 83 at 64^3), 3x3x3 below
        (2x2x2 there lets the coarse stencils grow to 60-220 entries per row).
    split
        Split each block into its connected pieces (without: 197 MINRES iterations
        instead of 115 at 64^3, box 3).
    omega
        Prolongation smoothing weight; ``None``: ``4 / (3 rho(D^-1 A))`` per level
        (Vaněk et al. 1996).
    cycle
        ``"W"`` (two visits of each coarse level above the coarsest) or ``"V"``.
    max_coarse
        Coarsening stops at this many unknowns; that level is solved by sparse LU.
    sweeps
        Gauss-Seidel sweeps before (forward) and after (backward) the coarse correction,
        one value or one per level (the last repeats).  Default ``(1, 2)``: two on the
        coarse levels (104 MINRES iterations instead of 85 at 96^3 with one).
    """

    def __init__(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        data: np.ndarray,
        coords: np.ndarray,
        *,
        box: int | tuple[int, ...] = (2, 3),
        split: bool = True,
        omega: float | None = None,
        cycle: str = "W",
        max_coarse: int = 500,
        sweeps: int | tuple[int, ...] = (1, 2),
    ) -> None:
        if cycle not in ("W", "V"):
            raise ParameterError(f"cycle must be 'W' or 'V', not {cycle!r}")
        self.gamma = 2 if cycle == "W" else 1
        self.sweeps = [sweeps] if isinstance(sweeps, int) else list(sweeps)
        self.levels: list[Level] = []
        self.work: list[tuple[np.ndarray, ...]] = []  # (b, x, b2, e) of the coarse levels
        if indices.size + indptr.size > np.iinfo(np.int32).max:
            raise ParameterError("matrix too large for the int32 indices of the hierarchy")
        csr = (
            indptr.astype(np.int32, copy=False),
            indices.astype(np.int32, copy=False),
            data.astype(np.float32, copy=False),
        )
        del indptr, indices, data
        n = csr[0].size - 1
        boxes = [box] if isinstance(box, int) else list(box)
        while n > max_coarse:
            b = boxes[min(len(self.levels), len(boxes) - 1)]
            csr, coords, n_next = self._coarsen(csr, coords, b, split, omega)
            if n_next >= n:  # pragma: no cover - blocks cannot shrink further
                break
            n = n_next
            self.work.append(tuple(np.zeros(n, np.float32) for _ in range(4)))
        Ac = sp.csr_matrix((csr[2].astype(np.float64), csr[1], csr[0]), shape=(n, n))
        self.coarse_n = n
        self.coarse = spla.splu(((Ac + Ac.T) * 0.5).tocsc())
        self.coarse_nnz = int(self.coarse.L.nnz + self.coarse.U.nnz)

    def _coarsen(self, csr, coords, box, split, omega):
        """Append the level of ``csr``; return the next level's CSR, coordinates and
        size."""
        indptr, indices, data = csr
        dinv = (1.0 / diagonal(indptr, indices, data).astype(np.float64)).astype(np.float32)
        agg, coarse_coords = aggregate(indptr, indices, data, coords, box, split)
        n_agg = coarse_coords.shape[0]
        if omega is None:
            rho = spectral_radius(indptr, indices, data, dinv, 15)
            om = 4.0 / (3.0 * rho)
        else:
            om = float(omega)
        pptr, pidx, pval = prolongation(indptr, indices, data, dinv, agg, om)
        tptr, tidx, tval = transpose(pptr, pidx, pval, n_agg)
        coarse = galerkin(indptr, indices, data, pptr, pidx, pval, tptr, tidx, tval, n_agg)
        del pptr, pidx, pval, tptr, tidx, tval
        r = np.empty(indptr.size - 1, np.float32)
        self.levels.append(CSRLevel(indptr, indices, data, dinv, agg, om, r))
        return coarse, coarse_coords, n_agg

    def replace_fine(self, level: Level) -> None:
        """Use ``level`` (the same matrix, e.g. applied without storing it; same ``agg``
        and ``omega``) as the fine level, dropping the stored one."""
        if not self.levels:
            raise ValueError("the hierarchy has a single level: nothing to replace")
        self.levels[0] = level

    @property
    def n_levels(self) -> int:
        """Number of levels including the coarsest."""
        return len(self.levels) + 1

    @property
    def nbytes(self) -> int:
        """Memory held by the hierarchy (bytes; the LU factors at 12 B per entry)."""
        work = sum(v.nbytes for w in self.work for v in w)
        return sum(lv.nbytes for lv in self.levels) + work + 12 * self.coarse_nnz

    def apply(self, b: np.ndarray, x: np.ndarray) -> None:
        """``x`` = one cycle applied to ``b`` (fine-level vectors, ``x`` overwritten)."""
        self._cycle(0, b, x)

    def matvec(self, b: np.ndarray) -> np.ndarray:
        """One cycle applied to ``b`` (a new float32 vector)."""
        x = np.empty(b.size, np.float32)
        self._cycle(0, np.asarray(b, np.float32), x)
        return x

    def _cycle(self, lvl: int, b: np.ndarray, x: np.ndarray) -> None:
        """``x`` = the cycle on level ``lvl`` applied to ``b``."""
        if lvl == len(self.levels):
            x[:] = self.coarse.solve(b.astype(np.float64))
            return
        lv = self.levels[lvl]
        x[:] = 0.0
        sweeps = self.sweeps[min(lvl, len(self.sweeps) - 1)]
        for _ in range(sweeps):
            lv.smooth(x, b, True)
        lv.residual(x, b, lv.r)
        bc, xc, b2, e = self.work[lvl]
        lv.restrict(lv.r, bc)
        self._cycle(lvl + 1, bc, xc)
        if self.gamma == 2 and lvl + 1 < len(self.levels):
            self.levels[lvl + 1].residual(xc, bc, b2)
            self._cycle(lvl + 1, b2, e)
            xc += e
        lv.prolong_add(xc, x)
        for _ in range(sweeps):
            lv.smooth(x, b, False)
