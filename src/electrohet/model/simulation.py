"""Run an experiment on a cell: step control, cut-off events, recording.

>>> from electrohet.design.presets import chen2020_cell
>>> from electrohet.model import Simulation
>>> ds = Simulation(chen2020_cell()).solve("Discharge at 1C until 2.5 V")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from electrohet.design.layer import Cell
from electrohet.engine import Control, Cutoff, ExperimentLog, run_experiment, run_step
from electrohet.errors import MeshWarning, ParameterError, ProtocolError, SolverError
from electrohet.model.integrator import BDFIntegrator
from electrohet.model.mesh import NEG, POS, SEP, MeshOptions, build_mesh
from electrohet.model.mesh_check import mesh_warnings
from electrohet.model.p2de import P2DEModel
from electrohet.model.step_kernel import END, EVENT, STALLED, STEP_TOO_SMALL
from electrohet.protocols.experiment import Experiment
from electrohet.protocols.steps import Step


@dataclass
class SolverOptions:
    """Integrator settings.

    Parameters
    ----------
    rtol
        Relative tolerance of the local error test [-].
    atol
        Absolute tolerance relative to each unknown's typical scale [-].
    first_step
        First step after every step change [s].
    max_step
        Largest time step [s].
    max_duration_factor
        A step without a time limit fails ("cut-off never reached") after
        ``max_duration_factor`` x (nominal capacity / current) + 1 h.
    """

    rtol: float = 1e-5
    atol: float = 1e-7
    first_step: float = 1e-3
    max_step: float = 600.0
    max_duration_factor: float = 3.0


@dataclass
class RunLog(ExperimentLog):
    """Recorded states (every accepted step) and what happened (the engine's log)."""

    t: list = field(default_factory=list)
    y: list = field(default_factory=list)
    step: list = field(default_factory=list)
    cycle: list = field(default_factory=list)

    def record(self, t: float, y: np.ndarray, step: int, cycle: int) -> None:
        self.t.append(t)
        self.y.append(y.copy())
        self.step.append(step)
        self.cycle.append(cycle)

    def n_records(self) -> int:
        """Number of recorded states."""
        return len(self.t)

    def drop_partial(self) -> None:
        """Drop a record an interrupt cut short between its appends (the lists then
        differ in length), so the log describes whole states only."""
        n = min(len(self.t), len(self.y), len(self.step), len(self.cycle))
        del self.t[n:], self.y[n:], self.step[n:], self.cycle[n:]


class Simulation:
    """The P2D-E model of a :class:`~electrohet.design.layer.Cell`, ready to run experiments.

    Parameters
    ----------
    cell
        The cell (layers, materials, electrolyte, counter electrode).
    mesh
        Discretisation (:class:`~electrohet.model.mesh.MeshOptions`).
    solver
        Integrator settings (:class:`SolverOptions`).
    """

    def __init__(
        self, cell: Cell, mesh: MeshOptions | None = None, solver: SolverOptions | None = None
    ) -> None:
        self.cell = cell
        self.mesh_options = mesh or MeshOptions()
        self.options = solver or SolverOptions()
        # None: Ctrl-C / SIGTERM propagate out of solve() (library default).  A callable
        # KeyboardInterrupt -> SolverError makes solve() end with the states so far
        # instead, wherever in the step loop the interrupt lands (the CLI sets it).
        self.interrupt_handler: Callable[[KeyboardInterrupt], Exception] | None = None
        self._rec_t: np.ndarray | None = None  # buffers of the compiled step loop
        self._rec_y: np.ndarray | None = None
        self._results_static: tuple | None = None  # results.build_dataset's cache
        self._n_accepted = 0  # steps accepted by the last integrate()
        self.mesh, self.model, self.one_c, scale, atol, upper = self._problem(cell)
        m = self.model
        self.scale = scale
        self.integrator = BDFIntegrator(
            fun=lambda Y: m.residual(Y, Control("current", 0.0)),
            mass=m.mass,
            pattern=m.sparsity(),
            scale=scale,
            rtol=self.options.rtol,
            atol=atol,
            upper=upper,
        )
        self._control = Control("current", 0.0)
        m.add_change_listener(self._model_changed)

    def _problem(self, cell: Cell) -> tuple:
        """(mesh, model, 1C current [A/m^2], scales, absolute tolerances, upper bounds)
        of ``cell`` under this simulation's mesh and solver options."""
        mesh = build_mesh(cell, self.mesh_options)
        m = P2DEModel(cell, mesh)
        one_c = cell.one_c()
        scale = np.ones(m.n)
        scale[m.slices["ce"]] = cell.electrolyte.c0
        scale[m.slices["cs"]] = np.repeat(m.cmax, m.n_r)
        scale[m.slices["ik"]] = max(
            1e-3,
            one_c / max(1.0, float(np.sum(mesh.slot_area * mesh.dx[mesh.slot_cell]))),
        )
        scale[m.slices["I"]] = one_c
        scale[m.slices["Q"]] = one_c
        scale[m.slices["E"]] = 4.0 * one_c
        upper = np.full(m.n, np.inf)
        upper[m.slices["cs"]] = np.repeat(m.cmax, m.n_r)
        atol = self.options.atol * scale
        atol[m.slices["cs"]] = 1e-10 * np.repeat(m.cmax, m.n_r)
        return mesh, m, one_c, scale, atol, upper

    def set_cell(self, cell: Cell) -> None:
        """Simulate another cell of the same structure without building a new solver.

        For parameter sweeps (porosity, active fraction, thickness, conductivities,
        temperature, material functions, ...): the mesh and the model are rebuilt from
        ``cell`` (cheap), while the solver's sparsity pattern, Jacobian colouring, kept
        pivot orders and compiled kernels are reused.  See
        :func:`electrohet.model.sweep.parameter_sweep`.

        Parameters
        ----------
        cell
            A cell whose mesh has the same unknowns and coupling pattern as the current
            one (the same electrodes, layers, particle classes and, under the same
            :class:`~electrohet.model.mesh.MeshOptions`, the same number of volumes and
            shells).

        Raises
        ------
        ParameterError
            The cell's structure differs (then build a new :class:`Simulation`).
        """
        mesh, m, one_c, scale, atol, upper = self._problem(cell)
        old = self.model
        same = (
            m.n == old.n
            and all(m.slices[k] == old.slices[k] for k in old.slices)
            and _same_pattern(m.sparsity(), old.sparsity())
        )
        if not same:
            raise ParameterError(
                f"set_cell: cell {cell.name!r} has another structure ({m.n} unknowns vs "
                f"{old.n}, or another coupling pattern) than {self.cell.name!r}; build a "
                "new Simulation for it"
            )
        try:
            self.integrator.set_problem(m.mass, scale, atol, upper)
        except ValueError as exc:
            raise ParameterError(f"set_cell: {exc}") from None
        self.cell, self.mesh, self.model, self.one_c, self.scale = cell, mesh, m, one_c, scale
        self._results_static = None
        m.add_change_listener(self._model_changed)
        self._set_control(Control("current", 0.0))

    # ------------------------------------------------------------------ public
    def initial_state(self, soc: float | None = None) -> np.ndarray:
        """Consistent state at rest.  ``soc`` in [0, 1] overrides the electrodes' theta_init."""
        cell = self.cell
        tp = tn = None
        if soc is not None:
            if not 0.0 <= soc <= 1.0:
                raise ProtocolError(f"initial soc = {soc} must lie in [0, 1]")
            mat_p = cell.positive.layers[0].material
            tp = mat_p.theta_0 + soc * (mat_p.theta_100 - mat_p.theta_0)
            if not cell.half_cell:
                mat_n = cell.negative.layers[0].material  # type: ignore[union-attr]
                tn = mat_n.theta_0 + soc * (mat_n.theta_100 - mat_n.theta_0)
        y = self.model.initial_state(tp, tn)
        self._set_control(Control("current", 0.0))
        return self.integrator.make_consistent(y)

    def solve(
        self,
        experiment: Experiment | str | list,
        initial_soc: float | None = None,
        initial_state: np.ndarray | None = None,
        progress: bool = False,
        skip_satisfied: bool = False,
    ):
        """Run ``experiment`` and return the results as an ``xarray.Dataset``.

        A failure mid-run (solver breakdown, a cut-off never reached) does not raise: the
        states computed so far are returned with ``attrs["status"] = "failed"`` and
        ``attrs["message"]`` saying where and why it stopped.

        Parameters
        ----------
        skip_satisfied
            A step whose cut-off is already met when it starts (e.g. ``"Charge at 1C
            until 3.0 V"`` on a cell at 4.3 V) is skipped (recorded as ``"skipped"`` in
            the step log) instead of raising :class:`~electrohet.errors.ProtocolError`.

        Raises
        ------
        ProtocolError
            A step's cut-off is met at its start and ``skip_satisfied`` is false; the
            message names the step, the start voltage [V] and the cut-off.  (A voltage
            cut-off reached only once the step's current is applied, by the ohmic jump,
            ends the run "failed" instead, with that reason in ``attrs["message"]``.)
        """
        from electrohet.model.results import build_dataset

        exp = self._as_experiment(experiment)
        self._validate(exp)
        mesh_warnings = self.check_mesh(exp)
        y = self.initial_state(initial_soc) if initial_state is None else initial_state.copy()
        log = RunLog()
        t, y_end, wall = run_experiment(self, exp, y, log, progress, skip_satisfied)
        if not log.y:  # failed or skipped at once: keep the state the run started from
            log.record(t, y_end, -1, 0)
        ds = build_dataset(self, log, exp, wall)
        ds.attrs["mesh_warnings"] = "\n".join(mesh_warnings)
        return ds

    def check_mesh(self, experiment: Experiment | str | list) -> list[str]:
        """Warn where the particle radial mesh likely misses the capacity by > 0.5 %.

        For every layer, the largest C-rate of the experiment's current steps in each
        direction and the mesh's ``radial_points`` N, one particle (the layer's largest
        radius, uniform surface flux) is solved with N and 4N shells until its surface
        reaches the end of the material's lithium window; the capacity difference,
        extrapolated as a first-order error, is the estimate
        (:func:`electrohet.model.mesh_check.capacity_error`, threshold
        :data:`~electrohet.model.mesh_check.CAPACITY_TOLERANCE` = 0.5 %).  Chen2020 at
        20 shells and 1C: 0.03 % (NMC811); a diffusivity spanning three decades at 10
        shells: 12.9 %.  :meth:`solve` calls it and keeps the texts in
        ``Dataset.attrs["mesh_warnings"]`` (newline-separated, ``""`` if none).

        Returns
        -------
        list of str
            One text per layer and direction found too coarse (each also issued as a
            :class:`~electrohet.errors.MeshWarning`, a ``UserWarning``): the material,
            the layer, the shells, the estimated error [%] and the ``radial_points`` to
            set.
        """
        exp = self._as_experiment(experiment)
        rates: dict[bool, float] = {}
        for _cyc, step in exp.steps:
            if step.kind != "current" or step.current is None:
                continue
            rate = abs(step.current.density(self.one_c, self.cell.area)) / self.one_c
            discharge = step.direction > 0
            rates[discharge] = max(rates.get(discharge, 0.0), rate)
        texts = mesh_warnings(self.cell, self.mesh_options.radial_points, rates)
        for text in texts:
            warnings.warn(text, MeshWarning, stacklevel=3)
        return texts

    def run_step(
        self,
        step: Step,
        t: float,
        y: np.ndarray,
        index: int = 0,
        cycle: int = 0,
        log: RunLog | None = None,
        skip_satisfied: bool = False,
    ) -> tuple[float, np.ndarray, dict]:
        """Run one experiment step from the state ``y`` at time ``t``.

        The step's control (current, voltage or rest) is set, ``y`` is made
        consistent with it, and the integrator advances until the step's cut-off
        event (located on the dense output), its duration or, for a step without a
        duration, a safety limit (``max_duration_factor`` x nominal time + 1 h).
        The states it passes are appended to ``log``.

        Parameters
        ----------
        step
            The step (:class:`~electrohet.protocols.steps.Step`).
        t
            Time at the start of the step [s].
        y
            State at the start of the step, shape ``(model.n,)`` (not modified).
        index, cycle
            Step index and cycle number recorded with every state in ``log``.
        log
            Where the states go (a new :class:`RunLog` when None).
        skip_satisfied
            Skip the step (``info["status"] = "skipped"``) when its cut-off is met at
            its start, instead of raising.

        Returns
        -------
        t_end : float
            Time at the end of the step [s].
        y_end : numpy.ndarray
            State at the end of the step (a copy).
        info : dict
            ``step``, ``cycle``, ``text``, ``t_start``, ``t_end``, ``status``
            (``"completed"`` or ``"skipped"``), ``reason`` (the event that ended it)
            and ``solver_steps``.

        Raises
        ------
        SolverError
            The integrator failed, or a step without duration never reached its
            cut-off.
        ProtocolError
            The cut-off is met at the start and ``skip_satisfied`` is false.
        """
        return run_step(
            self, step, t, y, index, cycle, RunLog() if log is None else log, skip_satisfied
        )

    @contextmanager
    def tolerances(self, rtol: float, newton_tol: float | None = None) -> Iterator[None]:
        """Run the steps inside the ``with`` block at other integrator tolerances.

        Parameters
        ----------
        rtol
            Relative tolerance of the local error test [-] (the options' ``rtol``
            outside the block).
        newton_tol
            Corrector convergence threshold in units of the local error tolerance
            [-]; None keeps the integrator's.

        Notes
        -----
        The previous tolerances are restored on leaving the block, also after an
        exception.
        """
        integ = self.integrator
        saved = (integ.rtol, integ.newton_tol)
        integ.rtol = float(rtol)
        if newton_tol is not None:
            integ.newton_tol = float(newton_tol)
        try:
            yield
        finally:
            integ.rtol, integ.newton_tol = saved

    # ------------------------------------------------------------------ internals
    def _model_changed(self) -> None:
        """A run-time parameter of the model changed: re-read the compiled step's
        parameters under the current control and drop the Jacobian and its factors."""
        self._set_control(self._control)

    def _as_experiment(self, experiment) -> Experiment:
        if isinstance(experiment, Experiment):
            return experiment
        if isinstance(experiment, (str, Step)):
            return Experiment([experiment])
        return Experiment(experiment)

    def _validate(self, exp: Experiment) -> None:
        lo, hi = self.cell.v_min, self.cell.v_max
        for _, s in exp.steps:
            for v, key in ((s.until_voltage, "until_voltage"), (s.voltage, "hold voltage")):
                if v is not None and not (lo - 0.3 <= v <= hi + 0.3):
                    raise ProtocolError(
                        f"step {str(s)!r}: {key} = {v:g} V lies outside the cell window "
                        f"[{lo:g}, {hi:g}] V (+-0.3 V) and would never be reached safely"
                    )

    def _consistent_start(self, y: np.ndarray, control: Control) -> np.ndarray:
        """Algebraic unknowns consistent with ``control``, the differential ones fixed.

        Newton from the previous step's state.  When it does not converge (a large
        current applied to a deeply (dis)charged cell, e.g. 1C after a C/10 titration),
        the current is applied by continuation: the consistent states at 1/8, 1/4, 1/2,
        3/4 of the current are solved in turn, each starting the next.  The differential
        unknowns do not move, so the end point is the state Newton would have found
        from a good guess; only the path to it changes.
        """
        self._set_control(control)
        try:
            return self.integrator.make_consistent(y)
        except SolverError:
            if control.mode != "current" or control.value == 0.0:
                raise
        y_k = y
        for frac in (0.125, 0.25, 0.5, 0.75):
            self._set_control(Control("current", frac * control.value))
            y_k = self.integrator.make_consistent(y_k)
        self._set_control(control)
        return self.integrator.make_consistent(y_k)

    def _set_control(self, control: Control) -> None:
        m = self.model
        self._control = control
        self.integrator.fun = lambda Y: m.residual(Y, control)
        self.integrator.kernel_params = m.fused_params(control)
        self.integrator.invalidate_jacobian()

    # ------------------------------------------------------- engine adapter
    @property
    def area(self) -> float:
        """Electrode area [m^2]."""
        return float(self.cell.area)

    @property
    def max_duration_factor(self) -> float:
        """See :class:`SolverOptions`."""
        return float(self.options.max_duration_factor)

    def terminal_voltage(self, y: np.ndarray) -> float:
        """Terminal voltage of state ``y`` [V]."""
        return float(self.model.terminal_voltage(y))

    def current_density(self, y: np.ndarray) -> float:
        """Current density of state ``y`` [A/m^2], > 0 discharge."""
        return float(y[self.model.slices["I"].start])

    def begin_step(self, control: Control, t: float, y: np.ndarray, log: RunLog) -> np.ndarray:
        """Set ``control`` and return the consistent state (see
        :meth:`_consistent_start`)."""
        return self._consistent_start(y, control)

    def last_state(self) -> tuple[float, np.ndarray, int]:
        """The integrator's last accepted (time [s], state) and the steps accepted in the
        last :meth:`integrate`."""
        return self.integrator.t, self.integrator.y.copy(), self._n_accepted

    def transport_limit(self, step: Step, log: RunLog, t_start: float, y: np.ndarray) -> str:
        """See :meth:`_collapsing`."""
        return self._collapsing(step, log, t_start, y)

    def integrate(
        self,
        t: float,
        y: np.ndarray,
        t_end: float,
        cutoff: Cutoff | None,
        log: RunLog,
        index: int,
        cycle: int,
        detail: Callable[[str], None] | None = None,
    ) -> tuple[float, np.ndarray, bool, int]:
        """Integrate from ``(t, y)`` to the cut-off (located on the dense output and
        re-taken exactly) or ``t_end``, recording every accepted step in ``log``.

        The compiled step loop (:meth:`BDFIntegrator.run`) runs whole stretches of steps
        without returning to Python; otherwise one Python step at a time.
        """
        opts = self.options
        integ = self.integrator
        integ.start(t, y, min(opts.first_step, t_end - t))
        log.record(t, y, index, cycle)
        self._n_accepted = 0
        g = None
        if cutoff is not None:

            def g(yy: np.ndarray) -> float:
                return cutoff.value(self.terminal_voltage(yy), self.current_density(yy))

        if integ.compiled:
            spec = self._event_spec(cutoff)
            cap = 64
            if self._rec_t is None or self._rec_y is None or self._rec_y.shape[1] != y.size:
                self._rec_t, self._rec_y = np.empty(cap), np.empty((cap, y.size))
            rec_t, rec_y = self._rec_t, self._rec_y
            while True:
                code, n = integ.run(t_end, opts.max_step, spec, rec_t, rec_y)
                for i in range(n):
                    log.record(float(rec_t[i]), rec_y[i], index, cycle)
                self._n_accepted += n
                if code in (STEP_TOO_SMALL, STALLED):
                    integ.raise_for(code)
                if code == EVENT:
                    assert g is not None
                    self._n_accepted += 1
                    self._locate_event(g, integ.saved_t, log, index, cycle)
                    return integ.t, integ.y.copy(), True, self._n_accepted
                if code == END:
                    return integ.t, integ.y.copy(), False, self._n_accepted
                if detail is not None:
                    detail(f"t = {integ.t - t:.0f} s, V = {self.terminal_voltage(integ.y):.4f} V")
        while True:
            integ.save()  # the state before the step, for an event's re-take
            t_old = integ.t
            integ.step(h_max=min(opts.max_step, t_end - integ.t))
            self._n_accepted += 1
            y_new = integ.y
            if g is not None and g(y_new) <= 0:
                self._locate_event(g, t_old, log, index, cycle)
                return integ.t, integ.y.copy(), True, self._n_accepted
            log.record(integ.t, y_new, index, cycle)
            if integ.t >= t_end - 1e-9 * max(1.0, t_end):
                return integ.t, integ.y.copy(), False, self._n_accepted

    def _locate_event(self, g, t_old: float, log: RunLog, idx: int, cyc: int) -> None:
        """The last step crossed the event ``g``: find the crossing on the dense output,
        re-take the step exactly to it (from the state kept by ``integrator.save``) and
        record the end state."""
        integ = self.integrator
        g_old = g(integ.saved_y)
        try:
            t_ev = brentq(
                lambda tt: g(integ.dense(tt)),
                t_old,
                integ.t,
                xtol=1e-9 * max(1.0, integ.t),
            )
        except ValueError:
            t_ev = integ.t
        if t_ev > t_old + 1e-9 and g_old > 0 and t_ev < integ.t:
            integ.restore_saved()
            integ.set_step(t_ev - t_old)
            integ.step(h_max=t_ev - t_old + 1e-12)
        log.record(integ.t, integ.y, idx, cyc)

    def _event_spec(self, cutoff: Cutoff | None) -> np.ndarray:
        """``cutoff`` for :func:`~electrohet.model.step_kernel.event_value` (the
        arithmetic of :meth:`~electrohet.engine.cutoffs.Cutoff.value`, compiled)."""
        m = self.model
        iI = float(m.slices["I"].start)
        if cutoff is not None and cutoff.kind == "voltage":
            i_v = float(m.slices["phis"].start + m.pos_last)
            return np.array(
                [0.0, i_v, iI, m.r_half_last, m.series_resistance, cutoff.sign, cutoff.threshold]
            )
        if cutoff is not None and cutoff.kind == "current":
            return np.array([1.0, 0.0, iI, 0.0, 0.0, 1.0, cutoff.threshold])
        return np.array([-1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])

    def _collapsing(self, step: Step, log: RunLog, t_start: float, y: np.ndarray) -> str:
        """The reason (``""`` if none) why a failed current step has reached a transport limit.

        When every current-carrying particle surface of an electrode is full (on
        discharge of a positive electrode; empty for a negative one, and the reverse on
        charge) or sits in depleted electrolyte, the DFN exchange current
        i0 ~ c_e^a sqrt(c_s (c_max - c_s)) vanishes there and the voltage falls without
        bound within a vanishing extra charge; the integrator's steps then shrink until it
        gives up.  That state is the end of the step: the cut-off is reached within a
        negligible extra capacity.  Threshold: see :meth:`_transport_limited`
        (:data:`SURFACE_ROOM`).

        Electrolyte depleted below :data:`ELECTROLYTE_DEPLETED` c0 anywhere
        (the reaction there stops, the electrolyte potential diverges as ln c_e) ends the
        step the same way, with the region and the smallest c_e in the reason (see
        :meth:`_electrolyte_depleted`).

        Returns
        -------
        str
            ``"transport limit: electrolyte depleted in the <region> (c_e =
            ... mol/m^3 at x = ... um)"``, ``"transport limit: particle surfaces full or
            electrolyte depleted"``, or ``""`` when the failure is no transport limit
            (the caller re-raises it).
        """
        if step.kind != "current" or step.until_voltage is None or not log.y:
            return ""  # the engine asks only for current steps with a cut-off
        depleted = self._electrolyte_depleted(y)
        if depleted:
            return f"transport limit: electrolyte depleted {depleted}"
        if self._transport_limited(step, y) or self._voltage_plunging(step, log, t_start):
            return "transport limit: particle surfaces full or electrolyte depleted"
        return ""

    def _electrolyte_depleted(self, y: np.ndarray) -> str:
        """Where the electrolyte is depleted (``""`` if nowhere).

        A region (negative electrode, separator, positive electrode) whose smallest
        electrolyte concentration is below :data:`ELECTROLYTE_DEPLETED` c0 counts as
        depleted; the text names the region with the smallest c_e, that c_e [mol/m^3]
        and its position x [um] from the negative current collector.
        """
        mesh = self.mesh
        ce = self.model.split(y)["ce"][:, 0]
        c0 = self.cell.electrolyte.c0
        x = np.cumsum(mesh.dx) - 0.5 * mesh.dx
        worst = ""
        worst_c = np.inf
        for region, name in (
            (NEG, "negative electrode"),
            (SEP, "separator"),
            (POS, "positive electrode"),
        ):
            cells = np.flatnonzero(mesh.region == region)
            if cells.size == 0:
                continue
            i = int(cells[np.argmin(ce[cells])])
            if ce[i] < ELECTROLYTE_DEPLETED * c0 and ce[i] < worst_c:
                worst_c = float(ce[i])
                worst = f"in the {name} (c_e = {ce[i]:.3g} mol/m^3 at x = {x[i] * 1e6:.1f} um)"
        return worst

    def _voltage_plunging(self, step: Step, log: RunLog, t_start: float) -> bool:
        """Voltage less than 0.1 V from the cut-off and heading there so fast that,
        extrapolated over the last 1 % of the step, it arrives within 2e-3 of the time
        already spent in the step (the collapse of a starved reaction front)."""
        t_now = log.t[-1]
        elapsed = t_now - t_start
        if elapsed <= 0 or len(log.t) < 3:
            return False
        i_then = int(np.searchsorted(np.asarray(log.t), t_now - 0.01 * elapsed))
        if log.step[i_then] != log.step[-1] or log.t[i_then] >= t_now:
            return False
        v_then = float(self.model.voltage(log.y[i_then])[0])
        v_now = float(self.model.voltage(log.y[-1])[0])
        slope = (v_now - v_then) / (t_now - log.t[i_then])
        sgn = 1.0 if step.direction > 0 else -1.0
        gap = sgn * (v_now - float(step.until_voltage))  # type: ignore[arg-type]
        if gap <= 0 or sgn * slope >= 0:
            return False
        return gap < 0.1 and gap / abs(slope) < 2e-3 * elapsed

    def _transport_limited(self, step: Step, y: np.ndarray) -> bool:
        """Every current-carrying particle surface of the lithiating electrode is full (or
        empty).

        A slot is blocked when its surface vacancy (lithium, on charge) is below
        :data:`SURFACE_ROOM` c_max (starved electrolyte is caught before, by
        :meth:`_electrolyte_depleted`, with its own reason).  Slots that carry
        less than 1e-3 of the largest interfacial current of the electrode (electronically
        cut off, e.g. poorly wired particles of insulating lithiated NMC) cannot take the
        current over and are not counted.
        """
        m = self.model
        mesh = self.mesh
        v = m.split(y)
        ik = v["ik"][:, 0]
        c_surf = m.surface_concentration(v["cs"], v["ik"])[:, 0]
        active = ~mesh.slot_isolated
        pos = mesh.elec_region[mesh.slot_elec] == POS
        # lithiation of the positive on discharge, of the negative on charge
        for region_mask, lithiating in ((pos, step.direction > 0), (~pos, step.direction < 0)):
            sel = region_mask & active
            if not np.any(sel):
                continue
            room = (m.cmax - c_surf) if lithiating else c_surf
            blocked = room < SURFACE_ROOM * m.cmax
            carrying = sel & (np.abs(ik) >= 1e-3 * np.max(np.abs(ik[sel])))
            if np.any(carrying) and np.all(blocked[carrying]):
                return True
        return False


def _same_pattern(a, b) -> bool:
    """Whether two sparse matrices have the same nonzero pattern."""
    a, b = a.tocsr(), b.tocsr()
    a.sort_indices()
    b.sort_indices()
    return (
        a.shape == b.shape
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
    )


#: Surface vacancy (or lithium) below which a slot counts as full (empty) when a failed
#: current step is examined for its transport limit [fraction of c_max].  The surface
#: can then take no more lithium and the voltage falls without bound as it fills.
SURFACE_ROOM = 1e-3

#: Electrolyte concentration below which an electrode's pores count as depleted when a
#: failed current step is examined for its transport limit [fraction of c0].  i0 ~ c_e^a
#: then vanishes there and the electrolyte potential falls as ln c_e.
ELECTROLYTE_DEPLETED = 1e-3
