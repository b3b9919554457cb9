"""Results of a voxel run: an ``xarray.Dataset`` of summaries, 3D fields to Zarr.

Dimensions: ``time``; ``z`` (voxel slabs through the thickness, collector first);
``particle`` (micro particle labels, when given).  Lithium fraction theta = c_s / c_max;
particle SOC = (theta_0 - theta) / (theta_0 - theta_100) (1 = charged, 0 = discharged,
the material's window).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from electrohet.engine.dataset import run_attrs
from electrohet.materials.base import F

if TYPE_CHECKING:  # pragma: no cover
    from electrohet.voxel.simulation import Simulation


def _particle_index(sim: Simulation):
    """(ids, AM-cell -> particle position or -1) for the simulation's particle labels."""
    if getattr(sim, "_pidx", None) is not None:
        return sim._pidx
    g = sim.grid
    am_flat = np.flatnonzero(g.phase.ravel() == 2)
    if sim.particle_labels is None:
        sim._pidx = (np.zeros(0, dtype=np.int64), np.full(g.n_am, -1))
        return sim._pidx
    lab = np.asarray(sim.particle_labels).ravel()[am_flat]
    ids = np.unique(lab[lab > 0])
    pos = np.searchsorted(ids, lab)
    pos = np.where((lab > 0) & (pos < ids.size), pos, -1)
    sim._pidx = (ids, pos)
    return sim._pidx


def summarise(sim: Simulation, y: np.ndarray) -> dict:
    """Small per-time summary of a full state."""
    m = sim.model
    g = sim.grid
    v = m.split(y)
    cmax = sim.material.c_max
    theta = v["cs"] / cmax
    nz = g.shape[0]
    n_am_z = np.bincount(g.am_z, minlength=nz)
    th_z = np.bincount(g.am_z, weights=theta, minlength=nz) / np.maximum(n_am_z, 1)
    ce_vox = v["ce"][: g.n_evox]
    w = g.e_porosity[: g.n_evox]
    ce_z = np.bincount(g.e_z, weights=ce_vox * w, minlength=nz) / np.maximum(
        np.bincount(g.e_z, weights=w, minlength=nz), 1e-300
    )
    pe_z = np.bincount(g.e_z, weights=v["phie"][: g.n_evox] * w, minlength=nz) / np.maximum(
        np.bincount(g.e_z, weights=w, minlength=nz), 1e-300
    )
    ids, pos = _particle_index(sim)
    if ids.size:
        ok = pos >= 0
        cnt = np.bincount(pos[ok], minlength=ids.size)
        th_p = np.bincount(pos[ok], weights=theta[ok], minlength=ids.size) / np.maximum(cnt, 1)
    else:
        th_p = np.zeros(0)
    li_s, salt = m.lithium(y)
    return {
        "V": float(v["V"][0]),
        "I": float(v["I"][0]),
        "li": li_s,
        "salt": salt,
        "theta_mean": float(np.mean(theta)),
        "theta_z": th_z,
        "ce_z": ce_z,
        "phie_z": pe_z,
        "theta_p": th_p,
        "ce_sep": float(v["ce"][g.sep_last]),
    }


