"""The model's public run-time setters (what an aging run changes between cycles).

Each setter must leave the compiled residual equal to the NumPy reference, refresh the
parameters of the compiled step and drop the integrator's cached Jacobian and factors.
"""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.design.presets import chen2020_cell
from electrohet.errors import ParameterError
from electrohet.model import MeshOptions, Simulation
from electrohet.model.p2de import Control
from electrohet.progress import progress_bar
from electrohet.protocols.steps import parse_step

MESH = MeshOptions(points_per_domain=6, radial_points=5)


@pytest.fixture()
def sim():
    s = Simulation(chen2020_cell(), mesh=MESH)
    s.initial_state()
    return s


def _perturbed(sim: Simulation, seed: int = 1) -> np.ndarray:
    m = sim.model
    y = sim.initial_state()
    rng = np.random.default_rng(seed)
    Y = np.repeat(y[:, None], 3, axis=1)
    cs = m.slices["cs"]
    Y[cs] *= 1.0 + 0.03 * rng.standard_normal((cs.stop - cs.start, 3))
    Y[m.slices["ik"]] = 3.0 * rng.standard_normal((m.mesh.n_slots, 3))
    Y[m.slices["I"]] = 20.0
    return Y


@pytest.mark.parametrize("ctl", [Control("current", 20.0), Control("voltage", 3.7)])
def test_setters_keep_compiled_residual_equal_to_reference(sim, ctl):
    m = sim.model
    ns, ne = m.mesh.n_slots, m.mesh.n_elec
    rng = np.random.default_rng(0)
    m.set_film_resistance(np.asarray(m.r_fixed)[:, 0] + 1e-3 * rng.random(ns))
    m.set_exchange_prefactor(np.asarray(m.kin_pref)[:, 0] * (1.0 + rng.random(ns)))
    m.set_reacting_area(m.mesh.slot_area * (0.5 + 0.5 * rng.random(ns)))
    iso = np.zeros(ns, dtype=bool)
    iso[::3] = True
    m.set_isolated(iso)
    m.set_series_resistance(3e-3)
    m.set_matrix_conductivity(m.mesh.sigma * (0.2 + rng.random(ne)))
    Y = _perturbed(sim)
    ref = m.residual_reference(Y, ctl)
    got = m.residual(Y, ctl)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    assert m.mesh.slot_isolated is m.isolated and m.any_isolated


def test_setter_refreshes_kernel_parameters_and_drops_jacobian(sim):
    m, integ = sim.model, sim.integrator
    y = sim.initial_state()
    integ.start(0.0, y, 1e-3)
    assert integ.J is not None
    m.set_series_resistance(5e-3)
    assert integ.J is None and integ.lu is None and not integ.J_current
    # the compiled step reads the new series resistance
    assert integ.kernel_params is not None
    assert integ.kernel_params.series_resistance == 5e-3


def test_matrix_conductivity_sets_face_resistances(sim):
    m = sim.model
    ms = m.mesh
    sigma = np.linspace(1.0, 50.0, ms.n_elec)
    m.set_matrix_conductivity(sigma)
    r_half = ms.dx[ms.elec_cells] / (2.0 * sigma)
    left = m.s_face_left
    np.testing.assert_allclose(m.s_face_res[:, 0], r_half[left] + r_half[left + 1], rtol=1e-15)
    assert m.r_half_last == pytest.approx(r_half[m.pos_last], rel=1e-15)
    assert m.r_half_first == pytest.approx(r_half[m.neg_first], rel=1e-15)


def test_setters_reject_bad_input(sim):
    m = sim.model
    ns = m.mesh.n_slots
    with pytest.raises(ParameterError, match="slots"):
        m.set_film_resistance(np.zeros(ns + 1))
    with pytest.raises(ParameterError, match=">= 0"):
        m.set_exchange_prefactor(-np.ones(ns))
    with pytest.raises(ParameterError, match="finite"):
        m.set_film_resistance(np.full(ns, np.nan))
    with pytest.raises(ParameterError, match="series resistance"):
        m.set_series_resistance(-1.0)
    with pytest.raises(ParameterError, match="matrix conductivity"):
        m.set_matrix_conductivity(np.zeros(m.mesh.n_elec))
    with pytest.raises(ParameterError, match="slots"):
        m.set_isolated([True])


def test_public_run_step_matches_solve(sim):
    """run_step, as an aging cycle calls it, reaches the same end state as solve."""
    step = parse_step("Discharge at 1C for 10 minutes")
    y0 = sim.initial_state()
    t, y, info = sim.run_step(step, 0.0, y0)
    assert info["status"] == "completed" and t == pytest.approx(600.0)
    ds = Simulation(chen2020_cell(), mesh=MESH).solve([step])
    assert float(ds["voltage"][-1]) == pytest.approx(sim.model.terminal_voltage(y), abs=1e-9)


def test_progress_bar_counts_and_closes():
    bar = progress_bar(2, "cycles")
    bar.update(1)
    bar.update(1)
    bar.close()


def test_tolerances_are_restored_after_the_block(sim):
    integ = sim.integrator
    before = (integ.rtol, integ.newton_tol)
    with pytest.raises(RuntimeError), sim.tolerances(1e-7, 0.01):
        assert (integ.rtol, integ.newton_tol) == (1e-7, 0.01)
        raise RuntimeError("a failed step")
    assert (integ.rtol, integ.newton_tol) == before
    with sim.tolerances(2e-6):
        assert integ.rtol == 2e-6 and integ.newton_tol == before[1]
    assert (integ.rtol, integ.newton_tol) == before
