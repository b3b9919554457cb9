"""Representativeness of a volume (Lin 2021): REV curves and sampling statistics.

A metric is evaluated on random cubic sub-volumes of increasing edge; the spread between
sub-volumes of one size shows whether that size is representative.  The number of
sub-volumes (or particles) needed for a target confidence-interval width follows from
the normal approximation n = (2 z s / w)^2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from electrohet.errors import ParameterError
from electrohet.micro.volume import LabelledVolume


def rev_curve(
    volume: LabelledVolume,
    metric: Callable[[LabelledVolume], float],
    sizes: Sequence[int],
    *,
    n_samples: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Metric on random cubic sub-volumes of each edge length in ``sizes`` (voxels).

    Returns
    -------
    pandas.DataFrame
        One row per size: ``size_vox``, ``size_m`` (edge along z), ``mean``, ``std``,
        ``cv`` (std/|mean|), ``ci95_halfwidth`` (t-based), ``n``, and ``values``
        (list of the sample values).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for s in sizes:
        s = int(s)
        if s < 1 or s > min(volume.shape):
            raise ParameterError(f"sizes: {s} outside [1, {min(volume.shape)}] voxels")
        vals = []
        for _ in range(n_samples):
            o = [int(rng.integers(0, n - s + 1)) for n in volume.shape]
            sub = volume.subvolume(tuple(slice(a, a + s) for a in o)).compute()
            vals.append(float(metric(sub)))
        v = np.asarray(vals)
        m = float(np.nanmean(v))
        sd = float(np.nanstd(v, ddof=1)) if len(v) > 1 else float("nan")
        half = (
            float(stats.t.ppf(0.975, len(v) - 1) * sd / np.sqrt(len(v))) if len(v) > 1 else np.nan
        )
        rows.append(
            {
                "size_vox": s,
                "size_m": s * volume.voxel_size[0],
                "mean": m,
                "std": sd,
                "cv": sd / abs(m) if m else float("nan"),
                "ci95_halfwidth": half,
                "n": len(v),
                "values": vals,
            }
        )
    return pd.DataFrame(rows)


def samples_needed(std: float, half_width: float, confidence: float = 0.95) -> int:
    """Samples (sub-volumes or particles) for a confidence interval of +-``half_width``.

    Normal approximation ``n = (z std / half_width)^2`` rounded up.
    """
    if not (0 < confidence < 1):
        raise ParameterError(f"confidence = {confidence!r}; allowed: (0, 1)")
    if not half_width > 0:
        raise ParameterError(f"half_width = {half_width!r}; allowed: > 0")
    z = stats.norm.ppf(0.5 + confidence / 2)
    return int(np.ceil((z * std / half_width) ** 2))


def rev_size(curve: pd.DataFrame, cv_target: float = 0.05) -> int | None:
    """Smallest sub-volume edge (voxels) whose coefficient of variation is below target
    and stays below it for all larger sizes; None when no size qualifies."""
    ok = (curve["cv"] <= cv_target).to_numpy()
    for i in range(len(ok)):
        if ok[i:].all():
            return int(curve["size_vox"].iloc[i])
    return None


def particle_sampling(values: Sequence[float], half_width: float, confidence: float = 0.95) -> dict:
    """How many particles give the mean of a per-particle property to +-``half_width``.

    Returns the sample mean, std, the current CI half-width and the number needed.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        raise ParameterError("particle_sampling needs at least 2 finite values")
    sd = float(v.std(ddof=1))
    z = stats.norm.ppf(0.5 + confidence / 2)
    return {
        "mean": float(v.mean()),
        "std": sd,
        "n": int(v.size),
        "ci_halfwidth": float(z * sd / np.sqrt(v.size)),
        "n_needed": samples_needed(sd, half_width, confidence),
    }
