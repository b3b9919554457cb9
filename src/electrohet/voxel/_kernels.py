"""Numba kernels of the voxel Newton solver (one pass over a sparse matrix's entries)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def scale_rows_cols(indptr, indices, data, col_scale, out):  # pragma: no cover - compiled
    """Column scaling by ``col_scale``, then each row divided by its diagonal.

    ``out[p] = data[p] col_scale[j] / d_i`` for entry ``p`` = (i, j), with ``d_i`` the
    magnitude of the scaled diagonal entry, or the row's largest scaled magnitude where
    the diagonal is below 1e-12 of it (1 for an empty row).  Returns ``d``.
    """
    n = indptr.size - 1
    d = np.ones(n)
    for i in range(n):
        diag = 0.0
        rowmax = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p] * col_scale[indices[p]]
            out[p] = v
            a = abs(v)
            if a > rowmax:
                rowmax = a
            if indices[p] == i:
                diag += v
        diag = abs(diag)
        di = diag if diag > 1e-12 * rowmax else rowmax
        if di == 0.0:
            di = 1.0
        d[i] = di
        for p in range(indptr[i], indptr[i + 1]):
            out[p] /= di
    return d


@numba.njit(cache=True, nogil=True)
def add_into_slots(out, slot, start, values):  # pragma: no cover - compiled
    """``out[slot[start + k]] += values[k]`` in place: assembly entries from the
    ``start``-th on, in assembly order, summed into the CSR values ``out`` (``slot``
    may be int32, no index copy is made).  Summing all entries at once (``start`` 0)
    or group by group gives bit-identical sums: the order is the same."""
    for k in range(values.size):
        out[slot[start + k]] += values[k]


@numba.njit(cache=True, nogil=True)
def csr_pattern(rows, cols, n):  # pragma: no cover - compiled
    """CSR structure of the (row, column) pairs of an ``n x n`` matrix and the map from
    each pair to its slot (repeated pairs share one).

    A counting sort by row, then each row's columns sorted and deduplicated; only
    int32 work arrays of the pairs' size (``np.unique`` on int64 keys needs ~5 such
    arrays of int64).  Returns ``indptr``, ``indices`` (sorted per row) and ``slot``
    (int32).
    """
    m = rows.size
    count = np.zeros(n + 1, dtype=np.int64)
    for k in range(m):
        count[rows[k] + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    pos = count[:-1].copy()
    bycol = np.empty(m, dtype=np.int32)
    for k in range(m):
        r = rows[k]
        bycol[pos[r]] = cols[k]
        pos[r] += 1
    indptr = np.zeros(n + 1, dtype=np.int32)
    w = 0
    for i in range(n):
        seg = np.sort(bycol[count[i] : count[i + 1]])
        last = -1
        for c in seg:
            if c != last:
                bycol[w] = c
                w += 1
                last = c
        indptr[i + 1] = w
    indices = bycol[:w].copy()
    slot = np.empty(m, dtype=np.int32)
    for k in range(m):
        c = cols[k]
        lo = indptr[rows[k]]
        hi = indptr[rows[k] + 1]
        while lo < hi:
            mid = (lo + hi) // 2
            if indices[mid] < c:
                lo = mid + 1
            else:
                hi = mid
        slot[k] = lo
    return indptr, indices, slot


@numba.njit(cache=True, nogil=True)
def gauss_seidel(indptr, indices, data, x, b, forward):  # pragma: no cover - compiled
    """One Gauss-Seidel sweep on ``A x = b`` (CSR), in place on ``x``.

    Rows in increasing order when ``forward``, else decreasing; a row with a zero
    diagonal leaves its entry unchanged.  The same sweep as pyamg's
    ``amg_core.gauss_seidel``, compiled without the GIL so that two V-cycles can run
    in two threads (:class:`~electrohet.voxel.preconditioner.BlockPreconditioner`).
    """
    n = x.size
    for k in range(n):
        i = k if forward else n - 1 - k
        ii = np.uint64(i)
        diag = 0.0
        rsum = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            # unsigned: no negative-index wraparound test in the inner loop
            j = np.uint64(indices[p])
            if j == ii:
                diag = data[p]
            else:
                rsum += data[p] * x[j]
        if diag != 0.0:
            x[i] = (b[i] - rsum) / diag
