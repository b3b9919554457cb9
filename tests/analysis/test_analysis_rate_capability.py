import math

import numpy as np
import pytest

from electrohet.analysis.rate_capability import (
    PeukertFit,
    compare_designs,
    compare_values,
    fit_peukert,
    layer_utilization,
)
from electrohet.errors import DataError

RATES = np.array([0.5, 1.0, 2.0, 3.0])  # Yari 2020 rate test, C


def test_exact_power_law_is_recovered():
    # noiseless data: alpha, beta exact to round-off (1e-12 relative)
    y = 150.0 * RATES**-0.2
    fit = fit_peukert(RATES, y)
    assert fit.alpha == pytest.approx(0.2, rel=1e-12)
    assert fit.beta == pytest.approx(150.0, rel=1e-12)
    assert fit.gamma == pytest.approx(2**-0.2, rel=1e-12)
    assert fit.alpha_se == pytest.approx(0.0, abs=1e-12)
    assert fit.n == 4 and fit.dof == 2
    np.testing.assert_allclose(fit.predict(RATES), y, rtol=1e-12)


def test_against_scipy_linregress():
    from scipy import stats

    rng = np.random.default_rng(1)
    i = np.repeat(RATES, 3)
    y = 2.0 * i**-0.3 * np.exp(rng.normal(0, 0.02, i.size))
    fit = fit_peukert(i, y)
    ref = stats.linregress(np.log(i), np.log(y))
    # same estimator: agreement to round-off
    assert fit.alpha == pytest.approx(-ref.slope, rel=1e-10)
    assert fit.alpha_se == pytest.approx(ref.stderr, rel=1e-10)
    assert fit.log_beta_se == pytest.approx(ref.intercept_stderr, rel=1e-10)
    assert fit.gamma_se == pytest.approx(math.log(2) * fit.gamma * fit.alpha_se, rel=1e-12)
    lo, hi = fit.gamma_ci
    assert lo < fit.gamma < hi


def test_gamma_ci_coverage_over_seeded_repeats():
    """95 % CIs of alpha and gamma must cover the truth in >= 90 % of 200 repeats.

    Truth alpha = 0.35 (gamma = 0.785, a carbon-poor electrode), 4 rates, 2 %
    multiplicative noise. Expected coverage 95 %; the binomial SD over 200 repeats
    is 1.5 %, so >= 90 % fails only for a real miscalibration.
    """
    rng = np.random.default_rng(20240501)
    alpha, beta = 0.35, 160.0
    hit_a = hit_g = 0
    for _ in range(200):
        y = beta * RATES**-alpha * np.exp(rng.normal(0.0, 0.02, RATES.size))
        f = fit_peukert(RATES, y)
        hit_a += f.alpha_ci[0] <= alpha <= f.alpha_ci[1]
        hit_g += f.gamma_ci[0] <= 2**-alpha <= f.gamma_ci[1]
    assert hit_a / 200 >= 0.90
    assert hit_g / 200 >= 0.90


@pytest.mark.parametrize(
    "current, value, msg",
    [
        ([1, 2], [1.0, 0.9], "at least 3 distinct"),
        ([1, 1, 2, 2], [1.0, 1.0, 0.9, 0.9], "at least 3 distinct"),
        ([1, 2, 3], [1.0, 0.0, 0.8], "positive"),
        ([1, 2, np.nan], [1.0, 0.9, 0.8], "non-finite"),
        ([1, 2, 3], [1.0, 0.9], "differ in length"),
    ],
)
def test_bad_rate_data_raise(current, value, msg):
    with pytest.raises(DataError, match=msg) as err:
        fit_peukert(current, value, source="cell7.csv")
    assert "cell7.csv" in str(err.value)


