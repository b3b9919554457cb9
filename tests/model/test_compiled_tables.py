"""Material functions given as tables run in the fully compiled residual.

- the compiled interpolant (:func:`electrohet.model.material_kernels.interp`) equals
  ``np.interp`` bit for bit (knots, between knots, beyond the ends, NaN);
- a cell whose OCPs, electrolyte conductivity and diffusivity and (SOC-dependent) solid
  diffusivities are tables (:class:`~electrohet.design.pybamm_import.TabulatedFunction`,
  the importers' form) takes the fused route and its compiled residual equals the NumPy
  reference to round-off, in both control modes and in a coloured-Jacobian-like batch;
- a BPX cell (expressions tabulated at import) takes the fused route and solves on the
  compiled step loop; a ``from_pybamm`` cell too (skipped without PyBaMM).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from electrohet.design.presets import chen2020_cell
from electrohet.design.pybamm_import import TRANSPORT_RTOL, tabulate
from electrohet.materials.base import constant
from electrohet.model import MeshOptions, Simulation
from electrohet.model.material_kernels import TablePack, interp, linear_table
from electrohet.model.p2de import Control


def _table(fn, low, high, name, **tol):
    tab = tabulate(fn, low, high, name, **tol)
    assert linear_table(tab) is not None
    return tab


def _tabulated_chen(soc_diffusivity: bool = True):
    """Chen 2020 with every material function as a table; the solid diffusivities
    made SOC-dependent (a factor 3 across theta) when ``soc_diffusivity``."""
    cell = chen2020_cell()
    c_hi = 4.0 * cell.electrolyte.c0
    el = dataclasses.replace(
        cell.electrolyte,
        conductivity=_table(cell.electrolyte.conductivity, 0.0, c_hi, "kappa", rtol=TRANSPORT_RTOL),
        diffusivity=_table(cell.electrolyte.diffusivity, 0.0, c_hi, "D_e", rtol=TRANSPORT_RTOL),
    )

    def material(mat):
        D0 = float(mat.diffusivity.constant_value)
        D = (
            _table(lambda t: D0 * (0.5 + 1.5 * t**2), 0.0, 1.0, "D_s", rtol=TRANSPORT_RTOL)
            if soc_diffusivity
            else constant(D0)
        )
        return dataclasses.replace(
            mat, ocp=_table(mat.ocp, 0.0, 1.0, "U", atol=1e-5), diffusivity=D
        )

    def electrode(e):
        return dataclasses.replace(
            e, layers=[ly.with_(material=material(ly.material)) for ly in e.layers]
        )

    return dataclasses.replace(
        cell, negative=electrode(cell.negative), positive=electrode(cell.positive), electrolyte=el
    )


def _sim(cell) -> Simulation:
    return Simulation(cell, mesh=MeshOptions(points_per_domain=8, radial_points=6))


def _random_states(sim: Simulation, n_states: int, seed: int = 0) -> np.ndarray:
    """Perturbations of a consistent state (concentrations by ~5 %, potentials by 50 mV;
    as in test_compiled_kernels.py)."""
    m = sim.model
    y = sim.initial_state()
    rng = np.random.default_rng(seed)
    Y = np.repeat(y[:, None], n_states, axis=1)
    for name in ("ce", "cs"):
        s = m.slices[name]
        Y[s] *= 1.0 + 0.05 * rng.standard_normal((s.stop - s.start, n_states))
    for name in ("phie", "phis"):
        s = m.slices[name]
        Y[s] += 0.05 * rng.standard_normal((s.stop - s.start, n_states))
    s = m.slices["ik"]
    Y[s] = 5.0 * rng.standard_normal((s.stop - s.start, n_states))
    Y[m.slices["I"]] = 30.0 * rng.standard_normal(n_states)
    return Y


def test_compiled_interpolant_equals_numpy_interp():
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(-1.0, 2.0, 40))
    y = np.cos(3.0 * x) * 1e-3 + rng.standard_normal(40) * 1e-5
    x2 = np.array([0.0, 1.0])
    y2 = np.array([4.2, 4.2])
    pack = TablePack()

    class F:
        def __init__(self, a, b):
            self.linear_table = (a, b)

    t1, t2 = pack.add(F(x, y)), pack.add(F(x2, y2))
    tx, ty, ts = pack.arrays()
    v = np.concatenate([rng.uniform(-1.5, 2.5, 2000), x, [x[0], x[-1], -np.inf, np.inf]])
    for t, (a, b) in ((t1, (x, y)), (t2, (x2, y2))):
        got = np.array([interp(tx, ty, ts[t], ts[t + 1], float(u)) for u in v])
        np.testing.assert_array_equal(got, np.interp(v, a, b))
    assert np.isnan(interp(tx, ty, ts[t1], ts[t1 + 1], np.nan))
    assert pack.add(np.exp) == -1
    assert linear_table(constant(2.5)) is not None


@pytest.mark.parametrize("soc_diffusivity", [True, False])
@pytest.mark.parametrize("control", [Control("current", 25.0), Control("voltage", 3.6)])
def test_tabulated_cell_compiled_residual_equals_reference(soc_diffusivity, control):
    sim = _sim(_tabulated_chen(soc_diffusivity))
    m = sim.model
    assert m.fused_params(control) is not None  # the fused route, tables compiled
    Y = _random_states(sim, 5, seed=11)
    ref = m.residual_reference(Y, control)
    got = m.residual(Y, control)
    for block, s in m.slices.items():
        scale = max(np.max(np.abs(ref[s])), 1e-300)
        err = np.max(np.abs(got[s] - ref[s])) / scale
        assert err < 1e-12, f"{block}: {err:.2e}"
    # the NumPy route to the material values gives the same
    m._formulas_compiled = False
    assert m.fused_params(control) is None
    np.testing.assert_allclose(m.residual(Y, control), got, rtol=1e-13, atol=0)
    m._formulas_compiled = True
    # a coloured-Jacobian-like batch equals its columns (the reuse of values is exact)
    y = Y[:, 0]
    B = np.repeat(y[:, None], 6, axis=1)
    rng = np.random.default_rng(2)
    for b in (1, 3, 4):
        idx = rng.choice(y.size, 25, replace=False)
        B[idx, b] *= 1.0 + 1e-8
    cols = np.column_stack([m.residual(B[:, b].copy(), control) for b in range(B.shape[1])])
    np.testing.assert_array_equal(m.residual(B, control), cols)


def test_tabulated_cell_solves_compiled_like_the_python_route():
    """The tabulated cell runs the compiled step loop; the Python route (NumPy material
    values) gives the same discharge to well within the solver tolerance."""
    runs = []
    for compiled in (True, False):
        sim = _sim(_tabulated_chen())
        sim.model._formulas_compiled = compiled
        ds = sim.solve("Discharge at 1C until 2.5 V")
        assert ds.attrs["status"] == "completed", ds.attrs["message"]
        assert sim.integrator.compiled is compiled
        runs.append(ds)
    a, b = runs
    assert float(a.capacity.values[-1]) == pytest.approx(float(b.capacity.values[-1]), rel=1e-6)


def test_bpx_cell_takes_the_compiled_route():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "materials"))
    from test_materials_bpx import _build, chen_bpx

    sim = _sim(_build(chen_bpx()))
    assert sim.model.fused_params(Control("current", 25.0)) is not None
    # the exact expressions (not tabulated) stay on the NumPy material path
    exact = _sim(_build(chen_bpx(), tabulate_expressions=False))
    assert exact.model.fused_params(Control("current", 25.0)) is None
    ds = sim.solve("Discharge at 1C until 2.5 V")
    assert ds.attrs["status"] == "completed", ds.attrs["message"]
    assert sim.integrator.compiled


@pytest.mark.pybamm
@pytest.mark.parametrize("name", ["Chen2020", "Ecker2015"])
def test_from_pybamm_cell_takes_the_compiled_route(name):
    pytest.importorskip("pybamm")
    from electrohet.design import from_pybamm

    sim = _sim(from_pybamm(name))
    assert sim.model.fused_params(Control("current", 25.0)) is not None
    Y = np.repeat(sim.initial_state()[:, None], 2, axis=1)
    Y[:, 1] *= 1.0 + 1e-3
    ctl = Control("current", 25.0)
    ref = sim.model.residual_reference(Y, ctl)
    got = sim.model.residual(Y, ctl)
    for s in sim.model.slices.values():
        scale = max(np.max(np.abs(ref[s])), 1e-300)
        assert np.max(np.abs(got[s] - ref[s])) / scale < 1e-12
    ds = sim.solve(f"Discharge at 1C until {sim.cell.v_min} V")
    assert ds.attrs["status"] == "completed", ds.attrs["message"]
    assert sim.integrator.compiled
