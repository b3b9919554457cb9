"""Sampling statistics for particle-level measurements (Lin 2021, statistics viewpoint).

How sure is a mean or a fraction measured on ``n`` particles, how many particles
are needed for a target precision, and how much do particles taken from a few
*clusters* (one image, one cross-section, one depth) really tell about the
electrode? Particles within a cluster resemble each other, so ``n`` clustered
particles carry the information of only ``n / deff`` independent ones, with the
design effect ``deff = 1 + (m - 1) ICC`` (``m`` particles per cluster, ``ICC`` the
intraclass correlation). With a few clusters, a naive CI that treats particles as
independent is far too narrow; :func:`cluster_summary` gives the honest one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from electrohet.errors import DataError, ParameterError

__all__ = [
    "BootstrapResult",
    "bootstrap_ci",
    "fraction_ci",
    "n_for_half_width",
    "ClusterSummary",
    "cluster_summary",
]


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimate, percentile bootstrap CI and bootstrap SE of a statistic."""

    estimate: float
    ci: tuple[float, float]
    se: float
    n: int
    confidence: float


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] | str = "mean",
    *,
    n_boot: int = 4000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> BootstrapResult:
    """Percentile bootstrap CI of a statistic of ``n`` particles (resampling particles).

    Parameters
    ----------
    values
        One value per particle (a quantity, or 0/1 for a fraction).
    statistic
        "mean", "median", or a function reducing along the last axis
        (``f(array_of_shape_(n_boot, n)) -> (n_boot,)``).
    n_boot, confidence, rng
        Number of resamples, level, random generator or seed.
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise DataError(f"bootstrap_ci: need >= 2 finite values, got {x.size}")
    if not (0 < confidence < 1):
        raise ParameterError(f"confidence = {confidence!r} is outside the allowed range (0, 1)")
    funcs = {"mean": lambda a: a.mean(axis=-1), "median": lambda a: np.median(a, axis=-1)}
    f = funcs[statistic] if isinstance(statistic, str) else statistic
    gen = np.random.default_rng(rng)
    est = float(f(x[None, :])[0])
    reps = np.empty(n_boot)
    chunk = max(1, 2_000_000 // x.size)
    for s in range(0, n_boot, chunk):
        m = min(chunk, n_boot - s)
        reps[s : s + m] = f(x[gen.integers(0, x.size, size=(m, x.size))])
    a = (1 - confidence) / 2
    lo, hi = np.quantile(reps, [a, 1 - a])
    return BootstrapResult(est, (float(lo), float(hi)), float(reps.std(ddof=1)), x.size, confidence)


def fraction_ci(
    k: int, n: int, *, confidence: float = 0.95, method: str = "wilson"
) -> tuple[float, float]:
    """Confidence interval of a fraction ``k/n`` (Wilson score, or Clopper-Pearson "exact").

    The Wilson interval is the sensible default for the few-percent fractions of
    single-particle work (the bootstrap/Wald interval collapses to zero width
    when ``k = 0``).
    """
    if n <= 0 or not (0 <= k <= n):
        raise DataError(f"fraction_ci: need 0 <= k <= n and n > 0, got k={k}, n={n}")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    if method == "wilson":
        p = k / n
        den = 1 + z**2 / n
        c = (p + z**2 / (2 * n)) / den
        h = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
        return (max(0.0, c - h), min(1.0, c + h))
    if method == "exact":
        a = (1 - confidence) / 2
        lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
        hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
        return (lo, hi)
    raise ParameterError(f"method = {method!r}; use 'wilson' or 'exact'")


def n_for_half_width(
    half_width: float,
    *,
    sd: float | None = None,
    p: float | None = None,
    confidence: float = 0.95,
    design_effect: float = 1.0,
) -> int:
    """Particles needed so that the CI half-width of a mean or a fraction is ``half_width``.

    ``n = deff * (z sd / h)**2`` for a mean (``sd`` per particle, same unit as
    ``h``), ``n = deff * z**2 p (1 - p) / h**2`` for a fraction ``p``. Pass the
    design effect of clustered sampling (:class:`ClusterSummary`) to get the
    number of particles at that cluster size.
    """
    if (sd is None) == (p is None):
        raise ParameterError("n_for_half_width: give exactly one of sd (mean) or p (fraction)")
    if not (half_width > 0):
        raise ParameterError(f"half_width = {half_width!r} must be > 0")
    if design_effect < 1:
        raise ParameterError(f"design_effect = {design_effect!r} must be >= 1")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    if sd is not None:
        if sd < 0:
            raise ParameterError(f"sd = {sd!r} must be >= 0")
        var = sd**2
    else:
        assert p is not None
        if not (0 <= p <= 1):
            raise ParameterError(f"p = {p!r} is outside the allowed range [0, 1]")
        var = p * (1 - p)
    return max(1, math.ceil(design_effect * z**2 * var / half_width**2))


@dataclass(frozen=True)
class ClusterSummary:
    """Between- vs within-cluster variance of a particle quantity.

    Attributes
    ----------
    mean
        Mean of the cluster means (each cluster weighs the same).
    n, k, m0
        Particles, clusters, effective cluster size (ANOVA ``n0``).
    var_between, var_within
        Variance components (one-way random-effects ANOVA, between clamped at 0).
    icc
        Intraclass correlation ``var_between / (var_between + var_within)``.
    design_effect, n_effective
        ``1 + (m0 - 1) icc`` and ``n / design_effect``.
    naive_ci
        t-interval treating all ``n`` particles as independent (misleading when
        ``icc > 0`` and few clusters).
    cluster_ci
        t-interval from the ``k`` cluster means (``k - 1`` dof): the honest one.
    """

    mean: float
    n: int
    k: int
    m0: float
    var_between: float
    var_within: float
    icc: float
    design_effect: float
    n_effective: float
    naive_ci: tuple[float, float]
    cluster_ci: tuple[float, float]
    confidence: float


def cluster_summary(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence[object] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> ClusterSummary:
    """Variance components, ICC, design effect and honest CI of clustered particle data.

    Parameters
    ----------
    values
        One value per particle (e.g. SOC, crack fraction, 0/1 diverging).
    clusters
        Cluster id of each particle (image, region, depth).

    Raises
    ------
    DataError
        Mismatched lengths, fewer than 2 clusters, or a cluster with no particle.
    """
    x = np.asarray(values, dtype=float).ravel()
    c = np.asarray(clusters).ravel()
    if x.size != c.size:
        raise DataError(f"cluster_summary: {x.size} values but {c.size} cluster ids")
    if not np.all(np.isfinite(x)):
        raise DataError("cluster_summary: values contain non-finite entries")
    ids, inv, m = np.unique(c, return_inverse=True, return_counts=True)
    k = ids.size
    n = x.size
    if k < 2:
        raise DataError(f"cluster_summary: need at least 2 clusters, got {k}")
    means = np.bincount(inv, weights=x) / m
    grand = float(x.mean())
    ssb = float(np.sum(m * (means - grand) ** 2))
    ssw = float(np.sum((x - means[inv]) ** 2))
    dfw = n - k
    msb = ssb / (k - 1)
    msw = ssw / dfw if dfw > 0 else 0.0
    m0 = (n - np.sum(m**2) / n) / (k - 1)
    vb = max(0.0, (msb - msw) / m0)
    vw = msw
    icc = vb / (vb + vw) if (vb + vw) > 0 else 0.0
    deff = 1 + (m0 - 1) * icc
    a = 0.5 + confidence / 2
    sd_all = float(x.std(ddof=1)) if n > 1 else 0.0
    tn = float(stats.t.ppf(a, max(n - 1, 1)))
    naive = (grand - tn * sd_all / math.sqrt(n), grand + tn * sd_all / math.sqrt(n))
    cm = float(means.mean())
    tk = float(stats.t.ppf(a, k - 1))
    se_c = float(means.std(ddof=1)) / math.sqrt(k)
    return ClusterSummary(
        mean=cm,
        n=n,
        k=k,
        m0=float(m0),
        var_between=vb,
        var_within=vw,
        icc=float(icc),
        design_effect=float(deff),
        n_effective=float(n / deff),
        naive_ci=(float(naive[0]), float(naive[1])),
        cluster_ci=(cm - tk * se_c, cm + tk * se_c),
        confidence=confidence,
    )
