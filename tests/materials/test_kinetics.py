"""Butler-Volmer kinetics (electrohet.materials.kinetics) against the analytic law,
and both models evaluating their reactions with it."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from electrohet.materials.base import R_GAS, T_REF, F
from electrohet.materials.kinetics import (
    EXP_CAP,
    butler_volmer,
    butler_volmer_scalar,
    butler_volmer_slope,
    butler_volmer_slope_scalar,
    exchange_current,
    exchange_current_scalar,
    soft_floor,
    soft_floor_scalar,
    soft_floor_slope,
    symmetric_overpotential,
)

F_RT = F / (R_GAS * T_REF)


def _analytic(k, ce, cs, cmax, aa, ac, eta):
    """i0 = k ce^aa (cmax - cs)^aa cs^ac and i = i0 (e^{aa F eta/RT} - e^{-ac F eta/RT})."""
    i0 = k * np.power(ce, aa) * np.power(cmax - cs, aa) * np.power(cs, ac)
    return i0, i0 * (np.exp(aa * F_RT * eta) - np.exp(-ac * F_RT * eta))


@pytest.mark.parametrize("aa,ac", [(0.5, 0.5), (0.3, 0.7), (0.6, 0.4)])
def test_ufuncs_equal_the_analytic_law(aa, ac):
    rng = np.random.default_rng(1)
    n = 500
    cmax = 5e4
    ce = rng.uniform(10.0, 3000.0, n)
    cs = rng.uniform(1.0, cmax - 1.0, n)
    eta = rng.uniform(-0.3, 0.3, n)
    k = 3e-6
    i0_ref, i_ref = _analytic(k, ce, cs, cmax, aa, ac, eta)
    i0 = exchange_current(k, ce, cmax - cs, cs, aa, ac)
    np.testing.assert_allclose(i0, i0_ref, rtol=1e-13)
    np.testing.assert_allclose(butler_volmer(i0, eta, aa, ac, F_RT), i_ref, rtol=1e-12)
    # slope against a central difference of the analytic current
    h = 1e-7
    _, ip = _analytic(k, ce, cs, cmax, aa, ac, eta + h)
    _, im = _analytic(k, ce, cs, cmax, aa, ac, eta - h)
    np.testing.assert_allclose(
        butler_volmer_slope(i0, eta, aa, ac, F_RT), (ip - im) / (2 * h), rtol=1e-6
    )


def test_per_element_transfer_coefficients_broadcast():
    """Per-slot (array) transfer coefficients, symmetric and not, in one call."""
    aa = np.array([0.5, 0.3, 0.5])
    ac = np.array([0.5, 0.7, 0.4])
    i0 = exchange_current(2.0, 1000.0, 2e4, 3e4, aa, ac)
    ref = 2.0 * 1000.0**aa * 2e4**aa * 3e4**ac
    np.testing.assert_allclose(i0, ref, rtol=1e-13)


def test_scalar_twins_equal_the_ufuncs_inside_a_kernel():
    @numba.njit
    def kernel(k, ce, cv, co, aa, ac, eta, f):
        i0 = exchange_current_scalar(k, ce, cv, co, aa, ac)
        return (
            i0,
            butler_volmer_scalar(i0, eta, aa, ac, f),
            butler_volmer_slope_scalar(i0, eta, aa, ac, f),
        )

    for aa, ac in ((0.5, 0.5), (0.35, 0.65)):
        i0, i, g = kernel(1e-5, 1200.0, 1.5e4, 2.5e4, aa, ac, 0.07, F_RT)
        u0 = exchange_current(1e-5, 1200.0, 1.5e4, 2.5e4, aa, ac)
        assert i0 == u0
        assert i == butler_volmer(u0, 0.07, aa, ac, F_RT)
        assert g == butler_volmer_slope(u0, 0.07, aa, ac, F_RT)


def test_soft_floor_value_limits_and_slope():
    """(x + sqrt(x^2 + d^2)) / 2: x well above d, -> 0+ well below -d, d/2 at 0; the
    slope equals a central difference; the compiled twin gives the same numbers."""
    d = 1e-3
    x = np.array([-1.0, -1e-2, 0.0, 1e-2, 1.0, 50.0])
    v = soft_floor(x, d)
    np.testing.assert_allclose(v, 0.5 * (x + np.sqrt(x**2 + d**2)), rtol=1e-15)
    assert np.all(v > 0) and v[0] < 1e-6 and v[2] == 0.5 * d
    np.testing.assert_allclose(v[4:], x[4:], rtol=1e-6)
    h = 1e-7
    fd = (soft_floor(x + h, d) - soft_floor(x - h, d)) / (2 * h)
    np.testing.assert_allclose(soft_floor_slope(x, d), fd, rtol=1e-6, atol=1e-9)
    twin = numba.njit(lambda a, b: soft_floor_scalar(a, b))
    assert all(twin(float(a), d) == b for a, b in zip(x, v, strict=True))


def test_symmetric_overpotential_inverts_butler_volmer():
    i = np.array([-50.0, -1.0, 0.0, 0.3, 20.0])
    i0 = 2.5
    eta = symmetric_overpotential(i, i0, F_RT)
    np.testing.assert_allclose(butler_volmer(i0, eta, 0.5, 0.5, F_RT), i, rtol=1e-13, atol=1e-15)


def test_exponents_are_capped_far_from_equilibrium():
    big = 20.0  # V: far beyond any physical overpotential (0.5 F big / RT > 200)
    i = butler_volmer(1.0, np.array([big, -big]), 0.5, 0.5, F_RT)
    assert np.all(np.isfinite(i))
    assert i[0] == pytest.approx(math.exp(EXP_CAP) - math.exp(-0.5 * F_RT * big))
    assert i[1] == pytest.approx(math.exp(-0.5 * F_RT * big) - math.exp(EXP_CAP))


def test_active_material_exchange_current_uses_the_law():
    from electrohet.materials.nmc622 import NMC622_YARI2020 as m

    ce, cs = np.array([800.0]), np.array([0.4 * m.c_max])
    i0_ref, _ = _analytic(m.exchange_prefactor, ce, cs, m.c_max, m.alpha_a, m.alpha_c, 0.0)
    np.testing.assert_allclose(m.exchange_current(ce, cs), i0_ref, rtol=1e-13)


def test_voxel_reaction_is_the_analytic_butler_volmer():
    """Without film resistance every reaction face of the voxel model carries the
    analytic Butler-Volmer current of its surface state (the smooth floors are 1e-9 of
    the concentrations, far below the tolerance)."""
    from electrohet.micro.generate import synthetic_electrode
    from electrohet.voxel import Simulation

    vol = synthetic_electrode(
        (8, 6, 6), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1.0e-6, seed=2
    )
    m = Simulation(vol, material="NMC532", film_thickness=0.0).model
    y = m.initial_state(0.5)
    ps = m.slices["phis"]
    y[ps] += 0.02 * np.random.default_rng(0).standard_normal(ps.stop - ps.start)
    i, *_ = m.reaction(y)
    v = m.split(y)
    a, e = m.grid.r_faces.p, m.grid.r_faces.q
    mat = m.material
    cs, ce = v["cs"][a], v["ce"][e]
    eta = v["phis"][a] - v["phie"][e] - mat.ocp(cs / mat.c_max)
    i0 = mat.exchange_prefactor * ce**mat.alpha_a * (mat.c_max - cs) ** mat.alpha_a
    i0 = i0 * cs**mat.alpha_c
    ref = i0 * (np.exp(mat.alpha_a * m.f_rt * eta) - np.exp(-mat.alpha_c * m.f_rt * eta))
    assert np.abs(ref).max() > 1.0  # the state drives real currents
    np.testing.assert_allclose(i, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