def build_dataset(sim: Simulation, log, experiment, wall_time: float) -> xr.Dataset:
    """Assemble the recorded summaries of a run."""
    g = sim.grid
    mat = sim.material
    t = np.asarray(log.t, dtype=float)
    S = log.summary
    V = np.array([s["V"] for s in S])
    current = np.array([s["I"] for s in S])
    # the integrator's own quadrature of the current (BDF1/BDF2): exactly the charge the
    # solid took up
    Q = np.asarray(log.q, dtype=float) / 3600.0
    li = np.array([s["li"] for s in S])
    salt = np.array([s["salt"] for s in S])
    mass_am = g.n_am * g.voxel_volume * mat.crystal_density  # [kg] (X-ray density)
    nz = g.shape[0]
    z = (np.arange(nz) + 0.5) * g.h[0]
    ids, _ = _particle_index(sim)
    th_w = mat.theta_0 - mat.theta_100
    th_p = np.array([s["theta_p"] for s in S]).reshape(t.size, ids.size)
    ds = xr.Dataset(
        {
            "voltage": ("time", V, {"units": "V", "long_name": "collector potential vs Li"}),
            "current": (
                "time",
                current,
                {"units": "A/m^2", "long_name": "current density (> 0 discharge)"},
            ),
            "capacity": ("time", Q, {"units": "Ah/m^2", "long_name": "net discharged charge"}),
            "specific_capacity": (
                "time",
                Q * g.area / mass_am,  # Ah/kg = mAh/g
                {"units": "mAh/g", "long_name": "net discharged charge per AM mass"},
            ),
            "lithium_solid": ("time", li, {"units": "mol", "long_name": "Li in the AM"}),
            "salt": ("time", salt, {"units": "mol", "long_name": "salt in the electrolyte"}),
            "theta_mean": (
                "time",
                np.array([s["theta_mean"] for s in S]),
                {"units": "1", "long_name": "mean lithium fraction of the AM"},
            ),
            "step": ("time", np.asarray(log.step, dtype=int)),
            "interpolated": (
                "time",
                np.asarray(log.interpolated, dtype=bool),
                {"long_name": "record from the integrator's dense output (not a solver step)"},
            ),
            "cycle": ("time", np.asarray(log.cycle, dtype=int)),
            "theta_slab": (
                ("time", "z"),
                np.array([s["theta_z"] for s in S]).reshape(t.size, nz),
                {"units": "1", "long_name": "mean lithium fraction of the AM per slab"},
            ),
            "ce_slab": (
                ("time", "z"),
                np.array([s["ce_z"] for s in S]).reshape(t.size, nz),
                {"units": "mol/m^3", "long_name": "mean electrolyte concentration per slab"},
            ),
            "phie_slab": (
                ("time", "z"),
                np.array([s["phie_z"] for s in S]).reshape(t.size, nz),
                {"units": "V", "long_name": "mean electrolyte potential per slab"},
            ),
            "particle_theta": (
                ("time", "particle"),
                th_p,
                {"units": "1", "long_name": "mean lithium fraction per particle"},
            ),
            "particle_soc": (
                ("time", "particle"),
                (mat.theta_0 - th_p) / th_w,
                {"units": "1", "long_name": "mean SOC per particle (1 charged)"},
            ),
        },
        coords={
            "time": ("time", t, {"units": "s"}),
            "z": ("z", z, {"units": "m", "long_name": "distance from the collector"}),
            "particle": ("particle", ids.astype(int), {"long_name": "micro particle label"}),
        },
    )
    li0 = li[0] if li.size else np.nan
    ds.attrs.update(
        {
            "model": "electrohet.voxel half cell (voxel electrode | 1D separator | Li foil)",
            **run_attrs(log, experiment, wall_time, sim.solver.stats, sim.one_c, g.area),
            "material": mat.name,
            "electrolyte": sim.electrolyte.name,
            "shape": list(g.shape),
            "voxel_size_m": list(g.h),
            "am_mass_kg": mass_am,
            "unknowns": int(sim.model.n),
            "lithium_balance_error": float(np.max(np.abs(li - li0 - Q * 3600.0 * g.area / F)) / li0)
            if li.size
            else np.nan,
            "salt_balance_error": float(np.max(np.abs(salt - salt[0])) / salt[0])
            if salt.size
            else np.nan,
        }
    )
    return ds


def write_fields(sim: Simulation, log, path: str | Path) -> Path:
    """Write the full 3D fields kept at the requested times to a Zarr store.

    Variables (time, z, y, x): ``theta`` (AM lithium fraction, NaN elsewhere), ``c_e``
    (electrolyte, NaN in solid), ``phi_e``, ``phi_s``.
    """
    g = sim.grid
    m = sim.model
    items = sorted(log.fields.items())
    shape = g.shape
    nt = len(items)
    theta = np.full((nt, *shape), np.nan, dtype=np.float32)
    ce = np.full_like(theta, np.nan)
    pe = np.full_like(theta, np.nan)
    ps = np.full_like(theta, np.nan)
    am_flat = np.flatnonzero(g.phase.ravel() == 2)
    e_flat = np.flatnonzero(g.e_index.ravel() >= 0)
    s_flat = np.flatnonzero(g.s_index.ravel() >= 0)
    e_ord = g.e_index.ravel()[e_flat]
    s_ord = g.s_index.ravel()[s_flat]
    for k, (_, (_, y)) in enumerate(items):
        v = m.split(y)
        for arr, flat, vals in (
            (theta, am_flat, v["cs"] / sim.material.c_max),
            (ce, e_flat, v["ce"][e_ord]),
            (pe, e_flat, v["phie"][e_ord]),
            (ps, s_flat, v["phis"][s_ord]),
        ):
            arr[k].reshape(-1)[flat] = vals
    ds = xr.Dataset(
        {
            "theta": (("time", "z", "y", "x"), theta, {"units": "1"}),
            "c_e": (("time", "z", "y", "x"), ce, {"units": "mol/m^3"}),
            "phi_e": (("time", "z", "y", "x"), pe, {"units": "V"}),
            "phi_s": (("time", "z", "y", "x"), ps, {"units": "V"}),
            "phase": (("z", "y", "x"), g.phase, {"meaning": "0 pore/crack, 1 CBD, 2 AM"}),
        },
        coords={
            "time": ("time", np.array([tt for _, (tt, _) in items]), {"units": "s"}),
            "requested_time": ("time", np.array([ts for ts, _ in items]), {"units": "s"}),
        },
        attrs={"voxel_size_m": list(g.h)},
    )
    p = Path(path)
    ds.to_zarr(p, mode="w")
    return p
