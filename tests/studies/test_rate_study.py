"""The bilayer rate study: consistency of its table, and the demo end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from electrohet.analysis.rate_capability import fit_peukert, layer_utilization
from electrohet.cli import main
from electrohet.errors import ParameterError
from electrohet.studies.rate_study import LayerDesign, StudySettings, label_design, rate_study


@pytest.fixture(scope="module")
def small_study():
    designs = [
        LayerDesign("single", 0.025),
        LayerDesign("same/same", 0.025, 0.025 + 1e-12, 0.5),
        LayerDesign("1/4", 0.01, 0.04, 0.516),
    ]
    settings = StudySettings(
        rates=(0.5, 1.0, 2.0), points_per_layer=5, radial_points=8, processes=1
    )
    return rate_study(designs, settings)


def test_table_is_consistent(small_study):
    t = small_study.table.set_index("design")
    # a 'bilayer' of two identical formulations is the single layer (to solver tolerance)
    assert t.loc["same/same", "gamma"] == pytest.approx(t.loc["single", "gamma"], rel=1e-4)
    assert t.loc["same/same", "label"] == "same"
    # gamma is 2^-alpha of the Peukert fit of the energies
    e = t.loc["1/4", ["E_0.5C_Wh_m2", "E_1C_Wh_m2", "E_2C_Wh_m2"]].to_numpy(float)
    fit = fit_peukert([0.5, 1.0, 2.0], e)
    assert t.loc["1/4", "gamma"] == pytest.approx(fit.gamma, rel=1e-12)
    # the inferred u2/psi follow Yari eqs. 7-8 from the standalone runs
    sa = small_study.standalone
    q1 = sa[0.01].capacity[1] / sa[0.01].active_loading.sum()
    q2 = sa[0.04].capacity[1] / sa[0.04].active_loading.sum()
    run = small_study.runs[2]
    w = run.active_loading / run.active_loading.sum()
    qt = run.capacity[1] / run.active_loading.sum()
    lu = layer_utilization(qt, q1, q2, w[0], w[1])
    assert t.loc["1/4", "u2_inferred_1C"] == pytest.approx(float(lu.u2), rel=1e-12)
    assert t.loc["1/4", "psi_inferred_1C"] == pytest.approx(float(lu.psi), rel=1e-12)
    # true utilisations are per-layer delivered / window capacity, both in (0, 1.05)
    assert 0 < t.loc["1/4", "u_bottom_1C"] < 1.05 and 0 < t.loc["1/4", "u_top_1C"] < 1.05
    # the carbon-poor layer at the current collector is destructive
    assert t.loc["1/4", "label"] == "destructive"


def test_label_tolerance():
    assert label_design(0.91, 0.90, 0.01) == "constructive"
    assert label_design(0.905, 0.90, 0.01) == "same"
    assert label_design(0.85, 0.90, 0.01) == "destructive"


def test_settings_validation():
    with pytest.raises(ParameterError, match=">= 3 distinct"):
        StudySettings(rates=(1.0, 2.0))


def test_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet", "--processes", "2"]) == 0
    printed = capsys.readouterr().out
    assert "destructive" in printed and "gamma" in printed
    table = pd.read_csv(out / "rate_study.csv")
    assert len(table) == 7
    assert set(table["label"]) <= {"reference", "constructive", "destructive", "same"}
    assert (out / "layer_utilization.png").is_file()
    assert len(list(out.glob("run_*.nc"))) == 7 * 4
    # Yari's single-layer anchors (calibrated): gamma ~0.90 at 2.5 wt% carbon
    assert table.loc[table.design == "single", "gamma"].item() == pytest.approx(0.90, abs=0.02)
    assert np.all(np.isfinite(table["gamma"]))


def test_single_layer_gamma_calibration_matches_yari_anchors():
    """Yari 2020: gamma about 0.90 at 4 wt% C, below 0.85 at 1.5 wt%, below 0.70 at 1 wt%."""
    designs = [
        LayerDesign("single", 0.025),
        LayerDesign("4%", 0.04),
        LayerDesign("1.5%", 0.015),
        LayerDesign("1%", 0.01),
    ]
    t = rate_study(designs, StudySettings(processes=2)).table.set_index("design")
    assert t.loc["4%", "gamma"] == pytest.approx(0.90, abs=0.015)
    assert t.loc["1.5%", "gamma"] < 0.85
    assert t.loc["1%", "gamma"] < 0.70


def test_wiring_links_contact_classes_to_carbon_fraction():
    from electrohet.studies.rate_study import yari2020_cell_factory

    cell = yari2020_cell_factory(LayerDesign("1/4", 0.01, 0.04), StudySettings(wiring=True))
    poor, rich = cell.positive.layers  # bottom (1 wt%) and top (4 wt%)
    assert poor.particles.n_classes == rich.particles.n_classes == 3
    # share of poorly wired particles (path > 0) is larger in the carbon-poor layer
    share = [
        float(lay.particles.weight[lay.particles.contact_path > 0].sum()) for lay in (poor, rich)
    ]
    assert share[0] > 0.5 > 0.1 > share[1]
    # the contact conductivity of NMC falls by orders of magnitude on lithiation
    sig = poor.material.electronic_conductivity(np.array([0.3, 0.99]))
    assert sig[0] / sig[1] > 1e3
