"""SEI growth on the negative (reaction limited): the law, its bookkeeping in the
aging driver and lithium conservation.  The comparison with PyBaMM's DFN with the same
SEI is ``benchmarks/bench_aging.py`` (docs/aging.md)."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.aging import AgingProtocol, AgingRun, JumpOptions, Mechanisms
from electrohet.aging.mechanisms import CEIGrowth, ContactLoss, Cracking, SEIGrowth
from electrohet.design.presets import chen2020_cell
from electrohet.errors import ParameterError
from electrohet.materials.base import R_GAS, T_REF, F
from electrohet.model.mesh import MeshOptions


def test_sei_law_is_cathodic_tafel():
    sei = SEIGrowth(enabled=True, i0=2e-7, u_ref=0.4, alpha=0.5)
    e = np.array([[0.4, 0.1]])
    i = sei.current(e, np.zeros(1), T_REF)
    assert i[0, 0] == pytest.approx(2e-7, rel=1e-12)
    # 0.3 V below U_sei: exp(0.5 F 0.3 / R T)
    assert i[0, 1] == pytest.approx(2e-7 * np.exp(0.5 * F * 0.3 / (R_GAS * T_REF)), rel=1e-12)
    assert sei.thickness_rate(np.array([F])) == pytest.approx(sei.molar_volume)
    assert sei.film_resistance(np.array([5e-9]))[0] == pytest.approx(5e-9 * 2e5)
    assert np.all(SEIGrowth().current(e, np.zeros(1), T_REF) == 0.0)  # off by default
    with pytest.raises(ParameterError, match="sei.molar_volume"):
        SEIGrowth(molar_volume=0.0)


def test_aging_books_sei_lithium_and_film():
    cell = chen2020_cell()
    sei = SEIGrowth(enabled=True)
    mech = Mechanisms(
        cei=CEIGrowth(enabled=False),
        cracking=Cracking(enabled=False),
        contact=ContactLoss(enabled=False),
        sei=sei,
    )
    run = AgingRun(
        cell,
        AgingProtocol(["Discharge at 1C until 2.5 V", "Charge at 1C until 4.2 V"], 2),
        mech,
        MeshOptions(points_per_domain=8, radial_points=8),
        JumpOptions(enabled=False),
    )
    ds = run.run()
    assert ds.attrs["status"] == "completed"
    # lithium: cyclable + SEI = initial, to round-off
    assert float(np.abs(ds.li_balance_error).max()) < 1e-10
    li = ds.li_cei.values  # [mol/m^2], after each cycle's update
    assert li[0] == 0.0 and li[-1] > 0.0
    # film and lithium are two views of one side charge: one sphere size on the
    # negative (a = 3 eps_s / R), so Li = 3 z <dL> sum(eps_s dx) / (R V_sei)
    neg = ~run.pos
    vol = float(np.sum((run.vf * run.dxs)[neg]))
    radius = float(run.sim.mesh.slot_radius[neg][0])
    dl = float(ds.sei_thickness[-1]) - sei.initial_thickness
    expected = 3.0 * sei.lithium_per_molecule * dl * vol / (radius * sei.molar_volume)
    assert li[-1] == pytest.approx(expected, rel=1e-9)
    # the fresh film's resistance acts from the first cycle
    assert float(ds.sei_thickness[0]) == pytest.approx(sei.initial_thickness)
