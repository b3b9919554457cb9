"""The Yari 2020 single-layer calibration: its anchors, priors and posterior.

The default rate-study model (:mod:`electrohet.studies.rate_study`) carries two
carbon-dependent mechanisms with three constants (:data:`PARAMETERS`): the coating /
current-collector contact resistance at 2.5 wt% carbon ``r_ref`` [Ohm m^2] and its
percolation exponent ``t`` [-], and the wiring constriction ``c`` [-] of poorly wired
particles.  This module holds what the calibration *is*, independent of how its runs
are made: the single-layer anchors (:data:`SINGLE_LAYER_TARGETS`), the Gaussian priors
(:data:`PRIORS`), the posterior (:func:`log_posterior`), the Gauss-Newton MAP step
(:func:`gauss_newton_map`), the :class:`Calibration` result with its resampling, and
:func:`from_frozen`, the frozen fit (``yari2020_single_layer.json``, hash-checked).
The fit drivers that run the single layers are
:func:`electrohet.studies.calibration.calibrate` and
:func:`~electrohet.studies.calibration.posterior_samples`.

Pre-registered: the priors and targets here are exactly those frozen in
``yari2020_single_layer.json`` (``tests/validation/test_preregistration.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from electrohet.calibrations import load
from electrohet.errors import ParameterError, SolverError

__all__ = [
    "CONSTRICTION_PRIOR",
    "LOG_PARAMETERS",
    "PARAMETERS",
    "PRIORS",
    "SINGLE_LAYER_TARGETS",
    "Calibration",
    "from_frozen",
    "gauss_newton_map",
    "log_posterior",
    "prior_arrays",
    "to_params",
]

#: Yari 2020 single-layer anchors read as (target gamma, spread) per carbon fraction:
#: "about 0.90" -> 0.90 +- 0.01; "below 0.85" -> 0.83 +- 0.02; "less than 0.7" ->
#: 0.65 +- 0.05 (the spreads are readings of the wording, not published error bars).
SINGLE_LAYER_TARGETS: dict[float, tuple[float, float]] = {
    0.04: (0.90, 0.01),
    0.015: (0.83, 0.02),
    0.01: (0.65, 0.05),
}

PARAMETERS = ("interface_resistance_ref", "interface_exponent", "constriction")
LOG_PARAMETERS = ("interface_resistance_ref", "constriction")  # fitted as log10

#: Priors of the fitted coordinates, each from independent evidence and set before
#: any bilayer run (pre-registered in ``electrohet/calibrations``):
#:
#: * log10 r_ref [Ohm m^2] = -3 +- 1: coating/current-collector contact resistances of
#:   Li-ion cathodes measured by impedance or two-point methods lie between ~1 and
#:   ~100 Ohm cm^2 (1e-4 to 1e-2 Ohm m^2; Gaberscek et al., Electrochem. Solid-State
#:   Lett. 11 (2008) A170; Westphal et al., J. Energy Storage 11 (2017) 76); the prior
#:   centres the range at 10 Ohm cm^2 with one decade sd.
#: * t = 2.0 +- 0.5: the conductivity exponent of 3D continuum/lattice percolation,
#:   t ~ 2.0 (Stauffer & Aharony, Introduction to Percolation Theory, 1994); carbon-black
#:   composites give 1.5-3.
#: * log10 c = 2.5 +- 0.5: c = particle surface / contact cross-section; a 5 um-radius
#:   particle touching its neighbours through necks of 0.25-0.9 um radius gives
#:   c = 4 pi R^2 / (pi a^2) = 4 (R / a)^2 ~ 120-1600, i.e. log10 c = 2.5 +- 0.5.
#:
#: (Before version 2 the constriction prior was centred at 2.0 after bilayer runs had
#: been seen; that value is retired and must not be used for predictions.)
PRIORS: dict[str, tuple[float, float, str]] = {
    "interface_resistance_ref": (
        -3.0,
        1.0,
        "cathode coating/collector contact resistances 1-100 Ohm cm^2 (Gaberscek 2008 "
        "ESSL 11 A170; Westphal 2017 J. Energy Storage 11 76): log10 r_ref = -3 +- 1",
    ),
    "interface_exponent": (
        2.0,
        0.5,
        "3D percolation conductivity exponent t ~ 2.0 (Stauffer & Aharony 1994); "
        "carbon-black composites 1.5-3",
    ),
    "constriction": (
        2.5,
        0.5,
        "neck geometry: c = 4 (R/a)^2 with R = 5 um, a = 0.25-0.9 um -> 120-1600",
    ),
}

#: The constriction prior alone (mean, sd of log10 c), kept for callers of version 1.
CONSTRICTION_PRIOR: tuple[float, float] = PRIORS["constriction"][:2]


@dataclass
class Calibration:
    """Calibrated parameters, their covariance and posterior samples (fitted coordinates).

    Coordinates are those of :data:`PARAMETERS`: log10 r_ref [Ohm m^2], t [-] and
    log10 c [-].

    Attributes
    ----------
    log10_params
        Maximum a posteriori estimate.
    covariance
        3 x 3 Laplace covariance at the estimate (prior included).
    gamma
        Single-layer gamma of every target carbon fraction at the estimate.
    samples
        (n, 3) posterior samples (importance sampling from a widened Laplace proposal,
        :func:`electrohet.studies.calibration.posterior_samples`), empty if none.
    weights
        Normalised importance weights of ``samples``.
    """

    log10_params: np.ndarray
    covariance: np.ndarray
    gamma: dict[float, float]
    samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def params(self) -> dict[str, float]:
        """Parameters in SI units, keyed as in :data:`PARAMETERS`."""
        return to_params(self.log10_params)

    @property
    def std_log10(self) -> np.ndarray:
        """One standard deviation of each fitted coordinate."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def effective_sample_size(self) -> float:
        """Kish effective sample size 1 / sum w^2 of the importance weights."""
        w = self.weights
        return float(1.0 / np.sum(w * w)) if w.size else 0.0

    def sample_params(self, n: int) -> tuple[list[dict[str, float]], np.ndarray]:
        """``n`` posterior draws as unique parameter sets and their weights.

        Systematic resampling of the importance samples (offsets (k + 1/2) / n on the
        cumulative weights, deterministic): a sample drawn m times is returned once with
        weight m / n, so a study reruns each distinct point once while the weights
        stay those of n equally weighted posterior draws.
        """
        if self.samples.shape[0] == 0:
            raise ParameterError("this calibration carries no posterior samples")
        if n < 1:
            raise ParameterError(f"n = {n}: need at least one posterior draw")
        cdf = np.cumsum(self.weights / self.weights.sum())
        idx = np.searchsorted(cdf, (np.arange(n) + 0.5) / n)
        idx = np.minimum(idx, self.samples.shape[0] - 1)
        uniq, counts = np.unique(idx, return_counts=True)
        return [to_params(self.samples[i]) for i in uniq], counts / n


