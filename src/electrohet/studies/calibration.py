"""Calibrate the rate-study mechanism on *single* layers only (Yari 2020 anchors).

The default rate-study model (:mod:`electrohet.studies.rate_study`) carries two
carbon-dependent mechanisms with one free constant each:

* the coating / current-collector contact resistance at 2.5 wt% carbon, ``r_ref``
  [Ohm m^2] (:class:`~electrohet.design.conductivity.InterfaceResistanceLaw`);
* the wiring constriction ``c`` [-] of poorly wired particles
  (:class:`~electrohet.design.distributions.ContactPaths`).

Both are fitted to Yari 2020's single-layer rate-capability coefficients only (text of
§3.3.1; docs/physics.md §4.1): gamma "about 0.90" at 4 wt%,
"below 0.85" at 1.5 wt% and "less than 0.7" at 1 wt% carbon.  The text gives no error
bars, so the anchors are read as the targets below with a stated spread (an
assumption, documented in ``docs/model.md``).  The six bilayers are *not* used: they are
predicted afterwards.

The fit is a Gauss-Newton least squares in p = (log10 r_ref, log10 c) with a
finite-difference Jacobian and a Gaussian prior on log10 c (:data:`CONSTRICTION_PRIOR`:
single-layer gammas do not constrain the wiring); its covariance ``(J^T W J)^-1``
(W = 1 / spread^2, the prior included) is the confidence region that
:func:`electrohet.studies.rate_study.rate_study` propagates to the constructive /
destructive labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from electrohet.errors import SolverError

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

#: Prior of log10 c (mean, sd).  Single-layer gammas do not constrain the wiring
#: constriction: poorly wired particles lower the capacity at every rate alike, so
#: gamma hardly moves (an unconstrained fit left log10 c with sd ~14 decades).  The
#: prior is geometric: c = particle surface / contact cross-section; a 5 um-radius
#: particle touching its neighbours through necks of 0.25-0.9 um radius gives c ~ 100-
#: 1000, i.e. log10 c = 2.5 +- 0.5.  It is an assumption, not a fit.
CONSTRICTION_PRIOR: tuple[float, float] = (2.0, 0.5)


@dataclass
class Calibration:
    """Calibrated parameters, their covariance in log10 space and the fit quality.

    Attributes
    ----------
    log10_params
        Best estimates of (log10 r_ref [Ohm m^2], log10 c [-]).
    covariance
        2 x 2 covariance of ``log10_params``.
    gamma
        Single-layer gamma of every target carbon fraction at the optimum.
    """

    log10_params: np.ndarray
    covariance: np.ndarray
    gamma: dict[float, float]

    @property
    def params(self) -> dict[str, float]:
        """Parameters in SI units, keyed as in :data:`PARAMETERS`."""
        return to_params(self.log10_params)

    @property
    def std_log10(self) -> np.ndarray:
        """One standard deviation of each log10 parameter."""
        return np.sqrt(np.diag(self.covariance))

    def shifted(self, scale: float = 1.0) -> list[dict[str, float]]:
        """Parameter sets ``scale`` standard deviations away along each Cholesky direction.

        p_i = p_hat + scale L[:, i] with L L^T = covariance: the reruns of a first-order
        propagation (the response to z ~ N(0, I) is
        sum_i z_i (f(p_i) - f(p_hat)) / scale).
        """
        L = np.linalg.cholesky(self.covariance)
        out = []
        for i in range(L.shape[1]):
            out.append(to_params(self.log10_params + scale * L[:, i]))
        return out


def to_params(p: np.ndarray) -> dict[str, float]:
    """Fitted coordinates (log10 for :data:`LOG_PARAMETERS`) -> parameters in SI units."""
    return {
        k: float(10.0**v if k in LOG_PARAMETERS else v)
        for k, v in zip(PARAMETERS, np.asarray(p, dtype=float), strict=True)
    }


def single_layer_gammas(params: dict[str, float], settings, fcs) -> dict[float, float]:
    """Gamma of single layers with carbon fractions ``fcs`` for parameter set ``params``."""
    from electrohet.analysis.rate_capability import fit_peukert
    from electrohet.studies.rate_study import LayerDesign, run_designs, yari2020_cell_factory

    st = replace(settings, **params)
    designs = [LayerDesign(f"single {100 * fc:g}%", fc) for fc in fcs]
    runs = run_designs(designs, st, yari2020_cell_factory)
    return {fc: fit_peukert(r.rates, r.energy).gamma for fc, r in zip(fcs, runs, strict=True)}


def calibrate(
    settings,
    start: tuple[float, float, float] = (-3.0, 2.0, 2.0),
    targets: dict[float, tuple[float, float]] | None = None,
    max_iter: int = 8,
    step: float = 0.05,
    progress: bool = False,
    prior: tuple[float, float] = CONSTRICTION_PRIOR,
) -> Calibration:
    """Fit (log10 r_ref, log10 c) to single-layer gamma targets (Gauss-Newton).

    Parameters
    ----------
    settings
        :class:`~electrohet.studies.rate_study.StudySettings` of the study (mesh,
        protocol, mechanisms); its own parameter values are replaced.
    start
        Initial log10 parameters.
    targets
        {carbon fraction: (gamma, spread)}; default :data:`SINGLE_LAYER_TARGETS`.
    max_iter
        Gauss-Newton iterations (stops earlier when the step is < 1e-3 decades).
    step
        Finite-difference step [decades].
    prior
        (mean, sd) of log10 c, added to the least squares as one more residual
        (:data:`CONSTRICTION_PRIOR`); the anchors alone leave c undetermined.
    """
    tg = targets or SINGLE_LAYER_TARGETS
    fcs = sorted(tg)
    n_t = len(fcs)
    # the anchors plus the prior of log10 c as one more "observation" of the parameters
    y = np.array([tg[f][0] for f in fcs] + [prior[0]])
    w = 1.0 / np.array([tg[f][1] for f in fcs] + [prior[1]])
    p = np.asarray(start, dtype=float)

    def model(q: np.ndarray) -> np.ndarray:
        g = single_layer_gammas(to_params(q), settings, fcs)
        return np.array([g[f] for f in fcs] + [q[2]])

    f0 = model(p)
    J = np.zeros((n_t + 1, p.size))
    for it in range(max_iter):
        for i in range(p.size):
            dp = np.zeros_like(p)
            dp[i] = step
            J[:, i] = (model(p + dp) - f0) / step
        r = w * (y - f0)
        A = (w[:, None] * J).T @ (w[:, None] * J)
        lam = 1e-3 * np.trace(A)
        delta = np.linalg.solve(A + lam * np.eye(p.size), (w[:, None] * J).T @ r)
        delta = np.clip(delta, -0.5, 0.5)  # at most half a decade (or unit) per iteration
        cost0 = float(r @ r)
        # backtrack until the weighted misfit falls
        for _ in range(6):
            trial = model(p + delta)
            rt = w * (y - trial)
            if float(rt @ rt) < cost0:
                break
            delta = 0.5 * delta
        else:
            break
        p = p + delta
        f0 = trial
        if progress:
            print(f"iteration {it}: p = {p}, gamma = {f0}, cost = {float(rt @ rt):.4g}")
        if np.max(np.abs(delta)) < 1e-3:
            break
    for i in range(p.size):  # Jacobian at the optimum
        dp = np.zeros_like(p)
        dp[i] = step
        J[:, i] = (model(p + dp) - f0) / step
    A = (w[:, None] * J).T @ (w[:, None] * J)
    if not np.all(np.isfinite(A)) or np.linalg.cond(A) > 1e12:
        raise SolverError("calibration: the single-layer anchors do not constrain the parameters")
    cov = np.linalg.inv(A)
    return Calibration(p, cov, dict(zip(fcs, f0[:n_t].tolist(), strict=True)))


#: Result of :func:`calibrate` with the default
#: :class:`~electrohet.studies.rate_study.StudySettings` (6 cells per layer, 10 shells,
#: 2 wiring classes) from (-3, 1, 2), 4 iterations: r_ref = 4.27e-3 Ohm m^2 = 43 Ohm cm^2
#: at 2.5 wt% carbon (sd 0.083 decades, x/ 1.21), t = 0.85 +- 0.19, c = 118 (sd 0.49
#: decades, i.e. the prior); single-layer gamma 0.643 / 0.836 / 0.893 at 1 / 1.5 / 4 wt%
#: against the targets 0.65 / 0.83 / 0.90.  Reproduced by ``tests/studies`` (slow).
YARI2020_SINGLE_LAYER_FIT = Calibration(
    log10_params=np.array([-2.369255093227849, 0.8454162184817745, 2.0734472759321956]),
    covariance=np.array(
        [
            [0.0069681258520572645, -0.013822865402359484, -0.026063448071676217],
            [-0.013822865402359484, 0.034717311343026185, 0.032429397881942705],
            [-0.026063448071676217, 0.032429397881942705, 0.24162404903844248],
        ]
    ),
    gamma={0.01: 0.6427937276916413, 0.015: 0.8361843433101642, 0.04: 0.8930469957923606},
)
