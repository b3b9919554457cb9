"""Shared small volumes for the voxel tests; ``@pytest.mark.slow`` tests are skipped
unless asked for (``-m slow``, ``--runslow`` when a root conftest registers it, or
``ELECTROHET_RUNSLOW=1``), as in tests/micro."""

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
        if "slow" in item.keywords and "tests/voxel" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_volume():
    from electrohet.micro.generate import synthetic_electrode

    return synthetic_electrode(
        (10, 8, 8), 0.5e-6, am_fraction=0.5, cbd_fraction=0.1, radius_median_m=1.0e-6, seed=3
    )
