"""Reaction-limited SEI on the negative against PyBaMM's DFN with the same SEI
(``options={"SEI": "reaction limited"}``): the same Chen2020 cell, OKane2022 SEI
parameters, protocol and charged start, every cycle resolved on both sides.

Tolerances: the discharge capacities agree per cycle within 0.05 % (measured 0.013 %
here at 12 volumes/shells, 0.009 % at 20 in ``benchmarks/bench_aging.py``: the DFN
agreement of the two codes); the lithium lost to SEI within 0.2 % (measured +0.02 %;
the rest is the coupling: electrohet applies each cycle's side charge between cycles,
PyBaMM solves the SEI current inside the DFN).
"""

from __future__ import annotations

import numpy as np
import pytest

pybamm = pytest.importorskip("pybamm")

from electrohet.aging import AgingProtocol, AgingRun, JumpOptions, Mechanisms  # noqa: E402
from electrohet.aging.mechanisms import (  # noqa: E402
    CEIGrowth,
    ContactLoss,
    Cracking,
    SEIGrowth,
)
from electrohet.design.presets import chen2020_cell  # noqa: E402
from electrohet.model.mesh import MeshOptions  # noqa: E402

STEPS = ["Discharge at 1C until 2.5 V", "Charge at 1C until 4.2 V", "Hold at 4.2 V until C/20"]
N_CYCLES, POINTS = 3, 12
SEI = {
    "SEI reaction exchange current density [A.m-2]": 1.5e-07,
    "SEI open-circuit potential [V]": 0.4,
    "SEI partial molar volume [m3.mol-1]": 9.585e-05,
    "SEI resistivity [Ohm.m]": 200000.0,
    "Initial SEI thickness [m]": 5e-09,
    "Ratio of lithium moles to SEI moles": 1.0,
    "SEI growth activation energy [J.mol-1]": 38000.0,
}


def test_sei_aging_matches_pybamm():
    cell = chen2020_cell()
    mech = Mechanisms(
        cei=CEIGrowth(enabled=False),
        cracking=Cracking(enabled=False),
        contact=ContactLoss(enabled=False),
        sei=SEIGrowth(enabled=True),  # its defaults are the OKane2022 values above
    )
    ds = AgingRun(
        cell,
        AgingProtocol(STEPS, N_CYCLES + 1),
        mech,
        MeshOptions(points_per_domain=POINTS, radial_points=POINTS),
        JumpOptions(enabled=False),
    ).run()
    q_eh = ds.discharge_capacity.values[:N_CYCLES] * cell.area
    # electrohet's row c holds the state at the start of cycle c
    lost_eh = float(ds.li_cei.values[N_CYCLES]) * cell.area

    pv = pybamm.ParameterValues("Chen2020")
    pv.update(SEI, check_already_exists=False)
    sim = pybamm.Simulation(
        pybamm.lithium_ion.DFN(options={"SEI": "reaction limited"}),
        parameter_values=pv,
        experiment=pybamm.Experiment([tuple(STEPS)] * N_CYCLES),
        var_pts={k: POINTS for k in ("x_n", "x_s", "x_p", "r_n", "r_p")},
        solver=pybamm.IDAKLUSolver(),
    )
    sol = sim.solve()
    q_pb, lost_pb = [], 0.0
    for cyc in sol.cycles:
        q = cyc.steps[0]["Discharge capacity [A.h]"].entries
        q_pb.append(float(q[-1] - q[0]))
        lost_pb = float(cyc["Loss of lithium to negative SEI [mol]"].entries[-1])
    assert np.max(np.abs(q_eh - np.array(q_pb)) / np.array(q_pb)) < 5e-4
    assert lost_eh == pytest.approx(lost_pb, rel=2e-3)
    assert float(np.abs(ds.li_balance_error).max()) < 1e-10
