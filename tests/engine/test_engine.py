"""The experiment engine on a cell with an analytic solution, and its adapters.

The toy cell is a capacitor in series with a resistor: V = V0 - q / C - I R with
dq/dt = I.  Under a constant current the cut-off time is analytic,
t* = C (V0 - I R - V_cut) / I, so the engine's cut-off handling, time limits, skipped
steps, failures and transport-limit ends are checked against exact numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.engine import (
    Control,
    Cutoff,
    ExperimentLog,
    SimulatorAdapter,
    run_experiment,
    run_step,
)
from electrohet.errors import ProtocolError, SolverError
from electrohet.protocols.experiment import Experiment
from electrohet.protocols.steps import parse_step

V0, C, R, ONE_C = 4.0, 3600.0, 0.01, 1.0  # V, F/m^2 (1 V per 1 Ah/m^2), Ohm m^2, A/m^2


class RCLog(ExperimentLog):
    def __init__(self) -> None:
        super().__init__()
        self.t: list[float] = []
        self.y: list[np.ndarray] = []

    def n_records(self) -> int:
        return len(self.t)


class RCCell:
    """State y = (q [C/m^2], I [A/m^2]); exact steps of dt = 10 s."""

    one_c = ONE_C
    interrupt_handler = None
    area = 1.0
    max_duration_factor = 3.0

    def __init__(
        self, fail_after: float | None = None, limit_reason: str = "", cap: float = C
    ) -> None:
        self.cap = cap
        self.control = Control("current", 0.0)
        self.fail_after = fail_after
        self.limit_reason = limit_reason
        self._last = (0.0, np.zeros(2), 0)

    def terminal_voltage(self, y: np.ndarray) -> float:
        return V0 - y[0] / self.cap - y[1] * R

    def current_density(self, y: np.ndarray) -> float:
        return float(y[1])

    def begin_step(self, control: Control, t: float, y: np.ndarray, log) -> np.ndarray:
        self.control = control
        return np.array([y[0], control.value if control.mode == "current" else 0.0])

    def last_state(self):
        return self._last

    def transport_limit(self, step, log, t_start, y) -> str:
        return self.limit_reason

    def integrate(self, t, y, t_end, cutoff, log, index, cycle, detail=None):
        log.t.append(t)
        log.y.append(y.copy())
        n = 0
        while t < t_end:
            if self.fail_after is not None and t >= self.fail_after:
                raise SolverError("step too small")
            dt = min(10.0, t_end - t)
            y_new = y + np.array([y[1] * dt, 0.0])
            if cutoff is not None:
                g0 = cutoff.value(self.terminal_voltage(y), y[1])
                g1 = cutoff.value(self.terminal_voltage(y_new), y[1])
                if g1 <= 0:  # linear in time: the crossing is exact
                    dt *= g0 / (g0 - g1)
                    y_new = y + np.array([y[1] * dt, 0.0])
                    t, y, n = t + dt, y_new, n + 1
                    log.t.append(t)
                    log.y.append(y.copy())
                    self._last = (t, y, n)
                    return t, y, True, n
            t, y, n = t + dt, y_new, n + 1
            log.t.append(t)
            log.y.append(y.copy())
            self._last = (t, y, n)
        return t, y, False, n


def test_adapters_implement_the_protocol():
    """Both simulators are engine adapters (one step loop: neither keeps its own)."""
    from electrohet.model.simulation import Simulation as P2D
    from electrohet.voxel.simulation import Simulation as Voxel

    for cls in (P2D, Voxel):
        for name in (
            "terminal_voltage",
            "current_density",
            "begin_step",
            "integrate",
            "last_state",
            "transport_limit",
            "area",
            "max_duration_factor",
        ):
            assert hasattr(cls, name), (cls, name)
        assert not hasattr(cls, "_run_step")
    assert isinstance(RCCell(), SimulatorAdapter)


def test_cutoff_time_is_analytic():
    sim = RCCell()
    log = RCLog()
    t, y, info = run_step(
        sim, parse_step("Discharge at 1C until 3.5 V"), 0.0, np.zeros(2), 0, 0, log
    )
    t_exact = C * (V0 - ONE_C * R - 3.5) / ONE_C
    assert info["reason"] == "voltage cut-off 3.5 V"
    assert t == pytest.approx(t_exact, rel=1e-12)
    assert sim.terminal_voltage(y) == pytest.approx(3.5, abs=1e-12)
    # charge conserved: q = I t exactly
    assert y[0] == pytest.approx(ONE_C * t, rel=1e-12)


def test_duration_step_ends_on_time_and_hard_limit_fails():
    sim = RCCell()
    t, _, info = run_step(sim, parse_step("Rest for 60 s"), 5.0, np.zeros(2), 0, 0, RCLog())
    assert (t, info["reason"], info["status"]) == (65.0, "time", "completed")
    # a cut-off the cell reaches only after 15 h (1.5 V drop at 0.1 V/h): the step fails
    # at its safety limit of 3 x the nominal 1 h + 1 h
    sim = RCCell(cap=10 * C)
    with pytest.raises(SolverError, match="cut-off never reached within 4 h"):
        run_step(sim, parse_step("Discharge at 1C until 2.5 V"), 0.0, np.zeros(2), 0, 0, RCLog())


def test_satisfied_cutoff_skipped_or_refused():
    sim = RCCell()
    y = np.array([0.9 * C, 0.0])  # 3.1 V at rest
    step = parse_step("Discharge at 1C until 3.5 V")
    with pytest.raises(ProtocolError, match="already met at the start"):
        run_step(sim, step, 0.0, y, 0, 0, RCLog())
    t, _, info = run_step(sim, step, 0.0, y, 0, 0, RCLog(), skip_satisfied=True)
    assert info["status"] == "skipped" and t == 0.0
    # reached only by the ohmic jump: a failure of the step, not a protocol error
    y = np.array([(V0 - 3.505) * C, 0.0])
    with pytest.raises(SolverError, match="as soon as the current is applied"):
        run_step(sim, step, 0.0, y, 0, 0, RCLog())


def test_failure_at_transport_limit_ends_step():
    log = RCLog()
    sim = RCCell(fail_after=100.0, limit_reason="transport limit: toy")
    t, _, info = run_step(
        sim, parse_step("Discharge at 1C until 3.5 V"), 0.0, np.zeros(2), 0, 0, log
    )
    assert info["reason"] == "transport limit: toy" and t == 100.0 and info["solver_steps"] == 10
    # no transport limit: the failure propagates, and run_experiment ends "failed"
    sim = RCCell(fail_after=100.0)
    log = RCLog()
    exp = Experiment(["Rest for 10 s", "Discharge at 1C until 3.5 V"])
    t, y, _ = run_experiment(sim, exp, np.zeros(2), log)
    assert log.status == "failed"
    assert log.message.startswith("step 1 (Discharge at 1C until 3.5 V)")
    assert [i["status"] for i in log.step_info] == ["completed", "failed"]
    assert t == 10.0  # the end of the last completed step


def test_interrupt_propagates_or_becomes_failure():
    class Interrupting(RCCell):
        def integrate(self, *args, **kwargs):
            raise KeyboardInterrupt

    exp = Experiment(["Discharge at 1C until 3.5 V"])
    with pytest.raises(KeyboardInterrupt):
        run_experiment(Interrupting(), exp, np.zeros(2), RCLog())
    sim = Interrupting()
    sim.interrupt_handler = lambda exc: SolverError("interrupted by Ctrl-C")
    log = RCLog()
    run_experiment(sim, exp, np.zeros(2), log)
    assert log.status == "failed" and "interrupted by Ctrl-C" in log.message


def test_cutoff_value_signs():
    dis = Cutoff("voltage", 3.0, 1.0, "v")
    ch = Cutoff("voltage", 4.2, -1.0, "v")
    cur = Cutoff("current", 0.5, 1.0, "i")
    assert dis.value(3.1, 1.0) > 0 > dis.value(2.9, 1.0)
    assert ch.value(4.1, -1.0) > 0 > ch.value(4.3, -1.0)
    assert cur.value(0.0, -0.6) > 0 > cur.value(0.0, 0.4)
