"""A discharge that starves the electrolyte ends as a transport limit (issue 27, item 4).

Chen2020 (LG M50) with PyBaMM's Bruggeman coefficient 2.5 in every region (electrohet's
``bruggeman`` is PyBaMM's coefficient minus 1, see :class:`~electrohet.design.layer.Layer`)
at 1C depletes the electrolyte of the positive electrode near its collector; PyBaMM's DFN
reaches 2.5 V at 1500.8 s (issue 27).
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

import numpy as np
import pytest

from electrohet.design.presets import (
    chen2020_cell,
    chen2020_negative_layer,
    chen2020_positive_layer,
    chen2020_separator,
)
from electrohet.model.results import lithium_inventory
from electrohet.model.simulation import ELECTROLYTE_DEPLETED, Simulation

PYBAMM_END_S = 1500.8  # PyBaMM 26.10 DFN, same cell, 20 cells / 20 shells (issue 27)


def _starved_cell():
    cell = chen2020_cell([chen2020_positive_layer(bruggeman=1.5)])
    negative = replace(cell.negative, layers=[chen2020_negative_layer(bruggeman=1.5)])
    separator = replace(chen2020_separator(), bruggeman=1.5)
    return replace(cell, negative=negative, separator=separator)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-loop", "python-loop"])
def test_starved_electrolyte_ends_the_step_cleanly(compiled):
    cell = _starved_cell()
    sim = Simulation(cell)
    sim.integrator.step_kernel = compiled
    ds = sim.solve("Discharge at 1C until 2.5 V")
    assert ds.attrs["status"] == "completed", ds.attrs.get("message")
    step = ast.literal_eval(ds.attrs["step_info"])[0]
    assert step["status"] == "completed"
    assert sim.integrator.compiled == compiled
    reason = step["reason"]
    assert reason.startswith("transport limit: electrolyte depleted in the positive electrode")
    c_e = float(re.search(r"c_e = ([0-9.eE+-]+) mol/m\^3", reason).group(1))
    assert c_e < ELECTROLYTE_DEPLETED * cell.electrolyte.c0
    # the end state is depleted there, and the reason reports it
    assert np.isclose(float(ds.c_e.isel(time=-1).min()), c_e, rtol=1e-2)
    # bounded work: a few hundred steps, not the 166,000 tiny steps of issue 27
    assert step["solver_steps"] < 2000
    # the end is where the cut-off is: within 0.5 % of PyBaMM's time at 2.5 V
    assert abs(step["t_end"] - PYBAMM_END_S) < 5e-3 * PYBAMM_END_S
    assert float(ds.voltage[-1]) < 2.6
    # lithium (solids + electrolyte) conserved to round-off over the run
    li = lithium_inventory(ds).values
    assert np.max(np.abs(li - li[0])) < 1e-10 * li[0]
