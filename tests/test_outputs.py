"""Safe output handling: atomic writes keep the old file on failure, concurrent writers
of one file leave a readable one, locks refuse a second run, checks name the path."""

from __future__ import annotations

import errno
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import xarray as xr

from electrohet.errors import OutputError
from electrohet.outputs import (
    atomic_write,
    prepare_output_dir,
    prepare_output_file,
    write_netcdf,
    write_text_atomic,
)


def _dataset(seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {"voltage": ("time", rng.random(20_000))},
        coords={"time": np.arange(20_000.0)},
        attrs={"status": "completed", "seed": seed, "meta": {"not": "netcdf"}},
    )


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    out = tmp_path / "table.csv"
    out.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_os_error_becomes_one_line_output_error(tmp_path):
    out = tmp_path / "run.nc"
    with pytest.raises(OutputError, match=r"run\.nc: disk full") as info, atomic_write(out):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def _write_seed(args) -> int:
    path, seed = args
    for _ in range(5):
        write_netcdf(_dataset(seed), path)
    return seed


def test_concurrent_writers_of_one_file_leave_a_readable_one(tmp_path):
    out = tmp_path / "run.nc"
    with ProcessPoolExecutor(2) as pool:
        seeds = list(pool.map(_write_seed, [(out, 1), (out, 2)]))
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert int(ds.attrs["seed"]) in seeds
        np.testing.assert_array_equal(ds.voltage.values, _dataset(int(ds.attrs["seed"])).voltage)
        assert ds.attrs["meta"] == "{'not': 'netcdf'}"  # non-netCDF attrs become strings
    assert [p.name for p in tmp_path.iterdir()] == ["run.nc"]


def test_prepare_output_file_checks(tmp_path):
    out = tmp_path / "run.nc"
    write_text_atomic(out, "x")
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        prepare_output_file(out)
    with pytest.raises(OutputError, match="is a folder"):
        prepare_output_file(tmp_path)
    lock = prepare_output_file(out, overwrite=True)
    with pytest.raises(OutputError, match="in use by another electrohet run"):
        prepare_output_file(out, overwrite=True)
    lock.release()
    prepare_output_file(out, overwrite=True).release()
    assert [p.name for p in tmp_path.iterdir()] == ["run.nc"]  # lock file removed


def test_prepare_output_dir_lock_and_results(tmp_path):
    out = tmp_path / "study"
    lock = prepare_output_dir(out, ("rate_study.csv",))
    with pytest.raises(OutputError, match="in use"):
        prepare_output_dir(out, ("rate_study.csv",))
    lock.release()
    (out / "rate_study.csv").write_text("x")
    with pytest.raises(OutputError, match="already holds results"):
        prepare_output_dir(out, ("rate_study.csv",))
    prepare_output_dir(out, ("rate_study.csv",), overwrite=True).release()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        prepare_output_dir(tmp_path / "file")
