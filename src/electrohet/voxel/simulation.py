"""Run experiments on a labelled voxel electrode (half cell against Li metal).

>>> from electrohet.micro.generate import synthetic_electrode
>>> from electrohet.voxel import Simulation
>>> vol = synthetic_electrode((24, 16, 16), 0.5e-6, seed=1)  # doctest: +SKIP
>>> ds = Simulation(vol, material="NMC532").solve("Discharge at C/2 until 3.0 V")  # doctest: +SKIP

Separator choice: a 1D finite-volume separator (``n_sep`` cells, porosity and
Bruggeman tortuosity) in series with the last voxel layer, closed by a Li-metal
Butler-Volmer counter electrode (the same boundary as :mod:`electrohet.model`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from electrohet.engine import Control, Cutoff, ExperimentLog, run_experiment, run_step
from electrohet.errors import ParameterError, ProtocolError, SolverError, check_range
from electrohet.materials.base import ActiveMaterial, Electrolyte, F, LithiumMetal
from electrohet.protocols.experiment import Experiment
from electrohet.protocols.steps import Step
from electrohet.voxel.geometry import build_grid, check_percolation
from electrohet.voxel.model import VoxelModel
from electrohet.voxel.solver import NewtonSolver


@dataclass
class VoxelSolverOptions:
    """Time-stepping settings (variable-step BDF2, see ``Simulation._bdf_step``).

    Parameters
    ----------
    rtol
        Local error target of the concentrations relative to c_max (solid) and c0
        (electrolyte), and of the current relative to the 1C current, per step [-].
    vtol
        Local error target of the voltage per step [V].
    first_step, max_step
        First step after a step change and largest step [s].
    linear
        ``"auto"``, ``"direct"`` or ``"krylov"`` (see :class:`NewtonSolver`).
    newton_tol
        Newton convergence on the scaled update [-] (accuracy of each step's solution;
        lithium and salt are conserved to round-off independently of it).
    max_duration_factor
        A step without a time limit fails after this x (nominal capacity / current) + 1 h.
    threads
        Threads of the Krylov preconditioner: with 2, the c_e and c_s V-cycles of each
        application run side by side (:class:`~electrohet.voxel.preconditioner.
        BlockPreconditioner`); the numerics are the same up to round-off [-].
    reuse_hierarchy
        Rebuilds of the Krylov preconditioner keep the AMG coarse grids and
        interpolation of the last full set-up and redo only the Galerkin products
        (:class:`NewtonSolver`); ``False`` makes every rebuild a full set-up.  Either
        way the Newton tolerance alone sets the accuracy.
    """

    rtol: float = 2e-3
    vtol: float = 2e-3
    first_step: float = 1.0
    max_step: float = 600.0
    linear: str = "auto"
    newton_tol: float = 1e-6
    max_duration_factor: float = 3.0
    threads: int = 1
    reuse_hierarchy: bool = True


@dataclass
class VoxelRunLog(ExperimentLog):
    """Per-record summaries (full 3D states only at the requested times); the engine's
    log with the voxel model's records."""

    t: list = field(default_factory=list)
    q: list = field(default_factory=list)  # net discharged charge [A s/m^2]
    q_total: float = 0.0
    summary: list = field(default_factory=list)
    step: list = field(default_factory=list)
    cycle: list = field(default_factory=list)
    save_at: list = field(default_factory=list)
    fields: dict = field(default_factory=dict)  # requested time -> (t, y)
    period: float | None = None  # dense-output interval [s]
    interpolated: list = field(default_factory=list)  # record from the dense output
    #: called with (t [s], state) at every record (e.g. to integrate a side reaction)
    observer: Callable[[float, np.ndarray], None] | None = None

    def n_records(self) -> int:
        """Number of recorded states."""
        return len(self.t)

    def drop_partial(self) -> None:
        """Drop a record an interrupt cut short between its appends (the lists then
        differ in length), so the log describes whole states only."""
        lists = (self.t, self.q, self.interpolated, self.summary, self.step, self.cycle)
        n = min(len(v) for v in lists)
        for v in lists:
            del v[n:]
        t_last = self.t[-1] if self.t else -np.inf
        for ts in [ts for ts, (tf, _) in self.fields.items() if tf > t_last]:
            del self.fields[ts]


