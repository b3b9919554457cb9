"""Issue 12 acceptance: Kroeger's isolated-particle share of an NMC532 half cell after
100 cycles rises from 1C to 2C (KROEGER_CALIBRATION, calibrated on the 1C figure)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from electrohet.aging import AgingProtocol, AgingRun
from electrohet.aging.presets import KROEGER_CALIBRATION, YARI_CALIBRATION, nmc532_aging_cell
from electrohet.model.mesh import MeshOptions

#: Kroeger: isolated share by number 6 % fresh, 8 % after 100 cycles at 1C: a rise of
#: 2 points, the calibration target (the model's fresh share is 4.9 % by number)
TARGET_RISE = 0.02
#: the bisection tolerance of benchmarks/aging_li_nmc_kroeger.py (RISE_TOL)
RISE_TOL = 0.001
#: mesh and classes of the calibration (benchmarks/aging_li_nmc_kroeger.py)
MESH = MeshOptions(points_per_domain=8, radial_points=6)


def _kroeger(rate: float):
    cell = nmc532_aging_cell(n_radius=4, isolated_fraction=0.06)
    proto = AgingProtocol(
        [f"Charge at {rate:g}C until 4.3 V", f"Discharge at {rate:g}C until 3.0 V"], 100
    )
    return AgingRun(cell, proto, KROEGER_CALIBRATION, MESH).run()


def test_kroeger_calibration_changes_only_the_contact_rate():
    """Only the contact-loss rate is recalibrated for the Kroeger cell (3.4x lower than
    the Yari LTO|NMC622 single-layer value); every other parameter is YARI_CALIBRATION's."""
    k, y = KROEGER_CALIBRATION, YARI_CALIBRATION
    assert k.cei == y.cei
    assert k.cracking == y.cracking
    assert k.contact == dataclasses.replace(y.contact, rate=k.contact.rate)
    assert k.contact.rate < y.contact.rate


@pytest.fixture(scope="module")
def kroeger_runs():
    return {rate: _kroeger(rate) for rate in (1.0, 2.0)}


@pytest.mark.slow
def test_kroeger_calibration_target_and_bookkeeping(kroeger_runs):
    """Both runs finish 100 cycles; the 1C share rises by Kroeger's 2 points within the
    bisection tolerance (0.1 point; the calibration target, not a prediction); lithium
    bookkeeping holds to < 1e-9 (observed ~1e-12).  ~10 s.  The 2C share is a prediction
    and is scored by `electrohet validate` (case kroeger_isolation), not asserted."""
    one, two = kroeger_runs[1.0], kroeger_runs[2.0]
    for ds in (one, two):
        assert ds.attrs["status"] == "completed"
        assert int(ds.cycle.values[-1]) == 100
        assert np.nanmax(np.abs(ds.li_balance_error.values)) < 1e-9
    s1, s2 = one.isolated_share.values, two.isolated_share.values
    assert s1[0] == pytest.approx(s2[0])  # the same fresh cell
    assert abs((s1[-1] - s1[0]) - TARGET_RISE) < RISE_TOL
