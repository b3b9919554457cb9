"""Per-cycle summary, dQ/dV and dV/dQ, DCIR from current pulses.

* :func:`cycle_summary` - one row per cycle: charge/discharge capacity (Ah) and
  energy (Wh), coulombic and energy efficiency, mean charge/discharge voltage
  (energy / capacity), and the file's own values where it has cumulative columns.
  Vectorised over the step table (1 M rows in well under 5 s).
* :func:`incremental_capacity` - dQ/dV and dV/dQ of one charge or discharge step.
  **Smoothing** (documented, deterministic): the step's capacity Q(V) is resampled on
  a uniform voltage grid of spacing ``dv`` (default 5 mV) by linear interpolation
  of the monotone envelope (running max of Q against sorted V), differentiated by
  central differences, and smoothed with a Savitzky-Golay filter (``window``
  points, default 9, polynomial order 2; Savitzky & Golay 1964, Anal. Chem. 36,
  1627). dV/dQ is done the same way on a uniform capacity grid.
* :func:`dcir` - direct-current internal resistance of every current pulse:
  ``R = (V_before - V_at) / (I_at - I_before)`` with ``V_before``/``I_before`` the
  last row before the pulse and ``V_at`` the voltage ``at`` seconds (default 10 s,
  linearly interpolated) into the pulse; a pulse is a non-rest step shorter than
  ``max_duration`` (default 60 s) that follows another step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import savgol_filter

from electrohet.analysis.cycler import CyclerData, label_steps, step_table
from electrohet.errors import DataError, ParameterError

__all__ = ["cycle_summary", "incremental_capacity", "dcir"]


def cycle_summary(data: CyclerData | pd.DataFrame) -> pd.DataFrame:
    """Per-cycle summary table from :class:`CyclerData` or a :func:`step_table`.

    Returns
    -------
    pandas.DataFrame
        ``cycle_id``, ``charge_capacity``, ``discharge_capacity`` (Ah),
        ``charge_energy``, ``discharge_energy`` (Wh), ``coulombic_efficiency``
        (discharge/charge capacity of the same cycle), ``energy_efficiency``,
        ``mean_charge_voltage``, ``mean_discharge_voltage`` (V, energy/capacity),
        ``discharge_current`` (A, median |I| of the longest discharge step),
        ``duration`` (s), and ``*_file`` columns with the file's own capacity and
        energy where it has them. attrs ``source`` and ``issues``.
    """
    st = step_table(data) if isinstance(data, CyclerData) else data
    src = str(st.attrs.get("source", "steps"))
    if len(st) == 0:
        raise DataError(f"{src}: no steps")
    cyc = st["cycle_id"].to_numpy()
    ucyc, inv = np.unique(cyc, return_inverse=True)
    n = ucyc.size
    kind = st["kind"].to_numpy()
    out = pd.DataFrame({"cycle_id": ucyc})
    for k in ("charge", "discharge"):
        sel = kind == k
        for what in ("capacity", "energy"):
            out[f"{k}_{what}"] = np.bincount(
                inv[sel], weights=st[what].to_numpy()[sel], minlength=n
            )
            if f"{what}_file" in st:
                w = np.nan_to_num(st[f"{what}_file"].to_numpy()[sel])
                out[f"{k}_{what}_file"] = np.bincount(inv[sel], weights=w, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        qc, qd = out["charge_capacity"].to_numpy(), out["discharge_capacity"].to_numpy()
        ec, ed = out["charge_energy"].to_numpy(), out["discharge_energy"].to_numpy()
        out["coulombic_efficiency"] = np.where(qc > 0, qd / qc, np.nan)
        out["energy_efficiency"] = np.where(ec > 0, ed / ec, np.nan)
        out["mean_charge_voltage"] = np.where(qc > 0, ec / qc, np.nan)
        out["mean_discharge_voltage"] = np.where(qd > 0, ed / qd, np.nan)
    dis = np.flatnonzero(kind == "discharge")
    cur = np.full(n, np.nan)
    if dis.size:
        d = st.iloc[dis]
        longest = d.sort_values("duration", kind="stable").groupby("cycle_id").tail(1)
        pos = np.searchsorted(ucyc, longest["cycle_id"].to_numpy())
        cur[pos] = longest["current_abs_median"].to_numpy()
    out["discharge_current"] = cur
    out["duration"] = np.bincount(inv, weights=st["duration"].to_numpy(), minlength=n)
    out.attrs["source"] = src
    out.attrs["issues"] = list(st.attrs.get("issues", []))
    return out


def _uniform_derivative(x: np.ndarray, y: np.ndarray, h: float, window: int):
    grid = np.arange(x[0], x[-1] + 0.5 * h, h)
    if grid.size < window + 2:
        raise DataError(
            f"the step spans only {grid.size} grid points of {h:g}; need more than "
            f"window + 2 = {window + 2} (use a smaller spacing or window)"
        )
    yg = np.interp(grid, x, y)
    d = np.gradient(yg, h)
    return grid, savgol_filter(d, window, 2, mode="interp")


def incremental_capacity(
    cd: CyclerData,
    step_id: int,
    *,
    dv: float = 0.005,
    dq: float | None = None,
    window: int = 9,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """dQ/dV (Ah/V) and dV/dQ (V/Ah) of one step (see the module docstring).

    Parameters
    ----------
    cd
        The record.
    step_id
        Step (``step_table``'s ``step_id``) - a charge or discharge step.
    dv
        Voltage grid spacing for dQ/dV (V), default 5 mV.
    dq
        Capacity grid spacing for dV/dQ (Ah); default 1/200 of the step's capacity.
    window
        Savitzky-Golay window (odd, >= 5).

    Returns
    -------
    (dqdv, dvdq)
        DataFrames with ``voltage`` (V), ``dqdv`` (Ah/V) and ``capacity`` (Ah),
        ``dvdq`` (V/Ah).
    """
    if not (dv > 0):
        raise ParameterError(f"dv = {dv!r} must be > 0 (V)")
    if window < 5 or window % 2 == 0:
        raise ParameterError(f"window = {window!r} must be an odd integer >= 5")
    from electrohet.analysis.cycler import interval_weights

    df = label_steps(cd)
    sel = df["step_id"].to_numpy() == step_id
    if not sel.any():
        raise DataError(f"{cd.source}: no step {step_id}")
    kind = str(df["kind"].to_numpy()[sel][0])
    if kind == "rest":
        raise DataError(f"{cd.source}: step {step_id} is a rest step (no dQ/dV)")
    w, _ = interval_weights(cd, df["step_id"].to_numpy())
    q = np.cumsum(w[sel]) / 3600.0
    q -= q[0]
    v = df["voltage"].to_numpy()[sel]
    # monotone envelope: Q as a function of V (V rises on charge, falls on discharge)
    sgn = 1.0 if kind == "charge" else -1.0
    order = np.argsort(sgn * v, kind="stable")
    vs, qs = sgn * v[order], np.maximum.accumulate(q[order])
    vu, idx = np.unique(vs, return_index=True)
    qu = np.maximum.accumulate(qs)[np.r_[idx[1:] - 1, qs.size - 1]]
    vg, d1 = _uniform_derivative(vu, qu, dv, window)
    dqdv = pd.DataFrame({"voltage": sgn * vg, "dqdv": d1})
    hq = dq if dq is not None else max(q[-1] / 200.0, 1e-15)
    qm = np.maximum.accumulate(q)
    qu2, idx2 = np.unique(qm, return_index=True)
    qg, d2 = _uniform_derivative(qu2, v[idx2], hq, window)
    dvdq = pd.DataFrame({"capacity": qg, "dvdq": d2})
    return dqdv, dvdq


def dcir(
    cd: CyclerData, *, at: float = 10.0, max_duration: float = 60.0, min_delta_i: float = 0.0
) -> pd.DataFrame:
    """DC internal resistance (Ohm) of every current pulse (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        ``step_id``, ``cycle_id``, ``t_start`` (s), ``current_before``,
        ``current_pulse`` (A, discharge > 0), ``v_before``, ``v_at`` (V),
        ``resistance`` (Ohm), ``row_start``.
    """
    if not (at > 0 and max_duration > 0):
        raise ParameterError(f"at = {at!r} and max_duration = {max_duration!r} must be > 0 (s)")
    df = label_steps(cd)
    st = step_table(cd)
    t = df["time"].to_numpy()
    v = df["voltage"].to_numpy()
    i = df["current"].to_numpy()
    sid = df["step_id"].to_numpy()
    rows = []
    for s in st.itertuples():
        if s.kind == "rest" or s.duration > max_duration or s.step_id == 0 or s.duration < at:
            continue
        idx = np.flatnonzero(sid == s.step_id)
        k0 = idx[0]
        ib, vb = i[k0 - 1], v[k0 - 1]
        ip = float(np.median(i[idx]))
        if abs(ip - ib) <= max(min_delta_i, 1e-12):
            continue
        va = float(np.interp(t[k0] + at, t[idx], v[idx]))
        rows.append(
            (s.step_id, s.cycle_id, t[k0], ib, ip, vb, va, (vb - va) / (ip - ib), s.row_start)
        )
    return pd.DataFrame(
        rows,
        columns=["step_id", "cycle_id", "t_start", "current_before", "current_pulse",
                 "v_before", "v_at", "resistance", "row_start"],
    )  # fmt: skip
