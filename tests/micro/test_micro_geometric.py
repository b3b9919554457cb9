"""Geometric tortuosity (shortest paths) and pore size distribution (local thickness)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from electrohet.errors import DataError, ParameterError
from electrohet.micro.geometric import geometric_tortuosity
from electrohet.micro.pore_size import local_thickness, pore_size_distribution
from electrohet.micro.transport import NonPercolatingWarning
from electrohet.micro.volume import LabelledVolume

LABELS = {"pore": 0, "am": 2}


def as_volume(pore: np.ndarray, h=(1e-7, 1e-7, 1e-7)) -> LabelledVolume:
    return LabelledVolume(np.where(pore, 0, 2).astype(np.uint8), voxel_size=h, labels=LABELS)


def test_straight_channels_are_one():
    im = np.zeros((20, 7, 7), dtype=bool)
    im[:, 3, 3] = True
    im[:, 0:2, 5:7] = True
    r = geometric_tortuosity(im, connectivity=26)
    assert r.tau_mean == pytest.approx(1.0, abs=1e-12) and r.n_outlet == 5
    r6 = geometric_tortuosity(as_volume(im, (2e-7, 1e-7, 1e-7)), connectivity=6)
    assert r6.tau_mean == pytest.approx(1.0, abs=1e-12)


def test_diagonal_and_jogged_channels():
    """A 45-degree voxel line: tau = sqrt(2); a one-voxel channel with a lateral jog of D:
    6-connectivity gives (L + D)/L exactly, 26-connectivity cuts each corner by 2 - sqrt 2."""
    n = 16
    diag = np.zeros((n, 3, n), dtype=bool)
    diag[np.arange(n), 1, np.arange(n)] = True
    assert geometric_tortuosity(diag).tau_mean == pytest.approx(math.sqrt(2), rel=1e-12)

    L, a, D = 30, 10, 8
    jog = np.zeros((L + 1, 3, D + 3), dtype=bool)
    jog[: a + 1, 1, 1] = True
    jog[a, 1, 1 : D + 2] = True
    jog[a:, 1, D + 1] = True
    r6 = geometric_tortuosity(jog, connectivity=6)
    assert r6.tau_mean == pytest.approx((L + D) / L, rel=1e-12)
    r26 = geometric_tortuosity(jog, connectivity=26)
    assert r26.tau_mean == pytest.approx((L + D - 2 * (2 - math.sqrt(2))) / L, rel=1e-12)
    # anisotropic voxels: stretching the flow axis by 2 shortens the relative detour
    r6a = geometric_tortuosity(jog, connectivity=6, spacing=(2.0, 1.0, 1.0))
    assert r6a.tau_mean == pytest.approx((2 * L + D) / (2 * L), rel=1e-12)


def test_geometric_no_path_and_bad_input():
    im = np.ones((6, 4, 4), dtype=bool)
    im[2] = False
    with pytest.warns(NonPercolatingWarning):
        r = geometric_tortuosity(im)
    assert math.isinf(r.tau_mean) and r.as_dict()["tau_mean"] is None
    assert r.as_dict()["percolating"] is False
    with pytest.raises(ParameterError, match="connectivity"):
        geometric_tortuosity(im, connectivity=8)
    with pytest.raises(DataError, match="no voxels"):
        geometric_tortuosity(np.zeros((4, 4, 4), dtype=bool))


def test_local_thickness_of_spheres_and_cylinders():
    """Voxels of a ball of radius R have local radius ~R; of a cylinder, ~R.

    The distance map of a voxelised ball peaks up to one voxel below R (the ball's
    centre falls between voxel centres), and a few rim voxels lie outside every
    admitted inscribed ball, and the radius ladder has half-voxel steps, so: >= 95 % of
    the voxels within 1.5 voxels of R, none more than 3 voxels off; the split of
    volume between the two balls is exact.
    """
    n = 48
    z, y, x = np.mgrid[0:n, 0:n, 0:n] + 0.5
    ball = (z - 24) ** 2 + (y - 24) ** 2 + (x - 14) ** 2 < 10**2
    ball2 = (z - 24) ** 2 + (y - 24) ** 2 + (x - 38) ** 2 < 5**2
    h = 1e-7
    lt = local_thickness(as_volume(ball | ball2, (h, h, h)))
    for b, rad in ((ball, 10), (ball2, 5)):
        err = np.abs(lt[b] / h - rad)
        assert np.mean(err <= 1.5) >= 0.95 and err.max() <= 3.0
    psd = pore_size_distribution(as_volume(ball | ball2, (h, h, h)), bins=20)
    big = sum(
        f for r, f in zip(psd["radius_m"], psd["volume_fraction"], strict=True) if r > 7.5 * h
    )
    assert big == pytest.approx(ball.sum() / (ball.sum() + ball2.sum()), abs=1e-9)
    assert psd["cumulative"][-1] == pytest.approx(1.0)
    cyl = np.zeros((8, n, n), dtype=bool)
    cyl[:] = (y[0] - 24) ** 2 + (x[0] - 24) ** 2 < 12**2
    lt = local_thickness(as_volume(cyl, (h, h, h)))
    err = np.abs(lt[cyl] / h - 12)
    assert np.mean(err <= 1.5) >= 0.95 and err.max() <= 3.0


def test_local_thickness_chunked_equals_in_memory():
    da = pytest.importorskip("dask.array")
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(np.random.default_rng(0).random((40, 40, 40)), 2.0)
    pore = f <= np.quantile(f, 0.4)
    vol = as_volume(pore)
    ref = local_thickness(vol, max_radius=6e-7)
    lazy = LabelledVolume(da.from_array(vol.data, chunks=16), vol.voxel_size, LABELS)
    got = local_thickness(lazy, max_radius=6e-7).compute()
    assert np.array_equal(got, ref)
    with pytest.raises(ParameterError, match="max_radius"):
        local_thickness(lazy)


@pytest.mark.slow
def test_local_thickness_vs_porespy():
    """PoreSpy 3's local_thickness (independent: porosimetry with "smooth" balls and its
    own radius ladder): volume-weighted mean radius within 10 %.  Seen: ours +7 %; the
    difference is the ball rasterisation (``dt >= r`` and ``< r`` here) and the ladder,
    not a defect either side can be checked against analytically (the analytic balls
    and cylinders are tested above)."""
    ps = pytest.importorskip("porespy")
    im = ps.generators.blobs([64, 64, 64], porosity=0.4, blobiness=1, seed=2)
    ref = ps.filters.local_thickness(im, sizes=40)
    lt = local_thickness(as_volume(im, (1.0, 1.0, 1.0)), n_radii=40)
    assert lt[im].mean() == pytest.approx(ref[im].mean(), rel=0.10)
