"""Single-particle histograms (Kroeger, CL-SP-ICP-OES on NMC532).

Per-particle intensity ratios ``I(Li)/I(Mn)`` are turned into degrees of
lithiation (DOL, a fraction 0-1 here; the paper quotes %) with a linear
matrix-matched calibration; each sample's histogram is fitted with a Gaussian;
particles outside ``mean +- 2 sigma`` of the calibration *frame* for the expected
DOL are "diverging" (trapped Li); the inactive-Li capacity (mAh/g) is total Li
minus electrochemically active Li.

Input table: one row per particle, columns ``sample`` (id) and ``ratio``; the
matrix-matched standards are rows whose ``dol`` column holds their known DOL
(samples leave it empty), optionally with ``dol_se``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

from electrohet.errors import DataError, ParameterError

__all__ = [
    "read_particles",
    "Calibration",
    "fit_calibration",
    "calibration_from_table",
    "GaussianFit",
    "fit_gaussian",
    "Frame",
    "frame_for_dol",
    "DivergingFraction",
    "diverging_fraction",
    "GAUSSIAN_TAIL_2SIGMA",
    "li_fraction_to_capacity",
    "inactive_li_capacity",
    "analyze_samples",
    "FARADAY",
    "M_NMC532",
]

#: Faraday constant, C/mol.
FARADAY = 96485.33212
#: Molar mass of LiNi0.5Mn0.3Co0.2O2, g/mol (theoretical capacity 277.6 mAh/g,
#: Kroeger quotes 278).
M_NMC532 = 6.941 + 0.5 * 58.693 + 0.3 * 54.938 + 0.2 * 58.933 + 2 * 15.999
#: Fraction of a Gaussian outside mean +- 2 sigma (4.55 %).
GAUSSIAN_TAIL_2SIGMA = float(2 * stats.norm.sf(2.0))


def read_particles(
    path: str | Path,
    *,
    sample_col: str = "sample",
    ratio_col: str = "ratio",
    dol_col: str = "dol",
) -> pd.DataFrame:
    """Read a per-particle CSV (one row per particle).

    Returns
    -------
    pandas.DataFrame
        Columns ``sample`` (str), ``ratio`` (float) and ``dol`` (float, NaN for
        samples) plus ``dol_se`` when present. Rows with a missing, non-numeric or
        non-positive ratio are excluded and counted in ``attrs["excluded"]`` (with
        a warning).

    Raises
    ------
    DataError
        Missing file or columns, or no valid particle.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot parse as CSV ({exc})") from exc
    missing = [c for c in (sample_col, ratio_col) if c not in df.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing}; available columns: {list(df.columns)}"
        )
    out = pd.DataFrame(
        {
            "sample": df[sample_col].astype(str),
            "ratio": pd.to_numeric(df[ratio_col], errors="coerce"),
        }
    )
    out["dol"] = pd.to_numeric(df[dol_col], errors="coerce") if dol_col in df else np.nan
    if "dol_se" in df:
        out["dol_se"] = pd.to_numeric(df["dol_se"], errors="coerce")
    bad = ~(np.isfinite(out["ratio"]) & (out["ratio"] > 0))
    excluded = {}
    if bad.any():
        excluded["missing, non-numeric or non-positive ratio"] = int(bad.sum())
        warnings.warn(
            f"{path}: excluded {int(bad.sum())} particle row(s): {excluded}", stacklevel=2
        )
    out = out.loc[~bad].reset_index(drop=True)
    if len(out) == 0:
        raise DataError(f"{path}: no valid particle rows")
    out.attrs["source"] = str(path)
    out.attrs["excluded"] = excluded
    return out


