"""Ctrl-C (SIGINT) and SIGTERM as a user meets them: what had finished is saved with
status "interrupted", the exit code is 128 + signal (130, 143), worker pools stop and
no worker process outlives the command."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

# many short steps: runs for ~a minute even with the compiled step loop (~900 steps/s),
# records states from the first second on
LONG = (
    "[experiment]\nsteps = ['Discharge at 1C for 1 minute', 'Charge at 1C for 1 minute']\n"
    "repeat = 20000\n[mesh]\npoints_per_domain = 5\nradial_points = 5\n"
)


def _start(cli_parts, *args: str, cwd=None) -> subprocess.Popen:
    cli_cmd, cli_env = cli_parts
    return subprocess.Popen(
        cli_cmd(*args),
        cwd=cwd,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        line = proc.stdout.readline()
        if needle in line:
            return
        if line == "" and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(f"never saw {needle!r} (exit {proc.poll()})")


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        # field 4 (after the parenthesised command) is the parent pid
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_simulate_interrupt_saves_partial_dataset(cli_parts, tmp_path, sig, code, warm_kernels):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(LONG)
    out = tmp_path / "run.nc"
    proc = _start(cli_parts, "simulate", str(cfg), "--out", str(out))
    _wait_for_line(proc, "simulating 40000 steps")
    time.sleep(2.0)  # let it compute a few steps
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err
    assert "interrupted:" in err and "saved to" in err
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.attrs["status"] == "interrupted"
        assert (
            "interrupted by " + ("Ctrl-C" if sig == signal.SIGINT else "SIGTERM")
            in ds.attrs["message"]
        )
        assert ds.sizes["time"] >= 2 and float(ds.time[-1]) > 0.0
        # saved states are the computed ones: 1C for t seconds gives t/3600 of 1C
        assert abs(float(ds.capacity[-1])) <= float(ds.attrs["one_c_A_m2"]) / 60 + 1e-9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.toml", "run.nc"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_demo_interrupt_stops_workers_and_saves_table(cli_parts, tmp_path, sig, code):
    out = tmp_path / "demo"
    proc = _start(cli_parts, "demo", "--out", str(out), "--processes", "2", "--quiet")
    workers: list[int] = []
    t0 = time.monotonic()
    while len(workers) < 2 and time.monotonic() - t0 < 120:
        if proc.poll() is not None:
            pytest.fail(f"demo ended early: {proc.communicate()[1][-2000:]}")
        workers = _children(proc.pid)
        time.sleep(0.2)
    assert len(workers) >= 2, "the pool never started"
    time.sleep(1.0)  # workers are computing
    t_sig = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    stop_s = time.monotonic() - t_sig
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err and "workers stopped" in err
    assert stop_s < 30, f"took {stop_s:.1f} s to stop"
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "orphaned worker processes"
    table = pd.read_csv(out / "rate_study_partial.csv")
    assert list(table.columns)[:2] == ["design", "fc_bottom"]
    assert (table["status"] == "interrupted").all()  # empty when no design had finished
    assert not (out / "rate_study.csv").exists()
