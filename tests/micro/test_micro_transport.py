"""Tortuosity: analytic cases (exact), solver consistency, TauFactor cross-check (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.micro.transport import (
    NonPercolatingWarning,
    effective_conductivity,
    solve_conductivity,
    tortuosity,
)
from electrohet.micro.volume import LabelledVolume

# Analytic cases are exact in the finite-volume scheme; the only error is the linear
# solve (direct LU: ~1e-12; CG stops at a relative residual of 1e-10 here).
EXACT = 1e-8


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_straight_channels_tau_one(axis):
    a = np.zeros((20, 24, 28), dtype=bool)
    sl = [slice(None)] * 3
    # channels along `axis`: every 3rd line in the two other axes
    others = [d for d in range(3) if d != axis]
    sl[others[0]] = slice(0, None, 3)
    sl[others[1]] = slice(1, None, 4)
    a[tuple(sl)] = True
    res = tortuosity(a, axis=axis)
    assert res.tau == pytest.approx(1.0, rel=EXACT)
    assert res.sigma_eff_rel == pytest.approx(a.mean(), rel=EXACT)


def test_series_layers_harmonic_mean():
    sig = np.array([1.0, 0.2, 0.5, 3.0])
    data = np.repeat(np.arange(4), [3, 5, 2, 6])[:, None, None] * np.ones((1, 7, 9), int)
    vol = LabelledVolume(data.astype(np.uint8), labels={"pore": 0, "cbd": 1, "am": 2, "crack": 3})
    cond = dict(zip(["pore", "cbd", "am", "crack"], sig, strict=True))
    thick = np.array([3, 5, 2, 6])
    expect = thick.sum() / np.sum(thick / sig)
    got = effective_conductivity(vol, cond, axis=0)
    assert got == pytest.approx(expect, rel=EXACT)
    # parallel layers (perpendicular axis): arithmetic mean
    got_par = effective_conductivity(vol, cond, axis=2)
    assert got_par == pytest.approx(np.sum(thick * sig) / thick.sum(), rel=EXACT)


def test_anisotropic_voxels_series():
    # two layers of different conductivity and different voxel heights along z
    data = np.zeros((10, 6, 6), np.uint8)
    data[4:] = 1
    vol = LabelledVolume(data, voxel_size=(3e-7, 1e-7, 2e-7), labels={"pore": 0, "cbd": 1})
    res = tortuosity(vol, ["pore", "cbd"], axis=0, conductivities={"pore": 1.0, "cbd": 0.1})
    expect = 10 / (4 / 1.0 + 6 / 0.1)
    assert res.sigma_eff_rel == pytest.approx(expect, rel=EXACT)


def test_non_percolating_gives_inf():
    a = np.ones((10, 10, 10), dtype=bool)
    a[5] = False  # a full blocking plane
    with pytest.warns(NonPercolatingWarning, match="do not percolate"):
        res = tortuosity(a, axis=0)
    assert res.tau == np.inf and res.sigma_eff_rel == 0.0
    # still percolates sideways
    assert tortuosity(a, axis=1).tau == pytest.approx(1.0, rel=EXACT)


def test_isolated_voxels_carry_no_flux():
    a = np.zeros((16, 16, 16), bool)
    a[:, 4:8, 4:8] = True  # straight 4x4 channel: sigma_eff = 16/256
    b = a.copy()
    b[2:5, 12:14, 12:14] = True  # isolated pocket (not connected to the channel)
    b[8, 8, 4:8] = True  # dead end attached to the channel
    r = tortuosity(b, axis=0)
    assert r.sigma_eff_rel == pytest.approx(16 / 256, rel=EXACT)
    assert r.eps == pytest.approx(b.mean(), rel=1e-12)
    assert r.percolating_fraction == pytest.approx((a.sum() + 4) / b.sum(), rel=1e-12)


def test_cg_amg_matches_direct():
    # random 40^3 medium above the percolation threshold: iterative (AMG-PCG, rtol 1e-10)
    # and sparse LU solve the same linear system; they must agree to ~1e-8.
    rng = np.random.default_rng(1)
    sig = np.where(rng.random((40, 40, 40)) < 0.7, 1.0, 0.0) * rng.uniform(0.5, 2, (40,) * 3)
    it = solve_conductivity(sig, 0, rtol=1e-10, direct_below=0)
    di = solve_conductivity(sig, 0, direct_below=10**9)
    assert it["method"] == "cg-amg" and di["method"] == "direct"
    assert it["sigma_eff_rel"] == pytest.approx(di["sigma_eff_rel"], rel=1e-8)
    assert it["flux_in"] == pytest.approx(it["flux_out"], rel=1e-7)


def _blobs(n: int) -> np.ndarray:
    ps = pytest.importorskip("porespy")
    return ps.generators.blobs(shape=[n, n, n], porosity=0.35, blobiness=1, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("n", [100, 200])
def test_taufactor_blobs(n):
    """Agreement with TauFactor within 1 % (same discretisation; TauFactor stops at a
    1 % flux non-uniformity, we solve to a CG residual of 1e-6)."""
    tf = pytest.importorskip("taufactor")
    im = _blobs(n).astype(np.uint8)
    s = tf.Solver(im, device="cpu")
    tau_tf = float(np.asarray(s.solve(verbose=False)).ravel()[0])
    ours = tortuosity(im.astype(bool), axis=0)
    assert ours.tau == pytest.approx(tau_tf, rel=0.01)
    assert ours.flux_nonuniformity < 1e-2
