"""Concentration-dependent t+ and thermodynamic factor, exchange-current exponents.

- the compiled residual equals the NumPy reference (1e-12 per block) with callables
  for t+ and the thermodynamic factor and non-default i0 exponents, full and half
  cells (the Li-metal boundary takes t+ of its cell), both controls;
- with a t+ that varies by a factor of three across the run, the salt of the
  electrolyte is conserved to round-off (1e-9 relative, the tolerance of the constant-t+
  test in test_model_numerics) and the cyclable lithium as well: the salt balance is the
  flux form eps dc/dt = -div(N_diff + t+ i_e / F) + j / F;
- a callable that returns the constant gives the float's residual bit for bit (both
  routes to the material values); a solve with it agrees with the float's to 1e-9 V
  (not bit for bit: a callable t+ adds the c_e-phi_e couplings to the Jacobian's
  pattern, so the LU's ordering and the step sequence differ at round-off);
- i0 exponents equal to the defaults are the default form bit for bit, and the
  ActiveMaterial's exchange current follows the exponents;
- the Jacobian's sparsity pattern holds the couplings a variable t+ adds (the coloured
  finite-difference Jacobian equals a central difference of the reference, 1e-5).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from electrohet.design.presets import chen2020_cell, chen2020_half_cell
from electrohet.materials.base import constant
from electrohet.model import MeshOptions, Simulation
from electrohet.model.p2de import Control
from electrohet.model.results import lithium_inventory


def t_plus_fn(c):
    """A t+ falling from 0.45 to 0.15 over 0-2000 mol/m^3 [-] (test function)."""
    c = np.asarray(c, dtype=float)
    return 0.15 + 0.3 * np.exp(-np.maximum(c, 0.0) / 700.0)


def tdf_fn(c):
    """A thermodynamic factor rising from 1 to ~3 over 0-2000 mol/m^3 [-]."""
    c = np.asarray(c, dtype=float)
    return 1.0 + 1e-6 * np.maximum(c, 0.0) ** 2 / 2.0


def _with(cell, transference=None, tdf=None, exponents=None):
    el = cell.electrolyte
    el = dataclasses.replace(
        el,
        transference=el.transference if transference is None else transference,
        thermodynamic_factor=el.thermodynamic_factor if tdf is None else tdf,
    )
    cell = dataclasses.replace(cell, electrolyte=el)
    if exponents is not None:
        pos = cell.positive
        layers = [
            lay.with_(material=dataclasses.replace(lay.material, i0_exponents=exponents))
            for lay in pos.layers
        ]
        cell = dataclasses.replace(cell, positive=dataclasses.replace(pos, layers=layers))
    return cell


def _random_states(sim: Simulation, n_states: int, seed: int = 0) -> np.ndarray:
    m = sim.model
    y = sim.initial_state()
    rng = np.random.default_rng(seed)
    Y = np.repeat(y[:, None], n_states, axis=1)
    for name in ("ce", "cs"):
        s = m.slices[name]
        Y[s] *= 1.0 + 0.2 * rng.standard_normal((s.stop - s.start, n_states))
    for name in ("phie", "phis"):
        s = m.slices[name]
        Y[s] += 0.05 * rng.standard_normal((s.stop - s.start, n_states))
    Y[m.slices["ik"]] = 5.0 * rng.standard_normal(
        (m.slices["ik"].stop - m.slices["ik"].start, n_states)
    )
    Y[m.slices["I"]] = 30.0 * rng.standard_normal(n_states)
    return Y


MESH = MeshOptions(points_per_domain=8, radial_points=6)


@pytest.mark.parametrize("make", [chen2020_cell, chen2020_half_cell], ids=["full", "half"])
@pytest.mark.parametrize("control", [Control("current", 25.0), Control("voltage", 3.6)])
def test_compiled_residual_equals_reference_with_variable_electrolyte(make, control):
    cell = _with(make(), t_plus_fn, tdf_fn, exponents=(0.43, 0.3, 0.7))
    sim = Simulation(cell, mesh=MESH)
    m = sim.model
    assert m.variable_electrolyte and m.fused_params(control) is None
    Y = _random_states(sim, 4)
    ref = m.residual_reference(Y, control)
    got = m.residual(Y, control)
    for block, s in m.slices.items():
        scale = max(np.max(np.abs(ref[s])), 1e-300)
        err = np.max(np.abs(got[s] - ref[s])) / scale
        assert err < 1e-12, f"{block}: {err:.2e}"
    # and the variable terms matter: a constant t+ gives another salt balance
    m_const = Simulation(_with(make(), 0.3, 1.0), mesh=MESH).model
    ref_c = m_const.residual_reference(Y, control)
    s = m.slices["ce"]
    assert np.max(np.abs(ref_c[s] - ref[s])) > 1e-3 * np.max(np.abs(ref[s]))


def test_constant_callable_is_the_float_bit_for_bit():
    y_cells = {}
    for label, t in (("float", 0.2594), ("callable", lambda c: np.full_like(c, 0.2594))):
        y_cells[label] = Simulation(_with(chen2020_cell(), t, 1.0), mesh=MESH)
    m_f, m_c = y_cells["float"].model, y_cells["callable"].model
    assert not m_f.variable_electrolyte and m_c.variable_electrolyte
    Y = _random_states(y_cells["float"], 5, seed=4)
    for ctl in (Control("current", 25.0), Control("voltage", 3.6)):
        ref = m_f.residual_reference(Y, ctl)
        np.testing.assert_array_equal(m_c.residual_reference(Y, ctl), ref)
        np.testing.assert_array_equal(m_c.residual(Y, ctl), m_f.residual(Y, ctl))
        m_f._formulas_compiled = False  # the NumPy route to the material values
        np.testing.assert_array_equal(m_c.residual(Y, ctl), m_f.residual(Y, ctl))
        m_f._formulas_compiled = True
    # a constant() function is a number: the constant-t+ path itself
    assert not Simulation(
        _with(chen2020_cell(), constant(0.2594)), mesh=MESH
    ).model.variable_electrolyte
    steps = ["Discharge at 1C until 2.5 V"]
    v = {k: s.solve(steps) for k, s in y_cells.items()}
    a, b = v["float"].voltage.values, v["callable"].voltage.values
    assert abs(v["float"].capacity.values[-1] / v["callable"].capacity.values[-1] - 1) < 1e-8
    t = v["float"].time.values
    np.testing.assert_allclose(np.interp(t, v["callable"].time.values, b), a, atol=1e-6)


def test_default_exponents_are_the_transfer_coefficients_bit_for_bit():
    cell = chen2020_cell()
    mat = cell.positive.layers[0].material
    explicit = dataclasses.replace(mat, i0_exponents=(mat.alpha_a, mat.alpha_a, mat.alpha_c))
    ce = np.linspace(100.0, 3000.0, 7)
    cs = np.linspace(0.05, 0.95, 7) * mat.c_max
    np.testing.assert_array_equal(explicit.exchange_current(ce, cs), mat.exchange_current(ce, cs))
    odd = dataclasses.replace(mat, i0_exponents=(0.43, 0.5, 0.8))
    expected = mat.exchange_prefactor * ce**0.43 * (mat.c_max - cs) ** 0.5 * cs**0.8
    np.testing.assert_allclose(odd.exchange_current(ce, cs), expected, rtol=1e-13)


@pytest.mark.parametrize("make", [chen2020_cell, chen2020_half_cell], ids=["full", "half"])
def test_salt_conserved_with_variable_transference(make):
    """Salt (full cell) or salt minus the foil's exchange (half cell) to round-off."""
    cell = _with(make(), t_plus_fn, tdf_fn)
    sim = Simulation(cell)
    full = make is chen2020_cell
    steps = (
        ["Discharge at 2C until 2.5 V", "Rest for 10 minutes", "Charge at 1C until 4.2 V"]
        if full
        else ["Discharge at 2C until 3.0 V", "Rest for 10 minutes"]
    )
    ds = sim.solve(steps)
    assert ds.attrs["status"] == "completed"
    ce = ds.c_e.values
    salt = (ds.c_e * ds.dx * ds.porosity).sum("x").values
    t_range = t_plus_fn(ce)
    assert t_range.max() - t_range.min() > 0.1  # t+ does vary along the run
    if full:
        assert np.max(np.abs(salt / salt[0] - 1.0)) < 1e-9
        li = lithium_inventory(ds).values
        assert np.max(np.abs(li / li[0] - 1.0)) < 1e-9
    else:
        # the foil dissolves Q/F of lithium into the electrolyte, all of which the
        # cathode takes up: salt + lithium in the cathode - Q/F is the initial lithium
        li = lithium_inventory(ds).values
        q = ds.capacity.values * 3600.0 / 96485.33212  # [mol/m^2]
        drift = (li - q) - (li[0] - q[0])
        assert np.max(np.abs(drift)) / li[0] < 1e-9


