"""Thickness study: specific capacity of one electrode design at several thicknesses.

:func:`thickness_study` sweeps the thickness of *any* cell (a factory ``thickness [m]
-> Cell``) through constant-current discharges from the charged state, at each rate to
each cut-off voltage, and returns the specific capacity [mAh/g of active material],
the capacity relative to the thinnest electrode, a mesh-convergence check of every
point, and per-point status.  :func:`zhang2023_cell` is a ready factory for the thick
NMC811 electrode of Zhang 2023 (``shared/seeds/002``, Fig. S9: at C/3 the 240 um
electrode has ~30 % less specific capacity than the 80 and 160 um ones).

Procedure
---------
* One discharge per (thickness, rate), to the *lowest* cut-off.  The capacity at a
  higher cut-off is read off the same curve where the voltage first falls to it
  (linear interpolation of capacity against voltage between the two recorded states
  around the crossing; the states are at most ``max_step`` apart).  A CC discharge
  does not depend on a cut-off it has not reached yet, so this equals a separate run to
  that cut-off up to the interpolation (tested: < 0.1 %).
* A run that stops before a cut-off (solver failure, the model's transport-limit stop,
  an exception) gives that cut-off status ``"not reached"`` / ``"failed"`` with the
  run's message; higher cut-offs the curve did cross are still read.  No point is
  dropped.
* Mesh convergence: every run is done on two meshes, coarse (``points`` finite volumes
  per electrode at ``reference_thickness``, scaled up with the electrode thickness so
  the cell size stays the same, ``radial`` shells per particle) and fine (``refine``
  times both).  The study's values are the fine mesh's; ``mesh_rel_diff`` = (fine -
  coarse) / fine and ``mesh_flag`` is set where ``|mesh_rel_diff|`` exceeds
  ``convergence_tol`` (0.5 %) or only one of the two meshes reached the cut-off.
* Diagnostics at each read-off (fine mesh): minimum electrolyte concentration in the
  positive electrode and at its current collector, mean and surface lithium fraction in
  the collector-side and separator-side halves of the positive electrode, and the
  charge balance |Q - sum of layer capacities| / Q.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from electrohet.design.layer import Cell, Electrode, Layer, Separator
from electrohet.errors import ElectrohetError, ParameterError

#: Zhang 2023 electrode thicknesses of Fig. S9 [m].
ZHANG2023_THICKNESSES = (80e-6, 160e-6, 240e-6)
#: Zhang 2023 rate of the thickness study [C] (1C = 280 mA/g).
ZHANG2023_RATES = (1.0 / 3.0,)
#: Cut-off voltages shown by the study [V]: Zhang's modelling cut-off 3.5 V (its C/2
#: discharges, Fig. 4) and two lower ones, to show the cut-off dependence.
ZHANG2023_CUTOFFS = (3.5, 3.2, 3.0)

RESULT_COLUMNS = (
    "thickness_um",
    "rate_C",
    "cutoff_V",
    "capacity_mAh_g",
    "relative_to_thinnest",
    "capacity_coarse_mAh_g",
    "capacity_at_stop_mAh_g",
    "voltage_at_stop_V",
    "mesh_rel_diff",
    "mesh_flag",
    "areal_capacity_mAh_cm2",
    "active_loading_mg_cm2",
    "status",
    "message",
    "ce_min_positive",
    "ce_collector",
    "ce_separator_side",
    "dphi_e_positive_mV",
    "dphi_s_positive_mV",
    "theta_mean_collector_half",
    "theta_mean_separator_half",
    "theta_surface_collector_half",
    "theta_surface_separator_half",
    "charge_balance_error",
    "points_positive_fine",
    "radial_fine",
    "wall_s",
)


@dataclass(frozen=True)
class ThicknessSettings:
    """Mesh, solver and convergence settings of a thickness study.

    Parameters
    ----------
    points
        Finite volumes per porous electrode (and in the separator) at
        ``reference_thickness`` on the coarse mesh [-]; an electrode of thickness L gets
        ``ceil(points L / reference_thickness)`` (at least ``points``).
    radial
        Radial shells per particle on the coarse mesh [-].
    refine
        Factor of the fine mesh over the coarse one (points and shells) [-].
    reference_thickness
        Thickness at which an electrode gets ``points`` cells [m].
    convergence_tol
        Relative coarse/fine capacity difference above which a point is flagged [-].
    mesh_check
        Run the coarse mesh too (``False``: fine mesh only, no convergence check).
    rtol
        Relative tolerance of the integrator [-].
    max_step
        Largest time step [s]; bounds the spacing of recorded states, hence the
        read-off interpolation of higher cut-offs.
    processes
        Worker processes of the local Dask cluster the (thickness, rate) runs go to
        (``None`` = number of CPUs; 1 = serial in this process, no cluster).
    scheduler
        Address of a running Dask scheduler to submit the runs to instead (``None`` =
        the environment variable ``ELECTROHET_SCHEDULER`` if set, else a local cluster).
    """

    points: int = 10
    radial: int = 10
    refine: int = 2
    reference_thickness: float = 80e-6
    convergence_tol: float = 0.005
    mesh_check: bool = True
    rtol: float = 1e-5
    max_step: float = 60.0
    processes: int | None = 1
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.points < 1:
            raise ParameterError(f"points = {self.points} must be >= 1")
        if self.radial < 3:
            raise ParameterError(f"radial = {self.radial} must be >= 3")
        if self.refine < 1:
            raise ParameterError(f"refine = {self.refine} must be >= 1")
        if not self.reference_thickness > 0:
            raise ParameterError("reference_thickness must be > 0 m")
        if not self.convergence_tol > 0:
            raise ParameterError("convergence_tol must be > 0")
        if not self.max_step > 0:
            raise ParameterError("max_step must be > 0 s")
        if self.processes is not None and not 1 <= self.processes <= 256:
            raise ParameterError(f"processes = {self.processes} must lie in [1, 256]")


@dataclass
class ThicknessStudy:
    """Results of :func:`thickness_study`.

    Attributes
    ----------
    table
        One row per (thickness, rate, cut-off); columns :data:`RESULT_COLUMNS`.
    runs
        Fine-mesh Dataset of each (thickness [um], rate [C]) discharge (the voltage
        curves; missing where the run raised).
    settings
        The settings used.
    wall_s
        Wall time of the whole study [s].
    """

    table: pd.DataFrame
    runs: dict[tuple[float, float], object] = field(default_factory=dict)
    settings: ThicknessSettings = field(default_factory=ThicknessSettings)
    wall_s: float = 0.0

    def to_xarray(self):
        """The table as an ``xarray.Dataset`` on (thickness_um, rate_C, cutoff_V)."""
        t = self.table.set_index(["thickness_um", "rate_C", "cutoff_V"])
        ds = t.to_xarray()
        ds["capacity_mAh_g"].attrs["units"] = "mAh/g (active material, crystallographic density)"
        ds["thickness_um"].attrs["units"] = "um"
        ds["cutoff_V"].attrs["units"] = "V"
        ds["rate_C"].attrs["units"] = "1/h (C-rate of the cell's nominal capacity)"
        ds["mesh_flag"] = ds["mesh_flag"].astype(bool)
        ds.attrs.update(
            description="thickness study: CC discharge from the charged state; capacities "
            "at higher cut-offs read off the discharge to the lowest cut-off",
            convergence_tol=self.settings.convergence_tol,
            points=self.settings.points,
            radial=self.settings.radial,
            refine=self.settings.refine,
            wall_s=self.wall_s,
        )
        return ds


# ----------------------------------------------------------------------------- mesh
def _with_points(electrode: Electrode, n_total: int) -> Electrode:
    """``electrode`` with ``n_total`` finite volumes split between its layers by thickness."""
    lays = electrode.layers
    total = sum(lay.thickness for lay in lays)
    pts = [max(1, int(round(n_total * lay.thickness / total))) for lay in lays]
    return Electrode(
        [lay.with_(n_points=p) for lay, p in zip(lays, pts, strict=True)], electrode.theta_init
    )


def scaled_mesh_cell(cell: Cell, points: int, reference_thickness: float) -> Cell:
    """``cell`` with its finite volumes set so the cell size tracks the thickness.

    Each porous electrode of thickness L gets ``max(points, ceil(points L / L_ref))``
    finite volumes (shared between its layers by thickness), the separator ``points``.
    """

    def n_for(el: Electrode) -> int:
        return max(points, math.ceil(points * el.thickness / reference_thickness - 1e-9))

    changes: dict = {
        "positive": _with_points(cell.positive, n_for(cell.positive)),
        "separator": replace(cell.separator, n_points=points),
    }
    if isinstance(cell.negative, Electrode):
        changes["negative"] = _with_points(cell.negative, n_for(cell.negative))
    return cell.with_(**changes)


# ----------------------------------------------------------------------------- read-off
def capacity_at_cutoff(
    voltage: np.ndarray, capacity: np.ndarray, cutoff: float, end_tol: float = 1e-3
) -> float:
    """Capacity where a discharge curve first falls to ``cutoff`` [same unit as capacity].

    Linear interpolation between the last state above and the first state at or below
    the cut-off.  A run stopped by its own cut-off event ends within the event location's
    tolerance of it: a *last* state within ``end_tol`` [V] above the cut-off counts as
    reaching it (its capacity is used).  NaN if the curve never reaches it.
    """
    i = _crossing(voltage, cutoff, end_tol)
    if i is None:
        return math.nan
    v = np.asarray(voltage, dtype=float)
    q = np.asarray(capacity, dtype=float)
    if i == 0 or v[i] > cutoff:
        return float(q[i])
    v0, v1, q0, q1 = v[i - 1], v[i], q[i - 1], q[i]
    if v0 == v1:
        return float(q1)
    return float(q0 + (q1 - q0) * (v0 - cutoff) / (v0 - v1))


def _crossing(voltage, cutoff: float, end_tol: float = 1e-3) -> int | None:
    """Index of the first state at or below ``cutoff`` (see :func:`capacity_at_cutoff`)."""
    v = np.asarray(voltage, dtype=float)
    below = np.nonzero(v <= cutoff)[0]
    if below.size:
        return int(below[0])
    if v.size and v[-1] <= cutoff + end_tol:
        return int(v.size - 1)
    return None


def _index_at(voltage: np.ndarray, cutoff: float) -> int:
    i = _crossing(voltage, cutoff)
    return len(voltage) - 1 if i is None else i


def _diagnostics(ds, i: int) -> dict:
    """Electrolyte and solid state of the positive electrode at record ``i``."""
    region = np.asarray(ds["region"].values).astype(str)
    pos = np.nonzero(region == "positive")[0]
    x = np.asarray(ds["x"].values)[pos]
    ce = np.asarray(ds["c_e"].values[i])[pos]
    phie = np.asarray(ds["phi_e"].values[i])[pos]
    phis = np.asarray(ds["phi_s"].values[i])[pos]
    ic, isep = int(np.argmax(x)), int(np.argmin(x))
    w = np.asarray(ds["class_weight"].values)[pos]
    tm = np.sum(np.asarray(ds["theta_mean"].values[i])[pos] * w, axis=1)
    ts = np.sum(np.asarray(ds["theta_surface"].values[i])[pos] * w, axis=1)
    # x grows towards the positive current collector: collector half = larger x
    mid = 0.5 * (x.min() + x.max())
    coll, sep = x >= mid, x < mid
    q = float(ds["capacity"].values[i])
    layer_q = ds["layer_capacity"].values[i]
    lr = np.asarray(ds["layer_region"].values).astype(str)
    q_pos = float(np.sum(np.asarray(layer_q)[lr == "positive"]))
    return {
        "ce_min_positive": float(ce.min()),
        "ce_collector": float(ce[ic]),
        "ce_separator_side": float(ce[isep]),
        # potential drops across the positive electrode (cell centres), > 0 = a loss
        "dphi_e_positive_mV": 1e3 * float(phie[isep] - phie[ic]),
        "dphi_s_positive_mV": 1e3 * float(phis[isep] - phis[ic]),
        "theta_mean_collector_half": float(tm[coll].mean()),
        "theta_mean_separator_half": float(tm[sep].mean()),
        "theta_surface_collector_half": float(ts[coll].mean()),
        "theta_surface_separator_half": float(ts[sep].mean()),
        "charge_balance_error": abs(q - q_pos) / abs(q) if q else math.nan,
    }


def _discharge(cell: Cell, rate: float, cutoff: float, points: int, radial: int, st):
    """One CC discharge; returns (Dataset or None, message, wall time [s])."""
    from electrohet.model import MeshOptions, Simulation, SolverOptions

    t0 = time.perf_counter()
    try:
        c = scaled_mesh_cell(cell, points, st.reference_thickness)
        sim = Simulation(
            c,
            MeshOptions(points_per_domain=points, radial_points=radial),
            SolverOptions(rtol=st.rtol, max_step=st.max_step),
        )
        ds = sim.solve(f"Discharge at {rate:.12g}C until {cutoff:.12g} V")
    except (ElectrohetError, ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        return None, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0
    msg = str(ds.attrs.get("message", ""))
    if not msg:
        # a step that ended on the model's transport-limit stop gives its reason (which
        # limit, where) in step_info
        found = re.search(r"'reason': '(transport limit[^']*)'", str(ds.attrs.get("step_info", "")))
        if found:
            msg = f"stopped at the {found.group(1)}"
    return ds, msg, time.perf_counter() - t0


def _ended_at(ds, cutoff: float) -> bool:
    """Whether the run's last step ended on its own voltage cut-off event at ``cutoff``."""
    return f"'reason': 'voltage cut-off {cutoff:g} V'" in str(ds.attrs.get("step_info", ""))


