"""NMC532 (Mohtat 2020, rescaled) and LTO sets: OCP shape, anchors and capacity windows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from electrohet.materials.lto import LTO, lto_ocp
from electrohet.materials.nmc532 import (
    NMC532,
    NMC532_MOHTAT_SCALE,
    nmc532_ocp,
    nmc532_ocp_mohtat2020,
)


def test_nmc532_ocp_monotone():
    theta = np.linspace(0.2, 1.0, 40001)
    assert np.all(np.diff(nmc532_ocp(theta)) < 0.0)


def test_nmc532_mohtat_fit_values():
    # Published fit evaluated by hand at x = 0 (constant term) and x = 0.5:
    # 4.3452 - 0.8259 + 0.405625 - 0.2605375 + 0.2196625 - 0.06926875 - 0.5623e-4 e^-45.2805
    u = nmc532_ocp_mohtat2020(np.array([0.0, 0.5]))
    assert u[0] == pytest.approx(4.3452 - 0.5623e-4 * np.exp(-100.006), abs=1e-12)
    ref = 4.3452 - 0.8259 + 0.405625 - 0.2605375 + 0.2196625 - 0.06926875
    assert u[1] == pytest.approx(ref, abs=1e-12)


def test_nmc532_scale_and_window():
    m = NMC532
    assert NMC532_MOHTAT_SCALE == pytest.approx(35380.0 / m.c_max, rel=1e-15)
    # Theoretical capacity of LiNi0.5Mn0.3Co0.2O2 (M = 96.55 g/mol): 277.6 mAh/g, and
    # Kroeger's stated theoretical value is 278 (0.2 % tolerance covers rounding).
    assert m.specific_capacity_mAh_g() == pytest.approx(278.0, rel=2e-3)
    # theta_100 is the 4.3 V point of the OCP (to 2 mV).
    t43 = brentq(lambda t: nmc532_ocp(np.array([t]))[0] - 4.3, 0.2, 0.9)
    assert t43 == pytest.approx(m.theta_100, abs=2e-3)
    assert m.specific_capacity_mAh_g(m.theta_100, m.theta_0) == pytest.approx(186.5, abs=0.5)
    assert 3.58 < nmc532_ocp(np.array([0.95]))[0] < 3.70


@pytest.mark.parametrize(("soc", "v_cell"), [(0.23, 3.6), (0.41, 3.7), (0.61, 4.0)])
def test_nmc532_against_kroeger_calibration(soc, v_cell):
    # Kroeger: NMC532 | graphite charged at 6 mA/g (~C/45) to v_cell reached `soc` of the
    # theoretical 278 mAh/g.  The positive potential is v_cell + U_graphite, and the
    # lithiated graphite sits at 0.08-0.22 V there, so U_pos - v_cell must lie in that band.
    u_pos = nmc532_ocp(np.array([1.0 - soc]))[0]
    assert 0.08 <= u_pos - v_cell <= 0.22


def test_lto_ocp_flat_and_monotone():
    theta = np.linspace(1e-6, 1 - 1e-6, 20001)
    u = lto_ocp(theta)
    assert np.all(np.diff(u) < 0.0)
    # Symmetric isotherm: exactly 1.55 V at theta = 0.5 and within 25 mV over 0.13-0.87.
    assert lto_ocp(np.array([0.5]))[0] == pytest.approx(1.55, abs=1e-12)
    mid = lto_ocp(np.linspace(0.13, 0.87, 101))
    assert np.max(np.abs(mid - 1.55)) < 0.025


def test_lto_capacity():
    # Li4Ti5O12 + 3 Li: 3 F / (3.6 M), M = 459.09 g/mol -> 175.1 mAh/g.
    assert LTO.specific_capacity_mAh_g() == pytest.approx(175.1, abs=0.1)
    assert LTO.specific_capacity_mAh_g(LTO.theta_0, LTO.theta_100) == pytest.approx(168.1, abs=0.1)
