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


def test_table_reads_layer_utilisation_by_name(small_study):
    """u_bottom/u_top are the run's own layer_capacity / window capacity of the layer
    named "bottom" (at the current collector) and "top" (at the separator)."""
    t = small_study.table.set_index("design")
    run = small_study.runs[2]
    assert run.design.name == "1/4"
    ds = run.datasets[1]  # 1C
    assert float(ds.attrs["rate_C"]) == 1.0
    assert ds.layer_position.sel(layer="bottom").item() == "collector"
    assert ds.layer_position.sel(layer="top").item() == "separator"
    for col, name in (("u_bottom_1C", "bottom"), ("u_top_1C", "top")):
        lc = ds.layer_capacity.sel(layer=name)
        u = float(lc[-1] - lc[0]) / float(ds.layer_theoretical_capacity.sel(layer=name))
        assert t.loc["1/4", col] == pytest.approx(u, rel=1e-12)
    # the two layers differ, so a swap cannot pass unnoticed
    assert abs(t.loc["1/4", "u_bottom_1C"] - t.loc["1/4", "u_top_1C"]) > 0.01
    ub, ut = t.loc["1/4", "u_bottom_1C"], t.loc["1/4", "u_top_1C"]
    assert t.loc["1/4", "psi_true_1C"] == pytest.approx(ub / (ub + ut))


def test_figures_agree_with_the_dataset(small_study):
    """Profile x axis runs collector -> separator; bar chart: collector layer left."""
    import matplotlib.pyplot as plt

    from electrohet.plot import plot_layer_utilization, plot_lithiation_profile

    run = small_study.runs[2]
    ds = run.datasets[1]
    fig = plot_lithiation_profile(ds)
    ax = fig.axes[0]
    labels = sorted((txt.get_position()[0], txt.get_text()) for txt in ax.texts)
    assert [name for _, name in labels] == ["bottom", "top"]
    # the profile's first points (smallest distance) are the cells of layer "bottom"
    curves = [ln for ln in ax.lines if ln.get_label().startswith("t =")]
    x_line = curves[0].get_xdata()
    theta_end = curves[-1].get_ydata()
    pos = (ds.region == "positive").values
    bottom_cells = ds.layer_index.values[pos] == list(ds.layer.values).index("bottom")
    n_bottom = int(bottom_cells.sum())
    assert np.all(np.diff(x_line) > 0)
    th_k = ds.theta_mean.isel(time=-1).values[pos][bottom_cells]
    w_k = ds.class_weight.values[pos][bottom_cells]
    th = np.nansum(th_k * w_k, axis=1) / np.nansum(w_k, axis=1)  # class-weighted mean
    np.testing.assert_allclose(np.sort(theta_end[:n_bottom]), np.sort(th), rtol=1e-12)
    plt.close(fig)
    fig = plot_layer_utilization(small_study.table)
    ax = fig.axes[0]
    t = small_study.table.set_index("design")
    left, right = ax.containers[0], ax.containers[1]
    k = list(small_study.table.design).index("1/4")
    u_by_name = {
        n: float(v) for n, v in zip(run.layer_names, run.layer_utilization[1], strict=True)
    }
    assert left[k].get_height() == pytest.approx(u_by_name["bottom"])
    assert right[k].get_height() == pytest.approx(u_by_name["top"])
    assert "current collector" in left.get_label()
    assert t.loc["1/4", "u_bottom_1C"] == pytest.approx(u_by_name["bottom"])
    plt.close(fig)


def test_label_tolerance():
    assert label_design(0.91, 0.90, 0.01) == "constructive"
    assert label_design(0.905, 0.90, 0.01) == "same"
    assert label_design(0.85, 0.90, 0.01) == "destructive"


def test_settings_validation():
    with pytest.raises(ParameterError, match=">= 3 distinct"):
        StudySettings(rates=(1.0, 2.0))


def test_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet", "--processes", "2", "--samples", "4"]) == 0
    printed = capsys.readouterr().out
    assert "destr." in printed and "gamma" in printed and "P(c)" in printed
    # the compact table fits a 120-column terminal; the CSV has every column
    table_lines = [ln for ln in printed.splitlines() if not ln.startswith("wrote ")]
    assert max(len(line) for line in table_lines) <= 120
    table = pd.read_csv(out / "rate_study.csv")
    assert len(table) == 7
    assert {"E_1C_Wh_m2", "alpha_se", "dgamma_sd", "p_constructive"} <= set(table.columns)
    assert set(table["label"]) <= {"reference", "constructive", "destructive", "same"}
    # probabilities are probabilities (their values are the scoreboard's business)
    p = table.loc[table.label != "reference", "p_constructive"]
    assert np.all((p >= 0) & (p <= 1))
    assert (out / "layer_utilization.png").is_file()
    assert len(list(out.glob("run_*.nc"))) == 7 * 4
    assert np.all(np.isfinite(table["gamma"]))


