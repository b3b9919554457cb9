"""Voxel model: analytic Jacobian, conservation, rest state, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.errors import ElectrohetError, ParameterError
from electrohet.materials.base import LithiumMetal
from electrohet.materials.chen2020 import LIPF6_EC_EMC_NYMAN2008
from electrohet.materials.soc_dependent import NMC532_SOC
from electrohet.voxel import Simulation, graded_film_thickness
from electrohet.voxel.geometry import build_grid
from electrohet.voxel.model import Control, VoxelModel

LABELS = {"pore": 0, "cbd": 1, "am": 2}


def _tiny_model(seed: int = 0):
    rng = np.random.default_rng(seed)
    phase = rng.integers(0, 3, size=(5, 4, 4))
    grid = build_grid(
        phase,
        (1e-6, 0.8e-6, 1.2e-6),  # anisotropic on purpose
        cbd_porosity=0.4,
        cbd_tortuosity=2.0,
        cbd_conductivity=10.0,
        cbd_clogged=False,
        sep_thickness=20e-6,
        sep_porosity=0.5,
        sep_tortuosity=1.5,
        n_sep=4,
    )
    film = rng.uniform(0.0, 1e-3, grid.r_faces.n)
    model = VoxelModel(grid, NMC532_SOC, LIPF6_EC_EMC_NYMAN2008, LithiumMetal(), film)
    y = model.initial_state(0.6)
    noise = np.concatenate(
        [np.full(grid.n_e, 50.0), np.full(grid.n_am, 300.0), np.full(grid.n_e + grid.n_solid, 1e-2)]
    )
    y[: noise.size] += rng.normal(0.0, 1.0, noise.size) * noise
    y[model.iI] = 5.0
    return model, y


@pytest.mark.parametrize("control", [Control("current", 3.0), Control("voltage", 3.9)])
def test_analytic_jacobian_matches_finite_differences(control):
    """Every entry of the assembled Jacobian (SOC-dependent sigma and D_s, film resistance,
    concentration-dependent electrolyte, Li foil) equals a central difference of the
    residual; tolerance 1e-6 of the row's largest entry (central differences are accurate
    to ~1e-8 here, the material slopes themselves are differenced with step 1e-6)."""
    model, y = _tiny_model()
    dt = 10.0
    _, J = model.residual(y, y, dt, control)
    J = J.toarray()
    Jfd = np.zeros_like(J)
    for k in range(model.n):
        h = 1e-6 * max(1.0, abs(y[k]))
        yp, ym = y.copy(), y.copy()
        yp[k] += h
        ym[k] -= h
        Jfd[:, k] = (
            model.residual(yp, y, dt, control, False) - model.residual(ym, y, dt, control, False)
        ) / (2 * h)
    rel = np.abs(J - Jfd) / (np.abs(Jfd).max(axis=1, keepdims=True) + 1e-300)
    assert rel.max() < 1e-6


def test_lithium_and_salt_conserved(small_volume):
    """Backward Euler telescopes the fluxes: the AM gains exactly the charge passed (Li
    foil source) and the salt is constant, to 1e-9 relative (Newton tolerance 1e-8 on
    the scaled update gives ~1e-13 in practice)."""
    sim = Simulation(small_volume, material="NMC532", film_thickness=10e-9)
    ds = sim.solve(
        ["Discharge at 1C for 10 minutes", "Rest for 2 minutes", "Charge at 2C for 3 minutes"]
    )
    assert ds.attrs["status"] == "completed"
    assert ds.attrs["lithium_balance_error"] < 1e-9
    assert ds.attrs["salt_balance_error"] < 1e-9
    # the charge really moved: 1C for 10 min is 1/6 of the window minus 1/10 back
    dq = float(ds.capacity[-1]) / sim.one_c
    assert dq == pytest.approx(1 / 6 - 2 * 3 / 60, rel=1e-6)


def test_rest_state_is_the_open_circuit_potential(small_volume):
    """At rest with uniform lithium fraction the voltage is U(theta) exactly (no current,
    uniform c_e: every overpotential vanishes)."""
    sim = Simulation(small_volume, material="NMC532", theta_init=0.6)
    ds = sim.solve("Rest for 10 minutes")
    u = float(sim.material.ocp(np.array([0.6]))[0])
    assert np.allclose(ds.voltage.values, u, atol=1e-9)


def test_graded_film_mean_rises_towards_separator():
    z = np.repeat(np.linspace(0, 1, 11), 2000)
    t = graded_film_thickness(z, 3e-9, 28e-9, rel_sigma=0.3, seed=1)
    means = t.reshape(11, -1).mean(axis=1)
    # mean 3 -> 28 nm within 3 % (sampling error of 2000 draws with 30 % spread: ~0.7 %)
    assert means[0] == pytest.approx(3e-9, rel=0.03)
    assert means[-1] == pytest.approx(28e-9, rel=0.03)
    assert np.all(np.diff(means) > 0)


def _box(n=6):
    a = np.zeros((n, n, n), dtype=np.int16)
    a[:, :3] = 2  # a slab of AM through the thickness, pore elsewhere
    return a


def test_bad_input_missing_voxel_size():
    with pytest.raises(ParameterError, match="voxel_size is missing"):
        Simulation(_box(), LABELS, None)


def test_bad_input_no_active_material():
    with pytest.raises(ParameterError, match="no active-material"):
        Simulation(np.zeros((6, 6, 6), np.int16), LABELS, 1e-6)


def test_bad_input_label_not_in_map():
    a = _box()
    a[0, 0, 0] = 7
    with pytest.raises(ParameterError, match=r"label value\(s\) \[7\]"):
        Simulation(a, LABELS, 1e-6)


def test_bad_input_electrolyte_not_percolating():
    a = _box()
    a[2] = 1  # a CBD wall across the thickness; clogged CBD blocks ions
    with pytest.raises(ParameterError, match="electrolyte .* does not percolate"):
        Simulation(a, LABELS, 1e-6, cbd_clogged=True)
    Simulation(a, LABELS, 1e-6)  # nano-porous CBD conducts ions: accepted


def test_bad_input_solid_not_wired():
    a = _box()
    a[0] = 0  # AM lifted off the collector
    with pytest.raises(ParameterError, match="electronically connected"):
        Simulation(a, LABELS, 1e-6)


def test_bad_input_is_an_electrohet_error():
    with pytest.raises(ElectrohetError):
        Simulation(_box(), {"pore": 0, "bogus": 2}, 1e-6)


def test_jacobian_with_own_exchange_current_exponents():
    """i0 = k c_e^0.43 (c_max - c_s)^0.3 c_s^0.7: the analytic Jacobian's kinetic rows
    still equal central differences of the residual (1e-6 of the row's largest entry)."""
    import dataclasses

    model, y = _tiny_model()
    i_default = model.reaction(y)[0]
    model.material = dataclasses.replace(model.material, i0_exponents=(0.43, 0.3, 0.7))
    ctl = Control("current", 3.0)
    _, J = model.residual(y, y, 10.0, ctl)
    J = J.toarray()
    Jfd = np.zeros_like(J)
    for k in range(model.n):
        h = 1e-6 * max(1.0, abs(y[k]))
        yp, ym = y.copy(), y.copy()
        yp[k] += h
        ym[k] -= h
        Jfd[:, k] = (
            model.residual(yp, y, 10.0, ctl, False) - model.residual(ym, y, 10.0, ctl, False)
        ) / (2 * h)
    rel = np.abs(J - Jfd) / (np.abs(Jfd).max(axis=1, keepdims=True) + 1e-300)
    assert rel.max() < 1e-6
    # the exponents are used: other reaction currents
    assert np.max(np.abs(model.reaction(y)[0] - i_default)) > 1e-3 * np.max(np.abs(i_default))


def test_variable_transference_refused_by_the_voxel_model():
    import dataclasses

    grid_model, _ = _tiny_model()
    el = dataclasses.replace(LIPF6_EC_EMC_NYMAN2008, transference=lambda c: 0.3 + 0 * c)
    with pytest.raises(ParameterError, match="constant transference number"):
        VoxelModel(grid_model.grid, NMC532_SOC, el, LithiumMetal(), 0.0)
