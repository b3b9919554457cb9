import numpy as np
import pytest
from scipy import stats

from electrohet.analysis.sampling import (
    bootstrap_ci,
    cluster_summary,
    fraction_ci,
    n_for_half_width,
)
from electrohet.errors import DataError, ParameterError


def test_bootstrap_mean_ci_coverage():
    """95 % bootstrap CI of a mean from 60 particles covers the truth in >= 90 %.

    (Percentile bootstrap under-covers slightly at small n: ~93-94 % here.)"""
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(200):
        x = rng.normal(0.5, 0.1, 60)
        r = bootstrap_ci(x, n_boot=1000, rng=rng)
        hits += r.ci[0] <= 0.5 <= r.ci[1]
    assert hits / 200 >= 0.90


def test_bootstrap_against_t_interval():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 1.0, 400)
    r = bootstrap_ci(x, rng=2)
    t = stats.t.interval(0.95, 399, loc=x.mean(), scale=stats.sem(x))
    # for n = 400 bootstrap and t intervals agree to a few % of their width
    assert r.ci == pytest.approx(t, abs=0.05 * (t[1] - t[0]))
    m = bootstrap_ci(x, "median", n_boot=500, rng=3)
    assert m.ci[0] < np.median(x) < m.ci[1]


def test_fraction_ci_and_sample_size():
    lo, hi = fraction_ci(0, 50)
    assert lo == pytest.approx(0.0, abs=1e-12) and 0.05 < hi < 0.09  # Wilson: 0.071
    lo, hi = fraction_ci(8, 100, method="exact")
    assert lo == pytest.approx(stats.beta.ppf(0.025, 8, 93))
    # n for +-1 % on an 8 % fraction: 1.96^2 * 0.08 * 0.92 / 0.01^2 = 2828
    assert n_for_half_width(0.01, p=0.08) == 2828
    assert n_for_half_width(0.01, p=0.08, design_effect=2.0) == 5655  # ceil(2 * 2827.4)
    assert n_for_half_width(0.02, sd=0.1) == 97  # (1.96 * 0.1 / 0.02)^2 = 96.04
    with pytest.raises(ParameterError):
        n_for_half_width(0.01)


def test_icc_recovered_and_few_clusters_mislead():
    """Three clusters of 100 particles with ICC 0.3: the naive CI (particles
    independent) covers the true electrode mean in well under 90 % of repeats,
    the cluster CI in >= 90 % (it is exact for balanced normal data)."""
    rng = np.random.default_rng(5)
    sb, sw = np.sqrt(0.3), np.sqrt(0.7)
    naive = honest = 0
    iccs = []
    for _ in range(300):
        cl = np.repeat(np.arange(3), 100)
        x = rng.normal(0, sb, 3)[cl] + rng.normal(0, sw, 300)
        s = cluster_summary(x, cl)
        naive += s.naive_ci[0] <= 0 <= s.naive_ci[1]
        honest += s.cluster_ci[0] <= 0 <= s.cluster_ci[1]
        iccs.append(s.icc)
    assert naive / 300 < 0.6
    assert honest / 300 >= 0.90
    # with many clusters the ICC estimate is close to the truth
    cl = np.repeat(np.arange(200), 20)
    x = rng.normal(0, sb, 200)[cl] + rng.normal(0, sw, cl.size)
    s = cluster_summary(x, cl)
    # SE of the ANOVA ICC for 200 clusters of 20 is ~0.03; 3 SE tolerance
    assert s.icc == pytest.approx(0.3, abs=0.09)
    assert s.design_effect == pytest.approx(1 + 19 * s.icc)
    assert s.n_effective == pytest.approx(cl.size / s.design_effect)


def test_sampling_bad_input():
    with pytest.raises(DataError, match="at least 2 clusters"):
        cluster_summary([1.0, 2.0], [0, 0])
    with pytest.raises(DataError):
        bootstrap_ci([1.0])
    with pytest.raises(DataError):
        fraction_ci(5, 3)
