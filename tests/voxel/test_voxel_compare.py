"""Like-for-like: the homogenised 1D counterpart of a voxel volume (Electrode.from_volume
plus the voxel run's separator, electrolyte, foil, window and 1C)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from electrohet.cli import main
from electrohet.micro.bridge import layers_from_volume
from electrohet.micro.effective import effective_properties
from electrohet.voxel import Simulation
from electrohet.voxel.compare import (
    homogenised_cell,
    phase_properties,
    plot_side_by_side,
    run_side_by_side,
    voltage_difference,
)


def test_counterpart_is_the_same_volume_and_cell(small_volume):
    sim = Simulation(
        small_volume,
        material="NMC532",
        cbd_clogged=True,
        cbd_conductivity=3.0,
        separator_thickness=25e-6,
        separator_porosity=0.4,
    )
    cell = homogenised_cell(sim)
    lay = cell.positive.layers[0]
    measured = effective_properties(sim.volume, 1, phase_properties(sim))[0]
    assert phase_properties(sim).cbd_clogged and phase_properties(sim).cbd_conductivity == 3.0
    assert phase_properties(sim).am_conductivity == pytest.approx(0.18)  # NMC532
    assert lay.thickness == pytest.approx(small_volume.shape[0] * 0.5e-6)
    assert lay.porosity == pytest.approx(measured["porosity"], rel=1e-12)
    assert lay.tortuosity_factor == pytest.approx(measured["tortuosity"], rel=1e-12)
    assert lay.matrix_conductivity == pytest.approx(measured["conductivity"], rel=1e-12)
    assert lay.particle_radius == pytest.approx(measured["diffusion_radius_m"], rel=1e-12)
    ens = lay.particles
    area = np.sum(3 * lay.active_fraction * ens.weight / ens.radius * ens.kinetic_factor)
    assert area == pytest.approx(measured["reactive_area"], rel=1e-12)
    assert cell.separator.thickness == 25e-6 and cell.separator.porosity == 0.4
    assert cell.nominal_capacity == sim.one_c
    assert (cell.v_min, cell.v_max) == (sim.v_min, sim.v_max)
    assert cell.electrolyte is sim.electrolyte
    old = homogenised_cell(sim, properties="geometric").positive.layers[0]
    geo = layers_from_volume(sim.volume, 1)[0]
    assert old.porosity == pytest.approx(geo["porosity"])
    assert old.particle_radius == pytest.approx(geo["radius_median_m"])
    assert old.matrix_conductivity == 10.0


def test_side_by_side_at_c10_within_10_mV(small_volume, tmp_path):
    """The issue's homogenisation check on the fast test volume (10 x 8 x 8 voxels):
    C/10 within 10 mV RMS (measured 0.39 mV, capacities within 0.1 %)."""
    sim = Simulation(small_volume, material="NMC532", cbd_clogged=True)
    ds_vox, ds_1d = run_side_by_side(sim, "Discharge at C/10 until 3.0 V", period=300.0)
    d = voltage_difference(ds_vox, ds_1d, upto=0.98)
    assert d["rms"] < 10e-3
    assert d["capacity_ratio"] == pytest.approx(1.0, abs=0.01)
    plot_side_by_side(ds_vox, ds_1d, tmp_path / "side.png")
    assert (tmp_path / "side.png").stat().st_size > 0


def test_measured_properties_close_most_of_the_1c_gap(small_volume):
    """1C on the test volume, CBD clogged: the counterpart with the measured effective
    properties (default) against the earlier geometric one (watershed median radius,
    area 3 eps_s / R, 10 S/m).  Measured: 9.96 -> 4.14 mV RMS (docs/voxel.md); the test
    asserts the measured one is below half the geometric one and below 7 mV."""
    sim = Simulation(small_volume, material="NMC532", cbd_clogged=True)
    exp = "Discharge at 1C until 3.0 V"
    ds_vox = sim.solve(exp, period=60.0)
    from electrohet.model import Simulation as Simulation1D

    rms = {
        prop: voltage_difference(
            ds_vox, Simulation1D(homogenised_cell(sim, properties=prop)).solve(exp)
        )["rms"]
        for prop in ("geometric", "measured")
    }
    assert rms["measured"] < 0.5 * rms["geometric"]
    assert rms["measured"] < 7e-3


def test_films_are_not_carried_over_and_say_so(small_volume):
    sim = Simulation(small_volume, material="NMC532", film_thickness=5e-9)
    with pytest.warns(UserWarning, match="CEI films"):
        homogenised_cell(sim)


def test_cli_compare_1d(tmp_path, small_volume):
    p = tmp_path / "vol.npy"
    np.save(p, np.asarray(small_volume.data))
    out = tmp_path / "out"
    rc = main(
        [
            "voxel", "simulate", str(p), "--labels", "pore=0,cbd=1,am=2,crack=3",
            "--voxel-size", "0.5", "-e", "Discharge at 1C until 3.0 V", "--cbd-clogged",
            "--compare-1d", "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (out / "voltage_vs_1d.png").exists() and (out / "results_1d.nc").exists()
    # 1C: with the measured effective properties the two agree to a few mV
    # (2.6 mV mean, 4.1 mV RMS; the earlier geometric counterpart: -9.7 and 10 mV)
    assert abs(summary["vs_1d_mean_mV"]) < 8.0 and summary["vs_1d_rms_mV"] < 8.0
    assert summary["vs_1d_capacity_ratio"] == pytest.approx(1.0, abs=0.03)
