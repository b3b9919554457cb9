"""Aging: retention per cycle, loss rates with confidence intervals, residual capacity.

Following Yari 2020 (bilayer), aging is summarised by

* the capacity/energy retention per cycle (fraction of the initial value),
* the irreversible loss rate per cycle and per charge throughput, from a linear
  regression of capacity on cycle number (or on cumulative charge, Ah) with a
  Student-t confidence interval,
* the residual capacity measured by intermittent slow titrations (e.g. a C/10
  cycle every 50 cycles), whose loss is not masked by polarisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from electrohet.errors import DataError, ParameterError

__all__ = [
    "LossRate",
    "cycle_table",
    "retention",
    "fit_loss_rate",
    "residual_capacity",
]


def cycle_table(steps: pd.DataFrame) -> pd.DataFrame:
    """Per-cycle summary of a step table (:func:`electrohet.analysis.cycler.step_table`).

    Returns
    -------
    pandas.DataFrame
        One row per cycle with a discharge: ``cycle_id``, ``discharge_capacity``
        (Ah), ``discharge_energy`` (Wh), ``charge_capacity`` (Ah),
        ``coulombic_efficiency`` (discharge/charge; NaN without a charge),
        ``discharge_current`` (A, median |I| of the longest discharge step) and
        ``throughput`` (Ah, cumulative charge capacity up to and including the
        cycle). ``attrs["excluded"]`` counts cycles without a discharge step.
    """
    src = str(steps.attrs.get("source", "steps"))
    for c in ("cycle_id", "kind", "capacity", "energy", "duration", "current_abs_median"):
        if c not in steps.columns:
            raise DataError(f"{src}: step table lacks column {c!r}")
    g = steps.groupby("cycle_id", sort=True)
    rows = []
    for cyc, s in g:
        d = s[s["kind"] == "discharge"]
        c = s[s["kind"] == "charge"]
        qd = float(d["capacity"].sum())
        qc = float(c["capacity"].sum())
        cur = float(d.loc[d["duration"].idxmax(), "current_abs_median"]) if len(d) else np.nan
        rows.append((cyc, qd, float(d["energy"].sum()), qc, cur, len(d) > 0))
    tab = pd.DataFrame(
        rows,
        columns=[
            "cycle_id",
            "discharge_capacity",
            "discharge_energy",
            "charge_capacity",
            "discharge_current",
            "has_discharge",
        ],
    )
    tab["throughput"] = tab["charge_capacity"].cumsum()
    with np.errstate(divide="ignore", invalid="ignore"):
        tab["coulombic_efficiency"] = np.where(
            tab["charge_capacity"] > 0, tab["discharge_capacity"] / tab["charge_capacity"], np.nan
        )
    n_no = int((~tab["has_discharge"]).sum())
    tab = tab[tab["has_discharge"]].drop(columns="has_discharge").reset_index(drop=True)
    tab.attrs["source"] = src
    tab.attrs["excluded"] = {"cycles without a discharge step": n_no} if n_no else {}
    return tab


def retention(values: Sequence[float] | np.ndarray, reference: float | None = None) -> np.ndarray:
    """Retention ``values / reference`` (default reference: the first value)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise DataError("retention: no values")
    ref = float(v[0]) if reference is None else float(reference)
    if not (math.isfinite(ref) and ref > 0):
        raise DataError(f"retention: reference value {ref!r} must be finite and > 0")
    return v / ref


@dataclass(frozen=True)
class LossRate:
    """Linear loss rate from :func:`fit_loss_rate`.

    ``y = initial - rate * x``: ``rate > 0`` is a loss.

    Attributes
    ----------
    rate, rate_se, rate_ci
        Loss per unit ``x`` (e.g. Ah per cycle or Ah per Ah throughput), its
        standard error and Student-t confidence interval (``n - 2`` dof).
    initial, initial_se
        Fitted value at ``x = 0``.
    relative_rate, relative_rate_se, relative_rate_ci
        ``rate / initial`` (fraction of the initial value lost per unit ``x``;
        multiply by 100 for % per cycle) with a delta-method standard error that
        includes the slope-intercept covariance, and its t-interval.
    n, dof, residuals, confidence
        Points used, residual degrees of freedom, residuals, interval level.
    """

    rate: float
    rate_se: float
    rate_ci: tuple[float, float]
    initial: float
    initial_se: float
    relative_rate: float
    relative_rate_se: float
    relative_rate_ci: tuple[float, float]
    n: int
    dof: int
    residuals: np.ndarray = field(repr=False)
    confidence: float = 0.95


