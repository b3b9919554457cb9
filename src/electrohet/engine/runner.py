"""The step loop: run an experiment's steps on any simulator.

The engine owns everything about a step except the time integration: the control and
its consistent start, the cut-off and the refusal of a step whose cut-off is already
met, the time limit, the end of a step at a transport limit, the step table, the
failure and interrupt handling of the run, and progress.  The simulator integrates
(with its own error control) through :class:`SimulatorAdapter`.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from electrohet.engine.control import Control, control_of, step_time_limit
from electrohet.engine.cutoffs import Cutoff, cutoff_of, raise_satisfied
from electrohet.engine.log import ExperimentLog
from electrohet.errors import SolverError
from electrohet.interrupts import run_failure
from electrohet.progress import progress_bar, show_detail
from electrohet.protocols.experiment import Experiment
from electrohet.protocols.steps import Step


@runtime_checkable
class SimulatorAdapter(Protocol):
    """What a simulator gives the engine.

    Attributes
    ----------
    one_c
        1C current density [A/m^2].
    area
        Electrode area [m^2].
    max_duration_factor
        A step without a duration fails after this multiple of its nominal time + 1 h.
    interrupt_handler
        None (Ctrl-C propagates) or a callable turning the KeyboardInterrupt into a
        :class:`~electrohet.errors.SolverError` (the run then ends "failed" with the
        states so far; see :func:`electrohet.interrupts.make_interruptible`).
    """

    one_c: float
    interrupt_handler: Callable[[KeyboardInterrupt], Exception] | None

    @property
    def area(self) -> float: ...

    @property
    def max_duration_factor(self) -> float: ...

    def terminal_voltage(self, y: np.ndarray) -> float:
        """Terminal voltage of state ``y`` [V]."""
        ...

    def current_density(self, y: np.ndarray) -> float:
        """Current density of state ``y`` [A/m^2], > 0 discharge."""
        ...

    def begin_step(self, control: Control, t: float, y: np.ndarray, log) -> np.ndarray:
        """Set ``control`` and return the state consistent with it (the differential
        unknowns of ``y`` unchanged)."""
        ...

    def integrate(
        self,
        t: float,
        y: np.ndarray,
        t_end: float,
        cutoff: Cutoff | None,
        log,
        index: int,
        cycle: int,
        detail: Callable[[str], None] | None = None,
    ) -> tuple[float, np.ndarray, bool, int]:
        """Integrate from ``(t, y)`` until ``cutoff`` (located) or ``t_end``.

        Records the start state and every state it passes in ``log`` (with ``index``
        and ``cycle``).  Returns the end time [s], the end state, whether the cut-off
        ended it and the number of accepted steps.  Raises
        :class:`~electrohet.errors.SolverError` when the integration fails; the last
        accepted state is then :meth:`last_state`.
        """
        ...

    def last_state(self) -> tuple[float, np.ndarray, int]:
        """The last accepted (time [s], state) of :meth:`integrate`, and the number of
        steps it had accepted."""
        ...

    def transport_limit(self, step: Step, log, t_start: float, y: np.ndarray) -> str:
        """Why a failed current step has reached a transport limit (``""`` if it has
        not): then the failure is the step's end, not an error."""
        ...


