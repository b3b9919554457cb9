"""Age a voxel-resolved electrode: CEI growth on every reaction face, cycle by cycle.

The voxel model (:mod:`electrohet.voxel`) resolves each particle surface as reaction
faces between active-material and electrolyte voxels.  This driver runs the cycles of
a protocol on a built :class:`~electrohet.voxel.simulation.Simulation` through the
experiment engine (:func:`electrohet.engine.run_step`, the step loop the P2D-E aging
uses) and, between cycles, applies the CEI law of :class:`~electrohet.aging.mechanisms.CEIGrowth`
face by face (docs/physics.md, aging: CEI growth):

* the side-reaction charge of each face over the cycle,
  ``Q_f = integral i_cei(E_s, L_f, T) dt`` [C/m^2], with the surface potential inside
  the film ``E_s = phi_s - phi_e - i r_f`` of the face (trapezoidal rule over every
  recorded state);
* the film grows by ``dL_f = V_cei Q_f / F`` and its resistance by ``dL_f /
  kappa_cei`` (the simulation's initial film keeps its own ``kappa_cei``);
* each electron binds one lithium in the film, taken from the face's active-material
  voxel: ``dc_s = Q_f A_f / (F V_voxel)``.

Every cycle is resolved (no cycle jumping): the voxel model is for small volumes and
few cycles, where the film profile through the thickness (Zhang et al. 2023: thicker
CEI near the separator) is the question.  Lithium is conserved exactly: the lithium
in the active material plus the lithium bound in the film equals the initial lithium
plus what the lithium foil exchanged, to round-off (``lithium_balance_error``).
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence

import numpy as np
import xarray as xr

from electrohet.aging.mechanisms import CEIGrowth
from electrohet.engine import run_step
from electrohet.errors import ElectrohetError, ParameterError
from electrohet.materials.base import F
from electrohet.progress import progress_bar
from electrohet.protocols.experiment import Experiment
from electrohet.protocols.steps import Step
from electrohet.voxel.simulation import Simulation, VoxelRunLog


class _SideCharge:
    """Trapezoidal integral of the CEI current of every face over the records of a
    cycle (called by the run log at every record)."""

    def __init__(self, sim: Simulation, cei: CEIGrowth, thickness: np.ndarray) -> None:
        self.sim = sim
        self.cei = cei
        self.thickness = thickness
        self.q = np.zeros(sim.grid.r_faces.n)
        self.prev: tuple[float, np.ndarray] | None = None

    def __call__(self, t: float, y: np.ndarray) -> None:
        e_s = self.sim.model.surface_potential(y)
        i = self.cei.current(e_s[:, None], self.thickness, self.sim.temperature)[:, 0]
        if self.prev is not None:
            t0, i0 = self.prev
            self.q += 0.5 * (i + i0) * max(t - t0, 0.0)
        self.prev = (t, i)


def age_voxel(
    sim: Simulation,
    cycle: Sequence[str | Step] | str,
    n_cycles: int,
    cei: CEIGrowth | None = None,
    initial_state: np.ndarray | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Cycle a voxel half cell ``n_cycles`` times with CEI growth between cycles.

    Parameters
    ----------
    sim
        The built voxel simulation (its film resistances are changed in place).
    cycle
        The steps of one cycle, e.g. ``["Discharge at C/2 until 3.0 V", "Charge at C/2
        until 4.3 V"]``.  A step whose cut-off is met at once is skipped (an aged cell
        may start below a cut-off).
    n_cycles
        Number of cycles (>= 1).
    cei
        The CEI law (default :class:`~electrohet.aging.mechanisms.CEIGrowth` with its
        documented defaults); ``CEIGrowth(enabled=False)`` cycles without aging.
    initial_state
        Start state (default: ``sim.initial_state()``).
    progress
        Show a progress bar over the cycles.

    Returns
    -------
    xarray.Dataset
        Per ``cycle``: ``discharge_capacity`` and ``charge_capacity`` [Ah/m^2],
        ``film_thickness_mean`` and ``film_thickness_max`` [m] at the end of the cycle,
        ``film_thickness_z`` [m] (mean per voxel slab, collector first), ``side_charge``
        [C] of the cycle, ``lithium_am``, ``lithium_cei`` and ``lithium_exchanged``
        [mol] (cumulative), ``lithium_balance_error`` [-]; ``attrs["status"]`` and
        ``attrs["message"]`` say whether every cycle finished.

    Raises
    ------
    ParameterError
        ``n_cycles`` < 1 or an empty cycle.
    """
    if int(n_cycles) < 1:
        raise ParameterError(f"n_cycles = {n_cycles} must be >= 1")
    texts = [cycle] if isinstance(cycle, (str, Step)) else list(cycle)
    if not texts:
        raise ParameterError("the cycle has no steps")
    steps = [st for _, st in Experiment(texts).steps]
    cei = cei or CEIGrowth()
    g = sim.grid
    faces = g.r_faces
    n_faces = faces.n
    base_r = np.asarray(sim.model.r_film, dtype=float).copy()
    base_l = np.asarray(sim.film_thickness, dtype=float).copy()
    grown = np.zeros(n_faces)
    face_z = np.minimum((sim.reaction_face_z_fraction() * g.shape[0]).astype(int), g.shape[0] - 1)
    n_z = np.maximum(np.bincount(face_z, minlength=g.shape[0]), 1)
    y = sim.initial_state() if initial_state is None else initial_state.copy()
    li0 = sim.model.lithium(y)[0]
    li_cei = 0.0
    exchanged = 0.0
    t = 0.0
    rows: list[dict] = []
    status, message = "completed", ""
    bar = progress_bar(int(n_cycles), "cycles") if progress else None
    wall0 = _time.perf_counter()
    try:
        for c in range(1, int(n_cycles) + 1):
            side = _SideCharge(sim, cei, base_l + grown)  # film fixed within a cycle
            log = VoxelRunLog(observer=side)
            marks = []
            for idx, st in enumerate(steps):
                q0 = log.q_total
                t, y, _info = run_step(sim, st, t, y, idx, c, log, skip_satisfied=True)
                marks.append((st, log.q_total - q0))
            dq = np.array([d for _, d in marks])
            dis = np.array([st.kind == "current" and st.direction > 0 for st, _ in marks])
            exchanged += log.q_total * g.area / F
            # film growth and the lithium it binds, face by face
            dl = cei.thickness_rate(side.q)
            grown += dl
            mol = side.q * faces.area / F
            dc = np.bincount(faces.p, weights=mol, minlength=g.n_am) / g.voxel_volume
            sl = sim.model.slices["cs"]
            cs = y[sl] - dc
            if np.any(cs < 0):
                raise ElectrohetError(
                    f"cycle {c}: CEI growth consumed all lithium of an active-material voxel"
                )
            y = y.copy()
            y[sl] = cs
            li_cei += float(np.sum(mol))
            sim.set_film_resistance(base_r + grown / cei.conductivity)
            li_am = sim.model.lithium(y)[0]
            thick = base_l + grown
            rows.append(
                {
                    "discharge_capacity": float(np.sum(np.maximum(dq[dis], 0.0))) / 3600.0,
                    "charge_capacity": float(np.sum(np.maximum(-dq[~dis], 0.0))) / 3600.0,
                    "film_thickness_mean": float(np.average(thick, weights=faces.area)),
                    "film_thickness_max": float(np.max(thick)),
                    "film_thickness_z": np.bincount(face_z, weights=thick, minlength=g.shape[0])
                    / n_z,
                    "side_charge": float(np.sum(side.q * faces.area)),
                    "lithium_am": li_am,
                    "lithium_cei": li_cei,
                    "lithium_exchanged": exchanged,
                    "lithium_balance_error": abs(li_am + li_cei - li0 - exchanged) / li0,
                }
            )
            if bar is not None:
                bar.update(1)
    except (ElectrohetError, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt) and sim.interrupt_handler is None:
            raise
        status = "failed"
        message = f"cycle {len(rows) + 1}: {exc}"
    finally:
        if bar is not None:
            bar.close()
    return _dataset(sim, rows, status, message, texts, _time.perf_counter() - wall0)