def fit_loss_rate(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    source: str = "aging data",
) -> LossRate:
    """Least-squares loss rate of ``y`` (capacity, Ah, or energy, Wh) against ``x``.

    Parameters
    ----------
    x
        Cycle number or cumulative charge throughput (Ah).
    y
        Capacity or energy per cycle.
    confidence
        Level of the intervals.
    source
        Name used in messages.

    Raises
    ------
    DataError
        Mismatched lengths, non-finite values, fewer than 3 distinct ``x``.
    """
    xv = np.asarray(x, dtype=float).ravel()
    yv = np.asarray(y, dtype=float).ravel()
    if xv.shape != yv.shape:
        raise DataError(f"{source}: x and y differ in length ({xv.size} vs {yv.size})")
    if not (0 < confidence < 1):
        raise ParameterError(f"confidence = {confidence!r} is outside the allowed range (0, 1)")
    bad = ~(np.isfinite(xv) & np.isfinite(yv))
    if bad.any():
        raise DataError(f"{source}: {int(bad.sum())} non-finite entries in the aging data")
    if np.unique(xv).size < 3:
        raise DataError(
            f"{source}: a loss-rate fit needs at least 3 distinct cycles/throughputs, got "
            f"{np.unique(xv).size}"
        )
    n = xv.size
    dof = n - 2
    xm = xv.mean()
    sxx = float(np.sum((xv - xm) ** 2))
    slope = float(np.sum((xv - xm) * (yv - yv.mean())) / sxx)
    b0 = float(yv.mean() - slope * xm)
    resid = yv - (b0 + slope * xv)
    s2 = float(np.sum(resid**2) / dof)
    var_s = s2 / sxx
    var_b = s2 * (1.0 / n + xm**2 / sxx)
    cov_bs = -s2 * xm / sxx
    tq = float(stats.t.ppf(0.5 + confidence / 2, dof))
    rate = -slope
    rate_se = math.sqrt(var_s)
    rel = rate / b0
    # d(rel)/d(slope) = -1/b0 ; d(rel)/d(b0) = slope / b0^2
    g_s, g_b = -1.0 / b0, slope / b0**2
    rel_se = math.sqrt(max(g_s**2 * var_s + g_b**2 * var_b + 2 * g_s * g_b * cov_bs, 0.0))
    return LossRate(
        rate=rate,
        rate_se=rate_se,
        rate_ci=(rate - tq * rate_se, rate + tq * rate_se),
        initial=b0,
        initial_se=math.sqrt(var_b),
        relative_rate=rel,
        relative_rate_se=rel_se,
        relative_rate_ci=(rel - tq * rel_se, rel + tq * rel_se),
        n=n,
        dof=dof,
        residuals=resid,
        confidence=confidence,
    )


def residual_capacity(
    cycles: pd.DataFrame,
    *,
    slow_current: float,
    rel_tol: float = 0.2,
    value: str = "discharge_capacity",
) -> pd.DataFrame:
    """Capacity of the intermittent slow titration cycles and their loss.

    Parameters
    ----------
    cycles
        Output of :func:`cycle_table`.
    slow_current
        Discharge current of the titration cycles (A), e.g. C/10 of the cell.
    rel_tol
        A cycle is a titration when its discharge current is within this relative
        distance of ``slow_current`` (default 20 %).
    value
        Column to use (``discharge_capacity`` or ``discharge_energy``).

    Returns
    -------
    pandas.DataFrame
        ``cycle_id``, ``value``, ``retention`` (fraction of the first titration)
        and ``loss_pct`` (100 (1 - retention)) for each titration cycle.

    Raises
    ------
    DataError
        When no titration cycle is found.
    """
    src = str(cycles.attrs.get("source", "cycles"))
    if not (slow_current > 0):
        raise ParameterError(f"slow_current = {slow_current!r} must be > 0 (A)")
    cur = cycles["discharge_current"].to_numpy(dtype=float)
    sel = np.abs(cur - slow_current) <= rel_tol * slow_current
    if not sel.any():
        raise DataError(
            f"{src}: no titration cycle with discharge current near {slow_current:g} A "
            f"(currents found: {sorted({float(f'{c:.3g}') for c in cur})})"
        )
    t = cycles.loc[sel, ["cycle_id", value]].rename(columns={value: "value"})
    t = t.reset_index(drop=True)
    t["retention"] = retention(t["value"].to_numpy())
    t["loss_pct"] = 100.0 * (1.0 - t["retention"])
    return t
