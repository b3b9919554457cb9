"""Ensemble outputs: per-particle-class onsets, SOC histograms and trapped lithium.

Every (x, class) pair of a run is one *slot* - a population of identical particles at
one place.  The helpers here treat the slots as the particles of an operando
experiment (Sharma 2022) or of a single-particle assay (Kroeger): onset of each slot
(SOC or time at which its lithium fraction has made 50 % of its own change during a
step, docs/physics.md §4.6), spread of onsets (volume-weighted inter-quartile
range), volume-weighted particle-SOC histograms, the share of particles outside a
mean +- 2 sigma frame, and the lithium trapped in isolated particles.

Call :func:`annotate` once with the :class:`~electrohet.model.simulation.Simulation`
that produced a Dataset to add the per-slot properties these helpers need (isolated
flag, film resistance, contact path, active volume fraction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from electrohet.errors import ParameterError
from electrohet.materials.base import F

if TYPE_CHECKING:  # pragma: no cover
    from electrohet.model.simulation import Simulation


def annotate(ds: xr.Dataset, sim: Simulation) -> xr.Dataset:
    """Add per-slot ensemble properties of ``sim`` to its results ``ds`` (a new Dataset).

    Adds ``class_isolated``, ``class_film_resistance`` [Ohm m^2], ``class_contact_path``
    [m] on (x, particle_class), and ``active_fraction`` and ``c_max`` [mol/m^3] on x
    (NaN in the separator).
    """
    m = sim.mesh
    n, k = m.n_cells, m.n_classes_max
    iso = np.zeros((n, k), dtype=bool)
    rf = np.full((n, k), np.nan)
    path = np.full((n, k), np.nan)
    iso[m.slot_cell, m.slot_class] = m.slot_isolated
    rf[m.slot_cell, m.slot_class] = m.slot_rf
    path[m.slot_cell, m.slot_class] = m.slot_path
    eps_s = np.full(n, np.nan)
    cmax = np.full(n, np.nan)
    for ci in m.elec_cells:
        lay = m.layers[m.layer_of_cell[ci]]
        eps_s[ci] = lay.active_fraction
        cmax[ci] = lay.material.c_max
    out = ds.copy()
    out["class_isolated"] = (("x", "particle_class"), iso)
    out["class_film_resistance"] = (("x", "particle_class"), rf, {"units": "Ohm m^2"})
    out["class_contact_path"] = (("x", "particle_class"), path, {"units": "m"})
    out["active_fraction"] = ("x", eps_s)
    out["c_max"] = ("x", cmax, {"units": "mol/m^3"})
    return out


def _require(ds: xr.Dataset, name: str) -> None:
    if name not in ds:
        raise ParameterError(
            f"dataset has no {name!r}: call "
            "electrohet.model.ensemble_outputs.annotate(ds, sim) first"
        )


def slot_volume(ds: xr.Dataset, region: str = "positive") -> xr.DataArray:
    """Active-material volume per electrode area of every slot [m], on (x, particle_class).

    dx * eps_s * w_k; without :func:`annotate` the active fraction is taken as uniform.
    """
    eps = ds["active_fraction"] if "active_fraction" in ds else xr.ones_like(ds["dx"])
    vol = ds["class_weight"] * ds["dx"] * eps
    return vol.where(ds["region"] == region)


def time_index(ds: xr.Dataset, time: float | None) -> int:
    """Position of the recorded state nearest ``time`` [s] (the last one if ``None``).

    Step boundaries are recorded twice, so ``time`` is not a unique index; ties go to
    the later record.
    """
    t = ds["time"].values
    if time is None:
        return t.size - 1
    d = np.abs(t - time)
    return int(np.flatnonzero(d == d.min())[-1])


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cw = np.cumsum(w) - 0.5 * w
    cw /= w.sum()
    return np.interp(q, cw, v)


def step_window(ds: xr.Dataset, step: int) -> tuple[float, float]:
    """Start and end time [s] of experiment step ``step`` (index in the experiment)."""
    sel = np.flatnonzero(ds["step"].values == step)
    if sel.size == 0:
        steps = np.unique(ds["step"].values).tolist()
        raise ParameterError(f"step = {step} is not in this run (steps {steps})")
    i0 = max(sel[0] - 1, 0)
    return float(ds["time"].values[i0]), float(ds["time"].values[sel[-1]])


def _step_slice(ds: xr.Dataset, step: int) -> slice:
    sel = np.flatnonzero(ds["step"].values == step)
    return slice(max(sel[0] - 1, 0), sel[-1] + 1)


def class_onsets(
    ds: xr.Dataset,
    step: int,
    region: str = "positive",
    fraction: float = 0.5,
    include_isolated: bool = False,
    saturation: float | None = None,
) -> xr.Dataset:
    """Onset of every slot during experiment step ``step``.

    The onset is where a slot's mean lithium fraction has made ``fraction`` (50 %) of
    its own change over the step (Sharma 2022's per-particle criterion), reported as
    time [s] from the step start and as step SOC = charge passed / charge of the whole
    step [-].  Slots that change by less than 1e-4 have no onset (NaN).

    Returns a Dataset on dim ``slot`` with ``x``, ``particle_class``, ``volume`` [m],
    ``change`` [-], ``onset_time`` [s] and ``onset_soc`` [-].
    """
    if not 0 < fraction < 1:
        raise ParameterError(f"fraction = {fraction} must lie in (0, 1)")
    t0, t1 = step_window(ds, step)
    win = ds.isel(time=_step_slice(ds, step))
    t = win["time"].values - t0
    q = win["capacity"].values
    q = np.abs(q - q[0])
    soc = q / q[-1] if q[-1] > 0 else np.zeros_like(q)
    th = win["theta_mean"].values  # (T, X, K)
    vol = slot_volume(ds, region).values
    mask = np.isfinite(vol) & (vol > 0)
    if not include_isolated and "class_isolated" in ds:
        mask &= ~ds["class_isolated"].values
    xi, ki = np.nonzero(mask)
    traj = th[:, xi, ki]  # (T, S)
    if saturation is not None:
        if not 0 < saturation <= 1:
            raise ParameterError(f"saturation = {saturation} must lie in (0, 1]")
        traj = np.minimum(np.abs(traj - traj[0]) / saturation, 1.0)
    change = traj[-1] - traj[0]
    target = traj[0] + fraction * change
    prog = (traj - target) * np.sign(change)  # crosses zero upwards
    onset_t = np.full(xi.size, np.nan)
    onset_s = np.full(xi.size, np.nan)
    for s in range(xi.size):
        if abs(change[s]) < 1e-4:
            continue
        above = np.flatnonzero(prog[:, s] >= 0)
        j = int(above[0])
        if j == 0:
            onset_t[s], onset_s[s] = t[0], soc[0]
            continue
        a, b = prog[j - 1, s], prog[j, s]
        f = -a / (b - a) if b != a else 1.0
        onset_t[s] = t[j - 1] + f * (t[j] - t[j - 1])
        onset_s[s] = soc[j - 1] + f * (soc[j] - soc[j - 1])
    return xr.Dataset(
        {
            "x": ("slot", ds["x"].values[xi], {"units": "m"}),
            "particle_class": ("slot", ki),
            "volume": ("slot", vol[xi, ki], {"units": "m"}),
            "change": ("slot", change),
            "onset_time": ("slot", onset_t, {"units": "s"}),
            "onset_soc": ("slot", onset_s, {"long_name": "step SOC at the onset"}),
        },
        attrs={"step": step, "t_start": t0, "t_end": t1, "fraction": fraction},
    )


def onset_spread(onsets: xr.Dataset, variable: str = "onset_soc") -> float:
    """Volume-weighted inter-quartile range of the onsets (asynchrony, docs/physics.md §4.6)."""
    v = onsets[variable].values
    w = onsets["volume"].values
    ok = np.isfinite(v) & (w > 0)
    if ok.sum() < 2:
        return 0.0
    q25, q75 = _weighted_quantile(v[ok], w[ok], np.array([0.25, 0.75]))
    return float(q75 - q25)


def step_likeness(ds: xr.Dataset, step: int, region: str = "positive") -> xr.DataArray:
    """Max slope / mean slope of each slot's lithium fraction during ``step`` [-]."""
    t0, t1 = step_window(ds, step)
    win = ds["theta_mean"].isel(time=_step_slice(ds, step)).where(ds["region"] == region)
    dt = np.maximum(np.diff(win["time"].values), 1e-12)
    slope = np.abs(np.diff(win.values, axis=0)) / dt[:, None, None]
    mean = np.abs(win.values[-1] - win.values[0]) / (t1 - t0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.nanmax(slope, axis=0) / mean
    return xr.DataArray(ratio, dims=("x", "particle_class"))


def soc_histogram(
    ds: xr.Dataset,
    time: float,
    bins: int | np.ndarray = 40,
    region: str = "positive",
    value_range: tuple[float, float] = (0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Volume-weighted histogram of particle lithium fraction at ``time`` [s].

    Like :func:`electrohet.model.results.particle_soc_distribution` but weighted by the
    true active volume (dx eps_s w_k, after :func:`annotate`) and over a fixed range.
    Returns (volume fraction per bin [-], bin edges [-]); the fractions sum to 1.
    """
    snap = ds["theta_mean"].isel(time=time_index(ds, time)).values
    vol = slot_volume(ds, region).values
    ok = np.isfinite(snap) & np.isfinite(vol)
    hist, edges = np.histogram(snap[ok], bins=bins, range=value_range, weights=vol[ok])
    return hist / vol[ok].sum(), edges


def diverging_fraction(
    ds: xr.Dataset,
    time: float,
    n_sigma: float = 2.0,
    frame_sd: float | None = None,
    region: str = "positive",
) -> dict[str, float]:
    """Volume share of particles outside the mean +- n_sigma frame of the connected ones.

    Kroeger's "diverging" particles: the frame is centred on the volume-weighted mean
    lithium fraction of the connected (non-isolated) particles; its width is
    ``n_sigma`` x their standard deviation, or x ``frame_sd`` when given (the spread of
    a matrix-matched calibration standard, which includes measurement noise).

    Returns the frame mean and sd, the diverging share, and the isolated share.
    """
    _require(ds, "class_isolated")
    snap = ds["theta_mean"].isel(time=time_index(ds, time)).values
    vol = slot_volume(ds, region).values
    ok = np.isfinite(snap) & np.isfinite(vol)
    iso = ds["class_isolated"].values & ok
    act = ok & ~iso
    w = vol[act]
    mean = float(np.sum(w * snap[act]) / w.sum())
    sd = float(np.sqrt(np.sum(w * (snap[act] - mean) ** 2) / w.sum()))
    width = n_sigma * (sd if frame_sd is None else frame_sd)
    out = ok & (np.abs(snap - mean) > width)
    total = vol[ok].sum()
    return {
        "frame_mean": mean,
        "frame_sd": sd if frame_sd is None else float(frame_sd),
        "diverging_fraction": float(vol[out].sum() / total),
        "isolated_fraction": float(vol[iso].sum() / total),
        "isolated_outside_frame": float(vol[iso & out].sum() / max(vol[iso].sum(), 1e-300)),
    }


def trapped_lithium(
    ds: xr.Dataset, time: float | None = None, region: str = "positive"
) -> dict[str, float]:
    """Lithium held by isolated particles at ``time`` (default: the end) per electrode area.

    Returns moles [mol/m^2], charge [Ah/m^2], and the share of all lithium in ``region``.
    """
    _require(ds, "class_isolated")
    th = ds["theta_mean"].isel(time=time_index(ds, time)).values
    vol = slot_volume(ds, region).values
    cmax = ds["c_max"].values[:, None]
    li = th * cmax * vol
    ok = np.isfinite(li)
    iso = ds["class_isolated"].values & ok
    mol = float(li[iso].sum())
    return {
        "moles_per_area": mol,
        "charge_Ah_per_m2": mol * F / 3600.0,
        "share_of_lithium": mol / float(li[ok].sum()),
    }


def class_average(
    ds: xr.Dataset, variable: str = "theta_mean", region: str = "positive"
) -> xr.DataArray:
    """Volume-weighted average over x of ``variable`` for each particle class, on (time, class)."""
    vol = slot_volume(ds, region)
    num = (ds[variable] * vol).sum("x", skipna=True)
    return num / vol.sum("x", skipna=True)


def lithiation_profile(
    ds: xr.Dataset, time: float | None = None, region: str = "positive"
) -> xr.DataArray:
    """Volume-weighted mean lithium fraction over the classes at each x, at ``time``."""
    snap = ds["theta_mean"].isel(time=time_index(ds, time))
    vol = slot_volume(ds, region)
    prof = (snap * vol).sum("particle_class", skipna=True) / vol.sum("particle_class", skipna=True)
    return prof.where(ds["region"] == region, drop=True)


def half_lithiation(
    ds: xr.Dataset, time: float | None = None, region: str = "positive"
) -> dict[str, float]:
    """Mean lithium fraction of the half near the current collector and near the separator."""
    prof = lithiation_profile(ds, time, region)
    dx = ds["dx"].sel(x=prof["x"])
    x = prof["x"].values
    mid = 0.5 * (x.min() + x.max())
    # positive electrode: current collector at large x; negative: at small x
    cc_side = x > mid if region == "positive" else x < mid
    w = dx.values
    p = prof.values
    return {
        "current_collector_half": float(np.sum(p[cc_side] * w[cc_side]) / w[cc_side].sum()),
        "separator_half": float(np.sum(p[~cc_side] * w[~cc_side]) / w[~cc_side].sum()),
    }
