"""Turn a recorded run into an ``xarray.Dataset`` (docs/physics.md §1.7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from electrohet.engine.dataset import run_attrs
from electrohet.errors import SolverError
from electrohet.materials.base import F
from electrohet.model.mesh import POS

if TYPE_CHECKING:  # pragma: no cover
    from electrohet.model.simulation import RunLog, Simulation


def build_dataset(sim: Simulation, log: RunLog, experiment, wall_time: float) -> xr.Dataset:
    """Assemble the results of ``sim`` recorded in ``log``.

    The ``layer`` dimension lists the layers in design order (each electrode from its
    current collector to the separator; negative before positive) and its coordinate
    holds the layer *names*, with ``layer_position`` (``"collector"``, ``"middle k"``,
    ``"separator"``) and ``layer_region`` as further coordinates: select a layer by
    name (``ds.layer_capacity.sel(layer="top")``), never by index.
    """
    if not log.y:
        raise SolverError(
            f"no state was recorded ({log.message or 'the run stopped before its first state'})"
        )
    model = sim.model
    mesh = sim.mesh
    Y = np.array(log.y).T  # (n, T)
    t = np.asarray(log.t)
    v = model.split(Y)
    kmax = mesh.n_classes_max
    n_cells = mesh.n_cells

    voltage = model.voltage(Y)
    current = v["I"][0]
    Q = v["Q"][0]
    E = v["E"][0]
    # concentrations and potentials on the x mesh (NaN where a phase is absent)
    phis = np.full((n_cells, t.size), np.nan)
    phis[mesh.elec_cells] = v["phis"]
    theta_mean = model.mean_theta(Y)  # (S, T)
    c_surf = np.clip(model.surface_concentration(v["cs"], v["ik"]), 0.0, model.cmax_col)
    theta_surf = c_surf / model.cmax_col
    tm = np.full((n_cells, kmax, t.size), np.nan)
    ts = np.full_like(tm, np.nan)
    ik = np.full_like(tm, np.nan)
    tm[mesh.slot_cell, mesh.slot_class] = theta_mean
    ts[mesh.slot_cell, mesh.slot_class] = theta_surf
    ik[mesh.slot_cell, mesh.slot_class] = v["ik"]

    # per-layer capacity delivered [Ah/m^2]: lithium taken up (positive) or released
    # (negative electrode) since t = 0
    n_layers = len(mesh.layers)
    li_slot = (
        theta_mean * (model.cmax * mesh.slot_volume_fraction * mesh.dx[mesh.slot_cell])[:, None]
    )
    li_slot = li_slot - li_slot[:, :1]
    layer_cap = np.zeros((n_layers, t.size))
    np.add.at(layer_cap, mesh.slot_layer, li_slot)
    sign = np.where(mesh.layer_region == POS, 1.0, -1.0)[:, None]
    layer_cap = sign * layer_cap * F / 3600.0
    static_vars, static_coords = _static_variables(sim)
    data_vars: dict = {
        "voltage": ("time", voltage, {"units": "V"}),
        "current": (
            "time",
            current,
            {"units": "A/m^2", "long_name": "current density, > 0 discharge"},
        ),
        "capacity": (
            "time",
            Q,
            {"units": "Ah/m^2", "long_name": "net discharge capacity since start"},
        ),
        "energy": (
            "time",
            E,
            {"units": "Wh/m^2", "long_name": "net discharge energy since start"},
        ),
        "step": (
            "time",
            np.asarray(log.step),
            {"long_name": "experiment step index (-1 = initial)"},
        ),
        "cycle": ("time", np.asarray(log.cycle)),
        "c_e": (("time", "x"), v["ce"].T, {"units": "mol/m^3"}),
        "phi_e": (("time", "x"), v["phie"].T, {"units": "V"}),
        "phi_s": (("time", "x"), phis.T, {"units": "V"}),
        "theta_mean": (
            ("time", "x", "particle_class"),
            tm.transpose(2, 0, 1),
            {"long_name": "mean lithium fraction of each class"},
        ),
        "theta_surface": (
            ("time", "x", "particle_class"),
            ts.transpose(2, 0, 1),
            {"long_name": "surface lithium fraction of each class"},
        ),
        "interfacial_current": (
            ("time", "x", "particle_class"),
            ik.transpose(2, 0, 1),
            {"units": "A/m^2", "long_name": "i_k, > 0 delithiation"},
        ),
        "layer_capacity": (
            ("time", "layer"),
            layer_cap.T,
            {"units": "Ah/m^2", "long_name": "capacity delivered by each layer"},
        ),
    }
    # the run-independent variables in their place (shallow copies: own attrs)
    order = [*list(data_vars)[:-1], *STATIC_BEFORE_LAYER_CAPACITY, "layer_capacity", *STATIC_LAST]
    for k, var in static_vars.items():
        data_vars[k] = var.copy(deep=False)
    data_vars = {k: data_vars[k] for k in order}
    coords = {"time": ("time", t, {"units": "s"})}
    coords.update({k: var.copy(deep=False) for k, var in static_coords.items()})
    ds = xr.Dataset(
        data_vars,
        coords=coords,
        attrs={
            **run_attrs(log, experiment, wall_time, sim.integrator.stats, sim.one_c, sim.cell.area),
            "cell": sim.cell.name,
            "half_cell": int(sim.cell.half_cell),
        },
    )
    return ds


STATIC_BEFORE_LAYER_CAPACITY = (
    "class_weight",
    "class_radius",
    "region",
    "porosity",
    "active_fraction",
    "c_max",
    "layer_index",
    "dx",
)
STATIC_LAST = ("layer_theoretical_capacity", "layer_name")


def _static_variables(sim: Simulation) -> tuple[dict, dict]:
    """The results' variables and coordinates that do not change from run to run of
    ``sim`` (mesh, classes, layers), built once per Simulation (xarray's construction
    of them is a good part of a short run's cost)."""
    cached = getattr(sim, "_results_static", None)
    if cached is not None:
        return cached
    mesh = sim.mesh
    kmax = mesh.n_classes_max
    n_cells = mesh.n_cells
    w = np.full((n_cells, kmax), np.nan)
    rad = np.full((n_cells, kmax), np.nan)
    w[mesh.slot_cell, mesh.slot_class] = mesh.slot_weight
    rad[mesh.slot_cell, mesh.slot_class] = mesh.slot_radius
    layer_q = np.array(
        [lay.capacity_per_area(lay.material.theta_100, lay.material.theta_0) for lay in mesh.layers]
    )
    active_fraction = np.zeros(n_cells)
    c_max_x = np.full(n_cells, np.nan)
    for ci in mesh.elec_cells:
        lay = mesh.layers[mesh.layer_of_cell[ci]]
        active_fraction[ci] = lay.active_fraction
        c_max_x[ci] = lay.material.c_max
    region_names = np.array(["negative", "separator", "positive"])[mesh.region]
    coords = {
        "x": ("x", mesh.x, {"units": "m", "long_name": "distance from negative current collector"}),
        "particle_class": ("particle_class", np.arange(kmax), {}),
        "layer": ("layer", np.array(mesh.layer_names, dtype=object), {}),
        "layer_position": (
            "layer",
            np.array(mesh.layer_position, dtype=object),
            {"long_name": "position in its electrode: collector, middle k or separator"},
        ),
        "layer_region": (
            "layer",
            np.array(["negative", "separator", "positive"])[mesh.layer_region].astype(object),
            {},
        ),
    }
    data = {
        "class_weight": (("x", "particle_class"), w),
        "class_radius": (("x", "particle_class"), rad, {"units": "m"}),
        "region": ("x", region_names),
        "porosity": ("x", mesh.eps),
        "active_fraction": ("x", active_fraction),
        "c_max": ("x", c_max_x, {"units": "mol/m^3"}),
        "layer_index": (
            "x",
            mesh.layer_of_cell,
            {"long_name": "index along the layer dimension (-1 = separator)"},
        ),
        "dx": ("x", mesh.dx, {"units": "m"}),
        "layer_theoretical_capacity": ("layer", layer_q, {"units": "Ah/m^2"}),
        "layer_name": ("layer", np.array(mesh.layer_names, dtype=object)),
    }
    ds = xr.Dataset(data, coords=coords)
    cached = (
        {k: ds.variables[k] for k in data},
        {k: ds.variables[k] for k in coords},
    )
    sim._results_static = cached
    return cached


def layer_utilization(ds: xr.Dataset, region: str = "positive") -> xr.DataArray:
    """Capacity each layer of ``region`` delivered over the run / its window capacity [-].

    ``(layer_capacity[-1] - layer_capacity[0]) / layer_theoretical_capacity``, indexed
    by the layer names (with the ``layer_position`` coordinate), so callers pick a
    layer by name or position, never by index.
    """
    mask = (ds["layer_region"] == region).values
    if not mask.any():
        from electrohet.errors import DataError

        raise DataError(f"region = {region!r}: the run has no layer there")
    lc = ds["layer_capacity"].isel(layer=mask)
    delivered = lc.isel(time=-1) - lc.isel(time=0)
    u = delivered / ds["layer_theoretical_capacity"].isel(layer=mask)
    u = u.drop_vars("time", errors="ignore")
    u.name = "layer_utilization"
    u.attrs = {"units": "1", "long_name": "delivered / window capacity of each layer"}
    return u


def particle_soc_distribution(
    ds: xr.Dataset, time: float, bins: int | np.ndarray = 20, region: str = "positive"
) -> tuple[np.ndarray, np.ndarray]:
    """Volume-weighted histogram of particle lithium fraction at ``time`` [s].

    Returns (density, bin_edges); each (x, class) slot is weighted by its volume share
    dx * w_k (the active fraction of a layer scales all its slots equally).
    """
    snap = ds.sel(time=time, method="nearest")
    mask = (ds["region"] == region).values
    th = snap["theta_mean"].values[mask]
    wt = (ds["class_weight"].values * ds["dx"].values[:, None])[mask]
    ok = np.isfinite(th) & np.isfinite(wt)
    hist, edges = np.histogram(th[ok], bins=bins, weights=wt[ok], density=True)
    return hist, edges


def lithium_inventory(ds: xr.Dataset) -> xr.DataArray:
    """Cyclable lithium per electrode area in solids + electrolyte [mol/m^2] over time."""
    electrolyte = (ds["c_e"] * ds["porosity"] * ds["dx"]).sum("x")
    solid_x = (ds["theta_mean"] * ds["class_weight"]).sum("particle_class", skipna=True)
    solid = (solid_x * ds["c_max"].fillna(0.0) * ds["active_fraction"] * ds["dx"]).sum("x")
    out = electrolyte + solid
    out.attrs["units"] = "mol/m^2"
    return out
