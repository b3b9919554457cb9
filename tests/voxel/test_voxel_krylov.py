"""Voxel model's scalable linear algebra: cached Jacobian pattern, the custom AMG
V-cycle, the block preconditioner, and Newton-Krylov against the direct solver."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from electrohet.errors import SolverError
from electrohet.voxel import Simulation, VoxelSolverOptions
from electrohet.voxel.model import Control, VoxelModel
from electrohet.voxel.preconditioner import BlockPreconditioner, VCycle


def _poisson(n: int) -> sp.csr_matrix:
    """7-point Laplacian on n^3 cells with strongly varying coefficients (contrast 1e4)."""
    rng = np.random.default_rng(0)
    k = 10.0 ** rng.uniform(-2, 2, size=(n, n, n))
    idx = np.arange(n**3).reshape(n, n, n)
    rows, cols, vals = [], [], []
    for ax in range(3):
        a = np.take(idx, np.arange(n - 1), axis=ax).ravel()
        b = np.take(idx, np.arange(1, n), axis=ax).ravel()
        ka = k.ravel()[a]
        kb = k.ravel()[b]
        g = 2.0 / (1.0 / ka + 1.0 / kb)
        rows += [a, b, a, b]
        cols += [b, a, a, b]
        vals += [-g, -g, g, g]
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n**3,) * 2
    )
    return (A + sp.eye(n**3) * 1e-3).tocsr()


def test_vcycle_is_a_symmetric_converging_preconditioner():
    """Forward Gauss-Seidel before and backward after each coarse correction makes one
    V-cycle a symmetric operator (x.My = y.Mx to round-off), so it can precondition CG;
    on a 16^3 Laplacian with 1e4 coefficient contrast PCG reaches 1e-8 in <= 25
    iterations (unpreconditioned CG needs hundreds)."""
    A = _poisson(16)
    M = VCycle(A, "rs")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(A.shape[0]), rng.standard_normal(A.shape[0])
    assert x @ M.solve(y) == pytest.approx(y @ M.solve(x), rel=1e-10)
    b = rng.standard_normal(A.shape[0])
    its = [0]

    def count(_):
        its[0] += 1

    op = spla.LinearOperator(A.shape, M.solve)
    sol, info = spla.cg(A, b, M=op, rtol=1e-8, callback=count)
    assert info == 0
    assert its[0] <= 25
    assert np.linalg.norm(A @ sol - b) <= 1e-7 * np.linalg.norm(b)


def test_cached_jacobian_pattern_equals_a_fresh_assembly(small_volume):
    """The second and later Jacobians reuse the CSR pattern of the first; they must equal
    a Jacobian assembled from scratch (new model, empty cache) at the same state, to the
    bit."""
    sim = Simulation(small_volume, material="NMC532", film_thickness=5e-9)
    m = sim.model
    y = sim.initial_state(0.5)
    rng = np.random.default_rng(2)
    ctl = Control("current", 4.0)
    m.residual(y, y, 5.0, ctl)  # builds the pattern
    y2 = y.copy()
    y2[m.slices["cs"]] += rng.uniform(-500, 500, m.grid.n_am)
    y2[m.slices["phie"]] += rng.uniform(-0.01, 0.01, m.grid.n_e)
    R1, J1 = m.residual(y2, y, 5.0, ctl)
    fresh = VoxelModel(m.grid, m.material, m.electrolyte, m.li_metal, m.r_film)
    R2, J2 = fresh.residual(y2, y, 5.0, ctl)
    np.testing.assert_allclose(R1, R2, rtol=1e-13, atol=1e-13 * np.abs(R2).max())
    diff = abs(J1 - J2).max()
    assert diff <= 1e-12 * abs(J2).max()
    # summed group by group into the cached slots in assembly order: bit-identical to
    # the first assembly's summation of all entries at once
    assert np.array_equal(J1.indptr, J2.indptr) and np.array_equal(J1.indices, J2.indices)
    assert np.array_equal(J1.data, J2.data)


def test_jacobians_share_the_cached_int32_pattern(small_volume):
    """Every Jacobian holds the cached pattern's int32 index arrays themselves (no copy
    per assembly: at 128^3 that is ~0.2 GB per Jacobian), and the slot map sums the
    assembly entries exactly: the same values as SciPy's COO -> CSR summation."""
    sim = Simulation(small_volume, material="NMC532", film_thickness=5e-9)
    m = sim.model
    y = sim.initial_state(0.5)
    ctl = Control("current", 4.0)
    _, J1 = m.residual(y, y, 5.0, ctl)
    _, J2 = m.residual(y, y, 7.0, ctl)
    indptr, indices, slot, _ = m._pattern["current"]
    assert indices.dtype == np.int32 and slot.dtype == np.int32
    for J in (J1, J2):
        assert np.shares_memory(J.indices, indices) and np.shares_memory(J.indptr, indptr)
    assert J1.has_sorted_indices
    # the entry -> slot map: re-summing J2's values through COO gives J2 back
    rows = np.repeat(np.arange(m.n), np.diff(J2.indptr))
    ref = sp.coo_matrix((J2.data, (rows, J2.indices)), shape=J2.shape).tocsr()
    assert abs(ref - J2).max() == 0.0


