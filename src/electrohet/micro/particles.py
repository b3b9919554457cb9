"""Particle segmentation (distance transform + watershed) and the per-particle table.

Particles are the union of AM and crack voxels (cracks are inside particles).  Seeds are
the maxima of the Euclidean distance map (anisotropic voxels respected) at least
``min_distance`` voxels apart; a marker-controlled watershed on the negated distance
splits touching particles.  In memory only (chunked segmentation is not implemented).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as graph_components

from electrohet.errors import DataError
from electrohet.micro.connectivity import label_components
from electrohet.micro.faces import face_slices
from electrohet.micro.volume import LabelledVolume


def segment_particles(
    volume: LabelledVolume, *, min_distance: int = 3, smooth: float = 0.5
) -> np.ndarray:
    """Label individual particles (0 = background) in the volume's own orientation.

    Parameters
    ----------
    min_distance
        Minimum distance between seeds, in voxels (about the smallest particle radius).
    smooth
        Gaussian sigma (voxels) applied to the distance map before seeding; suppresses
        spurious maxima on voxelised surfaces.
    """
    import edt
    from scipy.ndimage import gaussian_filter
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    data = np.asarray(volume.compute().data)
    solid = data == volume.require("am")
    if "crack" in volume.labels:
        solid |= data == volume.labels["crack"]
    if not solid.any():
        raise DataError(f"{volume.source}: no AM voxels, cannot segment particles")
    dist = edt.edt(
        solid.astype(np.uint8),
        anisotropy=tuple(v / min(volume.voxel_size) for v in volume.voxel_size),
    )
    ds = gaussian_filter(dist, smooth) if smooth > 0 else dist
    peaks = peak_local_max(
        ds, min_distance=min_distance, labels=solid.astype(np.int32), exclude_border=False
    )
    markers = np.zeros(data.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    lab = watershed(-ds, markers, mask=solid)
    # parts of the solid without a seed (tiny fragments) get their own labels
    rest = solid & (lab == 0)
    if rest.any():
        extra, n = label_components(rest, 6)
        lab[rest] = extra[rest].astype(np.int32) + lab.max()
    return lab.astype(np.int32)


def _face_pairs(a: np.ndarray):
    """Yield (axis, low-side slice, high-side slice) views over all face pairs."""
    for d, lo, hi in face_slices():
        yield d, a[lo], a[hi], lo, hi


def particle_table(
    volume: LabelledVolume,
    particles: np.ndarray | None = None,
    *,
    connectivity: int = 26,
    **seg_kwargs,
) -> pd.DataFrame:
    """One row per particle.

    Columns: ``label``, ``volume_m3``, ``eq_diameter_m`` (sphere of equal volume),
    ``depth_m`` (centroid distance from the collector along the thickness axis),
    ``surface_m2`` (faces towards pore/CBD/crack-free background), ``cbd_coverage``
    (share of that surface touching CBD), ``crack_fraction`` (crack/(AM+crack) of the
    particle), ``touches_collector`` and ``connected_to_collector`` (electronic path to
    the collector through particle-particle and particle-CBD contacts and CBD
    aggregates of the given connectivity).
    """
    vol = volume.compute()
    data = np.asarray(vol.oriented())
    lab = particles if particles is not None else segment_particles(vol, **seg_kwargs)
    lab = np.asarray(vol.oriented(lab))
    n = int(lab.max())
    h = vol.voxel_size
    ax = vol.thickness_axis
    hs = (h[ax],) + tuple(h[i] for i in range(3) if i != ax)
    face_area = np.array([hs[1] * hs[2], hs[0] * hs[2], hs[0] * hs[1]])
    flat = lab.ravel()
    counts = np.bincount(flat, minlength=n + 1).astype(float)
    crack = np.zeros(n + 1)
    if "crack" in vol.labels:
        crack = np.bincount(flat, weights=(data.ravel() == vol.labels["crack"]), minlength=n + 1)
    z = np.broadcast_to(np.arange(data.shape[0])[:, None, None], data.shape).ravel()
    zc = np.bincount(flat, weights=z + 0.5, minlength=n + 1)
    cbd_val = vol.labels.get("cbd", -1)
    surf = np.zeros(n + 1)
    cbd_area = np.zeros(n + 1)
    pp_pairs = []
    for d, lo, hi, _, _ in _face_pairs(lab):
        for p, q, dq in ((lo, hi, None), (hi, lo, None)):
            del dq
            m = (p > 0) & (q == 0)
            surf += face_area[d] * np.bincount(p[m], minlength=n + 1)
        m_pp = (lo > 0) & (hi > 0) & (lo != hi)
        pp_pairs.append(np.stack([lo[m_pp], hi[m_pp]], axis=1))
    cbd_mask = data == cbd_val
    for d, lo, hi, slo, shi in _face_pairs(lab):
        c_lo, c_hi = cbd_mask[slo], cbd_mask[shi]
        m1 = (lo > 0) & c_hi
        m2 = (hi > 0) & c_lo
        cbd_area += face_area[d] * (
            np.bincount(lo[m1], minlength=n + 1) + np.bincount(hi[m2], minlength=n + 1)
        )
    # electronic network: particles 1..n, CBD aggregates n+1..n+m, source node 0
    cbd_lab, m = label_components(cbd_mask, connectivity)
    cbd_lab = cbd_lab.astype(np.int64)
    cbd_lab[cbd_lab > 0] += n
    pc_pairs = []
    for _d, lo, hi, slo, shi in _face_pairs(lab):
        a, b = cbd_lab[shi], cbd_lab[slo]
        m1 = (lo > 0) & (a > 0)
        m2 = (hi > 0) & (b > 0)
        pc_pairs.append(np.stack([lo[m1], a[m1]], axis=1))
        pc_pairs.append(np.stack([hi[m2], b[m2]], axis=1))
    touch_p = np.unique(lab[0])
    touch_p = touch_p[touch_p > 0]
    touch_c = np.unique(cbd_lab[0])
    touch_c = touch_c[touch_c > 0]
    src = np.concatenate([touch_p, touch_c]).astype(np.int64)
    edges = np.concatenate(
        [np.concatenate(pp_pairs + pc_pairs).astype(np.int64), np.stack([src * 0, src], axis=1)]
    )
    nn = n + m + 1
    g = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(nn, nn))
    _, comp = graph_components(g, directed=False)
    connected = comp[: n + 1] == comp[0]
    ids = np.arange(1, n + 1)
    keep = counts[1:] > 0
    v = counts[1:] * vol.voxel_volume
    touches = np.zeros(n + 1, bool)
    touches[touch_p] = True
    with np.errstate(invalid="ignore", divide="ignore"):
        df = pd.DataFrame(
            {
                "label": ids,
                "volume_m3": v,
                "eq_diameter_m": (6 * v / np.pi) ** (1 / 3),
                "depth_m": zc[1:] / counts[1:] * hs[0],
                "surface_m2": surf[1:],
                "cbd_coverage": np.where(surf[1:] > 0, cbd_area[1:] / surf[1:], np.nan),
                "crack_fraction": crack[1:] / counts[1:],
                "touches_collector": touches[1:],
                "connected_to_collector": connected[1:],
            }
        )
    return df[keep].reset_index(drop=True)


def lognormal_radius_fit(table: pd.DataFrame) -> tuple[float, float]:
    """Median radius (m) and sigma of ln r of the equivalent-sphere radii."""
    r = 0.5 * table["eq_diameter_m"].to_numpy()
    r = r[r > 0]
    if r.size == 0:
        return float("nan"), float("nan")
    lr = np.log(r)
    return float(np.exp(lr.mean())), float(lr.std(ddof=1) if r.size > 1 else 0.0)
