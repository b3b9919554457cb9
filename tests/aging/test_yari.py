"""Aging: formation cycles, collector-contact damage, and the Yari 2020 LTO|NMC622
acceptance (the single-layer calibration target; bilayer outcomes are scored by
`electrohet validate`, not asserted)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from electrohet.aging import (
    AgingProtocol,
    AgingRun,
    CEIGrowth,
    ContactLoss,
    Cracking,
    JumpOptions,
    Mechanisms,
)
from electrohet.aging.presets import (
    YARI_CALIBRATION,
    nmc532_aging_cell,
    yari_lto_nmc622_cell,
    yari_lto_protocol,
)
from electrohet.errors import ProtocolError
from electrohet.model.mesh import MeshOptions

MESH = MeshOptions(points_per_domain=3, radial_points=5)
CYCLE = ["Charge at 1C until 4.3 V", "Discharge at 1C until 3.0 V"]
FORMATION = ["Discharge at C/2 until 3.0 V", "Rest for 10 minutes"]
#: mesh and classes of the acceptance script (benchmarks/aging_yari_acceptance.py)
YARI_MESH = MeshOptions(points_per_domain=4, radial_points=6)


@pytest.fixture(scope="module")
def cell():
    return nmc532_aging_cell(n_radius=2, isolated_fraction=0.0)


def test_formation_runs_before_cycle_one(cell):
    """A formation that discharges a charged cell: cycle 1 then charges the full
    window; without it, cycle 1 starts charged and takes far less."""
    off = Mechanisms(
        cei=CEIGrowth(enabled=False),
        cracking=Cracking(enabled=False),
        contact=ContactLoss(enabled=False),
    )
    with_f = AgingProtocol(CYCLE, 2, formation=FORMATION, formation_cycles=1)
    a = AgingRun(cell, with_f, off, MESH, initial_soc=1.0).run()
    b = AgingRun(cell, AgingProtocol(CYCLE, 2), off, MESH, initial_soc=1.0).run()
    qa, qb = float(a.charge_capacity.values[0]), float(b.charge_capacity.values[0])
    assert a.sizes["cycle"] == 2
    assert qa > 0.8 * float(a.discharge_capacity.values[0])
    assert qb < 0.3 * qa
    assert np.nanmax(np.abs(a.li_balance_error.values)) < 1e-9


def test_formation_protocol_validation(cell):
    with pytest.raises(ProtocolError, match="formation_cycles"):
        AgingProtocol(CYCLE, 2, formation=FORMATION, formation_cycles=0)
    bad = AgingProtocol(CYCLE, 2, formation=["Discharge at C/2 until 5.0 V"])
    with pytest.raises(ProtocolError, match="formation"):
        bad.validate(cell)
    p = yari_lto_protocol(10)
    assert p.formation_cycles == 3 and p.formation is not None
    assert yari_lto_protocol(10, 0).formation is None


def test_collector_contact_follows_foil_damage(cell):
    """The series (coating / collector) resistance grows as r_0 / (1 - D_cc)^t_c with
    the contact damage of the positive cell at the foil; off (t_c = 0) it stays r_0,
    and the growing resistance costs capacity."""
    r0 = 5e-4  # Ohm m^2
    c = cell.with_(contact_resistance=r0)
    t_c = 1.5
    base = Mechanisms(
        cei=CEIGrowth(enabled=False),
        cracking=Cracking(rate=5e-3),
        # discrete isolation, so that D_cc is the plain volume mean below
        contact=ContactLoss(
            rate=1.5e-8, isolation_length=2e-6, collector_exponent=t_c, threshold_spread=0.0
        ),
    )
    run = AgingRun(c, AgingProtocol(CYCLE, 10), base, MESH)
    ds = run.run()
    st = run.final_state[0]
    run._apply(st)  # write the final degradation state into the model
    ms = run.sim.mesh
    foil = run.sim.model.pos_last
    here = np.flatnonzero(run.pos & (ms.slot_elec == foil))
    vol = run.vf[here] * run.dxs[here]
    dmg = np.where(st.isolated[here], 1.0, np.minimum(st.dpath[here] / run.l_iso[here], 1.0))
    d_cc = float(np.sum(vol * dmg) / np.sum(vol))
    assert d_cc > 0.05
    np.testing.assert_allclose(run.sim.model.series_resistance, r0 / (1 - d_cc) ** t_c, rtol=1e-12)
    rc = ds.collector_resistance.values
    assert ds.attrs["status"] == "completed"
    assert rc[0] == pytest.approx(r0) and rc[-1] > 1.3 * r0
    off = dataclasses.replace(base, contact=dataclasses.replace(base.contact, collector_exponent=0))
    run_off = AgingRun(c, AgingProtocol(CYCLE, 10), off, MESH)
    ds_off = run_off.run()
    np.testing.assert_allclose(ds_off.collector_resistance.values, r0)
    run_off._apply(run_off.final_state[0])
    assert run_off.sim.model.series_resistance == r0
    assert ds.discharge_capacity.values[-1] < ds_off.discharge_capacity.values[-1]


def _yari(fc_bottom, fc_top, n_cycles=200, jump=None):
    cell = yari_lto_nmc622_cell(fc_bottom, fc_top, n_radius=4)
    return AgingRun(cell, yari_lto_protocol(n_cycles), YARI_CALIBRATION, YARI_MESH, jump).run()


def test_single_layer_calibration_target():
    """The single layer (2.5 wt% carbon) keeps Yari's 84.3 % after 200 1C cycles within
    1.5 points (the contact-loss rate of YARI_CALIBRATION is calibrated on it; the
    calibration gave 84.2 %)."""
    ds = _yari(0.025, None)
    assert ds.attrs["status"] == "completed"
    assert int(ds.cycle.values[-1]) == 200
    assert abs(float(ds.retention.values[-1]) - 0.843) < 0.015


@pytest.fixture(scope="module")
def yari_designs():
    return {
        "4/1": _yari(0.04, 0.01),
        "single": _yari(0.025, None),
        "1/4": _yari(0.01, 0.04),
    }


# The bilayers' retentions and their order are predictions: they are scored by
# `electrohet validate` (case yari2020_aging), never asserted here.


@pytest.fixture(scope="module")
def yari_every_cycle():
    off = JumpOptions(enabled=False)
    return {
        "4/1": _yari(0.04, 0.01, jump=off),
        "single": _yari(0.025, None, jump=off),
        "1/4": _yari(0.01, 0.04, jump=off),
    }


@pytest.mark.slow
def test_yari_jumping_matches_every_cycle(yari_designs, yari_every_cycle):
    """Issue 12: cycle jumping (default JumpOptions, rtol 0.03) against resolving every
    cycle, at every one of the 200 cycles, with gradual isolation.  Single layer and 4/1
    within 0.5 % capacity.  The 1/4 bilayer fades much faster with the v2 contact law
    (59.6 % after 200 cycles every cycle, 58.6 % jumped; 79 % with v1) and its jumps
    drift up to 2.5 % mid-run (0.43 % with v1): bound 3 %; JumpOptions(rtol=0.01) brings
    its end point to 59.0 %.  The scoreboard resolves every cycle."""
    bound = {"single": 5e-3, "4/1": 5e-3, "1/4": 3e-2}
    for k in ("single", "4/1", "1/4"):
        a, b = yari_designs[k], yari_every_cycle[k]
        assert a.sizes["cycle"] == b.sizes["cycle"] == 200
        assert a.attrs["n_resolved"] < 25
        rel = np.abs(a.discharge_capacity.values / b.discharge_capacity.values - 1)
        assert rel.max() < bound[k], k
        assert np.nanmax(np.abs(b.li_balance_error.values)) < 1e-9


def test_collector_exponent_is_the_rate_study_fit():
    from electrohet.studies.rate_study import YARI2020_CALIBRATION as RATE_FIT

    assert YARI_CALIBRATION.contact.collector_exponent == pytest.approx(
        RATE_FIT["interface_exponent"], abs=5e-4
    )
