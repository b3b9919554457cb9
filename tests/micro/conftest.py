"""Skip ``@pytest.mark.slow`` tests unless asked for (``-m slow``, ``--runslow`` when a
root conftest registers it, or ``ELECTROHET_RUNSLOW=1``)."""

from __future__ import annotations

import os

import pytest


def _run_slow(config: pytest.Config) -> bool:
    if os.environ.get("ELECTROHET_RUNSLOW") == "1":
        return True
    if "slow" in (config.getoption("-m", default="") or ""):
        return True
    try:
        return bool(config.getoption("--runslow"))
    except ValueError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _run_slow(config):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or ELECTROHET_RUNSLOW=1")
    for item in items:
        if "slow" in item.keywords and "tests/micro" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)
