"""An interrupted rate study saves the designs that had finished: a table with status
"interrupted" and their netCDF runs (the end-to-end demo interrupt test sends the
signal before any design can finish, so the rows are checked here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from electrohet.cli.rate_study import _save_partial
from electrohet.interrupts import Interrupted
from electrohet.studies.rate_study import DesignRuns, LayerDesign


def _run(name: str, fc: float, fc_top: float | None) -> DesignRuns:
    rates = np.array([0.5, 1.0, 2.0])
    dss = [
        xr.Dataset(
            {"voltage": ("time", np.linspace(4.2, 3.0, 5))},
            coords={"time": np.arange(5.0)},
            attrs={"status": "completed", "rate_C": float(r)},
        )
        for r in rates
    ]
    return DesignRuns(
        LayerDesign(name, fc, fc_top),
        rates,
        energy=np.array([30.0, 28.0, 25.0]),
        capacity=np.array([8.0, 7.5, 6.7]),
        layer_utilization=np.ones((3, 1)),
        active_loading=np.array([0.2]),
        datasets=dss,
    )


def test_partial_study_table_and_runs(tmp_path):
    partial = [_run("single", 0.05, None), None, _run("3/7", 0.03, 0.07), None]
    with pytest.raises(Interrupted, match="2 of 4 designs had finished;") as info:
        _save_partial(partial, tmp_path, 143, n_designs=4)
    assert info.value.exit_code == 143
    table = pd.read_csv(tmp_path / "rate_study_partial.csv")
    assert list(table.design) == ["single"] * 3 + ["3/7"] * 3
    assert (table.status == "interrupted").all()
    np.testing.assert_allclose(table.energy_Wh_m2, [30, 28, 25] * 2)
    np.testing.assert_allclose(table.fc_top, [0.05] * 3 + [0.07] * 3)
    names = sorted(p.name for p in tmp_path.glob("run_*.nc"))
    assert names == [
        "run_3-7_0.5C.nc",
        "run_3-7_1C.nc",
        "run_3-7_2C.nc",
        "run_single_0.5C.nc",
        "run_single_1C.nc",
        "run_single_2C.nc",
    ]
    with xr.open_dataset(tmp_path / "run_single_1C.nc", engine="h5netcdf") as ds:
        assert ds.attrs["study_status"] == "interrupted" and ds.attrs["rate_C"] == 1.0


def test_partial_study_counts_designs_not_jobs(tmp_path):
    """3 designs in the config, 2 standalone single layers added by the study: the
    message counts the designs (it used to say "2 of 5 design runs")."""
    partial = [_run("single", 0.05, None), None, _run("3/7", 0.03, 0.07), None, None]
    with pytest.raises(Interrupted) as info:
        _save_partial(partial, tmp_path, 130, n_designs=3)
    msg = str(info.value)
    assert "2 of 3 designs had finished" in msg
    assert "0 of 2 standalone single-layer runs" in msg
