"""Electrode.from_volume: layers measured in a synthetic labelled volume."""

import numpy as np
import pytest

from electrohet.design import Electrode
from electrohet.errors import ParameterError
from electrohet.materials.chen2020 import NMC811_CHEN2020
from electrohet.micro.bridge import layers_from_volume
from electrohet.micro.effective import PhaseProperties, effective_properties
from electrohet.micro.generate import synthetic_electrode
from electrohet.micro.volume import LabelledVolume
from electrohet.model import MeshOptions, Simulation


def test_geometric_layers_carry_the_image_measures_and_simulate():
    vol = synthetic_electrode((48, 40, 40), 2e-7, am_fraction=0.55, cbd_fraction=0.10, seed=3)
    el = Electrode.from_volume(
        vol,
        2,
        NMC811_CHEN2020,
        theta_init=0.3,
        conductivity=1.0,
        radius_classes=3,
        n_points=5,
        properties="geometric",
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


def test_measured_layers_carry_the_effective_properties():
    """Default properties: each slab's electrolyte fraction, tortuosity, conductivity,
    diffusion radius, reaction area (through the kinetic factor) and unwired AM (an
    isolated class) are those of micro.effective with the given phase physics."""
    vol = synthetic_electrode((24, 20, 20), 2e-7, am_fraction=0.5, cbd_fraction=0.12, seed=4)
    ph = PhaseProperties(cbd_porosity=0.4, cbd_tortuosity=2.5, am_conductivity=0.5)
    for classes in (1, 3):
        el = Electrode.from_volume(
            vol, 2, NMC811_CHEN2020, 0.3, radius_classes=classes, phases=ph, n_points=4
        )
        for lay, d in zip(el.layers, effective_properties(vol, 2, ph), strict=True):
            assert lay.porosity == pytest.approx(d["porosity"], rel=1e-12)
            assert lay.tortuosity_factor == pytest.approx(max(1.0, d["tortuosity"]), rel=1e-12)
            assert lay.matrix_conductivity == pytest.approx(d["conductivity"], rel=1e-12)
            ens = lay.particles
            live = ~ens.isolated
            area = 3 * lay.active_fraction * ens.weight / ens.radius * ens.kinetic_factor
            assert area[live].sum() == pytest.approx(d["reactive_area"], rel=1e-9)
            w = d["wired_am_fraction"] / d["am_fraction"]
            assert ens.weight[live].sum() == pytest.approx(w, rel=1e-9)
            # volume-weighted mean R^2 of the wired classes = the diffusion radius^2
            r2 = np.sum(ens.weight[live] * ens.radius[live] ** 2) / ens.weight[live].sum()
            assert np.sqrt(r2) == pytest.approx(d["diffusion_radius_m"], rel=1e-12)
    # a given conductivity overrides the measured one; geometric needs one
    el = Electrode.from_volume(vol, 1, NMC811_CHEN2020, 0.3, conductivity=2.0)
    assert el.layers[0].matrix_conductivity == 2.0
    with pytest.raises(ParameterError, match="needs conductivity"):
        Electrode.from_volume(vol, 1, NMC811_CHEN2020, 0.3, properties="geometric")
    with pytest.raises(ParameterError, match="allowed"):
        Electrode.from_volume(vol, 1, NMC811_CHEN2020, 0.3, properties="bruggeman")


def test_unwired_active_material_becomes_an_isolated_class():
    """A floating AM block (wetted, no solid path to the collector) is isolated."""
    d = np.zeros((12, 8, 8), dtype=np.uint8)
    d[:, 0:4, :] = 2  # wired AM through the thickness
    d[8:11, 5:8, 2:5] = 2  # floating block
    vol = LabelledVolume(d, (5e-7,) * 3, {"pore": 0, "cbd": 1, "am": 2})
    lay = Electrode.from_volume(vol, 1, NMC811_CHEN2020, 0.3).layers[0]
    ens = lay.particles
    assert ens.isolated.sum() == 1
    assert ens.weight[ens.isolated][0] == pytest.approx(27 / (27 + 12 * 4 * 8), rel=1e-12)


def test_one_mechanism_at_a_time():
    """properties=("radius",): the geometric layer with only the radius replaced by the
    measured diffusion radius; the reaction area stays the geometric 3 eps_s / R_median
    (the diagnosis of docs/voxel.md replaces one property at a time)."""
    vol = synthetic_electrode((24, 20, 20), 2e-7, am_fraction=0.5, cbd_fraction=0.12, seed=4)
    geo = Electrode.from_volume(vol, 1, NMC811_CHEN2020, 0.3, 1.0, properties="geometric")
    rad = Electrode.from_volume(vol, 1, NMC811_CHEN2020, 0.3, 1.0, properties=("radius",))
    g, r = geo.layers[0], rad.layers[0]
    assert (r.porosity, r.tortuosity_factor, r.matrix_conductivity) == (
        g.porosity,
        g.tortuosity_factor,
        g.matrix_conductivity,
    )
    assert r.particle_radius == pytest.approx(effective_properties(vol)[0]["diffusion_radius_m"])
    assert g.particles.kinetic_factor[0] == 1.0

    def area(lay):
        ens = lay.particles
        return np.sum(3 * lay.active_fraction * ens.weight / ens.radius * ens.kinetic_factor)

    assert area(r) == pytest.approx(area(g), rel=1e-12)
    with pytest.raises(ParameterError, match="unknown mechanism"):
        Electrode.from_volume(vol, 1, NMC811_CHEN2020, 0.3, 1.0, properties=("tortuosity",))


def test_area_alone_sets_the_measured_reaction_area():
    vol = synthetic_electrode((24, 20, 20), 2e-7, am_fraction=0.5, cbd_fraction=0.12, seed=4)
    lay = Electrode.from_volume(vol, 1, NMC811_CHEN2020, 0.3, 1.0, properties=("area",)).layers[0]
    ens = lay.particles
    area = np.sum(3 * lay.active_fraction * ens.weight / ens.radius * ens.kinetic_factor)
    d = effective_properties(vol)[0]
    assert area == pytest.approx(d["reactive_area"] + d["reactive_area_isolated"], rel=1e-12)
