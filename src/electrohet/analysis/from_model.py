"""Turn model results into the inputs of the measurement analyses (like for like).

The P2D-E model returns an :class:`xarray.Dataset` with dims ``time`` (s), ``x``
(m, through the thickness) and ``particle_class``, and the variables

* ``voltage`` (time) - V,
* ``current`` (time) - A/m^2, > 0 on discharge,
* ``capacity`` (time) - Ah/m^2, cumulative discharge capacity,
* ``theta_mean`` (time, x, particle_class) - mean lithium fraction of each class,
* ``class_weight`` (x, particle_class) - volume weight of each class at each x.

The helpers here produce what an experiment would give: a rate table for the
Peukert fit, a sample of per-particle states for the single-particle analysis,
and noisy intensity traces for the operando optical analysis; and the *true*
per-layer utilisation, to set beside the one inferred with Yari's eqs. 7-8.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from electrohet.errors import DataError

__all__ = [
    "rate_table_from_results",
    "particle_sample_from_result",
    "synthetic_traces_from_result",
    "layer_delta_theta_from_result",
]

_REQUIRED = {
    "rate": ("time", "voltage", "current", "capacity"),
    "particles": ("time", "x", "particle_class", "theta_mean", "class_weight"),
}


def _check(ds: xr.Dataset, what: str, label: str) -> None:
    if not isinstance(ds, xr.Dataset):
        raise DataError(f"{label}: expected an xarray.Dataset, got {type(ds).__name__}")
    missing = [v for v in _REQUIRED[what] if v not in ds.variables]
    if missing:
        raise DataError(f"{label}: model result lacks {missing} (has {sorted(ds.variables)})")
    if "time" in ds.coords or "time" in ds.variables:
        t = np.asarray(ds["time"].values, dtype=float)
        if t.size > 1 and np.any(np.diff(t) <= 0):
            raise DataError(f"{label}: model time is not strictly increasing")


def _trapz(y: np.ndarray, t: np.ndarray) -> float:
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(t)))


def rate_table_from_results(
    results: Sequence[xr.Dataset | tuple[float, float]],
    *,
    rates: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Rate table, one row per model run, for a Peukert fit (``fit_peukert``).

    Parameters
    ----------
    results
        Model Datasets (one discharge each), or ``(rate, capacity)`` pairs.
    rates
        The C-rate of each result, when the Datasets do not carry it in
        ``attrs["c_rate"]``; default: the mean discharge current (A/m^2) is used
        as the rate coordinate (Peukert's alpha and gamma do not depend on units).

    Returns
    -------
    pandas.DataFrame
        ``rate`` (C-rate or A/m^2), ``current`` (A/m^2, mean over discharge),
        ``capacity`` (Ah/m^2, total discharged), ``energy`` (Wh/m^2,
        ``int V I dt`` over discharge; NaN for pairs), ``source``. Fit with
        ``fit_peukert(t["rate"], t["energy"])``.

    Raises
    ------
    DataError
        A result with no discharge (current never > 0), missing variables,
        or ``rates`` of the wrong length.
    """
    if rates is not None and len(rates) != len(results):
        raise DataError(f"rates has {len(rates)} entries but there are {len(results)} results")
    rows = []
    for k, r in enumerate(results):
        label = f"model result {k}"
        if isinstance(r, tuple | list) and len(r) == 2 and not isinstance(r, xr.Dataset):
            rate, cap = float(r[0]), float(r[1])
            rows.append((rate, np.nan, cap, np.nan, label))
            continue
        _check(r, "rate", label)  # type: ignore[arg-type]
        ds: xr.Dataset = r  # type: ignore[assignment]
        t = np.asarray(ds["time"].values, dtype=float)
        i = np.asarray(ds["current"].values, dtype=float)
        v = np.asarray(ds["voltage"].values, dtype=float)
        dis = i > 0
        if not dis.any():
            raise DataError(f"{label}: the result has no discharge step (current never > 0)")
        ip = np.where(dis, i, 0.0)
        cur = _trapz(ip, t) / _trapz(dis.astype(float), t) if t.size > 1 else float(i[dis][0])
        energy = _trapz(ip * v, t) / 3600.0
        cap_var = np.asarray(ds["capacity"].values, dtype=float)
        cap = float(np.nanmax(cap_var) - cap_var[0])
        if rates is not None:
            rate = float(rates[k])
        elif "c_rate" in ds.attrs:
            rate = float(ds.attrs["c_rate"])
        else:
            rate = cur
        rows.append((rate, cur, cap, energy, str(ds.attrs.get("name", label))))
    out = pd.DataFrame(rows, columns=["rate", "current", "capacity", "energy", "source"])
    return out.sort_values("rate", kind="stable").reset_index(drop=True)


def _cell_widths(x: np.ndarray) -> np.ndarray:
    if x.size == 1:
        return np.ones(1)
    edges = np.concatenate([[x[0] - 0.5 * (x[1] - x[0])], 0.5 * (x[1:] + x[:-1])])
    edges = np.concatenate([edges, [x[-1] + 0.5 * (x[-1] - x[-2])]])
    return np.diff(edges)


