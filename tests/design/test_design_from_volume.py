"""Electrode.from_volume: layers measured in a synthetic labelled volume."""

import numpy as np
import pytest

from electrohet.design import Electrode
from electrohet.materials.chen2020 import NMC811_CHEN2020
from electrohet.micro.bridge import layers_from_volume
from electrohet.micro.generate import synthetic_electrode
from electrohet.model import MeshOptions, Simulation


def test_layers_carry_measured_properties_and_simulate():
    vol = synthetic_electrode((48, 40, 40), 2e-7, am_fraction=0.55, cbd_fraction=0.10, seed=3)
    el = Electrode.from_volume(
        vol, 2, NMC811_CHEN2020, theta_init=0.3, conductivity=1.0, radius_classes=3, n_points=5
    )
    ref = layers_from_volume(vol, 2)
    assert el.n_layers == 2
    for lay, d in zip(el.layers, ref, strict=True):
        # the model layer is exactly the measurement (fractions sum to 1 by construction)
        assert lay.porosity == pytest.approx(d["porosity"], abs=1e-15)
        assert lay.active_fraction == pytest.approx(d["am_fraction"], abs=1e-15)
        assert lay.tortuosity_factor == pytest.approx(max(1.0, d["tortuosity"]), rel=1e-15)
        assert lay.thickness == pytest.approx(24 * 2e-7, rel=1e-12)
        assert lay.particles.n_classes in (1, 3)
        assert np.isclose(lay.particles.weight.sum(), 1.0)
    from electrohet.design.presets import chen2020_cell

    cell = chen2020_cell(list(el.layers)).with_(nominal_capacity=1.0)
    ds = Simulation(cell, MeshOptions(points_per_domain=5, radial_points=6)).solve(
        "Discharge at 1C for 5 minutes"
    )
    assert ds.attrs["status"] == "completed"
