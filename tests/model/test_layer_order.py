"""One layer-order convention: the Dataset names its layers and says where each sits."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.design.presets import chen2020_cell, chen2020_positive_layer, yari2020_cell
from electrohet.model import MeshOptions, Simulation
from electrohet.model.mesh import build_mesh
from electrohet.model.results import layer_utilization


def test_mesh_numbers_layers_from_each_collector_and_names_them_uniquely():
    base = chen2020_positive_layer()
    half = base.thickness / 2
    layers = [base.with_(thickness=half, name="x"), base.with_(thickness=half, name="x")]
    mesh = build_mesh(chen2020_cell(layers), MeshOptions(points_per_domain=6))
    assert mesh.layer_names == ["negative", "x", "x (2)"]
    assert mesh.layer_position == ["collector", "collector", "separator"]
    # the positive collector layer holds the cells at the far end of x
    assert mesh.layer_of_cell[-1] == 1 and mesh.layer_of_cell[0] == 0


@pytest.fixture(scope="module")
def bilayer_run():
    """Yari bilayer, 4 wt% carbon at the collector ("bottom"), 1 wt% at the separator."""
    cell = yari2020_cell(0.04, 0.01, 0.484, points_per_layer=4)
    ds = Simulation(cell, MeshOptions(radial_points=6)).solve("Discharge at 2C until 3.0 V")
    return cell, ds


def test_dataset_layer_coordinate_carries_names_and_positions(bilayer_run):
    cell, ds = bilayer_run
    assert list(ds.layer.values) == ["bottom", "top"]
    assert list(ds.layer_position.values) == ["collector", "separator"]
    # the cell next to the positive current collector (largest x) belongs to "bottom"
    last = int(ds.layer_index.values[-1])
    assert ds.layer.values[last] == "bottom"
    # the window capacity of each named layer is that of the design's layer of that name
    for lay in cell.positive.layers:
        q = lay.capacity_per_area(lay.material.theta_100, lay.material.theta_0)
        assert float(ds.layer_theoretical_capacity.sel(layer=lay.name)) == pytest.approx(q)


def test_layer_utilization_by_name_adds_up_to_the_delivered_capacity(bilayer_run):
    _, ds = bilayer_run
    u = layer_utilization(ds)
    delivered = float(ds.capacity[-1] - ds.capacity[0])
    total = float((u * ds.layer_theoretical_capacity.sel(layer=u.layer)).sum())
    # charge balance of the per-layer inventory (solver tolerance)
    assert total == pytest.approx(delivered, rel=1e-6)
    # the carbon-poor layer (1 wt%, "top") is the less utilised one at 2C
    assert float(u.sel(layer="top")) < float(u.sel(layer="bottom"))
    assert np.all((u.values > 0) & (u.values < 1.05))


def test_layer_names_survive_netcdf(bilayer_run, tmp_path):
    import xarray as xr

    from electrohet.outputs import write_netcdf

    _, ds = bilayer_run
    path = tmp_path / "run.nc"
    write_netcdf(ds, path)
    back = xr.load_dataset(path, engine="h5netcdf")
    assert list(back.layer.values) == ["bottom", "top"]
    assert list(back.layer_position.values) == ["collector", "separator"]
