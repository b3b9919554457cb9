"""Helpers of the CLI tests: run ``python -m electrohet`` in a subprocess.

The subprocess gets this checkout's ``src`` first on ``PYTHONPATH`` (so a worktree is
tested, not an installed copy) and no stdin.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def cli_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "electrohet", *args]


@pytest.fixture
def run_cli():
    """``run_cli(*args, cwd=None, timeout=120, **popen_kw)`` -> CompletedProcess (text)."""

    def _run(*args: str, cwd=None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            cli_cmd(*args),
            cwd=cwd,
            env=cli_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kw,
        )

    return _run


def _one_line_error(r: subprocess.CompletedProcess, code: int = 2) -> str:
    """Assert exit ``code``, no traceback and exactly one line on stderr; return it."""
    assert r.returncode == code, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture
def one_line_error():
    """``one_line_error(result, code=2)`` -> the single stderr line (asserted)."""
    return _one_line_error


@pytest.fixture
def cli_parts():
    """``(cli_cmd, cli_env)`` for tests that need their own ``subprocess`` call."""
    return cli_cmd, cli_env


@pytest.fixture(scope="session")
def warm_kernels():
    """Compile the P2D model's numba kernels once and cache them on disk, as any earlier
    run on the machine does: on a fresh checkout the first solve spends ~15 s compiling,
    and a test that interrupts "a few steps in" would interrupt the compiler instead."""
    from electrohet.design.presets import chen2020_cell
    from electrohet.model import Simulation

    Simulation(chen2020_cell()).solve("Discharge at 1C for 10 seconds")
