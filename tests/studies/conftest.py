"""Skip ``@pytest.mark.slow`` study tests unless asked for (``-m slow`` or
``ELECTROHET_RUNSLOW=1``): the six-bilayer prediction and the calibration re-run take
minutes."""

from __future__ import annotations

import os

import pytest


def _run_slow(config: pytest.Config) -> bool:
    if os.environ.get("ELECTROHET_RUNSLOW") == "1":
        return True
    return "slow" in (config.getoption("-m", default="") or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _run_slow(config):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or ELECTROHET_RUNSLOW=1")
    here = os.path.dirname(__file__)
    for item in items:
        if "slow" in item.keywords and str(item.fspath).startswith(here):
            item.add_marker(skip)
