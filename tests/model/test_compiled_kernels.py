"""The compiled solver kernels against their references.

- the compiled residual (:mod:`electrohet.model.p2de_kernel`) equals the NumPy reference
  residual to round-off (1e-12 relative to the largest entry of its block) on random
  states, for every model feature: full and half cells, layers, K particle classes with
  films, contact paths and isolated classes, SOC-dependent diffusivity, both surface
  closures and both control modes; on a model both routes to its material values (the
  compiled formulas of ``residual_fused`` and the NumPy material functions) give it;
- the static-pivot sparse LU (:mod:`electrohet.model.sparse_lu`) solves the iteration
  matrices ``M - c J`` of the model to 1e-10 of SuperLU's answer for step sizes from
  1e-6 s to 1e3 s (which forces it to switch pivot orders);
- the compiled twins of the Chen 2020 material formulas equal NumPy's (1e-13) and the
  BDF step kernels equal the NumPy expressions they replace (1e-13);
- the coloured finite-difference Jacobian of the compiled residual agrees with a
  column-by-column central difference of the reference residual (1e-5 relative to the
  row's largest entry: forward-difference truncation and round-off).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.design.ensemble import ParticleEnsemble
from electrohet.design.presets import chen2020_cell, chen2020_half_cell, chen2020_positive_layer
from electrohet.materials import chen2020
from electrohet.materials.soc_dependent import with_soc_dependence
from electrohet.model import MeshOptions, Simulation
from electrohet.model.bdf_kernels import accept, predict, wrms_masked
from electrohet.model.fastfn import fast
from electrohet.model.p2de import Control
from electrohet.model.sparse_lu import StaticLU, symbolic_lu_pattern


def _ensemble_layers():
    base = chen2020_positive_layer()
    ens = ParticleEnsemble(
        radius=[0.6 * base.particle_radius, base.particle_radius, 1.5 * base.particle_radius],
        weight=[0.3, 0.5, 0.2],
        film_resistance=[0.0, 1e-3, 2e-3],
        contact_path=[0.0, 5e-6, 0.0],
        isolated=[False, False, True],
    )
    soc_mat = with_soc_dependence(base.material)
    return [
        base.with_(thickness=base.thickness / 2, n_points=6, name="top", ensemble=ens),
        base.with_(thickness=base.thickness / 2, n_points=6, name="bottom", material=soc_mat),
    ]


CELLS = {
    "full": lambda: chen2020_cell(),
    "half": lambda: chen2020_half_cell(),
    "ensemble-layers": lambda: chen2020_cell(_ensemble_layers()),
    "ensemble-half": lambda: chen2020_half_cell(_ensemble_layers()),
}


def _sim(name: str, surface: str = "linear") -> Simulation:
    return Simulation(
        CELLS[name](), mesh=MeshOptions(points_per_domain=8, radial_points=6, surface=surface)
    )


def _random_states(sim: Simulation, n_states: int, seed: int = 0) -> np.ndarray:
    """Perturbations of a consistent state (concentrations by ~5 %, potentials by 50 mV)."""
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


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("surface", ["linear", "flux"])
@pytest.mark.parametrize("control", [Control("current", 25.0), Control("voltage", 3.6)])
def test_compiled_residual_equals_reference(name, surface, control):
    sim = _sim(name, surface)
    m = sim.model
    Y = _random_states(sim, 4)
    ref = m.residual_reference(Y, control)
    got = m.residual(Y, control)
    assert got.shape == ref.shape
    for block, s in m.slices.items():
        scale = max(np.max(np.abs(ref[s])), 1e-300)
        err = np.max(np.abs(got[s] - ref[s])) / scale
        assert err < 1e-12, f"{block}: {err:.2e}"
    # a single state (1-D) gives the same as its column
    np.testing.assert_array_equal(m.residual(Y[:, 1].copy(), control), got[:, 1])


@pytest.mark.parametrize("control", [Control("current", 25.0), Control("voltage", 3.6)])
def test_both_material_routes_of_the_compiled_residual_equal_reference(control):
    """The Chen 2020 full cell runs on the fused residual (material formulas compiled
    in the kernel); the same model with its material values from NumPy (as every other
    model) goes through the same assembly: both equal the reference (1e-12 per block)."""
    sim = _sim("full")
    m = sim.model
    Y = _random_states(sim, 5, seed=7)
    ref = m.residual_reference(Y, control)
    assert m.fused_params(control) is not None  # the fused route
    got = {"fused": m.residual(Y, control)}
    m._formulas_compiled = False  # the NumPy route to the material values
    assert m.fused_params(control) is None
    got["numpy materials"] = m.residual(Y, control)
    for route, res in got.items():
        for block, s in m.slices.items():
            scale = max(np.max(np.abs(ref[s])), 1e-300)
            err = np.max(np.abs(res[s] - ref[s])) / scale
            assert err < 1e-12, f"{route}, {block}: {err:.2e}"


@pytest.mark.parametrize("ctl", [Control("current", 25.0), Control("voltage", 3.6)])
def test_compiled_residual_follows_changed_model_fields(ctl):
    """Fields the aging hook replaces at run time (resistances, the collector contact's
    series resistance, isolation) are read per call."""
    sim = _sim("ensemble-layers")
    m = sim.model
    Y = _random_states(sim, 2, seed=3)
    m.series_resistance = 2e-3
    m.r_fixed = m.r_fixed + 1e-3
    m.kin_pref = 0.5 * m.kin_pref
    m.isolated = m.isolated.copy()
    m.isolated[::2] = True
    m.any_isolated = True
    m.r_half_last = 2.0 * m.r_half_last
    np.testing.assert_allclose(
        m.residual(Y, ctl),
        m.residual_reference(Y, ctl),
        rtol=1e-12,
        atol=1e-12 * np.abs(m.residual_reference(Y, ctl)).max(),
    )


def _iteration_matrix(sim: Simulation, c: float):
    integ = sim.integrator
    m = sim.model
    y = sim.initial_state()
    ctl = Control("current", 30.0)
    integ.fun = lambda Y: m.residual(Y, ctl)
    integ._jacobian(y)
    data = -c * integ.J
    data[integ.diag_pos] += integ.mass_diag
    P = integ.pattern
    return data, sp.csc_matrix((data, P.indices, P.indptr), shape=P.shape)


@pytest.mark.parametrize("name", ["full", "ensemble-half"])
def test_static_lu_matches_superlu_across_step_sizes(name):
    sim = _sim(name)
    P = sim.integrator.pattern
    lu = StaticLU(P.indptr, P.indices)
    rng = np.random.default_rng(1)
    b = rng.standard_normal(P.shape[0])
    for c in (1e-6, 1e-2, 1.0, 1e3, 1e-6, 10.0):
        data, A = _iteration_matrix(sim, c)
        lu.factor(data)
        x = lu.solve(b)
        x_ref = spla.splu(A, permc_spec="COLAMD").solve(b)
        np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-10 * np.max(np.abs(x_ref)))
    assert len(lu._orders) >= 1


def test_static_lu_random_matrix_and_singular():
    rng = np.random.default_rng(2)
    n = 60
    A = sp.random(n, n, density=0.08, random_state=3, format="csc") + sp.eye(n, format="csc")
    A = A.tocsc()
    A.sort_indices()
    lu = StaticLU(A.indptr, A.indices)
    for _ in range(3):
        data = A.data * (1.0 + 0.3 * rng.standard_normal(A.data.size))
        M = sp.csc_matrix((data, A.indices, A.indptr), shape=A.shape)
        lu.factor(data)
        b = rng.standard_normal(n)
        np.testing.assert_allclose(M @ lu.solve(b), b, atol=1e-9)
    with pytest.raises(RuntimeError):
        lu.factor(np.zeros_like(A.data))


def test_symbolic_pattern_contains_the_fill():
    # arrow matrix pointing up-left: eliminating row 0 fills everything
    n = 5
    A = sp.lil_matrix((n, n))
    A.setdiag(1.0)
    A[0, :] = 1.0
    A[:, 0] = 1.0
    A = A.tocsr()
    ptr, idx = symbolic_lu_pattern(A.indptr.astype(np.int64), A.indices.astype(np.int64))
    assert ptr[-1] == n * n


@pytest.mark.parametrize("name", ["full", "ensemble-half"])
def test_coloured_jacobian_of_compiled_residual_matches_central_differences(name):
    sim = _sim(name)
    m = sim.model
    integ = sim.integrator
    y = sim.initial_state()
    y[m.slices["ik"]] += 1.0
    y[m.slices["I"]] = 20.0
    ctl = Control("current", 20.0)
    fun = lambda Y: m.residual(Y, ctl)  # noqa: E731
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


@pytest.mark.parametrize(
    ("fn", "low", "high"),
    [
        (chen2020.graphite_ocp_chen2020, 0.0, 1.0),
        (chen2020.nmc811_ocp_chen2020, 0.0, 1.0),
        (chen2020.lipf6_ec_emc_conductivity_nyman2008, 0.0, 4000.0),
        (chen2020.lipf6_ec_emc_diffusivity_nyman2008, 0.0, 4000.0),
    ],
)
def test_compiled_material_twins_equal_numpy(fn, low, high):
    twin = fast(fn, low, high)
    assert twin is not fn  # the Chen 2020 formulas compile
    x = np.ascontiguousarray(np.linspace(low, high, 301)[:300].reshape(100, 3))
    np.testing.assert_allclose(twin(x), fn(x), rtol=1e-13, atol=0)
    # other layouts and scalars go to the NumPy function
    np.testing.assert_array_equal(twin(x[:, 1]), fn(x[:, 1]))
    assert float(twin(0.5 * (low + high))) == float(fn(0.5 * (low + high)))


def test_plain_python_material_function_is_left_alone():
    def f(x):
        return np.asarray(x, dtype=float) ** 2

    assert fast(f, 0.0, 1.0) is f


def test_bdf_kernels_equal_numpy():
    rng = np.random.default_rng(4)
    n, k = 50, 3
    D = rng.standard_normal((8, n))
    gamma = np.hstack((0.0, np.cumsum(1.0 / np.arange(1, 6))))
    atol = rng.uniform(1e-8, 1e-6, n)
    upper = np.where(rng.random(n) < 0.5, np.inf, 5.0)
    y_pred, psi, w = np.empty(n), np.empty(n), np.empty(n)
    predict(D, k, gamma, atol, 1e-5, upper, y_pred, psi, w)
    ref_y = D[: k + 1].sum(axis=0)
    np.testing.assert_allclose(y_pred, ref_y, rtol=1e-14)
    np.testing.assert_allclose(psi, gamma[1 : k + 1] @ D[1 : k + 1] / gamma[k], rtol=1e-13)
    ref_w = atol + 1e-5 * np.minimum(np.abs(ref_y), np.abs(upper - ref_y))
    np.testing.assert_allclose(w, ref_w, rtol=1e-14)
    mask = rng.random(n) < 0.7
    v = rng.standard_normal(n)
    ref = np.sqrt(np.mean((0.25 * v / ref_w)[mask] ** 2))
    assert abs(wrms_masked(v, 0.25, ref_y, atol, 1e-5, upper, mask) / ref - 1.0) < 1e-13
    d = rng.standard_normal(n)
    D2 = D.copy()
    accept(D2, k, d)
    D_ref = D.copy()
    D_ref[k + 2] = d - D_ref[k + 1]
    D_ref[k + 1] = d
    for i in reversed(range(k + 1)):
        D_ref[i] += D_ref[i + 1]
    np.testing.assert_allclose(D2, D_ref, rtol=1e-14, atol=1e-14)


def test_compiled_step_equals_python_step():
    """The compiled BDF step (:mod:`electrohet.model.step_kernel`, on the fused residual)
    takes the same steps as the Python step: equal counters, voltages within 1e-7 V.
    The two differ only in the summation order of the step-size rescaling (round-off,
    a few 1e-9 V after amplification near the cut-offs); 1e-7 V is 400x below what
    the local error control allows (rtol 1e-5 of ~4 V)."""
    runs = []
    for compiled in (True, False):
        sim = _sim("full")
        sim.integrator.step_kernel = compiled
        ds = sim.solve(
            [
                "Discharge at 1C until 2.5 V",
                "Rest for 10 minutes",
                "Charge at 1C until 4.2 V",
                "Hold at 4.2 V until C/20",
            ]
        )
        assert ds.attrs["status"] == "completed", ds.attrs["message"]
        assert sim.integrator.kernel_params is not None  # the fused path ran
        runs.append(ds)
    a, b = runs
    for key in ("steps", "rejected_steps", "newton_iterations", "jacobian_evaluations"):
        assert a.attrs[f"solver_{key}"] == b.attrs[f"solver_{key}"], key
    np.testing.assert_allclose(a.voltage.values, b.voltage.values, rtol=0.0, atol=1e-7)


@pytest.mark.parametrize("name", list(CELLS))
def test_batched_residual_equals_its_columns(name):
    """A batch of states shaped like a coloured Jacobian's (copies of one state, a few
    entries perturbed) gives exactly the residuals of its columns evaluated one by one:
    the kernels' reuse of material values and kinetics between equal states changes
    nothing."""
    sim = _sim(name)
    m = sim.model
    y = _random_states(sim, 1)[:, 0]
    Y = np.repeat(y[:, None], 8, axis=1)
    rng = np.random.default_rng(5)
    for b in (1, 4, 6):
        idx = rng.choice(y.size, 30, replace=False)
        Y[idx, b] *= 1.0 + 1e-8
    ctl = Control("current", 25.0)
    got = m.residual(Y, ctl)
    cols = np.column_stack([m.residual(Y[:, b].copy(), ctl) for b in range(Y.shape[1])])
    np.testing.assert_array_equal(got, cols)


def test_material_kernels_equal_numpy_formulas():
    """The point-wise compiled formulas of the fused residual equal the NumPy material
    functions (1e-13 relative) over their ranges."""
    from electrohet.model.material_kernels import _FORMULAS, evaluate, formula_id

    for fn in _FORMULAS:
        fid = formula_id(fn)
        is_electrolyte = "lipf6" in fn.__name__
        x = np.linspace(0.0, 4000.0, 401) if is_electrolyte else np.linspace(0.0, 1.0, 401)
        ref = fn(x)
        got = np.array([evaluate(fid, float(v)) for v in x])
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13 * np.abs(ref).max())
    assert formula_id(np.exp) == -1