def test_layer_utilization_round_trip_and_errors():
    # forward model: u1 = 1, u2 = 0.9, w = (0.516, 0.484) (Yari bilayer delta = 0.6)
    w1, w2, q1, q2, u2 = 0.516, 0.484, 120.0, 150.0, 0.9
    qt = w1 * q1 + w2 * u2 * q2
    r = layer_utilization(qt, q1, q2, w1, w2)
    assert r.u2 == pytest.approx(u2, rel=1e-12)
    assert r.psi == pytest.approx(q1 / (u2 * q2 + q1), rel=1e-12)  # eq. 8, first form
    assert r.u2_se == 0.0 and r.psi_se == 0.0
    # propagated errors against a Monte Carlo of the same (small) input errors:
    # first order is accurate to a few % for 0.5 % input errors; MC SE with 20000
    # draws is ~0.5 %, so 5 % relative tolerance.
    se = dict(q_total_se=0.5, q1_se=0.6, q2_se=0.7, w1_se=0.002, w2_se=0.002)
    r = layer_utilization(qt, q1, q2, w1, w2, **se)
    rng = np.random.default_rng(3)
    m = 20000
    s = layer_utilization(
        qt + rng.normal(0, 0.5, m),
        q1 + rng.normal(0, 0.6, m),
        q2 + rng.normal(0, 0.7, m),
        w1 + rng.normal(0, 0.002, m),
        w2 + rng.normal(0, 0.002, m),
    )
    assert r.u2_se == pytest.approx(np.std(s.u2), rel=0.05)
    assert r.psi_se == pytest.approx(np.std(s.psi), rel=0.05)


def test_layer_utilization_vectorised_and_bad_input():
    qt = np.array([140.0, 130.0, 120.0])
    r = layer_utilization(qt, np.array([140.0, 135.0, 130.0]), 140.0, 0.5, 0.5)
    assert r.u2.shape == (3,)
    assert r.psi[0] == pytest.approx(0.5)
    with pytest.raises(DataError, match="q1"):
        layer_utilization(100.0, 0.0, 100.0, 0.5, 0.5)


def _fit(gamma, se, dof=2):
    a = -math.log2(gamma)
    return PeukertFit(
        alpha=a,
        alpha_se=se / (math.log(2) * gamma),
        beta=1.0,
        beta_se=0.0,
        log_beta=0.0,
        log_beta_se=0.0,
        gamma=gamma,
        gamma_se=se,
        gamma_ci=(gamma - 2 * se, gamma + 2 * se),
        alpha_ci=(0.0, 0.0),
        n=dof + 2,
        dof=dof,
        residuals=np.zeros(dof + 2),
    )


def test_compare_designs_uses_uncertainty_and_floor():
    ref = _fit(0.85, 0.005, dof=10)
    assert compare_designs(_fit(0.90, 0.005, dof=10), ref) == "constructive"
    assert compare_designs(_fit(0.80, 0.005, dof=10), ref) == "destructive"
    # same difference, large errors: not significant
    assert compare_designs(_fit(0.90, 0.04, dof=10), _fit(0.85, 0.04, dof=10)) == "same"
    # significant but below the 1 % floor
    assert compare_designs(_fit(0.855, 1e-5, dof=10), _fit(0.85, 1e-5, dof=10)) == "same"
    assert compare_designs(_fit(0.855, 1e-5), _fit(0.85, 1e-5), rtol=0.001) == "constructive"
    # few rates (dof = 2) widen the t quantile: 0.03 / (sqrt(2) 0.008) = 2.65 > 1.96
    # but < t(0.975, ~4 dof) = 2.78
    assert compare_designs(_fit(0.88, 0.008), _fit(0.85, 0.008), z=1.96) == "constructive"
    assert compare_designs(_fit(0.88, 0.008), _fit(0.85, 0.008)) == "same"


def test_compare_values_for_loss_rates():
    # aging loss rate: lower is better
    assert compare_values(0.024, 0.002, 0.038, 0.002, higher_is_better=False) == "constructive"
    assert compare_values(0.05, 0.002, 0.038, 0.002, higher_is_better=False) == "destructive"


def test_compare_designs_on_fitted_data():
    rng = np.random.default_rng(7)
    i = np.repeat(RATES, 3)
    good = fit_peukert(i, 150 * i**-0.15 * np.exp(rng.normal(0, 0.01, i.size)))
    ref = fit_peukert(i, 150 * i**-0.25 * np.exp(rng.normal(0, 0.01, i.size)))
    assert compare_designs(good, ref) == "constructive"
    assert compare_designs(ref, good) == "destructive"
    assert compare_designs(ref, ref) == "same"
