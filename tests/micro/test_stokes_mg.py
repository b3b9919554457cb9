"""The lean smoothed-aggregation hierarchy of the Darcy preconditioner
(``micro.sa_amg``) and its matrix-free fine level in ``micro.stokes_mg``."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from electrohet.micro import _stokes_kernels as K
from electrohet.micro import sa_amg as S
from electrohet.micro.flow import _index_grids, percolating_mask
from electrohet.micro.stokes_mg import DarcyGrid, StokesPreconditioner, solve_stokes_mg


def pore_grids(n: int = 14, seed: int = 3):
    """Index grids of the flowing cells of a small random pore volume (porosity 0.4)."""
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(np.random.default_rng(seed).random((n, n, n)), 1.2)
    mask = percolating_mask(f <= np.quantile(f, 0.4), 0)
    faces, cid, nu = _index_grids(mask, np.int32)
    return (faces[0], faces[1], faces[2]), cid, nu, int(mask.sum())


def darcy_matrix(F, cid, nu: int, nc: int, seed: int = 4):
    """``L = G^T W G`` with random face weights: float32 CSR arrays and SciPy float64."""
    w = (0.2 + np.random.default_rng(seed).random(nu)).astype(np.float32)
    h = np.array([1.0, 1.3, 0.8])
    csr = K.darcy_csr(F, cid, h, w, nc)
    L = sp.csr_matrix((csr[2].astype(np.float64), csr[1], csr[0]), shape=(nc, nc))
    return csr, L, (h, w)


def reference_prolongation(L: sp.csr_matrix, agg: np.ndarray, omega: float) -> sp.csr_matrix:
    """``P = (I - omega D^-1 L) T`` by SciPy (float64), with the float32 ``D^-1`` of
    the kernels."""
    n = agg.size
    T = sp.csr_matrix((np.ones(n), (np.arange(n), agg)), shape=(n, int(agg.max()) + 1))
    dinv = (1.0 / L.diagonal()).astype(np.float32).astype(np.float64)
    return (T - omega * sp.diags(dinv) @ L @ T).tocsr()


def test_galerkin_product_equals_the_explicit_sparse_product():
    """``P`` of the kernel and ``P^T L P`` accumulated row by row equal the SciPy
    products (float64) to float32 round-off; the split aggregates are connected."""
    F, cid, nu, nc = pore_grids()
    (indptr, indices, data), L, _ = darcy_matrix(F, cid, nu, nc)
    indptr = indptr.astype(np.int32)
    dinv = (1.0 / S.diagonal(indptr, indices, data).astype(np.float64)).astype(np.float32)
    agg, blocks = S.aggregate(indptr, indices, data, S.grid_coords(cid, nc), 2, True)
    n_agg = blocks.shape[0]
    assert agg.min() == 0 and agg.max() == n_agg - 1 and n_agg < nc / 2
    omega = 4.0 / (3.0 * S.spectral_radius(indptr, indices, data, dinv, 15))
    assert 0.5 < omega < 1.0
    pptr, pidx, pval = S.prolongation(indptr, indices, data, dinv, agg, omega)
    P = sp.csr_matrix((pval.astype(np.float64), pidx, pptr), shape=(nc, n_agg))
    P_ref = reference_prolongation(L, agg, omega)
    assert abs(P - P_ref).max() < 1e-6
    tptr, tidx, tval = S.transpose(pptr, pidx, pval, n_agg)
    cptr, cidx, cval = S.galerkin(indptr, indices, data, pptr, pidx, pval, tptr, tidx, tval, n_agg)
    Ac = sp.csr_matrix((cval.astype(np.float64), cidx, cptr), shape=(n_agg, n_agg))
    ref = P.T @ L @ P
    assert abs(Ac - ref).max() <= 2e-6 * abs(ref).max()
    assert Ac.nnz == ref.nnz
    # each aggregate is one connected piece of L's graph inside its block
    for a in range(n_agg):
        rows = np.flatnonzero(agg == a)
        sub = L[rows][:, rows]
        n_pieces = sp.csgraph.connected_components(sub, directed=False)[0]
        assert n_pieces == 1


def test_split_separates_pieces_that_share_a_block():
    """Two cells in one 2x2x2 block, not adjacent: two aggregates with ``split``, one
    without."""
    coords = np.array([[0, 0, 0], [1, 1, 0]], np.int32)
    L = sp.csr_matrix(np.eye(2) * 2.0)
    args = (L.indptr.astype(np.int32), L.indices.astype(np.int32), L.data.astype(np.float32))
    assert S.aggregate(*args, coords, 2, True)[1].shape[0] == 2
    assert S.aggregate(*args, coords, 2, False)[1].shape[0] == 1


def test_restriction_and_prolongation_apply_p_through_the_matrix():
    """The cycle applies ``P`` and ``P^T`` through ``L`` (no stored ``P`` or ``R``): the
    CSR level and the matrix-free fine level both equal the explicit ``P``."""
    F, cid, nu, nc = pore_grids()
    (indptr, indices, data), L, (h, w) = darcy_matrix(F, cid, nu, nc)
    sa = S.SmoothedAggregation(indptr, indices, data, S.grid_coords(cid, nc), max_coarse=20)
    fine = sa.levels[0]
    P = reference_prolongation(L, fine.agg, fine.omega)
    grid = DarcyGrid.from_grids(F, cid, h, w, nc)
    grid.attach(fine.agg, fine.omega)
    rng = np.random.default_rng(5)
    r = rng.standard_normal(nc).astype(np.float32)
    c = rng.standard_normal(P.shape[1]).astype(np.float32)
    for level in (fine, grid):
        rc = np.empty(P.shape[1], np.float32)
        level.restrict(r, rc)
        assert np.allclose(rc, P.T @ r.astype(np.float64), rtol=0, atol=1e-5)
        x = np.ones(nc, np.float32)
        level.prolong_add(c, x)
        assert np.allclose(x, 1.0 + P @ c.astype(np.float64), rtol=0, atol=1e-5)
        out = np.empty(nc, np.float32)
        level.residual(r, np.zeros(nc, np.float32), out)
        assert np.allclose(out, -(L @ r.astype(np.float64)), rtol=0, atol=1e-4)


@pytest.mark.parametrize("cycle", ["W", "V"])
def test_cycle_is_symmetric_positive_definite(cycle):
    """Forward Gauss-Seidel before, backward after: ``x^T M y = y^T M x`` to float32
    round-off and ``x^T M x > 0`` (three levels and LU), as MINRES needs."""
    F, cid, nu, nc = pore_grids(16)
    (indptr, indices, data), L, _ = darcy_matrix(F, cid, nu, nc)
    sa = S.SmoothedAggregation(
        indptr, indices, data, S.grid_coords(cid, nc), max_coarse=30, cycle=cycle
    )
    assert sa.n_levels >= 3
    rng = np.random.default_rng(6)
    for _ in range(4):
        x, y = rng.standard_normal((2, nc)).astype(np.float32)
        mx, my = sa.matvec(x).astype(np.float64), sa.matvec(y).astype(np.float64)
        xmy, ymx = x @ my, y @ mx
        assert abs(xmy - ymx) <= 1e-5 * np.sqrt((x @ mx) * (y @ my))
        assert x @ mx > 0 and y @ my > 0
    # a good preconditioner of L: M L has a small spread of eigenvalues
    z = rng.standard_normal(nc).astype(np.float32)
    e = sa.matvec((L @ z.astype(np.float64)).astype(np.float32)) - z
    assert np.linalg.norm(e) < 0.5 * np.linalg.norm(z)


def test_stokes_preconditioner_darcy_cycle_is_symmetric():
    """The Darcy cycle as the solver builds it (matrix-free fine level) is symmetric
    positive definite, and its memory is counted in ``nbytes``."""
    F, cid, nu, nc = pore_grids(18)
    h = np.ones(3)
    M = StokesPreconditioner(F, cid, nu, nc, h, False, darcy_options={"max_coarse": 30})
    assert M.darcy.n_levels >= 3
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((2, nc)).astype(np.float32)
    mx, my = M.darcy.matvec(x).astype(np.float64), M.darcy.matvec(y).astype(np.float64)
    assert abs(x @ my - y @ mx) <= 1e-5 * np.sqrt((x @ mx) * (y @ my))
    assert x @ mx > 0
    assert M.nbytes > M.darcy.nbytes > 0


def test_pyamg_darcy_option_gives_the_same_flow():
    """``options={"darcy": "pyamg"}`` keeps the former hierarchy; both reach the same
    solution of the same discrete problem."""
    F, cid, nu, nc = pore_grids(16)
    h = np.ones(3)
    runs = [
        solve_stokes_mg(F, cid, nu, nc, h, False, rtol=1e-10, options=opts)
        for opts in ({}, {"darcy": "pyamg"}, {"matrix_free": False})
    ]
    for r in runs:
        assert r.converged
    q = [K.plane_flows(F, r.x[:nu], h)[0] for r in runs]
    assert q[1] == pytest.approx(q[0], rel=1e-8)
    assert q[2] == pytest.approx(q[0], rel=1e-8)