def run_step(
    sim: SimulatorAdapter,
    step: Step,
    t: float,
    y: np.ndarray,
    index: int,
    cycle: int,
    log: ExperimentLog,
    skip_satisfied: bool = False,
    detail: Callable[[str], None] | None = None,
) -> tuple[float, np.ndarray, dict]:
    """Run one experiment step from the state ``y`` at time ``t``.

    The step's control is set and ``y`` made consistent with it; a cut-off met at once
    skips the step (``skip_satisfied``) or raises; then the simulator integrates until
    the cut-off, the step's duration or, for a step without one, the safety limit of
    :func:`~electrohet.engine.control.step_time_limit`.  A current step whose
    integration fails at a transport limit (the simulator's
    :meth:`~SimulatorAdapter.transport_limit`) ends there with that reason.

    Parameters
    ----------
    sim
        The simulator.
    step
        The step.
    t
        Time at the start of the step [s].
    y
        State at the start of the step (not modified).
    index, cycle
        Step index and cycle number recorded with every state.
    log
        Where the states go.
    skip_satisfied
        Skip (``info["status"] = "skipped"``) instead of refusing a step whose cut-off is
        met at its start.
    detail
        Called with a short text (time in step, voltage) as the step advances.

    Returns
    -------
    t_end : float
        Time at the end of the step [s].
    y_end : numpy.ndarray
        State at the end of the step.
    info : dict
        ``step``, ``cycle``, ``text``, ``t_start``, ``t_end``, ``status``
        (``"completed"`` or ``"skipped"``), ``reason`` (what ended it: ``"time"``, the
        cut-off, or a transport limit) and ``solver_steps``.

    Raises
    ------
    SolverError
        The integration failed, or a step without duration never reached its cut-off.
    ProtocolError
        The cut-off is met at the start and ``skip_satisfied`` is false.
    """
    control = control_of(step, sim.one_c, sim.area)
    cutoff = cutoff_of(step, sim.one_c, sim.area)
    limit, hard = step_time_limit(step, control, sim.one_c, sim.max_duration_factor)
    v_before = sim.terminal_voltage(y)  # the end of the previous step
    y = sim.begin_step(control, t, y, log)
    info: dict = {
        "step": index,
        "cycle": cycle,
        "text": str(step),
        "t_start": t,
        "status": "completed",
        "reason": "time",
    }
    if cutoff is not None:
        v_after, i_after = sim.terminal_voltage(y), sim.current_density(y)
        if cutoff.value(v_after, i_after) <= 0:
            if not skip_satisfied:
                raise_satisfied(index, step, cutoff.name, v_before, v_after, i_after)
            info.update(
                status="skipped",
                reason=f"{cutoff.name} already reached at start",
                t_end=t,
                solver_steps=0,
            )
            return t, y, info
    t_start = t
    try:
        t, y, hit, n_steps = sim.integrate(t, y, t_start + limit, cutoff, log, index, cycle, detail)
    except SolverError:
        t, y, n_steps = sim.last_state()
        reason = ""
        if step.kind == "current" and cutoff is not None and log.n_records() > 0:
            reason = sim.transport_limit(step, log, t_start, y)
        if not reason:
            raise
        info.update(reason=reason, t_end=t, solver_steps=n_steps)
        return t, y.copy(), info
    if hit:
        assert cutoff is not None
        info["reason"] = cutoff.name
    elif hard:
        raise SolverError(
            f"cut-off never reached within {limit / 3600:.3g} h "
            f"(voltage {sim.terminal_voltage(y):.4g} V)"
        )
    info.update(t_end=t, solver_steps=n_steps)
    return t, y.copy(), info


def run_experiment(
    sim: SimulatorAdapter,
    experiment: Experiment,
    y: np.ndarray,
    log: ExperimentLog,
    progress: bool = False,
    skip_satisfied: bool = False,
    t: float = 0.0,
) -> tuple[float, np.ndarray, float]:
    """Run every step of ``experiment`` from state ``y``.

    A failure (solver breakdown, a cut-off never reached) does not raise: the log's
    ``status`` becomes ``"failed"`` and its ``message`` says at which step and why, and
    the step table gets a ``"failed"`` row.  A KeyboardInterrupt (Ctrl-C, SIGTERM) is
    handled the same way when ``sim.interrupt_handler`` is set, else re-raised.

    Parameters
    ----------
    sim
        The simulator.
    experiment
        The steps.
    y
        Initial state.
    log
        The simulator's log.
    progress
        Show a progress bar over the steps (time and voltage within a step as detail).
    skip_satisfied
        See :func:`run_step`.
    t
        Time at the start [s].

    Returns
    -------
    t : float
        Time at the end of the last completed step [s].
    y : numpy.ndarray
        State at the end of the last completed step.
    wall : float
        Wall time [s].
    """
    wall0 = _time.perf_counter()
    steps = experiment.steps
    bar = progress_bar(len(steps), "steps") if progress else None
    detail = None
    if bar is not None:
        b = bar

        def detail(text: str) -> None:
            show_detail(b, text)

    idx, step, where = -1, None, "before the first step"
    try:
        # one handler for a failed step and for an interrupt anywhere in the loop
        # (inside a step or between steps)
        for idx, (cyc, step) in enumerate(steps):
            where = f"step {idx} ({step}), cycle {cyc}"
            t, y, info = run_step(sim, step, t, y, idx, cyc, log, skip_satisfied, detail)
            log.step_info.append(info)
            if bar is not None:
                bar.update(1)
    except (SolverError, KeyboardInterrupt) as exc:
        # partial results after an interrupt only when a caller asked for them (the
        # CLI does); the library re-raises
        failure = run_failure(exc, sim.interrupt_handler)
        log.status = "failed"
        log.message = f"{where}: {failure}"
        log.step_info.append(
            {"step": idx, "text": str(step), "status": "failed", "message": str(failure)}
        )
    if bar is not None:
        bar.close()
    # an interrupt while recording may leave one record half appended
    log.drop_partial()
    return t, y, _time.perf_counter() - wall0
