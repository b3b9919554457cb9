"""Fractions, profiles, components, contact area and particles on constructed and random
volumes, and chunked (Dask) == in-memory."""

from __future__ import annotations

import cc3d
import dask.array as da
import numpy as np
import pytest
from scipy import ndimage

from electrohet.errors import ParameterError
from electrohet.micro.connectivity import component_stats
from electrohet.micro.contact import contact_area, interface_faces, specific_contact_area
from electrohet.micro.fractions import crack_fraction, phase_fractions, profiles
from electrohet.micro.particles import particle_table
from electrohet.micro.volume import LabelledVolume

LABELS = {"pore": 0, "cbd": 1, "am": 2, "crack": 3}


def constructed() -> LabelledVolume:
    """z layers: 2 slices pore, 3 CBD, 4 AM with 1 crack slice in x < 5."""
    d = np.zeros((9, 4, 10), np.uint8)
    d[2:5] = 1
    d[5:] = 2
    d[6, :, :5] = 3
    return LabelledVolume(d, voxel_size=(2e-7, 1e-7, 1e-7), labels=LABELS)


def test_fractions_and_profiles_exact():
    v = constructed()
    f = phase_fractions(v)
    n = 9 * 4 * 10
    assert f == {"pore": 80 / n, "cbd": 120 / n, "am": (160 - 20) / n, "crack": 20 / n}
    assert crack_fraction(v) == 20 / 160
    p = profiles(v)
    np.testing.assert_allclose(p["depth_m"], (np.arange(9) + 0.5) * 2e-7, rtol=1e-12)
    np.testing.assert_array_equal(p["cbd"], [0, 0, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(p["crack"], [0, 0, 0, 0, 0, 0, 0.5, 0, 0])
    # collector on the other side: profiles reversed
    v2 = LabelledVolume(v.data, v.voxel_size, LABELS, collector_at_start=False)
    np.testing.assert_array_equal(profiles(v2)["cbd"], p["cbd"][::-1])


def test_contact_area_constructed():
    v = constructed()
    # AM/CBD interface: the z = 4.5 plane, 4 x 10 faces of 1e-7 x 1e-7 m^2
    assert contact_area(v, "am", "cbd") == pytest.approx(40 * 1e-14, rel=1e-12)
    assert specific_contact_area(v) == pytest.approx(40e-14 / (140 * 2e-21), rel=1e-12)


def _face_count_loop(data, a, b):
    """Independent face count: explicit loop over voxels and +x/+y/+z neighbours."""
    out = [0, 0, 0]
    nz, ny, nx = data.shape
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                for d, (dk, dj, di) in enumerate(((1, 0, 0), (0, 1, 0), (0, 0, 1))):
                    kk, jj, ii = k + dk, j + dj, i + di
                    if kk < nz and jj < ny and ii < nx:
                        p, q = data[k, j, i], data[kk, jj, ii]
                        out[d] += (p == a and q == b) or (p == b and q == a)
    return out


def test_face_count_matches_loop_and_chunks():
    rng = np.random.default_rng(5)
    d = rng.integers(0, 4, (12, 13, 14)).astype(np.uint8)
    v = LabelledVolume(d, labels=LABELS)
    ref = _face_count_loop(d, 2, 1)
    np.testing.assert_array_equal(interface_faces(v, "am", "cbd"), ref)
    vd = v.with_data(da.from_array(d, chunks=(5, 4, 6)))
    np.testing.assert_array_equal(interface_faces(vd, "am", "cbd"), ref)


def test_sphere_contact_estimates():
    # AM ball radius R inside a CBD ball of radius R + 4: true contact area 4 pi R^2
    R, n = 14.0, 48
    z, y, x = np.mgrid[:n, :n, :n] + 0.5 - n / 2
    r = np.sqrt(x**2 + y**2 + z**2)
    d = np.zeros((n,) * 3, np.uint8)
    d[r < R + 4] = 1
    d[r < R] = 2
    v = LabelledVolume(d, labels=LABELS)
    true = 4 * np.pi * R**2
    faces = contact_area(v, method="faces")
    # face counting overestimates by ~3/2 (Crofton); 2/3 x faces within 3 %;
    # marching cubes on the smoothed indicators within 3 %.
    assert faces / true == pytest.approx(1.5, rel=0.04)
    assert contact_area(v, method="crofton") == pytest.approx(true, rel=0.03)
    assert contact_area(v, method="marching_cubes") == pytest.approx(true, rel=0.03)


@pytest.mark.parametrize("conn", [6, 26])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_components_match_cc3d_scipy_and_chunks(conn, seed):
    rng = np.random.default_rng(seed)
    d = rng.choice([0, 1, 2], p=[0.5, 0.25, 0.25], size=(30, 28, 26)).astype(np.uint8)
    v = LabelledVolume(d, labels={"pore": 0, "cbd": 1, "am": 2})
    st = component_stats(v, "cbd", conn)
    # reference: scipy.ndimage.label with the matching structuring element
    struct = ndimage.generate_binary_structure(3, 1 if conn == 6 else 3)
    lab, n = ndimage.label(d == 1, structure=struct)
    sizes = np.bincount(lab.ravel())[1:]
    assert st.n_components == n
    np.testing.assert_array_equal(st.sizes, np.sort(sizes)[::-1])
    assert st.largest_share == sizes.max() / sizes.sum()
    touch = np.unique(lab[0])
    touch = touch[touch > 0]
    assert st.collector_share == sizes[touch - 1].sum() / sizes.sum()
    lab2 = cc3d.connected_components(d == 1, connectivity=conn)
    assert lab2.max() == n
    for chunks in [(7, 9, 11), (30, 5, 26), (4, 4, 4)]:
        std = component_stats(v.with_data(da.from_array(d, chunks=chunks)), "cbd", conn)
        assert std.n_components == st.n_components
        np.testing.assert_array_equal(std.sizes, st.sizes)
        assert std.collector_share == st.collector_share


def test_bad_connectivity():
    with pytest.raises(ParameterError, match="connectivity = 18"):
        component_stats(constructed(), "cbd", 18)


def test_chunked_equals_in_memory_on_distributed_cluster():
    from distributed import Client, LocalCluster

    from electrohet.micro.generate import synthetic_electrode

    v = synthetic_electrode((40, 40, 40), seed=4, crack_fraction=0.05)
    vd = v.with_data(da.from_array(v.data, chunks=16))
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cl,
        Client(cl),
    ):
        fd = phase_fractions(vd)
        pd_ = profiles(vd)
        cd = component_stats(vd, "cbd", 26)
        ad = contact_area(vd)
    assert fd == phase_fractions(v)
    p = profiles(v)
    for k in p:
        np.testing.assert_array_equal(pd_[k], p[k])
    c = component_stats(v, "cbd", 26)
    np.testing.assert_array_equal(cd.sizes, c.sizes)
    assert cd.collector_share == c.collector_share
    assert ad == contact_area(v)


def two_spheres() -> tuple[LabelledVolume, float]:
    n = 40
    z, y, x = np.mgrid[:n, :n, :n] + 0.5
    d = np.zeros((n,) * 3, np.uint8)
    ra = np.sqrt((z - 10) ** 2 + (y - 20) ** 2 + (x - 12) ** 2)
    rb = np.sqrt((z - 28) ** 2 + (y - 20) ** 2 + (x - 28) ** 2)
    d[ra < 7] = 2
    d[rb < 7] = 2
    d[(ra < 7) & (np.abs(x - 12.5) < 0.5)] = 3  # crack through sphere A
    # CBD bridge from the collector (z = 0) to sphere A only
    d[:4, 18:22, 10:14] = 1
    return LabelledVolume(d, labels=LABELS), 4 / 3 * np.pi * 7**3


def test_particle_table_two_spheres():
    v, vs = two_spheres()
    t = particle_table(v).sort_values("depth_m").reset_index(drop=True)
    assert len(t) == 2
    # voxelised ball volume within 3 % of 4/3 pi r^3 for r = 7 voxels
    np.testing.assert_allclose(t["volume_m3"], vs, rtol=0.03)
    np.testing.assert_allclose(t["depth_m"], [10.0, 28.0], rtol=0.01)
    assert t["connected_to_collector"].tolist() == [True, False]
    assert t["crack_fraction"][0] > 0.05 and t["crack_fraction"][1] == 0
    assert 0 < t["cbd_coverage"][0] < 0.2 and t["cbd_coverage"][1] == 0


def test_analyze_flow_on_an_all_pore_volume_reports_no_flow():
    """An electrolyte-filled volume without solid has no surface to resist the flow
    between the mirror sides: ``analyze(flow=True)`` reports no flow and says why
    instead of the singular system's garbage (or an error)."""
    from electrohet.micro.metrics import analyze

    v = LabelledVolume(np.zeros((6, 6, 6), np.uint8), voxel_size=(1e-7,) * 3, labels=LABELS)
    out = analyze(v, flow=True, particles=False, tortuosity=False)
    assert out["flow"] is None
    assert any("unbounded" in w for w in out["warnings"])
