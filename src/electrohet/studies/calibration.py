"""Calibrate the rate-study mechanism on *single* layers only (Yari 2020 anchors): the
fit drivers that run the single layers.

What the calibration is - the anchors :data:`SINGLE_LAYER_TARGETS`, the priors
:data:`PRIORS`, the posterior, the Gauss-Newton step, :class:`Calibration` and the frozen
fit - lives in :mod:`electrohet.calibrations.yari2020` (its names are re-exported here).
This module runs the models: :func:`single_layer_gammas` (the single layers of a
parameter set), :func:`calibrate` (maximum a posteriori, Laplace covariance) and
:func:`posterior_samples` (importance sampling, >= 200 samples), their runs on the
sweep cluster (:mod:`electrohet.sweeps`).

The procedure is pre-registered: ``benchmarks/calibrate_yari2020.py`` runs it and
freezes the result with its priors and targets in :mod:`electrohet.calibrations`
*before* any bilayer is run.  The rate study reads that frozen file; the scoreboard
(``electrohet validate``) checks its hash.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from electrohet.calibrations.yari2020 import (
    CONSTRICTION_PRIOR,
    LOG_PARAMETERS,
    PARAMETERS,
    PRIORS,
    SINGLE_LAYER_TARGETS,
    Calibration,
    from_frozen,
    gauss_newton_map,
    log_posterior,
    prior_arrays,
    to_params,
)
from electrohet.errors import ParameterError, SolverError
from electrohet.sweeps import run_jobs, session

__all__ = [
    "CONSTRICTION_PRIOR",
    "LOG_PARAMETERS",
    "PARAMETERS",
    "PRIORS",
    "SINGLE_LAYER_TARGETS",
    "Calibration",
    "calibrate",
    "from_frozen",
    "log_posterior",
    "posterior_samples",
    "single_layer_gammas",
    "to_params",
]


def single_layer_gammas(params: dict[str, float], settings, fcs) -> dict[float, float]:
    """Gamma of single layers with carbon fractions ``fcs`` for parameter set ``params``.

    Raises
    ------
    SolverError
        Naming the parameter set, when a run fails.
    """
    from electrohet.design.yari2020 import LayerDesign
    from electrohet.studies.cells import yari2020_cell_factory
    from electrohet.studies.runner import run_designs
    from electrohet.studies.statistics import gamma_of_energies

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
    mu, sd = prior_arrays(pr)
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
        return gauss_newton_map(model, jacobian, p, y, w, fcs, max_iter, progress)


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


def __getattr__(name: str):
    # the frozen fit is read lazily (importing this module must not need the file)
    if name == "YARI2020_SINGLE_LAYER_FIT":
        return from_frozen("yari2020_single_layer")
    raise AttributeError(name)
