"""NMC622 (Yari 2020 set): OCP shape, MSMR inversion, capacity window, Li metal, electrolyte."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from electrohet.materials.base import R_GAS, T_REF, F
from electrohet.materials.nmc622 import (
    LI_METAL_DEFAULT,
    LIPF6_EC_EMC_YARI2020,
    NMC622_MSMR_SCALE,
    NMC622_YARI2020,
    msmr_ocp_verbrugge2017,
    nmc622_ocp,
)

U0 = [3.62274, 3.72645, 3.90575, 4.22955]
X = [0.13442, 0.32460, 0.21118, 0.32980]
W = [0.96710, 1.39712, 3.50500, 5.52757]


def _x_of_u(u: float) -> float:
    """Independent scalar MSMR forward model (Verbrugge 2017 eq. for x(U))."""
    f = F / (R_GAS * T_REF)
    return sum(xj / (1.0 + np.exp(f * (u - u0) / wj)) for u0, xj, wj in zip(U0, X, W, strict=True))


def test_msmr_inversion_matches_brentq():
    # Independent reference: scalar root finding on the forward model; both are exact
    # inversions, so they agree to the root-finder tolerance (1e-12 V) plus round-off.
    xs = np.array([0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999])
    ref = [brentq(lambda u, xx=xx: _x_of_u(u) - xx, 2.0, 5.5, xtol=1e-13) for xx in xs]
    np.testing.assert_allclose(msmr_ocp_verbrugge2017(xs), ref, atol=1e-9)


def test_ocp_monotone_over_used_window():
    theta = np.linspace(0.30, 1.0 - 1e-10, 20001)
    u = nmc622_ocp(theta)
    assert np.all(np.diff(u) < 0.0)


def test_ocp_anchor_points():
    # The window ends were chosen (module docstring) so that 4.3 V sits at theta = 0.328;
    # tolerances: 5 mV there, and the brief's ranges elsewhere.
    assert nmc622_ocp(np.array([0.328]))[0] == pytest.approx(4.30, abs=5e-3)
    u95 = nmc622_ocp(np.array([0.95]))[0]
    assert 3.58 < u95 < 3.70
    u_end = nmc622_ocp(np.array([NMC622_YARI2020.theta_0]))[0]
    assert 3.5 < u_end < 3.65  # relaxed OCV after a slow discharge to 3.0 V


def test_ocp_scale_maps_full_msmr_range():
    # theta = 1 - S is x = 0 and theta = 1 is x = 1, by construction of the linear map.
    th = np.array([1.0 - NMC622_MSMR_SCALE * 0.5])
    np.testing.assert_allclose(nmc622_ocp(th), msmr_ocp_verbrugge2017(np.array([0.5])), atol=1e-12)


def test_specific_capacity_yari_window():
    m = NMC622_YARI2020
    # Theoretical capacity of LiNi0.6Mn0.2Co0.2O2: F / (3.6 M) with M = 96.93 g/mol.
    assert m.specific_capacity_mAh_g() == pytest.approx(276.5, abs=0.2)
    # Yari 2020: C/10 = 0.175 mA/mg -> ~175 mAh/g; our window gives 177.5 (+-1.5 %).
    q = m.specific_capacity_mAh_g(m.theta_100, m.theta_0)
    assert q == pytest.approx(177.5, abs=0.5)
    assert 175.0 <= q <= 180.0


def test_density_and_exchange_current():
    m = NMC622_YARI2020
    assert m.density == pytest.approx(4700.0)
    assert m.c_max == pytest.approx(4700.0 / 0.096930, rel=1e-4)
    # i0 at 1 M, theta = 0.5 equals Chen 2020's NMC811 value (3.42e-6 * sqrt(1000) * 31552).
    i0 = m.exchange_current(np.array([1000.0]), np.array([0.5 * m.c_max]))[0]
    assert i0 == pytest.approx(3.42e-6 * np.sqrt(1000.0) * 31552.0, rel=1e-12)


def test_li_metal_and_electrolyte():
    assert LI_METAL_DEFAULT.exchange_current(1000.0) == pytest.approx(10.0)
    # Nyman 2008 conductivity at 1 M: 0.1297 - 2.51 + 3.329 = 0.9487 S/m.
    k = LIPF6_EC_EMC_YARI2020.conductivity(np.array([1000.0]))[0]
    assert k == pytest.approx(0.9487, rel=1e-12)
    assert LIPF6_EC_EMC_YARI2020.transference == pytest.approx(0.2594)


def test_compiled_msmr_inversion_matches_numpy_reference():
    """The compiled MSMR inversion and its NumPy reference agree to 1e-12 V everywhere
    (inside, at and beyond the clipping limits), and invert x(U) to 1e-9 V."""
    from electrohet.materials.nmc622 import (
        _msmr_occupancy,
        msmr_ocp_reference,
        msmr_ocp_verbrugge2017,
    )

    x = np.concatenate([np.linspace(-0.1, 1.1, 4001), [1e-13, 1 - 1e-13, 0.5]])
    assert np.max(np.abs(msmr_ocp_verbrugge2017(x) - msmr_ocp_reference(x))) < 1e-12
    xi = np.linspace(0.05, 0.95, 101)
    u = msmr_ocp_verbrugge2017(xi)
    assert np.max(np.abs(_msmr_occupancy(u)[0] - xi)) < 1e-9
    assert msmr_ocp_verbrugge2017(np.float64(0.5)) == pytest.approx(msmr_ocp_reference(0.5))
