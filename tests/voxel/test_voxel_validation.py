"""Voxel model against the 1D porous-electrode model of electrohet.model.

* one spherical particle in electrolyte at C/20 vs the 1D spherical-particle model;
* homogenisation: a generated volume vs Electrode.from_volume of the same volume (slow);
* resolution: upsampling x2 changes the C/2 capacity by < 1 % (slow).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from electrohet.design.layer import Cell, Electrode, Layer, Separator
from electrohet.materials.base import LithiumMetal, constant
from electrohet.materials.chen2020 import LIPF6_EC_EMC_NYMAN2008
from electrohet.materials.registry import get_material
from electrohet.model import Simulation as Simulation1D
from electrohet.voxel import Simulation
from electrohet.voxel.compare import voltage_difference


def sphere_in_box(n: int = 12, radius: float = 5.0) -> np.ndarray:
    """One AM sphere (label 2) in electrolyte (label 0), touching the collector face z = 0."""
    z, y, x = np.mgrid[:n, :n, :n] + 0.5
    sph = (z - radius) ** 2 + (y - n / 2) ** 2 + (x - n / 2) ** 2 <= radius**2
    return np.where(sph, 2, 0).astype(np.int16)


def _half_cell(positive: Electrode, one_c: float, sep: float = 20e-6) -> Cell:
    return Cell(
        negative=LithiumMetal(),
        separator=Separator(sep, 0.5),
        positive=positive,
        electrolyte=LIPF6_EC_EMC_NYMAN2008,
        v_min=3.0,
        v_max=4.4,
        nominal_capacity=one_c,
    )


def _compare(ds_vox, ds_1d, upto: float = 0.95, start: float = 0.0):
    """Voltage difference on a common capacity grid [V]: (rms, max)."""
    d = voltage_difference(ds_vox, ds_1d, start=start, upto=upto)
    return d["rms"], d["max"]


def test_isolated_particle_matches_1d_spherical_particle():
    """A voxelised sphere (R = 5 voxels of 1 um) in a box of electrolyte against the 1D
    model with one particle of the same volume (same AM volume, porosity, separator,
    electrolyte, kinetics).  At C/20 transport losses are sub-mV, so the curves must
    agree within 2 mV (RMS over 0-95 % of the capacity, and the maximum over 5-95 %;
    the remaining difference is the voxel surface concentration being the outer voxel's
    mean and the staircase surface area)."""
    mat = replace(get_material("NMC532"), electronic_conductivity=constant(100.0))
    n, h = 12, 1e-6
    vol = sphere_in_box(n, 5.0)
    sim = Simulation(vol, {"pore": 0, "am": 2}, h, mat, separator_thickness=20e-6)
    ds = sim.solve("Discharge at C/20 until 3.2 V")
    assert ds.attrs["status"] == "completed"
    n_am = int(np.sum(vol == 2))
    eps_am = n_am / vol.size
    r_eq = (3 * n_am / (4 * np.pi)) ** (1 / 3) * h
    layer = Layer(
        material=mat,
        thickness=n * h,
        porosity=1 - eps_am,
        active_fraction=eps_am,
        cbd_fraction=0.0,
        particle_radius=r_eq,
        conductivity=100.0,
    )
    d1 = Simulation1D(_half_cell(Electrode(layer, mat.theta_100), sim.one_c)).solve(
        "Discharge at C/20 until 3.2 V"
    )
    rms, _ = _compare(ds, d1)
    _, worst = _compare(ds, d1, start=0.05)
    assert rms < 2e-3
    assert worst < 2e-3
    # capacities to 3.2 V agree within 1 % (same AM volume and window)
    assert float(ds.capacity[-1]) == pytest.approx(float(d1.capacity[-1]), rel=0.01)
    assert ds.attrs["lithium_balance_error"] < 1e-9


@pytest.mark.slow
def test_homogenisation_against_from_volume():
    """Generated volume (random spheres + CBD, 16 x 12 x 12 voxels of 0.5 um) vs the 1D
    model that Electrode.from_volume builds from the same volume with the voxel run's
    phase physics (measured electrolyte fraction and tortuosity, solid conductivity,
    reaction area and diffusion radius; CBD clogged in both).  C/10: within 10 mV RMS.
    The rate dependence of the gap and its diagnosis: docs/voxel.md, "The
    image-to-layers bridge" (reported there, not asserted here)."""
    from electrohet.micro.generate import synthetic_electrode
    from electrohet.voxel.compare import phase_properties

    vol = synthetic_electrode(
        (16, 12, 12), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1.5e-6, seed=2
    )
    mat = get_material("NMC532")
    sim = Simulation(vol, material=mat, cbd_clogged=True)
    ds = sim.solve("Discharge at 0.1C until 3.0 V")
    el = Electrode.from_volume(vol, 1, mat, mat.theta_100, phases=phase_properties(sim))
    d1 = Simulation1D(_half_cell(el, sim.one_c)).solve("Discharge at 0.1C until 3.0 V")
    rms, _ = _compare(ds, d1, upto=0.98)
    assert rms < 10e-3


@pytest.mark.slow
def test_upsampling_changes_capacity_less_than_one_percent():
    """Each voxel split into 2 x 2 x 2 (same geometry, finer fields): the C/2 capacity
    to 3.0 V changes by < 1 %."""
    from electrohet.micro.generate import synthetic_electrode

    vol = synthetic_electrode(
        (12, 8, 8), 1e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=2e-6, seed=4
    )
    fine = np.repeat(np.repeat(np.repeat(np.asarray(vol.data), 2, 0), 2, 1), 2, 2)
    caps = []
    for data, h in ((np.asarray(vol.data), 1e-6), (fine, 0.5e-6)):
        sim = Simulation(data, vol.labels, h, "NMC532")
        ds = sim.solve("Discharge at C/2 until 3.0 V")
        assert ds.attrs["status"] == "completed"
        caps.append(float(ds.capacity[-1]))
    assert abs(caps[1] - caps[0]) / caps[0] < 0.01
