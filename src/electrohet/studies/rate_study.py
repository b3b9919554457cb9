"""Rate-capability studies of layered electrodes (Yari 2020 bilayers and your own).

For every design: one CCCV charge from the discharged state (CC at the charge rate to
v_max, CV until C/20, rest), then from that charged state a CC discharge at each rate
(after the rest).  Yari 2020 recharges before every rate; starting each discharge from
the same CCCV-charged state is equivalent up to the C/20 tail of the CV step and
halves the work.  Each design is independent, so designs run in parallel on a Dask
cluster (:mod:`electrohet.sweeps`).

Per design the study reports the discharge energy and capacity at every rate, the
Peukert fit (docs/physics.md §4.1: E = beta I^-alpha) with standard errors, gamma = 2^-alpha,
the *true* per-layer utilisation from the model, the paper's *inferred* u2 and psi
(eqs. 7-8, from standalone single-layer runs of each layer's formulation at the same
total loading), and a constructive / destructive / same label against the single layer.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from electrohet.analysis.rate_capability import fit_peukert, layer_utilization
from electrohet.design.formulation import heterogeneity_factor
from electrohet.design.layer import Cell
from electrohet.errors import ParameterError, SolverError, check_range
from electrohet.model import MeshOptions, Simulation
from electrohet.model.results import layer_utilization as layer_utilization_of_run
from electrohet.outputs import write_netcdf, write_text_atomic
from electrohet.studies.calibration import Calibration, from_frozen
from electrohet.sweeps import run_jobs


def __getattr__(name: str):
    # YARI2020_CALIBRATION: the parameters of the frozen single-layer calibration
    # (``electrohet/calibrations/yari2020_single_layer.json``), read on first use
    if name == "YARI2020_CALIBRATION":
        return from_frozen("yari2020_single_layer").params
    raise AttributeError(name)


def _calibrated(key: str) -> float:
    return from_frozen("yari2020_single_layer").params[key]


@dataclass(frozen=True)
class LayerDesign:
    """A one- or two-layer design: carbon fractions bottom/top and the AM share below."""

    name: str
    fc_bottom: float
    fc_top: float | None = None
    am_share_bottom: float = 0.5
    paper_label: str = ""

    @property
    def layered(self) -> bool:
        return self.fc_top is not None and self.fc_top != self.fc_bottom

    @property
    def delta(self) -> float:
        if not self.layered:
            return 0.0
        assert self.fc_top is not None
        # solid loadings are proportional to AM loading / AM mass fraction (binder 3.5 %)
        wb = self.am_share_bottom / (1 - self.fc_bottom - 0.035)
        wt = (1 - self.am_share_bottom) / (1 - self.fc_top - 0.035)
        return heterogeneity_factor([wb, wt], [self.fc_bottom, self.fc_top])


def yari2020_designs() -> list[LayerDesign]:
    """The single layer and six bilayers of Yari 2020 Table 1 (paper's labels)."""
    text = resources.files("electrohet.studies").joinpath("data/yari2020_bilayers.csv").read_text()
    rows = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    df = pd.read_csv(io.StringIO("\n".join(rows)))
    out = []
    for r in df.to_dict("records"):
        single = r["fc_bottom"] == r["fc_top"]
        name = "single" if single else f"{100 * r['fc_bottom']:g}/{100 * r['fc_top']:g}"
        fc_top = None if single else float(r["fc_top"])
        out.append(
            LayerDesign(
                name, float(r["fc_bottom"]), fc_top, float(r["am_share_bottom"]), str(r["class"])
            )
        )
    return out


@dataclass
class StudySettings:
    """Settings of a rate study.

    Parameters
    ----------
    rates
        Discharge C-rates (>= 3 distinct, > 0).
    charge_rate
        CC charge C-rate before the CV hold.
    v_min, v_max
        Voltage window [V].
    rest_minutes
        Rest after the charge [min].
    points_per_layer, radial_points
        Mesh of each run.
    processes
        Worker processes of the local Dask cluster (``None`` = number of CPUs, 1 =
        serial in this process, no cluster).
    scheduler
        Address of a running Dask scheduler to submit the runs to instead (``None`` =
        the environment variable ``ELECTROHET_SCHEDULER`` if set, else a local cluster).
    wiring
        Particle-level wiring linked to the carbon fraction (issue 3): every layer gets
        ``wiring_classes`` contact classes from
        :meth:`~electrohet.design.distributions.ContactPaths.from_carbon_fraction`
        (poorly wired share grows as f_c falls) and the NMC's SOC-dependent electronic
        conductivity (Amin & Chiang 2016), so poorly wired particles fall behind.
    constriction
        Particle surface / contact cross-section of a poor path [-] (``None`` = the
        single-layer calibration :data:`YARI2020_CALIBRATION`).
    interface
        Coating / current-collector contact resistance from the carbon fraction of the
        layer touching the foil
        (:class:`~electrohet.design.conductivity.InterfaceResistanceLaw`), added to the
        cell as a series resistance.
    interface_resistance_ref, interface_exponent
        Its value at 2.5 wt% carbon [Ohm m^2] and its exponent t [-] (``None`` =
        calibrated values).
    through_plane_limited
        Use the older model in which the through-plane matrix conductivity alone carries
        the carbon dependence (:data:`~electrohet.design.conductivity.YARI2020_PERCOLATION`)
        instead of the non-limiting bulk law
        (:data:`~electrohet.design.conductivity.YARI2020_BULK`); for comparison.
    uncertainty
        Label designs by the probability that their gamma beats the reference, from the
        calibration's parameter uncertainty (:func:`label_probability`); ``False`` (and
        the through-plane-limited model, which that calibration does not describe) =
        fixed relative tolerance (:func:`label_design`).
    gamma_resolution
        Smallest gamma difference the discretisation resolves [-]; added in
        quadrature to the parameter spread (two identical designs are "same").
    protocol
        ``"cccv"`` (default, Yari 2020 §2.3): ``formation_cycles`` C/10 cycles, then
        per rate a CC-CV charge at the rate and a CC-CV discharge (CV to C/20) with
        ``rest_minutes`` of rest; gamma from the CC discharge energy.  ``"cc"``: one
        CCCV charge at ``charge_rate``, then CC discharges from that charged state.
    formation_cycles
        C/10 formation cycles before the ``"cccv"`` rate test.
    n_samples
        Posterior draws for the label probability: systematic resampling of the
        calibration's importance samples to ``n_samples`` equally weighted draws, each
        distinct point rerun once (:meth:`~electrohet.studies.calibration.Calibration.
        sample_params`); 0 = none.
    label_confidence
        Probability above which a design is called constructive (below 1 - it:
        destructive); in between "same" (the paper's grey band).
    """

    rates: Sequence[float] = (0.5, 1.0, 2.0, 3.0)
    charge_rate: float = 0.5
    v_min: float = 3.0
    v_max: float = 4.3
    rest_minutes: float = 15.0
    points_per_layer: int = 6
    radial_points: int = 10
    processes: int | None = None
    scheduler: str | None = None
    wiring: bool = True
    wiring_classes: int = 2
    constriction: float | None = None
    interface: bool = True
    interface_resistance_ref: float | None = None
    interface_exponent: float | None = None
    through_plane_limited: bool = False
    uncertainty: bool = True
    gamma_resolution: float = 1e-3
    label_confidence: float = 0.9
    protocol: str = "cccv"
    formation_cycles: int = 2
    n_samples: int = 16

    def __post_init__(self) -> None:
        if self.protocol not in ("cccv", "cc"):
            raise ParameterError(f"protocol = {self.protocol!r}: use 'cccv' or 'cc'")
        check_range("n_samples", self.n_samples, 0, 10_000)
        check_range("formation_cycles", self.formation_cycles, 0, 10)
        from electrohet.studies.config import RATE_MAX, V_MAX_RANGE, V_MIN_RANGE

        r = np.asarray(self.rates, dtype=float)
        if r.size < 3 or np.unique(r).size < 3 or np.any(r <= 0):
            raise ParameterError(f"rates = {list(self.rates)}: need >= 3 distinct positive C-rates")
        for rate in r:
            check_range("rates", float(rate), 0, RATE_MAX, low_inclusive=False)
        check_range("charge_rate", self.charge_rate, 0, RATE_MAX, low_inclusive=False)
        check_range("v_min", self.v_min, *V_MIN_RANGE)
        check_range("v_max", self.v_max, *V_MAX_RANGE)
        check_range("rest_minutes", self.rest_minutes, 0, 24 * 60)
        check_range("gamma_resolution", self.gamma_resolution, 0, 0.5, low_inclusive=False)
        check_range("label_confidence", self.label_confidence, 0.5, 1, high_inclusive=False)
        if not self.v_min < self.v_max:
            raise ParameterError(f"v_min = {self.v_min} must be below v_max = {self.v_max}")


@dataclass
class DesignRuns:
    """Discharge results of one design at every rate."""

    design: LayerDesign
    rates: np.ndarray
    energy: np.ndarray  # Wh/m^2
    capacity: np.ndarray  # Ah/m^2
    layer_utilization: np.ndarray  # (rate, layer) delivered / window capacity
    active_loading: np.ndarray  # kg/m^2 per layer
    datasets: list[xr.Dataset] = field(default_factory=list, repr=False)
    #: positive-electrode layer names and positions, in the order of the layer axis of
    #: ``layer_utilization`` and ``active_loading`` (read from each run's Dataset)
    layer_names: list[str] = field(default_factory=list)
    layer_positions: list[str] = field(default_factory=list)
    #: discharge energies [Wh/m^2] (sample, rate) of reruns at posterior samples of the
    #: calibrated parameters (NaN where a rerun failed), empty if none
    variant_energy: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def utilization(self, position: str, rate: float) -> float:
        """True utilisation [-] of the layer at ``position`` ("collector"/"separator")."""
        k = int(np.argmin(np.abs(self.rates - rate)))
        return float(self.layer_utilization[k, self.layer_positions.index(position)])

    def loading(self, position: str) -> float:
        """Active loading [kg/m^2] of the layer at ``position``."""
        return float(self.active_loading[self.layer_positions.index(position)])


def discharge_steps(rate: float, settings: StudySettings) -> list[str]:
    """Experiment steps of one rate-test discharge under ``settings.protocol``.

    ``"cccv"`` (Yari 2020 §2.3): CC discharge at ``rate`` to ``v_min``, CV at ``v_min``
    until the current falls below C/20, then ``rest_minutes`` of rest.  ``"cc"``: the
    CC discharge alone.
    """
    steps = [f"Discharge at {rate:g}C until {settings.v_min:g} V"]
    if settings.protocol == "cccv":
        steps += [f"Hold at {settings.v_min:g} V until C/20"]
        if settings.rest_minutes > 0:
            steps += [f"Rest for {settings.rest_minutes:g} minutes"]
    return steps


def formation_steps(settings: StudySettings) -> list[str]:
    """Formation before the rate test (Yari 2020 §2.3: two C/10 cycles in the window)."""
    cycle = [
        f"Charge at C/10 until {settings.v_max:g} V",
        f"Discharge at C/10 until {settings.v_min:g} V",
    ]
    return cycle * settings.formation_cycles


def charge_steps(rate: float, settings: StudySettings) -> list[str]:
    """Experiment steps of one rate-test charge: CC at ``rate`` to ``v_max``, CV to C/20.

    Under ``"cc"`` the charge is at ``settings.charge_rate`` and followed by the rest.
    """
    if settings.protocol == "cccv":
        return [
            f"Charge at {rate:g}C until {settings.v_max:g} V",
            f"Hold at {settings.v_max:g} V until C/20",
        ]
    steps = [
        f"Charge at {settings.charge_rate:g}C until {settings.v_max:g} V",
        f"Hold at {settings.v_max:g} V until C/20",
    ]
    if settings.rest_minutes > 0:
        steps += [f"Rest for {settings.rest_minutes:g} minutes"]
    return steps


def _discharge_energies(
    sim: Simulation, y_start: np.ndarray, settings: StudySettings, design: LayerDesign
) -> list[xr.Dataset]:
    """CC discharge datasets at every rate.

    ``"cc"``: every discharge starts from the charged state ``y_start``.  ``"cccv"``
    (Yari 2020 §2.3): the rates run in sequence from the discharged state ``y_start``;
    each is a CC-CV charge at the rate followed by the CC-CV discharge and the rest.

    The returned dataset of a rate holds its CC discharge step only: gamma is the
    Peukert exponent of the CC discharge energy.  Energy including the CV step cannot
    give Yari's single-layer gammas: a CV at v_min = 3.0 V to C/20 recovers nearly the
    whole capacity, so E(3C) / E(0.5C) >= 3.0 V / ~3.8 V (the mean 0.5C voltage) = 0.79,
    i.e. gamma >= 0.79^(1/log2 6) = 0.91, whereas the paper reports gamma < 0.7 at
    1 wt% carbon.  The CV steps and the rest set the state each CC step starts from.
    """
    out = []
    y = y_start
    # the study's own protocol skips a step whose cut-off is met at once (explicitly:
    # user experiments get an error): a CV hold already below C/20, a CC step of a very
    # resistive cell cut off by the ohmic jump (zero energy, see below)
    for rate in settings.rates:
        if settings.protocol == "cccv":
            ch = sim.solve(charge_steps(rate, settings), initial_state=y, skip_satisfied=True)
            if ch.attrs["status"] != "completed":
                raise SolverError(
                    f"design {design.name}: {rate:g}C charge failed: {ch.attrs['message']}"
                )
            y = sim.integrator.y.copy()
        ds = sim.solve(discharge_steps(rate, settings), initial_state=y, skip_satisfied=True)
        if ds.attrs["status"] != "completed":
            raise SolverError(
                f"design {design.name}: {rate:g}C discharge failed: {ds.attrs['message']}"
            )
        if settings.protocol == "cccv":
            y = sim.integrator.y.copy()
            # the rate's discharge energy is that of its CC step (see above)
            # (a CC step cut off at once, e.g. a very resistive cell at 3C, leaves the
            # first state alone: zero energy)
            keep = np.flatnonzero(ds.step.values <= 0)
            ds = ds.isel(time=keep if keep.size else [0])
        out.append(ds)
    return out


def _rate_test(
    design: LayerDesign,
    settings: StudySettings,
    cell_factory: Callable[[LayerDesign, StudySettings], Cell],
) -> tuple[Cell, list[xr.Dataset]]:
    """Build the design's cell under ``settings`` and run its rate test (every rate)."""
    cell: Cell = cell_factory(design, settings)
    sim = Simulation(cell, MeshOptions(radial_points=settings.radial_points))
    if settings.protocol == "cccv":
        # Yari 2020 §2.3: the cells are formed by two C/10 cycles in the window, then
        # each rate is a CC-CV charge and a CC-CV discharge with a rest
        y0 = sim.initial_state()
        if settings.formation_cycles:
            form = sim.solve(formation_steps(settings), initial_state=y0, skip_satisfied=True)
            if form.attrs["status"] != "completed":
                raise SolverError(
                    f"design {design.name}: formation failed: {form.attrs['message']}"
                )
            y0 = sim.integrator.y.copy()
    else:
        ch = sim.solve(charge_steps(settings.charge_rate, settings), skip_satisfied=True)
        if ch.attrs["status"] != "completed":
            raise SolverError(f"design {design.name}: charge failed: {ch.attrs['message']}")
        y0 = sim.integrator.y.copy()
    return cell, _discharge_energies(sim, y0, settings, design)


def _run_design(design: LayerDesign, settings: StudySettings, cell_factory) -> DesignRuns:
    """The nominal rate test of one design (no reruns: ``variant_energy`` is empty)."""
    cell, dss = _rate_test(design, settings, cell_factory)
    energy, capacity, util = [], [], []
    names: list[str] = []
    positions: list[str] = []
    for rate, ds in zip(settings.rates, dss, strict=True):
        ds.attrs["design"] = design.name
        ds.attrs["rate_C"] = float(rate)
        energy.append(float(ds.energy[-1] - ds.energy[0]))
        capacity.append(float(ds.capacity[-1] - ds.capacity[0]))
        u = layer_utilization_of_run(ds)
        names = [str(n) for n in u["layer"].values]
        positions = [str(p) for p in u["layer_position"].values]
        util.append(u.values)
    # active loadings of the same layers, matched by name (the mesh names unnamed layers
    # "positive layer i", i counted from the current collector)
    by_name = {
        (lay.name or f"positive layer {i + 1}"): lay.active_loading()
        for i, lay in enumerate(cell.positive.layers)
    }
    loads = np.array([by_name[n] for n in names])
    return DesignRuns(
        design,
        np.asarray(settings.rates, float),
        np.array(energy),
        np.array(capacity),
        np.array(util),
        loads,
        dss,
        names,
        positions,
        np.zeros((0, len(settings.rates))),
    )


def _rerun_energies(
    design: LayerDesign, settings: StudySettings, cell_factory, changes: dict
) -> np.ndarray:
    """Discharge energies [Wh/m^2] per rate of one rerun (a posterior sample) of a design:
    the whole protocol under ``settings`` changed by ``changes``; NaN if it fails (left
    out of the label probability, counted)."""
    try:
        _, dss = _rate_test(design, replace(settings, **changes), cell_factory)
    except SolverError:
        return np.full(len(settings.rates), np.nan)
    return np.array([float(ds.energy[-1] - ds.energy[0]) for ds in dss])


def _study_job(args):
    """One job of a study's sweep: a design's nominal run or one of its reruns."""
    kind, design, settings, cell_factory, changes = args
    if kind == "nominal":
        return _run_design(design, settings, cell_factory)
    return _rerun_energies(design, settings, cell_factory, changes)


def run_designs(
    designs: Sequence[LayerDesign],
    settings: StudySettings,
    cell_factory: Callable[[LayerDesign, StudySettings], Cell],
    progress: bool = False,
    variants: Sequence[dict] | None = None,
    n_variant_designs: int | None = None,
) -> list[DesignRuns]:
    """Run every design (on a Dask cluster unless ``settings.processes == 1``).

    ``variants``: settings changes (e.g. shifted calibrated parameters) under which the
    first ``n_variant_designs`` designs (default all) are run again, each rerun a job
    of its own; the energies land in :attr:`DesignRuns.variant_energy`.

    Raises
    ------
    Interrupted
        On Ctrl-C / SIGTERM (:func:`electrohet.sweeps.run_jobs`); ``partial`` holds the
        designs' nominal runs that had finished (``None`` for the others), in design
        order.
    """
    from electrohet.interrupts import Interrupted

    var = list(variants or [])
    nv = len(designs) if n_variant_designs is None else n_variant_designs
    jobs = [("nominal", d, settings, cell_factory, None) for d in designs]
    # the nominal runs first: they are what an interrupted study saves
    reruns = [(i, k) for i in range(min(nv, len(designs))) for k in range(len(var))]
    jobs += [("rerun", designs[i], settings, cell_factory, var[k]) for i, k in reruns]
    try:
        results = run_jobs(
            _study_job,
            jobs,
            settings.processes,
            progress,
            label="runs",
            scheduler=settings.scheduler,
        )
    except Interrupted as exc:
        partial = list(exc.partial or [None] * len(jobs))[: len(designs)]
        raise Interrupted(str(exc), exc.exit_code, partial=partial) from None
    runs: list[DesignRuns] = results[: len(designs)]
    energies: dict[int, list[np.ndarray]] = {}
    for (i, _), e in zip(reruns, results[len(designs) :], strict=True):
        energies.setdefault(i, []).append(e)
    for i, es in energies.items():
        runs[i].variant_energy = np.array(es)
    return runs


def label_design(gamma: float, gamma_ref: float, rtol: float = 0.01) -> str:
    """Constructive / destructive / same for a *simulated* design.

    Simulations carry no measurement noise: the standard error of a Peukert fit to
    model energies measures how far the energies are from a power law, not
    uncertainty.  So a simulated design is labelled by a stated tolerance: constructive
    when gamma > (1 + rtol) gamma_ref, destructive when gamma < (1 - rtol) gamma_ref,
    else same.  For measured data use
    :func:`electrohet.analysis.rate_capability.compare_designs` (uncertainty-aware).
    """
    if gamma > (1.0 + rtol) * gamma_ref:
        return "constructive"
    if gamma < (1.0 - rtol) * gamma_ref:
        return "destructive"
    return "same"


def gamma_of_energies(currents: np.ndarray, energy: np.ndarray) -> float:
    """gamma of a Peukert fit, NaN for a rerun that failed (NaN or zero energies)."""
    if not np.all(np.isfinite(energy)) or np.any(np.asarray(energy) <= 0):
        return float("nan")
    return fit_peukert(currents, energy).gamma


def label_probability(
    dgamma_samples: Sequence[float],
    weights: Sequence[float] | None = None,
    resolution: float = 1e-3,
) -> tuple[float, float, int]:
    """Posterior probability that a design beats the reference, and the spread of dgamma.

    ``dgamma_samples`` = gamma(design) - gamma(reference) rerun at each posterior sample
    of the calibrated parameters (:meth:`~electrohet.studies.calibration.Calibration.
    sample_params`), ``weights`` their importance weights.  Each sample counts with the
    probability Phi(dgamma_i / resolution) that it is positive given the discretisation's
    resolution, so P(constructive) = sum_i w_i Phi(dgamma_i / resolution); a sample
    whose runs failed (NaN) is left out and the weights renormalised.

    Returns
    -------
    p, sd, n
        P(constructive) [-], the weighted standard deviation of dgamma [-] (resolution
        added in quadrature) and the number of samples used.
    """
    from scipy.special import ndtr

    d = np.asarray(dgamma_samples, dtype=float)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    ok = np.isfinite(d) & (w > 0)
    if not np.any(ok):
        return float("nan"), float("nan"), 0
    d, w = d[ok], w[ok] / w[ok].sum()
    p = float(np.sum(w * ndtr(d / resolution)))
    mean = float(np.sum(w * d))
    sd = float(np.sqrt(np.sum(w * (d - mean) ** 2) + resolution**2))
    return p, sd, int(ok.sum())


def yari2020_cell_factory(design: LayerDesign, settings: StudySettings) -> Cell:
    """NMC622 half cell of Yari 2020 for ``design`` (see :func:`yari2020_cell`)."""
    from electrohet.design.conductivity import (
        YARI2020_BULK,
        YARI2020_PERCOLATION,
        InterfaceResistanceLaw,
    )
    from electrohet.design.presets import yari2020_cell

    cell = yari2020_cell(
        design.fc_bottom,
        design.fc_top if design.layered else None,
        design.am_share_bottom,
        points_per_layer=settings.points_per_layer,
        percolation=YARI2020_PERCOLATION if settings.through_plane_limited else YARI2020_BULK,
    )
    changes: dict = {"v_min": settings.v_min, "v_max": settings.v_max}
    if settings.wiring:
        changes["positive"] = _wired(cell.positive, settings)
    if settings.interface:
        r_ref = settings.interface_resistance_ref
        if r_ref is None:
            r_ref = _calibrated("interface_resistance_ref")
        t = settings.interface_exponent
        if t is None:
            t = _calibrated("interface_exponent")
        law = InterfaceResistanceLaw(r_ref, exponent=t)
        # the layer touching the foil is the first of the electrode (design order)
        changes["contact_resistance"] = law(cell.positive.layers[0].carbon_mass_fraction)
    return cell.with_(**changes)


def _wired(electrode, settings: StudySettings):
    """Layers with contact-path classes from their carbon fraction and SOC-dependent sigma_AM."""
    from electrohet.design.distributions import ContactPaths, build_ensemble
    from electrohet.design.layer import Electrode
    from electrohet.materials.soc_dependent import with_soc_dependence

    layers = []
    for lay in electrode.layers:
        constriction = settings.constriction
        if constriction is None:
            constriction = _calibrated("constriction")
        contact = ContactPaths.from_carbon_fraction(
            lay.carbon_mass_fraction,
            diameter=2 * lay.particle_radius,
            constriction=constriction,
        )
        ens = build_ensemble(
            lay.particle_radius, contact=contact, n_contact=settings.wiring_classes
        )
        layers.append(lay.with_(material=with_soc_dependence(lay.material), ensemble=ens))
    return Electrode(layers, electrode.theta_init)


@dataclass
class RateStudy:
    """Results of :func:`rate_study`: the summary table and every run."""

    table: pd.DataFrame
    runs: list[DesignRuns]
    standalone: dict[float, DesignRuns]
    settings: StudySettings
    calibration: Calibration | None = None

    def save(self, out_dir: str | os.PathLike) -> list[Path]:
        """Write ``rate_study.csv`` and one netCDF per design and rate into ``out_dir``
        (each file atomically, see :mod:`electrohet.outputs`)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        csv = write_text_atomic(out / "rate_study.csv", self.table.to_csv(index=False))
        return [csv, *save_runs(self.runs, out)]


def run_file_name(design_name: str, rate: float) -> str:
    """File name of one design's run at ``rate`` [C]: ``run_<design>_<rate>C.nc``."""
    return f"run_{design_name.replace('/', '-')}_{rate:g}C.nc"


def save_runs(runs: Sequence[DesignRuns], out_dir: str | os.PathLike) -> list[Path]:
    """One netCDF per design and rate in ``out_dir``, written atomically."""
    out = Path(out_dir)
    return [
        write_netcdf(ds, out / run_file_name(run.design.name, rate))
        for run in runs
        for rate, ds in zip(run.rates, run.datasets, strict=True)
    ]


def rate_study(
    designs: Sequence[LayerDesign] | None = None,
    settings: StudySettings | None = None,
    cell_factory: Callable[[LayerDesign, StudySettings], Cell] = yari2020_cell_factory,
    reference: str = "single",
    progress: bool = False,
    label_rtol: float = 0.01,
    calibration: Calibration | None = None,
) -> RateStudy:
    """Run the bilayer rate study and build its summary table.

    Parameters
    ----------
    designs
        Designs to run (default: Yari 2020 Table 1).  One must be named ``reference``.
    settings
        :class:`StudySettings`.
    cell_factory
        Builds the cell of a design.
    reference
        Name of the homogeneous reference design.
    label_rtol
        Minimum relative gamma difference for a constructive/destructive label when
        ``settings.uncertainty`` is off.
    calibration
        Calibrated parameters and covariance whose uncertainty is propagated to the
        labels (default: the frozen ``yari2020_single_layer`` calibration).  Its
        parameters are used for the nominal runs too, wherever ``settings`` leaves them
        ``None``; its posterior samples (``settings.n_samples`` resampled draws) are rerun for
        the label probability.
    """
    designs = list(designs or yari2020_designs())
    settings = settings or StudySettings()
    names = [d.name for d in designs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        # names are keys: run files, table rows, the reference
        raise ParameterError(
            f"design name(s) {dup} used by more than one design; names must be unique"
        )
    if reference not in names:
        raise ParameterError(f"reference design {reference!r} not among the designs {names}")
    # standalone single layers of every formulation used in a layer (Yari's Q1, Q2);
    # a single-layer design of the same formulation is reused
    fcs = sorted(
        {d.fc_bottom for d in designs} | {d.fc_top for d in designs if d.fc_top is not None}
    )
    singles = {d.fc_bottom: i for i, d in enumerate(designs) if not d.layered}
    extra = [fc for fc in fcs if fc not in singles]
    standalone_designs = [LayerDesign(f"standalone {100 * fc:g}%", fc) for fc in extra]
    calibration = calibration or from_frozen("yari2020_single_layer")
    # the mechanisms switched on carry calibrated parameters; a value given explicitly
    # in ``settings`` is kept, the others come from ``calibration`` (nominal and samples)
    active = set()
    if settings.interface:
        active |= {"interface_resistance_ref", "interface_exponent"}
    if settings.wiring:
        active.add("constriction")
    free = [k for k in sorted(active) if getattr(settings, k) is None]
    settings = replace(settings, **{k: calibration.params[k] for k in free})
    use_cal = (
        settings.uncertainty
        and not settings.through_plane_limited
        and bool(free)
        and settings.n_samples > 0
        and calibration.samples.shape[0] > 0
    )
    variants: list[dict] = []
    sample_w = np.zeros(0)
    if use_cal:
        sets, sample_w = calibration.sample_params(settings.n_samples)
        variants = [{k: v for k, v in ps.items() if k in free} for ps in sets]
    runs_all = run_designs(
        designs + standalone_designs,
        settings,
        cell_factory,
        progress,
        variants=variants,
        n_variant_designs=len(designs),
    )
    runs = runs_all[: len(designs)]
    standalone = {fc: runs[i] for fc, i in singles.items()}
    standalone.update(zip(extra, runs_all[len(designs) :], strict=True))

    ref_run = runs[names.index(reference)]
    currents = np.asarray(settings.rates, float)
    fits = {r.design.name: fit_peukert(currents, r.energy, source=r.design.name) for r in runs}
    ref_fit = fits[reference]
    ref_shifted = [gamma_of_energies(currents, e) for e in ref_run.variant_energy]
    rows = []
    i1 = int(np.argmin(np.abs(currents - 1.0)))
    rate1 = float(currents[i1])
    for run in runs:
        d = run.design
        fit = fits[d.name]
        loads = run.active_loading
        q_spec = run.capacity / loads.sum() * 1e3 / 1e3  # Ah/m^2 / kg/m^2 = mAh/g
        row = {
            "design": d.name,
            "fc_bottom": d.fc_bottom,
            "fc_top": d.fc_top if d.fc_top is not None else d.fc_bottom,
            "delta": round(d.delta, 3),
        }
        for k, rate in enumerate(currents):
            row[f"E_{rate:g}C_Wh_m2"] = run.energy[k]
            row[f"Q_{rate:g}C_mAh_g"] = q_spec[k]
        row.update(alpha=fit.alpha, alpha_se=fit.alpha_se, gamma=fit.gamma, gamma_se=fit.gamma_se)
        if d.layered:
            # layers by position, never by index: bottom = at the current collector
            ub, ut = run.utilization("collector", rate1), run.utilization("separator", rate1)
            row["u_bottom_1C"], row["u_top_1C"] = ub, ut
            row["psi_true_1C"] = ub / (ub + ut)
            w1 = run.loading("collector") / loads.sum()
            w2 = run.loading("separator") / loads.sum()
            q1 = standalone[d.fc_bottom].capacity[i1] / standalone[d.fc_bottom].active_loading.sum()
            q2 = standalone[d.fc_top].capacity[i1] / standalone[d.fc_top].active_loading.sum()  # type: ignore[index]
            lu = layer_utilization(q_spec[i1], q1, q2, w1, w2)
            row["u2_inferred_1C"] = float(np.asarray(lu.u2))
            row["psi_inferred_1C"] = float(np.asarray(lu.psi))
        else:
            u = run.utilization("collector", rate1)
            row["u_bottom_1C"] = row["u_top_1C"] = u
            row["psi_true_1C"] = 0.5
            row["u2_inferred_1C"] = 1.0
            row["psi_inferred_1C"] = 0.5
        dgamma = fit.gamma - ref_fit.gamma
        row["dgamma"] = dgamma
        if run is ref_run:
            row["dgamma_sd"], row["p_constructive"], row["label"] = 0.0, np.nan, "reference"
        elif variants:
            dg = [
                gamma_of_energies(currents, e) - g_ref
                for e, g_ref in zip(run.variant_energy, ref_shifted, strict=True)
            ]
            p, sd, n_ok = label_probability(dg, sample_w, settings.gamma_resolution)
            row["n_reruns"] = n_ok
            row["dgamma_sd"], row["p_constructive"] = sd, p
            c = settings.label_confidence
            row["label"] = "constructive" if p >= c else "destructive" if p <= 1 - c else "same"
        else:
            row["dgamma_sd"], row["p_constructive"] = np.nan, np.nan
            row["label"] = label_design(fit.gamma, ref_fit.gamma, label_rtol)
        row["paper_label"] = d.paper_label
        rows.append(row)
    table = pd.DataFrame(rows)
    return RateStudy(table, runs, standalone, settings, calibration if variants else None)


def compact_table(study: RateStudy, title: str = "Rate study", width: int = 120) -> str:
    """The study's key columns as text that fits ``width`` terminal columns.

    design, heterogeneity factor, gamma, gamma - gamma_ref +- its spread, P(constructive),
    label and the paper's label, true utilisation of the bottom (collector) / top
    (separator) layer at 1C, the paper's inferred u2 and psi, and the true psi; the full
    table is ``rate_study.csv``.  A footer states the calibrated parameters.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    t = study.table
    tab = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    heads = ["design", "delta", "gamma", "dgamma", "sd", "P(c)", "label", "Yari"]
    heads += ["u_bot", "u_top", "u2inf", "psiinf", "psi"]
    for h in heads:
        tab.add_column(h, justify="left" if h in ("design", "label", "Yari") else "right")
    short = {
        "constructive": "constr.",
        "destructive": "destr.",
        "reference": "ref",
        "single_layer": "ref",
        "same": "same",
    }

    def f(v, fmt: str = ".3f") -> str:
        return "-" if v is None or not np.isfinite(v) else format(v, fmt)

    for r in t.to_dict("records"):
        tab.add_row(
            str(r["design"]),
            f(r["delta"], ".1f"),
            f(r["gamma"]),
            f(r["dgamma"], "+.4f"),
            f(r["dgamma_sd"], ".4f") if r["label"] != "reference" else "-",
            f(r["p_constructive"], ".2f"),
            short.get(str(r["label"]), str(r["label"])),
            short.get(str(r["paper_label"]), str(r["paper_label"])),
            f(r["u_bottom_1C"]),
            f(r["u_top_1C"]),
            f(r["u2_inferred_1C"]),
            f(r["psi_inferred_1C"]),
            f(r["psi_true_1C"]),
        )
    buf = io.StringIO()
    con = Console(file=buf, width=width, no_color=True, highlight=False, emoji=False)
    con.print(tab)
    st = study.settings
    mech = [
        name
        for name, on in (
            ("interface resistance", st.interface),
            ("particle wiring", st.wiring),
            ("through-plane-limited bulk sigma", st.through_plane_limited),
        )
        if on
    ]
    con.print(f"model: {', '.join(mech) or 'no carbon-dependent mechanism'}", soft_wrap=False)
    cal = study.calibration
    if cal is not None:
        p, sd = cal.params, cal.std_log10
        con.print(
            "single-layer calibration (MAP, 1 sd): r_int(2.5%) = "
            f"{p['interface_resistance_ref'] * 1e4:.3g} Ohm cm2 x/ {10 ** sd[0]:.2f}, "
            f"t = {p['interface_exponent']:.2f} +- {sd[1]:.2f}, "
            f"constriction = {p['constriction']:.3g} x/ {10 ** sd[2]:.2f}"
        )
        n = int(study.table.get("n_reruns", pd.Series([0])).max())
        con.print(
            f"P(c) = posterior P(gamma > gamma_ref) over {st.n_samples} draws ({n} distinct "
            "points): >= "
            f"{st.label_confidence:g} constructive, <= {1 - st.label_confidence:.2g} "
            "destructive, else same; u at 1C, bot = at the collector"
        )
    return buf.getvalue()
