"""Rate-capability studies of layered electrodes (Yari 2020 bilayers and your own).

For every design: one CCCV charge from the discharged state (CC at the charge rate to
v_max, CV until C/20, rest), then from that charged state a CC discharge at each rate
(after the rest).  Yari 2020 recharges before every rate; starting each discharge from
the same CCCV-charged state is equivalent up to the C/20 tail of the CV step and
halves the work.  Each design is independent, so designs run in parallel processes.

Per design the study reports the discharge energy and capacity at every rate, the
Peukert fit (PHYSICS.md §4: E = beta I^-alpha) with standard errors, gamma = 2^-alpha,
the *true* per-layer utilisation from the model, the paper's *inferred* u2 and psi
(eqs. 7-8, from standalone single-layer runs of each layer's formulation at the same
total loading), and a constructive / destructive / same label against the single layer.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd
import xarray as xr

from electrohet.analysis.rate_capability import fit_peukert, layer_utilization
from electrohet.design.formulation import heterogeneity_factor
from electrohet.design.layer import Cell
from electrohet.errors import ParameterError, SolverError, check_range
from electrohet.model import MeshOptions, Simulation
from electrohet.model.results import layer_utilization as layer_utilization_of_run
from electrohet.studies.pool import run_jobs


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
        Worker processes (``None`` = number of CPUs, 1 = serial).
    wiring
        Particle-level wiring linked to the carbon fraction (issue 3): every layer gets
        ``wiring_classes`` contact classes from
        :meth:`~electrohet.design.distributions.ContactPaths.from_carbon_fraction`
        (poorly wired share grows as f_c falls) and the NMC's SOC-dependent electronic
        conductivity (Amin & Chiang 2016), so poorly wired particles fall behind.
    constriction
        Particle surface / contact cross-section of a poor path [-].
    """

    rates: Sequence[float] = (0.5, 1.0, 2.0, 3.0)
    charge_rate: float = 0.5
    v_min: float = 3.0
    v_max: float = 4.3
    rest_minutes: float = 15.0
    points_per_layer: int = 10
    radial_points: int = 15
    processes: int | None = None
    wiring: bool = False
    wiring_classes: int = 3
    constriction: float = 30.0

    def __post_init__(self) -> None:
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

    def utilization(self, position: str, rate: float) -> float:
        """True utilisation [-] of the layer at ``position`` ("collector"/"separator")."""
        k = int(np.argmin(np.abs(self.rates - rate)))
        return float(self.layer_utilization[k, self.layer_positions.index(position)])

    def loading(self, position: str) -> float:
        """Active loading [kg/m^2] of the layer at ``position``."""
        return float(self.active_loading[self.layer_positions.index(position)])


def _run_design(args) -> DesignRuns:
    design, settings, cell_factory = args
    cell: Cell = cell_factory(design, settings)
    sim = Simulation(cell, MeshOptions(radial_points=settings.radial_points))
    charge = [
        f"Charge at {settings.charge_rate:g}C until {settings.v_max:g} V",
        f"Hold at {settings.v_max:g} V until C/20",
        f"Rest for {settings.rest_minutes:g} minutes",
    ]
    ch = sim.solve(charge)
    if ch.attrs["status"] != "completed":
        raise ParameterError(f"design {design.name}: charge failed: {ch.attrs['message']}")
    y_charged = sim.integrator.y.copy()
    energy, capacity, util, dss = [], [], [], []
    names: list[str] = []
    positions: list[str] = []
    for rate in settings.rates:
        ds = sim.solve(
            [f"Discharge at {rate:g}C until {settings.v_min:g} V"], initial_state=y_charged
        )
        if ds.attrs["status"] != "completed":
            raise SolverError(
                f"design {design.name}: {rate:g}C discharge failed: {ds.attrs['message']}"
            )
        ds.attrs["design"] = design.name
        ds.attrs["rate_C"] = float(rate)
        energy.append(float(ds.energy[-1] - ds.energy[0]))
        capacity.append(float(ds.capacity[-1] - ds.capacity[0]))
        u = layer_utilization_of_run(ds)
        names = [str(n) for n in u["layer"].values]
        positions = [str(p) for p in u["layer_position"].values]
        util.append(u.values)
        dss.append(ds)
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
    )


def run_designs(
    designs: Sequence[LayerDesign],
    settings: StudySettings,
    cell_factory: Callable[[LayerDesign, StudySettings], Cell],
    progress: bool = False,
) -> list[DesignRuns]:
    """Run every design (in parallel processes when ``settings.processes != 1``)."""
    jobs = [(d, settings, cell_factory) for d in designs]
    # interrupt-safe: Ctrl-C/SIGTERM stop the workers and raise Interrupted (partial runs)
    return run_jobs(_run_design, jobs, settings.processes, progress, label="designs")