def _read(ds, vc: float, lowest: float) -> float:
    """Capacity at cut-off ``vc`` of a discharge run to ``lowest`` (NaN without a run)."""
    if ds is None:
        return math.nan
    # a run stopped by its cut-off event reached it, however steep the last volts were
    tol = math.inf if vc == lowest and _ended_at(ds, lowest) else 1e-3
    return capacity_at_cutoff(ds.voltage.values, ds.capacity.values, vc, end_tol=tol)


def _point_rows(cell, ds_f, msg_f, ds_c, msg_c, thickness, rate, cutoffs, st, wall) -> list[dict]:
    lowest = min(cutoffs)
    loading = sum(lay.active_loading() for lay in cell.positive.layers)  # kg/m^2
    n_f = max(
        st.points * st.refine,
        math.ceil(st.points * st.refine * cell.positive.thickness / st.reference_thickness - 1e-9),
    )
    rows = []
    for vc in cutoffs:
        row: dict = {
            "thickness_um": round(thickness * 1e6, 6),
            "rate_C": float(rate),
            "cutoff_V": float(vc),
            "active_loading_mg_cm2": loading * 100.0,
            "points_positive_fine": n_f,
            "radial_fine": st.radial * st.refine,
            "wall_s": wall,
        }
        q_f = _read(ds_f, vc, lowest)
        q_c = _read(ds_c, vc, lowest)
        row["capacity_mAh_g"] = q_f / loading  # Ah/m^2 / (kg/m^2) = mAh/g
        row["areal_capacity_mAh_cm2"] = q_f * 0.1  # Ah/m^2 -> mAh/cm^2
        row["capacity_coarse_mAh_g"] = q_c / loading if st.mesh_check else math.nan
        if ds_f is None:
            row.update(status="failed", message=msg_f)
        elif not np.isfinite(q_f):
            v_end = float(ds_f.voltage.values[-1])
            row["capacity_at_stop_mAh_g"] = float(ds_f.capacity.values[-1]) / loading
            row["voltage_at_stop_V"] = v_end
            row.update(
                status="not reached",
                message=f"discharge ended at {v_end:.4f} V before {vc:g} V: "
                + (msg_f or "no message"),
            )
        else:
            row.update(status="ok", message="")
        if ds_f is not None:
            i = len(ds_f.voltage) - 1 if vc == lowest and np.isfinite(q_f) else None
            row.update(_diagnostics(ds_f, _index_at(ds_f.voltage.values, vc) if i is None else i))
        if st.mesh_check:
            if np.isfinite(q_f) and np.isfinite(q_c):
                d = (q_f - q_c) / q_f
                row["mesh_rel_diff"] = d
                row["mesh_flag"] = bool(abs(d) > st.convergence_tol)
            else:
                row["mesh_rel_diff"] = math.nan
                row["mesh_flag"] = bool(np.isfinite(q_f) != np.isfinite(q_c))
                if row["mesh_flag"]:
                    which = "coarse" if np.isfinite(q_f) else "fine"
                    other = msg_c if which == "coarse" else msg_f
                    row["message"] = (
                        (row["message"] + "; " if row["message"] else "")
                        + f"only the {'fine' if which == 'coarse' else 'coarse'} mesh reached "
                        f"{vc:g} V ({which}: {other or 'stopped earlier'})"
                    )
        else:
            row["mesh_rel_diff"], row["mesh_flag"] = math.nan, False
        rows.append(row)
    return rows