#: voxel edges the voxel simulator accepts [m]: 1 nm (below it a voxel is smaller than
#: the CEI films and lattice the continuum model assumes) to 100 um (above it a voxel
#: holds many particles and the particle-resolved model is meaningless; the
#: homogenised 1D model is the tool)
VOXEL_SIZE_RANGE_M = (1e-9, 1e-4)


def check_voxel_size(voxel_size) -> None:
    """Refuse voxel edges outside :data:`VOXEL_SIZE_RANGE_M`.

    Raises
    ------
    ParameterError
        Naming the edges in um and the allowed range in um.
    """
    lo, hi = VOXEL_SIZE_RANGE_M
    vs = [float(v) for v in voxel_size]
    if not all(lo <= v <= hi for v in vs):
        shown = ", ".join(f"{v * 1e6:g}" for v in vs)
        raise ParameterError(
            f"voxel size = ({shown}) um is outside the range the voxel simulator accepts, "
            f"[{lo * 1e6:g}, {hi * 1e6:g}] um per edge"
        )


def _as_phase(volume, labels, voxel_size):
    """(phase array oriented collector first, voxel size (dz, dy, dx), label map)."""
    from electrohet.micro.volume import LabelledVolume, parse_label_map, parse_voxel_size

    if isinstance(volume, LabelledVolume):
        vol = volume.compute()
        if labels is not None:
            vol = LabelledVolume(
                vol.data,
                vol.voxel_size,
                parse_label_map(labels),
                vol.thickness_axis,
                vol.collector_at_start,
                vol.source,
            )
        if voxel_size is not None:
            vol = LabelledVolume(
                vol.data,
                parse_voxel_size(voxel_size),
                vol.labels,
                vol.thickness_axis,
                vol.collector_at_start,
                vol.source,
            )
    else:
        arr = np.asarray(volume)
        if voxel_size is None:
            raise ParameterError(
                "voxel_size is missing: give the voxel edge(s) in m (one value or (dz, dy, dx))"
            )
        if labels is None:
            raise ParameterError(
                "labels is missing: give the label map, e.g. {'pore': 0, 'cbd': 1, 'am': 2}"
            )
        if arr.ndim != 3 or not np.issubdtype(arr.dtype, np.integer):
            raise ParameterError(
                f"volume must be a 3D integer array, got shape {arr.shape} dtype {arr.dtype}"
            )
        vol = LabelledVolume(arr, parse_voxel_size(voxel_size), parse_label_map(labels))
    from electrohet.micro.volume import require_3d

    require_3d(vol.shape, vol.source or "volume", "the voxel simulation")
    check_voxel_size(vol.voxel_size)
    data = np.asarray(vol.oriented())
    lab = vol.labels
    present = np.unique(data)
    allowed = set(lab.values())
    bad = [int(v) for v in present if int(v) not in allowed]
    if bad:
        raise ParameterError(
            f"volume: label value(s) {bad} are not in the label map {lab}; "
            f"allowed values {sorted(allowed)}"
        )
    if "am" not in lab or not np.any(data == lab["am"]):
        raise ParameterError(
            f"volume: no active-material voxels (label map {lab}); an 'am' phase is required"
        )
    phase = np.zeros(data.shape, dtype=np.int8)
    if "cbd" in lab:
        phase[data == lab["cbd"]] = 1
    phase[data == lab["am"]] = 2
    edges = list(vol.voxel_size)
    # the thickness axis first, as the volume was oriented
    edges[0], edges[vol.thickness_axis] = edges[vol.thickness_axis], edges[0]
    return phase, tuple(edges), vol


