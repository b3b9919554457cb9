"""The interrupt-safe worker pool: results in order, errors stop the workers, Ctrl-C
returns the finished results and leaves no worker behind, and a killed parent takes its
workers with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from electrohet.errors import ParameterError
from electrohet.studies.pool import finished, run_jobs

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _square(x: float) -> float:
    time.sleep(0.05 * (3 - x) if x < 3 else 0)  # later jobs finish first
    return x * x


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ParameterError("job 2 = 2 is outside the allowed range [0, 1]")
    return x


@pytest.mark.parametrize("processes", [1, 2])
def test_results_in_job_order(processes):
    assert run_jobs(_square, [0, 1, 2, 3], processes=processes) == [0, 1, 4, 9]


def test_job_error_propagates():
    with pytest.raises(ParameterError, match="job 2"):
        run_jobs(_fail_on_two, [0, 1, 2, 3], processes=2)


# A job sleeps `x` seconds after writing its pid; the quick ones finish, the long one
# is still running when the parent gets the signal.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from electrohet.interrupts import Interrupted, handle_termination
    from electrohet.studies.pool import run_jobs

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


def _start(tmp_path, processes: int = 3) -> subprocess.Popen:
    script = tmp_path / "pool_script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=SRC, PYTHONDONTWRITEBYTECODE="1")
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
    time.sleep(0.3)  # the parent collects the finished results


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
    [(signal.SIGINT, 130, 3), (signal.SIGTERM, 143, 3), (signal.SIGINT, 130, 1)],
)
def test_interrupt_returns_finished_results_and_stops_workers(tmp_path, sig, code, processes):
    import json

    proc = _start(tmp_path, processes)
    _wait_files(tmp_path, ["done0", "done1", "pid2"], proc)
    long_worker = int((tmp_path / "pid2").read_text())
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 20  # not the 600 s of the running job
    assert proc.returncode == code, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"partial": [0, 10, None], "code": code}
    assert finished(result["partial"]) == [0, 10]
    assert _gone_within(long_worker, 10), "worker still running after the interrupt"


def test_killed_parent_takes_its_workers_along(tmp_path):
    """SIGKILL cannot be handled: the workers' parent-death signal ends them."""
    proc = _start(tmp_path)
    _wait_files(tmp_path, ["pid2"], proc)
    long_worker = int((tmp_path / "pid2").read_text())
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone_within(long_worker, 10), "orphaned worker"
