"""Regression tests of issue 25 ("Reliability, second round"): every case below
answered with exit 0 or lost data before.  Each asserts behaviour (exit code, the
message, files present or absent), never a timing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from electrohet.cli import main

LABELS = "pore=0,cbd=1,am=2,crack=3"

AGING = """
[cell]
preset = "nmc532"
n_radius = 1
[protocol]
cycle = ["Charge at 1C until 4.3 V", "Discharge at 1C until 3.0 V"]
n_cycles = 3
[mesh]
points_per_domain = 3
radial_points = 5
"""

SIMULATE = "[experiment]\nsteps = [{steps}]\n[mesh]\npoints_per_domain = 5\nradial_points = 5\n"

STUDY = """
[study]
rates = [0.5, 1.0, 2.0]
reference = "{reference}"
[[designs]]
name = "single"
fc_bottom = 0.025
[[designs]]
name = "{second}"
fc_bottom = 0.04
"""


def _err(capsys) -> str:
    """The single stderr line of the last in-process command (asserted single)."""
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    return err[0]


@pytest.fixture(scope="module")
def volume_npy(tmp_path_factory) -> Path:
    from electrohet.micro.generate import synthetic_electrode

    vol = synthetic_electrode(
        (10, 8, 8), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1e-6, seed=3
    )
    p = tmp_path_factory.mktemp("vol") / "v.npy"
    np.save(p, np.asarray(vol.data))
    return p


def _voxel(volume: Path, out: Path, *extra: str, step: str = "Discharge at 2C for 1 minutes"):
    return main(
        ["voxel", "simulate", str(volume), "--labels", LABELS, "--voxel-size", "0.5",
         "-e", step, "--out", str(out), "--quiet", "--no-particles", *extra]
    )  # fmt: skip


# ----------------------------------------------------------------- 1. output policy
def test_age_refuses_existing_results(tmp_path, capsys):
    cfg = tmp_path / "a.toml"
    cfg.write_text(AGING)
    out = tmp_path / "out"
    out.mkdir()
    (out / "cycles.csv").write_text("earlier results\n")
    assert main(["age", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert "--overwrite" in _err(capsys)
    assert (out / "cycles.csv").read_text() == "earlier results\n"


def test_voxel_simulate_refuses_existing_results(tmp_path, capsys, volume_npy):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    assert _voxel(volume_npy, out) == 2
    assert "--overwrite" in _err(capsys)
    assert (out / "summary.json").read_text() == "{}"


def test_micro_analyze_refuses_existing_results(tmp_path, capsys, volume_npy):
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    rc = main(["micro", "analyze", str(volume_npy), "--labels", LABELS, "--voxel-size", "0.5",
               "--out", str(out), "--quiet", "--no-figures"])  # fmt: skip
    assert rc == 2
    assert "--overwrite" in _err(capsys)
    assert (out / "metrics.json").read_text() == "{}"


def test_micro_generate_refuses_existing_volume(tmp_path, capsys, volume_npy):
    target = tmp_path / "v.npy"
    target.write_bytes(volume_npy.read_bytes())
    before = target.read_bytes()
    assert main(["micro", "generate", str(target), "--shape", "8,8,8"]) == 2
    assert "--overwrite" in _err(capsys)
    assert target.read_bytes() == before
    assert main(["micro", "generate", str(target), "--shape", "8,8,8", "--overwrite"]) == 0
    assert np.load(target).shape == (8, 8, 8)


def test_input_never_written_over(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(SIMULATE.format(steps="'Discharge at 1C for 1 minutes'"))
    before = cfg.read_text()
    assert main(["simulate", str(cfg), "--out", str(cfg), "--overwrite", "--quiet"]) == 2
    assert "input" in _err(capsys)
    assert cfg.read_text() == before


def test_micro_analyze_never_writes_into_its_input_store(tmp_path, capsys, volume_npy):
    from electrohet.micro.io import load_volume, save_volume

    store = tmp_path / "v.zarr"
    save_volume(load_volume(volume_npy, labels=LABELS, voxel_size="0.5", voxel_size_unit=1e-6),
                store)  # fmt: skip
    listing = sorted(p.name for p in store.iterdir())
    rc = main(["micro", "analyze", str(store), "--out", str(store), "--overwrite", "--quiet"])
    assert rc == 2
    assert "input" in _err(capsys)
    assert sorted(p.name for p in store.iterdir()) == listing


def test_no_empty_out_folder_after_an_error(tmp_path, capsys, volume_npy):
    out = tmp_path / "voxel_out"
    # a step that cannot run: the error comes after the folder was checked and locked
    assert _voxel(volume_npy, out, step="Charge at 1C until 3.0 V") == 2
    capsys.readouterr()
    assert not out.exists()
    csv = tmp_path / "one.csv"
    csv.write_text("time,current,voltage\n0,1.0,3.5\n")
    out2 = tmp_path / "cycles_out"
    assert main(["analyze", "cycles", str(csv), "--out", str(out2)]) == 2
    assert "no charge or discharge capacity" in _err(capsys)
    assert not out2.exists()


def test_rate_study_lock_removed_after_an_error(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text(STUDY.format(reference="nonexistent", second="bilayer"))
    out = tmp_path / "study"
    out.mkdir()
    assert main(["rate-study", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert "nonexistent" in _err(capsys)
    assert list(out.iterdir()) == []  # no stale .electrohet.lock


def test_output_dir_releases_lock_and_removes_new_empty_folder(tmp_path):
    from electrohet.outputs import LOCK_NAME, output_dir

    new = tmp_path / "new"
    with pytest.raises(RuntimeError), output_dir(new):
        assert (new / LOCK_NAME).exists()
        raise RuntimeError("boom")
    assert not new.exists()
    kept = tmp_path / "kept"
    with output_dir(kept):
        (kept / "result.txt").write_text("x")
    assert sorted(p.name for p in kept.iterdir()) == ["result.txt"]


def test_age_interrupted_saves_dataset_and_status(tmp_path, cli_parts):
    cli_cmd, cli_env = cli_parts
    cfg = tmp_path / "a.toml"
    cfg.write_text(AGING.replace("n_cycles = 3", "n_cycles = 400") + "[jump]\nenabled = false\n")
    out = tmp_path / "out"
    proc = subprocess.Popen(cli_cmd("age", str(cfg), "--out", str(out), "--quiet"),
                            env=cli_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    csv = out / "cycles.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if csv.exists() and len(csv.read_text().splitlines()) >= 3:  # header + 2 cycles
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "finished cycles saved" in err
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "interrupted" and status["cycles_finished"] >= 2
    import xarray as xr

    with xr.open_dataset(out / "aging.nc", engine="h5netcdf") as ds:
        assert ds.attrs["status"] == "interrupted"
        assert ds.sizes["cycle"] == status["cycles_finished"]
    assert not (out / ".electrohet.lock").exists()


def test_first_ctrl_c_during_results_write_lets_it_finish(tmp_path):
    from electrohet.interrupts import Interrupted, finish_writing
    from electrohet.outputs import write_text_atomic

    target = tmp_path / "results.txt"
    with pytest.raises(Interrupted) as info, finish_writing("results.txt"):
        os.kill(os.getpid(), signal.SIGINT)  # the first one is deferred
        write_text_atomic(target, "complete")
    assert info.value.exit_code == 130
    assert target.read_text() == "complete"
    # a second Ctrl-C aborts the write: no file, no temporary file
    other = tmp_path / "other.txt"
    with pytest.raises(KeyboardInterrupt), finish_writing("other.txt"):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        write_text_atomic(other, "never")
    assert not other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.txt"]


# ----------------------------------------------------------------- 2. unique names
def test_duplicate_design_names_refused(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text(STUDY.format(reference="single", second="single"))
    out = tmp_path / "study"
    assert main(["rate-study", str(cfg), "--out", str(out), "--quiet"]) == 2
    line = _err(capsys)
    assert "single" in line and "more than one design" in line
    assert not out.exists()


def test_duplicate_layer_names_refused(tmp_path, capsys):
    layer = (
        "[[positive.layers]]\nname = 'a'\nthickness_um = 40\nporosity = 0.3\n"
        "active_fraction = 0.6\nparticle_radius_um = 5\nconductivity = 0.2\n"
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(SIMULATE.format(steps="'Discharge at 1C for 1 minutes'") + layer + layer)
    assert main(["simulate", str(cfg), "--out", str(tmp_path / "r.nc"), "--quiet"]) == 2
    assert "more than one layer" in _err(capsys)


def test_duplicate_design_names_refused_by_the_library():
    from electrohet.errors import ParameterError
    from electrohet.studies.rate_study import LayerDesign, rate_study

    designs = [LayerDesign("single", 0.025), LayerDesign("single", 0.04)]
    with pytest.raises(ParameterError, match="more than one design"):
        rate_study(designs)


# ------------------------------------------------- 3. cut-off already met at the start
def test_p2d_step_with_met_cutoff_is_an_error(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(SIMULATE.format(steps="'Charge at 1C until 3.0 V'"))
    out = tmp_path / "r.nc"
    assert main(["simulate", str(cfg), "--out", str(out), "--quiet"]) == 2
    line = _err(capsys)
    assert "step 0" in line and "Charge at 1C until 3.0 V" in line
    assert "3 V" in line and "start voltage 4." in line and "--skip-satisfied-steps" in line
    assert not out.exists()
    # asked explicitly: the step is skipped
    assert main(["simulate", str(cfg), "--out", str(out), "--quiet",
                 "--skip-satisfied-steps"]) == 0  # fmt: skip
    capsys.readouterr()
    assert out.exists()


def test_p2d_library_met_cutoff(tmp_path):
    from electrohet.design.presets import chen2020_cell
    from electrohet.errors import ProtocolError
    from electrohet.model import MeshOptions, Simulation

    sim = Simulation(chen2020_cell(), MeshOptions(5, 5))
    # the cell starts at rest near 4.17 V: a discharge "until 4.3 V" has nothing to do
    with pytest.raises(ProtocolError, match="already met at the start"):
        sim.solve("Discharge at 1C until 4.3 V")
    ds = sim.solve("Discharge at 1C until 4.3 V", skip_satisfied=True)
    assert ds.attrs["status"] == "completed"
    # reached only by the ohmic drop when the current is applied: a failed run (it
    # used to be a skipped step and status "completed" with no capacity)
    ds = sim.solve("Discharge at 1C until 4.1 V")
    assert ds.attrs["status"] == "failed"
    assert "as soon as the current is applied" in ds.attrs["message"]


def test_voxel_step_with_met_cutoff_is_an_error(tmp_path, capsys, volume_npy):
    out = tmp_path / "out"
    assert _voxel(volume_npy, out, step="Charge at 1C until 3.0 V") == 2
    line = _err(capsys)
    assert "step 0" in line and "3 V" in line and "start voltage" in line
    # skipped on request; summary.json then has no state: valid JSON with nulls (5.)
    assert _voxel(volume_npy, out, "--skip-satisfied-steps", step="Charge at 1C until 3.0 V") == 0
    capsys.readouterr()
    summary = json.loads(
        (out / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(c)
    )
    assert summary["capacity_mAh_g"] is None and summary["lithium_balance_error"] is None


# ------------------------------------------------------------------------ 4. volumes
def test_voxel_refuses_2d_volume(tmp_path, capsys, volume_npy):
    flat = tmp_path / "flat.npy"
    np.save(flat, np.load(volume_npy)[:1])
    out = tmp_path / "out"
    assert _voxel(flat, out) == 2
    assert "not a 3D volume" in _err(capsys)
    assert not out.exists()


def test_voxel_refuses_voxel_size_out_of_range(tmp_path, capsys, volume_npy):
    rc = main(
        [
            "voxel",
            "simulate",
            str(volume_npy),
            "--labels",
            LABELS,
            "--voxel-size",
            "1e6",
            "-e",
            "Discharge at 1C until 3.0 V",
            "--out",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    assert rc == 2
    line = _err(capsys)
    assert "outside the range" in line and "100] um" in line


def test_voxel_failed_run_exits_nonzero(tmp_path, capsys, volume_npy, monkeypatch):
    from electrohet.voxel.simulation import Simulation

    solve = Simulation.solve

    def failing(self, *a, **kw):
        ds = solve(self, *a, **kw)
        ds.attrs.update(status="failed", message="step 0: Newton failed")
        return ds

    monkeypatch.setattr(Simulation, "solve", failing)
    out = tmp_path / "out"
    assert _voxel(volume_npy, out) == 2
    assert "failed" in _err(capsys)
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"


def test_voxel_save_at_negative_refused(tmp_path, capsys, volume_npy):
    assert _voxel(volume_npy, tmp_path / "o", "--save-at=-5,1e12") == 2
    assert "-5" in _err(capsys)


# ------------------------------------------------------------------- 5. valid JSON
def test_json_helper_writes_null_for_nan(tmp_path):
    from electrohet.outputs import json_text, write_json

    text = json_text({"a": float("nan"), "b": np.float64(np.inf), "c": [np.float32(1.5)]})
    assert json.loads(text) == {"a": None, "b": None, "c": [1.5]}
    write_json(tmp_path / "x.json", {"v": -np.inf})
    assert "Infinity" not in (tmp_path / "x.json").read_text()


# ------------------------------------------------------------ 6. estimates gate runs
def test_micro_analyze_refused_above_max_memory(tmp_path, capsys, volume_npy):
    out = tmp_path / "out"
    rc = main(["micro", "analyze", str(volume_npy), "--labels", LABELS, "--voxel-size", "0.5",
               "--out", str(out), "--quiet", "--max-memory", "1kB"])  # fmt: skip
    assert rc == 2
    line = _err(capsys)
    assert "--max-memory" in line and "estimated" in line
    assert not out.exists()


def test_voxel_simulate_refused_above_max_memory(tmp_path, capsys, volume_npy):
    out = tmp_path / "out"
    assert _voxel(volume_npy, out, "--max-memory", "1MB") == 2
    line = _err(capsys)
    assert "--max-memory" in line and "GB" in line
    assert not out.exists()


def test_age_huge_cycle_count_estimated_and_refused(tmp_path, capsys):
    cfg = tmp_path / "a.toml"
    cfg.write_text(AGING.replace("n_cycles = 3", "n_cycles = 10000000"))
    out = tmp_path / "out"
    assert main(["age", str(cfg), "--out", str(out), "--quiet", "--max-memory", "1GB"]) == 2
    line = _err(capsys)
    assert "10,000,000 cycles" in line and "--max-memory" in line
    assert not out.exists()


def test_max_memory_must_be_a_size(tmp_path, capsys, volume_npy):
    assert _voxel(volume_npy, tmp_path / "o", "--max-memory", "lots") == 2
    assert "--max-memory" in _err(capsys)


# ---------------------------------------------------------------- 7. aging schema
@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("n_cycles = 3", 'n_cycles = "ten"', ("protocol.n_cycles", "ten")),
        ("[mesh]", '[mechanisms.cei]\ni0 = "lots"\n[mesh]', ("mechanisms.cei.i0", "lots")),
        ("[mesh]", "[jump]\norder = 3\n[mesh]", ("jump.order", "3")),
    ],
)
def test_aging_config_validated(tmp_path, capsys, old, new, needles):
    cfg = tmp_path / "a.toml"
    cfg.write_text(AGING.replace(old, new))
    assert main(["age", str(cfg), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    line = _err(capsys)
    assert "Traceback" not in line
    for n in needles:
        assert n in line
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------- 8. help and messages
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["rate-study"], ["[study] settings and [[designs]]", "--quiet  "]),
        (["demo"], ["--quiet  "]),
        (["voxel", "simulate"], ["times [s]", "output interval [s]", "[nm]"]),
        (["micro", "analyze"], ["(voxel_size_um, [labels])"]),
        (["simulate"], ["--overwrite  "]),
    ],
)
def test_help_renders_brackets_and_flags(capsys, args, needles):
    assert main([*args, "--help"]) == 0
    out = capsys.readouterr().out
    for n in needles:
        assert n in out, (n, out)
    assert "<bool>" not in out


def test_every_option_has_help():
    import typer.main

    from electrohet.cli import app

    def walk(cmd, path):
        # duck-typed: typer may use its vendored copy of click
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            for p in cmd.params:
                if p.param_type_name == "option" and not getattr(p, "hidden", False):
                    yield " ".join(path), p.opts[0], p.help

    options = list(walk(typer.main.get_command(app), []))
    assert len({c for c, _, _ in options}) > 10  # every command was visited
    missing = [(c, o) for c, o, h in options if not h]
    assert missing == []


def test_directory_as_config_named_as_folder(tmp_path, capsys):
    d = tmp_path / "a_dir.toml"
    d.mkdir()
    assert main(["simulate", str(d), "--out", str(tmp_path / "r.nc")]) == 2
    assert "is a folder" in _err(capsys)


def test_unknown_format_listed_plainly(tmp_path, capsys):
    csv = tmp_path / "x.csv"
    csv.write_text("time,current,voltage\n0,1,3.5\n1,1,3.6\n")
    assert main(["analyze", "cycles", str(csv), "--format", "bogus", "--out",
                 str(tmp_path / "o")]) == 2  # fmt: skip
    line = _err(capsys)
    assert "*[" not in line and "auto, arbin" in line


def test_radius_answered_in_um(tmp_path, capsys):
    assert main(["micro", "generate", str(tmp_path / "v.npy"), "--radius-um=-1"]) == 2
    line = _err(capsys)
    assert "--radius-um = -1.0 um" in line and "allowed range [0.1, 1000] um" in line
    assert not (tmp_path / "v.npy").exists()


def test_rates_out_of_range_named_before_count(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text("[study]\nrates = [-1.0, 1.0]\n")
    assert main(["rate-study", str(cfg), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    line = _err(capsys)
    assert "allowed range" in line and "at least 3" not in line


def test_simulate_period_thins_what_is_stored(tmp_path, capsys):
    """--period stores one state per period plus every step's first and last state (a
    long cycling run need not write every solver step)."""
    import xarray as xr

    cfg = tmp_path / "c.toml"
    cfg.write_text(SIMULATE.format(steps="'Discharge at 1C for 10 minutes', 'Rest for 5 minutes'"))
    full, thin = tmp_path / "full.nc", tmp_path / "thin.nc"
    assert main(["simulate", str(cfg), "--out", str(full), "--quiet"]) == 0
    assert main(["simulate", str(cfg), "--out", str(thin), "--quiet", "--period", "60"]) == 0
    capsys.readouterr()
    with (
        xr.open_dataset(full, engine="h5netcdf") as a,
        xr.open_dataset(thin, engine="h5netcdf") as b,
    ):
        assert b.sizes["time"] < a.sizes["time"]
        assert b.sizes["time"] <= 15 + 4  # 900 s / 60 s, plus step boundaries
        assert float(b.time[0]) == 0.0 and float(b.time[-1]) == float(a.time[-1])
        for s in (0, 1):  # each step's first and last state kept
            ta, tb = a.time[a.step == s].values, b.time[b.step == s].values
            assert tb[0] == ta[0] and tb[-1] == ta[-1]
        assert b.attrs["stored_period_s"] == 60.0
    assert main(["simulate", str(cfg), "--out", str(thin), "--period", "0", "--overwrite"]) == 2
    assert "--period" in _err(capsys)
