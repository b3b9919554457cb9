"""Rate capability: Peukert-type fit, layer utilization and design comparison.

Implements the rate-capability analysis of Yari 2020 (bilayer):

* eq. 6, ``Y_j = beta * I_j**(-alpha)``, fitted by ordinary least squares in log
  space, with standard errors, and the rate-capability coefficient
  ``gamma = 2**(-alpha)`` (the factor by which ``Y`` drops per doubling of the
  current; the paper's text writes ``0.301**alpha``, which is a typo for
  ``0.5**alpha = 2**(-alpha)``, the definition used here and in docs/physics.md §4.1);
* eqs. 7-8, the inferred utilization ``u2`` of the top layer and the disparity
  ``psi`` from bilayer and standalone single-layer capacities (with ``u1 = 1``);
* a comparison of a design against a reference ("constructive" / "destructive" /
  "same") that is decided with the propagated uncertainty, not by eye.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from electrohet.errors import DataError, ParameterError

__all__ = [
    "PeukertFit",
    "LayerUtilization",
    "fit_peukert",
    "layer_utilization",
    "compare_designs",
    "compare_values",
    "rate_table",
    "fit_rate_table",
    "group_rates",
]

_LN2 = math.log(2.0)


@dataclass(frozen=True)
class PeukertFit:
    """Result of :func:`fit_peukert` (Yari 2020 eq. 6, ``Y = beta I^-alpha``).

    Attributes
    ----------
    alpha, alpha_se
        Peukert exponent (dimensionless) and its standard error.
    beta, beta_se
        Prefactor, in the units of ``value`` at unit ``current`` (e.g. Ah at 1 A,
        or Wh at 1C when currents are C-rates), and its first-order standard error
        ``beta * log_beta_se``.
    log_beta, log_beta_se
        Natural log of ``beta`` and its standard error (the fitted intercept).
    gamma, gamma_se
        Rate-capability coefficient ``2**-alpha`` and its delta-method standard
        error ``ln 2 * gamma * alpha_se``.
    gamma_ci
        Confidence interval of ``gamma`` at level ``confidence``: the
        t-interval of ``alpha`` (``n - 2`` degrees of freedom) mapped through the
        monotone function ``2**-alpha`` (so it is asymmetric but has exactly the
        coverage of the ``alpha`` interval).
    alpha_ci
        The t-interval of ``alpha``.
    n
        Number of points used in the fit.
    dof
        Residual degrees of freedom, ``n - 2``.
    residuals
        Residuals of the fit in log space, ``log(value) - fitted``.
    confidence
        Confidence level of the intervals.
    excluded
        Number of input rows that were excluded (non-finite values), reported so
        that nothing is silently dropped (always 0 today: such rows raise).
    """

    alpha: float
    alpha_se: float
    beta: float
    beta_se: float
    log_beta: float
    log_beta_se: float
    gamma: float
    gamma_se: float
    gamma_ci: tuple[float, float]
    alpha_ci: tuple[float, float]
    n: int
    dof: int
    residuals: np.ndarray = field(repr=False)
    confidence: float = 0.95
    excluded: int = 0

    def predict(self, current: Any) -> np.ndarray:
        """Fitted ``Y`` at ``current`` (same units as the fitted data)."""
        return self.beta * np.asarray(current, dtype=float) ** (-self.alpha)


def fit_peukert(
    current: Sequence[float] | np.ndarray,
    value: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    source: str = "rate data",
    rel_tol: float = 0.05,
) -> PeukertFit:
    """Fit ``value = beta * current**(-alpha)`` by least squares in log space.

    Ordinary least squares of ``log(value) = log(beta) - alpha log(current)``
    (Yari 2020 eq. 6). Standard errors use the residual variance with ``n - 2``
    degrees of freedom; several measurements per current are allowed (they make
    the residual variance better determined).

    Parameters
    ----------
    current
        Discharge currents, any positive unit (A, A/m^2 or C-rate): ``alpha`` and
        ``gamma`` do not depend on it; ``beta`` is ``value`` at unit current.
    value
        Discharge capacity (Ah) or energy (Wh, J), positive.
    confidence
        Level of the confidence intervals (default 0.95).
    source
        Name of the data (a file name), used in error messages.
    rel_tol
        Currents within this relative distance of each other count as one rate
        (measured currents of one rate scatter; default 5 %).

    Returns
    -------
    PeukertFit

    Raises
    ------
    DataError
        When the arrays differ in length, contain non-finite or non-positive
        values, or hold fewer than 3 distinct currents (with 2 the line passes
        exactly through the points and no uncertainty can be estimated), after
        grouping currents by rate (``rel_tol``).
    """
    i = np.asarray(current, dtype=float).ravel()
    y = np.asarray(value, dtype=float).ravel()
    if i.shape != y.shape:
        raise DataError(f"{source}: current and value differ in length ({i.size} vs {y.size})")
    if not (0.0 < confidence < 1.0):
        raise ParameterError(f"confidence = {confidence!r} is outside the allowed range (0, 1)")
    bad = ~(np.isfinite(i) & np.isfinite(y))
    if bad.any():
        raise DataError(
            f"{source}: {int(bad.sum())} non-finite current/value entries "
            f"(rows {np.flatnonzero(bad)[:10].tolist()})"
        )
    nonpos = (i <= 0) | (y <= 0)
    if nonpos.any():
        raise DataError(
            f"{source}: Peukert fit needs positive currents and values; "
            f"{int(nonpos.sum())} entries are <= 0 (rows {np.flatnonzero(nonpos)[:10].tolist()})"
        )
    groups = group_rates(i, rel_tol)
    n_distinct = int(groups.max()) + 1
    if n_distinct < 3:
        reps = [float(f"{np.median(i[groups == g]):.4g}") for g in range(n_distinct)]
        raise DataError(
            f"{source}: Peukert fit needs at least 3 distinct positive currents (rates "
            f"differing by more than {100 * rel_tol:g} %), got {n_distinct} ({reps})"
        )
    x = np.log(i)
    ly = np.log(y)
    n = x.size
    dof = n - 2
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (ly - ly.mean())) / sxx)
    intercept = float(ly.mean() - slope * xm)
    resid = ly - (intercept + slope * x)
    s2 = float(np.sum(resid**2) / dof)
    slope_se = math.sqrt(s2 / sxx)
    intercept_se = math.sqrt(s2 * (1.0 / n + xm**2 / sxx))

    alpha = -slope
    alpha_se = slope_se
    tq = float(stats.t.ppf(0.5 + confidence / 2.0, dof))
    a_lo, a_hi = alpha - tq * alpha_se, alpha + tq * alpha_se
    gamma = 2.0**-alpha
    gamma_se = _LN2 * gamma * alpha_se
    beta = math.exp(intercept)
    return PeukertFit(
        alpha=alpha,
        alpha_se=alpha_se,
        beta=beta,
        beta_se=beta * intercept_se,
        log_beta=intercept,
        log_beta_se=intercept_se,
        gamma=gamma,
        gamma_se=gamma_se,
        gamma_ci=(2.0**-a_hi, 2.0**-a_lo),
        alpha_ci=(a_lo, a_hi),
        n=n,
        dof=dof,
        residuals=resid,
        confidence=confidence,
    )


@dataclass(frozen=True)
class LayerUtilization:
    """Result of :func:`layer_utilization` (Yari 2020 eqs. 7-8, ``u1 = 1``).

    Attributes
    ----------
    u2, u2_se
        Utilization of the top layer (layer 2, next to the separator) relative to
        its standalone single-layer design, and its first-order standard error.
        ``u2 > 1``: the bottom layer promotes the top one; ``u2 < 1``: demotes it.
    psi, psi_se
        Disparity coefficient ``Q1 / (u2 Q2 + Q1) = w2 / (w2 - w1 + Qt/Q1)`` and its
        standard error; ``psi > 0.5`` means the bottom layer contributes more.
    Scalars or arrays (one entry per rate), following the inputs.
    """

    u2: Any
    u2_se: Any
    psi: Any
    psi_se: Any


def layer_utilization(
    q_total: Any,
    q1: Any,
    q2: Any,
    w1: float | Any,
    w2: float | Any,
    *,
    q_total_se: Any = 0.0,
    q1_se: Any = 0.0,
    q2_se: Any = 0.0,
    w1_se: Any = 0.0,
    w2_se: Any = 0.0,
) -> LayerUtilization:
    """Infer top-layer utilization ``u2`` and disparity ``psi`` (Yari eqs. 7-8).

    With ``u1 = 1`` (bottom layer works like its standalone single layer),
    eq. 7 ``Qt = w1 Q1 + w2 u2 Q2`` gives ``u2 = (Qt - w1 Q1) / (w2 Q2)`` and eq. 8
    ``psi = w2 / (w2 - w1 + Qt / Q1)``.

    Parameters
    ----------
    q_total
        Discharge capacity of the bilayer at the rate, specific to the total active
        mass (e.g. mAh/g or Ah/kg; any unit shared with ``q1`` and ``q2``).
    q1, q2
        Discharge capacities of standalone single layers with the bottom (1) and
        top (2) formulation at the same rate, same unit.
    w1, w2
        Active-material loading ratios of the bottom and top layers (fractions of
        the total active mass; usually ``w1 + w2 = 1``).
    q_total_se, q1_se, q2_se, w1_se, w2_se
        Standard errors of the inputs (same units); treated as independent and
        propagated to first order (delta method). Default 0.

    Returns
    -------
    LayerUtilization
        Scalars for scalar inputs, arrays when inputs are arrays (e.g. per rate).

    Raises
    ------
    DataError
        Non-finite or non-positive capacities or weights.
    """
    qt, a1, a2, v1, v2 = (np.asarray(v, dtype=float) for v in (q_total, q1, q2, w1, w2))
    for name, arr in (("q_total", qt), ("q1", a1), ("q2", a2), ("w1", v1), ("w2", v2)):
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise DataError(f"layer_utilization: {name} must be finite and > 0, got {arr}")
    sqt, sq1, sq2, sw1, sw2 = (
        np.asarray(v, dtype=float) for v in (q_total_se, q1_se, q2_se, w1_se, w2_se)
    )
    for name, arr in (
        ("q_total_se", sqt),
        ("q1_se", sq1),
        ("q2_se", sq2),
        ("w1_se", sw1),
        ("w2_se", sw2),
    ):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise DataError(f"layer_utilization: {name} must be finite and >= 0, got {arr}")

    u2 = (qt - v1 * a1) / (v2 * a2)
    d = v2 - v1 + qt / a1
    psi = v2 / d
    # partial derivatives of u2
    du_qt = 1.0 / (v2 * a2)
    du_q1 = -v1 / (v2 * a2)
    du_q2 = -u2 / a2
    du_w1 = -a1 / (v2 * a2)
    du_w2 = -u2 / v2
    u2_se = np.sqrt(
        (du_qt * sqt) ** 2
        + (du_q1 * sq1) ** 2
        + (du_q2 * sq2) ** 2
        + (du_w1 * sw1) ** 2
        + (du_w2 * sw2) ** 2
    )
    # partial derivatives of psi (independent of q2)
    dp_qt = -v2 / (d**2 * a1)
    dp_q1 = v2 * qt / (d**2 * a1**2)
    dp_w1 = v2 / d**2
    dp_w2 = (d - v2) / d**2
    psi_se = np.sqrt(
        (dp_qt * sqt) ** 2 + (dp_q1 * sq1) ** 2 + (dp_w1 * sw1) ** 2 + (dp_w2 * sw2) ** 2
    )

    def _out(a: np.ndarray) -> Any:
        return float(a) if a.ndim == 0 else a

    return LayerUtilization(u2=_out(u2), u2_se=_out(u2_se), psi=_out(psi), psi_se=_out(psi_se))


def group_rates(current: np.ndarray, rel_tol: float = 0.05) -> np.ndarray:
    """Rate-group index (0 = lowest) of each current: sorted currents within
    ``rel_tol`` of the group's first (lowest) member share a group."""
    cur = np.asarray(current, dtype=float)
    order = np.argsort(cur, kind="stable")
    group = np.empty(cur.size, dtype=np.int64)
    g = 0
    ref = cur[order[0]] if cur.size else 0.0
    for k in order:
        if cur[k] > ref * (1.0 + rel_tol):
            g += 1
            ref = cur[k]
        group[k] = g
    return group