def test_bordering_vector_solves_the_field_block(small_volume):
    """The bordering vector w = J_ff^-1 J[field, V] (applied through J without copying
    the field block) meets its tolerance on the explicit field block, under current
    and voltage control."""
    sim = Simulation(small_volume, material="NMC532", options=VoxelSolverOptions(linear="krylov"))
    m = sim.model
    y = sim.initial_state(0.5)
    for mode, value in (("current", 5.0), ("voltage", 3.6)):
        _, J = m.residual(y, y, 60.0, Control(mode, value))
        pc = BlockPreconditioner(m, J, mode)
        nf = m.n - 2
        if mode == "voltage":  # the preconditioner's current-control form of J
            e_i = sp.csr_matrix(([1.0], ([0], [m.iI])), shape=(1, m.n))
            J = sp.vstack([J[: m.iI], e_i, J[[m.iI]]]).tocsr()
        J_ff = J[:nf][:, :nf]
        d = np.abs(J_ff.diagonal())
        d[d == 0] = 1.0
        res = (J_ff @ pc.w - pc.b_col) / d
        assert np.linalg.norm(res) <= 1.01 * pc.border_rtol * np.linalg.norm(pc.b_col / d)


def test_scaled_jacobian_is_row_and_column_scaling(small_volume):
    """The compiled one-pass scaling equals D^-1 J S with S = diag(scale) and D the
    magnitudes of the scaled diagonal (the row's largest entry where the diagonal is
    < 1e-12 of it, e.g. the algebraic rows with a zero diagonal) to round-off."""
    from electrohet.voxel.solver import NewtonSolver

    sim = Simulation(small_volume, material="NMC532", film_thickness=5e-9)
    m = sim.model
    y = sim.initial_state(0.5)
    _, J = m.residual(y, y, 5.0, Control("current", 4.0))
    J = J.tocsr()
    ns = NewtonSolver(m, linear="krylov")
    A, d = ns._scaled(J)
    JS = (J @ sp.diags(ns.scale)).tocsr()
    diag = np.abs(JS.diagonal())
    rowmax = np.asarray(abs(JS).max(axis=1).todense()).ravel()
    ref_d = np.where(diag > 1e-12 * rowmax, diag, rowmax)
    ref_d[ref_d == 0] = 1.0
    np.testing.assert_allclose(d, ref_d, rtol=1e-15)
    ref = (sp.diags(1.0 / ref_d) @ JS).tocsr()
    assert abs(A - ref).max() <= 1e-14 * abs(ref).max()
    # the fallback rows: a zero diagonal takes the row's largest entry, an empty row 1
    Z = sp.csr_matrix(np.array([[0.0, 2.0, -5.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]))
    ns.scale = np.array([1.0, 10.0, 0.5])
    Az, dz = ns._scaled(Z)
    np.testing.assert_array_equal(dz, [20.0, 40.0, 1.0])
    np.testing.assert_allclose(Az.toarray(), [[0, 1, -0.125], [0.075, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize("mode", ["current", "voltage"])
def test_block_preconditioner_makes_gmres_converge_fast(small_volume, mode):
    """GMRES on the scaled Newton system with the block preconditioner (restarted as in
    the solver) converges to 1e-8 in <= 30 iterations at a 60 s step, under current and
    under voltage control; without it GMRES needs more than 5 x as many (or fails)."""
    sim = Simulation(small_volume, material="NMC532", options=VoxelSolverOptions(linear="krylov"))
    m = sim.model
    y = sim.initial_state(0.5)
    ctl = Control(mode, 5.0 if mode == "current" else 3.6)
    R, J = m.residual(y, y, 60.0, ctl)
    s = sim.solver
    A, d = s._scaled(J)
    pc = BlockPreconditioner(m, J, mode)
    op = spla.LinearOperator(A.shape, lambda v: pc.apply(v * d) / s.scale)
    its = [0]

    def count(_):
        its[0] += 1

    x, info = spla.gmres(
        A,
        -R / d,
        M=op,
        rtol=1e-8,
        restart=60,
        maxiter=3,
        callback=count,
        callback_type="pr_norm",
    )
    assert info == 0 and its[0] <= 30
    assert np.linalg.norm(A @ x + R / d) <= 1e-7 * np.linalg.norm(R / d)
    its0 = [0]

    def count0(_):
        its0[0] += 1

    _, info0 = spla.gmres(
        A, -R / d, rtol=1e-8, restart=200, maxiter=1, callback=count0, callback_type="pr_norm"
    )
    assert info0 != 0 or its0[0] > 5 * its[0]


def test_voltage_control_build_reads_the_current_control_rows_without_a_copy(small_volume):
    """Under voltage control the preconditioner is built on the current-control form of
    the Jacobian (row I the identity, row V the collector balance), now without
    stacking a copy of J: the cell columns, the bordering row and the bordering vector
    equal those of an explicitly stacked current-control Jacobian (1e-14 relative;
    the bordering vector, a GMRES solve to 0.1, to 1e-10)."""
    sim = Simulation(small_volume, material="NMC532", options=VoxelSolverOptions(linear="krylov"))
    m = sim.model
    y = sim.initial_state(0.5)
    _, J = m.residual(y, y, 60.0, Control("voltage", 3.6))
    J = J.tocsr()
    e_i = sp.csr_matrix(([1.0], ([0], [m.iI])), shape=(1, m.n))
    J_cc = sp.vstack([J[: m.iI], e_i, J[[m.iI]]]).tocsr()
    pv = BlockPreconditioner(m, J, "voltage")
    pc = BlockPreconditioner(m, J_cc, "current")
    for name in ("J_known_col", "b_col", "b_row"):
        a, b = getattr(pv, name), getattr(pc, name)
        assert np.max(np.abs(a - b)) <= 1e-14 * np.max(np.abs(b)), name
    assert pv.J_known_diag == pc.J_known_diag == 1.0
    assert pv.b_diag == pc.b_diag
    assert np.max(np.abs(pv.w - pc.w)) <= 1e-10 * np.max(np.abs(pc.w))


def test_two_threads_apply_the_same_preconditioner(small_volume):
    """``threads=2`` runs the c_s V-cycle in a second thread with the GIL-free
    Gauss-Seidel: the same operator as ``threads=1`` (pyamg's sweep) to round-off, and
    the compiled sweep is pyamg's sweep to round-off on the Jacobian itself."""
    from pyamg import amg_core

    from electrohet.voxel._kernels import gauss_seidel

    sim = Simulation(small_volume, material="NMC532", options=VoxelSolverOptions(linear="krylov"))
    m = sim.model
    y = sim.initial_state(0.5)
    R, J = m.residual(y, y, 60.0, Control("current", 5.0))
    rng = np.random.default_rng(4)
    r = rng.standard_normal(m.n)
    x1 = BlockPreconditioner(m, J, "current", threads=1).apply(r)
    x2 = BlockPreconditioner(m, J, "current", threads=2).apply(r)
    assert np.max(np.abs(x2 - x1)) <= 1e-10 * np.max(np.abs(x1))
    A = J.tocsr()
    b = rng.standard_normal(m.n)
    for forward, (lo, hi, step) in ((True, (0, m.n, 1)), (False, (m.n - 1, -1, -1))):
        xa, xb = np.zeros(m.n), np.zeros(m.n)
        gauss_seidel(A.indptr, A.indices, A.data, xa, b, forward)
        amg_core.gauss_seidel(A.indptr, A.indices, A.data, xb, b, lo, hi, step)
        np.testing.assert_allclose(xa, xb, rtol=1e-12, atol=1e-14 * np.max(np.abs(xb)))
    with pytest.raises(SolverError, match="threads"):
        Simulation(small_volume, material="NMC532", options=VoxelSolverOptions(threads=3))


def test_newton_krylov_matches_the_direct_solver(small_volume):
    """The same protocol (CC discharge, CV hold with a current cut-off, rest, CC charge)
    with SuperLU and with GMRES + block AMG: voltages and capacities agree to 1e-6 V and
    1e-7 relative (both converge the same backward-Euler equations to 1e-10), and
    lithium is conserved to 1e-9 on the Krylov path."""
    exp = [
        "Discharge at 1C until 3.5 V",
        "Hold at 3.5 V until C/5",
        "Rest for 2 minutes",
        "Charge at 2C for 3 minutes",
    ]
    out = {}
    for lin in ("direct", "krylov"):
        opts = VoxelSolverOptions(linear=lin, newton_tol=1e-10)
        sim = Simulation(small_volume, material="NMC532", options=opts)
        ds = sim.solve(exp)
        assert ds.attrs["status"] == "completed", ds.attrs.get("message")
        out[lin] = ds
    a, b = out["direct"], out["krylov"]
    assert b.attrs["lithium_balance_error"] < 1e-9
    assert b.attrs["salt_balance_error"] < 1e-9
    assert float(b.capacity[-1]) == pytest.approx(float(a.capacity[-1]), rel=1e-6)
    # both solve the same equations to the Newton tolerance, so the error control takes
    # the same steps
    assert a.sizes["time"] == b.sizes["time"]
    np.testing.assert_allclose(b.time.values, a.time.values, rtol=1e-6, atol=1e-6)
    assert np.max(np.abs(b.voltage.values - a.voltage.values)) < 1e-6


def test_balances_hold_to_round_off_at_a_loose_newton_tolerance(small_volume):
    """The Newton update is projected onto the discrete lithium and salt balances, so
    even a Newton tolerance of 1e-3 (GMRES and Newton stopped early) conserves both to
    1e-11 on either linear path (without the projection: ~1e-6), while the default
    tolerance (1e-6) and a tight one (1e-10) give the same capacity to 1e-6 relative and
    the same voltage curve to 0.1 mV (interpolated at the tight run's times)."""
    exp = ["Discharge at 1C until 3.5 V", "Hold at 3.5 V until C/5", "Rest for 2 minutes"]
    runs = {}
    for lin, tol in (("krylov", 1e-3), ("direct", 1e-3), ("krylov", 1e-6), ("krylov", 1e-10)):
        opts = VoxelSolverOptions(linear=lin, newton_tol=tol)
        ds = Simulation(small_volume, material="NMC532", options=opts).solve(exp)
        assert ds.attrs["status"] == "completed", ds.attrs.get("message")
        runs[lin, tol] = ds
    for key in (("krylov", 1e-3), ("direct", 1e-3)):
        assert runs[key].attrs["lithium_balance_error"] < 1e-11, key
        assert runs[key].attrs["salt_balance_error"] < 1e-11, key
    a, b = runs["krylov", 1e-10], runs["krylov", 1e-6]
    assert float(b.capacity[-1]) == pytest.approx(float(a.capacity[-1]), rel=1e-6)
    vb = np.interp(a.time.values, b.time.values, b.voltage.values)
    # the step sequences differ slightly; compare away from the step changes
    t_cc = float(a.time[int(np.argmin(a.voltage.values))])
    keep = a.time.values < 0.9 * t_cc
    assert np.max(np.abs(vb - a.voltage.values)[keep]) < 1e-4


def test_conservation_weights_telescope_the_residual(small_volume):
    """W @ R(y; y_old, dt) equals (n_Li(y) - n_Li(y_old))/dt - I A/F and
    (n_salt(y) - n_salt(y_old))/dt for a perturbed state under both controls, and
    W @ J is the gradient of those affine functions (1e-7 relative: the Jacobian uses
    finite-difference slopes of the material functions)."""
    from electrohet.materials.base import F

    sim = Simulation(small_volume, material="NMC532")
    m = sim.model
    rng = np.random.default_rng(3)
    y_old = m.initial_state(0.4)
    for mode, value in (("current", 5.0), ("voltage", 3.8)):
        W, _ = m.conservation_weights(mode)
        y = y_old * (1.0 + 1e-3 * rng.standard_normal(m.n))
        y[m.iI] = 3.0
        dt = 7.0
        R, J = m.residual(y, y_old, dt, Control(mode, value))
        li = lambda v: m.lithium(v)[0]  # noqa: E731
        salt = lambda v: m.lithium(v)[1]  # noqa: E731
        want_li = (li(y) - li(y_old)) / dt - y[m.iI] * m.grid.area / F
        want_salt = (salt(y) - salt(y_old)) / dt
        assert W[0] @ R == pytest.approx(want_li, rel=1e-9, abs=1e-12 * abs(want_li) + 1e-30)
        assert W[1] @ R == pytest.approx(want_salt, rel=1e-9, abs=1e-30)
        g = np.asarray(J.T @ W.T)
        grad_li = np.zeros(m.n)
        grad_li[m.slices["cs"]] = m.mass[m.slices["cs"]] / dt
        grad_li[m.iI] = -m.grid.area / F
        grad_salt = np.zeros(m.n)
        grad_salt[m.slices["ce"]] = m.mass[m.slices["ce"]] / dt
        assert np.max(np.abs(g[:, 0] - grad_li)) < 1e-7 * np.max(np.abs(grad_li))
        assert np.max(np.abs(g[:, 1] - grad_salt)) < 1e-7 * np.max(np.abs(grad_salt))


def test_vcycle_refresh_redoes_the_galerkin_products_on_the_kept_grids(small_volume):
    """``VCycle.refresh`` keeps the coarse grids and interpolation and takes the new
    values: with the same block it is the same operator (to 1e-12); with the block of
    another state and step every level is ``R A P`` of the one above (to 1e-12), the
    fine level the new block's symmetric part, and the cycle still converges as a
    stationary iteration on the new block."""
    sim = Simulation(small_volume, material="NMC532", options=VoxelSolverOptions(linear="krylov"))
    m = sim.model
    y1, y2 = sim.initial_state(0.5), sim.initial_state(0.8)
    _, J1 = m.residual(y1, y1, 60.0, Control("current", 5.0))
    _, J2 = m.residual(y2, y2, 200.0, Control("current", 2.0))
    ce = np.arange(m.slices["ce"].start, m.slices["ce"].stop)
    A1 = J1.tocsr()[ce][:, ce].tocsr()
    A2 = J2.tocsr()[ce][:, ce].tocsr()
    rng = np.random.default_rng(7)
    b = rng.standard_normal(ce.size)
    cyc = VCycle(A1, max_coarse=20)
    assert len(cyc.levels) >= 2
    x0 = cyc.solve(b)
    cyc.refresh(A1)
    np.testing.assert_allclose(cyc.solve(b), x0, rtol=1e-12, atol=1e-12 * np.abs(x0).max())
    cyc.refresh(A2)
    sym = (0.5 * (A2 + A2.T)).tocsr()
    assert abs(cyc.levels[0][0] - sym).max() <= 1e-12 * abs(sym).max()
    for (Ak, P, R), nxt in zip(cyc.levels, cyc.levels[1:], strict=False):
        ref = (R @ Ak @ P).tocsr()
        assert abs(nxt[0] - ref).max() <= 1e-12 * abs(ref).max()
    x = np.zeros_like(b)
    r0 = np.linalg.norm(b)
    for _ in range(8):
        x += cyc.solve(b - A2 @ x)
    assert np.linalg.norm(b - A2 @ x) < 0.1 * r0


def test_hierarchy_reuse_solves_the_same_discharge(small_volume):
    """Rebuilds that refresh the kept AMG hierarchies (forced at every Newton iteration
    here) change only the preconditioner: the discharge matches full set-ups in time
    steps, voltage (1e-6 V) and capacity (1e-7), and lithium is conserved to 1e-9."""
    out = {}
    for reuse in (True, False):
        opts = VoxelSolverOptions(linear="krylov", newton_tol=1e-10, reuse_hierarchy=reuse)
        sim = Simulation(small_volume, material="NMC532", options=opts)
        # rebuild after every GMRES solve: each rebuild is a refresh when reuse is on
        sim.solver.rebuild_iterations = -1
        sim.solver.rebuild_factor = 0.0
        ds = sim.solve("Discharge at 1C for 6 minutes")
        assert ds.attrs["status"] == "completed", ds.attrs.get("message")
        out[reuse] = ds
        if reuse:
            assert sim.solver.refreshes >= 5
            assert sim.solver.refreshes < sim.solver.stats.factorizations
        else:
            assert sim.solver.refreshes == 0
    a, b = out[False], out[True]
    assert b.attrs["lithium_balance_error"] < 1e-9
    assert a.sizes["time"] == b.sizes["time"]
    assert np.max(np.abs(b.voltage.values - a.voltage.values)) < 1e-6
    assert float(b.capacity[-1]) == pytest.approx(float(a.capacity[-1]), rel=1e-7)


@pytest.mark.parametrize(
    "bad",
    [
        {"krylov_restart": 0},
        {"krylov_restart": 2.5},
        {"max_iter": 0},
        {"newton_tol": 0.0},
        {"newton_tol": float("nan")},
        {"krylov_rtol": -1e-8},
        {"krylov_first": 1e-9},  # looser first solve than the floor it starts from
        {"krylov_first": 1.0},
        {"setup_factor": 0.5},
        {"rebuild_factor": 0.9},
        {"rebuild_iterations": -1},
        {"threads": True},
    ],
)
def test_newton_solver_refuses_bad_settings(small_volume, bad):
    """Every numeric knob of the Newton-Krylov solver is range-checked with a
    SolverError naming it (a restart of 0 used to reach SciPy's own error, a setup
    factor below 1 made every rebuild a full set-up silently)."""
    from electrohet.voxel.solver import NewtonSolver

    m = Simulation(small_volume, material="NMC532").model
    with pytest.raises(SolverError, match=next(iter(bad))):
        NewtonSolver(m, linear="krylov", **bad)


def test_krylov_decades_count_the_tolerances_asked(small_volume):
    """``NewtonSolver.krylov_decades`` sums -log10 of each GMRES solve's relative
    tolerance: one solve per Newton iteration on the Krylov path, each asked for
    between 1e-2 (the loosest inexact-Newton tolerance) and 1e-8 (``krylov_rtol``), so
    the sum lies between 2 and 8 decades per Newton iteration; the iterations per
    decade that bench_voxel.py prints are then a plain ratio."""
    opts = VoxelSolverOptions(linear="krylov")
    sim = Simulation(small_volume, material="NMC532", options=opts)
    sim.solve("Discharge at 1C for 2 minutes")
    s = sim.solver
    n = s.stats.newton_iterations
    assert n > 0
    assert 2.0 * n - 1e-9 <= s.krylov_decades <= 8.0 * n + 1e-9
