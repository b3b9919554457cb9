"""The rate-study mechanisms: interface resistance, wiring, labels with uncertainty."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from electrohet.calibrations.yari2020 import Calibration, from_frozen, prior_arrays
from electrohet.design.conductivity import InterfaceResistanceLaw
from electrohet.model import MeshOptions, Simulation
from electrohet.studies.rate_study import (
    YARI2020_CALIBRATION,
    LayerDesign,
    StudySettings,
    label_probability,
    yari2020_cell_factory,
)


def test_interface_resistance_follows_the_layer_at_the_foil():
    st = StudySettings(wiring=False)
    law = InterfaceResistanceLaw(
        YARI2020_CALIBRATION["interface_resistance_ref"],
        exponent=YARI2020_CALIBRATION["interface_exponent"],
    )
    rich = yari2020_cell_factory(LayerDesign("4/1", 0.04, 0.01), st)
    poor = yari2020_cell_factory(LayerDesign("1/4", 0.01, 0.04), st)
    assert rich.positive.layers[0].name == "bottom"
    assert rich.contact_resistance == pytest.approx(law(0.04))
    assert poor.contact_resistance == pytest.approx(law(0.01))
    off = yari2020_cell_factory(LayerDesign("1/4", 0.01, 0.04), StudySettings(interface=False))
    assert off.contact_resistance == 0.0


def test_interface_resistance_is_a_series_ohmic_drop():
    """Under a fixed current a series resistance r shifts V by exactly -I r (analytic)."""
    st = StudySettings(wiring=False, points_per_layer=3, radial_points=6)
    d = LayerDesign("1/4", 0.01, 0.04, 0.516)
    with_r = yari2020_cell_factory(d, st)
    without = yari2020_cell_factory(d, StudySettings(wiring=False, interface=False))
    assert with_r.contact_resistance > 0
    runs = []
    for cell in (with_r, without.with_(positive=with_r.positive)):
        sim = Simulation(cell, MeshOptions(radial_points=6))
        runs.append(sim.solve("Discharge at 1C for 10 minutes", initial_soc=1.0))
    a, b = runs
    np.testing.assert_allclose(a.time.values[-1], b.time.values[-1])
    i = float(a.current[-1])
    dv = np.interp(b.time.values[1:], a.time.values, a.voltage.values) - b.voltage.values[1:]
    # same internal dynamics (current prescribed): only the I r drop differs; the two
    # runs take different steps, so compare after interpolation (tolerance 0.1 mV)
    np.testing.assert_allclose(dv, -i * with_r.contact_resistance, atol=1e-4)


def test_label_probability_is_the_weighted_posterior_probability():
    """P = sum_i w_i Phi(dgamma_i / resolution); NaN samples are left out and the
    weights renormalised; the sd is the weighted sd with the resolution in quadrature."""
    d = np.array([0.01, -0.002, np.nan, 0.004])
    w = np.array([0.5, 0.25, 0.2, 0.05])
    p, sd, n = label_probability(d, w, resolution=1e-3)
    ok = np.isfinite(d)
    wn = w[ok] / w[ok].sum()
    assert n == 3
    assert p == pytest.approx(float(np.sum(wn * norm.cdf(d[ok] / 1e-3))))
    m = float(np.sum(wn * d[ok]))
    assert sd == pytest.approx(np.sqrt(np.sum(wn * (d[ok] - m) ** 2) + 1e-6))
    # identical designs: probability one half whatever the weights
    assert label_probability([0.0, 0.0], [0.3, 0.7])[0] == pytest.approx(0.5)
    # no usable sample -> NaN, counted as 0
    assert np.isnan(label_probability([np.nan])[0])


def test_importance_weights_recover_a_known_posterior(monkeypatch):
    """posterior_samples on a linear toy model (gamma linear in the parameters): the
    weighted sample mean matches the analytic Gaussian posterior mean to within the
    Monte Carlo error, and a failing point gets weight 0 (procedure, no solver)."""
    from electrohet.errors import SolverError
    from electrohet.studies import calibration as calmod

    A = np.array([[0.05, 0.02, 0.0], [0.0, 0.04, 0.01], [0.02, 0.0, 0.03]])
    fcs = sorted(calmod.SINGLE_LAYER_TARGETS)
    calls = {"n": 0}

    def fake(params, settings, f):
        calls["n"] += 1
        if calls["n"] == 5:
            raise SolverError("toy failure")
        q = np.array(
            [
                np.log10(params["interface_resistance_ref"]),
                params["interface_exponent"],
                np.log10(params["constriction"]),
            ]
        )
        g = 0.8 + A @ q
        return dict(zip(fcs, g, strict=True))

    monkeypatch.setattr(calmod, "single_layer_gammas", fake)
    tg = calmod.SINGLE_LAYER_TARGETS
    mu, sd = prior_arrays(calmod.PRIORS)
    y = np.array([tg[f][0] for f in fcs]) - 0.8
    s = np.array([tg[f][1] for f in fcs])
    prec = A.T @ np.diag(1 / s**2) @ A + np.diag(1 / sd**2)
    cov = np.linalg.inv(prec)
    mean = cov @ (A.T @ (y / s**2) + mu / sd**2)
    cal = Calibration(mean + 0.05, cov, {})
    out = calmod.posterior_samples(cal, None, n=4000, widen=1.5, seed=1)
    assert out.weights[4] == 0.0 and out.weights.sum() == pytest.approx(1.0)
    est = out.weights @ out.samples
    se = np.sqrt(np.diag(cov) / out.effective_sample_size)
    np.testing.assert_array_less(np.abs(est - mean), 4 * se)


def test_systematic_resampling_keeps_the_weights():
    """Resampled multiplicities / n approach the importance weights (|error| <= 1/n)."""
    rng = np.random.default_rng(0)
    w = rng.random(50)
    w /= w.sum()
    cal = Calibration(np.zeros(3), np.eye(3), {}, rng.normal(size=(50, 3)), w)
    n = 400
    sets, ww = cal.sample_params(n)
    cdf = np.cumsum(w)
    idx = np.searchsorted(cdf, (np.arange(n) + 0.5) / n)
    uniq = np.unique(idx)
    np.testing.assert_array_less(np.abs(ww - w[uniq]), 1.0 / n + 1e-12)
    assert len(sets) == uniq.size


def test_frozen_calibration_is_a_proper_posterior():
    cal = from_frozen("yari2020_single_layer")
    assert np.all(np.linalg.eigvalsh(cal.covariance) > 0)
    assert cal.samples.shape[0] >= 200 and cal.weights.sum() == pytest.approx(1.0)
    sets, w = cal.sample_params(10)
    assert 1 <= len(sets) <= 10 and w.sum() == pytest.approx(1.0)
    assert np.allclose(w * 10, np.round(w * 10))  # multiplicities of 10 draws
    assert set(sets[0]) == {"interface_resistance_ref", "interface_exponent", "constriction"}


@pytest.mark.slow
def test_calibration_reproduces_the_frozen_fit():
    """Re-running the MAP fit from the frozen optimum moves it by < 0.02 (procedure)."""
    from electrohet.studies.calibration import calibrate

    fit = from_frozen("yari2020_single_layer")
    cal = calibrate(StudySettings(processes=2), start=tuple(fit.log10_params), max_iter=1)
    np.testing.assert_allclose(cal.log10_params, fit.log10_params, atol=0.02)
    for fc, g in fit.gamma.items():
        assert cal.gamma[fc] == pytest.approx(g, abs=2e-3)


def test_switches_and_fixed_tolerance_path():
    """Mechanisms off + through-plane-limited bulk: no contact resistance, no wiring
    classes, no reruns; labels by the fixed tolerance."""
    from electrohet.studies.rate_study import rate_study

    st = StudySettings(
        rates=(0.5, 1.0, 2.0),
        points_per_layer=3,
        radial_points=6,
        processes=1,
        wiring=False,
        interface=False,
        through_plane_limited=True,
    )
    cell = yari2020_cell_factory(LayerDesign("1/4", 0.01, 0.04), st)
    assert cell.contact_resistance == 0.0 and cell.positive.layers[0].particles.n_classes == 1
    designs = [LayerDesign("single", 0.025), LayerDesign("1/4", 0.01, 0.04, 0.516)]
    study = rate_study(designs, st)
    t = study.table.set_index("design")
    assert np.isnan(t.loc["1/4", "p_constructive"])
    assert t.loc["1/4", "label"] in ("constructive", "destructive", "same")
    assert study.runs[1].variant_energy.size == 0