def graded_film_thickness(
    z_fraction: np.ndarray,
    mean_collector: float = 3e-9,
    mean_separator: float = 28e-9,
    rel_sigma: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """CEI thickness [m] per reaction face: Gaussian with a mean rising linearly from the
    collector to the separator (Zhang 2023: 3 to 28 nm), truncated at zero.

    Parameters
    ----------
    z_fraction
        Position of each face through the thickness, 0 = collector, 1 = separator [-].
    rel_sigma
        Standard deviation relative to the local mean [-].
    """
    mean = mean_collector + (mean_separator - mean_collector) * np.asarray(z_fraction)
    rng = np.random.default_rng(seed)
    return np.maximum(mean * (1.0 + rel_sigma * rng.standard_normal(mean.shape)), 0.0)


class Simulation:
    """Voxel-resolved half cell: a labelled electrode volume, separator and Li foil.

    Parameters
    ----------
    volume
        A :class:`~electrohet.micro.volume.LabelledVolume` or a 3D integer array.
    labels
        Label map (required for an array; overrides a volume's own map).
    voxel_size
        Voxel edge(s) in m (required for an array; overrides a volume's own size).
    material
        :class:`~electrohet.materials.base.ActiveMaterial` or a registry name.
    electrolyte
        Default: LiPF6 EC:EMC (Nyman 2008).
    li_metal
        Counter electrode (default i0 = 10 A/m^2).
    cbd_porosity, cbd_tortuosity
        Nano-porosity and tortuosity factor of the CBD [-].
    cbd_conductivity
        Electronic conductivity of the CBD phase [S/m].
    cbd_clogged
        True: no ionic transport and no reaction through CBD.
    film_thickness
        CEI thickness [m]: a number, one value per reaction face, or a callable of the
        faces' through-thickness position (0 collector .. 1 separator) returning one
        value per face (e.g. :func:`graded_film_thickness`).
    kappa_cei
        CEI ionic conductivity [S/m]: r_f = thickness / kappa_cei [Ohm m^2].
    separator_thickness, separator_porosity, separator_bruggeman, n_sep
        The 1D separator.
    theta_init
        Initial lithium fraction (default: the material's theta_100, charged).
    nominal_capacity
        Capacity that defines 1C [Ah/m^2]; default: AM between theta_100 and theta_0.
    particle_labels
        Per-particle labels in the volume's orientation (0 = none), ``"auto"``
        (watershed by :func:`electrohet.micro.particles.segment_particles`) or None.
    temperature
        [K].
    options
        :class:`VoxelSolverOptions`.
    """

    def __init__(
        self,
        volume,
        labels=None,
        voxel_size=None,
        material: ActiveMaterial | str = "NMC532",
        *,
        electrolyte: Electrolyte | None = None,
        li_metal: LithiumMetal | None = None,
        cbd_porosity: float = 0.5,
        cbd_tortuosity: float = 2.0,
        cbd_conductivity: float = 10.0,
        cbd_clogged: bool = False,
        film_thickness: float | np.ndarray | Callable | None = None,
        kappa_cei: float = 2.0e-7,
        separator_thickness: float = 20e-6,
        separator_porosity: float = 0.5,
        separator_bruggeman: float = 0.5,
        n_sep: int = 5,
        theta_init: float | None = None,
        nominal_capacity: float | None = None,
        particle_labels: np.ndarray | str | None = None,
        temperature: float = 298.15,
        v_min: float = 2.5,
        v_max: float = 4.4,
        options: VoxelSolverOptions | None = None,
    ) -> None:
        from electrohet.materials.chen2020 import LIPF6_EC_EMC_NYMAN2008
        from electrohet.materials.registry import get_material

        if isinstance(material, str):
            material = get_material(material)
        self.material = material
        self.electrolyte = electrolyte or LIPF6_EC_EMC_NYMAN2008
        self.li_metal = li_metal or LithiumMetal()
        check_range("cbd_porosity", cbd_porosity, 0, 1, low_inclusive=False)
        check_range("cbd_tortuosity", cbd_tortuosity, 1)
        check_range("cbd_conductivity", cbd_conductivity, 0, low_inclusive=False)
        check_range("kappa_cei", kappa_cei, 0, low_inclusive=False)
        check_range("separator_thickness", separator_thickness, 0, low_inclusive=False)
        check_range(
            "separator_porosity",
            separator_porosity,
            0,
            1,
            low_inclusive=False,
            high_inclusive=False,
        )
        if int(n_sep) < 1:
            raise ParameterError(f"n_sep = {n_sep} must be >= 1")
        #: (thickness [m], porosity [-], Bruggeman exponent [-]) of the 1D separator
        self.separator_params = (
            float(separator_thickness),
            float(separator_porosity),
            float(separator_bruggeman),
        )
        #: the CBD's phase physics (read by the homogenised counterpart, voxel.compare)
        self.cbd_params = {
            "porosity": float(cbd_porosity),
            "tortuosity": float(cbd_tortuosity),
            "conductivity": float(cbd_conductivity),
            "clogged": bool(cbd_clogged),
        }
        phase, h, vol = _as_phase(volume, labels, voxel_size)
        check_percolation(phase, cbd_clogged)
        self.volume = vol
        self.phase = phase
        self.temperature = check_range("temperature", temperature, 150, 500)
        self.v_min, self.v_max = v_min, v_max
        self.options = options or VoxelSolverOptions()
        self.grid = build_grid(
            phase,
            h,
            cbd_porosity=cbd_porosity,
            cbd_tortuosity=cbd_tortuosity,
            cbd_conductivity=cbd_conductivity,
            cbd_clogged=cbd_clogged,
            sep_thickness=separator_thickness,
            sep_porosity=separator_porosity,
            sep_tortuosity=separator_porosity ** (-separator_bruggeman),
            n_sep=int(n_sep),
        )
        g = self.grid
        # film resistance per reaction face
        if film_thickness is None:
            thick = np.zeros(g.r_faces.n)
        elif callable(film_thickness):
            thick = np.asarray(film_thickness(self.reaction_face_z_fraction()), dtype=float)
        else:
            thick = np.broadcast_to(np.asarray(film_thickness, dtype=float), (g.r_faces.n,))
        if thick.shape != (g.r_faces.n,) or np.any(~np.isfinite(thick)) or np.any(thick < 0):
            raise ParameterError(
                f"film_thickness must be >= 0 and give one value per reaction face "
                f"({g.r_faces.n}), got shape {thick.shape}"
            )
        self.film_thickness = thick.copy()
        #: CEI ionic conductivity [S/m] (r_f = thickness / kappa_cei)
        self.kappa_cei = float(kappa_cei)
        self.model = VoxelModel(
            g, material, self.electrolyte, self.li_metal, thick / kappa_cei, temperature
        )
        self.theta_init = material.theta_100 if theta_init is None else theta_init
        check_range("theta_init", self.theta_init, 0, 1)
        q = g.n_am * g.voxel_volume * material.c_max * abs(material.theta_0 - material.theta_100)
        self.nominal_capacity_Ah = q * F / 3600.0
        self.one_c = (
            self.nominal_capacity_Ah / g.area if nominal_capacity is None else nominal_capacity
        )
        if isinstance(particle_labels, str):
            if particle_labels != "auto":
                raise ParameterError(f"particle_labels = {particle_labels!r}; allowed: 'auto'")
            from electrohet.micro.particles import segment_particles

            particle_labels = np.asarray(vol.oriented(segment_particles(vol)))
        pl = np.asarray(particle_labels) if particle_labels is not None else None
        if pl is not None and pl.shape != phase.shape:
            raise ParameterError(
                f"particle_labels shape {pl.shape} must equal the volume shape {phase.shape}"
            )
        self.particle_labels: np.ndarray | None = pl
        #: every attempted step of the last runs: (t, dt, order, scaled error, accepted)
        self.step_trace: list[tuple[float, float, int, float, bool]] = []
        # None: Ctrl-C / SIGTERM propagate out of solve() (library default).  A callable
        # KeyboardInterrupt -> SolverError makes solve() end with the states recorded so
        # far instead (the CLI sets it).
        self.interrupt_handler: Callable[[KeyboardInterrupt], Exception] | None = None
        self._control_now = Control("current", 0.0)  # the running step's control
        self._last: tuple[float, np.ndarray, int] = (0.0, np.zeros(0), 0)
        self.solver = NewtonSolver(
            self.model,
            linear=self.options.linear,
            newton_tol=self.options.newton_tol,
            threads=self.options.threads,
            reuse_hierarchy=self.options.reuse_hierarchy,
        )

    # ---------------------------------------------------------------- helpers
    def reaction_face_z_fraction(self) -> np.ndarray:
        """Through-thickness position (0 collector .. 1 separator) of every reaction face."""
        g = self.grid
        z = g.am_z[g.r_faces.p].astype(float) + 0.5
        # a face normal to z lies half a voxel from the AM centre
        e_z = np.concatenate([g.e_z, np.full(g.n_sep, g.shape[0])])[g.r_faces.q]
        zf = np.where(g.r_faces.axis == 0, 0.5 * (g.am_z[g.r_faces.p] + e_z) + 0.5, z)
        return zf / g.shape[0]

    def set_film_resistance(self, film_resistance: np.ndarray) -> None:
        """Set the film (CEI) resistance of every reaction face [Ohm m^2].

        The kinetics read it at the next residual; the solver's kept factorisation and
        preconditioner are dropped.  Used by :mod:`electrohet.aging.voxel` between
        cycles.

        Raises
        ------
        ParameterError
            Not one finite value >= 0 per reaction face.
        """
        r = np.asarray(film_resistance, dtype=float)
        n = self.grid.r_faces.n
        if r.shape != (n,) or not np.all(np.isfinite(r)) or np.any(r < 0):
            raise ParameterError(
                f"film_resistance must hold one finite value >= 0 per reaction face ({n}), "
                f"got shape {r.shape}"
            )
        self.model.r_film = r.copy()
        self.solver.invalidate()

    def initial_state(self, theta: float | None = None) -> np.ndarray:
        """Uniform state at rest."""
        return self.model.initial_state(self.theta_init if theta is None else theta)

    # ---------------------------------------------------------------- solve
    def solve(
        self,
        experiment: Experiment | str | Sequence,
        initial_state: np.ndarray | None = None,
        save_at: Sequence[float] | None = None,
        fields_path: str | Path | None = None,
        progress: bool = False,
        period: float | None = None,
        skip_satisfied: bool = False,
    ):
        """Run ``experiment`` and return an ``xarray.Dataset``.

        Parameters
        ----------
        experiment
            PyBaMM-style strings (see :mod:`electrohet.protocols`).
        save_at
            Times [s] at which full 3D fields are kept (the integrator's dense output at
            exactly those times; a recorded state) and written to ``fields_path`` (Zarr)
            when given.
        progress
            Show a progress bar over the steps (time within a step as its detail).
        period
            Output interval [s]: besides the solver's own steps, states are recorded at
            every multiple of ``period`` (and at the ``save_at`` times) from the
            integrator's dense output, without extra solves (``ds.interpolated`` marks
            them).  Default: solver steps (and ``save_at`` times) only.
        skip_satisfied
            Skip a step whose cut-off is already met at its start instead of raising.

        Raises
        ------
        ProtocolError
            A step's cut-off is met at its start (``skip_satisfied`` false): the message
            names the step, the start voltage [V] and the cut-off.  (Reached only once
            the current is applied: the run ends "failed", see the P2D ``solve``.)
        ParameterError
            A ``save_at`` time is negative or not finite.
        """
        from electrohet.voxel.results import build_dataset, write_fields

        if period is not None and not (np.isfinite(period) and period > 0):
            raise ParameterError(f"period = {period!r} must be a positive time in s")

        exp = (
            experiment
            if isinstance(experiment, Experiment)
            else Experiment([experiment] if isinstance(experiment, (str, Step)) else experiment)
        )
        self._validate(exp)
        y = self.initial_state() if initial_state is None else initial_state.copy()
        bad_times = [v for v in (save_at or []) if not (np.isfinite(v) and v >= 0)]
        if bad_times:
            raise ParameterError(
                f"save_at = {list(save_at or [])!r}: time(s) {bad_times} are not "
                "finite times >= 0 s"
            )
        log = VoxelRunLog(save_at=sorted(float(v) for v in (save_at or [])), period=period)
        _t, y, wall = run_experiment(self, exp, y, log, progress, skip_satisfied)
        # the state at the end of the last completed experiment step
        self.final_state = y
        ds = build_dataset(self, log, exp, wall)
        if fields_path is not None:
            write_fields(self, log, fields_path)
        self.last_log = log
        return ds

    def _validate(self, exp: Experiment) -> None:
        for _, s in exp.steps:
            for v, key in ((s.until_voltage, "until_voltage"), (s.voltage, "hold voltage")):
                if v is not None and not (self.v_min <= v <= self.v_max):
                    raise ProtocolError(
                        f"step {str(s)!r}: {key} = {v:g} V lies outside the allowed window "
                        f"[{self.v_min:g}, {self.v_max:g}] V"
                    )

    # ------------------------------------------------------- engine adapter
    @property
    def area(self) -> float:
        """Electrode (collector) area [m^2]."""
        return float(self.grid.area)

    @property
    def max_duration_factor(self) -> float:
        """See :class:`VoxelSolverOptions`."""
        return float(self.options.max_duration_factor)

    def terminal_voltage(self, y: np.ndarray) -> float:
        """Collector potential vs Li of state ``y`` [V]."""
        return float(y[self.model.iV])

    def current_density(self, y: np.ndarray) -> float:
        """Current density of state ``y`` [A/m^2], > 0 discharge."""
        return float(y[self.model.iI])

    def run_step(
        self,
        step: Step,
        t: float,
        y: np.ndarray,
        index: int = 0,
        cycle: int = 0,
        log: VoxelRunLog | None = None,
        skip_satisfied: bool = False,
    ) -> tuple[float, np.ndarray, dict]:
        """Run one experiment step from ``(t, y)`` (see
        :func:`electrohet.engine.run_step`); the records go to ``log`` (a new
        :class:`VoxelRunLog` when None)."""
        return run_step(
            self, step, t, y, index, cycle, VoxelRunLog() if log is None else log, skip_satisfied
        )

    def begin_step(self, control: Control, t: float, y: np.ndarray, log: VoxelRunLog) -> np.ndarray:
        """Set ``control``: the algebraic unknowns consistent with it, by one tiny
        (1e-9 s) implicit step whose charge is added to ``log.q_total``."""
        self._control_now = control
        tiny = 1e-9
        y = self.solver.solve(y, tiny, self._control_now)
        log.q_total += tiny * float(y[self.model.iI])
        self._last = (t, y, 0)
        return y

    def last_state(self) -> tuple[float, np.ndarray, int]:
        """The last accepted (time [s], state) and the steps accepted in the last
        :meth:`integrate`."""
        t, y, n = self._last
        return t, y.copy(), n

    def transport_limit(self, step: Step, log: VoxelRunLog, t_start: float, y: np.ndarray) -> str:
        """``"transport limit (surfaces full or empty)"`` when :meth:`_near_end`."""
        if self._near_end(y, step):
            return "transport limit (surfaces full or empty)"
        return ""

    def integrate(
        self,
        t: float,
        y: np.ndarray,
        t_end: float,
        cutoff: Cutoff | None,
        log: VoxelRunLog,
        index: int,
        cycle: int,
        detail: Callable[[str], None] | None = None,
    ) -> tuple[float, np.ndarray, bool, int]:
        """Variable-step BDF2 (BDF1 for the first step) with local error control, from
        ``(t, y)`` until ``cutoff`` (located by :meth:`_locate_event`) or ``t_end``.

        Records the states (and the dense-output times) in ``log``; the charge runs in
        ``log.q_total``.
        """
        m = self.model
        opts = self.options
        control = self._control_now
        t0 = t
        q = log.q_total
        event = None
        if cutoff is not None:

            def event(yy: np.ndarray) -> float:
                return cutoff.value(float(yy[m.iV]), float(yy[m.iI]))

        self._last = (t, y, 0)
        self._record(log, t, y, index, cycle, q)
        dt = min(opts.first_step, t_end - t)
        # accepted history, newest first: (state, charge, step that led to it); the
        # method is BDF1 (backward Euler) until two steps exist, then variable-step BDF2
        hist: list[tuple[np.ndarray, float, float]] = []
        dt_acc: float | None = None  # last accepted step and its error
        err_acc = 1.0
        just_rejected = False
        n = 0
        hit = False
        stats = self.solver.stats
        scale_c = self.solver.scale
        diff = self.model.mass > 0
        while t < t_end - 1e-9 * max(1.0, t_end):
            dt = min(dt, t_end - t, opts.max_step)
            order = 2 if len(hist) >= 2 else 1
            try:
                y_new, q_new, pred, lte = self._bdf_step(y, q, hist, dt, control)
            except SolverError:
                stats.rejected += 1
                self.step_trace.append((t, dt, order, np.nan, False))
                dt *= 0.25
                if dt < 1e-7 * max(1.0, t - t0):
                    log.q_total = q
                    raise
                continue
            if hist:
                dev = np.abs(y_new - pred)
                e_c = lte * np.max(dev[diff] / scale_c[diff]) / opts.rtol
                e_v = lte * dev[m.iV] / opts.vtol
                # the current (free under voltage control) to rtol of the 1C current
                e_i = lte * dev[m.iI] / (opts.rtol * self.one_c)
                err = max(e_c, e_v, e_i)
            else:
                err = 0.5
            self.step_trace.append((t, dt, order, float(err), err <= 1.0))
            k = order + 1  # local error ~ dt^k
            if err > 1.0:
                stats.rejected += 1
                dt *= max(0.2, 0.9 * err ** (-1.0 / k))
                just_rejected = True
                continue
            if event is not None and event(y_new) <= 0:
                # the crossing: first guess on the method's own interpolant, then
                # solved steps to it (regula falsi), so the last state is a discrete solution
                t_hit, y_hit, q_hit = self._locate_event(
                    event, control, t, dt, y, y_new, q, q_new, hist
                )
                self._dense_output(log, t, t_hit, (t, dt, y, y_new, q, q_new, hist), index, cycle)
                t, y, q = t_hit, y_hit, q_hit
                n += 1
                stats.steps += 1
                self._record(log, t, y, index, cycle, q)
                hit = True
                break
            self._dense_output(log, t, t + dt, (t, dt, y, y_new, q, q_new, hist), index, cycle)
            hist = [(y, q, dt), *hist[:1]]
            y, q = y_new, q_new
            t += dt
            n += 1
            stats.steps += 1
            self._record(log, t, y, index, cycle, q)
            self._last = (t, y, n)
            if detail is not None:
                detail(f"t = {t - t0:.0f} s, V = {y[m.iV]:.4f} V")
            # step-size control for a local error ~ dt^k with Gustafsson's predictive
            # rule (Hairer & Wanner, Sec. IV.8, as in RADAU5): where the error grows
            # from step to step (the end-of-discharge voltage drop) the step shrinks
            # ahead of it instead of being rejected; no growth right after a rejection;
            # BDF2 steps grow at most 2x (zero-stable below 1 + sqrt 2)
            e = max(err, 1e-4)
            quot = e ** (1.0 / k) / 0.9
            if dt_acc is not None:
                quot = max(quot, (dt_acc / dt) * (e * e / err_acc) ** (1.0 / k) / 0.9)
            fac = min(1.0 if just_rejected else (2.5 if order == 1 else 2.0), max(0.2, 1.0 / quot))
            dt_acc, err_acc = dt, max(e, 1e-2)
            dt *= fac
            just_rejected = False
        log.q_total = q
        self._last = (t, y, n)
        return t, y, hit, n

    def _near_end(self, y: np.ndarray, step: Step) -> bool:
        """All AM surfaces next to electrolyte are (nearly) full on discharge or empty on
        charge: the voltage collapses within a vanishing extra charge."""
        m = self.model
        cs = y[m.slices["cs"]][self.grid.r_faces.p]
        cmax = self.material.c_max
        room = (cmax - cs) if step.direction > 0 else cs
        return bool(np.quantile(room, 0.95) < 2e-3 * cmax)

    def _bdf_step(self, y, q, hist, dt, control):
        """One implicit step of ``dt`` from state ``y`` (charge ``q`` [A s/m^2]).

        ``hist`` holds the earlier accepted (state, charge, step) pairs, newest first:
        with two of them the step is variable-step BDF2, else backward Euler.  BDF2 is
        solved as a backward-Euler system with the effective old state and step
        ``y' ~ (y_new - y_eff) / dt_eff`` (the derivative at t + dt of the quadratic
        through t - h1, t, t + dt), so the residual, Jacobian and conservation
        projection are those of backward Euler; the charge follows the same
        recursion, so it is exactly what the solid took up.

        Returns
        -------
        y_new, q_new, pred, lte
            New state and charge, the predictor (extrapolation of the history, also the
            Newton guess) and the factor that turns ``|y_new - pred|`` into the local
            error estimate.
        """
        if len(hist) >= 2:
            (y1, q1, h1), (y2, _, h2) = hist[0], hist[1]
            d1 = (y - y1) / h1
            d2 = (d1 - (y1 - y2) / h2) / (h1 + h2)
            pred = y + dt * d1 + dt * (dt + h1) * d2
            w = dt / h1
            a, b = (1.0 + w) ** 2 / (1.0 + 2.0 * w), w * w / (1.0 + 2.0 * w)
            y_eff = a * y - b * y1
            dt_eff = dt * (1.0 + w) / (1.0 + 2.0 * w)
            q_eff = a * q - b * q1
            # the variable-step BDF2 error constant over the predictor's (2/9 at equal
            # steps)
            lte = dt * (dt + h1) / ((2.0 * dt + h1) * (dt + h1 + h2))
        else:
            # backward Euler: local error ~ half the distance to the linear predictor
            pred = y if not hist else y + (y - hist[0][0]) * (dt / hist[0][2])
            y_eff, dt_eff, q_eff, lte = y, dt, q, 0.5
        y_new = self.solver.solve(y_eff, dt_eff, control, y_guess=pred)
        return y_new, q_eff + dt_eff * float(y_new[self.model.iI]), pred, lte

    def _locate_event(self, event, control, t, dt, y, y_new, q, q_new, hist):
        """(t, state, charge) where ``event`` crosses zero within the step t -> t + dt.

        The first guess of the crossing comes from the integrator's interpolant (the
        quadratic through the previous, current and new states after BDF2 steps, else
        linear); then steps of the guessed length are solved from ``y`` and the guess is
        refined by regula falsi on the solved event values until the event is below
        1e-5 (V or A/m^2).  Usually one or two solves.
        """
        from scipy.optimize import brentq

        g0, g1 = event(y), event(y_new)
        if g1 == 0.0 or g0 <= 0.0:
            return t + dt, y_new, q_new
        interp = _Interpolant(t, dt, y, y_new, q, q_new, hist)

        s = brentq(lambda s: event(interp(t + s)[0]), 0.0, dt, xtol=1e-9 * max(dt, 1.0))
        lo, hi = (0.0, g0), (dt, g1)
        best = (dt, y_new, q_new)
        for _ in range(20):
            s = min(max(s, lo[0] + 0.02 * (hi[0] - lo[0])), hi[0] - 0.02 * (hi[0] - lo[0]))
            try:
                ys_, qs_, _, _ = self._bdf_step(y, q, hist, s, control)
            except SolverError:
                hi = (s, hi[1])
                s = 0.5 * (lo[0] + hi[0])
                continue
            gs = event(ys_)
            if gs <= 0:
                hi, best = (s, gs), (s, ys_, qs_)
            else:
                lo = (s, gs)
            if abs(gs) < 1e-5 or hi[0] - lo[0] < 1e-6 * max(dt, 1e-3):
                if gs > 0:
                    best = (s, ys_, qs_)
                break
            s = lo[0] + (hi[0] - lo[0]) * lo[1] / (lo[1] - hi[1])
        s, y_hit, q_hit = best
        return t + s, y_hit, q_hit

    def _dense_output(self, log, t_from: float, t_to: float, step, idx: int, cyc: int) -> None:
        """Record interpolated states at the output times strictly inside (t_from, t_to)
        (multiples of ``log.period`` and pending ``save_at`` times); ``step`` holds the
        arguments of :class:`_Interpolant` for the step that covers them."""
        eps = 1e-9 * max(1.0, abs(t_to))
        times = [ts for ts in log.save_at if ts not in log.fields and t_from < ts < t_to - eps]
        if log.period:
            k = np.floor(t_from / log.period + 1e-9) + 1.0
            while k * log.period < t_to - eps:
                times.append(float(k * log.period))
                k += 1.0
        if not times:
            return
        interp = _Interpolant(*step)
        for tk in sorted(set(times)):
            yk, qk = interp(tk)
            self._record(log, tk, yk, idx, cyc, qk, interpolated=True)

    def _record(self, log, t, y, idx, cyc, q, interpolated: bool = False) -> None:
        from electrohet.voxel.results import summarise

        log.t.append(t)
        log.q.append(q)
        log.interpolated.append(interpolated)
        log.summary.append(summarise(self, y))
        log.step.append(idx)
        log.cycle.append(cyc)
        if log.observer is not None:
            log.observer(t, y)
        for ts in log.save_at:
            if ts not in log.fields and t >= ts - 1e-9:
                log.fields[ts] = (t, y.copy())


class _Interpolant:
    """The integrator's dense output over the step t -> t + dt: the quadratic through
    the previous, current and new accepted states after a BDF2 step (the polynomial
    BDF2 differentiates), else the line through the current and new states.

    Called with a time, returns (state, charge).  The Lagrange weights sum to one, so
    linear relations between the unknowns and the charge (the lithium and salt
    balances) hold for the interpolated states as for the nodes.
    """

    def __init__(self, t, dt, y, y_new, q, q_new, hist) -> None:
        if hist:
            y1, q1, h1 = hist[0]
            self.nodes = np.array([t - h1, t, t + dt])
            self.ys: tuple[np.ndarray, ...] = (y1, y, y_new)
            self.qs: tuple[float, ...] = (q1, q, q_new)
        else:
            self.nodes = np.array([t, t + dt])
            self.ys, self.qs = (y, y_new), (q, q_new)

    def __call__(self, s: float) -> tuple[np.ndarray, float]:
        x = self.nodes
        w = np.ones(x.size)
        for i in range(x.size):
            for j in range(x.size):
                if i != j:
                    w[i] *= (s - x[j]) / (x[i] - x[j])
        y = np.zeros_like(self.ys[0])
        for wi, v in zip(w, self.ys, strict=True):
            y += wi * v
        return y, float(np.dot(w, self.qs))
