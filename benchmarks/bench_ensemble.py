"""Ensemble cost: K = 16 vs K = 1, and a size distribution vs PyBaMM's DFN with a PSD.

Run:  python benchmarks/bench_ensemble.py
Times are setup + solve (imports excluded), one warm-up each, median of 3.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from electrohet.design.distributions import (
    ContactPaths,
    GaussianCEI,
    LognormalRadius,
    build_ensemble,
)
from electrohet.design.layer import Electrode
from electrohet.design.presets import (
    chen2020_cell,
    chen2020_negative_layer,
    chen2020_positive_layer,
)
from electrohet.model import Simulation

EXPERIMENT = "Discharge at 1C until 2.5 V"


def _median_time(fn, repeats: int = 3):
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _psd_cell(k: int, method: str = "gauss"):
    c = chen2020_cell()
    out = {}
    for key, lay, theta in (
        ("positive", chen2020_positive_layer(), c.positive.theta_init),
        ("negative", chen2020_negative_layer(), c.negative.theta_init),
    ):
        r = lay.particle_radius
        d = LognormalRadius.from_mean_sd(r, 0.3 * r, "area", 0.0, 2.5 * r)
        out[key] = Electrode([lay.with_(ensemble=build_ensemble(d, k, method=method))], theta)
    return c.with_(**out)


def _rms(t, v, tr, vr):
    tt = np.linspace(0.0, min(t[-1], tr[-1]), 400)
    return float(np.sqrt(np.mean((np.interp(tt, t, v) - np.interp(tt, tr, vr)) ** 2)))


def bench_k16() -> float:
    lay = chen2020_positive_layer()
    r = lay.particle_radius
    ens16 = build_ensemble(
        LognormalRadius.from_mean_sd(r, 0.3 * r, "area", 0.0, 2.5 * r),
        4,
        ContactPaths(0.2, diameter=2 * r),
        2,
        GaussianCEI(5e-9, 2e-9),
        2,
    )
    cell1 = chen2020_cell()
    cell16 = chen2020_cell([lay.with_(ensemble=ens16)])
    t1, _ = _median_time(lambda: Simulation(cell1).solve(EXPERIMENT))
    t16, _ = _median_time(lambda: Simulation(cell16).solve(EXPERIMENT))
    print(
        f"K = 1 : {t1:.3f} s   K = 16 (4 radii x 2 contacts x 2 CEI): {t16:.3f} s   "
        f"ratio {t16 / t1:.2f} (target <= 6)"
    )
    return t16 / t1


def bench_pybamm_psd(k: int = 8) -> float | None:
    try:
        import pybamm
    except ImportError:
        print("PyBaMM not installed: skipping the PSD comparison")
        return None

    def run_pybamm():
        p = pybamm.get_size_distribution_parameters(pybamm.ParameterValues("Chen2020"))
        model = pybamm.lithium_ion.DFN(options={"particle size": "distribution"})
        sim = pybamm.Simulation(
            model, parameter_values=p, solver=pybamm.IDAKLUSolver(rtol=1e-6, atol=1e-8)
        )
        return sim.solve([0, 3700])

    cell = _psd_cell(k)
    t_pb, sol = _median_time(run_pybamm)
    t_us, ds = _median_time(lambda: Simulation(cell).solve(EXPERIMENT))
    rms = _rms(
        ds["time"].values, ds["voltage"].values, sol["Time [s]"].entries, sol["Voltage [V]"].entries
    )
    print(
        f"PSD, both electrodes: PyBaMM DFN {t_pb:.3f} s   electrohet K = {k} (gauss) "
        f"{t_us:.3f} s   speed-up {t_pb / t_us:.2f}x (target >= 3)   RMS {1e3 * rms:.2f} mV"
    )
    return t_pb / t_us


if __name__ == "__main__":
    bench_k16()
    bench_pybamm_psd()
