"""Finite-volume geometry of a cell: cells through the thickness and particle slots.

x runs from the negative current collector (x = 0) to the positive current collector
(x = L).  Every electrolyte cell carries its porosity, tortuosity, region and layer;
every electrode cell carries K particle *slots* (one per particle class), each with its
own radius, specific area and resistances.  All arrays are flat so the residual can be
evaluated vectorised over all cells, slots and radial shells at once.

Layer order (one convention for design, mesh, results and studies): layers are
numbered per electrode *from its current collector towards the separator*, as
:class:`~electrohet.design.layer.Electrode` lists them - negative layers first, then
positive layers - whatever their order in x (the positive electrode's layers lie in
reverse x order).  Each layer carries a unique name and a position (``"collector"``,
``"middle k"``, ``"separator"``; a one-layer electrode is ``"collector"``), and the
results Dataset uses the names as its ``layer`` coordinate, so nothing downstream
needs to know the index order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from electrohet.design.layer import Cell, Electrode, Layer
from electrohet.errors import ParameterError
from electrohet.materials.base import ActiveMaterial

NEG, SEP, POS = 0, 1, 2


@dataclass
class MeshOptions:
    """Discretisation settings.

    Parameters
    ----------
    points_per_domain
        Finite-volume cells in each of negative electrode, separator and positive
        electrode (split between layers in proportion to thickness unless a layer sets
        ``n_points``).
    radial_points
        Shells per particle (uniform in r).
    surface
        How the surface concentration is obtained: ``"linear"`` extrapolation from the
        two outer shells (as PyBaMM's default finite volumes) or ``"flux"`` (outer shell
        plus the known surface flux).

    Notes
    -----
    Transport coefficients at faces between cells are series (harmonic) means, so the
    flux is continuous and exact across layer and region jumps.
    """

    points_per_domain: int = 20
    radial_points: int = 20
    surface: str = "linear"

    def __post_init__(self) -> None:
        if self.points_per_domain < 1:
            raise ParameterError(f"mesh.points_per_domain = {self.points_per_domain} must be >= 1")
        if self.radial_points < 3:
            raise ParameterError(f"mesh.radial_points = {self.radial_points} must be >= 3")
        if self.surface not in ("linear", "flux"):
            raise ParameterError(f"mesh.surface = {self.surface!r} must be 'linear' or 'flux'")


def _layer_points(layers: tuple[Layer, ...], n_total: int) -> list[int]:
    given = [lay.n_points for lay in layers]
    if all(g is not None for g in given):
        return [int(g) for g in given]  # type: ignore[arg-type]
    total_t = sum(lay.thickness for lay in layers)
    free = [i for i, g in enumerate(given) if g is None]
    n_free = max(n_total - sum(g for g in given if g is not None), len(free))
    t_free = sum(layers[i].thickness for i in free)
    raw = [n_free * layers[i].thickness / t_free for i in free]
    pts = [max(1, int(round(r))) for r in raw]
    # fix rounding so the free layers get n_free points in total
    while sum(pts) > n_free and max(pts) > 1:
        pts[int(np.argmax(pts))] -= 1
    while sum(pts) < n_free:
        pts[int(np.argmax(np.array(raw) - np.array(pts)))] += 1
    out = [0] * len(layers)
    for i, g in enumerate(given):
        if g is not None:
            out[i] = int(g)
    for i, p in zip(free, pts, strict=True):
        out[i] = p
    del total_t
    return out


@dataclass
class CellMesh:
    """Flat finite-volume description of a cell (all SI)."""

    # electrolyte cells (all regions), ordered in x
    dx: np.ndarray
    x: np.ndarray
    region: np.ndarray
    eps: np.ndarray
    tau: np.ndarray
    layer_of_cell: np.ndarray  # index into ``layers`` (design order; -1 in separator)
    # electrode cells
    elec_cells: np.ndarray  # indices into electrolyte cells
    elec_region: np.ndarray  # NEG or POS per electrode cell
    sigma: np.ndarray  # matrix conductivity per electrode cell
    # particle slots
    slot_cell: np.ndarray  # electrolyte-cell index of each slot
    slot_elec: np.ndarray  # electrode-cell index of each slot
    slot_class: np.ndarray
    slot_layer: np.ndarray
    slot_radius: np.ndarray
    slot_area: np.ndarray  # a_k [1/m]
    slot_weight: np.ndarray
    slot_volume_fraction: np.ndarray  # eps_s w_k
    slot_rf: np.ndarray
    slot_rc0: np.ndarray
    slot_path: np.ndarray
    slot_kfac: np.ndarray
    slot_isolated: np.ndarray
    slot_material: np.ndarray  # index into ``materials``
    materials: list[ActiveMaterial]
    layers: list[Layer]  # negative then positive, each from its collector
    layer_region: np.ndarray
    layer_names: list[str]
    layer_position: list[str]
    n_r: int
    surface: str
    half_cell: bool
    n_classes_max: int

    @property
    def n_cells(self) -> int:
        return int(self.dx.size)

    @property
    def n_elec(self) -> int:
        return int(self.elec_cells.size)

    @property
    def n_slots(self) -> int:
        return int(self.slot_cell.size)

    @property
    def L(self) -> float:
        return float(self.dx.sum())


def _position(i: int, n: int) -> str:
    """Position of layer ``i`` of ``n`` (0 = at the current collector) in its electrode."""
    if i == 0:
        return "collector"
    if i == n - 1:
        return "separator"
    return f"middle {i}"


def _unique(names: list[str]) -> list[str]:
    """Layer names made unique (a repeated name gets `` (2)``, `` (3)``...)."""
    seen: dict[str, int] = {}
    out = []
    for nm in names:
        seen[nm] = seen.get(nm, 0) + 1
        out.append(nm if seen[nm] == 1 else f"{nm} ({seen[nm]})")
    return out


def build_mesh(cell: Cell, options: MeshOptions | None = None) -> CellMesh:
    """Discretise ``cell`` into a :class:`CellMesh`."""
    opt = options or MeshOptions()
    dx, region, eps, tau, layer_of = [], [], [], [], []
    layers: list[Layer] = []
    layer_region: list[int] = []
    layer_names: list[str] = []
    layer_position: list[str] = []

    def add_electrode(electrode: Electrode, reg: int, reverse: bool) -> None:
        # layers are numbered in design order (from this electrode's current collector
        # towards the separator) whatever their order in x
        lays = list(electrode.layers)
        pts = _layer_points(electrode.layers, opt.points_per_domain)
        side = "negative" if reg == NEG else "positive"
        offset = len(layers)
        for i, lay in enumerate(lays):
            layers.append(lay)
            layer_region.append(reg)
            layer_names.append(lay.name or f"{side} layer {i + 1}")
            layer_position.append(_position(i, len(lays)))
        order = list(range(len(lays)))
        if reverse:
            order = order[::-1]
        for i in order:
            lay = lays[i]
            n = pts[i]
            dx.extend([lay.thickness / n] * n)
            region.extend([reg] * n)
            eps.extend([lay.porosity] * n)
            tau.extend([lay.tortuosity_factor] * n)
            layer_of.extend([offset + i] * n)

    if not cell.half_cell:
        assert isinstance(cell.negative, Electrode)
        add_electrode(cell.negative, NEG, reverse=False)
    sep = cell.separator
    ns = sep.n_points or opt.points_per_domain
    dx.extend([sep.thickness / ns] * ns)
    region.extend([SEP] * ns)
    eps.extend([sep.porosity] * ns)
    tau.extend([sep.tortuosity_factor] * ns)
    layer_of.extend([-1] * ns)
    add_electrode(cell.positive, POS, reverse=True)

    dx_a = np.asarray(dx, dtype=float)
    x = np.cumsum(dx_a) - 0.5 * dx_a
    region_a = np.asarray(region, dtype=int)
    layer_a = np.asarray(layer_of, dtype=int)
    elec_cells = np.flatnonzero(region_a != SEP)

    materials: list[ActiveMaterial] = []
    mat_index: dict[int, int] = {}
    slots: dict[str, list] = {
        k: []
        for k in (
            "cell",
            "elec",
            "cls",
            "layer",
            "R",
            "a",
            "w",
            "vf",
            "rf",
            "rc0",
            "path",
            "kfac",
            "iso",
            "mat",
        )
    }
    sigma = np.empty(elec_cells.size)
    kmax = 1
    for e, ci in enumerate(elec_cells):
        lay = layers[layer_a[ci]]
        sigma[e] = lay.matrix_conductivity
        ens = lay.particles
        kmax = max(kmax, ens.n_classes)
        mid = id(lay.material)
        if mid not in mat_index:
            mat_index[mid] = len(materials)
            materials.append(lay.material)
        area = ens.specific_area(lay.active_fraction)
        for k in range(ens.n_classes):
            slots["cell"].append(ci)
            slots["elec"].append(e)
            slots["cls"].append(k)
            slots["layer"].append(layer_a[ci])
            slots["R"].append(ens.radius[k])
            slots["a"].append(area[k])
            slots["w"].append(ens.weight[k])
            slots["vf"].append(lay.active_fraction * ens.weight[k])
            slots["rf"].append(ens.film_resistance[k])
            slots["rc0"].append(ens.contact_resistance[k])
            slots["path"].append(ens.contact_path[k])
            slots["kfac"].append(ens.kinetic_factor[k])
            slots["iso"].append(bool(ens.isolated[k]))
            slots["mat"].append(mat_index[mid])

    def arr(key: str, dtype=float) -> np.ndarray:
        return np.asarray(slots[key], dtype=dtype)

    return CellMesh(
        dx=dx_a,
        x=x,
        region=region_a,
        eps=np.asarray(eps, dtype=float),
        tau=np.asarray(tau, dtype=float),
        layer_of_cell=layer_a,
        elec_cells=elec_cells,
        elec_region=region_a[elec_cells],
        sigma=sigma,
        slot_cell=arr("cell", int),
        slot_elec=arr("elec", int),
        slot_class=arr("cls", int),
        slot_layer=arr("layer", int),
        slot_radius=arr("R"),
        slot_area=arr("a"),
        slot_weight=arr("w"),
        slot_volume_fraction=arr("vf"),
        slot_rf=arr("rf"),
        slot_rc0=arr("rc0"),
        slot_path=arr("path"),
        slot_kfac=arr("kfac"),
        slot_isolated=arr("iso", bool),
        slot_material=arr("mat", int),
        materials=materials,
        layers=layers,
        layer_region=np.asarray(layer_region, dtype=int),
        layer_names=_unique(layer_names),
        layer_position=layer_position,
        n_r=opt.radial_points,
        surface=opt.surface,
        half_cell=cell.half_cell,
        n_classes_max=kmax,
    )