Verdict = Literal["constructive", "destructive", "same"]


def compare_values(
    value_design: float,
    se_design: float,
    value_reference: float,
    se_reference: float,
    *,
    rtol: float = 0.01,
    z: float = 1.96,
    higher_is_better: bool = True,
) -> Verdict:
    """Label a design against a reference from two estimates and their errors.

    The difference ``d = value_design - value_reference`` is *significant* when
    ``|d| > z * sqrt(se_design**2 + se_reference**2)`` (the two estimates are
    independent) **and** ``|d| > rtol * |value_reference|`` (a stated minimum
    relative difference, so that a tiny but very precisely measured difference is
    not called a design effect). A significant improvement is "constructive", a
    significant deterioration "destructive", anything else "same".

    Parameters
    ----------
    value_design, se_design, value_reference, se_reference
        Estimates and standard errors (same unit).
    rtol
        Minimum relative difference (fraction of the reference), default 0.01.
    z
        Multiplier of the combined standard error (1.96: two-sided 5 %).
    higher_is_better
        True for gamma or capacity at rate; False for an aging (loss) rate.
    """
    vals = (value_design, se_design, value_reference, se_reference, rtol, z)
    if not all(math.isfinite(float(v)) for v in vals):
        raise DataError(f"compare_values: non-finite input {vals}")
    if se_design < 0 or se_reference < 0 or rtol < 0 or z < 0:
        raise ParameterError(
            f"compare_values: se_design={se_design}, se_reference={se_reference}, rtol={rtol}, "
            f"z={z} must all be >= 0"
        )
    diff = float(value_design) - float(value_reference)
    noise = z * math.hypot(se_design, se_reference)
    floor = rtol * abs(float(value_reference))
    if abs(diff) <= noise or abs(diff) <= floor:
        return "same"
    better = diff > 0 if higher_is_better else diff < 0
    return "constructive" if better else "destructive"