@dataclass(frozen=True)
class Calibration:
    """Linear calibration ``mean ratio = intercept + slope * DOL``.

    Attributes
    ----------
    slope, slope_se, intercept, intercept_se, cov
        Line parameters (ratio per unit DOL, ratio), standard errors and their
        covariance.
    slope_ci
        Confidence interval of the slope at ``confidence``.
    dol, mean, mean_se, sd, n
        Per standard: DOL, mean ratio, its standard error, per-particle standard
        deviation (the frame width) and number of particles.
    dof, scale
        Residual degrees of freedom and the Birge ratio ``sqrt(chi2/dof)`` used to
        inflate the errors when the standards scatter more than their errors say
        (1 when they do not).
    """

    slope: float
    slope_se: float
    intercept: float
    intercept_se: float
    cov: float
    slope_ci: tuple[float, float]
    dol: np.ndarray
    mean: np.ndarray
    mean_se: np.ndarray
    sd: np.ndarray
    n: np.ndarray
    dof: int
    scale: float
    confidence: float = 0.95

    def ratio(self, dol: float | np.ndarray) -> np.ndarray:
        """Mean intensity ratio expected at ``dol``."""
        return self.intercept + self.slope * np.asarray(dol, dtype=float)

    def to_dol(self, ratio: float | np.ndarray) -> np.ndarray:
        """DOL of an intensity ratio (inverse of the line)."""
        return (np.asarray(ratio, dtype=float) - self.intercept) / self.slope

    def to_dol_se(self, ratio: float, ratio_se: float = 0.0) -> float:
        """First-order standard error of :meth:`to_dol` (line and ratio errors)."""
        d = float(self.to_dol(ratio))
        # dol = (r - a)/b: d/dr = 1/b, d/da = -1/b, d/db = -dol/b
        b = self.slope
        var = (ratio_se / b) ** 2 + (self.intercept_se / b) ** 2 + (d * self.slope_se / b) ** 2
        var += 2 * (-1 / b) * (-d / b) * self.cov
        return math.sqrt(max(var, 0.0))


def fit_calibration(
    dol: Sequence[float],
    ratios: Sequence[Sequence[float] | np.ndarray],
    *,
    dol_se: Sequence[float] | None = None,
    confidence: float = 0.95,
    source: str = "calibration",
) -> Calibration:
    """Fit the matrix-matched calibration line from per-particle ratios of standards.

    Weighted least squares of the standards' mean ratios on their DOL, with
    variances ``se_mean**2 + (slope * dol_se)**2`` (effective variance, one
    iteration). When the standards scatter more than these errors allow
    (``chi2/dof > 1``), the errors are inflated by the Birge ratio and the
    interval uses the t-distribution with ``n_std - 2`` dof; otherwise the normal
    quantile.

    Parameters
    ----------
    dol
        Known DOL of each standard (fraction 0-1; from digestion ICP-OES).
    ratios
        Per-particle intensity ratios of each standard.
    dol_se
        Standard errors of the DOLs (default 0).
    confidence
        Level of ``slope_ci``.
    source
        Name used in messages.

    Raises
    ------
    DataError
        Fewer than 3 standards with distinct DOL, or a standard with < 3 particles.
    """
    d = np.asarray(dol, dtype=float)
    if len(ratios) != d.size:
        raise DataError(f"{source}: {d.size} DOL values but {len(ratios)} ratio sets")
    if np.unique(d).size < 3:
        raise DataError(
            f"{source}: calibration needs at least 3 standards with distinct DOL, got "
            f"{np.unique(d).size}"
        )
    arrs = [np.asarray(r, dtype=float) for r in ratios]
    for k, a in enumerate(arrs):
        if a.size < 3 or not np.all(np.isfinite(a)):
            raise DataError(
                f"{source}: standard {k} (DOL {d[k]:g}) needs >= 3 finite ratios, got {a.size}"
            )
    n = np.array([a.size for a in arrs])
    mean = np.array([a.mean() for a in arrs])
    sd = np.array([a.std(ddof=1) for a in arrs])
    se = sd / np.sqrt(n)
    dse = np.zeros_like(d) if dol_se is None else np.asarray(dol_se, dtype=float)

    def wls(var: np.ndarray) -> tuple[float, float, np.ndarray, float]:
        w = 1.0 / var
        sw, swx, swy = w.sum(), (w * d).sum(), (w * mean).sum()
        swxx, swxy = (w * d * d).sum(), (w * d * mean).sum()
        det = sw * swxx - swx**2
        b = (sw * swxy - swx * swy) / det
        a = (swxx * swy - swx * swxy) / det
        covm = np.array([[swxx, -swx], [-swx, sw]]) / det  # (a, b)
        chi2 = float(np.sum(w * (mean - a - b * d) ** 2))
        return a, b, covm, chi2

    a, b, covm, chi2 = wls(se**2)
    if np.any(dse > 0):
        a, b, covm, chi2 = wls(se**2 + (b * dse) ** 2)
    dof = d.size - 2
    birge = math.sqrt(chi2 / dof) if dof > 0 else 1.0
    scale = max(1.0, birge)
    covm = covm * scale**2
    q = (
        float(stats.t.ppf(0.5 + confidence / 2, dof))
        if scale > 1.0
        else float(stats.norm.ppf(0.5 + confidence / 2))
    )
    bse = math.sqrt(covm[1, 1])
    if b == 0:
        raise DataError(f"{source}: calibration slope is zero; the standards do not separate")
    return Calibration(
        slope=float(b),
        slope_se=bse,
        intercept=float(a),
        intercept_se=math.sqrt(covm[0, 0]),
        cov=float(covm[0, 1]),
        slope_ci=(float(b - q * bse), float(b + q * bse)),
        dol=d,
        mean=mean,
        mean_se=se,
        sd=sd,
        n=n,
        dof=dof,
        scale=scale,
        confidence=confidence,
    )


