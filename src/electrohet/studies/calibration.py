"""Calibrate the rate-study mechanism on *single* layers only (Yari 2020 anchors).

The default rate-study model (:mod:`electrohet.studies.rate_study`) carries two
carbon-dependent mechanisms with three constants:

* the coating / current-collector contact resistance at 2.5 wt% carbon, ``r_ref``
  [Ohm m^2], and its percolation exponent ``t`` [-]
  (:class:`~electrohet.design.conductivity.InterfaceResistanceLaw`);
* the wiring constriction ``c`` [-] of poorly wired particles
  (:class:`~electrohet.design.distributions.ContactPaths`).

They are fitted to Yari 2020's single-layer rate-capability coefficients only (§3.3.1
of the paper; docs/physics.md §4.1): gamma "about 0.90" at 4 wt%, "below 0.85" at
1.5 wt% and "less than 0.7" at 1 wt% carbon, read as the targets below with a stated
spread (an assumption, documented in ``docs/model.md``), with Gaussian priors from
independent evidence
(:data:`PRIORS`).  The six bilayers are *not* used: they are predicted afterwards.

The procedure is pre-registered: :func:`calibrate` (maximum a posteriori, Laplace
covariance) and :func:`posterior_samples` (importance sampling, >= 200 samples) are run
by ``benchmarks/calibrate_yari2020.py``, which freezes the result with its priors and
targets in :mod:`electrohet.calibrations` *before* any bilayer is run.  The rate study
reads that frozen file; the scoreboard (``electrohet validate``) checks its hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from electrohet.calibrations import load
from electrohet.errors import ParameterError, SolverError
from electrohet.sweeps import run_jobs, session

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
        :func:`posterior_samples`), empty if none.
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


def single_layer_gammas(params: dict[str, float], settings, fcs) -> dict[float, float]:
    """Gamma of single layers with carbon fractions ``fcs`` for parameter set ``params``.

    Raises
    ------
    SolverError
        Naming the parameter set, when a run fails.
    """
    from electrohet.studies.rate_study import (
        LayerDesign,
        gamma_of_energies,
        run_designs,
        yari2020_cell_factory,
    )

    st = replace(settings, **params)
    designs = [LayerDesign(f"single {100 * fc:g}%", fc) for fc in fcs]
    try:
        runs = run_designs(designs, st, yari2020_cell_factory)
    except SolverError as exc:
        shown = ", ".join(f"{k} = {v:.4g}" for k, v in params.items())
        raise SolverError(f"single layers at ({shown}) failed: {exc}") from None
    return {fc: gamma_of_energies(r.rates, r.energy) for fc, r in zip(fcs, runs, strict=True)}


def _gammas_or_failure(args) -> dict[float, float] | Exception:
    """One sweep job: the single-layer gammas of a parameter set, or the error of its
    runs (returned, not raised, so one failed point does not cancel the others)."""
    params, settings, fcs = args
    try:
        return single_layer_gammas(params, settings, fcs)
    except (SolverError, ParameterError) as exc:
        return exc


def _sweep_gammas(points: list[np.ndarray], settings, fcs, label: str) -> list:
    """:func:`_gammas_or_failure` of every point (fitted coordinates), on the cluster."""
    jobs = [(to_params(q), settings, fcs) for q in points]
    return run_jobs(
        _gammas_or_failure,
        jobs,
        getattr(settings, "processes", 1),
        label=label,
        scheduler=getattr(settings, "scheduler", None),
    )


def _prior_arrays(priors: dict[str, tuple[float, float, str]]) -> tuple[np.ndarray, np.ndarray]:
    mu = np.array([priors[k][0] for k in PARAMETERS], dtype=float)
    sd = np.array([priors[k][1] for k in PARAMETERS], dtype=float)
    return mu, sd


def calibrate(
    settings,
    start: tuple[float, float, float] | None = None,
    targets: dict[float, tuple[float, float]] | None = None,
    max_iter: int = 10,
    step: float = 0.05,
    progress: bool = False,
    priors: dict[str, tuple[float, float, str]] | None = None,
) -> Calibration:
    """Maximum a posteriori fit of (log10 r_ref, t, log10 c) to single-layer gammas.

    Gauss-Newton (Levenberg-damped, backtracking) on the weighted residuals of the
    single-layer anchors and of the three Gaussian priors; the Laplace covariance
    (J^T W J)^-1 at the optimum is returned.  A failed run at a trial point counts as
    an infinite misfit (the step is halved); a failure at the start or in the final
    Jacobian raises a :class:`~electrohet.errors.SolverError` naming the parameters.
    The runs go to one Dask cluster for the whole fit (:func:`electrohet.sweeps.session`:
    ``settings.processes`` local workers or ``settings.scheduler``); the points of a
    Jacobian run in parallel.

    Parameters
    ----------
    settings
        :class:`~electrohet.studies.rate_study.StudySettings` (mesh, protocol,
        mechanisms); its own parameter values are replaced.
    start
        Initial fitted coordinates (default: the prior means).
    targets
        {carbon fraction: (gamma, spread)}; default :data:`SINGLE_LAYER_TARGETS`.
    max_iter
        Gauss-Newton iterations (stops earlier when the step is < 1e-3).
    step
        Finite-difference step in the fitted coordinates.
    priors
        {parameter: (mean, sd, source)}; default :data:`PRIORS`.
    """
    tg = targets or SINGLE_LAYER_TARGETS
    pr = priors or PRIORS
    mu, sd = _prior_arrays(pr)
    fcs = sorted(tg)
    n_t = len(fcs)
    y = np.array([tg[f][0] for f in fcs] + list(mu))
    w = 1.0 / np.array([tg[f][1] for f in fcs] + list(sd))
    p = np.array(mu if start is None else start, dtype=float)

    def model(q: np.ndarray) -> np.ndarray:
        g = single_layer_gammas(to_params(q), settings, fcs)
        return np.array([g[f] for f in fcs] + list(q))

    def jacobian(q: np.ndarray, fq: np.ndarray) -> np.ndarray:
        # forward differences (the points in parallel); a backward one where the forward
        # point's runs fail
        J = np.zeros((n_t + q.size, q.size))
        steps = [step * e for e in np.eye(q.size)]
        forward = _sweep_gammas([q + dp for dp in steps], settings, fcs, "Jacobian points")
        for i, (dp, g) in enumerate(zip(steps, forward, strict=True)):
            if isinstance(g, SolverError):
                J[:, i] = (fq - model(q - dp)) / step
            elif isinstance(g, Exception):
                raise g
            else:
                J[:, i] = (np.array([g[f] for f in fcs] + list(q + dp)) - fq) / step
        return J

    with session(getattr(settings, "processes", 1), getattr(settings, "scheduler", None)):
        return _gauss_newton(model, jacobian, p, y, w, n_t, fcs, max_iter, progress)


def _gauss_newton(model, jacobian, p, y, w, n_t, fcs, max_iter, progress) -> Calibration:
    """Levenberg-damped Gauss-Newton of :func:`calibrate` and its Laplace covariance."""
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
    mu, sd = _prior_arrays(priors or PRIORS)
    ll = sum(-0.5 * ((gammas[f] - g) / s) ** 2 for f, (g, s) in tg.items())
    lp = float(np.sum(-0.5 * ((np.asarray(q) - mu) / sd) ** 2))
    return float(ll + lp)


def posterior_samples(
    cal: Calibration,
    settings,
    n: int = 200,
    widen: float = 1.5,
    seed: int = 20261207,
    targets: dict[float, tuple[float, float]] | None = None,
    priors: dict[str, tuple[float, float, str]] | None = None,
    progress: bool = False,
    record=None,
) -> Calibration:
    """Importance samples of the posterior from a widened Laplace proposal.

    Draws ``n`` points from N(p_MAP, widen^2 Cov), runs the single layers of every
    target carbon fraction at each (the points in parallel on a Dask cluster:
    ``settings.processes`` local workers or ``settings.scheduler``, see
    :mod:`electrohet.sweeps`), and weights them by posterior / proposal density.
    Points whose runs fail get weight 0 (their number is in the returned progress
    printout and in ``weights == 0``).  The directions the anchors do not constrain are
    sampled from their prior width, so quantities that depend on them non-linearly get
    their full spread (unlike a first-order propagation).

    ``record``, if given, is called with a dict per sample (index, coordinates, gammas or
    the failure), e.g. to append them to a log as they finish (in the order they
    finish).

    Returns
    -------
    Calibration
        ``cal`` with ``samples`` and normalised ``weights``.
    """
    tg = targets or SINGLE_LAYER_TARGETS
    rng = np.random.default_rng(seed)
    cov_q = widen**2 * cal.covariance
    L = np.linalg.cholesky(cov_q)
    z = rng.standard_normal((n, cal.log10_params.size))
    qs = cal.log10_params + z @ L.T
    log_q = -0.5 * np.sum(z * z, axis=1)  # proposal density up to a constant
    logw = np.full(n, -np.inf)
    fcs = sorted(tg)

    def finished(i: int, g: dict[float, float] | Exception) -> None:
        q = qs[i]
        if isinstance(g, Exception):
            # a failed run, or a point outside the model's parameter ranges (e.g. a
            # constriction above 1e4, > 3 prior sd away): weight 0, counted
            if progress:
                print(f"sample {i}: failed ({g}); weight 0", flush=True)
            if record is not None:
                record({"i": i, "q": q.tolist(), "failed": str(g)})
            return
        logw[i] = log_posterior(q, g, tg, priors) - log_q[i]
        if record is not None:
            record({"i": i, "q": q.tolist(), "gamma": {f"{k:g}": v for k, v in g.items()}})
        if progress and i % 10 == 0:
            print(f"sample {i}/{n}")

    jobs = [(to_params(q), settings, fcs) for q in qs]
    run_jobs(
        _gammas_or_failure,
        jobs,
        getattr(settings, "processes", 1),
        label="posterior samples",
        scheduler=getattr(settings, "scheduler", None),
        on_result=finished,
    )
    wts = np.exp(logw - np.max(logw))
    wts /= wts.sum()
    return replace(cal, samples=qs, weights=wts)


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


def __getattr__(name: str):
    # the frozen fit is read lazily (importing this module must not need the file)
    if name == "YARI2020_SINGLE_LAYER_FIT":
        return from_frozen("yari2020_single_layer")
    raise AttributeError(name)