def particle_sample_from_result(
    ds: xr.Dataset,
    time: float,
    n: int,
    rng: np.random.Generator | int | None = None,
    *,
    within_class_sd: float = 0.0,
    volume_weighted_x: bool = True,
) -> pd.DataFrame:
    """Draw ``n`` per-particle lithium fractions at ``time``, as a measurement would.

    A particle is drawn from cell ``(x, class)`` with probability proportional to
    ``class_weight * dx`` (``dx`` the cell width from the ``x`` coordinate; set
    ``volume_weighted_x=False`` for a plain ``class_weight``), and takes that
    class's ``theta_mean`` at the frame nearest to ``time`` (interpolated linearly
    between frames), plus optional particle-to-particle scatter
    ``within_class_sd`` (clipped to [0, 1]). Cells where ``class_weight`` or
    ``theta_mean`` is NaN (the separator and, in a full cell, the other electrode)
    hold no particles of this electrode and are never drawn.

    Returns
    -------
    pandas.DataFrame
        ``x`` (m), ``particle_class``, ``theta`` (= degree of lithiation, DOL) for
        each sampled particle.
    """
    label = "model result"
    _check(ds, "particles", label)
    if n <= 0:
        raise DataError(f"{label}: n = {n} particles must be > 0")
    t = np.asarray(ds["time"].values, dtype=float)
    if not (t[0] <= time <= t[-1]):
        raise DataError(f"{label}: time {time:g} s is outside the result ({t[0]:g}-{t[-1]:g} s)")
    th = ds["theta_mean"].interp(time=time).transpose("x", "particle_class").values
    w = ds["class_weight"].transpose("x", "particle_class").values.astype(float)
    # cells without particles (the separator, NaN in the model output) are not sampled
    w = np.where(np.isfinite(w) & np.isfinite(th), w, 0.0)
    if volume_weighted_x:
        w = w * _cell_widths(np.asarray(ds["x"].values, dtype=float))[:, None]
    if np.any(w < 0) or w.sum() <= 0:
        raise DataError(
            f"{label}: class_weight must be >= 0 and positive somewhere (NaN cells, e.g. "
            f"the separator, count as empty)"
        )
    gen = np.random.default_rng(rng)
    flat = gen.choice(w.size, size=n, p=(w / w.sum()).ravel())
    ix, ic = np.unravel_index(flat, w.shape)
    theta = th[ix, ic]
    if within_class_sd > 0:
        theta = np.clip(theta + gen.normal(0, within_class_sd, n), 0.0, 1.0)
    return pd.DataFrame(
        {
            "x": np.asarray(ds["x"].values)[ix],
            "particle_class": np.asarray(ds["particle_class"].values)[ic],
            "theta": theta,
        }
    )


def synthetic_traces_from_result(
    ds: xr.Dataset,
    noise: float,
    rng: np.random.Generator | int | None = None,
    *,
    base: float = 0.0,
    amplitude: float = 1.0,
) -> xr.DataArray:
    """Optical intensity traces of every ``(x, class)`` cell of a model result.

    NMC reflectance rises on delithiation (Sharma 2022), so the intensity is
    ``base + amplitude * (1 - theta_mean) + noise * N(0, 1)`` per frame.

    Returns
    -------
    xarray.DataArray
        Dims ``(time, particle)``; coords ``x``, ``particle_class`` and ``weight``
        (class_weight) per particle. Feed to
        :func:`~electrohet.analysis.optical.analyze_traces` with ``x=time`` or
        ``x=capacity``.
    """
    _check(ds, "particles", "model result")
    if noise < 0:
        raise DataError(f"model result: noise = {noise!r} must be >= 0")
    th = ds["theta_mean"].transpose("time", "x", "particle_class")
    nt, nx, nc = th.shape
    vals = base + amplitude * (1.0 - th.values.reshape(nt, nx * nc))
    if noise > 0:
        vals = vals + np.random.default_rng(rng).normal(0.0, noise, vals.shape)
    xx, cc = np.meshgrid(ds["x"].values, ds["particle_class"].values, indexing="ij")
    w = ds["class_weight"].transpose("x", "particle_class").values
    return xr.DataArray(
        vals,
        dims=("time", "particle"),
        coords={
            "time": ds["time"].values,
            "particle": np.arange(nx * nc),
            "x": ("particle", xx.ravel()),
            "particle_class": ("particle", cc.ravel()),
            "weight": ("particle", w.ravel()),
        },
        name="intensity",
        attrs={"units": "arb.", "noise": noise},
    )


def layer_delta_theta_from_result(
    ds: xr.Dataset, x_split: float, *, t0: float | None = None, t1: float | None = None
) -> tuple[float, float]:
    """True mean change of lithium fraction in the bottom (x < x_split) and top layer.

    Weighted by ``class_weight * dx``; between ``t0`` and ``t1`` (default: first
    and last frame). The ratio of the two is the model's true utilisation
    disparity, to compare with Yari's inferred ``u2``/``psi``.
    """
    _check(ds, "particles", "model result")
    t = ds["time"].values
    a = ds["theta_mean"].interp(time=t[0] if t0 is None else t0)
    b = ds["theta_mean"].interp(time=t[-1] if t1 is None else t1)
    d = (b - a).transpose("x", "particle_class").values
    x = np.asarray(ds["x"].values, dtype=float)
    w = ds["class_weight"].transpose("x", "particle_class").values * _cell_widths(x)[:, None]
    bottom = x < x_split
    if bottom.all() or not bottom.any():
        raise DataError(f"model result: x_split = {x_split:g} m does not split the x grid")
    out = []
    for m in (bottom, ~bottom):
        out.append(float(np.sum(d[m] * w[m]) / np.sum(w[m])))
    return out[0], out[1]