def test_wiring_links_contact_classes_to_carbon_fraction():
    from electrohet.studies.rate_study import yari2020_cell_factory

    cell = yari2020_cell_factory(LayerDesign("1/4", 0.01, 0.04), StudySettings(wiring=True))
    poor, rich = cell.positive.layers  # bottom (1 wt%) and top (4 wt%)
    assert poor.particles.n_classes == rich.particles.n_classes == 2
    # share of poorly wired particles (path > 0) is larger in the carbon-poor layer
    share = [
        float(lay.particles.weight[lay.particles.contact_path > 0].sum()) for lay in (poor, rich)
    ]
    assert share[0] > 0.5 > 0.1 > share[1]
    # the contact conductivity of NMC falls by orders of magnitude on lithiation
    sig = poor.material.electronic_conductivity(np.array([0.3, 0.99]))
    assert sig[0] / sig[1] > 1e3


def test_cccv_protocol_steps_and_cc_energy():
    """Yari §2.3: formation (2 x C/10), then per rate a CC-CV charge and a CC-CV
    discharge with rest; each rate's Dataset holds its CC discharge step only, and its
    energy is the integral of V I over it (trapezoid on the recorded states, 0.5 %)."""
    from electrohet.studies.rate_study import (
        charge_steps,
        discharge_steps,
        formation_steps,
        run_designs,
        yari2020_cell_factory,
    )

    st = StudySettings(
        rates=(0.5, 1.0, 2.0), points_per_layer=3, radial_points=6, processes=1, uncertainty=False
    )
    assert formation_steps(st) == ["Charge at C/10 until 4.3 V", "Discharge at C/10 until 3 V"] * 2
    assert charge_steps(2.0, st) == ["Charge at 2C until 4.3 V", "Hold at 4.3 V until C/20"]
    assert discharge_steps(2.0, st) == [
        "Discharge at 2C until 3 V",
        "Hold at 3 V until C/20",
        "Rest for 15 minutes",
    ]
    run = run_designs([LayerDesign("single", 0.025)], st, yari2020_cell_factory)[0]
    for ds, e in zip(run.datasets, run.energy, strict=True):
        assert set(np.unique(ds.step.values)) <= {-1, 0}
        p = ds.voltage.values * ds.current.values  # W/m^2 (discharge current > 0)
        e_trap = np.trapezoid(p, ds.time.values) / 3600
        assert e == pytest.approx(e_trap, rel=5e-3)
        assert float(ds.voltage[-1]) == pytest.approx(3.0, abs=2e-3)
    # the old CC protocol is still available
    st_cc = StudySettings(
        rates=(0.5, 1.0, 2.0),
        points_per_layer=3,
        radial_points=6,
        processes=1,
        uncertainty=False,
        protocol="cc",
    )
    assert discharge_steps(1.0, st_cc) == ["Discharge at 1C until 3 V"]
    with pytest.raises(ParameterError, match="protocol"):
        StudySettings(protocol="cv")


def test_calibration_argument_is_used_for_the_nominal_runs():
    """rate_study(calibration=cal) runs its nominal designs on cal's parameters (the
    bug: only the uncertainty reruns used them)."""
    from electrohet.studies.calibration import Calibration
    from electrohet.studies.rate_study import run_designs, yari2020_cell_factory

    q = np.array([-2.5, 1.5, 2.5])
    cal = Calibration(q, np.eye(3) * 0.01, {})
    st = StudySettings(
        rates=(0.5, 1.0, 2.0), points_per_layer=3, radial_points=6, processes=1, uncertainty=False
    )
    study = rate_study([LayerDesign("single", 0.025)], st, calibration=cal)
    explicit = StudySettings(
        rates=(0.5, 1.0, 2.0),
        points_per_layer=3,
        radial_points=6,
        processes=1,
        uncertainty=False,
        **cal.params,
    )
    ref = run_designs([LayerDesign("single", 0.025)], explicit, yari2020_cell_factory)[0]
    np.testing.assert_allclose(study.runs[0].energy, ref.energy, rtol=1e-12)


def test_study_is_deterministic():
    st = StudySettings(
        rates=(0.5, 1.0, 2.0), points_per_layer=3, radial_points=6, processes=1, n_samples=2
    )
    designs = [LayerDesign("single", 0.025), LayerDesign("1/4", 0.01, 0.04, 0.516)]
    a = rate_study(designs, st).table
    b = rate_study(designs, st).table
    pd.testing.assert_frame_equal(a, b)
    # two posterior samples were rerun for the bilayer
    assert int(a.set_index("design").loc["1/4", "n_reruns"]) == 2
