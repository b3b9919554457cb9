"""Output handling as a user meets it: checked before computing, ``--overwrite``,
atomic writes, a full disk, concurrent runs into one folder."""

from __future__ import annotations

import os
import resource
import subprocess

import pytest
import xarray as xr

SHORT = (
    "[experiment]\nsteps = ['Discharge at 1C for 2 minutes']\n"
    "[mesh]\npoints_per_domain = 5\nradial_points = 5\n"
)


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "cfg.toml"
    p.write_text(SHORT)
    return p


def test_existing_output_refused_then_overwrite(run_cli, one_line_error, cfg, tmp_path):
    out = tmp_path / "run.nc"
    out.write_bytes(b"earlier results")
    line = one_line_error(run_cli("simulate", str(cfg), "--out", str(out), "--quiet"))
    assert "exists" in line and "--overwrite" in line
    assert out.read_bytes() == b"earlier results"  # untouched
    r = run_cli("simulate", str(cfg), "--out", str(out), "--quiet", "--overwrite")
    assert r.returncode == 0, r.stderr
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.attrs["status"] == "completed"
        assert float(ds.time[-1]) == pytest.approx(120.0)
    # nothing but the result is left in the folder (no temp or lock files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.toml", "run.nc"]


def test_parent_is_a_file_refused_before_computing(run_cli, one_line_error, cfg, tmp_path):
    blocker = tmp_path / "notadir"
    blocker.write_text("x")
    line = one_line_error(run_cli("simulate", str(cfg), "--out", str(blocker / "run.nc")))
    assert "not a folder" in line


def test_missing_parent_is_created(run_cli, cfg, tmp_path):
    out = tmp_path / "new" / "sub" / "run.nc"
    r = run_cli("simulate", str(cfg), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr and out.is_file()


def test_unwritable_folder_refused(run_cli, one_line_error, cfg, tmp_path):
    if os.geteuid() == 0:
        target = "/sys/electrohet-run.nc"  # sysfs: not writable even by root
        if os.access("/sys", os.W_OK) and not os.path.isdir("/sys/kernel"):
            pytest.skip("no read-only folder available")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        target = str(ro / "run.nc")
    line = one_line_error(run_cli("simulate", str(cfg), "--out", target, "--quiet"))
    assert "cannot write" in line


def test_full_disk_clear_error_and_no_file(cfg, tmp_path, one_line_error, cli_parts):
    """A 20 kB file-size limit (RLIMIT_FSIZE) stands in for a full disk: the netCDF
    (~30 kB here) cannot be written; one line, exit 2, no partial or temp file."""
    cli_cmd, cli_env = cli_parts

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    out = tmp_path / "run.nc"
    r = subprocess.run(
        cli_cmd("simulate", str(cfg), "--out", str(out), "--quiet"),
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=120,
    )
    line = one_line_error(r)
    assert "disk full" in line and str(out) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.toml"]


def test_concurrent_run_into_locked_folder_refused(run_cli, one_line_error, tmp_path):
    from electrohet.outputs import prepare_output_dir

    out = tmp_path / "demo"
    with prepare_output_dir(out, ()):
        line = one_line_error(run_cli("demo", "--out", str(out), "--quiet"))
    assert "in use by another electrohet run" in line and f"pid {os.getpid()}" in line


def test_rate_study_folder_with_results_refused(run_cli, one_line_error, tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "rate_study.csv").write_text("design\n")
    line = one_line_error(run_cli("demo", "--out", str(out), "--quiet"))
    assert "already holds results" in line and "--overwrite" in line
