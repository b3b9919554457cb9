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
def sum_into_slots(slot, values, n_slots):  # pragma: no cover - compiled
    """``out[slot[k]] += values[k]`` into a new float64 array of ``n_slots`` (the CSR
    values of an assembled matrix; ``slot`` may be int32, no index copy is made)."""
    out = np.zeros(n_slots)
    for k in range(slot.size):
        out[slot[k]] += values[k]
    return out
