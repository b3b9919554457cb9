"""The rate-study mechanisms: interface resistance, wiring, labels with uncertainty."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from electrohet.design.conductivity import InterfaceResistanceLaw
from electrohet.model import MeshOptions, Simulation
from electrohet.studies.calibration import YARI2020_SINGLE_LAYER_FIT, Calibration
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


def test_label_probability_is_the_gaussian_first_order_propagation():
    p, sd = label_probability(0.01, [0.02, 0.005], resolution=1e-3)
    expect_sd = np.sqrt(0.01**2 + 0.005**2 + 1e-3**2)
    assert sd == pytest.approx(expect_sd)
    assert p == pytest.approx(norm.cdf(0.01 / expect_sd))
    # identical designs: only the resolution -> probability one half
    assert label_probability(0.0, [0.0, 0.0])[0] == pytest.approx(0.5)


def test_shifted_parameters_lie_one_sd_away():
    cov = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.25]])
    cal = Calibration(np.array([-3.0, 1.5, 2.0]), cov, {})
    for scale in (1.0, 0.5):
        pts = np.array(
            [
                [
                    np.log10(s["interface_resistance_ref"]),
                    s["interface_exponent"],
                    np.log10(s["constriction"]),
                ]
                for s in cal.shifted(scale)
            ]
        )
        d = (pts - cal.log10_params) / scale
        # the shifts' outer products add up to the covariance (L L^T)
        np.testing.assert_allclose(d.T @ d, cal.covariance, rtol=1e-10, atol=1e-14)
    # the shipped calibration is a proper covariance
    assert np.all(np.linalg.eigvalsh(YARI2020_SINGLE_LAYER_FIT.covariance) > 0)


@pytest.mark.slow
def test_calibration_reproduces_the_shipped_fit():
    """Re-running the single-layer fit from its optimum returns the shipped numbers."""
    from electrohet.studies.calibration import CONSTRICTION_PRIOR, calibrate

    fit = YARI2020_SINGLE_LAYER_FIT
    cal = calibrate(
        StudySettings(processes=2),
        start=tuple(fit.log10_params),
        max_iter=1,
        prior=CONSTRICTION_PRIOR,
    )
    # one iteration from the optimum moves it by < 0.02 decades; gammas within 0.002
    np.testing.assert_allclose(cal.log10_params, fit.log10_params, atol=0.02)
    for fc, g in fit.gamma.items():
        assert cal.gamma[fc] == pytest.approx(g, abs=2e-3)
    np.testing.assert_allclose(cal.std_log10, fit.std_log10, rtol=0.1)


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
    assert study.calibration is None and np.isnan(t.loc["1/4", "p_constructive"])
    assert t.loc["1/4", "label"] == "destructive"
    assert study.runs[1].variant_energy.size == 0
