"""Synthetic labelled electrodes for tests, examples and benchmarks.

Active-material (AM) particles are spheres with log-normal radii placed by random
sequential addition (partial overlap allowed, like calendered particles) until the
target AM fraction is met.  Carbon-binder domain (CBD) fills the pore voxels with the
highest "CBD score" up to the target fraction:

* ``"slurry"``: score = proximity to particles (necks weighted twice) times a
  high-contrast smooth random field -> CBD gathers in separate aggregates.
* ``"dry"``: score = proximity to particles plus thin random "ridge" sheets -> a fibrous,
  well connected network coating the particles.

Cracks are planar, about one voxel thick, through the particle centre, in a random share
of the particles chosen to meet the target crack fraction (crack / (AM + crack)).
Layers along axis 0 (index 0 = current collector) can have their own fractions, radii
and CBD mode (bilayers, gradients).  Everything is reproducible from ``seed``; volumes
larger than memory are written chunk by chunk with :func:`generate_to_zarr`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from electrohet.errors import ParameterError, check_range
from electrohet.micro import _kernels
from electrohet.micro.volume import LabelledVolume, parse_voxel_size

DEFAULT_LABELS: dict[str, int] = {"pore": 0, "cbd": 1, "am": 2, "crack": 3}
CBD_MODES = ("slurry", "dry")
SLURRY_CONTRAST = 20.0
SLURRY_SPACING = 1.0


@dataclass
class LayerSpec:
    """Composition of one layer (fractions of the layer's total volume).

    Attributes
    ----------
    thickness_fraction
        Share of the volume thickness (axis 0) taken by this layer.
    am_fraction, cbd_fraction
        Target volume fractions of AM (including cracks) and CBD.
    radius_median
        Median particle radius in voxels.
    radius_sigma
        Standard deviation of ln(radius).
    cbd_mode
        ``"slurry"`` (aggregated) or ``"dry"`` (fibrous, connected).
    crack_fraction
        Target crack / (AM + crack) volume ratio.
    """

    thickness_fraction: float = 1.0
    am_fraction: float = 0.55
    cbd_fraction: float = 0.10
    radius_median: float = 6.0
    radius_sigma: float = 0.25
    cbd_mode: str = "slurry"
    crack_fraction: float = 0.0

    def check(self, i: int) -> None:
        """Validate ranges; ``i`` is the layer index for messages."""
        k = f"layers[{i}]."
        check_range(k + "thickness_fraction", self.thickness_fraction, 0, 1, low_inclusive=False)
        check_range(k + "am_fraction", self.am_fraction, 0, 0.8)
        check_range(k + "cbd_fraction", self.cbd_fraction, 0, 0.5)
        check_range(k + "radius_median (voxels)", self.radius_median, 1.0, 1e4)
        check_range(k + "radius_sigma", self.radius_sigma, 0, 1.5)
        check_range(k + "crack_fraction", self.crack_fraction, 0, 0.5)
        if self.am_fraction + self.cbd_fraction > 0.95:
            raise ParameterError(
                f"{k}am_fraction + cbd_fraction = {self.am_fraction + self.cbd_fraction:g} "
                "leaves no pore space; allowed: <= 0.95"
            )
        if self.cbd_mode not in CBD_MODES:
            raise ParameterError(f"{k}cbd_mode = {self.cbd_mode!r}; allowed: {CBD_MODES}")


@dataclass
class ElectrodePlan:
    """Everything needed to paint any box of a synthetic electrode."""

    shape: tuple[int, int, int]
    layers: list[LayerSpec]
    bounds: list[tuple[int, int]]
    centres: np.ndarray
    radii: np.ndarray
    crack_normals: np.ndarray
    crack_width: np.ndarray
    seed: int
    thresholds: list[float] = field(default_factory=list)
    reach: float = 8.0

    def layer_of(self, z: np.ndarray) -> np.ndarray:
        """Layer index of each z voxel index."""
        edges = np.array([b[1] for b in self.bounds])
        return np.minimum(np.searchsorted(edges, z, side="right"), len(self.layers) - 1)


def _layers_from_args(layers: Sequence[Mapping[str, Any] | LayerSpec] | None, base: dict) -> list:
    if not layers:
        specs = [LayerSpec(**base)]
    else:
        specs = []
        for lay in layers:
            d = dict(base)
            d.update(lay.__dict__ if isinstance(lay, LayerSpec) else dict(lay))
            try:
                specs.append(LayerSpec(**d))
            except TypeError as exc:
                raise ParameterError(f"bad layer specification {dict(lay)!r}: {exc}") from None
        tot = sum(s.thickness_fraction for s in specs)
        for s in specs:
            s.thickness_fraction /= tot
    for i, s in enumerate(specs):
        s.check(i)
    return specs


def _paint(plan: ElectrodePlan, origin: tuple[int, int, int], shape: tuple[int, int, int]):
    """Fields of a box: signed distances d1, d2, owner (index into ``sel``) and ``sel``
    (global indices of the spheres that reach the box)."""
    o = np.asarray(origin, dtype=np.int64)
    s = np.asarray(shape, dtype=np.int64)
    big = plan.radii + plan.reach + 1
    lo = plan.centres + big[:, None] >= o
    hi = plan.centres - big[:, None] <= o + s
    sel = np.nonzero(np.all(lo & hi, axis=1))[0]
    d1, d2, own = _kernels.sphere_fields(
        o, s, np.ascontiguousarray(plan.centres[sel]), plan.radii[sel], float(plan.reach)
    )
    return d1, d2, own, sel


def _cbd_score(plan: ElectrodePlan, origin, shape, d1, d2) -> np.ndarray:
    """CBD score of each voxel of a box (-inf inside particles)."""
    z = np.arange(origin[0], origin[0] + shape[0])
    lay = plan.layer_of(z)
    score = np.full(shape, -np.inf, dtype=np.float32)
    o = np.asarray(origin, dtype=np.int64)
    s = np.asarray(shape, dtype=np.int64)
    for li, spec in enumerate(plan.layers):
        rows = np.nonzero(lay == li)[0]
        if rows.size == 0:
            continue
        sl = slice(rows[0], rows[-1] + 1)
        t = max(1.0, 0.35 * spec.radius_median)
        a, b = d1[sl], d2[sl]
        prox = np.exp(-np.maximum(a, 0) / t) + 2.0 * np.exp(-np.maximum(b, 0) / t) * np.exp(
            -np.maximum(a, 0) / t
        )
        sub_o = o.copy()
        sub_o[0] += rows[0]
        sub_s = s.copy()
        sub_s[0] = rows.size
        if spec.cbd_mode == "slurry":
            n = _kernels.value_noise(
                sub_o, sub_s, SLURRY_SPACING * spec.radius_median, plan.seed + 11
            )
            val = prox * np.exp(SLURRY_CONTRAST * (n - 0.5))
        else:
            n = _kernels.value_noise(sub_o, sub_s, 1.5 * spec.radius_median, plan.seed + 23)
            ridge = 1.0 - 2.0 * np.abs(n - 0.5)
            val = prox + 0.6 * ridge**12
        val[a <= 0] = -np.inf
        score[sl] = val
    return score


def _labels_of_box(plan: ElectrodePlan, origin, shape, labels: Mapping[str, int]) -> np.ndarray:
    d1, d2, own, sel = _paint(plan, origin, shape)
    out = np.full(shape, labels["pore"], dtype=np.uint8)
    solid = d1 <= 0
    out[solid] = labels["am"]
    if "crack" in labels and sel.size and np.any(plan.crack_width[sel] > 0):
        _kernels.paint_cracks(
            out,
            own,
            np.asarray(origin, dtype=np.int64),
            np.ascontiguousarray(plan.centres[sel]),
            plan.radii[sel],
            np.ascontiguousarray(plan.crack_normals[sel]),
            plan.crack_width[sel],
            np.uint8(labels["crack"]),
        )
    del own
    if "cbd" in labels:
        score = _cbd_score(plan, origin, shape, d1, d2)
        del d2
        z = np.arange(origin[0], origin[0] + shape[0])
        thr = np.asarray(plan.thresholds, dtype=np.float32)[plan.layer_of(z)]
        out[(score >= thr[:, None, None]) & ~solid] = labels["cbd"]
    return out


def _place_spheres(
    rng: np.random.Generator,
    shape: tuple[int, int, int],
    z_range: tuple[int, int],
    spec: LayerSpec,
    overlap: float,
    existing: tuple[np.ndarray, np.ndarray],
    target_volume: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Random sequential addition until the summed sphere volume reaches the target."""
    from scipy.spatial import cKDTree

    cen_all, rad_all = existing
    acc_c: list[np.ndarray] = []
    acc_r: list[np.ndarray] = []
    vol = 0.0
    mean_vol = 4 / 3 * math.pi * spec.radius_median**3 * math.exp(4.5 * spec.radius_sigma**2)
    batch = max(64, int(target_volume / mean_vol / 8))
    z0, z1 = z_range
    tries = 0
    while vol < target_volume and tries < 400:
        tries += 1
        r = spec.radius_median * np.exp(spec.radius_sigma * rng.standard_normal(batch))
        r = np.clip(r, 1.0, None)
        c = np.column_stack(
            [
                rng.uniform(z0, z1, batch),
                rng.uniform(0, shape[1], batch),
                rng.uniform(0, shape[2], batch),
            ]
        )
        prev_c = np.concatenate([cen_all, *acc_c]) if (acc_c or len(cen_all)) else np.empty((0, 3))
        prev_r = np.concatenate([rad_all, *acc_r]) if (acc_r or len(rad_all)) else np.empty(0)
        ok = np.ones(batch, dtype=bool)
        if len(prev_c):
            tree = cKDTree(prev_c)
            rmax = prev_r.max()
            for i, nb in enumerate(tree.query_ball_point(c, (1 - overlap) * (r + rmax))):
                if nb and np.any(
                    np.linalg.norm(prev_c[nb] - c[i], axis=1) < (1 - overlap) * (r[i] + prev_r[nb])
                ):
                    ok[i] = False
        # conflicts inside the batch: keep the first of each pair
        bt = cKDTree(c)
        for i, j in sorted(bt.query_pairs((1 - overlap) * 2 * r.max())):
            if ok[i] and ok[j] and np.linalg.norm(c[i] - c[j]) < (1 - overlap) * (r[i] + r[j]):
                ok[j] = False
        c, r = c[ok], r[ok]
        if c.size == 0:
            overlap = min(0.6, overlap + 0.05)  # jammed: allow more overlap
            continue
        need = target_volume - vol
        v = 4 / 3 * math.pi * r**3
        k = int(np.searchsorted(np.cumsum(v), need)) + 1
        acc_c.append(c[:k])
        acc_r.append(r[:k])
        vol += float(v[:k].sum())
    if not acc_c:
        return np.empty((0, 3)), np.empty(0)
    return np.concatenate(acc_c), np.concatenate(acc_r)


def plan_electrode(
    shape: tuple[int, int, int],
    layers: list[LayerSpec],
    *,
    seed: int = 0,
    overlap: float = 0.25,
    sample_size: int = 96,
) -> ElectrodePlan:
    """Place particles and cracks and calibrate CBD thresholds (no full volume needed).

    The AM fraction is met on sample boxes (the whole layer when it is small): spheres
    are added until the painted AM fraction reaches the target.
    """
    rng = np.random.default_rng(seed)
    nz = shape[0]
    edges = np.round(np.cumsum([0] + [s.thickness_fraction for s in layers]) * nz).astype(int)
    bounds = [(int(edges[i]), int(edges[i + 1])) for i in range(len(layers))]
    cen = np.empty((0, 3))
    rad = np.empty(0)
    plan = ElectrodePlan(
        shape=tuple(shape),
        layers=layers,
        bounds=bounds,
        centres=cen,
        radii=rad,
        crack_normals=np.empty((0, 3)),
        crack_width=np.empty(0),
        seed=seed,
        reach=float(max(3.0, 1.2 * max(s.radius_median for s in layers))),
    )
    for li, spec in enumerate(layers):
        z0, z1 = bounds[li]
        if z1 <= z0:
            continue
        layer_vol = (z1 - z0) * shape[1] * shape[2]
        # overlapping spheres: start from the summed-volume target, then top up
        target = spec.am_fraction * layer_vol * 1.05
        for _ in range(8):
            c, r = _place_spheres(rng, shape, (z0, z1), spec, overlap, (cen, rad), target * 0.25)
            cen, rad = np.concatenate([cen, c]), np.concatenate([rad, r])
            plan.centres, plan.radii = cen, rad
            frac = _sample_am_fraction(plan, (z0, z1), sample_size, rng)
            if frac >= spec.am_fraction or spec.am_fraction == 0:
                break
            missing = (spec.am_fraction - frac) * layer_vol
            target = 4 * missing / max(1e-3, 1 - frac)
        # trim: drop the last spheres while the fraction stays above target
        plan.centres, plan.radii = cen, rad
    n = len(rad)
    normals = rng.standard_normal((n, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    width = np.zeros(n)
    lay_of = plan.layer_of(np.clip(cen[:, 0].astype(int), 0, nz - 1)) if n else np.empty(0, int)
    for li, spec in enumerate(layers):
        sel = np.nonzero(lay_of == li)[0]
        if spec.crack_fraction <= 0 or sel.size == 0:
            continue
        r = rad[sel]
        per = math.pi * (0.85 * r) ** 2 / (4 / 3 * math.pi * r**3)  # 1-voxel-thick disc
        mean_per = float(np.sum(per * r**3) / np.sum(r**3))
        p = spec.crack_fraction / mean_per
        w = max(1.0, p)
        p = min(1.0, p / w)
        chosen = sel[rng.random(sel.size) < p]
        width[chosen] = w
    plan.crack_normals, plan.crack_width = normals, width
    plan.thresholds = _calibrate_cbd(plan, sample_size, rng)
    return plan


def _sample_boxes(plan: ElectrodePlan, z_range, size: int, rng, count: int = 3):
    z0, z1 = z_range
    bz = z1 - z0
    by, bx = plan.shape[1], plan.shape[2]
    if bz * by * bx <= size**3 * count:
        return [((z0, 0, 0), (bz, by, bx))]
    boxes = []
    for _ in range(count):
        sz, sy, sx = min(bz, size), min(by, size), min(bx, size)
        o = (
            int(rng.integers(z0, z1 - sz + 1)),
            int(rng.integers(0, by - sy + 1)),
            int(rng.integers(0, bx - sx + 1)),
        )
        boxes.append((o, (sz, sy, sx)))
    return boxes


def _sample_am_fraction(plan: ElectrodePlan, z_range, size: int, rng) -> float:
    solid = 0
    total = 0
    for o, s in _sample_boxes(plan, z_range, size, rng):
        d1 = _paint(plan, o, s)[0]
        solid += int(np.count_nonzero(d1 <= 0))
        total += d1.size
    return solid / total


def _calibrate_cbd(plan: ElectrodePlan, size: int, rng) -> list[float]:
    thr = []
    for li, spec in enumerate(plan.layers):
        z0, z1 = plan.bounds[li]
        if z1 <= z0 or spec.cbd_fraction <= 0:
            thr.append(float("inf"))
            continue
        scores = []
        total = 0
        for o, s in _sample_boxes(plan, (z0, z1), size, rng):
            d1, d2, _, _ = _paint(plan, o, s)
            sc = _cbd_score(plan, o, s, d1, d2)
            scores.append(sc[np.isfinite(sc)])
            total += sc.size
        allsc = np.sort(np.concatenate(scores))[::-1]
        k = int(round(spec.cbd_fraction * total))
        if k > allsc.size:
            raise ParameterError(
                f"layers[{li}]: cbd_fraction = {spec.cbd_fraction:g} exceeds the pore space "
                f"left by the particles ({allsc.size / total:.3f})"
            )
        thr.append(float(allsc[k - 1]) if k > 0 else float("inf"))
    return thr


def _base(
    am_fraction, cbd_fraction, radius_median_m, radius_sigma, cbd_mode, crack_fraction, vs
) -> dict:
    h = min(vs)
    r_vox = 6.0 if radius_median_m is None else float(radius_median_m) / h
    return dict(
        am_fraction=am_fraction,
        cbd_fraction=cbd_fraction,
        radius_median=r_vox,
        radius_sigma=radius_sigma,
        cbd_mode=cbd_mode,
        crack_fraction=crack_fraction,
    )


def _check_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    try:
        s = tuple(int(v) for v in shape)
    except (TypeError, ValueError):
        raise ParameterError(f"shape = {shape!r} must be three positive integers") from None
    if len(s) != 3 or min(s) < 1:
        raise ParameterError(f"shape = {shape!r} must be three positive integers (z, y, x)")
    return s


def synthetic_electrode(
    shape: Sequence[int] = (64, 64, 64),
    voxel_size: float | Sequence[float] = 1e-7,
    *,
    am_fraction: float = 0.55,
    cbd_fraction: float = 0.10,
    radius_median_m: float | None = None,
    radius_sigma: float = 0.25,
    cbd_mode: str = "slurry",
    crack_fraction: float = 0.0,
    layers: Sequence[Mapping[str, Any] | LayerSpec] | None = None,
    labels: Mapping[str, int] | None = None,
    seed: int = 0,
    overlap: float = 0.25,
) -> LabelledVolume:
    """Generate a synthetic labelled electrode in memory.

    Parameters
    ----------
    shape
        Voxels along (z, y, x); z is the thickness axis, collector at z = 0.
    voxel_size
        Voxel edge(s) in m (one value or (dz, dy, dx)).
    am_fraction, cbd_fraction
        Target volume fractions (AM includes cracks).
    radius_median_m
        Median particle radius in m (default 6 voxels).
    radius_sigma
        Standard deviation of ln(radius).
    cbd_mode
        ``"slurry"`` (aggregated CBD) or ``"dry"`` (fibrous, well connected).
    crack_fraction
        Target crack / (AM + crack).
    layers
        Optional list of per-layer overrides (dicts with :class:`LayerSpec` fields, radii
        as ``radius_median`` in voxels), first layer at the collector.
    labels
        Label map (default pore 0, CBD 1, AM 2, crack 3).
    seed
        Random seed; the same seed gives the same volume.
    overlap
        Allowed relative overlap of particle radii (0 = hard spheres).

    Returns
    -------
    LabelledVolume
    """
    s = _check_shape(shape)
    vs = parse_voxel_size(voxel_size)
    check_range("overlap", overlap, 0.0, 0.6)
    lab = dict(DEFAULT_LABELS if labels is None else labels)
    specs = _layers_from_args(
        layers,
        _base(
            am_fraction, cbd_fraction, radius_median_m, radius_sigma, cbd_mode, crack_fraction, vs
        ),
    )
    plan = plan_electrode(s, specs, seed=seed, overlap=overlap, sample_size=10**6)
    data = _labels_of_box(plan, (0, 0, 0), s, lab)
    return LabelledVolume(data=data, voxel_size=vs, labels=lab, source=f"synthetic(seed={seed})")


def generate_to_zarr(
    path: str | Path,
    shape: Sequence[int],
    voxel_size: float | Sequence[float] = 1e-7,
    *,
    chunks: int = 256,
    workers: int = 2,
    seed: int = 0,
    labels: Mapping[str, int] | None = None,
    progress: bool = False,
    **kwargs: Any,
) -> Path:
    """Write a synthetic electrode chunk by chunk to a Zarr array (bounded memory).

    Parameters are those of :func:`synthetic_electrode`; ``chunks`` is the Zarr chunk
    edge in voxels and ``workers`` the number of threads painting chunks.  AM and CBD
    fractions are calibrated on sample boxes, so they match the targets only
    approximately (within about 1 % absolute for sample boxes of 96^3).
    """
    import zarr

    from electrohet.micro.io import save_volume  # noqa: F401  (format consistency)

    s = _check_shape(shape)
    vs = parse_voxel_size(voxel_size)
    lab = dict(DEFAULT_LABELS if labels is None else labels)
    base_keys = (
        "am_fraction",
        "cbd_fraction",
        "radius_median_m",
        "radius_sigma",
        "cbd_mode",
        "crack_fraction",
    )
    base_args = {k: kwargs.pop(k) for k in list(kwargs) if k in base_keys}
    layers = kwargs.pop("layers", None)
    overlap = kwargs.pop("overlap", 0.25)
    if kwargs:
        raise ParameterError(f"unknown argument(s) {sorted(kwargs)} for generate_to_zarr")
    defaults = dict(
        am_fraction=0.55,
        cbd_fraction=0.10,
        radius_median_m=None,
        radius_sigma=0.25,
        cbd_mode="slurry",
        crack_fraction=0.0,
    )
    defaults.update(base_args)
    specs = _layers_from_args(layers, _base(**defaults, vs=vs))
    plan = plan_electrode(s, specs, seed=seed, overlap=overlap)
    arr = zarr.create_array(
        str(path),
        shape=s,
        chunks=(min(chunks, s[0]), min(chunks, s[1]), min(chunks, s[2])),
        dtype=np.uint8,
        overwrite=True,
    )
    arr.attrs.update(
        {"voxel_size_m": list(vs), "labels": lab, "thickness_axis": 0, "collector_at_start": True}
    )
    cz, cy, cx = arr.chunks
    origins = [
        (z, y, x)
        for z in range(0, s[0], cz)
        for y in range(0, s[1], cy)
        for x in range(0, s[2], cx)
    ]

    def work(o: tuple[int, int, int]) -> None:
        box = (min(cz, s[0] - o[0]), min(cy, s[1] - o[1]), min(cx, s[2] - o[2]))
        block = _labels_of_box(plan, o, box, lab)
        arr[o[0] : o[0] + box[0], o[1] : o[1] + box[1], o[2] : o[2] + box[2]] = block

    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        for i, _ in enumerate(ex.map(work, origins)):
            if progress and (i + 1) % max(1, len(origins) // 20) == 0:
                print(f"  generated {i + 1}/{len(origins)} chunks", flush=True)
    return Path(path)
