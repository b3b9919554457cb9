"""Distributions, quadrature and input validation of particle ensembles."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.design.distributions import (
    ContactPaths,
    GaussianCEI,
    LognormalRadius,
    build_ensemble,
    poorly_wired_share,
)
from electrohet.design.ensemble import ParticleEnsemble
from electrohet.errors import ParameterError
from electrohet.materials.soc_dependent import (
    NMC532_DIFFUSIVITY_COLCLASURE2020,
    NMC_CONDUCTIVITY_AMIN2016,
    LogTable,
)

R = 5.22e-6
PSD = LognormalRadius.from_mean_sd(R, 0.3 * R, "area", 0.0, 2.5 * R)


@pytest.mark.parametrize("k", [1, 2, 5, 16])
def test_quantile_classes_keep_total_area_exactly(k):
    # the quantile rule picks each bin's harmonic-mean radius, so sum w/R is exact (1e-12)
    r, w = PSD.classes(k)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert 1.0 / np.sum(w / r) == pytest.approx(PSD.area_mean_radius(), rel=1e-10)


def test_gauss_classes_converge_to_area_mean():
    errs = [
        abs(1 / np.sum(w / r) - PSD.area_mean_radius())
        for r, w in (PSD.classes(k, "gauss") for k in (2, 4, 8, 16))
    ]
    assert errs[-1] < 1e-3 * R and errs[-1] < errs[0] / 20


def test_untruncated_area_mean_matches_lognormal_mean():
    d = LognormalRadius.from_mean_sd(R, 0.3 * R, "area")
    # area-weighted mean radius of the area-weighted lognormal is its arithmetic mean
    assert d.area_mean_radius() == pytest.approx(R, rel=1e-12)


def test_poorly_wired_share_grows_as_carbon_falls():
    shares = [poorly_wired_share(f) for f in (0.04, 0.025, 0.015, 0.01)]
    assert np.all(np.diff(shares) > 0)
    assert shares[2] == pytest.approx(0.45)  # share_max / 2 at f_half


def test_contact_and_cei_classes():
    paths, w = ContactPaths(0.3, mean_diameters=2.0, diameter=10e-6).classes(5)
    assert paths[0] == 0 and w[0] == pytest.approx(0.7) and w.sum() == pytest.approx(1.0)
    # quantile classes of an exponential keep its mean (20 um) exactly
    assert np.sum(w[1:] * paths[1:]) / 0.3 == pytest.approx(20e-6, rel=1e-10)
    cei = GaussianCEI(12e-9, 4e-9, kappa=2e-7, t_min=3e-9, t_max=28e-9)
    rf, wf = cei.classes(4)
    assert np.all(np.diff(rf) > 0) and np.sum(wf * rf) * 2e-7 == pytest.approx(12e-9, rel=0.02)


def test_build_ensemble_tensor_product_with_isolated_class():
    ens = build_ensemble(
        PSD, 3, ContactPaths(0.2), 2, GaussianCEI(1e-8, 2e-9), 2, isolated_fraction=0.05
    )
    assert ens.n_classes == 3 * 2 * 2 + 1
    assert ens.weight.sum() == pytest.approx(1.0, abs=1e-12)
    assert ens.isolated[-1] and ens.weight[-1] == pytest.approx(0.05)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: ParticleEnsemble(radius=[1e-6, 2e-6], weight=[0.5, 0.6]), ["weight", "1.1"]),
        (lambda: ParticleEnsemble(radius=[-1e-6]), ["radius", "-1e-06"]),
        (lambda: PSD.classes(0), ["n_radius", "0", ">= 1"]),
        (lambda: build_ensemble(R, n_radius=0), ["n_radius", "0"]),
        (lambda: LognormalRadius.from_mean_sd(-1e-6, 1e-7), ["mean", "-1e-06"]),
        (lambda: build_ensemble(PSD, 2, isolated_fraction=1.2), ["isolated_fraction", "1.2"]),
        (
            lambda: LogTable("nmc.sigma", [0.0, 0.5, 1.0], [1.0, 2.0, 0.5], "decreasing"),
            ["nmc.sigma", "non-increasing", "0.5"],
        ),
        (
            lambda: LogTable("nmc.D", [0.0, 0.7, 0.5], [1.0, 1.0, 1.0]),
            ["nmc.D.theta", "increasing"],
        ),
        (lambda: LogTable("nmc.D", [0.0, 1.0], [1.0, -1.0]), ["nmc.D.values", "> 0"]),
    ],
)
def test_bad_input_is_rejected_with_key_value_and_range(make, words):
    with pytest.raises(ParameterError) as err:
        make()
    for word in words:
        assert word in str(err.value)


def test_soc_tables_interpolate_in_log_space_and_hit_cited_points():
    d = NMC532_DIFFUSIVITY_COLCLASURE2020
    assert d(np.array([0.3, 1.0])) == pytest.approx([5.9e-15, 1.4e-19], rel=1e-12)
    s = NMC_CONDUCTIVITY_AMIN2016
    assert s(np.array([1.0, 0.25])) == pytest.approx([1e-5, 1.0], rel=1e-12)
    th = np.linspace(0, 1, 201).reshape(3, 67)
    assert s(th).shape == th.shape
    assert np.all(np.diff(s(np.linspace(0, 1, 400))) <= 1e-15)  # monotone (PCHIP)
