"""Parameter sweeps on one reused Simulation give the results of fresh simulations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from electrohet.design.layer import Electrode
from electrohet.design.presets import chen2020_cell, chen2020_half_cell
from electrohet.errors import ParameterError
from electrohet.model import Simulation
from electrohet.model.mesh import MeshOptions
from electrohet.model.sweep import parameter_sweep

MESH = MeshOptions(points_per_domain=8, radial_points=8)
EXP = "Discharge at 1C until 2.5 V"


def cell_at(eps: float):
    """Chen2020 with the positive porosity ``eps`` (the inert CBD fraction takes the
    rest; the active fraction stays)."""
    cell = chen2020_cell()
    pos = cell.positive
    lay = pos.layers[0]
    cbd = 1.0 - eps - lay.active_fraction
    layer = dataclasses.replace(lay, porosity=eps, cbd_fraction=cbd)
    return dataclasses.replace(cell, positive=Electrode([layer], pos.theta_init))


def test_sweep_equals_fresh_simulations():
    values = [0.25, 0.29, 0.335]
    runs = parameter_sweep(cell_at, values, EXP, mesh=MESH)
    caps = []
    for v, ds in zip(values, runs, strict=True):
        fresh = Simulation(cell_at(v), MESH).solve(EXP)
        assert ds.attrs["sweep_value"] == v
        assert ds.attrs["status"] == "completed"
        # the same integrator arithmetic: equal to round-off (the kept pivot orders of
        # the reused LU may differ from a fresh analysis: measured 1e-12 relative)
        assert float(ds.capacity[-1]) == pytest.approx(float(fresh.capacity[-1]), rel=1e-9)
        assert float(ds.time[-1]) == pytest.approx(float(fresh.time[-1]), rel=1e-9)
        caps.append(float(ds.capacity[-1]))
    # the porosity changes the result (the active volume is the same at every point)
    assert len(set(np.round(caps, 6))) == 3


def test_rate_sweep_and_errors():
    cell = chen2020_cell()
    runs = parameter_sweep(
        lambda _: cell,
        [0.5, 1.0],
        experiments=["Discharge at C/2 until 2.5 V", EXP],
        mesh=MESH,
    )
    assert float(runs[0].capacity[-1]) > float(runs[1].capacity[-1])
    with pytest.raises(ParameterError, match="exactly one"):
        parameter_sweep(cell_at, [0.3], mesh=MESH)
    with pytest.raises(ParameterError, match="no values"):
        parameter_sweep(cell_at, [], EXP)
    sim = Simulation(chen2020_cell(), MESH)
    with pytest.raises(ParameterError, match="another structure"):
        sim.set_cell(chen2020_half_cell())
