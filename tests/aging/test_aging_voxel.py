"""Aging a voxel volume: CEI growth per reaction face through the experiment engine.

Checks: lithium conserved to round-off across cycles (active material + film + foil);
the film and lithium bookkeeping are exact identities of the side charge; the side
charge of a rest equals the analytic Tafel integral; no CEI, no change.
"""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.aging.mechanisms import CEIGrowth
from electrohet.aging.voxel import age_voxel
from electrohet.errors import ParameterError
from electrohet.materials.base import R_GAS, T_REF, F
from electrohet.voxel import Simulation


@pytest.fixture(scope="module")
def small_volume():
    from electrohet.micro.generate import synthetic_electrode

    return synthetic_electrode(
        (10, 8, 8), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1.0e-6, seed=3
    )


CYCLE = ["Discharge at 1C until 3.0 V", "Charge at 1C until 4.3 V"]


def test_aged_volume_conserves_lithium_and_books_the_film(small_volume):
    cei = CEIGrowth(i0=1e-5, u_ref=4.0)
    sim = Simulation(small_volume, material="NMC532")
    area = sim.grid.r_faces.area
    ds = age_voxel(sim, CYCLE, 3, cei=cei)
    assert ds.attrs["status"] == "completed"
    assert ds.sizes["cycle"] == 3
    # lithium: active material + film = initial + exchanged with the foil, to round-off
    assert float(ds.lithium_balance_error.max()) < 1e-12
    # each electron of the side reaction binds one lithium
    q = ds.side_charge.values
    assert np.allclose(ds.lithium_cei.values, np.cumsum(q) / F, rtol=1e-12)
    # the face-area mean film grows by V_cei Q / (F sum A)
    dl = cei.molar_volume * q / (F * area.sum())
    assert np.allclose(np.diff(ds.film_thickness_mean.values), dl[1:], rtol=1e-9)
    assert ds.film_thickness_mean.values[0] == pytest.approx(dl[0], rel=1e-9)
    # the grown film is in the model's face resistances
    grown = sim.model.r_film * cei.conductivity
    assert np.average(grown, weights=area) == pytest.approx(
        float(ds.film_thickness_mean[-1]), rel=1e-9
    )
    assert np.all(q > 0) and np.all(ds.discharge_capacity > 0)


def test_rest_side_charge_is_the_tafel_integral(small_volume):
    """At rest the surface potential is the OCP of the uniform state: the side charge
    of one hour is i0 exp(alpha F (U - U_cei) / (R T)) x 3600 s per m^2 of face."""
    cei = CEIGrowth(i0=1e-6, u_ref=4.0, activation_energy=0.0)
    sim = Simulation(small_volume, material="NMC532", theta_init=0.5, temperature=T_REF)
    ds = age_voxel(sim, ["Rest for 1 hour"], 1, cei=cei)
    u = float(sim.material.ocp(np.array([0.5]))[0])
    i_side = cei.i0 * np.exp(cei.alpha * F / (R_GAS * T_REF) * (u - cei.u_ref))
    expected = i_side * 3600.0 * sim.grid.r_faces.area.sum()
    assert float(ds.side_charge[0]) == pytest.approx(expected, rel=1e-6)


def test_no_cei_no_change(small_volume):
    sim = Simulation(small_volume, material="NMC532")
    r0 = sim.model.r_film.copy()
    ds = age_voxel(sim, CYCLE, 2, cei=CEIGrowth(enabled=False))
    assert float(ds.side_charge.max()) == 0.0
    assert float(ds.lithium_cei[-1]) == 0.0
    assert np.array_equal(sim.model.r_film, r0)
    assert float(ds.lithium_balance_error.max()) < 1e-12


def test_bad_input(small_volume):
    sim = Simulation(small_volume, material="NMC532")
    with pytest.raises(ParameterError, match="n_cycles"):
        age_voxel(sim, CYCLE, 0)
    with pytest.raises(ParameterError, match="no steps"):
        age_voxel(sim, [], 1)
    with pytest.raises(ParameterError, match="one finite value"):
        sim.set_film_resistance(np.zeros(3))