def _dataset(
    sim: Simulation, rows: list[dict], status: str, message: str, texts: list, wall: float
) -> xr.Dataset:
    g = sim.grid
    n = len(rows)
    z = (np.arange(g.shape[0]) + 0.5) * g.h[0]

    def col(key: str) -> np.ndarray:
        return np.array([r[key] for r in rows], dtype=float)

    units = {
        "discharge_capacity": ("Ah/m^2", "capacity delivered by the discharge steps"),
        "charge_capacity": ("Ah/m^2", "capacity taken by the charge steps"),
        "film_thickness_mean": ("m", "face-area mean CEI thickness"),
        "film_thickness_max": ("m", "largest CEI thickness"),
        "side_charge": ("C", "CEI side-reaction charge of the cycle"),
        "lithium_am": ("mol", "lithium in the active material"),
        "lithium_cei": ("mol", "lithium bound in the CEI (cumulative)"),
        "lithium_exchanged": ("mol", "lithium taken from the foil (cumulative)"),
        "lithium_balance_error": ("1", "|Li_AM + Li_CEI - Li_0 - exchanged| / Li_0"),
    }
    data: dict[str, tuple] = {
        k: ("cycle", col(k), {"units": u, "long_name": d}) for k, (u, d) in units.items()
    }
    film_z = np.array([r["film_thickness_z"] for r in rows]).reshape(n, g.shape[0])
    data["film_thickness_z"] = (
        ("cycle", "z"),
        film_z,
        {"units": "m", "long_name": "mean CEI thickness of the faces in each voxel slab"},
    )
    return xr.Dataset(
        data,
        coords={
            "cycle": ("cycle", np.arange(1, n + 1)),
            "z": ("z", z, {"units": "m", "long_name": "distance from the collector"}),
        },
        attrs={
            "model": "electrohet.aging.voxel (CEI growth per reaction face)",
            "status": status,
            "message": message,
            "cycle_steps": " | ".join(str(s) for s in texts),
            "material": sim.material.name,
            "shape": list(g.shape),
            "wall_time_s": wall,
        },
    )
