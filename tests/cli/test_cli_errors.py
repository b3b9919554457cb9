"""One CLI error path: every usage error and every ElectrohetError is one line on
stderr and exit code 2; ``--version`` prints the version.  Run as a user would, through
``python -m electrohet`` in a subprocess."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "missing command (simulate, rate-study, demo"),
        (("simulat",), "No such command 'simulat'"),
        (("simulate",), "Missing argument"),
        (("demo", "--processes", "abc"), "Invalid value for '--processes'"),
        (("demo", "--no-such-option"), "No such option"),
        (("micro",), "missing command (analyze, generate)"),
        (("analyze", "particles"), "Missing argument"),
    ],
)
def test_usage_error_one_line_exit_2(run_cli, one_line_error, args, needle):
    r = run_cli(*args)
    line = one_line_error(r)
    assert line.startswith("error: ") and needle in line


def test_electrohet_error_one_line_exit_2(run_cli, one_line_error, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[experiment]\nsteps = ['Rest for 1e9 hours']\n")
    r = run_cli("simulate", str(cfg), "--out", str(tmp_path / "r.nc"), "--quiet")
    line = one_line_error(r)
    assert "Rest for 1e9 hours" in line and "allowed range" in line
    assert not (tmp_path / "r.nc").exists()


def test_missing_config_file_one_line(run_cli, one_line_error, tmp_path):
    r = run_cli("simulate", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "r.nc"))
    assert "nope.toml" in one_line_error(r)


def test_version(run_cli):
    from importlib.metadata import PackageNotFoundError, version

    r = run_cli("--version")
    assert r.returncode == 0 and r.stderr == ""
    try:
        expected = version("electrohet")
    except PackageNotFoundError:  # source tree not installed
        expected = "unknown"
    assert r.stdout.strip().startswith(f"electrohet {expected}")


def test_help_exit_0(run_cli):
    r = run_cli("--help")
    assert r.returncode == 0 and "simulate" in r.stdout and r.stderr == ""


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (
            PermissionError(13, "Permission denied", "cfg.toml"),
            "error: cfg.toml: Permission denied",
        ),
        (OSError(28, "No space left on device", "run.nc"), "error: cannot write run.nc: disk full"),
        (MemoryError(), "error: not enough memory"),
    ],
)
def test_os_and_memory_errors_one_line_exit_2(monkeypatch, capsys, exc, needle):
    """Errors from outside electrohet's own checks still end in one line and exit 2."""
    import electrohet.studies.config as config
    from electrohet.cli import main

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(config, "load_toml", boom)
    code = main(["simulate", "cfg.toml", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(needle) and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("sigterm", "code"), [(False, 130), (True, 143)])
def test_interrupt_outside_a_run_exits_128_plus_signal(monkeypatch, capsys, sigterm, code):
    """An interrupt where nothing can be saved (e.g. while reading the config) still
    gives one line and 128 + the signal number."""
    import os
    import signal
    import time

    import electrohet.studies.config as config
    from electrohet.cli import main

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM if sigterm else signal.SIGINT)
        time.sleep(5)  # the handler raises here
        raise AssertionError("signal not delivered")

    monkeypatch.setattr(config, "load_toml", interrupted)
    assert main(["simulate", "cfg.toml", "--quiet"]) == code
    assert capsys.readouterr().err.strip() == "interrupted"
