"""The model CLI: one-line errors with exit code 2, partial results on failure."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import xarray as xr

from electrohet.cli import main


def _write(tmp_path, text: str):
    p = tmp_path / "cfg.toml"
    p.write_text(textwrap.dedent(text))
    return p


GOOD_LAYER = """
[[positive.layers]]
thickness_um = {t}
porosity = {eps}
active_fraction = {am}
particle_radius_um = 5.22
conductivity = 0.18
"""


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (GOOD_LAYER.format(t=-5, eps=0.335, am=0.665), "thickness_um"),
        (GOOD_LAYER.format(t=75, eps=1.3, am=0.665), "porosity"),
        (GOOD_LAYER.format(t=75, eps=0.3, am=0.8), "sum to 1"),
        ("[cell]\npreset = 'nonsense'\n", "nonsense"),
        ("[cell]\ncolour = 'red'\n", "unknown key 'cell.colour'"),
    ],
)
def test_bad_config_one_line_exit_2(tmp_path, capsys, body, needle):
    cfg = _write(tmp_path, body + "\n[experiment]\nsteps = ['Discharge at 1C until 2.5 V']\n")
    code = main(["simulate", str(cfg), "--out", str(tmp_path / "r.nc"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("steps", "needle"),
    [
        ("['Discharge really fast']", "cannot parse"),
        ("['Discharge at 1C until 9 V']", "never be reached"),
    ],
)
def test_bad_protocol_exit_2(tmp_path, capsys, steps, needle):
    cfg = _write(tmp_path, f"[experiment]\nsteps = {steps}\n")
    code = main(["simulate", str(cfg), "--out", str(tmp_path / "r.nc"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and needle in err


def test_simulate_writes_netcdf(tmp_path):
    cfg = _write(
        tmp_path,
        "[experiment]\nsteps = ['Discharge at 1C for 10 minutes']\n"
        "[mesh]\npoints_per_domain = 10\nradial_points = 10\n",
    )
    out = tmp_path / "run.nc"
    assert main(["simulate", str(cfg), "--out", str(out), "--quiet"]) == 0
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert float(ds.time[-1]) == pytest.approx(600.0)
    # 10 min at 1C: capacity = 1C [Ah/m^2] / 6
    assert float(ds.capacity[-1]) == pytest.approx(float(ds.attrs["one_c_A_m2"]) / 6, rel=1e-6)


def test_cutoff_never_reached_keeps_partial_results(tmp_path, capsys):
    # a 10 s time limit per current step is exceeded without reaching 2.0 V: the run
    # stops with a flag and the partial results are saved
    cfg = _write(
        tmp_path,
        "[cell]\nv_min = 2.0\n[experiment]\nsteps = ['Discharge at C/100 until 2.0 V']\n"
        "[mesh]\npoints_per_domain = 5\nradial_points = 5\n",
    )
    from electrohet.design.presets import chen2020_cell
    from electrohet.model import Simulation, SolverOptions

    sim = Simulation(
        chen2020_cell().with_(v_min=2.0), solver=SolverOptions(max_duration_factor=0.01)
    )
    ds = sim.solve("Discharge at C/100 until 2.0 V")
    assert ds.attrs["status"] == "failed" and "never reached" in ds.attrs["message"]
    assert ds.sizes["time"] > 2
    del cfg


def test_console_script_no_traceback(tmp_path):
    cfg = _write(tmp_path, "[experiment]\nsteps = ['Hop at 3 V']\n")
    r = subprocess.run(
        [sys.executable, "-m", "electrohet.cli", "simulate", str(cfg)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("error:")