def compare_designs(
    fit_design: PeukertFit,
    fit_reference: PeukertFit,
    rtol: float = 0.01,
    *,
    z: float | None = None,
    confidence: float = 0.95,
) -> Verdict:
    """Label a (graded) design against the homogeneous reference by ``gamma``.

    Higher ``gamma`` = better rate capability. The gamma difference is significant
    when ``|gamma_d - gamma_r| > z * sqrt(se_d**2 + se_r**2)`` and larger than
    ``rtol * gamma_r`` (default 1 %); see :func:`compare_values`.

    Parameters
    ----------
    fit_design, fit_reference
        Peukert fits (anything with ``gamma``, ``gamma_se`` and, optionally, ``dof``).
    rtol
        Minimum relative difference in gamma to call a difference (default 0.01).
    z
        Multiplier of the combined standard error. Default (None): the two-sided
        Student-t quantile at ``confidence`` with Welch-Satterthwaite degrees of
        freedom from the two fits' ``dof`` (Rate tests have few rates, e.g. 4, so
        ``dof = 2`` and 1.96 would call differences too easily); 1.96 when the
        fits carry no ``dof``.
    confidence
        Level used when ``z`` is None.

    Returns
    -------
    str
        "constructive", "destructive" or "same".
    """
    gd, sd = float(fit_design.gamma), float(fit_design.gamma_se)
    gr, sr = float(fit_reference.gamma), float(fit_reference.gamma_se)
    if z is None:
        dof_d = getattr(fit_design, "dof", None)
        dof_r = getattr(fit_reference, "dof", None)
        z = welch_quantile(sd, dof_d, sr, dof_r, confidence)
    return compare_values(gd, sd, gr, sr, rtol=rtol, z=z, higher_is_better=True)


