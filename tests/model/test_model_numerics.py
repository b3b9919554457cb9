"""Numerical properties of the P2D-E model: layer stacking, conservation, convergence."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.design.presets import chen2020_cell, chen2020_half_cell, chen2020_positive_layer
from electrohet.materials.base import F
from electrohet.model import MeshOptions, Simulation, SolverOptions
from electrohet.model.results import lithium_inventory


def _stack(n: int):
    base = chen2020_positive_layer()
    return [
        base.with_(thickness=base.thickness / n, n_points=20 // n, name=f"L{i}") for i in range(n)
    ]


@pytest.mark.parametrize("n_layers", [2, 4])
def test_stack_of_identical_layers_equals_single_layer(n_layers):
    """Cutting a layer into identical sub-layers (same mesh) changes nothing: 1e-6 V."""
    ref = Simulation(chen2020_cell()).solve("Discharge at 1C until 2.5 V")
    ds = Simulation(chen2020_cell(_stack(n_layers))).solve("Discharge at 1C until 2.5 V")
    assert ds.sizes["time"] == ref.sizes["time"]
    assert np.max(np.abs(ds.voltage.values - ref.voltage.values)) < 1e-6
    # per-layer capacities add up to the delivered capacity (charge balance)
    total = ds.layer_capacity.sel(layer=ds.layer_region == "positive").sum("layer").values
    np.testing.assert_allclose(total, ds.capacity.values, rtol=1e-6, atol=1e-9)


CYCLE = [
    "Discharge at 1C until 2.5 V",
    "Rest for 10 minutes",
    "Charge at 1C until 4.2 V",
    "Hold at 4.2 V until C/20",
    "Rest for 10 minutes",
]


def test_lithium_conserved_over_a_full_cycle_full_cell():
    """Cyclable lithium (solids + electrolyte) is constant to 1e-9 relative."""
    sim = Simulation(chen2020_cell())
    ds = sim.solve(CYCLE)
    assert ds.attrs["status"] == "completed"
    li = lithium_inventory(ds).values
    li0 = sim.model.lithium_inventory(sim.initial_state())
    assert abs(li[0] / li0 - 1.0) < 1e-12
    assert np.max(np.abs(li / li0 - 1.0)) < 1e-9
    # electrolyte salt is conserved on its own as well
    salt = (ds.c_e * ds.dx * ds.porosity).sum("x").values
    assert np.max(np.abs(salt / salt[0] - 1.0)) < 1e-9


def test_lithium_conserved_half_cell_with_foil_exchange():
    """Half cell: lithium in the cathode + electrolyte changes by exactly Q/F (foil)."""
    sim = Simulation(chen2020_half_cell())
    ds = sim.solve(
        ["Discharge at 1C until 3.0 V", "Rest for 5 minutes", "Charge at 1C until 4.2 V"]
    )
    li = lithium_inventory(ds).values
    q = ds.capacity.values * 3600.0 / F  # mol/m^2 delivered by the foil
    drift = (li - q) - (li[0] - q[0])
    assert np.max(np.abs(drift)) / li[0] < 1e-9


def test_capacity_converges_when_mesh_and_steps_are_refined():
    """Halving dx (x and r) and tightening time steps changes the 1C capacity < 0.3 %."""
    coarse = Simulation(chen2020_cell()).solve("Discharge at 1C until 2.5 V")
    fine = Simulation(
        chen2020_cell(),
        MeshOptions(points_per_domain=40, radial_points=40),
        SolverOptions(rtol=2.5e-6, max_step=300.0),
    ).solve("Discharge at 1C until 2.5 V")
    q_c = float(coarse.capacity[-1])
    q_f = float(fine.capacity[-1])
    assert abs(q_c / q_f - 1.0) < 3e-3


def test_interrupt_inside_a_record_keeps_whole_states_only(monkeypatch):
    """An interrupt (with an interrupt_handler, as the CLI sets) that lands between the
    appends of one record leaves that record out: the Dataset holds whole states and
    ends 'failed' with the handler's message (with the compiled step loop the records
    are flushed in bursts, where interrupts land often)."""
    from electrohet.design.presets import chen2020_cell
    from electrohet.errors import SolverError
    from electrohet.model import Simulation
    from electrohet.model.simulation import RunLog

    sim = Simulation(chen2020_cell())
    calls = {"n": 0}
    real = RunLog.record

    def record(self, t, y, step, cycle):
        calls["n"] += 1
        if calls["n"] == 40:
            self.t.append(t)  # half a record, then Ctrl-C
            raise KeyboardInterrupt
        real(self, t, y, step, cycle)

    monkeypatch.setattr(RunLog, "record", record)
    sim.interrupt_handler = lambda exc: SolverError("interrupted by Ctrl-C")
    ds = sim.solve("Discharge at 1C until 2.5 V")
    assert ds.attrs["status"] == "failed"
    assert "interrupted by Ctrl-C" in ds.attrs["message"]
    assert ds.sizes["time"] == 39
    assert np.all(np.diff(ds.time.values) > 0)
    # without a handler the library re-raises
    sim.interrupt_handler = None
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        sim.solve("Discharge at 1C until 2.5 V")


def test_large_current_after_a_deep_discharge_starts_by_continuation(monkeypatch):
    """Yari LTO|NMC622: a 1C charge right after a C/10 discharge to 1.4 V.  Direct Newton
    for the consistent start does not converge (issue 23: the Yari aging example stopped
    at its first check-up); the current continuation (1/8 ... 1 of the current) reaches
    the same algebraic state, the run completes, and the differential unknowns are not
    moved by the start (lithium conserved to round-off)."""
    from electrohet.aging.presets import yari_lto_nmc622_cell
    from electrohet.model import simulation as simmod

    cell = yari_lto_nmc622_cell(0.025, None, n_radius=4)
    steps = [
        "Charge at C/10 until 2.8 V",
        "Discharge at C/10 until 1.4 V",
        "Charge at 1C until 2.8 V",
    ]
    sim = Simulation(cell, MeshOptions(points_per_domain=4, radial_points=6))
    ds = sim.solve(steps)
    assert ds.attrs["status"] == "completed", ds.attrs["message"]
    q = ds.capacity.values
    assert q[-1] < q[np.flatnonzero(ds.step.values == 2)[0]]  # the 1C step charged
    # the continuation's end point is a consistent state of the full current
    y0 = sim.integrator.y
    assert np.all(np.isfinite(y0))

    def direct(self, y, control):
        self._set_control(control)
        return self.integrator.make_consistent(y)

    monkeypatch.setattr(simmod.Simulation, "_consistent_start", direct)
    sim2 = Simulation(cell, MeshOptions(points_per_domain=4, radial_points=6))
    assert sim2.solve(steps).attrs["status"] == "failed"  # without it: the old failure
