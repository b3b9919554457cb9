"""Lean matrix-free tortuosity solver against the sparse solver, analytic cases, TauFactor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from electrohet.errors import DataError, ParameterError
from electrohet.micro.lean import lean_tortuosity
from electrohet.micro.transport import NonPercolatingWarning, solve_conductivity, tortuosity


def blobs(n: int, porosity: float, seed: int = 0, sigma: float = 2.0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(np.random.default_rng(seed).random((n, n, n)), sigma)
    return f <= np.quantile(f, porosity)


def test_straight_channels_tau_one():
    """Straight channels along the axis: tau = 1 exactly (dead-end pores excluded)."""
    im = np.zeros((12, 9, 9), dtype=bool)
    im[:, 2, 2] = im[:, 5:8, 4:6] = True
    im[3:5, 0, 0] = True  # an isolated pore: in eps, not in the solve
    r = lean_tortuosity(im)
    eps = im.mean()
    assert r.sigma_eff_rel == pytest.approx((1 + 6) / 81, rel=1e-6)
    assert r.tau == pytest.approx(eps / (7 / 81), rel=1e-6)
    assert r.percolating_fraction == pytest.approx(7 * 12 / im.sum())


def test_agrees_with_sparse_solver_on_blobs():
    """Same discretisation as transport.tortuosity: both stop at residual 1e-6 -> 1e-4."""
    im = blobs(40, 0.35, seed=1)
    ref = tortuosity(im, axis=0)
    r = lean_tortuosity(im, axis=0)
    assert r.tau == pytest.approx(ref.tau, rel=1e-4)
    assert r.residual <= 1e-6
    assert r.flux_nonuniformity < 1e-3
    assert r.eps == pytest.approx(ref.eps)


def test_anisotropic_voxels_and_axes():
    """Elongated voxels enter as conductances (no resampling): matches the sparse solver."""
    im = blobs(32, 0.4, seed=2)
    h = (2.0, 1.0, 0.5)
    for axis in (0, 2):
        ref = solve_conductivity(im.astype(float), axis, h)
        r = lean_tortuosity(im, axis=axis, spacing=h)
        assert r.sigma_eff_rel == pytest.approx(ref["sigma_eff_rel"], rel=1e-4)
    # a moved volume gives the same answer along the moved axis
    r0 = lean_tortuosity(im, axis=0)
    r2 = lean_tortuosity(np.moveaxis(im, 0, 2), axis=2)
    assert r2.tau == pytest.approx(r0.tau, rel=1e-6)


def test_overwrite_uses_the_mask_as_state():
    im = blobs(24, 0.45, seed=3).astype(np.uint8)
    ref = lean_tortuosity(im)
    work = im.copy()
    r = lean_tortuosity(work, overwrite=True)
    assert r.tau == pytest.approx(ref.tau, rel=1e-9)
    with pytest.raises(ParameterError, match="overwrite"):
        lean_tortuosity(im.astype(bool), overwrite=True)


def test_non_percolating_and_bad_input():
    im = np.ones((6, 5, 5), dtype=bool)
    im[3] = False
    with pytest.warns(NonPercolatingWarning):
        r = lean_tortuosity(im)
    assert math.isinf(r.tau) and r.sigma_eff_rel == 0.0
    with pytest.raises(DataError, match="3D"):
        lean_tortuosity(np.ones((4, 4), dtype=bool))
    with pytest.raises(ParameterError, match="axis"):
        lean_tortuosity(im, axis=5)
    with pytest.raises(ParameterError, match="spacing"):
        lean_tortuosity(im, spacing=(1.0, 0.0, 1.0))


@pytest.mark.slow
def test_agrees_with_taufactor():
    """TauFactor stops at 1 % plane-flux non-uniformity: agreement within 1 %."""
    tf = pytest.importorskip("taufactor")
    ps = pytest.importorskip("porespy")
    im = ps.generators.blobs(shape=[80, 80, 80], porosity=0.35, blobiness=1, seed=1)
    s = tf.Solver(np.ascontiguousarray(im, dtype=np.uint8), device="cpu")
    tau_tf = float(np.asarray(s.solve(verbose=False)).ravel()[0])
    r = lean_tortuosity(im, axis=0)
    assert r.tau == pytest.approx(tau_tf, rel=0.01)
