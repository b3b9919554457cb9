"""Coloured finite-difference Jacobians of batched residual functions.

Columns that share no row in the sparsity pattern get the same colour; one batched
residual call with one perturbed state per colour then yields the whole sparse Jacobian
(Curtis, Powell & Reid, IMA J. Appl. Math. 13 (1974) 117).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import scipy.sparse as sp


def greedy_column_colouring(pattern: sp.spmatrix) -> np.ndarray:
    """Colour the columns of ``pattern`` so that no two columns of one colour share a row.

    Returns an integer colour per column (largest-degree-first greedy ordering).
    """
    A = sp.csc_matrix(pattern, dtype=bool)
    G = (A.T @ A).tocsr()  # column conflict graph
    n = A.shape[1]
    colour = np.full(n, -1, dtype=int)
    degree = np.diff(G.indptr)
    order = np.argsort(-degree, kind="stable")
    indptr, indices = G.indptr, G.indices
    for col in order:
        nb = indices[indptr[col] : indptr[col + 1]]
        used = colour[nb]
        used = used[used >= 0]
        if used.size == 0:
            colour[col] = 0
            continue
        taken = np.zeros(used.max() + 2, dtype=bool)
        taken[used] = True
        colour[col] = int(np.argmin(taken))
    return colour


@numba.njit(cache=True)
def _difference_quotients(
    Fp: np.ndarray,
    f0: np.ndarray,
    h: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    colour: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[p] = (Fp[row, colour[col]] - f0[row]) / h[col] for every CSC entry p."""
    for col in range(indptr.size - 1):
        cc = colour[col]
        hc = h[col]
        for p in range(indptr[col], indptr[col + 1]):
            r = indices[p]
            out[p] = (Fp[r, cc] - f0[r]) / hc


class ColouredJacobian:
    """Evaluate a sparse Jacobian of ``fun(Y) -> F`` (batched over a trailing axis).

    Parameters
    ----------
    pattern
        Structural non-zeros (a superset is fine).
    scale
        Typical magnitude of each unknown (sets the finite-difference step).
    """

    def __init__(self, pattern: sp.spmatrix, scale: np.ndarray) -> None:
        P = sp.csc_matrix(pattern)
        P.sort_indices()
        self.shape = P.shape
        self.indptr = P.indptr.astype(np.int64)
        self.indices = P.indices.astype(np.int64)
        self.cols = np.repeat(np.arange(P.shape[1]), np.diff(P.indptr))
        self.colour = greedy_column_colouring(P).astype(np.int64)
        self.n_colours = int(self.colour.max()) + 1
        self.scale = np.asarray(scale, dtype=float)
        self.n_evals = 0
        self._rows = np.arange(P.shape[0])
        self._entry_colour = self.colour[self.cols]

    def values(
        self, fun: Callable[[np.ndarray], np.ndarray], y: np.ndarray, f0: np.ndarray
    ) -> np.ndarray:
        """The Jacobian's entries at ``y`` in the CSC order of the pattern.

        Parameters
        ----------
        fun
            Batched residual: (n, B) states -> (n, B) values.
        y
            State (n,) at which to differentiate.
        f0
            ``fun(y)``.
        """
        h = 1.49e-8 * np.maximum(np.abs(y), self.scale)
        # make the step exactly representable
        h = (y + h) - y
        Y = np.repeat(y[:, None], self.n_colours, axis=1)
        Y[self._rows, self.colour] += h
        Fp = np.ascontiguousarray(fun(Y), dtype=float)
        self.n_evals += 1
        out = np.empty(self.indices.size)
        _difference_quotients(
            Fp,
            np.ascontiguousarray(f0, dtype=float),
            h,
            self.indptr,
            self.indices,
            self.colour,
            out,
        )
        return out

    def __call__(
        self, fun: Callable[[np.ndarray], np.ndarray], y: np.ndarray, f0: np.ndarray
    ) -> sp.csc_matrix:
        """The Jacobian at ``y`` as a CSC matrix (see :meth:`values`)."""
        data = self.values(fun, y, f0)
        return sp.csc_matrix((data, self.indices, self.indptr), shape=self.shape)
