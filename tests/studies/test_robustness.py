"""Bad or extreme input gives one clear line (exit 2), never a traceback or a warning."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest
import xarray as xr

from electrohet.cli import main
from electrohet.design.presets import chen2020_cell, chen2020_positive_layer
from electrohet.errors import ConfigError, MeshWarning, ParameterError
from electrohet.model import MeshOptions, Simulation
from electrohet.studies.config import load_toml
from electrohet.studies.rate_study import StudySettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMALL_MESH = "[mesh]\npoints_per_domain = 6\nradial_points = 6\n"


def _one_line_exit_2(capsys, argv, *needles):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ("[experiment]\nsteps = ['Discharge at 1C until 2.5 V']\n# é\n".encode("latin-1"), "UTF-8"),
        (bytes(range(256)) * 4, "UTF-8"),
        (b"[experiment]\x00\x00\x00", "binary"),
    ],
)
def test_non_utf8_or_binary_config_is_one_line(tmp_path, capsys, payload, needle):
    cfg = tmp_path / "cfg.toml"
    cfg.write_bytes(payload)
    with pytest.raises(ConfigError, match=needle):
        load_toml(cfg)
    _one_line_exit_2(capsys, ["simulate", str(cfg), "--quiet", "--out", str(tmp_path / "r.nc")])
    _one_line_exit_2(capsys, ["rate-study", str(cfg), "--quiet", "--out", str(tmp_path / "o")])


@pytest.mark.parametrize(
    ("study", "needles"),
    [
        ("v_max = 9.9", ("study.v_max", "9.9", "4.5")),
        ("v_min = 0.1", ("study.v_min", "0.1", "2")),
        ("rates = [0.5, 1.0, 1000.0]", ("1000", "(0, 20] C")),
        ("charge_rate = 500.0", ("study.charge_rate", "500")),
    ],
)
def test_rate_study_config_rejects_absurd_values_with_range(tmp_path, capsys, study, needles):
    cfg = tmp_path / "study.toml"
    cfg.write_text(f"[study]\n{study}\n")
    _one_line_exit_2(capsys, ["rate-study", str(cfg), "--quiet", "--out", str(tmp_path)], *needles)


def test_study_settings_check_ranges():
    with pytest.raises(ParameterError, match=r"v_max = 9.9 is outside the allowed range"):
        StudySettings(v_max=9.9)
    with pytest.raises(ParameterError, match=r"rates = 1000.0 is outside"):
        StudySettings(rates=(0.5, 1.0, 1000.0))


@pytest.mark.parametrize("rate", ["1000C"])
def test_discharge_that_fails_at_once_keeps_partial_results(tmp_path, capsys, rate):
    """The consistent start at an absurd current fails: status 'failed', the start state.
    (30C used to fail here too; the current continuation of the consistent start now
    starts it, see test_30c_starts_by_continuation.)"""
    ds = Simulation(chen2020_cell(), MeshOptions(6, 6)).solve(f"Discharge at {rate} until 2.5 V")
    assert ds.attrs["status"] == "failed" and "step 0" in ds.attrs["message"]
    assert ds.sizes["time"] == 1
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f"[experiment]\nsteps = ['Discharge at {rate} until 2.5 V']\n{SMALL_MESH}")
    out = tmp_path / "r.nc"
    _one_line_exit_2(capsys, ["simulate", str(cfg), "--quiet", "--out", str(out)], "partial")
    back = xr.load_dataset(out, engine="h5netcdf")
    assert back.attrs["status"] == "failed"


def test_30c_starts_by_continuation():
    """Chen 2020 at 30C from rest: direct Newton for the consistent start does not
    converge; the continuation in current starts it and it runs to its cut-off."""
    ds = Simulation(chen2020_cell(), MeshOptions(6, 6)).solve("Discharge at 30C until 2.5 V")
    assert ds.attrs["status"] == "completed"
    assert float(ds.voltage[-1]) == pytest.approx(2.5, abs=1e-3)
    assert 0 < float(ds.capacity[-1]) < float(ds.attrs["one_c_A_m2"])


@pytest.mark.parametrize("porosity", [1e-9, 1e-6, 1e-3])
def test_tiny_porosity_gives_a_dataset_not_a_crash(porosity):
    lay = chen2020_positive_layer(porosity=porosity, active_fraction=0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = Simulation(chen2020_cell([lay]), MeshOptions(6, 6)).solve(
            "Discharge at 1C until 2.5 V"
        )
    assert ds.sizes["time"] >= 1
    if ds.attrs["status"] == "failed":
        assert "step 0" in ds.attrs["message"]
    # a nearly pore-free cathode cannot deliver its capacity at 1C
    assert float(ds.capacity[-1]) < 0.5 * float(ds.attrs["one_c_A_m2"])


def test_normal_runs_raise_no_numpy_warnings():
    """Valid inputs: no RuntimeWarning (BV exp overflow, harmonic-mean divide)."""
    from electrohet.design.presets import yari2020_cell

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # the coarse radial mesh is meant (speed); its MeshWarning is not a numpy warning
        warnings.simplefilter("ignore", MeshWarning)
        ds = Simulation(chen2020_cell(), MeshOptions(8, 8)).solve("Discharge at 2C until 2.5 V")
        assert ds.attrs["status"] == "completed"
        cell = yari2020_cell(0.01, 0.04, 0.516, points_per_layer=4)
        sim = Simulation(cell, MeshOptions(radial_points=6))
        ch = sim.solve(["Charge at 0.5C until 4.3 V", "Hold at 4.3 V until C/20"])
        assert ch.attrs["status"] == "completed"
        ds = sim.solve("Discharge at 3C until 3.0 V", initial_state=sim.integrator.y)
        assert ds.attrs["status"] == "completed"


@pytest.mark.parametrize("name", ["ensemble_isolated", "ensemble_cei", "ensemble_formation"])
def test_examples_create_their_output_folder(tmp_path, name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "fresh" / "folder"
    mod.main(str(out))
    assert (out / f"{name}.png").is_file()
