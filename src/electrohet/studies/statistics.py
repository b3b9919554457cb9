"""Statistics of a rate study: gamma of each design, its labels and the summary table.

gamma = 2^-alpha of the Peukert fit E = beta I^-alpha (docs/physics.md §4.1) of a
design's discharge energies; the label against the reference is either a fixed relative
tolerance (:func:`label_design`) or the posterior probability that the design beats the
reference (:func:`label_probability`); :func:`summary_table` is the study's table
(energies, capacities, fit, true and inferred layer utilisation, labels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from electrohet.analysis.rate_capability import fit_peukert, layer_utilization
from electrohet.studies.runner import DesignRuns
from electrohet.studies.settings import StudySettings

__all__ = ["gamma_of_energies", "label_design", "label_probability", "summary_table"]


def label_design(gamma: float, gamma_ref: float, rtol: float = 0.01) -> str:
    """Constructive / destructive / same for a *simulated* design.

    Simulations carry no measurement noise: the standard error of a Peukert fit to
    model energies measures how far the energies are from a power law, not
    uncertainty.  So a simulated design is labelled by a stated tolerance: constructive
    when gamma > (1 + rtol) gamma_ref, destructive when gamma < (1 - rtol) gamma_ref,
    else same.  For measured data use
    :func:`electrohet.analysis.rate_capability.compare_designs` (uncertainty-aware).
    """
    if gamma > (1.0 + rtol) * gamma_ref:
        return "constructive"
    if gamma < (1.0 - rtol) * gamma_ref:
        return "destructive"
    return "same"


def gamma_of_energies(currents: np.ndarray, energy: np.ndarray) -> float:
    """gamma of a Peukert fit, NaN for a rerun that failed (NaN or zero energies)."""
    if not np.all(np.isfinite(energy)) or np.any(np.asarray(energy) <= 0):
        return float("nan")
    return fit_peukert(currents, energy).gamma


def label_probability(
    dgamma_samples: Sequence[float],
    weights: Sequence[float] | np.ndarray | None = None,
    resolution: float = 1e-3,
) -> tuple[float, float, int]:
    """Posterior probability that a design beats the reference, and the spread of dgamma.

    ``dgamma_samples`` = gamma(design) - gamma(reference) rerun at each posterior sample
    of the calibrated parameters (:meth:`~electrohet.studies.calibration.Calibration.
    sample_params`), ``weights`` their importance weights.  Each sample counts with the
    probability Phi(dgamma_i / resolution) that it is positive given the discretisation's
    resolution, so P(constructive) = sum_i w_i Phi(dgamma_i / resolution); a sample
    whose runs failed (NaN) is left out and the weights renormalised.

    Returns
    -------
    p, sd, n
        P(constructive) [-], the weighted standard deviation of dgamma [-] (resolution
        added in quadrature) and the number of samples used.
    """
    from scipy.special import ndtr

    d = np.asarray(dgamma_samples, dtype=float)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=float)
    ok = np.isfinite(d) & (w > 0)
    if not np.any(ok):
        return float("nan"), float("nan"), 0
    d, w = d[ok], w[ok] / w[ok].sum()
    p = float(np.sum(w * ndtr(d / resolution)))
    mean = float(np.sum(w * d))
    sd = float(np.sqrt(np.sum(w * (d - mean) ** 2) + resolution**2))
    return p, sd, int(ok.sum())


def summary_table(
    runs: Sequence[DesignRuns],
    standalone: dict[float, DesignRuns],
    settings: StudySettings,
    reference: str,
    label_rtol: float = 0.01,
    sample_weights: Sequence[float] | None = None,
) -> pd.DataFrame:
    """The rate study's table: one row per design.

    Parameters
    ----------
    runs
        Every design's runs (one named ``reference``).
    standalone
        Single layers by carbon fraction [-] (Yari's Q1, Q2 for the inferred u2, psi).
    settings
        The study's settings (rates, labelling).
    reference
        Name of the homogeneous reference design.
    label_rtol
        Relative gamma tolerance of :func:`label_design` when there are no reruns.
    sample_weights
        Weights of the posterior reruns in :attr:`DesignRuns.variant_energy`; ``None`` or
        empty = no reruns (fixed-tolerance labels).

    Returns
    -------
    pandas.DataFrame
        Energies [Wh/m^2] and specific capacities [mAh/g] per rate, the Peukert fit
        (alpha, gamma with standard errors), true and inferred layer utilisation at 1C,
        dgamma against the reference with its spread, P(constructive) and the label.
    """
    sample_w = np.asarray(sample_weights if sample_weights is not None else [], dtype=float)
    variants = sample_w.size > 0
    names = [r.design.name for r in runs]
    ref_run = runs[names.index(reference)]
    currents = np.asarray(settings.rates, float)
    fits = {r.design.name: fit_peukert(currents, r.energy, source=r.design.name) for r in runs}
    ref_fit = fits[reference]
    ref_shifted = [gamma_of_energies(currents, e) for e in ref_run.variant_energy]
    rows = []
    i1 = int(np.argmin(np.abs(currents - 1.0)))
    rate1 = float(currents[i1])
    for run in runs:
        d = run.design
        fit = fits[d.name]
        loads = run.active_loading
        q_spec = run.capacity / loads.sum() * 1e3 / 1e3  # Ah/m^2 / kg/m^2 = mAh/g
        row = {
            "design": d.name,
            "fc_bottom": d.fc_bottom,
            "fc_top": d.fc_top if d.fc_top is not None else d.fc_bottom,
            "delta": round(d.delta, 3),
        }
        for k, rate in enumerate(currents):
            row[f"E_{rate:g}C_Wh_m2"] = run.energy[k]
            row[f"Q_{rate:g}C_mAh_g"] = q_spec[k]
        row.update(alpha=fit.alpha, alpha_se=fit.alpha_se, gamma=fit.gamma, gamma_se=fit.gamma_se)
        if d.layered:
            # layers by position, never by index: bottom = at the current collector
            ub, ut = run.utilization("collector", rate1), run.utilization("separator", rate1)
            row["u_bottom_1C"], row["u_top_1C"] = ub, ut
            row["psi_true_1C"] = ub / (ub + ut)
            w1 = run.loading("collector") / loads.sum()
            w2 = run.loading("separator") / loads.sum()
            q1 = standalone[d.fc_bottom].capacity[i1] / standalone[d.fc_bottom].active_loading.sum()
            q2 = standalone[d.fc_top].capacity[i1] / standalone[d.fc_top].active_loading.sum()  # type: ignore[index]
            lu = layer_utilization(q_spec[i1], q1, q2, w1, w2)
            row["u2_inferred_1C"] = float(np.asarray(lu.u2))
            row["psi_inferred_1C"] = float(np.asarray(lu.psi))
        else:
            u = run.utilization("collector", rate1)
            row["u_bottom_1C"] = row["u_top_1C"] = u
            row["psi_true_1C"] = 0.5
            row["u2_inferred_1C"] = 1.0
            row["psi_inferred_1C"] = 0.5
        dgamma = fit.gamma - ref_fit.gamma
        row["dgamma"] = dgamma
        if run is ref_run:
            row["dgamma_sd"], row["p_constructive"], row["label"] = 0.0, np.nan, "reference"
        elif variants:
            dg = [
                gamma_of_energies(currents, e) - g_ref
                for e, g_ref in zip(run.variant_energy, ref_shifted, strict=True)
            ]
            p, sd, n_ok = label_probability(dg, sample_w, settings.gamma_resolution)
            row["n_reruns"] = n_ok
            row["dgamma_sd"], row["p_constructive"] = sd, p
            c = settings.label_confidence
            row["label"] = "constructive" if p >= c else "destructive" if p <= 1 - c else "same"
        else:
            row["dgamma_sd"], row["p_constructive"] = np.nan, np.nan
            row["label"] = label_design(fit.gamma, ref_fit.gamma, label_rtol)
        row["paper_label"] = d.paper_label
        rows.append(row)
    return pd.DataFrame(rows)
