"""Sweeps on dask.distributed: results in job order, errors stop the workers, Ctrl-C
returns the finished results and leaves no worker behind, a killed parent takes its
workers along, ``ELECTROHET_SCHEDULER`` selects an existing cluster, and a small rate
study on a two-worker LocalCluster equals the serial one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from electrohet.errors import ParameterError
from electrohet.sweeps import SCHEDULER_ENV, finished, run_jobs, scheduler_address, session

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _square(x: float) -> float:
    time.sleep(0.05 * (3 - x) if x < 3 else 0)  # later jobs finish first
    return x * x


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ParameterError("job 2 = 2 is outside the allowed range [0, 1]")
    return x


def _pid(_: object) -> int:
    return os.getpid()


@pytest.mark.parametrize("processes", [1, 2])
def test_results_in_job_order(processes):
    seen: list[int] = []
    out = run_jobs(
        _square, [0, 1, 2, 3], processes=processes, on_result=lambda i, r: seen.append(i)
    )
    assert out == [0, 1, 4, 9]
    assert sorted(seen) == [0, 1, 2, 3]


def test_processes_one_runs_here_without_a_cluster(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert run_jobs(_pid, [0, 1, 2], processes=1) == [os.getpid()] * 3


def test_job_error_propagates():
    with pytest.raises(ParameterError, match="job 2"):
        run_jobs(_fail_on_two, [0, 1, 2, 3], processes=2)


def test_scheduler_from_the_environment(monkeypatch):
    """An existing cluster named by ELECTROHET_SCHEDULER gets the runs (and stays up)."""
    from distributed import LocalCluster

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert scheduler_address(None) is None
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
        assert scheduler_address(None) == cluster.scheduler_address
        pids = run_jobs(_pid, [0, 1, 2], processes=1)
        assert len(set(pids)) == 1 and pids[0] != os.getpid()
        # a session shares the cluster between sweeps
        with session(processes=2):
            assert run_jobs(_square, [3, 2], processes=2) == [9, 4]
        assert len(cluster.workers) == 1  # not closed by the sweeps


def test_unreachable_scheduler_is_one_clear_error():
    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler"):
        run_jobs(_square, [0, 1], scheduler="tcp://127.0.0.1:9")


def test_small_study_on_a_two_worker_cluster_equals_the_serial_one(monkeypatch):
    from dataclasses import replace

    from electrohet.studies.rate_study import LayerDesign, StudySettings, rate_study

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    st = StudySettings(
        rates=(0.5, 1.0, 2.0), points_per_layer=3, radial_points=6, processes=2, n_samples=2
    )
    designs = [LayerDesign("single", 0.025), LayerDesign("2.5/4", 0.025, 0.04, 0.5)]
    dask_study = rate_study(designs, st)
    serial = rate_study(designs, replace(st, processes=1))
    for a, b in zip(dask_study.runs, serial.runs, strict=True):
        np.testing.assert_allclose(a.energy, b.energy, rtol=1e-12)
        np.testing.assert_allclose(a.variant_energy, b.variant_energy, rtol=1e-12)
    assert int(dask_study.table.set_index("design").loc["2.5/4", "n_reruns"]) >= 1


def test_thickness_points_on_a_two_worker_cluster_equal_the_serial_ones(monkeypatch):
    from dataclasses import replace

    from electrohet.studies.thickness import ThicknessSettings, thickness_study, zhang2023_cell

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    st = ThicknessSettings(points=3, radial=4, mesh_check=False, processes=2)
    lines: list[str] = []
    par = thickness_study(zhang2023_cell, [40e-6, 80e-6], [1.0], [3.6], st, progress=lines.append)
    ser = thickness_study(zhang2023_cell, [40e-6, 80e-6], [1.0], [3.6], replace(st, processes=1))
    cols = ["thickness_um", "capacity_mAh_g", "status"]
    assert par.table[cols].equals(ser.table[cols])
    assert len(lines) == 2 and set(par.runs) == set(ser.runs)


# A job sleeps `s` seconds after writing its pid; the quick ones finish, the long one
# is still running when the parent gets the signal.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from electrohet.interrupts import Interrupted, handle_termination
    from electrohet.sweeps import run_jobs

    def job(x):
        d, i, s = x
        with open(os.path.join(d, f"pid{i}"), "w") as f:
            f.write(str(os.getpid()))
        time.sleep(s)
        with open(os.path.join(d, f"done{i}"), "w") as f:
            f.write("1")
        return i * 10

    if __name__ == "__main__":
        d = sys.argv[1]
        with handle_termination():
            try:
                jobs = [(d, 0, 0.0), (d, 1, 0.0), (d, 2, 600.0)]
                run_jobs(job, jobs, processes=int(sys.argv[2]))
            except Interrupted as e:
                print(json.dumps({"partial": e.partial, "code": e.exit_code}))
                sys.exit(e.exit_code)
    """
)


def _start(tmp_path, processes: int = 2) -> subprocess.Popen:
    script = tmp_path / "sweep_script.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != SCHEDULER_ENV}
    env.update(PYTHONPATH=SRC, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), str(processes)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_files(tmp_path, names, proc, timeout=120.0) -> None:
    t0 = time.monotonic()
    while not all((tmp_path / n).exists() for n in names):
        if proc.poll() is not None or time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail(f"jobs did not start: {proc.communicate()[1][-2000:]}")
        time.sleep(0.05)
    time.sleep(0.5)  # the parent collects the finished results


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


@pytest.mark.parametrize(
    ("sig", "code", "processes"),
    [(signal.SIGINT, 130, 2), (signal.SIGTERM, 143, 2), (signal.SIGINT, 130, 1)],
)
def test_interrupt_returns_finished_results_and_stops_workers(tmp_path, sig, code, processes):
    proc = _start(tmp_path, processes)
    _wait_files(tmp_path, ["done0", "done1", "pid2"], proc)
    long_worker = int((tmp_path / "pid2").read_text())
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 20  # not the 600 s of the running job
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"partial": [0, 10, None], "code": code}
    assert finished(result["partial"]) == [0, 10]
    assert _gone_within(long_worker, 10), "worker still running after the interrupt"


def test_killed_parent_takes_its_workers_along(tmp_path):
    """SIGKILL cannot be handled: Dask's parent-alive pipe ends the workers."""
    proc = _start(tmp_path)
    _wait_files(tmp_path, ["pid2"], proc)
    long_worker = int((tmp_path / "pid2").read_text())
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone_within(long_worker, 10), "orphaned worker"