def to_params(p: np.ndarray) -> dict[str, float]:
    """Fitted coordinates (log10 for :data:`LOG_PARAMETERS`) -> parameters in SI units."""
    return {
        k: float(10.0**v if k in LOG_PARAMETERS else v)
        for k, v in zip(PARAMETERS, np.asarray(p, dtype=float), strict=True)
    }


def prior_arrays(priors: dict[str, tuple[float, float, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations of ``priors`` in the order of :data:`PARAMETERS`."""
    mu = np.array([priors[k][0] for k in PARAMETERS], dtype=float)
    sd = np.array([priors[k][1] for k in PARAMETERS], dtype=float)
    return mu, sd


def log_posterior(
    q: np.ndarray,
    gammas: dict[float, float],
    targets: dict[float, tuple[float, float]] | None = None,
    priors: dict[str, tuple[float, float, str]] | None = None,
) -> float:
    """Unnormalised log posterior of fitted coordinates ``q`` with single-layer ``gammas``.

    Gaussian anchors (:data:`SINGLE_LAYER_TARGETS`) times Gaussian priors (:data:`PRIORS`).
    """
    tg = targets or SINGLE_LAYER_TARGETS
    mu, sd = prior_arrays(priors or PRIORS)
    ll = sum(-0.5 * ((gammas[f] - g) / s) ** 2 for f, (g, s) in tg.items())
    lp = float(np.sum(-0.5 * ((np.asarray(q) - mu) / sd) ** 2))
    return float(ll + lp)


def gauss_newton_map(
    model: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray, np.ndarray], np.ndarray],
    p: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    fcs: list[float],
    max_iter: int = 10,
    progress: bool = False,
) -> Calibration:
    """Maximum a posteriori estimate by Levenberg-damped, backtracking Gauss-Newton, and
    its Laplace covariance (J^T W J)^-1.

    Parameters
    ----------
    model
        Fitted coordinates q -> [gamma of every carbon fraction in ``fcs``, *q] (the
        anchors, then the prior rows); raises
        :class:`~electrohet.errors.SolverError` where the runs fail (the step is then
        halved).
    jacobian
        ``jacobian(q, model(q))`` -> d model / d q.
    p
        Start point (fitted coordinates).
    y, w
        Targets (anchor gammas, then prior means) and their weights 1 / spread.
    fcs
        Carbon fractions of the anchors [-], in the order of ``model``'s first rows.
    max_iter
        Iterations (stops earlier when the step is < 1e-3).
    progress
        Print one line per iteration.
    """
    n_t = len(fcs)
    f0 = model(p)
    for it in range(max_iter):
        J = jacobian(p, f0)
        r = w * (y - f0)
        A = (w[:, None] * J).T @ (w[:, None] * J)
        lam = 1e-3 * np.trace(A)
        delta = np.linalg.solve(A + lam * np.eye(p.size), (w[:, None] * J).T @ r)
        delta = np.clip(delta, -0.5, 0.5)  # at most half a decade (or unit) per iteration
        cost0 = float(r @ r)
        for _ in range(6):  # backtrack until the weighted misfit falls
            try:
                trial = model(p + delta)
            except SolverError:
                delta = 0.5 * delta
                continue
            rt = w * (y - trial)
            if float(rt @ rt) < cost0:
                break
            delta = 0.5 * delta
        else:
            break
        p = p + delta
        f0 = trial
        if progress:
            print(f"iteration {it}: p = {p}, gamma = {f0[:n_t]}, cost = {float(rt @ rt):.4g}")
        if np.max(np.abs(delta)) < 1e-3:
            break
    J = jacobian(p, f0)
    A = (w[:, None] * J).T @ (w[:, None] * J)
    if not np.all(np.isfinite(A)) or np.linalg.cond(A) > 1e12:
        raise SolverError("calibration: the single-layer anchors do not constrain the parameters")
    cov = np.linalg.inv(A)
    return Calibration(p, cov, dict(zip(fcs, f0[:n_t].tolist(), strict=True)))


def from_frozen(cal_id: str = "yari2020_single_layer") -> Calibration:
    """The :class:`Calibration` stored in a frozen file of :mod:`electrohet.calibrations`."""
    fc = load(cal_id)
    res = fc.result
    return Calibration(
        log10_params=np.asarray(res["map"], dtype=float),
        covariance=np.asarray(res["covariance"], dtype=float),
        gamma={float(k): float(v) for k, v in res["gamma"].items()},
        samples=np.asarray(res.get("samples", np.zeros((0, 3))), dtype=float).reshape(-1, 3),
        weights=np.asarray(res.get("weights", []), dtype=float),
    )
