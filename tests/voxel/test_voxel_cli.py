"""CLI: ``electrohet voxel simulate`` runs and writes outputs; bad input exits 2."""

from __future__ import annotations

import json

import numpy as np

from electrohet.cli import main


def _save(tmp_path, small_volume):
    p = tmp_path / "vol.npy"
    np.save(p, np.asarray(small_volume.data))
    return p


def test_cli_simulate_writes_results(tmp_path, small_volume):
    p = _save(tmp_path, small_volume)
    out = tmp_path / "out"
    rc = main(
        [
            "voxel", "simulate", str(p), "--labels", "pore=0,cbd=1,am=2,crack=3",
            "--voxel-size", "0.5", "-e", "Discharge at 2C for 5 minutes", "--save-at", "0,300",
            "--period", "60", "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["lithium_balance_error"] < 1e-9
    for name in ("results.nc", "voltage.png", "soc_slices.png", "particle_soc_histogram.png"):
        assert (out / name).exists()
    import xarray as xr

    ds = xr.open_dataset(out / "results.nc")
    # records every 60 s from the dense output besides the solver's steps
    assert np.all(np.isin([60.0, 120.0, 180.0, 240.0], ds.time.values))
    assert ds.interpolated.values.any() and not ds.interpolated.values[-1]
    ds.close()
    f = xr.open_zarr(out / "fields.zarr")
    assert f["theta"].shape[0] == 2
    # lithiation: the AM mean lithium fraction rose between the two saved times
    th = f["theta"].values
    assert np.nanmean(th[1]) > np.nanmean(th[0])


def test_cli_bad_input_exit_2(tmp_path, small_volume, capsys):
    p = _save(tmp_path, small_volume)
    base = ["voxel", "simulate", str(p), "-e", "Discharge at 1C until 3.0 V", "--quiet"]
    # missing voxel size
    assert main([*base, "--labels", "pore=0,cbd=1,am=2,crack=3"]) == 2
    assert "voxel size" in capsys.readouterr().err
    # label not in the map (AM label 2 missing)
    assert main([*base, "--labels", "pore=0,cbd=1", "--voxel-size", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "label" in err
    # no AM at all
    q = tmp_path / "empty.npy"
    np.save(q, np.zeros((6, 6, 6), np.uint8))
    rc = main(["voxel", "simulate", str(q), "--labels", "pore=0,cbd=1,am=2", "--voxel-size", "1",
               "-e", "Discharge at 1C until 3.0 V", "--quiet"])  # fmt: skip
    assert rc == 2
    assert "no active-material" in capsys.readouterr().err
    # a non-positive output period
    rc = main([*base, "--labels", "pore=0,cbd=1,am=2,crack=3", "--voxel-size", "0.5",
               "--period", "0"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "period" in err