def thickness_study(
    cell_factory: Callable[[float], Cell],
    thicknesses: Sequence[float],
    rates: Sequence[float],
    cutoffs: Sequence[float],
    settings: ThicknessSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> ThicknessStudy:
    """Specific capacity against electrode thickness, rate and cut-off voltage.

    Parameters
    ----------
    cell_factory
        ``cell_factory(thickness)`` -> :class:`~electrohet.design.layer.Cell` with a
        positive electrode of that total thickness [m], charged (its ``theta_init``),
        whose ``nominal_capacity`` defines 1C.  Mass-specific capacities are per gram of
        the positive electrode's active material (crystallographic density).
    thicknesses
        Positive-electrode thicknesses [m], > 0.
    rates
        Discharge C-rates [1/h], > 0.
    cutoffs
        Cut-off voltages [V]; one discharge per (thickness, rate) runs to the lowest,
        the others are read off its curve.
    settings
        Mesh and solver settings (:class:`ThicknessSettings`).
    progress
        Called with one line per finished (thickness, rate) run.

    Returns
    -------
    ThicknessStudy
        ``table`` with one row per (thickness, rate, cut-off): ``capacity_mAh_g`` (fine
        mesh), ``relative_to_thinnest`` (capacity / that of the thinnest electrode at
        the same rate and cut-off), mesh check, status and diagnostics.
    """
    st = settings or ThicknessSettings()
    ths = [float(t) for t in thicknesses]
    rs = [float(r) for r in rates]
    cs = sorted({float(c) for c in cutoffs}, reverse=True)
    if not ths or not rs or not cs:
        raise ParameterError("thicknesses, rates and cutoffs must each hold at least one value")
    for name, vals in (("thickness", ths), ("rate", rs)):
        bad = [v for v in vals if not (np.isfinite(v) and v > 0)]
        if bad:
            raise ParameterError(f"{name} values must be finite and > 0, got {bad}")
    if len(set(ths)) != len(ths) or len(set(rs)) != len(rs):
        raise ParameterError("thicknesses and rates must not repeat")
    t_start = time.perf_counter()
    # one job per (thickness, rate): both meshes' discharges and the point's rows
    jobs = [(cell_factory, th, r, cs, st) for th in sorted(ths) for r in rs]

    def report(i: int, point: dict) -> None:
        if progress is not None and point["line"]:
            progress(point["line"])

    from electrohet.interrupts import Interrupted
    from electrohet.sweeps import run_jobs

    try:
        points = run_jobs(
            _thickness_point,
            jobs,
            st.processes,
            label="(thickness, rate) runs",
            scheduler=st.scheduler,
            on_result=report,
        )
    except Interrupted as exc:
        done = [p for p in (exc.partial or []) if p is not None]
        rows, runs = _collect(done)
        partial = _assemble(rows, runs, st, t_start) if rows else None
        raise Interrupted(
            f"thickness study interrupted after {len(done)} of {len(jobs)} (thickness, rate) runs",
            exc.exit_code,
            partial=partial,
        ) from None
    rows, runs = _collect(points)
    return _assemble(rows, runs, st, t_start)


def _collect(points: list[dict]) -> tuple[list[dict], dict]:
    """Rows and fine-mesh runs {(thickness [um], rate): Dataset} of finished points."""
    rows: list[dict] = []
    runs: dict = {}
    for p in points:
        rows.extend(p["rows"])
        if p["run"] is not None:
            runs[p["key"]] = p["run"]
    return rows, runs


def _thickness_point(args) -> dict:
    """One sweep job: the cell of one thickness and its discharges at one rate.

    Returns ``{"rows", "run", "key", "line"}``: the point's rows (one per cut-off; all
    "failed" when the cell factory fails), the fine-mesh Dataset (or ``None``), its key
    (thickness [um], rate) and a progress line.
    """
    cell_factory, th, r, cs, st = args
    key = (round(th * 1e6, 6), r)
    try:
        cell = cell_factory(th)
    except ElectrohetError as exc:
        rows = [
            {
                "thickness_um": round(th * 1e6, 6),
                "rate_C": r,
                "cutoff_V": vc,
                "capacity_mAh_g": math.nan,
                "status": "failed",
                "message": f"cell factory: {exc}",
                "mesh_flag": False,
            }
            for vc in cs
        ]
        return {"rows": rows, "run": None, "key": key, "line": ""}
    if not (cell.v_min - 0.3 <= cs[-1] and cs[0] <= cell.v_max):
        raise ParameterError(
            f"cut-offs {cs[-1]:g}-{cs[0]:g} V must lie in the cell window "
            f"[{cell.v_min:g} - 0.3, {cell.v_max:g}] V of {cell.name or 'the cell'}"
        )
    if abs(cell.positive.thickness - th) > 1e-9 * th + 1e-12:
        raise ParameterError(
            f"cell_factory({th:g}) built a positive electrode of "
            f"{cell.positive.thickness:g} m; it must be {th:g} m"
        )
    lowest = cs[-1]
    nf, mf = st.points * st.refine, st.radial * st.refine
    ds_f, msg_f, w_f = _discharge(cell, r, lowest, nf, mf, st)
    ds_c, msg_c, w_c = (None, "", 0.0)
    if st.mesh_check:
        ds_c, msg_c, w_c = _discharge(cell, r, lowest, st.points, st.radial, st)
    rows = _point_rows(cell, ds_f, msg_f, ds_c, msg_c, th, r, cs, st, w_f + w_c)
    parts = ", ".join(
        f"{d['cutoff_V']:g} V: "
        + (f"{d['capacity_mAh_g']:.1f} mAh/g" if d["status"] == "ok" else d["status"])
        for d in rows
    )
    line = f"{th * 1e6:g} um at {r:.4g}C ({w_f + w_c:.1f} s): {parts}"
    return {"rows": rows, "run": ds_f, "key": key, "line": line}


def _assemble(rows: list[dict], runs: dict, st: ThicknessSettings, t_start: float):
    """The :class:`ThicknessStudy` of the rows computed so far."""
    table = pd.DataFrame(rows)
    for col in RESULT_COLUMNS:
        if col not in table:
            table[col] = math.nan
    table["mesh_flag"] = table["mesh_flag"].fillna(False).astype(bool)
    table["message"] = table["message"].fillna("")
    thin = table["thickness_um"].min()
    ref = table[table["thickness_um"] == thin].set_index(["rate_C", "cutoff_V"])["capacity_mAh_g"]
    table["relative_to_thinnest"] = [
        q / ref.get((r, c), math.nan)
        for q, r, c in zip(table["capacity_mAh_g"], table["rate_C"], table["cutoff_V"], strict=True)
    ]
    table = table[list(RESULT_COLUMNS)].sort_values(
        ["rate_C", "cutoff_V", "thickness_um"], ascending=[True, False, True]
    )
    return ThicknessStudy(table.reset_index(drop=True), runs, st, time.perf_counter() - t_start)


def scaled_factory(cell: Cell) -> Callable[[float], Cell]:
    """A thickness factory from one cell: its positive layers scaled to the new thickness.

    Every positive layer keeps its share of the thickness and all its other properties;
    a fixed ``nominal_capacity`` scales with the thickness (the C-rate stays per gram);
    in a full cell the negative electrode scales too (same capacity ratio).

    Parameters
    ----------
    cell
        The template cell (any preset or hand-built cell).
    """
    l0 = cell.positive.thickness

    def factory(thickness: float) -> Cell:
        f = thickness / l0
        pos = cell.positive.with_layers(
            [lay.with_(thickness=lay.thickness * f, n_points=None) for lay in cell.positive.layers]
        )
        changes: dict = {"positive": pos, "name": f"{cell.name} {thickness * 1e6:g} um"}
        if cell.nominal_capacity is not None:
            changes["nominal_capacity"] = cell.nominal_capacity * f
        if isinstance(cell.negative, Electrode):
            changes["negative"] = cell.negative.with_layers(
                [
                    lay.with_(thickness=lay.thickness * f, n_points=None)
                    for lay in cell.negative.layers
                ]
            )
        return cell.with_(**changes)

    return factory


# ----------------------------------------------------------------------------- Zhang 2023
#: Zhang 2023 electrode (seed 002, "Experimental procedures" and main text): 80 um
#: reference thickness (~85 um imaged), porosity 0.25 after calendering, 95 / 2.5 / 2.5
#: wt% NMC811 / carbon / binder, 1C = 280 mA/g.
ZHANG2023_POROSITY = 0.25
ZHANG2023_COMPOSITION = (0.95, 0.025, 0.025)
ZHANG2023_ONE_C_MAH_G = 280.0


def zhang2023_cell(
    thickness: float = 80e-6,
    counter: str = "lithium",
    porosity: float = ZHANG2023_POROSITY,
    particle_radius: float = 5.22e-6,
    conductivity: float = 0.18,
    tortuosity: float | None = None,
    one_c_mAh_g: float = ZHANG2023_ONE_C_MAH_G,
    n_p_ratio: float = 1.1,
) -> Cell:
    """A Zhang 2023-like NMC811 half (or full) cell, charged, positive ``thickness`` [m].

    Values and sources
    ------------------
    * Active material: NMC811 of the Chen 2020 set (:data:`~electrohet.materials.chen2020.
      NMC811_CHEN2020`: OCP, D_s = 4e-15 m^2/s, kinetics), crystallographic density
      4.78 g/cm^3 for masses.
    * Composition 95 / 2.5 / 2.5 wt% (Zhang 2023, Experimental procedures), turned into
      volume fractions with the densities 4.78 (NMC811), 1.95 (carbon black) and 1.78
      g/cm^3 (PVDF) (:class:`~electrohet.design.formulation.Formulation`): at porosity 0.25
      (Zhang) eps_AM = 0.661, eps_CBD = 0.089 (Zhang's imaged CBD fraction: 0.09).  80 um
      then holds 25.3 mg/cm^2 of NMC811 (Zhang: ~30 mg/cm^2 total at ~85 um).
    * Particle radius 5.22 um and matrix conductivity 0.18 S/m: Chen 2020's NMC811
      electrode (Zhang's Table S2 is not in the seed) - assumed.
    * Electrolyte tortuosity: Bruggeman, tau = eps^-0.5 = 2.0 (``tortuosity`` overrides;
      Zhang's imaged flow tortuosity is 1.5).
    * Electrolyte 1 M LiPF6 in EC:EMC (Nyman 2008 transport; Zhang: EC-EMC + 2 wt% VC).
    * Separator: Celgard 2325 (Zhang), 25 um, porosity 0.39.
    * Counter electrode: Li metal, i0 = 10 A/m^2 (:data:`~electrohet.materials.nmc622.
      LI_METAL_DEFAULT`); ``counter="graphite"`` gives a full cell with the Chen 2020
      graphite-SiOx negative sized to ``n_p_ratio`` x the positive window capacity.
    * Charged state: theta = 0.2661 (Chen 2020's 100 % SOC, 4.28 V vs Li; Zhang charged to
      4.4 V, beyond the OCP fit's range).  Window 2.8-4.4 V (half cell; Zhang's cycling
      window), 2.5-4.2 V (full cell).
    * 1C = 280 mA/g x NMC811 loading (Zhang).

    Parameters
    ----------
    thickness
        Positive-electrode thickness [m].
    counter
        ``"lithium"`` (half cell, as Zhang) or ``"graphite"`` (full cell).
    porosity
        Positive-electrode porosity [-].
    particle_radius
        NMC811 particle radius [m].
    conductivity
        Effective matrix conductivity [S/m].
    tortuosity
        Electrolyte tortuosity factor [-]; ``None`` = Bruggeman.
    one_c_mAh_g
        Specific current of 1C [mA/g].
    n_p_ratio
        Negative/positive capacity ratio of the full cell [-].
    """
    from electrohet.design.formulation import Formulation
    from electrohet.design.presets import chen2020_negative_layer
    from electrohet.materials.chen2020 import LIPF6_EC_EMC_NYMAN2008, NMC811_CHEN2020
    from electrohet.materials.nmc622 import LI_METAL_DEFAULT

    if counter not in ("lithium", "graphite"):
        raise ParameterError(f"counter = {counter!r} must be 'lithium' or 'graphite'")
    if not (np.isfinite(thickness) and thickness > 0):
        raise ParameterError(f"thickness = {thickness!r} must be > 0 m")
    mat = NMC811_CHEN2020
    am, c, b = ZHANG2023_COMPOSITION
    form = Formulation(am, c, b, active_density=mat.crystal_density)
    eps_a, _ = form.volume_fractions(porosity)
    pos_layer = Layer(
        material=mat,
        thickness=thickness,
        porosity=porosity,
        active_fraction=eps_a,
        cbd_fraction=1.0 - porosity - eps_a,
        particle_radius=particle_radius,
        carbon_mass_fraction=c,
        tortuosity=tortuosity,
        conductivity=conductivity,
        name="NMC811",
    )
    one_c = pos_layer.active_loading() * one_c_mAh_g  # kg/m^2 x mAh/g = Ah/m^2
    positive = Electrode([pos_layer], theta_init=mat.theta_100)
    separator = Separator(thickness=25e-6, porosity=0.39, bruggeman=0.5)
    if counter == "lithium":
        return Cell(
            negative=LI_METAL_DEFAULT,
            separator=separator,
            positive=positive,
            electrolyte=LIPF6_EC_EMC_NYMAN2008,
            v_min=2.8,
            v_max=4.4,
            nominal_capacity=one_c,
            name=f"Zhang2023-like NMC811 {thickness * 1e6:g} um | Li",
        )
    neg0 = chen2020_negative_layer()
    gm = neg0.material
    q_pos = pos_layer.capacity_per_area(mat.theta_100, mat.theta_0)
    q_neg_per_m = neg0.capacity_per_area(gm.theta_0, gm.theta_100) / neg0.thickness
    neg_layer = neg0.with_(thickness=n_p_ratio * q_pos / q_neg_per_m)
    return Cell(
        negative=Electrode([neg_layer], theta_init=gm.theta_100),
        separator=separator,
        positive=positive,
        electrolyte=LIPF6_EC_EMC_NYMAN2008,
        v_min=2.5,
        v_max=4.2,
        nominal_capacity=one_c,
        name=f"Zhang2023-like NMC811 {thickness * 1e6:g} um | graphite",
    )


def diagnose(row: pd.Series | dict, c0: float = 1000.0) -> str:
    """One sentence on what limits a discharge at its read-off, from the diagnostics.

    Electrolyte depletion when the concentration at the collector fell below 10 % of
    ``c0`` [mol/m^3]; the end of the lithium window when the surfaces of both halves are
    nearly full (>= 0.98); otherwise the larger of the electrolyte and matrix potential
    drops across the positive electrode (electrolyte transport vs electronic
    conduction), with solid diffusion named when the surface runs > 0.05 ahead of the
    particle mean.  The numbers are printed with the verdict.
    """
    r = {
        k: (float(v) if isinstance(v, (int, float, np.floating)) else v)
        for k, v in dict(row).items()
    }
    nan = math.nan
    ce_c, ce_s = r.get("ce_collector", nan), r.get("ce_separator_side", nan)
    tmc, tms = r.get("theta_mean_collector_half", nan), r.get("theta_mean_separator_half", nan)
    tsc, tss = (
        r.get("theta_surface_collector_half", nan),
        r.get("theta_surface_separator_half", nan),
    )
    de, dm = r.get("dphi_e_positive_mV", nan), r.get("dphi_s_positive_mV", nan)
    lag = np.nanmax([tsc - tmc, tss - tms])
    parts = [
        f"c_e {ce_s:.0f} -> {ce_c:.0f} mol/m^3 from separator side to collector (c0 {c0:.0f})",
        f"potential drop across the electrode: electrolyte {de:.0f} mV, matrix {dm:.0f} mV",
        f"mean theta collector/separator half {tmc:.3f}/{tms:.3f}, surface {tsc:.3f}/{tss:.3f}",
    ]
    if np.isfinite(ce_c) and ce_c < 0.1 * c0:
        verdict = "electrolyte depletion near the collector limits the capacity"
    elif np.isfinite(tsc) and min(tsc, tss) >= 0.98:
        verdict = (
            "particle surfaces full throughout (end of the lithium window; solid "
            f"diffusion holds back {lag:.3f} in theta)"
        )
    elif np.isfinite(de) and np.isfinite(dm) and max(de, dm) > 10.0:
        verdict = (
            "electrolyte transport (potential drop and concentration gradient) dominates"
            if de >= dm
            else "electronic conduction of the matrix dominates"
        )
        if lag > 0.05:
            verdict += "; solid diffusion adds (surface ahead of mean)"
    elif lag > 0.05:
        verdict = "solid diffusion: surfaces ahead of the particle mean"
    else:
        verdict = "no dominant transport limitation"
    return f"{verdict} ({'; '.join(parts)})"


def save_study(study: ThicknessStudy, out: Path) -> list[Path]:
    """Write ``thickness_study.csv``, ``thickness_study.nc`` and the fine-mesh discharge
    curves ``thickness_runs.nc`` into ``out``; returns the paths."""
    import xarray as xr

    from electrohet.outputs import write_netcdf, write_text_atomic

    out = Path(out)
    files = [write_text_atomic(out / "thickness_study.csv", study.table.to_csv(index=False))]
    files.append(write_netcdf(study.to_xarray(), out / "thickness_study.nc"))
    curves = {}
    for (th, r), ds in study.runs.items():
        key = f"{th:g}um_{r:.4g}C"
        curves[f"voltage_{key}"] = xr.DataArray(ds.voltage.values, dims=(f"t_{key}",))
        curves[f"capacity_{key}"] = xr.DataArray(ds.capacity.values, dims=(f"t_{key}",))
    if curves:
        files.append(write_netcdf(xr.Dataset(curves), out / "thickness_runs.nc"))
    return files


def plot_study(study: ThicknessStudy):
    """Specific capacity against thickness, one line per cut-off, one panel per rate.

    Open markers: where a run stopped before that cut-off (not a capacity at it);
    crosses: points flagged as not mesh-converged.
    """
    import matplotlib.pyplot as plt

    t = study.table
    rates = sorted(t["rate_C"].unique())
    fig, axes = plt.subplots(1, len(rates), figsize=(4.5 * len(rates), 3.6), squeeze=False)
    for ax, r in zip(axes[0], rates, strict=True):
        sub = t[t["rate_C"] == r]
        for vc in sorted(sub["cutoff_V"].unique(), reverse=True):
            s = sub[sub["cutoff_V"] == vc].sort_values("thickness_um")
            ok = s["status"] == "ok"
            (line,) = ax.plot(
                s.loc[ok, "thickness_um"],
                s.loc[ok, "capacity_mAh_g"],
                "o-",
                label=f"{vc:g} V" if ok.any() else None,
            )
            stop = s[~ok & np.isfinite(s["capacity_at_stop_mAh_g"])]
            if len(stop):
                ax.plot(
                    stop["thickness_um"],
                    stop["capacity_at_stop_mAh_g"],
                    "o",
                    mfc="none",
                    color=line.get_color(),
                    label=f"{vc:g} V not reached: where the run stopped",
                )
            flag = s[ok & s["mesh_flag"]]
            ax.plot(flag["thickness_um"], flag["capacity_mAh_g"], "x", color="k", ms=9)
        ax.set_xlabel("positive electrode thickness [um]")
        ax.set_ylabel("specific capacity [mAh/g]")
        ax.set_title(f"{r:.3g}C discharge")
        ax.legend(title="cut-off", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def format_table(study: ThicknessStudy) -> str:
    """A fixed-width text table of the study (capacity, relative, mesh check, status)."""
    t = study.table
    lines = [
        f"{'thick um':>8} {'rate C':>7} {'cut V':>6} {'mAh/g':>8} {'rel':>6} "
        f"{'mesh d%':>8} {'flag':>4}  status"
    ]
    for _, r in t.iterrows():
        d = r["mesh_rel_diff"]
        ds = f"{100 * d:+8.2f}" if np.isfinite(d) else f"{'-':>8}"
        q = r["capacity_mAh_g"]
        qs = f"{q:8.1f}" if np.isfinite(q) else f"{'-':>8}"
        rel = r["relative_to_thinnest"]
        rs = f"{rel:6.3f}" if np.isfinite(rel) else f"{'-':>6}"
        status = r["status"] + (f" ({r['message']})" if r["message"] else "")
        lines.append(
            f"{r['thickness_um']:8g} {r['rate_C']:7.4g} {r['cutoff_V']:6g} {qs} {rs} {ds} "
            f"{'yes' if r['mesh_flag'] else 'no':>4}  {status}"
        )
    return "\n".join(lines) + "\n"
