"""P2D-E with particle ensembles: identical classes, K-convergence, PyBaMM PSD cross-check."""

from __future__ import annotations

import numpy as np
import pytest

from electrohet.design.distributions import LognormalRadius, build_ensemble
from electrohet.design.ensemble import ParticleEnsemble
from electrohet.design.layer import Electrode
from electrohet.design.presets import (
    chen2020_cell,
    chen2020_negative_layer,
    chen2020_positive_layer,
)
from electrohet.model import Simulation, SolverOptions


def _psd_cell(k: int, method: str = "quantile"):
    """Chen 2020 cell, both electrodes with PyBaMM's default lognormal PSD in k classes."""
    c = chen2020_cell()
    lp, ln = chen2020_positive_layer(), chen2020_negative_layer()
    out = {}
    for key, lay, theta in (
        ("positive", lp, c.positive.theta_init),
        ("negative", ln, c.negative.theta_init),
    ):
        r = lay.particle_radius
        d = LognormalRadius.from_mean_sd(r, 0.3 * r, "area", 0.0, 2.5 * r)
        out[key] = Electrode([lay.with_(ensemble=build_ensemble(d, k, method=method))], theta)
    return c.with_(**out)


def _rms(t, v, tr, vr):
    tt = np.linspace(0.0, min(t[-1], tr[-1]), 400)
    return float(np.sqrt(np.mean((np.interp(tt, t, v) - np.interp(tt, tr, vr)) ** 2)))


def test_identical_classes_reproduce_single_class_to_1e_6_volt():
    lay = chen2020_positive_layer()
    opts = SolverOptions(rtol=1e-7, atol=1e-9)
    v = []
    for k in (1, 4):
        ens = ParticleEnsemble(radius=[lay.particle_radius] * k, film_resistance=1e-3)
        ds = Simulation(chen2020_cell([lay.with_(ensemble=ens)]), solver=opts).solve(
            "Discharge at 1C for 40 minutes"
        )
        v.append(ds["voltage"].values[-1])
    # identical classes are the same equations; the tolerance is the integrator's
    assert abs(v[1] - v[0]) < 1e-6


def test_size_distribution_converges_as_k_grows():
    runs = {k: Simulation(_psd_cell(k)).solve("Discharge at 1C until 2.5 V") for k in (1, 2, 4, 8)}
    ref = runs[8]
    errs = [
        _rms(
            runs[k]["time"].values,
            runs[k]["voltage"].values,
            ref["time"].values,
            ref["voltage"].values,
        )
        for k in (1, 2, 4)
    ]
    # monotone convergence; K = 4 within 3 mV RMS of K = 8 (K = 1: ~25 mV)
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 3e-3


@pytest.mark.pybamm
def test_size_distribution_matches_pybamm_dfn_psd_within_5_mV():
    pybamm = pytest.importorskip("pybamm")
    p = pybamm.get_size_distribution_parameters(pybamm.ParameterValues("Chen2020"))
    model = pybamm.lithium_ion.DFN(options={"particle size": "distribution"})
    sol = pybamm.Simulation(
        model, parameter_values=p, solver=pybamm.IDAKLUSolver(rtol=1e-6, atol=1e-8)
    ).solve([0, 3700])
    tp, vp = sol["Time [s]"].entries, sol["Voltage [V]"].entries
    ds = Simulation(_psd_cell(8, "gauss")).solve("Discharge at 1C until 2.5 V")
    rms = _rms(ds["time"].values, ds["voltage"].values, tp, vp)
    # measured 0.65 mV; PyBaMM's 30-point R grid and ours differ in quadrature only
    assert rms < 5e-3
