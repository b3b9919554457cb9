"""Ctrl-C / SIGTERM during a voxel run: the library re-raises; with an interrupt handler
(the CLI's) the run ends with the whole states recorded so far, and the CLI saves them
with status 'interrupted' and exits 130."""

from __future__ import annotations

import json

import numpy as np
import pytest

from electrohet.cli import main
from electrohet.errors import SolverError
from electrohet.voxel import Simulation
from electrohet.voxel.solver import NewtonSolver

EXP = ["Discharge at 1C for 10 minutes", "Rest for 2 minutes"]


def _interrupt_after(monkeypatch, target, name: str, calls: int) -> None:
    """Make ``target.name`` raise KeyboardInterrupt on its ``calls``-th call."""
    orig = getattr(target, name)
    count = [0]

    def wrapped(*args, **kwargs):
        count[0] += 1
        if count[0] == calls:
            raise KeyboardInterrupt
        return orig(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapped)


def test_library_reraises_without_a_handler(small_volume, monkeypatch):
    sim = Simulation(small_volume, material="NMC532")
    _interrupt_after(monkeypatch, NewtonSolver, "solve", 8)
    with pytest.raises(KeyboardInterrupt):
        sim.solve(EXP)


@pytest.mark.parametrize("where", ["solver", "record"])
def test_handler_keeps_whole_states(small_volume, monkeypatch, where):
    """Interrupted inside a Newton solve, or inside a record between its appends (the
    half-appended record is dropped): the dataset holds whole states that keep the
    lithium balance."""
    import electrohet.voxel.results as results

    sim = Simulation(small_volume, material="NMC532")
    sim.interrupt_handler = lambda exc: SolverError("interrupted")
    if where == "solver":
        _interrupt_after(monkeypatch, NewtonSolver, "solve", 8)
    else:
        _interrupt_after(monkeypatch, results, "summarise", 5)
    ds = sim.solve(EXP, period=20.0)
    assert ds.attrs["status"] == "failed" and "interrupted" in ds.attrs["message"]
    assert 1 <= ds.sizes["time"] < 30
    assert np.all(np.diff(ds.time.values) >= 0)
    assert ds.attrs["lithium_balance_error"] < 1e-11


def test_cli_saves_partial_results_and_exits_130(tmp_path, small_volume, monkeypatch, capsys):
    p = tmp_path / "vol.npy"
    np.save(p, np.asarray(small_volume.data))
    out = tmp_path / "out"
    _interrupt_after(monkeypatch, NewtonSolver, "solve", 10)
    rc = main(
        [
            "voxel", "simulate", str(p), "--labels", "pore=0,cbd=1,am=2,crack=3",
            "--voxel-size", "0.5", "-e", EXP[0], "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert rc == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err and "saved" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    import xarray as xr

    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.attrs["status"] == "interrupted"
        assert ds.sizes["time"] >= 2