@pytest.mark.parametrize("make", [chen2020_cell, chen2020_half_cell], ids=["full", "half"])
def test_coloured_jacobian_with_variable_electrolyte(make):
    """The Jacobian's pattern holds the couplings t+(c_e) adds (c_e rows on phi_e of the
    neighbours): the coloured finite-difference Jacobian of the compiled residual equals
    a column-by-column central difference of the reference (1e-5 of the row's largest
    entry), on a state with a non-uniform c_e (where t+ differs from t+(c0))."""
    import scipy.sparse as sp

    sim = Simulation(_with(make(), t_plus_fn, tdf_fn, exponents=(0.43, 0.3, 0.7)), mesh=MESH)
    m = sim.model
    integ = sim.integrator
    y = sim.initial_state()
    ce = m.slices["ce"]
    y[ce] *= 1.0 + 0.3 * np.sin(np.linspace(0.0, 3.0, ce.stop - ce.start))
    y[m.slices["ik"]] += 1.0
    y[m.slices["I"]] = 20.0
    ctl = Control("current", 20.0)

    def fun(Y):
        return m.residual(Y, ctl)

    J = sp.csc_matrix(
        (integ.jac.values(fun, y, fun(y)), integ.pattern.indices, integ.pattern.indptr),
        shape=integ.pattern.shape,
    ).toarray()
    n = y.size
    J_ref = np.empty((n, n))
    for j in range(n):
        h = 1e-6 * max(abs(y[j]), sim.scale[j])
        e = np.zeros(n)
        e[j] = h
        J_ref[:, j] = (m.residual_reference(y + e, ctl) - m.residual_reference(y - e, ctl)) / (
            2 * h
        )
    row_scale = np.maximum(np.max(np.abs(J_ref), axis=1), 1e-300)
    err = np.max(np.abs(J - J_ref) / row_scale[:, None])
    assert err < 1e-5, f"{err:.2e}"