def _maybe_progress(it, total: int, progress: bool):
    if not progress:
        yield from it
        return
    from rich.progress import Progress

    with Progress(transient=True) as p:
        task = p.add_task("designs", total=total)
        for item in it:
            p.update(task, advance=1)
            yield item


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


def yari2020_cell_factory(design: LayerDesign, settings: StudySettings) -> Cell:
    """NMC622 half cell of Yari 2020 for ``design`` (see :func:`yari2020_cell`)."""
    from electrohet.design.presets import yari2020_cell

    cell = yari2020_cell(
        design.fc_bottom,
        design.fc_top if design.layered else None,
        design.am_share_bottom,
        points_per_layer=settings.points_per_layer,
    )
    if settings.wiring:
        cell = cell.with_(positive=_wired(cell.positive, settings))
    return cell.with_(v_min=settings.v_min, v_max=settings.v_max)


def _wired(electrode, settings: StudySettings):
    """Layers with contact-path classes from their carbon fraction and SOC-dependent sigma_AM."""
    from electrohet.design.distributions import ContactPaths, build_ensemble
    from electrohet.design.layer import Electrode
    from electrohet.materials.soc_dependent import with_soc_dependence

    layers = []
    for lay in electrode.layers:
        contact = ContactPaths.from_carbon_fraction(
            lay.carbon_mass_fraction,
            diameter=2 * lay.particle_radius,
            constriction=settings.constriction,
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

    def save(self, out_dir: str | os.PathLike) -> list[str]:
        """Write ``table.csv`` and one netCDF per design and rate into ``out_dir``."""
        os.makedirs(out_dir, exist_ok=True)
        written = [os.path.join(out_dir, "rate_study.csv")]
        self.table.to_csv(written[0], index=False)
        for run in self.runs:
            for rate, ds in zip(run.rates, run.datasets, strict=True):
                safe = run.design.name.replace("/", "-")
                path = os.path.join(out_dir, f"run_{safe}_{rate:g}C.nc")
                _to_netcdf(ds, path)
                written.append(path)
        return written


def _to_netcdf(ds: xr.Dataset, path: str) -> None:
    clean = ds.copy()
    clean.attrs = {
        k: (v if isinstance(v, (str, int, float)) else str(v)) for k, v in ds.attrs.items()
    }
    clean.to_netcdf(path, engine="h5netcdf")


def rate_study(
    designs: Sequence[LayerDesign] | None = None,
    settings: StudySettings | None = None,
    cell_factory: Callable[[LayerDesign, StudySettings], Cell] = yari2020_cell_factory,
    reference: str = "single",
    progress: bool = False,
    label_rtol: float = 0.01,
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
        Minimum relative gamma difference for a constructive/destructive label.
    """
    designs = list(designs or yari2020_designs())
    settings = settings or StudySettings()
    names = [d.name for d in designs]
    if reference not in names:
        raise ParameterError(f"reference design {reference!r} not among the designs {names}")
    # standalone single layers of every formulation used in a layer (Yari's Q1, Q2)
    fcs = sorted(
        {d.fc_bottom for d in designs} | {d.fc_top for d in designs if d.fc_top is not None}
    )
    standalone_designs = [LayerDesign(f"standalone {100 * fc:g}%", fc) for fc in fcs]
    runs_all = run_designs(designs + standalone_designs, settings, cell_factory, progress)
    runs = runs_all[: len(designs)]
    standalone = {fc: r for fc, r in zip(fcs, runs_all[len(designs) :], strict=True)}

    ref_run = runs[names.index(reference)]
    currents = np.asarray(settings.rates, float)
    fits = {r.design.name: fit_peukert(currents, r.energy, source=r.design.name) for r in runs}
    ref_fit = fits[reference]
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
            row["label"] = label_design(fit.gamma, ref_fit.gamma, label_rtol)
        else:
            u = run.utilization("collector", rate1)
            row["u_bottom_1C"] = row["u_top_1C"] = u
            row["psi_true_1C"] = 0.5
            row["u2_inferred_1C"] = 1.0
            row["psi_inferred_1C"] = 0.5
            row["label"] = (
                "reference"
                if run is ref_run
                else label_design(fit.gamma, ref_fit.gamma, label_rtol)
            )
        row["paper_label"] = d.paper_label
        rows.append(row)
    table = pd.DataFrame(rows)
    return RateStudy(table, runs, standalone, settings)