def welch_quantile(
    se1: float, dof1: int | None, se2: float, dof2: int | None, confidence: float = 0.95
) -> float:
    """Two-sided t quantile for a difference of two estimates (Welch-Satterthwaite).

    Returns the normal quantile when either ``dof`` is unknown (None) or both
    standard errors are zero.
    """
    if dof1 is None or dof2 is None or (se1 == 0 and se2 == 0):
        return float(stats.norm.ppf(0.5 + confidence / 2.0))
    num = (se1**2 + se2**2) ** 2
    den = (se1**4 / max(dof1, 1)) + (se2**4 / max(dof2, 1))
    nu = num / den if den > 0 else float("inf")
    return float(stats.t.ppf(0.5 + confidence / 2.0, nu))


def rate_table(
    steps: pd.DataFrame,
    *,
    nominal_capacity: float | None = None,
    rel_tol: float = 0.05,
    max_spread: float = 0.05,
    expected_rates: Sequence[float] | None = None,
    source: str | None = None,
    v_max: float | None = None,
    v_min: float | None = None,
    v_tol: float = 0.05,
) -> pd.DataFrame:
    """Discharge capacity and energy per constant-current discharge step, grouped by rate.

    Parameters
    ----------
    steps
        Step table from :func:`electrohet.analysis.cycler.step_table` (one file,
        or several concatenated).
    nominal_capacity
        Nominal capacity (Ah) defining 1C; when given, a ``c_rate`` column is added.
    rel_tol
        Discharge currents within this relative distance of each other form one
        rate group (default 5 %).
    max_spread
        Steps whose ``current_spread`` exceeds this (constant-voltage or pulsed
        steps) are not constant-current discharges; they are excluded and counted
        in ``attrs["excluded"]``.
    expected_rates
        Rates that must be present (C-rates if ``nominal_capacity`` is given, else
        currents in A); a rate without a discharge step raises.
    source
        Name used in messages (default: ``steps.attrs["source"]``).
    v_max, v_min, v_tol
        A full discharge starts from a cell within ``v_tol`` (V) of ``v_max`` (the
        voltage at the end of the step before it) and ends within
        ``v_tol`` of ``v_min``; other (partial) discharges - pulses, interrupted
        steps - are excluded and counted. Defaults: the highest start voltage and
        the lowest end voltage of the CC discharge steps. A CC step followed by a
        voltage hold is split at the mode change by the readers, so the CC part
        counts.

    Returns
    -------
    pandas.DataFrame
        One row per CC discharge step: ``rate_group`` (0 = lowest current),
        ``current`` (A, the step's median), ``c_rate`` (if available),
        ``capacity`` (Ah), ``energy`` (Wh), ``cycle_id``, ``step_id``, ``source``.
        ``attrs["excluded"]`` counts excluded discharge steps.

    Raises
    ------
    DataError
        No discharge step at all, or an expected rate without a discharge step.
    """
    src = source or str(steps.attrs.get("source", "rate data"))
    if "source" not in steps.columns:
        steps = steps.assign(source=src)
    prev_v = steps["v_end"].shift(1) if "v_end" in steps else None
    if prev_v is not None:
        steps = steps.assign(_v_before=prev_v.fillna(steps["v_start"]))
    dis = steps[steps["kind"] == "discharge"]
    excluded = {}
    cc = dis[dis["current_spread"] <= max_spread]
    if len(dis) > len(cc):
        excluded["not constant current (current_spread > max_spread)"] = len(dis) - len(cc)
    cc = cc[cc["capacity"] > 0]
    if len(cc) == 0:
        raise DataError(
            f"{src}: no constant-current discharge step found ({len(steps)} steps, "
            f"{len(dis)} discharge steps)"
        )
    full = np.ones(len(cc), dtype=bool)
    if "_v_before" in cc:
        vhi = float(cc["_v_before"].max()) if v_max is None else float(v_max)
        vlo = float(cc["v_end"].min()) if v_min is None else float(v_min)
        full = ((cc["_v_before"] >= vhi - v_tol) & (cc["v_end"] <= vlo + v_tol)).to_numpy()
    if (~full).any():
        excluded[f"partial discharge (not from {vhi:.3g} V to {vlo:.3g} V within {v_tol:g} V)"] = (
            int((~full).sum())
        )
        cc = cc[full]
    cur = cc["current_abs_median"].to_numpy(dtype=float)
    group = group_rates(cur, rel_tol)
    out = pd.DataFrame(
        {
            "rate_group": group,
            "current": cur,
            "capacity": cc["capacity"].to_numpy(dtype=float),
            "energy": cc["energy"].to_numpy(dtype=float),
            "cycle_id": cc["cycle_id"].to_numpy(),
            "step_id": cc["step_id"].to_numpy(),
            "source": cc["source"].to_numpy(),
        }
    )
    if nominal_capacity is not None:
        if not (nominal_capacity > 0):
            raise ParameterError(f"nominal_capacity = {nominal_capacity!r} must be > 0 (Ah)")
        out.insert(2, "c_rate", out["current"] / nominal_capacity)
    if expected_rates is not None:
        col = "c_rate" if nominal_capacity is not None else "current"
        have = out[col].to_numpy()
        unit = "C" if nominal_capacity is not None else " A"
        for r in expected_rates:
            if not np.any(np.abs(have - r) <= rel_tol * r):
                raise DataError(
                    f"{src}: rate {r:g}{unit} has no discharge step (found rates "
                    f"{sorted({float(f'{h:.3g}') for h in have})})"
                )
    out = out.sort_values(["current", "step_id"], kind="stable").reset_index(drop=True)
    out.attrs["excluded"] = excluded
    out.attrs["source"] = src
    return out


def fit_rate_table(
    table: pd.DataFrame,
    value: Literal["energy", "capacity"] = "energy",
    *,
    x: Literal["current", "c_rate"] = "current",
    confidence: float = 0.95,
) -> PeukertFit:
    """Peukert fit of a :func:`rate_table` (every step is a point; repeats welcome).

    Yari 2020 reports gamma from the discharge *energy*, the default here.
    """
    src = str(table.attrs.get("source", "rate table"))
    for c in (x, value):
        if c not in table.columns:
            raise DataError(f"{src}: rate table has no column {c!r}")
    return fit_peukert(
        table[x].to_numpy(), table[value].to_numpy(), confidence=confidence, source=src
    )