def calibration_from_table(df: pd.DataFrame, **kw: object) -> Calibration:
    """:func:`fit_calibration` from the standard rows (finite ``dol``) of a particle table.

    All particles of a standard share one ``sample`` id and one ``dol``.
    """
    src = str(df.attrs.get("source", "particles"))
    std = df[np.isfinite(df["dol"])]
    if std.empty:
        raise DataError(f"{src}: no calibration standards (rows with a 'dol' value)")
    groups = list(std.groupby("sample", sort=False))
    dol = [float(g["dol"].iloc[0]) for _, g in groups]
    ratios = [g["ratio"].to_numpy() for _, g in groups]
    dol_se = None
    if "dol_se" in std:
        dol_se = [float(np.nan_to_num(g["dol_se"].iloc[0])) for _, g in groups]
    return fit_calibration(dol, ratios, dol_se=dol_se, source=src, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class GaussianFit:
    """Gaussian fitted to a histogram of intensity ratios.

    ``mean``, ``sd`` (ratio units) with standard errors from the fit covariance;
    ``n`` particles; ``method``: "histogram" (least squares on the histogram with
    Poisson weights, robust to a tail of diverging particles) or "moments".
    """

    mean: float
    mean_se: float
    sd: float
    sd_se: float
    n: int
    method: str


def fit_gaussian(values: Sequence[float] | np.ndarray, *, bins: int | str = "fd") -> GaussianFit:
    """Fit a Gaussian to the histogram of ``values`` (Kroeger's per-sample fit).

    The fit is a least-squares fit of ``A exp(-(x-mu)^2 / 2 s^2)`` to the counts,
    weighted by ``1/sqrt(max(count, 1))``, started from the median and the
    normalised MAD, so a minority of diverging particles does not drag the mean.
    Falls back to moments (with a warning) when the optimiser fails.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 5:
        raise DataError(f"fit_gaussian: need at least 5 finite values, got {x.size}")
    med = float(np.median(x))
    mad = float(stats.median_abs_deviation(x, scale="normal"))
    if mad <= 0:
        mad = float(np.std(x)) or 1e-12
    lo, hi = med - 6 * mad, med + 6 * mad
    core = x[(x >= lo) & (x <= hi)]
    counts, edges = np.histogram(core, bins=bins)
    centers = 0.5 * (edges[1:] + edges[:-1])

    def g(c: np.ndarray, amp: float, mu: float, s: float) -> np.ndarray:
        return amp * np.exp(-0.5 * ((c - mu) / s) ** 2)

    try:
        p, cov = optimize.curve_fit(
            g,
            centers,
            counts,
            p0=(counts.max(), med, mad),
            sigma=np.sqrt(np.maximum(counts, 1.0)),
            absolute_sigma=True,
            maxfev=2000,
        )
        if not np.all(np.isfinite(cov)) or p[2] == 0:
            raise RuntimeError("singular covariance")
        return GaussianFit(
            mean=float(p[1]),
            mean_se=float(math.sqrt(cov[1, 1])),
            sd=float(abs(p[2])),
            sd_se=float(math.sqrt(cov[2, 2])),
            n=int(x.size),
            method="histogram",
        )
    except (RuntimeError, ValueError) as exc:
        warnings.warn(f"fit_gaussian: histogram fit failed ({exc}); using moments", stacklevel=2)
        s = float(np.std(x, ddof=1))
        return GaussianFit(
            mean=float(x.mean()),
            mean_se=s / math.sqrt(x.size),
            sd=s,
            sd_se=s / math.sqrt(2 * (x.size - 1)),
            n=int(x.size),
            method="moments",
        )


@dataclass(frozen=True)
class Frame:
    """Calibration frame ``center +- k sigma`` (intensity ratio) for an expected DOL."""

    dol: float
    center: float
    sigma: float
    k: float = 2.0

    @property
    def low(self) -> float:
        return self.center - self.k * self.sigma

    @property
    def high(self) -> float:
        return self.center + self.k * self.sigma


def frame_for_dol(cal: Calibration, dol: float, *, k: float = 2.0) -> Frame:
    """Frame of the calibration histogram for ``dol`` (Kroeger's colored frames).

    Center: the calibration line at ``dol``. Width: the per-particle SD of the
    standards interpolated linearly in DOL (held constant beyond the outermost
    standards), times ``k`` (2 = Kroeger's +- 2 sigma).
    """
    if not (0.0 <= dol <= 1.2):
        raise ParameterError(f"dol = {dol!r} is outside the allowed range [0, 1.2] (a fraction)")
    if not (math.isfinite(k) and 0.0 < k <= 10.0):
        raise ParameterError(
            f"k = {k!r} is outside the allowed range (0, 10] (frame half-width in sigmas)"
        )
    order = np.argsort(cal.dol)
    sigma = float(np.interp(dol, cal.dol[order], cal.sd[order]))
    return Frame(dol=float(dol), center=float(cal.ratio(dol)), sigma=sigma, k=k)


@dataclass(frozen=True)
class DivergingFraction:
    """Fraction of particles outside a frame, with a bootstrap confidence interval.

    Attributes
    ----------
    fraction, ci, se
        Share of particles outside ``[frame.low, frame.high]``, its 95 % (or
        ``confidence``) Wilson score interval and the bootstrap standard error. The
        CI reflects particle sampling only (conditional on the frame). Wilson, not
        the percentile bootstrap, because the bootstrap collapses to (0, 0) when no
        particle diverges (Wilson: 0-7.1 % for 0 of 50).
    n, n_outside, n_above, n_below
        Counts (``n_above``: more Li than the frame, trapped Li).
    excess
        ``fraction - GAUSSIAN_TAIL_2SIGMA``: what a perfectly uniform sample would
        still put outside a 2-sigma frame (4.55 %) removed (only for ``k = 2``).
    """

    fraction: float
    ci: tuple[float, float]
    se: float
    n: int
    n_outside: int
    n_above: int
    n_below: int
    excess: float
    confidence: float


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n``."""
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    den = 1 + z**2 / n
    c = (p + z**2 / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    lo = 0.0 if k == 0 else max(0.0, c - h)
    hi = 1.0 if k == n else min(1.0, c + h)
    return lo, hi


def diverging_fraction(
    ratios: Sequence[float] | np.ndarray,
    frame: Frame,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> DivergingFraction:
    """Share of particles outside ``frame`` with a Wilson score CI.

    The interval is the Wilson score interval of a binomial proportion (Wilson 1927,
    J. Am. Stat. Assoc. 22, 209), which keeps its coverage at 0 or ``n`` particles
    outside. The standard error is the bootstrap one: resampling ``n`` particles
    with replacement and counting those outside the frame is the same as drawing
    ``Binomial(n, fraction)``; that is how the ``n_boot`` replicates are drawn.
    """
    x = np.asarray(ratios, dtype=float)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise DataError("diverging_fraction: ratios must be a non-empty finite array")
    gen = np.random.default_rng(rng)
    above = int(np.sum(x > frame.high))
    below = int(np.sum(x < frame.low))
    out = above + below
    n = x.size
    f = out / n
    boot = gen.binomial(n, f, size=n_boot) / n
    lo, hi = wilson_interval(out, n, confidence)
    excess = f - GAUSSIAN_TAIL_2SIGMA if frame.k == 2.0 else float("nan")
    return DivergingFraction(
        fraction=f,
        ci=(float(lo), float(hi)),
        se=float(boot.std(ddof=1)),
        n=n,
        n_outside=out,
        n_above=above,
        n_below=below,
        excess=excess,
        confidence=confidence,
    )


def li_fraction_to_capacity(x_li: float | np.ndarray, molar_mass: float = M_NMC532) -> np.ndarray:
    """Capacity equivalent (mAh/g) of ``x_li`` Li per formula unit.

    ``x F / (3.6 M)`` with ``M`` in g/mol (default NMC532: 277.6 mAh/g per Li).
    """
    return np.asarray(x_li, dtype=float) * FARADAY / (3.6 * molar_mass)


def inactive_li_capacity(
    total_li: float,
    active_li: float,
    *,
    total_li_se: float = 0.0,
    active_li_se: float = 0.0,
    residual_li: float = 0.0,
    residual_li_se: float = 0.0,
) -> tuple[float, float]:
    """Inactive-Li capacity (mAh/g) = total Li - active Li - residual Li.

    Parameters
    ----------
    total_li
        Li in the cycled CAM from digestion ICP-OES, as capacity (mAh/g; use
        :func:`li_fraction_to_capacity` for a mole fraction).
    active_li
        Charge capacity of the cycled electrode against Li metal at a slow rate
        (Kroeger: C/20 to 4.4 V), mAh/g.
    residual_li
        Li a fresh electrode keeps at the same cut-off (expected DOL times the
        theoretical capacity), mAh/g; 0 when ``total_li`` is already referenced.
    total_li_se, active_li_se, residual_li_se
        Independent standard errors of the three, added in quadrature (mAh/g).

    Returns
    -------
    (value, se) in mAh/g.
    """
    v = total_li - active_li - residual_li
    se = math.sqrt(total_li_se**2 + active_li_se**2 + residual_li_se**2)
    return float(v), float(se)


def analyze_samples(
    df: pd.DataFrame,
    cal: Calibration,
    expected_dol: float,
    *,
    k: float = 2.0,
    n_boot: int = 2000,
    rng: np.random.Generator | int | None = 0,
) -> pd.DataFrame:
    """Per-sample table: Gaussian fit, mean DOL, diverging fraction with CI.

    Samples are the rows of ``df`` without a ``dol`` (standards are skipped).
    """
    src = str(df.attrs.get("source", "particles"))
    gen = np.random.default_rng(rng)
    fr = frame_for_dol(cal, expected_dol, k=k)
    samples = df[~np.isfinite(df["dol"])]
    if samples.empty:
        raise DataError(f"{src}: no sample rows (all rows are calibration standards)")
    rows = []
    for name, g in samples.groupby("sample", sort=False):
        r = g["ratio"].to_numpy()
        gf = fit_gaussian(r) if r.size >= 5 else None
        dv = diverging_fraction(r, fr, n_boot=n_boot, rng=gen)
        mean = gf.mean if gf else float(np.mean(r))
        mean_se = gf.mean_se if gf else float("nan")
        rows.append(
            {
                "sample": name,
                "n": r.size,
                "ratio_mean": mean,
                "ratio_mean_se": mean_se,
                "ratio_sd": gf.sd if gf else float("nan"),
                "dol_mean": float(cal.to_dol(mean)),
                "dol_mean_se": cal.to_dol_se(mean, 0.0 if math.isnan(mean_se) else mean_se),
                "frame_low": fr.low,
                "frame_high": fr.high,
                "diverging_fraction": dv.fraction,
                "diverging_ci_low": dv.ci[0],
                "diverging_ci_high": dv.ci[1],
                "n_above": dv.n_above,
                "n_below": dv.n_below,
                "excess_over_gaussian_tail": dv.excess,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["source"] = src
    return out
